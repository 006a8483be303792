"""Mutants validated by running a real test suite: verdicts, tasks that grade green once fixed, resume."""

import json
import shutil
from pathlib import Path

import pytest

from apprentice.errors import ValidationError
from apprentice.grading.grade import grade
from apprentice.languages.language import TestCase
from apprentice.languages.registry import get_language
from apprentice.sandbox import SandboxResult
from apprentice.tasks.mutation.campaign import CampaignConfig, iter_tasks, log_path, run_campaign
from apprentice.tasks.mutation.engine import Mutant
from apprentice.tasks.mutation.records import reverse_diff
from apprentice.tasks.mutation.validation import judge

FIXTURES = Path(__file__).parents[2] / "fixtures" / "mutation"


def _result(timed_out=False, returncode=1):
    return SandboxResult(("pytest",), None if timed_out else returncode, "", "", timed_out, 1.0, False, True, ())


def _mutant():
    return Mutant("python", "m.py", "f", "arith_swap", 3, 5, "+", "-", "diff", "fix", "sha")


def test_judge_sorts_killed_survived_timeout_and_broken():
    python, ids = get_language("python"), ("tests/test_m.py::test_a", "tests/test_m.py::test_b")
    passed = (TestCase("tests.test_m::test_a", "passed"), TestCase("tests.test_m::test_b", "passed"))
    one_fails = (TestCase("tests.test_m::test_a", "failed", message="AssertionError: 1 != 2"), passed[1])
    killed = judge(_mutant(), python, ids, _result(), one_fails)
    assert killed.status == "killed" and killed.fail_to_pass == ids[:1] and killed.pass_to_pass == ids[1:]
    assert killed.failures[0].message.startswith("AssertionError")
    assert judge(_mutant(), python, ids, _result(returncode=0), passed).status == "survived"
    assert judge(_mutant(), python, ids, _result(timed_out=True), one_fails).status == "timeout"
    assert judge(_mutant(), python, ids, _result(), ()).status == "broken"
    assert judge(_mutant(), python, ids, _result(), passed, "build failed (exit 1)").status == "broken"
    # a selected test missing from the report (its module no longer imports) counts as failing
    missing = judge(_mutant(), python, ids, _result(), passed[1:])
    assert missing.status == "killed" and missing.fail_to_pass == ids[:1]


@pytest.fixture(scope="module")
def python_campaign(tmp_path_factory):
    out = tmp_path_factory.mktemp("campaign") / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(FIXTURES / "python", "python", out, workers=2))
    return summary, list(iter_tasks(out))


def test_python_campaign_keeps_only_killed_mutants_with_full_test_lists(python_campaign):
    summary, tasks = python_campaign
    counts = summary.counts
    assert counts.tried == counts.total > 10 and summary.failing_on_clean == ()
    assert counts.kept == counts.verdicts["killed"] == len(tasks) > 5
    assert counts.verdicts["survived"] + counts.verdicts["uncovered"] >= 1  # e.g. float() of a float
    assert len({(t.repo.commit, t.bug) for t in tasks}) == len(tasks)
    # every run mutant went through the batch path (one pytest start per batch, a fork per mutant)
    entries = [json.loads(line) for line in log_path(summary.out).read_text().splitlines()]
    assert [e["batched"] for e in entries if e["status"] != "uncovered"] == [True] * (counts.tried - counts.verdicts["uncovered"])
    for task in tasks:
        assert task.source == "mutation" and task.fail_to_pass and not set(task.fail_to_pass) & set(task.pass_to_pass)
        assert all(test.startswith("tests/test_stats.py::") for test in task.fail_to_pass + task.pass_to_pass)
        assert "does not behave as its tests expect" in task.statement and task.difficulty in (1, 2, 3)


def test_each_fix_turns_fail_to_pass_green_and_the_buggy_tree_stays_red(python_campaign):
    _, tasks = python_campaign
    for task in tasks[::4]:
        fixed = grade(task, reverse_diff(task.bug))
        assert fixed.error == "" and fixed.tests_complete, fixed.error
        assert all(case.status == "passed" for case in fixed.tests)
        assert {case.id for case in fixed.tests} == set(task.fail_to_pass + task.pass_to_pass)
        # a harmless edit elsewhere leaves the bug in place: the fail_to_pass tests still fail
        unfixed = grade(task, _comment_patch())
        assert {c.id for c in unfixed.tests if c.status != "passed"} == set(task.fail_to_pass)


def _comment_patch():
    return "--- /dev/null\n+++ b/tinystats/extra.py\n@@ -0,0 +1 @@\n+UNRELATED = 1\n"


def test_a_second_run_resumes_and_adds_nothing(python_campaign, tmp_path):
    summary, tasks = python_campaign
    out = tmp_path / "tasks.jsonl"
    shutil.copy(summary.out, out)
    shutil.copy(log_path(summary.out), log_path(out))
    shutil.copytree(summary.task_repo, out.with_suffix(".repo"))
    with out.open("a") as handle:
        handle.write('{"torn": ')  # a run killed mid-write
    again = run_campaign(CampaignConfig(FIXTURES / "python", "python", out))
    assert again.counts.tried == 0 and again.resumed == summary.counts.total
    assert len(list(iter_tasks(out))) == len(tasks)


def test_max_caps_the_tasks_written(tmp_path):
    out = tmp_path / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(FIXTURES / "python", "python", out, max_tasks=3, workers=1))
    assert summary.counts.kept == 3 and len(list(iter_tasks(out))) == 3
    for task in iter_tasks(out):  # every mutation task carries its statement at each level (SPEC §10)
        located, named, symptom = task.statements
        assert task.level == 1 and task.statement == named and f"`{named.split('`')[1]}" in named
        assert f"of {task.bug_file} is wrong: the tests in tests/" in located or \
            "A statement is missing at line" in located
        assert task.bug_file not in symptom and symptom.split(" (")[0] in named
        assert task.at_level(0).statement == located and task.at_level(2).level == 2


def test_clean_failures_are_reported_and_skipped_and_bad_files_counted(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "python", repo)
    (repo / "tests" / "test_broken.py").write_text("def test_always_red():\n    assert 1 == 2\n")
    (repo / "tinystats" / "garbled.py").write_text("def half(:\n    return\n")
    out = tmp_path / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(repo, "python", out, max_tasks=2, workers=1))
    assert summary.failing_on_clean == ("tests/test_broken.py::test_always_red",)
    assert [path for path, _ in summary.skipped_files] == ["tinystats/garbled.py"]
    assert all("test_always_red" not in t.fail_to_pass + t.pass_to_pass for t in iter_tasks(out))


def test_a_repository_without_tests_is_refused(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "python" / "tinystats", repo / "tinystats")
    with pytest.raises(ValidationError, match="does not run|no test"):
        run_campaign(CampaignConfig(repo, "python", tmp_path / "tasks.jsonl"))


def test_stats_report_counts_duplicates_and_the_data_gate(python_campaign):
    from apprentice.config.models import DataGate
    from apprentice.tasks.stats import gate_problems, render_stats, task_stats

    summary, tasks = python_campaign
    stats = task_stats(summary.out)
    assert stats.tasks == len(tasks) and stats.duplicate_pairs == 0 and stats.per_language == {"python": len(tasks)}
    assert stats.verdicts["killed"] == summary.counts.verdicts["killed"] and 0 < stats.survival_rate < 1
    assert gate_problems(stats, DataGate(min_tasks=len(tasks))) == []
    assert "python: " in gate_problems(stats, DataGate(min_tasks=len(tasks) + 1))[0]
    assert "data gate: passed" in render_stats(stats, DataGate(min_tasks=1))
