"""The `Language` record: everything grading needs to know about one language, as data.

A language is data, not a class tree: one frozen dataclass filled in by one module per language
(`python.py`, `rust.py`, ...), whose parsers and command builders are plain functions. Adding a
language is adding one such module and one line in `registry/registry.py`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from apprentice.languages.mutation_rules import MutationRules

# Per-test verdicts as the test runner itself reported them. Only "passed" counts as a pass.
TEST_STATUSES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class TestCase:
    """One test's verdict from the runner's own report: `id` in the task's id format."""

    __test__ = False  # a record, not a pytest test class

    id: str
    status: str  # one of TEST_STATUSES, or "missing" when the report has no entry for a required id
    duration_s: float = 0.0
    message: str = ""  # the runner's failure text, cut to a few KiB


@dataclass(frozen=True)
class Tool:
    """An executable a step needs, and the one-line way to install it when it is missing."""

    executable: str
    install_hint: str


@dataclass(frozen=True)
class RunContext:
    """What a command builder may use: the workspace, the private report path, the tools found."""

    workspace: Path
    report_path: Path  # random name chosen per run, deleted after reading: a patch cannot plant one
    test_ids: tuple[str, ...]
    tools: Mapping[str, str]  # executable name -> absolute path, for every tool that was found
    changed_files: tuple[str, ...] = ()  # workspace-relative paths the patch touched (lint scope)
    # The unpatched tree whose own runner settings may be carried over (None: the workspace's own,
    # for a tree the caller trusts); a grade never reads runner configuration from the patched tree.
    original: Path | None = None


@dataclass(frozen=True)
class Canary:
    """Extra tests written next to the real ones, named at random per run: those in `must_fail` must
    fail and those in `must_pass` must pass (report ids), or the reporting was forged."""

    files: Mapping[str, str]  # workspace-relative path -> content
    must_fail: tuple[str, ...]
    must_pass: tuple[str, ...]
    arguments: tuple[str, ...]  # appended to the test command (last, so they run after the real tests)


Command = tuple[str, ...]
# (exit status, stdout, report cases, required ids) -> (tamper flags, why the run is incomplete or '')
RunCheck = Callable[[int | None, str, tuple[TestCase, ...], tuple[str, ...]], tuple[tuple[str, ...], str]]


@dataclass(frozen=True)
class Language:
    """One language as data: files, grammar, toolchain, build/test/lint commands, report reader.

    Command builders take a `RunContext` and return an argv tuple (or `None`: the step does not
    apply). `read_tests(stdout, report_path)` turns the runner's own report into `TestCase`s;
    `test_key(task_test_id)` maps a task's test id onto the ids `read_tests` returns.
    `mutation` holds the tree-sitter rules the generic mutation operators apply (tasks/mutation/engine.py).
    """

    name: str
    extensions: tuple[str, ...]
    grammar: str  # the tree-sitter grammar's Python module
    toolchain: tuple[Tool, ...]  # missing any of these: the whole grade is skipped, with the hint
    build_command: Callable[[RunContext], Command | None]
    test_command: Callable[[RunContext], Command]
    read_tests: Callable[[str, Path], tuple[TestCase, ...]]
    lint_commands: Callable[[RunContext], tuple[Command, ...]]
    lint_tools: tuple[Tool, ...]  # missing any of these: lint is reported skipped, never clean
    test_surface: tuple[str, ...]  # fnmatch globs of paths a patch may not touch
    # (file, dotted keys): config files a patch may edit, except these tables (e.g. tool.pytest)
    structured_surface: tuple[tuple[str, tuple[str, ...]], ...] = ()
    build_outputs: tuple[
        str, ...
    ] = ()  # top-level dirs the build writes (compiled tests are not the surface)
    # (regex, reason) searched in the lines a patch adds to non-test files: hacks no runner can see
    tamper_patterns: tuple[tuple[str, str], ...] = ()
    # markers in failure text or output that a sandbox limit (memory, processes) was hit
    limit_markers: tuple[str, ...] = ()
    # regex with {name}: a line claiming a pass that this runner, as invoked, never prints itself
    pass_line: str = ""
    test_key: Callable[[str], str] = lambda test_id: test_id
    environment: Callable[[], Mapping[str, str]] = lambda: {}
    canary: Callable[[RunContext], Canary] | None = None  # the run's canary tests; None: none for this runner
    # Cross-checks the runner's channels (report, summary, exit status) of a run that ended by itself.
    check_run: RunCheck = lambda returncode, stdout, cases, test_ids: ((), "")
    extra_tool_dirs: Callable[[], tuple[Path, ...]] = lambda: ()
    notes: tuple[str, ...] = field(default=())
    mutation: MutationRules | None = None  # None: no mutation operators for this language


def find_tool(language: Language, executable: str) -> str | None:
    """Absolute path of `executable`: the language's own tool dirs first, then PATH; `None` if absent."""
    for directory in language.extra_tool_dirs():
        candidate = directory / executable
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(executable)


def missing_tools(language: Language, tools: tuple[Tool, ...]) -> tuple[str, ...]:
    """One clear message per missing tool: `rust: cargo not found — install it with ...`."""
    return tuple(
        f"{language.name}: {tool.executable} not found — install it with {tool.install_hint}"
        for tool in tools
        if find_tool(language, tool.executable) is None
    )


def resolve_tools(language: Language) -> dict[str, str]:
    """Every toolchain and lint tool of `language` that is installed, name -> absolute path."""
    found = {}
    for tool in (*language.toolchain, *language.lint_tools):
        path = find_tool(language, tool.executable)
        if path is not None:
            found[tool.executable] = path
    return found


def cache_dir() -> Path:
    """Where toolchain caches shared between grades live (build caches, node tools)."""
    return Path(os.environ.get("APPRENTICE_CACHE_DIR", Path.home() / ".cache" / "apprentice"))
