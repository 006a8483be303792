"""The `run_tests` tool: the task's tests on the workspace as it is, through the sandbox and grading.

With edits in the workspace, its diff is graded exactly as the final answer will be (a fresh
copy of the snapshot, the patch applied, build, tests, lint), so what the agent sees here is
what it will be rewarded for. With no edits yet there is no patch to grade, so the snapshot's
tests run in the sandbox on a private copy, the way grading runs them.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from apprentice.agent.workspace import workspace_diff
from apprentice.grading.grade import grade
from apprentice.grading.outcome import Outcome
from apprentice.grading.workspace import drop_history
from apprentice.languages.language import RunContext, TestCase, missing_tools, resolve_tools
from apprentice.languages.registry import get_language
from apprentice.sandbox import Limits, create_workspace, remove_workspace, run_sandboxed
from apprentice.tasks.task import Task

_MESSAGE_CHARS = 600  # of each failing test's message: enough for an assertion and its values
# Passing tests are listed one by one up to this many; above it they are counted, as pytest does:
# a 150-test suite would otherwise fill the agent's context with PASSED lines that say nothing new.
_LISTED_PASSES = 10
_LISTED_LINT = 5  # lint findings shown; the rest are counted


def run_tests(workspace: Path, task: Task, selection: str | None = None, limits: Limits | None = None,
              grader: Callable[..., Outcome] = grade) -> str:
    """A report of the task's tests (only ids containing `selection`, when given) on the workspace."""
    diff = workspace_diff(workspace)
    if diff:
        return outcome_report(grader(task, diff, limits=limits), selection)
    cases, problem = _run_unchanged(workspace, task, limits or Limits())
    lines = ["no edits yet: the tests ran on the repository as given"]
    lines += [problem] if problem else []
    return "\n".join(lines + _case_lines(cases, selection))


def outcome_report(outcome: Outcome, selection: str | None = None) -> str:
    """What a grade found, in the lines an agent reads: patch, build, each test, lint, first problem."""
    if outcome.skipped:
        return f"tests cannot run on this machine: {outcome.skipped}"
    lines = [f"patch applied: {'yes' if outcome.patch_applied else 'no'}"]
    if outcome.build_ok is not None:
        lines.append(f"build: {'ok' if outcome.build_ok else 'failed'}")
    if outcome.tests:
        lines.append(f"tests: {len(outcome.tests_passed)}/{len(outcome.tests)} passed")
    lines += _case_lines(outcome.tests, selection)
    if outcome.lint_clean is not None:
        lines.append("lint: clean" if outcome.lint_clean else _lint_lines(outcome.lint_output))
    if outcome.error:
        lines.append(f"problem: {outcome.error[:2000]}")
    return "\n".join(lines)


def _lint_lines(output: str) -> str:
    """The first few lint findings, whole lines, and how many more there are."""
    findings = [line for line in output.splitlines() if line.strip()]
    shown = "\n".join(findings[:_LISTED_LINT])
    more = f"\n... and {len(findings) - _LISTED_LINT} more" if len(findings) > _LISTED_LINT else ""
    return f"lint: problems\n{shown}{more}"


def _case_lines(cases: tuple[TestCase, ...], selection: str | None) -> list[str]:
    chosen = [case for case in cases if not selection or selection in case.id]
    passed = sum(case.status == "passed" for case in chosen)
    listed = passed <= _LISTED_PASSES
    lines = [] if listed else [f"PASSED {passed} tests (not listed; a narrower selection lists them)"]
    for case in chosen:
        if case.status == "passed" and not listed:
            continue
        line = f"{case.status.upper()} {case.id}"
        if case.status != "passed" and case.message:
            line += f"\n    {case.message[:_MESSAGE_CHARS].strip()}"
        lines.append(line)
    if selection and not lines:
        lines.append(f"no test id contains {selection!r}")
    return lines


def _run_unchanged(workspace: Path, task: Task, limits: Limits) -> tuple[tuple[TestCase, ...], str]:
    language = get_language(task.language)
    missing = missing_tools(language, language.toolchain)
    if missing:
        return (), f"tests cannot run on this machine: {'; '.join(missing)}"
    copy = create_workspace(workspace)
    try:
        drop_history(copy)
        token = secrets.token_hex(8)
        report_dir = copy / f".apprentice-report-{token}"
        report_dir.mkdir()
        ids = tuple(task.fail_to_pass + task.pass_to_pass)
        context = RunContext(copy, report_dir / f"{token}.xml", ids, resolve_tools(language))
        result = run_sandboxed(language.test_command(context), copy, limits, env=language.environment())
        reported = {case.id: case for case in language.read_tests(result.stdout, context.report_path)}
        shutil.rmtree(report_dir, ignore_errors=True)
    finally:
        remove_workspace(copy)
    problem = f"tests timed out after {result.duration_s:.1f}s" if result.timed_out else ""
    cases = (reported.get(language.test_key(test_id)) for test_id in ids)
    return tuple(
        TestCase(test_id, case.status, case.duration_s, case.message) if case else TestCase(test_id, "missing")
        for test_id, case in zip(ids, cases, strict=True)
    ), problem
