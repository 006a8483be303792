"""A pytest plugin that records which functions each test reaches (the coverage map's input).

Loaded inside the sandbox with `-p apprentice.tasks.mutation.in_sandbox.reach_plugin`; standard library only, so it
costs the test process nothing but the tracing itself. Environment:
`APPRENTICE_REACH_ROOT` (the repository root: only files under it, outside its test
directories, are traced) and `APPRENTICE_REACH_OUT` (the JSON file written at the end:
`{key: {relative path: [first line, ...]}}`: the first lines (`co_firstlineno`, a decorator's
line for a decorated function) of the code objects called, where a key is a test's node id, or
a test file's path for what its import reached while pytest collected it). Only calls are
traced, never lines: a function-level map costs a fraction of line coverage.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import defaultdict

import pytest

_ROOT = os.path.realpath(os.environ.get("APPRENTICE_REACH_ROOT", os.getcwd())) + os.sep
_TEST_PARTS = {"tests", "test", "testing"}
_reached: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
_traced_files: dict[str, str | None] = {}  # co_filename -> relative path, or None when not traced
_current: list[str] = [""]  # the key lines are recorded under; "" records nothing


def _relative(filename: str) -> str | None:
    if filename not in _traced_files:
        if not os.path.isabs(filename):  # "<frozen abc>", "<string>": no file of the repository
            _traced_files[filename] = None
            return None
        real = os.path.realpath(filename)
        relative = real[len(_ROOT):] if real.startswith(_ROOT) else None
        tested = relative is not None and not _TEST_PARTS.intersection(relative.split(os.sep)[:-1])
        name = os.path.basename(real)
        _traced_files[filename] = relative if tested and not name.startswith(("test_", "conftest")) else None
    return _traced_files[filename]


def _trace(frame, event, arg):
    # Called on every Python call while a key is active; returning None traces no lines.
    code = frame.f_code
    relative = _relative(code.co_filename) if _current[0] else None
    if relative is not None:
        _reached[_current[0]][relative].add(code.co_firstlineno)


def _start(key: str) -> None:
    _current[0] = key
    sys.settrace(_trace)
    threading.settrace(_trace)


def _stop() -> None:
    sys.settrace(None)
    threading.settrace(None)  # type: ignore[arg-type]
    _current[0] = ""


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    if isinstance(collector, pytest.Module):
        _start(collector.nodeid)
    try:
        yield
    finally:
        _stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _reached[item.nodeid]  # every test run gets a key, even one that reaches no source
    _start(item.nodeid)
    try:
        yield
    finally:
        _stop()


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("APPRENTICE_REACH_OUT")
    if out:
        data = {key: {path: sorted(lines) for path, lines in files.items()} for key, files in _reached.items()}
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
