"""The tiny repositories' tasks (tests/fixtures/repos), their repo paths made absolute."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from apprentice.languages.language import missing_tools
from apprentice.languages.registry import get_language
from apprentice.tasks.task import RepoRef, Task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def fixture_task(language: str) -> Task:
    """The tiny repository's median-bug task for `language`."""
    directory = REPOS / language
    task = Task.from_json((directory / "task.json").read_text())
    return dataclasses.replace(task, repo=RepoRef(path=str(directory / "repo")))


def toolchain_missing(language: str) -> str:
    """Why `language`'s tests cannot run here ('' when they can)."""
    language_spec = get_language(language)
    return "; ".join(missing_tools(language_spec, language_spec.toolchain))
