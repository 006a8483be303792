"""Gold and template trajectories on the tiny repositories: real tool results, graded green,
and every drop counted with its reason."""

import dataclasses
from pathlib import Path

import pytest
from fixture_tasks import fixture_task, toolchain_missing

from apprentice.config.models import DataGate, SftDataSection
from apprentice.data import gold
from apprentice.data.diffs import FixSummary
from apprentice.data.gold import GoldShape, read_arguments
from apprentice.data.quality import check_trajectories
from apprentice.data.trajectories import gold_trajectories


def _tool_results(trajectory) -> dict[str, str]:
    return {m["name"]: m["content"] for m in trajectory.messages if m["role"] == "tool"}


def test_python_gold_trajectory_is_real_and_green():
    task = fixture_task("python")
    kept, report = gold_trajectories([task])
    assert report.kept == 1 and report.kept_share == 1.0 and not report.dropped
    trajectory = kept[0]
    assert trajectory.source == "gold" and trajectory.outcome["tests_failed"] == []
    results = _tool_results(trajectory)
    # Real outputs: the buggy file as it is on disk, the sandboxed test report of the fixed tree.
    assert "return float(ordered[middle])" in results["read_file"]
    assert "(ordered[middle - 1] + ordered[middle]) / 2.0" not in results["read_file"]
    assert "tests: 5/5 passed" in results["run_tests"]
    roles = [m["role"] for m in trajectory.messages]
    assert roles[:2] == ["system", "user"] and roles[-1] == "assistant"
    assert trajectory.messages[2]["thinking"].startswith("Observe:")
    assert "Tests: 5/5 passed" in trajectory.messages[-1]["content"]
    assert (trajectory.turns, trajectory.tool_calls) == (4, 3)
    assert check_trajectories(kept).passed


def test_python_template_trajectory_takes_another_path():
    kept, report = gold_trajectories([fixture_task("python")], template=True)
    assert report.kept == 1 and kept[0].source == "template"
    calls = [m["tool_calls"][0]["function"]["name"] for m in kept[0].messages if m.get("tool_calls")]
    assert calls[1:] == ["read_file", "apply_patch", "run_tests"] and calls[0] in {"list_files", "search", "run_tests"}
    assert check_trajectories(kept).passed


@pytest.mark.parametrize("workers", [1, 2])
def test_tasks_that_do_not_end_green_are_dropped_with_reasons(workers):
    task = fixture_task("python")
    fix = dataclasses.replace(task, id="fix-as-bug", bug=task.bug.replace("-    if", "+    if").replace(
        "-        return (", "+        return (").replace("@@ -10,8 +10,6 @@", "@@ -10,6 +10,8 @@"))
    docstring = ('--- a/tinystats/stats.py\n+++ b/tinystats/stats.py\n@@ -1,3 +1,3 @@\n'
                 '-"""Mean and median."""\n+"""Mean, median and clamp over lists of numbers."""\n \n \n')
    unrelated = dataclasses.replace(task, id="unrelated", bug=docstring)
    seen = []
    kept, report = gold_trajectories([fix, unrelated, task], workers=workers, on_task=lambda b: seen.append(b.task_id))
    assert seen == ["fix-as-bug", "unrelated", task.id]  # in task order, whatever finished first
    assert [t.task_id for t in kept] == [task.id]
    assert report.dropped == {"fix does not apply": 1, "tests not green": 1}
    assert report.attempts == 3 and round(report.kept_share, 3) == 0.333
    assert "unrelated" in report.examples["tests not green"]
    assert "kept 1/3 (33%)" in report.text()


def test_requirements_drop_what_the_gate_forbids():
    _, report = gold_trajectories([fixture_task("python")], gate=DataGate(min_tool_calls=4))
    assert report.kept == 0
    assert report.dropped == {"outside trajectory requirements": 1}
    assert "3 tool calls, under 4" in report.examples["outside trajectory requirements"]


@pytest.mark.parametrize("language", ["rust", "typescript", pytest.param("go", marks=pytest.mark.slow)])
def test_gold_on_other_languages(language):
    missing = toolchain_missing(language)
    if missing:
        pytest.skip(f"{language} toolchain missing: {missing}")
    kept, report = gold_trajectories([fixture_task(language)])
    assert report.kept == 1, report.text()
    assert check_trajectories(kept).passed


def _numbered_file(tmp_path, count: int) -> Path:
    (tmp_path / "m.py").write_text("".join(f"line_{n} = {n}\n" for n in range(1, count + 1)))
    return tmp_path


def test_read_arguments_name_the_window_or_only_its_first_line(tmp_path):
    workspace = _numbered_file(tmp_path, 100)
    fix = FixSummary(files=("m.py",), changed_lines=2, functions=(), windows=(("m.py", 50, 51),))
    shape = GoldShape(read_whole_lines=40, read_margin=6, max_output_chars=1200)
    assert read_arguments(workspace, fix, "m.py", shape) == {"path": "m.py", "start": 44, "end": 57}
    # Without an end line the output cut ends the read; the window (lines 44-57, ~180 chars) still shows whole.
    open_ended = dataclasses.replace(shape, read_end=False)
    assert read_arguments(workspace, fix, "m.py", open_ended) == {"path": "m.py", "start": 44}
    # A window longer than the cut keeps its end line, so the fix stays in what the read shows.
    narrow = dataclasses.replace(open_ended, max_output_chars=100)
    assert read_arguments(workspace, fix, "m.py", narrow) == {"path": "m.py", "start": 44, "end": 57}
    # A short file is read whole either way.
    assert read_arguments(workspace, fix, "m.py", dataclasses.replace(open_ended, read_whole_lines=100)) == {"path": "m.py"}


def test_open_ended_gold_read_shows_the_fix_and_stays_green():
    shape = GoldShape(read_whole_lines=1, read_margin=1, max_output_chars=4000, read_end=False)
    kept, report = gold_trajectories([fixture_task("python")], shape=shape)
    assert report.kept == 1, report.text()
    call = next(m["tool_calls"][0]["function"] for m in kept[0].messages if m.get("tool_calls"))
    assert call["name"] == "read_file" and sorted(call["arguments"]) == ["path", "start"]
    shown = _tool_results(kept[0])["read_file"]
    assert "return float(ordered[middle])" in shown  # the buggy line, and the file on to its end
    assert shown.rstrip().endswith(Path(fixture_task("python").repo.path, "tinystats/stats.py").read_text().rstrip().splitlines()[-1])


def test_retry_template_meets_the_real_error_then_fixes():
    kept, report = gold_trajectories([fixture_task("python")], template=True, shape=GoldShape(template_paths=("retry",)))
    assert report.kept == 1, report.text()
    messages = kept[0].messages
    calls = [m["tool_calls"][0]["function"] for m in messages if m.get("tool_calls")]
    assert [c["name"] for c in calls] == ["read_file", "apply_patch", "read_file", "apply_patch", "run_tests"]
    results = [m["content"] for m in messages if m["role"] == "tool"]
    assert results[1].startswith("error: SEARCH text does not occur in 'tinystats/stats.py'")  # the tool's own words
    assert results[3].startswith("patch applied") and "tests: 5/5 passed" in results[4]
    # The misquote is the same edit a level too deep; the retry quotes the file exactly.
    first, second = calls[1]["arguments"]["diff"], calls[3]["arguments"]["diff"]
    assert first != second and first == gold.misquoted(second, lambda path: None)
    assert [m.get("thinking") for m in messages if m.get("tool_calls")][2] == gold.RETRY_THOUGHT
    assert [m.get("weight", 1) for m in messages if m.get("tool_calls")] == [1, 0, 1, 1, 1]  # the mistake is not trained
    assert kept[0].outcome["tests_failed"] == [] and check_trajectories(kept).passed


def test_misquoted_only_when_the_edit_must_fail():
    edit = "m.py\n<<<<<<< SEARCH\n    return a\n=======\n    return b\n>>>>>>> REPLACE"
    assert gold.misquoted(edit, lambda path: "def f(a):\n    return a\n") == (
        "m.py\n<<<<<<< SEARCH\n        return a\n=======\n    return b\n>>>>>>> REPLACE")
    # The deeper text is in the file too (SEARCH matches any substring), so it would apply: no misquote.
    assert gold.misquoted(edit, lambda path: "def f(a):\n    if a:\n        return a\n") is None
    assert gold.misquoted("--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n", lambda path: "x = 1\n") is None


def test_shape_defaults_and_values_come_from_the_sft_data_section():
    assert GoldShape() == GoldShape.from_section(SftDataSection())
    section = SftDataSection(read_margin=3, read_end=False, template_paths=["retry"])
    assert GoldShape.from_section(section) == GoldShape(read_margin=3, read_end=False, template_paths=("retry",))


def _at_level_zero(task):
    located = "A statement is missing at line 13 of tinystats/stats.py: test_median_even fails."
    return dataclasses.replace(task, level=0, statement=located,
                               statements=(located, task.statement, "test_median_even fails."))


def test_level_zero_gold_reads_from_the_named_line_and_quotes_what_it_read_first():
    task = _at_level_zero(fixture_task("python"))
    kept, report = gold_trajectories([task])
    assert report.kept == 1
    calls = [m["tool_calls"][0]["function"] for m in kept[0].messages if m.get("tool_calls")]
    assert [c["name"] for c in calls] == ["read_file", "apply_patch", "run_tests"]
    assert calls[0]["arguments"] == {"path": "tinystats/stats.py", "start": 13}
    read = next(m["content"] for m in kept[0].messages if m["role"] == "tool")
    search = calls[1]["arguments"]["diff"].split("<<<<<<< SEARCH\n")[1].split("=======")[0]
    # The block starts at the named line (context after it, not before), so SEARCH is the read's first line.
    assert read.startswith(search) and search == "    return float(ordered[middle])\n"


def test_level_one_gold_keeps_reading_around_the_fix():
    kept, _ = gold_trajectories([fixture_task("python")])
    first = next(m["tool_calls"][0]["function"] for m in kept[0].messages if m.get("tool_calls"))
    assert first["name"] == "read_file" and first["arguments"].get("start") != 13


def test_a_shared_memo_grades_each_fix_once_and_changes_no_outcome():
    from apprentice.grading.grade import GradeMemo

    task = fixture_task("python")
    memo = GradeMemo()
    gold_kept, _ = gold_trajectories([task], memo=memo)
    template_kept, _ = gold_trajectories([task], template=True, memo=memo)
    # Gold's test run and grade, the template's test run and grade: one patch, one sandboxed run.
    assert (memo.runs, memo.reused) == (1, 3)
    plain, _ = gold_trajectories([task])
    for outcome in (gold_kept[0].outcome, template_kept[0].outcome):
        assert outcome["tests_passed"] == plain[0].outcome["tests_passed"] and outcome["reward"] == plain[0].outcome["reward"]
