"""History mining end to end: one bug fix among noise commits, kept, validated and gradable."""

import json
import subprocess

import pytest
from history_repos import CALC, CALC_FIXED, TESTS, TESTS_FIXED, _commit, _git, build_history

from apprentice.errors import CommitMiningError
from apprentice.grading.grade import grade
from apprentice.sandbox import Limits
from apprentice.tasks.history import git as commit_git
from apprentice.tasks.history.mine import mine_commits, stats_path
from apprentice.tasks.task import Task


@pytest.fixture()
def history(tmp_path):
    repo = tmp_path / "calc"
    return repo, build_history(repo)


def test_only_the_fix_is_kept_and_validated_and_grades_green(history, tmp_path):
    repo, shas = history
    out = tmp_path / "tasks.jsonl"
    stats = mine_commits(repo, "python", out)
    assert stats.seen == 8 and stats.validated == 1
    assert dict(stats.dropped) == {"root_commit": 1, "docs_only": 1, "version_bump": 1, "bot_author": 1,
                                   "vague_message": 1, "merge": 1, "no_test_change": 1}
    [task] = [Task.from_json(line) for line in out.read_text().splitlines()]
    assert task.origin == f"commit {shas['fix']}"
    assert task.fail_to_pass == ("tests/test_calc.py::test_mean_of_nothing_is_zero",)
    assert set(task.pass_to_pass) == {"tests/test_calc.py::test_add", "tests/test_calc.py::test_mean"}
    assert task.statement == "Return zero for the mean of an empty list."
    assert "+    return sum(values) / len(values)" not in task.bug and "-    if not values:" in task.bug
    # The buggy snapshot is the parent plus the new test, pinned by a ref.
    assert commit_git.git(repo, "rev-parse", f"refs/apprentice/tasks/{shas['fix'][:12]}").strip() == task.repo.commit
    assert "test_mean_of_nothing_is_zero" in commit_git.file_at(repo, task.repo.commit, "tests/test_calc.py")
    assert "if not values" not in commit_git.file_at(repo, task.repo.commit, "calc.py")
    assert task.changed_files == ("calc.py",) and task.changed_symbols == ("calc.py::mean",)
    fix = commit_git.diff(repo, shas["merge"], shas["fix"], ("calc.py",))
    outcome = grade(task, fix)
    assert outcome.error == "" and {case.status for case in outcome.tests} == {"passed"}
    unfixed = grade(task, "")
    assert any(case.status != "passed" for case in unfixed.tests) or unfixed.error


def test_rerun_resumes_without_validating_or_appending_again(history, tmp_path):
    repo, _ = history
    out = tmp_path / "tasks.jsonl"
    mine_commits(repo, "python", out)
    first = out.read_text()
    with out.open("a") as stream:
        stream.write('{"id": "half-writ')  # a crash mid-line
    again = mine_commits(repo, "python", out)
    assert out.read_text() == first
    assert again.validated == 1 and again.seconds < 5
    recorded = json.loads(stats_path(out).read_text())
    assert recorded["validated"] == 1 and recorded["seen"] == 8


def test_shallow_clone_is_refused_with_the_fix(history, tmp_path):
    repo, _ = history
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo}", str(shallow)], check=True)
    with pytest.raises(CommitMiningError, match="shallow clone.*fetch --unshallow"):
        mine_commits(shallow, "python", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_detached_head_mines_up_to_the_detached_commit(history, tmp_path):
    repo, shas = history
    _git(repo, "checkout", "-q", "--detach", shas["wip"])
    stats = mine_commits(repo, "python", tmp_path / "out.jsonl")
    assert stats.seen == 5 and stats.validated == 0


def test_not_a_repository_is_refused(tmp_path):
    with pytest.raises(CommitMiningError, match="not a git repository"):
        mine_commits(tmp_path, "python", tmp_path / "out.jsonl")


def test_commit_whose_fixed_tests_cannot_run_is_counted(tmp_path):
    """The fix hangs at import: the sandbox's wall clock stops it and the commit is a counted skip."""
    repo = tmp_path / "hang"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "Add calculator with its tests", {"calc.py": CALC, "tests/test_calc.py": TESTS})
    _commit(repo, "Return zero for the mean of an empty list",
            {"calc.py": CALC_FIXED + "\nwhile True:\n    pass\n", "tests/test_calc.py": TESTS_FIXED})
    out = tmp_path / "out.jsonl"
    stats = mine_commits(repo, "python", out, limits=Limits(wall_seconds=3, cpu_seconds=10))
    assert stats.validated == 0 and dict(stats.dropped) == {"root_commit": 1, "tests_not_runnable": 1}
    assert not out.exists() or out.read_text() == ""


def test_cli_summary_counts_seen_dropped_and_validated(history, tmp_path):
    from rich.console import Console

    from apprentice.cli.tasks import mine_from_cli

    repo, _ = history
    text = mine_from_cli(repo, "python", tmp_path / "t.jsonl", None, Console(quiet=True))
    assert "commits seen       8" in text and "validated (tasks)  1" in text
    assert "  merge                  1" in text and "  no_test_change         1" in text


def test_binary_file_in_a_commit_is_a_counted_skip(tmp_path):
    repo = tmp_path / "bin"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _commit(repo, "Add calculator with its tests", {"calc.py": CALC, "tests/test_calc.py": TESTS})
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x01\x02")
    _commit(repo, "Return zero for the mean of an empty list", {"calc.py": CALC_FIXED, "tests/test_calc.py": TESTS_FIXED})
    stats = mine_commits(repo, "python", tmp_path / "out.jsonl")
    assert dict(stats.dropped) == {"root_commit": 1, "binary_file": 1}
