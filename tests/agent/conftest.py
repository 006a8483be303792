"""Fixtures for agent tests: the embedded base's tokenizer, a Qwen-style one, the python fixture task."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from apprentice.tasks.task import RepoRef, Task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


@pytest.fixture(scope="session")
def harmony_tokenizer(tiny_base):
    """The embedded base's tokenizer: TRL's gpt-oss template."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base, local_files_only=True)


@pytest.fixture(scope="session")
def qwen_tokenizer(tiny_base):
    """The same vocabulary with TRL's qwen3 template: enough to render and parse `<tool_call>` JSON."""
    from transformers import AutoTokenizer
    from trl.chat_template_utils import qwen3_chat_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_base, local_files_only=True)
    tokenizer.chat_template = qwen3_chat_template
    return tokenizer


@pytest.fixture(scope="session")
def python_task() -> Task:
    """The tinystats median bug, its repository path made absolute."""
    directory = REPOS / "python"
    task = Task.from_json((directory / "task.json").read_text())
    return dataclasses.replace(task, repo=RepoRef(path=str(directory / "repo")))


@pytest.fixture(scope="session")
def python_fix() -> str:
    """The unified diff that fixes the tinystats median bug."""
    return (REPOS / "python" / "fix.patch").read_text()
