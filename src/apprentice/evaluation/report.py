"""Offline HTML reports of evaluations: one per evaluation directory, one comparing a whole run.

    apprentice report runs/<name>

`render_report(runs/<name>/eval/<target>/<version>)` writes that directory's `report.html`: the
header (what was evaluated, on which tasks), the SPEC §7 metric table with regressions, and one
row per episode with its conversation (its HTML lives in `report_html.py`).
`render_comparison(runs/<name>)` writes `runs/<name>/report.html`: every evaluation of the run
side by side, a bar chart per metric across versions, and the stages' training curves. Both
pages are self-contained: inline CSS and SVG, no script, nothing fetched, so they open on an
air-gapped machine. Files are read defensively: a missing key or file leaves a visible note.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apprentice.artifacts import METRICS_FILE, REPORT_FILE, RunDir, atomic_write_text
from apprentice.errors import EvaluationError
from apprentice.evaluation import report_html as html
from apprentice.evaluation import svg
from apprentice.evaluation.report_card import RUNGS

RESULTS_FILE = "results.jsonl"


def render_report(eval_dir: Path) -> Path:
    """Write `eval_dir/report.html` from its metrics.json and results.jsonl; return the page's path."""
    record = read_evaluation(eval_dir)
    results = read_results(eval_dir / RESULTS_FILE)
    page = html.evaluation_page(record, results, eval_dir / RESULTS_FILE)
    out = eval_dir / REPORT_FILE
    atomic_write_text(out, page)
    return out


def read_evaluation(eval_dir: Path) -> dict:
    """The metrics.json of an evaluation directory; an EvaluationError naming the fix when it is absent."""
    path = eval_dir / METRICS_FILE
    if not path.is_file():
        raise EvaluationError(f"no {METRICS_FILE} in {eval_dir}: nothing to report; "
                              "run `apprentice eval` for this target and version first")
    return read_json_object(path)


def read_json_object(path: Path) -> dict:
    """A JSON object from `path`; one EvaluationError naming the file when it cannot be read or parsed."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationError(f"cannot read {path}: {error}; "
                              "re-run the stage or evaluation that writes it (or delete the file)") from error
    if not isinstance(value, dict):
        raise EvaluationError(f"{path} holds a JSON {type(value).__name__}, expected an object; "
                              "re-run the stage or evaluation that writes it")
    return value


def read_results(path: Path) -> list[dict] | None:
    """The episodes of results.jsonl, or None when the file does not exist."""
    if not path.is_file():
        return None
    episodes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            episode = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvaluationError(f"{path} line {number} is not JSON ({error}); re-run `apprentice eval`") from error
        if not isinstance(episode, dict):
            raise EvaluationError(f"{path} line {number} is not a JSON object; re-run `apprentice eval`")
        episodes.append(episode)
    return episodes


# Stage labels an evaluation version may carry, in pipeline order; registry versions follow.
STAGE_ORDER = ("base", "pretrain", "sft", "preference", "grpo", "merge")
# SPEC §7 "Across languages": flagged when more than 15% below the best target's test pass rate
# (read as 15% of the best value) or below 95% tool-call format accuracy.
CROSS_TARGET_GAP = 0.15
MIN_TOOL_CALL_ACCURACY = 0.95


@dataclass(frozen=True)
class Evaluation:
    """One evaluation directory of a run: runs/<name>/eval/<target>/<version>/ and its metrics.json."""

    target: str
    version: str
    directory: Path
    record: dict


@dataclass(frozen=True)
class Curve:
    """A training curve: the stage that writes it and, per legend entry, its key in that stage's metrics.json."""

    stage: str
    title: str
    y_label: str
    series: tuple[tuple[str, str], ...]


CURVES = (
    Curve("pretrain", "pretrain loss", "loss", (("train", "losses"),)),
    Curve("sft", "SFT loss", "loss", (("train", "train_losses"), ("eval", "eval_losses"))),
    Curve("preference", "preference loss", "loss", (("loss", "losses"),)),
    Curve("preference", "preference KL to the reference", "KL", (("KL", "kl_history"),)),
    Curve("grpo", "GRPO reward per step", "mean reward", (("reward", "rewards"),)),
)


def render_comparison(run_dir: Path) -> Path:
    """Write `run_dir/report.html` comparing every evaluation of the run, with training curves."""
    if not run_dir.is_dir():
        raise EvaluationError(f"no run directory {run_dir}; give runs/<name> of a run made by `apprentice run`")
    evaluations, unfinished = find_evaluations(run_dir)
    if not evaluations:
        raise EvaluationError(f"no {METRICS_FILE} under {RunDir(run_dir).eval_root}/<target>/<version>: nothing to "
                              "compare; run `apprentice eval` first")
    body = "".join((
        f"<h1>Run {html.escape(run_dir.name)}: evaluations and training</h1>",
        '<nav><a href="#metrics">Metrics</a><a href="#card">Report card</a><a href="#charts">By version</a><a href="#curves">Training curves</a></nav>',
        html.facts(_run_facts(run_dir, evaluations)),
        "".join(html.note(f"{path} has no {METRICS_FILE}: not compared (run `apprentice eval` for it)")
                for path in unfinished),
        '<h2 id="metrics">Metrics by target</h2>', _target_tables(evaluations, run_dir),
        "<h3>Across targets (latest version of each)</h3>", cross_target_table(evaluations),
        '<h2 id="card">Report card (SPEC §10)</h2>', report_card_section(evaluations),
        '<h2 id="charts">Metrics by version</h2>', metric_charts(evaluations),
        '<h2 id="curves">Training curves</h2>', training_curves(run_dir),
    ))
    out = RunDir(run_dir).report_file
    atomic_write_text(out, html.page(f"apprentice run {run_dir.name}", body))
    return out


def report_from_cli(run_dir: Path) -> list[Path]:
    """`apprentice report RUN_DIR`: each evaluation's report.html, then the run's; the run's path first."""
    evaluations, _ = find_evaluations(run_dir) if run_dir.is_dir() else ([], [])
    pages = [render_report(evaluation.directory) for evaluation in evaluations]
    return [render_comparison(run_dir), *pages]


def find_evaluations(run_dir: Path) -> tuple[list[Evaluation], list[Path]]:
    """The run's evaluations ordered by target then version, and the version directories without metrics.json."""
    found, unfinished = [], []
    for directory in sorted(path for path in RunDir(run_dir).eval_root.glob("*/*") if path.is_dir()):
        if (directory / METRICS_FILE).is_file():
            record = read_json_object(directory / METRICS_FILE)
            found.append(Evaluation(directory.parent.name, directory.name, directory, record))
        else:
            unfinished.append(directory)
    found.sort(key=lambda evaluation: (evaluation.target, version_key(evaluation.version)))
    return found, unfinished


def version_key(version: str) -> tuple:
    """Sort key: stage labels in pipeline order, then registry versions numerically (v2 before v10)."""
    if version in STAGE_ORDER:
        return (0, STAGE_ORDER.index(version), ())
    return (1, 0, tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", version)))


def cross_target_table(evaluations: list[Evaluation]) -> str:
    """SPEC §7 across languages: each target's latest test pass rate against the best, and its tool-call accuracy."""
    latest = {evaluation.target: evaluation for evaluation in evaluations}  # sorted: the last one wins
    rates = {target: _value(evaluation, "test_pass_rate") for target, evaluation in latest.items()}
    best = max((rate for rate in rates.values() if rate is not None), default=None)
    rows = []
    for target, evaluation in latest.items():
        rate, accuracy = rates[target], _value(evaluation, "tool_call_format_accuracy")
        reasons = []
        if rate is not None and best and rate < (1 - CROSS_TARGET_GAP) * best:
            reasons.append(f"test pass rate more than {CROSS_TARGET_GAP:.0%} below the best")
        if accuracy is not None and accuracy < MIN_TOOL_CALL_ACCURACY:
            reasons.append(f"tool-call accuracy below {MIN_TOOL_CALL_ACCURACY:.0%}")
        if not rate:  # no target fixes anything: being level with the best is nothing to show in green
            reasons.append("fixes no held-out task" if rate == 0 else "no test pass rate")
        relative = f"{rate / best:.0%} of best" if rate is not None and best else "—"
        rows.append("<tr>" + html.cell(target) + html.cell(evaluation.version)
                    + html.cell(html.format_metric("test_pass_rate", rate), "num") + html.cell(relative, "num")
                    + html.cell(html.format_metric("tool_call_format_accuracy", accuracy), "num")
                    + (html.cell("investigate: " + "; ".join(reasons), "bad") if reasons else html.cell("ok", "ok"))
                    + "</tr>")
    headers = ("target", "version", "test pass rate", "vs best", "tool-call accuracy", "verdict")
    return html.table(headers, rows, numeric=(2, 3, 4))


def report_card_section(evaluations: list[Evaluation]) -> str:
    """Per target: the share of held-out episodes reaching each rung, a bar per version grouped by rung,
    and the counts with their Wilson 95% intervals; a line of text where no evaluation has a card."""
    parts = []
    for target in dict.fromkeys(e.target for e in evaluations):
        carded = [e for e in evaluations if e.target == target and isinstance(e.record.get("report_card"), dict)]
        if not carded:
            parts.append(html.note(f"{target}: no evaluation has a report card (evaluated before rungs were recorded)"))
            continue
        bars = [svg.Bar(rung, e.version, e.record["report_card"]["rungs"][rung]["rate"]) for rung in RUNGS for e in carded]
        rows = ["<tr>" + html.cell(rung) + "".join(html.cell(_rung_cell(e.record["report_card"]["rungs"][rung]), "num")
                                                    for e in carded) + "</tr>" for rung in RUNGS]
        parts.append(svg.bar_chart(bars, title=f"{target}: held-out episodes reaching each rung", percent=True,
                                   colour_by="label"))
        parts.append(html.table(("rung", *(e.version for e in carded)), rows, numeric=tuple(range(1, len(carded) + 1))))
    return "".join(parts)


def _rung_cell(entry: dict) -> str:
    if not entry["of"]:
        return "n/a"
    low, high = entry["interval"]
    return f"{entry['count']}/{entry['of']} ({low:.0%}-{high:.0%})"


def metric_charts(evaluations: list[Evaluation]) -> str:
    """One bar chart per metric: a bar per evaluation, grouped by target, each target's SPEC line dashed."""
    charts = []
    for name in html.ordered_metrics(name for evaluation in evaluations for name in _metrics(evaluation)):
        bars = [svg.Bar(e.target, e.version, _value(e, name)) for e in evaluations]
        references = {e.target: _metrics(e)[name]["target"] for e in evaluations
                      if html.is_number(_metrics(e).get(name, {}).get("target"))}
        charts.append(svg.bar_chart(bars, title=html.metric_label(name), references=references,
                                    percent=html.is_rate(name)))
    return f'<div class="charts">{"".join(charts)}</div>'


def training_curves(run_dir: Path) -> str:
    """Line charts of each stage's curves (loss, KL, reward), per target; a note for each one omitted."""
    stages_root = RunDir(run_dir).stages_root
    stage_dirs = sorted((path for path in stages_root.glob("*/*") if path.is_dir()),
                        key=lambda path: (path.parent.name != "base", path.parent.name, version_key(path.name)))
    if not stage_dirs:
        return html.note(f"no stage directories under {stages_root}: no training curves to show")
    sections: dict[str, list[str]] = {}
    for stage_dir in stage_dirs:
        curves = [curve for curve in CURVES if curve.stage == stage_dir.name]
        if curves:
            sections.setdefault(stage_dir.parent.name, []).extend(_stage_charts(stage_dir, curves))
    return "".join(f"<h3>{html.escape(target)}</h3><div class=\"charts\">{''.join(parts)}</div>"
                   for target, parts in sections.items())


def _stage_charts(stage_dir: Path, curves: list[Curve]) -> list[str]:
    path = stage_dir / METRICS_FILE
    if not path.is_file():
        return [html.note(f"no {METRICS_FILE} in {stage_dir}: its curves are omitted")]
    metrics, parts = read_json_object(path), []
    if metrics.get("aborted"):  # a stage stopped by its own guard (e.g. KL too high): say so next to its curves
        parts.append(html.note(f"{stage_dir.parent.name} {stage_dir.name} stopped early: {metrics['aborted']}"))
    for curve in curves:
        series, problems = {}, []
        for legend, key in curve.series:
            points = _points(metrics.get(key))
            if points is None:
                problems.append(f"`{key}` missing" if key not in metrics else f"`{key}` is not a list of numbers or [step, value] pairs")
            else:
                series[legend] = points
        if series:
            parts.append(svg.line_chart(series, title=f"{stage_dir.parent.name} · {curve.title}", y_label=curve.y_label))
        if problems:
            omitted = "series omitted" if series else "chart omitted"
            parts.append(html.note(f"{curve.title}: {', '.join(problems)} in {path}: {omitted}"))
    return parts


def _points(value: object) -> list[tuple[float, float]] | None:
    """[[step, y], ...] or [y, ...] (step = position from 1) as points; None for any other shape."""
    if not isinstance(value, list):
        return None
    points = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, list) and len(item) == 2 and all(_plottable(part) for part in item):
            points.append((float(item[0]), _float(item[1])))
        elif _plottable(item):
            points.append((float(position), _float(item)))
        else:
            return None
    return points


def _plottable(value: object) -> bool:
    # None stands for a step whose value was not finite (NaN loss): kept, then dropped and counted by the chart.
    return value is None or isinstance(value, (int, float)) and not isinstance(value, bool)


def _float(value: object) -> float:
    return float("nan") if value is None else float(value)


def _target_tables(evaluations: list[Evaluation], run_dir: Path) -> str:
    by_target: dict[str, list[Evaluation]] = {}
    for evaluation in evaluations:
        by_target.setdefault(evaluation.target, []).append(evaluation)
    return "".join(f"<h3>{html.escape(target)}</h3>{_report_links(group, run_dir)}{_target_table(group)}"
                   for target, group in by_target.items())


def _target_table(group: list[Evaluation]) -> str:
    rows = []
    for name in html.ordered_metrics(name for evaluation in group for name in _metrics(evaluation)):
        entries = [_metrics(evaluation).get(name, {}) for evaluation in group]
        target = next((html.format_target(name, entry["target"], entry.get("direction")) for entry in entries
                       if html.is_number(entry.get("target"))), "—")
        cells = "".join(_compared_cell(name, entry, evaluation) for entry, evaluation in zip(entries, group, strict=True))
        rows.append("<tr>" + html.cell(html.metric_label(name), title=name) + html.cell(target, "num") + cells + "</tr>")
    headers = ("metric", "target", *(evaluation.version for evaluation in group))
    return html.table(headers, rows, numeric=tuple(range(1, len(group) + 2)))


def _compared_cell(name: str, entry: dict, evaluation: Evaluation) -> str:
    css = {True: "num ok", False: "num bad"}.get(entry.get("meets"), "num")
    flagged = [kind.removeprefix("against_") for kind in ("against_base", "against_production")
               if html.regression_rows(evaluation.record, kind).get(name, {}).get("flag")]
    flag = f' <span class="flag">regressed vs {html.escape(", ".join(flagged))}</span>' if flagged else ""
    return f'<td class="{css}">{html.escape(html.format_metric(name, entry.get("value")))}{flag}</td>'


def _report_links(group: list[Evaluation], run_dir: Path) -> str:
    links = [f'<a href="{html.escape(e.directory.relative_to(run_dir).as_posix())}/{REPORT_FILE}">'
             f"{html.escape(e.version)}</a>" if (e.directory / REPORT_FILE).is_file() else html.escape(e.version)
             for e in group]
    return f'<p class="muted">Per-episode reports: {" · ".join(links)}</p>'


def _run_facts(run_dir: Path, evaluations: list[Evaluation]) -> list[tuple[str, object]]:
    targets = sorted({evaluation.target for evaluation in evaluations})
    versions = "; ".join(f"{t}: {', '.join(e.version for e in evaluations if e.target == t)}" for t in targets)
    rendered = datetime.now(UTC).isoformat(timespec="seconds")
    return [("run", run_dir.name), ("directory", run_dir), ("evaluations", versions), ("rendered", rendered)]


def _metrics(evaluation: Evaluation) -> dict[str, dict]:
    block = evaluation.record.get("metrics")
    if not isinstance(block, dict):
        return {}
    return {name: entry if isinstance(entry, dict) else {"value": entry} for name, entry in block.items()}


def _value(evaluation: Evaluation, name: str) -> float | None:
    value = _metrics(evaluation).get(name, {}).get("value")
    return float(value) if html.is_number(value) else None
