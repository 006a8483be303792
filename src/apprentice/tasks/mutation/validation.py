"""Validate mutants by running the repository's own tests in the sandbox.

A mutant is *killed* when the clean repository's selected tests pass and the mutant makes at
least one of them fail (`fail_to_pass`) while the others still pass (`pass_to_pass`). Anything
else is dropped and counted: *survived* (every selected test still passes), *uncovered* (no
test reaches the mutated function: survived without a run), *timeout* (neither killed nor
survived), *broken* (the mutant does not build, or the runner wrote no report at all).

Each pool worker owns one private workspace for the whole campaign: a mutant is applied in
place, its tests run through the sandbox, and the workspace is put back to the clean snapshot
(the mutated file, and anything the tests changed) before the next mutant.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from apprentice.errors import ValidationError
from apprentice.grading.workspace import drop_history
from apprentice.languages.language import Language, RunContext, TestCase, resolve_tools
from apprentice.sandbox import Limits, SandboxResult, create_workspace, remove_workspace, run_sandboxed
from apprentice.sandbox.workspace import SANDBOX_DIR
from apprentice.tasks.mutation.coverage import REACH_PLUGIN, CoverageMap, read_reach
from apprentice.tasks.mutation.engine import Mutant

VERDICTS = ("killed", "survived", "uncovered", "timeout", "broken")
BASELINE_LIMITS = Limits(wall_seconds=900, cpu_seconds=1800)  # the traced clean run, once
# A mutant may make a test slow (a loop that runs longer); 5x the clean time plus the runner's
# start-up separates "slower" from "does not end".
TIMEOUT_FACTOR, TIMEOUT_STARTUP_S = 5.0, 10.0
_SKIPPED_IN_RESTORE = frozenset({SANDBOX_DIR, "__pycache__", ".pytest_cache", ".git"})
# Python's build step is a byte-compile; the mutation engine already re-parsed every mutant.
_BUILD_IS_PARSE = frozenset({"python"})


@dataclass(frozen=True)
class Baseline:
    """The clean repository's test run: who passes (the only tests a mutant is judged by)."""

    passing: tuple[str, ...]
    failing: tuple[str, ...]  # failing, erroring or skipped on the clean tree: reported, never used
    durations: dict[str, float]
    duration_s: float
    coverage: CoverageMap | None  # None: the language has no tracer; every passing test is run


@dataclass(frozen=True)
class Verdict:
    """What one mutant did to its selected tests."""

    mutant: Mutant
    status: str  # one of VERDICTS
    fail_to_pass: tuple[str, ...] = ()
    pass_to_pass: tuple[str, ...] = ()
    failures: tuple[TestCase, ...] = ()  # the fail_to_pass tests with the runner's messages
    duration_s: float = 0.0
    detail: str = ""  # why broken, or which limit
    batched: bool = False  # judged in a batch process (`batch_validate`), not by its own test run


class WorkerWorkspace:
    """One worker's private copy of the clean repository, reset to it after every mutant."""

    def __init__(self, repo: Path, language: Language, parent: Path | None = None):
        self.repo, self.language = Path(repo), language
        self.path = create_workspace(self.repo, parent)
        drop_history(self.path)
        self.tools = resolve_tools(language)
        self._clean = self._listing()

    def close(self) -> None:
        """Delete the workspace."""
        remove_workspace(self.path)

    def run(self, command: tuple[str, ...], limits: Limits, env: dict[str, str] | None = None) -> SandboxResult:
        """`command` in the workspace, through the sandbox, with the language's environment."""
        environment = {**self.language.environment(), "GIT_CEILING_DIRECTORIES": str(self.path.parent),
                       **(env or {})}
        return run_sandboxed(command, self.path, limits, env=environment)

    def context(self, test_ids: tuple[str, ...]) -> RunContext:
        """A run context with a fresh private report path under `.sandbox/`."""
        reports = self.path / SANDBOX_DIR / "reports"
        reports.mkdir(exist_ok=True)
        return RunContext(self.path, reports / f"{secrets.token_hex(8)}.xml", test_ids, self.tools)

    def apply(self, mutant: Mutant) -> None:
        """Write the mutated file into the workspace (the edit is located by line, column and text)."""
        target = self.path / mutant.path
        # Bytes, not read_text/write_text: newline translation would shift the edit's offsets.
        target.write_bytes(mutated_source(target.read_bytes().decode("utf-8"), mutant).encode("utf-8"))

    def restore(self) -> None:
        """Put back every file that differs from the clean snapshot; remove files the run added."""
        current = self._listing()
        for relative, stamp in self._clean.items():
            if current.get(relative) != stamp:
                # copy2 keeps the clean file's mtime, so the restored file matches the listing again.
                shutil.copy2(self.repo / relative, self.path / relative)
        for relative in current.keys() - self._clean.keys():
            (self.path / relative).unlink()

    def _listing(self) -> dict[str, tuple[int, int]]:
        listing = {}
        skipped = _SKIPPED_IN_RESTORE | set(self.language.build_outputs)
        for directory, subdirectories, files in os.walk(self.path):
            subdirectories[:] = [name for name in subdirectories if name not in skipped]
            for name in files:
                stat = os.stat(os.path.join(directory, name))
                relative = os.path.relpath(os.path.join(directory, name), self.path)
                listing[relative] = (stat.st_size, stat.st_mtime_ns)
        return listing


def mutated_source(text: str, mutant: Mutant) -> str:
    """`text` with the mutant's edit applied (located by line, 1-based column and original text)."""
    offset = 0
    for _ in range(mutant.line - 1):
        offset = text.index("\n", offset) + 1
    start = offset + mutant.column - 1
    if text[start:start + len(mutant.original)] != mutant.original:
        raise ValidationError(f"mutant of {mutant.path}:{mutant.line} does not match the clean file; "
                              f"generate mutants from the same repository snapshot")
    return text[:start] + mutant.replacement + text[start + len(mutant.original):]


def run_tests(worker: WorkerWorkspace, test_ids: tuple[str, ...], limits: Limits,
              env: dict[str, str] | None = None) -> tuple[SandboxResult, tuple[TestCase, ...], str]:
    """Build (where building is more than parsing), then run `test_ids`; (last result, cases, build error)."""
    language = worker.language
    context = worker.context(test_ids)
    if language.name not in _BUILD_IS_PARSE:
        build_command = language.build_command(context)
        if build_command is not None:
            built = worker.run(build_command, limits, env)
            if not built.passed:
                reason = "build timed out" if built.timed_out else f"build failed (exit {built.returncode})"
                return built, (), reason
    result = worker.run(language.test_command(context), limits, env)
    try:
        cases = language.read_tests(result.stdout, context.report_path)
    finally:
        context.report_path.unlink(missing_ok=True)
    return result, cases, ""


def run_baseline(worker: WorkerWorkspace, limits: Limits = BASELINE_LIMITS) -> Baseline:
    """Run the whole clean suite once (python: traced, for the coverage map) and sort its tests."""
    language = worker.language
    traced = language.name == "python"
    reach_out = worker.path / SANDBOX_DIR / "reach.json"
    env = {"APPRENTICE_REACH_ROOT": str(worker.path), "APPRENTICE_REACH_OUT": str(reach_out)} if traced else None
    started = time.monotonic()
    test_ids = ("-p", REACH_PLUGIN) if traced else ()
    result, cases, build_error = run_tests(worker, test_ids, limits, env)
    if build_error or result.timed_out or not cases:
        why = build_error or ("timed out" if result.timed_out else "no test results were reported")
        raise ValidationError(f"the clean repository's test suite does not run ({why}); output tail:\n"
                              f"{(result.stdout + result.stderr)[-1500:]}\nfix the repository or its tests first")
    coverage = read_reach(reach_out) if traced and reach_out.is_file() else None
    worker.restore()
    statuses = _statuses(language, cases, coverage)
    passing = tuple(test for test, case in statuses.items() if case.status == "passed")
    failing = tuple(test for test, case in statuses.items() if case.status != "passed")
    durations = {test: case.duration_s for test, case in statuses.items()}
    return Baseline(passing, failing, durations, time.monotonic() - started, coverage)


def _statuses(language: Language, cases: tuple[TestCase, ...], coverage: CoverageMap | None) -> dict[str, TestCase]:
    """Test id (in the task's id format) -> its clean result."""
    by_key = {case.id: case for case in cases}
    if coverage is None:
        return by_key
    # pytest: the tasks name tests by node id; the JUnit report by classname::name.
    return {test: by_key.get(language.test_key(test), TestCase(test, "missing")) for test in coverage.tests}


def selected_tests(mutant: Mutant, baseline: Baseline, repo: Path) -> tuple[str, ...]:
    """The clean-passing tests that reach the mutant's function (all clean-passing ones without a map)."""
    if baseline.coverage is None:
        return baseline.passing
    passing = set(baseline.passing)
    return tuple(test for test in baseline.coverage.tests_for(mutant, repo) if test in passing)


def validate_mutant(worker: WorkerWorkspace, mutant: Mutant, baseline: Baseline) -> Verdict:
    """Apply `mutant` in the worker's workspace, run its selected tests, judge, restore."""
    selected = selected_tests(mutant, baseline, worker.repo)
    if not selected:
        return Verdict(mutant, "uncovered")
    clean_time = sum(baseline.durations.get(test, 0.0) for test in selected)
    wall = TIMEOUT_STARTUP_S + TIMEOUT_FACTOR * (clean_time if baseline.coverage else baseline.duration_s)
    limits = Limits(wall_seconds=wall, cpu_seconds=int(wall) + 1)
    started = time.monotonic()
    worker.apply(mutant)
    try:
        result, cases, build_error = run_tests(worker, selected, limits)
    finally:
        worker.restore()
    verdict = judge(mutant, worker.language, selected, result, cases, build_error)
    return replace(verdict, duration_s=time.monotonic() - started)


def judge(mutant: Mutant, language: Language, selected: tuple[str, ...], result: SandboxResult,
          cases: tuple[TestCase, ...], build_error: str = "") -> Verdict:
    """The verdict from the runner's per-test report for the selected tests."""
    if build_error:
        return Verdict(mutant, "broken", detail=build_error)
    if result.timed_out:
        return Verdict(mutant, "timeout", detail=f"killed by the wall clock after {result.duration_s:.1f}s")
    if not cases:
        return Verdict(mutant, "broken", detail=f"no test report (exit {result.returncode})")
    by_key = {case.id: case for case in cases}
    outcome = {test: by_key.get(language.test_key(test), TestCase(test, "missing")) for test in selected}
    return verdict_from_outcomes(mutant, selected, outcome)


def verdict_from_outcomes(mutant: Mutant, selected: tuple[str, ...], outcome: Mapping[str, TestCase],
                          batched: bool = False) -> Verdict:
    """killed or survived, from each selected test's outcome (a test without one counts as failing)."""
    outcome = {test: outcome.get(test, TestCase(test, "missing")) for test in selected}
    failing = tuple(test for test in selected if outcome[test].status != "passed")
    if not failing:
        return Verdict(mutant, "survived", pass_to_pass=selected, batched=batched)
    passing = tuple(test for test in selected if outcome[test].status == "passed")
    failures = tuple(replace(outcome[test], id=test) for test in failing)
    return Verdict(mutant, "killed", failing, passing, failures, batched=batched)
