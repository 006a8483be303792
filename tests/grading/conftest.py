"""Fixtures for grading tests: the python tiny repository's task and tight sandbox limits."""

from __future__ import annotations

import pytest
from grading_fixtures import load_fixture_task

from apprentice.sandbox import Limits
from apprentice.tasks.task import Task


@pytest.fixture(scope="session")
def python_task() -> Task:
    """The python tiny repository's median-bug task."""
    return load_fixture_task("python")


@pytest.fixture(scope="session")
def quick_limits() -> Limits:
    """Tight limits so loops and bombs end within seconds; the honest fix needs under one."""
    return Limits(wall_seconds=5.0, cpu_seconds=5, memory_bytes=1024**3, processes=32)
