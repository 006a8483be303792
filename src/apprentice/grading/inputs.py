"""The task `apprentice grade` grades a patch against: a task file, or a repository named by flags."""

from __future__ import annotations

from pathlib import Path

from apprentice.errors import GradingInputError
from apprentice.grading.grade import grade
from apprentice.grading.outcome import Outcome
from apprentice.tasks.task import RepoRef, Task, read_task


def load_task(task_file: Path) -> Task:
    """Read one task JSON file; a relative repo path is taken relative to the file's directory."""
    if not task_file.is_file():
        raise GradingInputError(
            f"task file {task_file} does not exist; pass a task JSON written by Task.to_json"
        )
    return read_task(task_file)


def task_from_flags(repo: Path, language: str, fail_to_pass: list[str], pass_to_pass: list[str]) -> Task:
    """An ad-hoc task for a repository directory as it is on disk."""
    if not fail_to_pass:
        raise GradingInputError(
            "no --fail-to-pass test id given; name at least one test the fix must make pass"
        )
    return Task(
        id=f"cli-{repo.resolve().name}",
        language=language,
        source="cli",
        repo=RepoRef(path=str(repo)),
        bug="",
        fail_to_pass=tuple(fail_to_pass),
        pass_to_pass=tuple(pass_to_pass),
        test_command=(),
        origin="",
        statement="",
        difficulty=1,
    )


def grade_patch_file(
    patch_file: Path,
    task_file: Path | None = None,
    repo: Path | None = None,
    language: str | None = None,
    fail_to_pass: list[str] | None = None,
    pass_to_pass: list[str] | None = None,
) -> Outcome:
    """Grade `patch_file` against `task_file`, or against `repo` + `language` + test ids."""
    if not patch_file.is_file():
        raise GradingInputError(f"patch file {patch_file} does not exist")
    if task_file is not None:
        if repo is not None or language is not None:
            raise GradingInputError("pass either --task or --repo/--language, not both")
        task = load_task(task_file)
    elif repo is None or language is None:
        raise GradingInputError("pass --task TASK_JSON, or --repo DIR with --language and --fail-to-pass")
    else:
        task = task_from_flags(repo, language, fail_to_pass or [], pass_to_pass or [])
    return grade(task, patch_file.read_bytes())
