"""Helpers shared by grading and language tests: the tiny repositories as tasks, patches from edits."""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path

from apprentice.tasks.task import RepoRef, Task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def load_fixture_task(language: str) -> Task:
    """The tiny repository's task, its repo path made absolute."""
    directory = REPOS / language
    task = Task.from_json((directory / "task.json").read_text())
    return dataclasses.replace(task, repo=RepoRef(path=str(directory / "repo")))


def fixture_patch(language: str, name: str = "fix.patch") -> str:
    """A patch file shipped next to a tiny repository."""
    return (REPOS / language / name).read_text()


def edit_patch(repo: Path, edits: dict[str, str | None]) -> str:
    """A unified diff turning `repo` into `repo` with `edits` (path -> new text, None deletes)."""
    chunks = []
    for path, new in edits.items():
        old_file = repo / path
        old = old_file.read_text().splitlines(keepends=True) if old_file.exists() else []
        after = new.splitlines(keepends=True) if new is not None else []
        before_name = f"a/{path}" if old else "/dev/null"
        after_name = f"b/{path}" if new is not None else "/dev/null"
        chunks.extend(difflib.unified_diff(old, after, before_name, after_name))
    return "".join(chunks)
