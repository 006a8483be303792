"""Fixtures for the sandbox tests: a tiny repository, its workspace, and a process counter."""

import uuid
from pathlib import Path

import pytest

from apprentice.sandbox import create_workspace, remove_workspace


@pytest.fixture()
def repo(tmp_path) -> Path:
    """A small repository: a module, its test, a nested data file."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "core.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "test_core.py").write_text("from pkg.core import add\n\ndef test_add():\n"
                                       "    assert add(1, 2) == 3\n")
    (root / "data.txt").write_text("original\n")
    return root


@pytest.fixture()
def workspace(repo):
    """A private copy of `repo`, removed after the test."""
    path = create_workspace(repo)
    yield path
    remove_workspace(path)


@pytest.fixture()
def marker() -> str:
    """A unique word to put in a command line, so its processes can be counted host-wide."""
    return f"apprentice-sandbox-test-{uuid.uuid4().hex}"
