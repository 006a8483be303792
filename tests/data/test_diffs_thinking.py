"""The gold fix is the bug reversed; the thinking is elastic by difficulty and built from the task."""

import dataclasses
import json
from pathlib import Path

import pytest

from apprentice.data.diffs import fix_from_bug, summarize_fix
from apprentice.data.thinking import gold_thinking, is_easy
from apprentice.errors import DataError
from apprentice.tasks.task import Task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"
TWO_FILES = """--- a/pkg/a.py
+++ b/pkg/a.py
@@ -1,3 +1,3 @@ def first():
 x = 1
-y = x + 1
+y = x - 1
 z = y
--- a/pkg/b.py
+++ b/pkg/b.py
@@ -4,2 +4,3 @@ def second():
 keep
+extra
 end
"""


@pytest.mark.parametrize("language", ["python", "rust", "typescript", "go"])
def test_fix_is_the_shipped_fix_patch(language):
    task = Task.from_json((REPOS / language / "task.json").read_text())
    assert fix_from_bug(task.bug) == (REPOS / language / "fix.patch").read_text()
    assert fix_from_bug(fix_from_bug(task.bug)) == task.bug


def test_multi_file_reversal_keeps_second_headers():
    fix = fix_from_bug(TWO_FILES)
    assert "--- a/pkg/b.py\n+++ b/pkg/b.py\n@@ -4,3 +4,2 @@ def second():\n keep\n-extra\n" in fix
    assert "-y = x - 1\n+y = x + 1\n" in fix
    summary = summarize_fix(fix)
    assert summary.files == ("pkg/a.py", "pkg/b.py")
    assert summary.changed_lines == 3 and summary.functions == ("def first():", "def second():")


def test_truncated_diff_is_an_error():
    with pytest.raises(DataError, match="not part of a hunk"):
        fix_from_bug("--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n a\nGARBAGE\n")
    with pytest.raises(DataError, match="names no files"):
        summarize_fix("@@ -1 +1 @@\n-a\n+b\n")


def test_thinking_is_short_for_easy_and_full_for_hard():
    task = Task.from_json((REPOS / "python" / "task.json").read_text())
    fix = fix_from_bug(task.bug)
    summary = summarize_fix(fix)
    assert is_easy(task, summary)
    short = gold_thinking(task, summary, fix, tests_passed=5)
    assert short.before_read.startswith("Observe: test_median_even and 1 more fail.") and "Hypothesize" not in short.before_read
    assert short.before_patch == "Execute: add `if len(ordered) % 2 == 0: / return (ordered[middle - 1] + " \
                                 "ordered[middle]) / 2.0` where that case is missing."
    hard_task = dataclasses.replace(task, difficulty=3, origin="boundary", changed_symbols=("tinystats/stats.py::median",))
    full = gold_thinking(hard_task, summary, fix, tests_passed=5)
    assert full.full and not short.full
    lines = full.before_read.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Observe", "Hypothesize", "Plan"]
    assert "off-by-one" in lines[1] and "median in tinystats/stats.py" in lines[1]
    assert "keep the 3 passing tests green" in lines[2]
    assert len(full.before_read) > len(short.before_read)
    assert json.dumps(full.final) == '"5 required tests pass; the fix is done."'


def test_observe_names_the_failure_without_reciting_the_statement():
    task = Task.from_json((REPOS / "python" / "task.json").read_text())
    fix = fix_from_bug(task.bug)
    thinking = gold_thinking(task, summarize_fix(fix), fix, tests_passed=5)
    assert task.statement not in thinking.observe and len(thinking.observe) < len(task.statement)
    single = dataclasses.replace(task, fail_to_pass=task.fail_to_pass[:1])
    assert gold_thinking(single, summarize_fix(fix), fix, tests_passed=5).observe == "Observe: test_median_even fails."


def test_brief_thinking_keeps_the_phases_but_recites_nothing():
    task = Task.from_json((REPOS / "python" / "task.json").read_text())
    fix = fix_from_bug(task.bug)
    hard_task = dataclasses.replace(task, difficulty=3, origin="boundary")
    brief = gold_thinking(hard_task, summarize_fix(fix), fix, tests_passed=5, brief=True)
    assert brief.before_read == "Observe: tests fail in tinystats/stats.py. Read it first."
    assert brief.before_patch == "Execute: patch tinystats/stats.py."
    assert brief.final == "5 required tests pass; the fix is done." and not brief.full
    recited = [*task.fail_to_pass, "ordered[middle]"]
    assert not any(part.split("::")[-1] in text for part in recited
                   for text in (brief.before_read, brief.before_patch, brief.before_tests))
