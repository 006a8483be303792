"""HTML pieces of the evaluation reports: the page, number formats, the metric table, conversations.

Every value that comes from a file goes through `html.escape` here: task ids, model output and
tool results are untrusted text, and a `<script>` in a model's answer must stay inert. The page
carries its own CSS and no JavaScript, fonts, images or links to anywhere, so it opens offline.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

from apprentice.evaluation.regression import LOWER_IS_BETTER, PRIMARY_METRICS

# A conversation message longer than this is cut (with a visible count) so that a report of
# hundreds of episodes with long tool outputs stays small enough for a browser to open quickly.
MAX_MESSAGE_CHARS = 20_000

# SPEC §7 names, in the order of the SPEC table.
METRIC_LABELS = {
    "build_pass_rate": "build / syntax pass rate",
    "test_pass_rate": "test pass rate",
    "lint_clean_rate": "lint clean rate",
    "tool_call_format_accuracy": "tool-call format accuracy",
    "hallucinated_api_rate": "hallucinated API rate",
    "median_iterations_to_green": "median iterations to green",
    "median_diff_lines": "median diff size (lines)",
    "pass_at_1": "pass@1",
    "pass_at_k": "pass@k",
}

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2329;
       background: #f6f7f9; margin: 0; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #d8dde3;
     padding-bottom: 4px; } h3 { font-size: 14px; margin: 18px 0 8px; color: #39424b; }
.subtitle { color: #5b6670; margin: 0 0 16px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 0; background: #fff;
           border: 1px solid #dde2e7; border-radius: 6px; padding: 12px 16px; }
dl.facts dt { color: #5b6670; } dl.facts dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
           font-size: 12.5px; word-break: break-all; }
table { border-collapse: collapse; background: #fff; border: 1px solid #dde2e7; font-size: 13px; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceff2; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; color: #39424b; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.episode td { border-bottom: none; } tr.conversation td { padding-top: 0; }
.ok { color: #1e7b34; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; } .muted { color: #8a949e; }
.flag { background: #fdecea; color: #b3261e; border-radius: 3px; padding: 0 5px; font-weight: 600; font-size: 12px; }
.note { background: #fff8e6; border: 1px solid #f0d9a0; border-radius: 4px; padding: 6px 10px; margin: 6px 0;
        color: #6b4e00; font-size: 13px; }
details summary { cursor: pointer; color: #3a5f8a; font-size: 12.5px; }
.msg { border-left: 3px solid #c5ccd3; margin: 6px 0 6px 4px; padding: 2px 0 2px 10px; }
.msg.assistant { border-color: #4e79a7; } .msg.tool { border-color: #59a14f; } .msg.user { border-color: #f28e2b; }
.role { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #5b6670; font-weight: 600; }
pre { margin: 2px 0; white-space: pre-wrap; word-break: break-word; font: 12px/1.4 ui-monospace, Menlo, Consolas,
      monospace; background: #f8f9fb; padding: 6px 8px; border-radius: 4px; }
pre.thinking { color: #6a737d; font-style: italic; } .call-name { font-family: ui-monospace, monospace; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 14px; }
.charts svg { background: #fff; border: 1px solid #dde2e7; border-radius: 6px; }
td.task { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; white-space: nowrap; }
nav a { margin-right: 14px; } nav a, p a { color: #3a5f8a; text-decoration: none; }
"""


def page(title: str, body: str) -> str:
    """A whole HTML document: `title` (plain text, escaped here) around `body` (HTML, escaped by the caller)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>\n")


def note(text: str) -> str:
    """A visible note: why a chart or table is missing."""
    return f'<p class="note">{escape(text)}</p>'


def facts(pairs: Sequence[tuple[str, object]]) -> str:
    """A definition list of labelled values (the report header)."""
    rows = "".join(f"<dt>{escape(label)}</dt><dd>{escape(_text(value))}</dd>" for label, value in pairs)
    return f'<dl class="facts">{rows}</dl>'


def table(headers: Sequence[str], rows: Sequence[str], numeric: Sequence[int] = ()) -> str:
    """A table from plain-text `headers` and pre-rendered `<tr>` rows; `numeric` columns align right."""
    right = ' class="num"'
    cells = "".join(f"<th{right if index in numeric else ''}>{escape(header)}</th>" for index, header in enumerate(headers))
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def cell(text: object, css: str = "", title: str = "") -> str:
    """One `<td>` with escaped text, an optional class and an optional hover title."""
    attributes = (f' class="{css}"' if css else "") + (f' title="{escape(title)}"' if title else "")
    return f"<td{attributes}>{escape(_text(text))}</td>"


def metric_label(name: str) -> str:
    """The SPEC §7 wording of a metric, or its name with spaces."""
    return METRIC_LABELS.get(name, name.replace("_", " "))


def is_rate(name: str) -> bool:
    """True for metrics that are fractions in [0, 1] (shown as percentages)."""
    return name.endswith(("_rate", "accuracy")) or name.startswith("pass_at")


def format_metric(name: str, value: object) -> str:
    """`71.4%` for a rate, `3` or `2.5` for a median, `—` when not measured."""
    if not is_number(value):
        return "—"
    return f"{value * 100:.1f}%" if is_rate(name) else f"{value:g}"


def format_target(name: str, target: object, direction: object) -> str:
    """A SPEC §7 target as a bound: `≥ 90.0%` for a rate to maximise, `≤ 3` for a median."""
    if not is_number(target):
        return "—"
    bound = {"max": "≥ ", "min": "≤ "}.get(str(direction), "")
    return bound + format_metric(name, target)


def format_delta(name: str, delta: object) -> str:
    """A change between two evaluations: percentage points for rates, plain units otherwise."""
    if not is_number(delta):
        return "—"
    return f"{delta * 100:+.1f} pts" if is_rate(name) else f"{delta:+g}"


def verdict(meets: object) -> str:
    """The verdict cell of a metric: meets / misses / not measured."""
    if meets is True:
        return '<td class="ok">meets</td>'
    if meets is False:
        return '<td class="bad">misses</td>'
    return '<td class="muted">n/a</td>'


def conversation(messages: object) -> str:
    """The messages of one episode (role, reasoning, content, tool calls), all escaped."""
    if not isinstance(messages, list) or not messages:
        return note("no messages recorded for this episode")
    return "".join(_message(message) for message in messages if isinstance(message, dict))


_EPISODE_HEADERS = ("task", "attempt", "reward", "tests", "build", "lint", "diff lines", "turns", "tool calls",
                    "format errors", "iterations to green", "seconds", "error")
_NUMERIC_COLUMNS = (1, 2, 3, 6, 7, 8, 9, 10, 11)


def evaluation_page(record: dict, results: list[dict] | None, results_path: Path) -> str:
    """The report of one evaluation: header, metric table, regressions, one row per episode."""
    title = f"{record.get('target', '?')} · {record.get('version', '?')}"
    body = "".join((
        f"<h1>Evaluation: {escape(title)}</h1>",
        f'<p class="subtitle">{escape(_subtitle(record))}</p>',
        '<nav><a href="#metrics">Metrics</a><a href="#episodes">Episodes</a></nav><h2>Run</h2>',
        facts(_header_facts(record, results_path.parent)),
        '<h2 id="metrics">Metrics (SPEC §7)</h2>', metric_table(record), regression_notes(record),
        '<h2 id="episodes">Episodes</h2>', episode_section(results, results_path),
    ))
    return page(f"apprentice evaluation {title}", body)


def ordered_metrics(names) -> list[str]:
    """Metric names in SPEC §7 order, then any others in the order given."""
    names = list(dict.fromkeys(names))
    return [name for name in PRIMARY_METRICS if name in names] + [n for n in names if n not in PRIMARY_METRICS]


def metric_table(record: dict) -> str:
    """The metric table: value, SPEC §7 target, verdict, change against base and production."""
    metrics = record.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        return note("metrics.json has no `metrics` block: metric table omitted")
    against = {kind: regression_rows(record, kind) for kind in ("against_base", "against_production")}
    rows = []
    for name in ordered_metrics(metrics):
        entry = metrics[name] if isinstance(metrics[name], dict) else {"value": metrics[name]}
        rows.append("<tr>" + cell(metric_label(name), title=name)
                    + cell(format_metric(name, entry.get("value")), "num")
                    + cell(format_target(name, entry.get("target"), entry.get("direction")), "num")
                    + verdict(entry.get("meets"))
                    + "".join(_delta_cell(name, against[kind].get(name)) for kind in against) + "</tr>")
    headers = ("metric", "value", "target", "verdict", "vs base", "vs production")
    return table(headers, rows, numeric=(1, 2, 4, 5))


def regression_notes(record: dict) -> str:
    """One line per reference: the flagged metrics, or that none regressed, or that none was compared."""
    lines = []
    for kind, reference in (("against_base", "the base model"), ("against_production", "the production version")):
        rows = regression_rows(record, kind)
        flagged = [metric_label(name) for name, row in rows.items() if row.get("flag")]
        if not rows:
            lines.append(f'<p class="muted">Not compared against {reference}.</p>')
        elif flagged:
            lines.append(f'<p><span class="flag">regressed</span> against {reference}: '
                         f"{escape(', '.join(flagged))}</p>")
        elif better := [metric_label(name) for name, row in rows.items() if _improved(name, row)]:
            lines.append(f'<p class="ok">No regression against {reference}; better on '
                         f"{escape(', '.join(better))}.</p>")
        else:  # level with the reference (0% against 0%, say): nothing to show in green
            lines.append(f'<p class="muted">No regression against {reference}, and no metric better than it.</p>')
    return "".join(lines)


def _improved(name: str, row: dict) -> bool:
    """Whether a regression row moved in its metric's good direction."""
    delta = row.get("delta")
    if not isinstance(delta, (int, float)) or abs(delta) < 1e-9:
        return False
    return (delta < 0) == LOWER_IS_BETTER.get(name, False)


def episode_section(results: list[dict] | None, path: Path) -> str:
    """A summary line and one row per (task, attempt) with its conversation in a <details>."""
    if results is None:
        return note(f"no {path.name} in {path.parent}: per-episode outcomes omitted")
    if not results:
        return note(f"{path} holds no episodes")
    green = sum(1 for episode in results if episode.get("all_tests_pass") is True)
    rewards = [e["reward"] for e in results if is_number(e.get("reward"))]
    mean = f"{sum(rewards) / len(rewards):.3f}" if rewards else "—"
    summary = f"{len(results)} episodes · {green} with all tests passing · mean reward {mean}"
    ordered = sorted(results, key=lambda e: (str(e.get("task_id", "")), _int(e.get("attempt"))))
    rows = [row for episode in ordered for row in _episode_rows(episode)]
    return f"<p>{escape(summary)}</p>" + table(_EPISODE_HEADERS, rows, numeric=_NUMERIC_COLUMNS)


def _episode_rows(episode: dict) -> list[str]:
    passed, total = episode.get("tests_passed"), episode.get("tests_total")
    tests = f"{_text(passed)}/{_text(total)}"
    error = str(episode.get("error") or "")
    cells = [
        cell(episode.get("task_id"), "task", title=str(episode.get("language") or "")),
        cell(episode.get("attempt"), "num"),
        cell(_number(episode.get("reward"), "{:.3f}"), "num"),
        cell(tests, "num " + ("ok" if episode.get("all_tests_pass") else "bad")),
        _flag_cell(episode.get("build_ok"), "ok", "failed"),
        _lint_cell(episode),
        *(cell(_text(episode.get(key)), "num") for key in ("diff_lines", "turns", "tool_calls")),
        cell(_text(episode.get("format_errors")), "num" + (" bad" if _int(episode.get("format_errors")) else "")),
        cell(_text(episode.get("iterations_to_green")), "num"),
        cell(_number(episode.get("seconds"), "{:.1f}"), "num"),
        cell(error[:60] + ("…" if len(error) > 60 else ""), "bad" if error else "", title=error),
    ]
    return [f'<tr class="episode">{"".join(cells)}</tr>',
            f'<tr class="conversation"><td colspan="{len(cells)}">{_conversation_details(episode)}</td></tr>']


def _conversation_details(episode: dict) -> str:
    messages = episode.get("messages")
    count = len(messages) if isinstance(messages, list) else 0
    hallucinated = episode.get("hallucinated_calls") or []
    extra = f" · hallucinated: {', '.join(map(str, hallucinated))}" if hallucinated else ""
    return (f"<details><summary>conversation · {count} messages{escape(extra)}</summary>"
            f"{conversation(messages)}</details>")


def _lint_cell(episode: dict) -> str:
    lint = episode.get("lint_clean")
    if lint is None:
        return cell("skipped", "muted", title=str(episode.get("lint_skipped") or ""))
    return _flag_cell(lint, "clean", "not clean")


def _flag_cell(value: object, good: str, bad: str) -> str:
    if value is None:
        return cell("—", "muted")
    return cell(good, "ok") if value else cell(bad, "bad")


def _delta_cell(name: str, row: dict | None) -> str:
    if row is None:
        return cell("—", "num muted")
    text = escape(format_delta(name, row.get("delta")))
    flag = ' <span class="flag">regressed</span>' if row.get("flag") else ""
    return f'<td class="num">{text}{flag}</td>'


def regression_rows(record: dict, kind: str) -> dict[str, dict]:
    """The `regressions[kind]` rows of a metrics.json by metric name (empty when absent or malformed)."""
    regressions = record.get("regressions")
    rows = regressions.get(kind) if isinstance(regressions, dict) else None
    return {str(row.get("metric")): row for row in rows or () if isinstance(row, dict)}


def _header_facts(record: dict, eval_dir: Path) -> list[tuple[str, object]]:
    keys = (("target", "target"), ("version", "version"), ("adapter", "adapter"), ("base model", "base"),
            ("base hash", "base_hash"), ("task-set hash", "task_set_hash"), ("evaluated", "created"))
    return [(label, record.get(key)) for label, key in keys] + [("directory", eval_dir)]


def _subtitle(record: dict) -> str:
    return (f"{_text(record.get('tasks'))} tasks × {_text(record.get('attempts'))} attempts"
            f" · evaluated {_text(record.get('created'))}")


def _number(value: object, pattern: str) -> str:
    return pattern.format(value) if is_number(value) else "—"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _message(message: dict) -> str:
    role = str(message.get("role", "?"))
    heading = role + (f" · {message['name']}" if message.get("name") else "")
    parts = [f'<div class="role">{escape(heading)}</div>']
    thinking = message.get("thinking") or message.get("reasoning_content")
    if thinking:
        parts.append(f'<pre class="thinking">{_clipped(thinking)}</pre>')
    content = _content_text(message.get("content"))
    if content:
        parts.append(f"<pre>{_clipped(content)}</pre>")
    for call in message.get("tool_calls") or ():
        parts.append(_tool_call(call))
    return f'<div class="msg {escape(role)}">{"".join(parts)}</div>'


def _tool_call(call: object) -> str:
    function = call.get("function", call) if isinstance(call, dict) else {}
    arguments = function.get("arguments") if isinstance(function, dict) else call
    if isinstance(arguments, str):
        text = arguments
    else:
        text = json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
    name = function.get("name", "?") if isinstance(function, dict) else "?"
    return f'<div class="call-name">→ {escape(str(name))}</div><pre>{_clipped(text)}</pre>'


def _content_text(content: object) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return json.dumps(content, ensure_ascii=False, default=str)


def _clipped(text: object) -> str:
    text = str(text)
    if len(text) <= MAX_MESSAGE_CHARS:
        return escape(text)
    hidden = len(text) - MAX_MESSAGE_CHARS
    return escape(text[:MAX_MESSAGE_CHARS]) + f'\n<span class="muted">… {hidden} more characters not shown</span>'


def _text(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


def is_number(value: object) -> bool:
    """True for a finite int or float (not a bool): a value a report can print or plot."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
