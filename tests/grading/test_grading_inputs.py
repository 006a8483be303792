"""Bad inputs end in a clear Outcome field, never an exception; the Task record round-trips strictly."""

from __future__ import annotations

import dataclasses

import pytest
from grading_fixtures import REPOS, edit_patch, fixture_patch

from apprentice.errors import TaskFormatError
from apprentice.grading.grade import grade
from apprentice.grading.patch import MAX_PATCH_BYTES
from apprentice.languages import registry
from apprentice.languages.language import Tool
from apprentice.sandbox import SandboxPool
from apprentice.tasks.task import Task

REPO = REPOS / "python" / "repo"


@pytest.mark.parametrize(
    ("patch", "problem"),
    [
        ("", "patch is empty"),
        (b"\xff\xfe--- a/x\n", "not UTF-8"),
        ("--- a/x\n+++ b/x\n" + "+" * (MAX_PATCH_BYTES + 1), "byte limit"),
        ("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "escapes the repository"),
        ("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "absolute"),
        ("diff --git a/x.bin b/x.bin\nGIT binary patch\nliteral 1\n", "binary"),
        (
            "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc\n",
            "symlink",
        ),
        ("--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n", "git data"),
        (
            "--- a/tinystats/stats.py\n+++ b/tinystats/stats.py\n@@ -1,1 +1,1 @@\n-no such line\n+x\n",
            "does not apply",
        ),
        ("just some words\n", "names no files"),
    ],
)
def test_bad_patch_is_a_clear_error(python_task, patch, problem):
    outcome = grade(python_task, patch)
    assert problem in outcome.error and outcome.reward < 0 and not outcome.patch_applied


def test_protected_pyproject_table_is_tamper(python_task):
    pyproject = (
        (REPO / "pyproject.toml").read_text().replace('testpaths = ["tests"]', 'addopts = "-p no:junitxml"')
    )
    outcome = grade(python_task, edit_patch(REPO, {"pyproject.toml": pyproject}))
    assert any("tool.pytest" in flag for flag in outcome.tamper_flags) and outcome.reward == -1.0


def test_missing_toolchain_is_skipped_with_the_install_hint(python_task, monkeypatch):
    python = registry.LANGUAGES["python"]
    absent = dataclasses.replace(
        python, toolchain=(Tool("pytest-from-mars", "`pip install pytest-from-mars`"),)
    )
    monkeypatch.setitem(registry.LANGUAGES, "python", absent)
    outcome = grade(python_task, fixture_patch("python"))
    assert (
        outcome.skipped
        == "python: pytest-from-mars not found — install it with `pip install pytest-from-mars`"
    )
    assert outcome.reward == 0.0 and not outcome.all_tests_pass


def test_missing_repository_and_unknown_language_are_errors(python_task):
    gone = grade(
        dataclasses.replace(python_task, repo=dataclasses.replace(python_task.repo, path="/nonexistent")),
        fixture_patch("python"),
    )
    assert "is not a directory" in gone.error
    unknown = grade(dataclasses.replace(python_task, language="rustt"), fixture_patch("python"))
    assert "unknown language 'rustt'" in unknown.error


def test_one_failing_grade_never_zeroes_the_others(python_task, quick_limits):
    patches = [fixture_patch("python"), "garbage", fixture_patch("python")]
    with SandboxPool(workers=2) as pool:
        outcomes = pool.map(lambda patch: grade(python_task, patch, limits=quick_limits), patches)
    assert [outcome.reward for outcome in outcomes] == [1.0, -0.3, 1.0]


def test_task_round_trips_through_json(python_task):
    assert Task.from_json(python_task.to_json()) == python_task


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.update(colour="red"), "unknown field"),
        (lambda raw: raw.pop("statement"), "missing field"),
        (lambda raw: raw.update(difficulty="hard"), "difficulty"),
        (lambda raw: raw.update(fail_to_pass="tests/x.py::t"), "list of strings"),
        (lambda raw: raw["repo"].update(branch="main"), "task.repo: unknown field"),
        (lambda raw: raw.update(fail_to_pass=[]), "fail_to_pass is empty"),
    ],
)
def test_task_rejects_bad_records(python_task, mutate, message):
    import json

    raw = json.loads(python_task.to_json())
    mutate(raw)
    with pytest.raises(TaskFormatError, match=message):
        Task.from_json(json.dumps(raw))
