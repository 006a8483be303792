"""History mining end to end: one bug fix among noise commits, kept, validated and gradable."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from apprentice.errors import CommitMiningError
from apprentice.grading.grade import grade
from apprentice.sandbox import Limits
from apprentice.tasks.history import git as commit_git
from apprentice.tasks.history.mine import mine_commits, stats_path
from apprentice.tasks.task import Task

CALC = '''def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
'''
CALC_FIXED = CALC.replace("    return sum(values) / len(values)",
                          "    if not values:\n        return 0.0\n    return sum(values) / len(values)")
TESTS = "from calc import add, mean\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mean():\n    assert mean([1, 3]) == 2\n"
TESTS_FIXED = TESTS + "\n\ndef test_mean_of_nothing_is_zero():\n    assert mean([]) == 0.0\n"
HUMAN = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org"}
BOT = {"GIT_AUTHOR_NAME": "dependabot[bot]", "GIT_AUTHOR_EMAIL": "49699333+dependabot[bot]@users.noreply.github.com"}


def _git(repo: Path, *args: str, author: dict[str, str] = HUMAN) -> str:
    env = {**os.environ, **author, "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000"}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def _commit(repo: Path, message: str, files: dict[str, str], author: dict[str, str] = HUMAN) -> str:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, author=author)
    return _git(repo, "rev-parse", "HEAD")


def build_history(repo: Path) -> dict[str, str]:
    """A small project whose history holds one real bug fix among the noise a filter must drop."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = {"root": _commit(repo, "Add calculator with its tests", {"calc.py": CALC, "tests/test_calc.py": TESTS})}
    shas["docs"] = _commit(repo, "Document how the calculator rounds", {"README.md": "# calc\nRounds half even.\n"})
    shas["bump"] = _commit(repo, "Bump version to 0.2.0", {"calc.py": CALC + '\n__version__ = "0.2.0"\n'})
    shas["bot"] = _commit(repo, "Bump six from 1.15 to 1.16 in requirements",
                          {"requirements.txt": "six==1.16\n", "calc.py": CALC + '\n__version__ = "0.2.1"\n'},
                          author=BOT)
    shas["wip"] = _commit(repo, "wip", {"calc.py": CALC + "\n# more to come\n"})
    _git(repo, "checkout", "-q", "-b", "feature")
    shas["branch"] = _commit(repo, "Add a subtraction helper to the calculator",
                             {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch feature into main", "feature")
    shas["merge"] = _git(repo, "rev-parse", "HEAD")
    merged = (repo / "calc.py").read_text()
    shas["fix"] = _commit(repo, "fix(calc): return zero for the mean of an empty list (#12)",
                          {"calc.py": merged.replace(CALC, CALC_FIXED), "tests/test_calc.py": TESTS_FIXED})
    return shas


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

    from apprentice.cli.tasks_history import mine_from_cli

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
