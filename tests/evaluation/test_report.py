"""Offline HTML reports: SVG charts, escaping, self-containment, missing files, comparison across a run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from apprentice.errors import EvaluationError
from apprentice.evaluation import svg
from apprentice.evaluation.report import render_comparison, render_report, report_from_cli, version_key
from apprentice.evaluation.report_html import regression_notes

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"test_pass_rate": (0.70, "max"), "tool_call_format_accuracy": (0.99, "max"),
           "median_diff_lines": (50, "min")}
SCRIPT = "<script>alert('pwned')</script>"


# ---------------------------------------------------------------- sample files (eval_schema.md)

def episode(task_id: str, attempt: int = 0, content: str = "Fixed the off-by-one.", **fields) -> dict:
    """One results.jsonl row as the harness writes it."""
    row = {"task_id": task_id, "attempt": attempt, "language": "python", "reward": 0.75, "build_ok": True,
           "tests_total": 4, "tests_passed": 3, "all_tests_pass": False, "lint_clean": None,
           "lint_skipped": "ruff not installed", "diff_lines": 7, "turns": 3, "tool_calls": 2, "format_errors": 0,
           "assistant_turns": 3, "iterations_to_green": None, "api_calls": 2, "hallucinated_calls": [],
           "error": "", "seconds": 4.2,
           "messages": [{"role": "user", "content": "Fix parse_header."},
                        {"role": "assistant", "thinking": "read it first", "tool_calls": [
                            {"type": "function", "function": {"name": "read_file", "arguments": {"path": "a.py"}}}]},
                        {"role": "tool", "name": "read_file", "content": "def parse_header(): ..."},
                        {"role": "assistant", "content": content}]}
    row.update(fields)
    return row


def write_evaluation(run_dir: Path, target: str, version: str, values: dict[str, float | None],
                     episodes: list[dict] | None = None, flagged: tuple[str, ...] = ()) -> Path:
    """runs/<name>/eval/<target>/<version>/ with metrics.json and results.jsonl."""
    directory = run_dir / "eval" / target / version
    directory.mkdir(parents=True)
    metrics = {name: {"value": value, "target": TARGETS[name][0], "direction": TARGETS[name][1],
                      "meets": None if value is None else (value >= TARGETS[name][0]) == (TARGETS[name][1] == "max")}
               for name, value in values.items()}
    regressions = [{"metric": name, "reference": 0.5, "value": values[name], "delta": values[name] - 0.5,
                    "flag": name in flagged} for name in values if values[name] is not None]
    record = {"target": target, "version": version, "adapter": f"stages/{target}/{version}/adapter",
              "base": "base/tiny", "base_hash": "sha256:" + "ab" * 32, "task_set_hash": "sha256:" + "cd" * 32,
              "tasks": 2, "attempts": 1, "metrics": metrics, "created": "2025-01-02T03:04:05+00:00",
              "regressions": {"against_base": regressions, "against_production": []}}
    (directory / "metrics.json").write_text(json.dumps(record), encoding="utf-8")
    rows = episodes if episodes is not None else [episode("t-1"), episode("t-2", all_tests_pass=True)]
    (directory / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return directory


def write_stage(run_dir: Path, target: str, stage: str, metrics: dict | str) -> Path:
    directory = run_dir / "stages" / target / stage
    directory.mkdir(parents=True)
    text = metrics if isinstance(metrics, str) else json.dumps(metrics)
    (directory / "metrics.json").write_text(text, encoding="utf-8")
    return directory


@pytest.fixture()
def run_dir(tmp_path: Path) -> Path:
    """Two targets x three versions, plus the demo run's stage-metric shapes."""
    run = tmp_path / "demo"
    for target in ("python", "rust"):
        for step, version in enumerate(("base", "sft", f"{target}-v1")):
            write_evaluation(run, target, version, {"test_pass_rate": 0.2 + 0.25 * step,
                                                    "tool_call_format_accuracy": 0.9 + 0.05 * step,
                                                    "median_diff_lines": 60 - 10 * step},
                             flagged=("test_pass_rate",) if (target, version) == ("rust", "sft") else ())
    write_stage(run, "base", "pretrain", {"losses": [[1, 9.1], [2, 8.7], [3, 8.2]], "final_loss": 8.2})
    write_stage(run, "python", "sft", {"train_losses": [[1, 7.9], [2, 6.1]], "eval_losses": [[2, 6.5]]})
    write_stage(run, "python", "preference", {"losses": [[1, 25.0], [2, 24.8]], "kl_history": [[1, 0.0], [2, 5.2]]})
    write_stage(run, "python", "grpo", {"rewards": [-0.15, -0.1, 0.05], "max_reward": 0.05})
    return run


class Page(HTMLParser):
    """Every tag with its attributes, and the text between tags, of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.data: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.data.append(data)


def assert_self_contained(text: str) -> None:
    """No script, no fetching element or attribute, links only to anchors or relative local files."""
    page = Page(text)
    names = {tag for tag, _ in page.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "source", "video", "audio", "base"}
    for tag, attributes in page.tags:
        assert not {"src", "srcset", "poster", "data", "action", "xmlns"} & set(attributes), (tag, attributes)
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
        href = attributes.get("href")
        assert href is None or not re.match(r"^([a-z]+:|//)", href), href
    assert "url(" not in text and "@import" not in text


# ---------------------------------------------------------------- svg

def test_line_chart_maps_values_to_plot_coordinates():
    chart = svg.line_chart({"loss": [(0, 0), (5, 2.5), (10, 5)]}, title="loss", width=560, height=280)
    # Plot area: left 56, right 560-16, top 48, bottom 280-44; ticks 0..10 and 0..5 span it exactly.
    points = re.search(r'<polyline points="([^"]+)"', chart).group(1)
    assert points == "56.0,236.0 300.0,142.0 544.0,48.0"


def test_frame_maps_both_axes_linearly():
    frame = svg.Frame(0, 100, -1, 1, left=10, top=0, right=110, bottom=200)
    assert (frame.x(0), frame.x(50), frame.x(100)) == (10, 60, 110)
    assert (frame.y(-1), frame.y(0), frame.y(1)) == (200, 100, 0)


def test_empty_series_are_a_line_of_text_and_non_finite_points_are_counted():
    empty = svg.line_chart({"loss": []}, title="nothing")
    assert empty == '<p class="muted chart-empty">nothing: no value recorded.</p>'
    assert "<svg" not in svg.bar_chart([svg.Bar("python", "base", None)], title="lint clean rate")
    nan = svg.line_chart({"loss": [(1, 2.0), (2, float("nan")), (3, 1.0)]}, title="nan")
    assert "1 non-finite point(s) not drawn" in nan
    assert len(re.search(r'points="([^"]+)"', nan).group(1).split()) == 2
    assert "no value recorded" in svg.bar_chart([], title="nothing")


def test_bar_heights_are_proportional_and_missing_values_say_so():
    bars = [svg.Bar("python", "base", 0.25), svg.Bar("python", "sft", 0.5), svg.Bar("rust", "base", None)]
    chart = svg.bar_chart(bars, title="test pass rate", references={"python": 0.7}, percent=True)
    heights = [float(h) for h in re.findall(r'<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', chart)]
    assert len(heights) == 2 and heights[1] == pytest.approx(2 * heights[0], abs=0.2)
    assert "n/a" in chart and "50.0%" in chart and "stroke-dasharray" in chart


def test_bars_coloured_by_label_keep_one_colour_per_version_across_groups():
    bars = [svg.Bar(rung, version, 0.5) for rung in ("format", "reads") for version in ("base", "sft", "ipo")]
    fills = re.findall(r'<rect class="bar"[^>]* fill="([^"]+)"', svg.bar_chart(bars, title="rungs", colour_by="label"))
    assert fills[:3] == fills[3:] and len(set(fills)) == 3
    by_group = re.findall(r'<rect class="bar"[^>]* fill="([^"]+)"', svg.bar_chart(bars, title="rungs"))
    assert len(set(by_group[:3])) == 1 and by_group[0] != by_group[3]
    with pytest.raises(ValueError, match="colour_by is 'version'"):
        svg.bar_chart(bars, title="rungs", colour_by="version")


def test_tick_labels_tell_every_tick_apart_at_any_scale():
    flat = svg.nice_ticks(24.9995, 25.0005)  # a preference loss that barely moves
    labels = svg.tick_labels(flat)
    assert len(set(labels)) == len(flat) > 2 and "25" in labels
    assert svg.tick_labels([0.0, 0.5, 1.0], percent=True) == ["0%", "50%", "100%"]
    assert svg.tick_labels([0.0, 0.0005, 0.001], percent=True) == ["0.00%", "0.05%", "0.10%"]
    assert svg.tick_labels([0, 1000, 2000]) == ["0", "1k", "2k"]
    chart = svg.line_chart({"loss": [(1, 24.9996), (2, 25.0004)]}, title="preference loss")
    assert len(set(re.findall(r'text-anchor="end" fill="#555">([^<]+)<', chart))) > 2


def test_a_verdict_is_green_only_when_it_says_something_good():
    def notes(delta: float, reference: float = 0.0) -> str:
        rows = [{"metric": "test_pass_rate", "reference": reference, "value": reference + delta, "delta": delta,
                 "flag": delta < 0}]
        return regression_notes({"regressions": {"against_base": rows, "against_production": []}})

    assert 'class="muted">No regression against the base model, and no metric better' in notes(0.0)
    assert 'class="ok">No regression against the base model; better on test pass rate' in notes(0.25)
    assert "regressed" in notes(-0.25, 0.5)


def test_nice_ticks_cover_the_range_with_round_steps():
    ticks = svg.nice_ticks(0.13, 7.9)
    assert ticks[0] <= 0.13 and ticks[-1] >= 7.9 and ticks[:3] == [0, 2, 4]
    assert svg.nice_ticks(3.0, 3.0)[0] <= 3.0 <= svg.nice_ticks(3.0, 3.0)[-1]


# ---------------------------------------------------------------- one evaluation

def test_report_shows_header_metrics_and_every_episode(run_dir: Path):
    text = render_report(run_dir / "eval" / "rust" / "sft").read_text(encoding="utf-8")
    for expected in ("rust · sft", "sha256:" + "ab" * 32, "sha256:" + "cd" * 32, "stages/rust/sft/adapter",
                     "2025-01-02T03:04:05+00:00", "test pass rate", "≥ 70.0%", "45.0%", "misses"):
        assert expected in text, expected
    assert text.count('<tr class="episode">') == 2 and text.count("<details>") == 2
    assert 'regressed</span> against the base model: test pass rate' in text
    assert "→ read_file" in text and "skipped" in text


def test_model_output_is_escaped_and_stays_inert(tmp_path: Path):
    hostile = episode(f"task-{SCRIPT}", content=f'{SCRIPT}<img src="https://evil.example/x.png">',
                      error='<a href="https://evil.example">click</a>', hallucinated_calls=["<b>os.nope</b>"])
    eval_dir = write_evaluation(tmp_path / "run", "python", "base", {"test_pass_rate": 0.5}, episodes=[hostile])
    text = render_report(eval_dir).read_text(encoding="utf-8")
    assert "<script" not in text and "<img" not in text and "<b>os.nope" not in text
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in text
    assert_self_contained(text)
    # The URL survives only as text a reader sees, never as something the browser would fetch.
    assert any("https://evil.example/x.png" in data for data in Page(text).data)


def test_reports_are_self_contained(run_dir: Path):
    for page in report_from_cli(run_dir):
        text = page.read_text(encoding="utf-8")
        assert_self_contained(text)
        assert "http://" not in text and "https://" not in text


def test_missing_metrics_json_names_the_path_and_the_fix(tmp_path: Path):
    with pytest.raises(EvaluationError, match=r"no metrics.json in .*python/base.*apprentice eval"):
        render_report(tmp_path / "eval" / "python" / "base")


def test_unreadable_metrics_json_is_one_error_naming_the_file(run_dir: Path):
    (run_dir / "eval" / "python" / "sft" / "metrics.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"cannot read .*python/sft/metrics.json"):
        render_comparison(run_dir)
    write_stage(run_dir, "rust", "grpo", "[1, 2]")
    (run_dir / "eval" / "python" / "sft" / "metrics.json").unlink()
    with pytest.raises(EvaluationError, match=r"rust/grpo/metrics.json holds a JSON list"):
        render_comparison(run_dir)


def test_missing_results_and_metrics_block_leave_notes(tmp_path: Path):
    eval_dir = write_evaluation(tmp_path / "run", "python", "base", {"test_pass_rate": 0.5})
    (eval_dir / "results.jsonl").unlink()
    record = json.loads((eval_dir / "metrics.json").read_text())
    del record["metrics"], record["regressions"], record["base_hash"]
    (eval_dir / "metrics.json").write_text(json.dumps(record))
    text = render_report(eval_dir).read_text(encoding="utf-8")
    assert "no results.jsonl in" in text and "no `metrics` block" in text and "Not compared against" in text


def test_a_broken_results_line_is_named(tmp_path: Path):
    eval_dir = write_evaluation(tmp_path / "run", "python", "base", {"test_pass_rate": 0.5})
    with (eval_dir / "results.jsonl").open("a") as stream:
        stream.write("{truncated\n")
    with pytest.raises(EvaluationError, match=r"results.jsonl line 3 is not JSON"):
        render_report(eval_dir)


# ---------------------------------------------------------------- the run's comparison

def test_comparison_across_two_targets_and_three_versions(run_dir: Path):
    text = render_comparison(run_dir).read_text(encoding="utf-8")
    for target, versions in (("python", "base sft python-v1"), ("rust", "base sft rust-v1")):
        headers = re.search(rf"<h3>{target}</h3>.*?<thead>(.*?)</thead>", text, re.S).group(1)
        assert re.findall(r"<th[^>]*>([^<]+)</th>", headers)[2:] == versions.split()
    assert "regressed vs base" in text  # rust sft flagged test_pass_rate
    charts = re.search(r'id="charts">.*?<div class="charts">(.*?)</div>', text, re.S).group(1)
    assert charts.count("<svg") == 3  # one bar chart per metric
    assert charts.count('<rect class="bar"') == 3 * 6  # six evaluations per chart
    for title in ("base · pretrain loss", "python · SFT loss", "python · preference KL to the reference",
                  "python · GRPO reward per step"):
        assert title in text, title
    assert "70.0%" in text and "vs best" in text


def test_missing_stage_keys_and_files_leave_a_visible_note(run_dir: Path):
    write_stage(run_dir, "rust", "sft", {"train_losses": [[1, 7.0], [2, 6.0]]})
    write_stage(run_dir, "rust", "grpo", {"rewards": "lots", "aborted": "KL 5.17 above 0.5 at step 2"})
    (run_dir / "stages" / "rust" / "preference").mkdir()
    text = render_comparison(run_dir).read_text(encoding="utf-8")
    assert "`eval_losses` missing in" in text and "series omitted" in text
    assert "`rewards` is not a list of numbers or [step, value] pairs" in text and "chart omitted" in text
    assert "no metrics.json in" in text and "rust · SFT loss" in text
    assert "rust grpo stopped early: KL 5.17 above 0.5 at step 2" in text


def test_comparison_without_evaluations_names_the_fix(tmp_path: Path):
    (tmp_path / "run" / "stages").mkdir(parents=True)
    with pytest.raises(EvaluationError, match=r"no metrics.json under .*run/eval.*apprentice eval"):
        render_comparison(tmp_path / "run")
    with pytest.raises(EvaluationError, match="no run directory"):
        report_from_cli(tmp_path / "absent")


def test_report_from_cli_writes_every_page_and_links_them(run_dir: Path):
    pages = report_from_cli(run_dir)
    assert pages[0] == run_dir / "report.html" and len(pages) == 7 and all(page.is_file() for page in pages)
    assert 'href="eval/rust/rust-v1/report.html"' in pages[0].read_text(encoding="utf-8")


def test_versions_sort_in_pipeline_then_numeric_order():
    versions = ["python-v10", "grpo", "python-v2", "base", "sft", "preference"]
    assert sorted(versions, key=version_key) == ["base", "sft", "preference", "grpo", "python-v2", "python-v10"]


# ---------------------------------------------------------------- headless rendering

@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (apt-get install -y chromium)")
def test_chromium_renders_the_reports_fully_offline(run_dir: Path, tmp_path: Path):
    shots = tmp_path / "shots"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report_screenshot.py"), str(run_dir),
                             "--out", str(shots)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for name in ("run.png", "evaluation.png"):
        shot = shots / name
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert result.stdout.count("1280x2000 px") == 2


def test_the_report_card_is_a_chart_and_a_table_per_target_or_a_note(run_dir: Path):
    from apprentice.evaluation.report_card import RUNGS, report_card

    for version, reached in (("base", 0), ("sft", 2)):
        metrics_file = run_dir / "eval" / "python" / version / "metrics.json"
        record = json.loads(metrics_file.read_text())
        rows = [{"rungs": {**dict.fromkeys(RUNGS, False), "format": i < reached}} for i in range(4)]
        record["report_card"] = report_card(rows)
        metrics_file.write_text(json.dumps(record))
    text = render_comparison(run_dir).read_text(encoding="utf-8")
    card = re.search(r'id="card">(.*?)<h2 id="charts">', text, re.S).group(1)
    assert "python: held-out episodes reaching each rung" in card
    assert card.count('<rect class="bar"') == 2 * len(RUNGS)  # a bar per rung and version
    assert "format sft: 50.0%" in card and "format base: 0.0%" in card
    assert "2/4 (15%-85%)" in card and "0/4 (0%-49%)" in card
    assert "rust: no evaluation has a report card" in card


def test_the_cross_target_verdict_is_not_ok_when_no_target_fixes_a_task(tmp_path):
    from apprentice.evaluation.report import Evaluation, cross_target_table

    def evaluation(target: str, rate: float) -> Evaluation:
        record = {"metrics": {"test_pass_rate": {"value": rate}, "tool_call_format_accuracy": {"value": 1.0}}}
        return Evaluation(target, "grpo", tmp_path, record)

    nothing_fixed = cross_target_table([evaluation("python", 0.0)])
    assert "investigate: fixes no held-out task" in nothing_fixed and 'class="ok"' not in nothing_fixed
    assert '>ok<' in cross_target_table([evaluation("python", 0.4), evaluation("rust", 0.38)])
