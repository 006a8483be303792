"""Run a tree's tests in the sandbox and compare the buggy and fixed states of a commit.

Verdicts come from the language's own per-test report (`Language.read_tests`), never from exit
codes: a test is fail-to-pass when the fixed tree's report says "passed" and the buggy tree's
report does not (failed, errored, or absent because its module no longer imports).
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from apprentice.languages.language import Language, RunContext, TestCase, resolve_tools
from apprentice.sandbox import Limits, create_workspace, remove_workspace, run_sandboxed


@dataclass(frozen=True)
class TreeRun:
    """The per-test verdicts of one tree, or why there are none to trust (`problem`)."""

    cases: tuple[TestCase, ...]
    problem: str  # '' when the report can be read; else "timed out", "no test report", ...

    def passed(self) -> frozenset[str]:
        """Ids the report says passed."""
        return frozenset(case.id for case in self.cases if case.status == "passed")


@dataclass(frozen=True)
class Comparison:
    """What the code change did to each test: the drop reason, or the two lists a Task needs."""

    reason: str | None  # a key of DROP_REASONS, None when the commit is a task
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    detail: str = ""


def run_tree_tests(language: Language, tree: Path, test_ids: tuple[str, ...], limits: Limits,
                   tools: Mapping[str, str] | None = None) -> TreeRun:
    """Build (when the language has a build step) and test a copy of `tree` inside the sandbox.

    `tools` overrides executables found on the host (a package's venv python, say).
    """
    workspace = create_workspace(tree)
    try:
        context = RunContext(workspace, workspace, test_ids, {**resolve_tools(language), **(tools or {})})
        environment = {**language.environment(), "GIT_CEILING_DIRECTORIES": str(workspace.parent)}
        build = language.build_command(context)
        if build is not None:  # rust and typescript compile their tests here; a failure shows in the report
            run_sandboxed(build, workspace, limits, env=environment)
        return _test_run(language, context, limits, environment)
    finally:
        remove_workspace(workspace)


def _test_run(language: Language, context: RunContext, limits: Limits, environment: dict[str, str]) -> TreeRun:
    token = secrets.token_hex(8)
    report_dir = context.workspace / f".apprentice-report-{token}"
    report_dir.mkdir()
    try:
        run_context = dataclasses.replace(context, report_path=report_dir / f"{token}.xml")
        result = run_sandboxed(language.test_command(run_context), context.workspace, limits, env=environment)
        cases = language.read_tests(result.stdout, run_context.report_path)
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)
    if result.timed_out:
        return TreeRun(cases, f"tests timed out after {result.duration_s:.1f}s")
    if not cases:
        tail = (result.stderr or result.stdout).strip()[-300:]
        return TreeRun(cases, f"no test report (exit {result.returncode}): {tail}")
    return TreeRun(cases, "")


def compare_runs(buggy: TreeRun, fixed: TreeRun) -> Comparison:
    """Fail-to-pass and pass-to-pass ids (report ids), or the reason the commit is no task."""
    if fixed.problem:
        return Comparison("tests_not_runnable", (), (), f"fixed tree: {fixed.problem}")
    if buggy.problem.startswith("tests timed out"):
        # A timeout proves nothing about the code change; a missing report (import error) does.
        return Comparison("tests_not_runnable", (), (), f"buggy tree: {buggy.problem}")
    before, after = buggy.passed(), fixed.passed()
    broken = sorted(before - after)
    if broken:
        return Comparison("breaks_passing_tests", (), (), f"fail after the change: {broken[:5]}")
    fail_to_pass = tuple(case.id for case in fixed.cases if case.id in after - before)
    if not fail_to_pass:
        return Comparison("no_fail_to_pass", (), (), f"{len(after)} tests pass before and after")
    pass_to_pass = tuple(case.id for case in fixed.cases if case.id in before & after)
    return Comparison(None, fail_to_pass, pass_to_pass)


def python_node_id(report_id: str, test_files: tuple[str, ...]) -> str | None:
    """The pytest node id (`tests/test_x.py::TestA::test_b`) of a JUnit id (`tests.test_x.TestA::test_b`)."""
    classname, _, name = report_id.rpartition("::")
    for path in sorted(test_files, key=len, reverse=True):
        module = path.removesuffix(".py").replace("/", ".")
        if classname == module or classname.startswith(f"{module}."):
            scopes = classname[len(module):].lstrip(".")
            return "::".join(part for part in (path, *scopes.split("."), name) if part)
    return None


def task_test_ids(language: Language, report_ids: tuple[str, ...], test_files: tuple[str, ...]) -> tuple[str, ...]:
    """Report ids in the task's id format, keeping only those `language.test_key` maps back exactly."""
    ids = []
    for report_id in report_ids:
        task_id = python_node_id(report_id, test_files) if language.name == "python" else report_id
        if task_id is not None and language.test_key(task_id) == report_id:
            ids.append(task_id)
    return tuple(ids)
