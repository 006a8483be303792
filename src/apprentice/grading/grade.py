"""`grade(task, patch) -> Outcome`: patch applies -> build/check -> tests -> lint -> reward.

Every step runs in a private copy of the task's pinned snapshot, through the sandbox. Anything
wrong with the patch or the machine ends up in the Outcome (`error`, `skipped`, `tamper_flags`),
so one failing grade never stops the others.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path

from apprentice.errors import ApprenticeError
from apprentice.grading import surface
from apprentice.grading.outcome import Episode, Outcome
from apprentice.grading.patch import decode_patch, summarize_patch
from apprentice.grading.rewards import RewardConfig, composite_reward
from apprentice.grading.verdict import judge_tests, limit_hit
from apprentice.grading.workspace import apply_patch, drop_history, pinned_snapshot
from apprentice.languages.language import Language, RunContext, missing_tools, resolve_tools
from apprentice.languages.registry import get_language
from apprentice.sandbox import Limits, SandboxResult, create_workspace, remove_workspace, run_sandboxed
from apprentice.tasks.task import Task


def grade(
    task: Task,
    patch: str | bytes,
    *,
    limits: Limits | None = None,
    episode: Episode | None = None,
    config: RewardConfig | None = None,
) -> Outcome:
    """Grade `patch` (a unified diff) against `task`; the Outcome carries the reward and its parts."""
    return _rewarded(_measured(task, patch, limits or Limits()), episode, config)


class GradeMemo:
    """`grade` that runs each (task, patch) once: a gold trajectory's test run, its template twin's and the
    final grade of both apply the same patch to the same pinned snapshot. Thread-safe; counts what it ran."""

    def __init__(self) -> None:
        self._measured: dict[tuple[str, str, str], Outcome] = {}
        self._lock = threading.Lock()
        self.runs = 0
        self.reused = 0

    def grade(self, task: Task, patch: str | bytes, *, limits: Limits | None = None, episode: Episode | None = None,
              config: RewardConfig | None = None) -> Outcome:
        """As `grade`; a (task, patch, limits) graded before is not run again, only rewarded for this episode."""
        limits = limits or Limits()
        text = patch if isinstance(patch, str) else patch.decode("utf-8", errors="replace")
        key = (task.to_json(), text, repr(limits))
        with self._lock:
            measured = self._measured.get(key)
            self.reused += measured is not None
        if measured is None:
            measured = _measured(task, patch, limits)
            with self._lock:
                self._measured[key] = measured
                self.runs += 1
        return _rewarded(measured, episode, config)


def _measured(task: Task, patch: str | bytes, limits: Limits) -> Outcome:
    started = time.monotonic()
    try:
        outcome = _grade(task, patch, limits)
    except ApprenticeError as error:
        # Our own, named failures (missing repository, unknown language) are this grade's result.
        outcome = Outcome(task.id, task.language, error=str(error))
    return dataclasses.replace(outcome, timings={**outcome.timings, "total": round(time.monotonic() - started, 4)})


def _rewarded(outcome: Outcome, episode: Episode | None, config: RewardConfig | None) -> Outcome:
    episode, config = episode or Episode(), config or RewardConfig()
    outcome = dataclasses.replace(outcome, tool_calls=episode.tool_calls)
    parts = composite_reward(outcome, episode, config)
    return dataclasses.replace(outcome, reward=parts["execution"], reward_parts=parts)


def _grade(task: Task, patch: str | bytes, limits: Limits) -> Outcome:
    language = get_language(task.language)
    missing = missing_tools(language, language.toolchain)
    if missing:
        return Outcome(task.id, language.name, skipped="; ".join(missing))
    text, problem = decode_patch(patch)
    summary = summarize_patch(text) if not problem else None
    base = Outcome(task.id, language.name, reference_diff_lines=summarize_patch(task.bug).diff_lines)
    if summary is None or summary.problem:
        return dataclasses.replace(base, error=problem or summary.problem)
    base = dataclasses.replace(base, diff_lines=summary.diff_lines, files_touched=summary.files)
    source_lines = {
        path: lines for path, lines in summary.added.items() if not surface.on_test_surface(language, path)
    }
    flags = surface.surface_flags(language, summary.files) + surface.code_flags(language, source_lines)
    if flags:
        return dataclasses.replace(base, tamper_flags=flags, error="patch rejected before it was applied")
    with pinned_snapshot(task) as snapshot:
        workspace = create_workspace(snapshot)
        try:
            drop_history(workspace)
            return _grade_in_workspace(language, task, text, base, snapshot, workspace, limits)
        finally:
            remove_workspace(workspace)


def _grade_in_workspace(
    language: Language, task: Task, text: str, base: Outcome, snapshot: Path, workspace: Path, limits: Limits
) -> Outcome:
    timings: dict[str, float] = {}
    clock = time.monotonic()
    problem = apply_patch(workspace, text, base.files_touched)
    timings["apply"] = round(time.monotonic() - clock, 4)
    if problem:
        return dataclasses.replace(base, error=problem, timings=timings)
    flags = surface.structured_flags(language, snapshot, workspace, base.files_touched)
    base = dataclasses.replace(base, patch_applied=True, tamper_flags=flags)
    context = RunContext(
        workspace,
        workspace,
        tuple(task.fail_to_pass + task.pass_to_pass),
        resolve_tools(language),
        changed_files=base.files_touched,
        original=snapshot,
    )
    build = _run_step(language, context, language.build_command(context), limits, timings, "build")
    if build is not None and not build.passed:
        return dataclasses.replace(base, build_ok=False, timings=timings, error=_step_error("build", build))
    base = dataclasses.replace(base, build_ok=True)
    # Whatever the build did (a build.rs, a setup hook), the tests that judge are the pinned ones.
    surface.restore_surface(language, snapshot, workspace)
    base = _test_step(language, context, base, limits, timings)
    return _lint_step(language, context, base, limits, timings)


def _run_step(language, context, command, limits, timings, name, writable=()) -> SandboxResult | None:
    if command is None:
        return None
    clock = time.monotonic()
    env = {**language.environment(), "GIT_CEILING_DIRECTORIES": str(context.workspace.parent)}
    result = run_sandboxed(command, context.workspace, limits, env=env, writable=writable)
    timings[name] = round(timings.get(name, 0.0) + time.monotonic() - clock, 4)
    return result


def _step_error(name: str, result: SandboxResult) -> str:
    if result.timed_out:
        return f"{name} timed out after {result.duration_s:.1f}s"
    tail = (result.stderr or result.stdout).strip()[-2000:]
    return f"{name} failed (exit {result.returncode}): {tail}"


def _test_step(language: Language, context: RunContext, base: Outcome, limits: Limits, timings) -> Outcome:
    canary = language.canary(context) if language.canary else None
    for relative, content in canary.files.items() if canary else ():
        (context.workspace / relative).write_text(content, encoding="utf-8")
    # The report goes to a directory of the grader's, outside the workspace, made now and deleted right
    # after: no file of the patch is there in advance. The code under test can still write it (it runs
    # in the runner's process), which is why the language's check_run compares it with the other channels.
    report_dir = Path(tempfile.mkdtemp(prefix="apprentice-report-"))
    try:
        run_context = dataclasses.replace(
            context,
            report_path=report_dir / f"{secrets.token_hex(8)}.xml",
            test_ids=context.test_ids + (canary.arguments if canary else ()),
        )
        command = language.test_command(run_context)
        result = _run_step(language, run_context, command, limits, timings, "test", writable=(report_dir,))
        cases = language.read_tests(result.stdout, run_context.report_path)
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)
        for relative in canary.files if canary else ():
            (context.workspace / relative).unlink(missing_ok=True)
    output = f"{result.stdout}\n{result.stderr}"
    verdict = judge_tests(language, cases, output, context.test_ids, canary)
    check_flags, check_problem = ((), "")
    if canary is not None and not result.timed_out:
        check_flags, check_problem = language.check_run(result.returncode, result.stdout, cases, context.test_ids)
    limit = limit_hit(language, cases, output)
    if result.timed_out:
        problem = f"tests timed out after {result.duration_s:.1f}s"
    elif limit:
        problem = f"tests hit a sandbox limit ({limit})"
    else:
        distrust = f"the report cannot be trusted: {check_flags[0]}" if check_flags else ""
        problem = verdict.problem or check_problem or distrust
    return dataclasses.replace(
        base,
        tests=verdict.tests,
        tests_complete=not problem,
        error=problem,
        tamper_flags=base.tamper_flags + verdict.tamper_flags + tuple(check_flags),
        output_truncated=result.output_truncated,
    )


def _lint_step(language: Language, context: RunContext, base: Outcome, limits: Limits, timings) -> Outcome:
    missing = missing_tools(language, language.lint_tools)
    if missing:
        return dataclasses.replace(base, lint_skipped="; ".join(missing), timings=timings)
    outputs, clean = [], True
    for command in language.lint_commands(context):
        result = _run_step(language, context, command, limits, timings, "lint")
        clean = clean and result.passed
        outputs.append((result.stdout + result.stderr).strip())
    lint_output = "\n".join(part for part in outputs if part)[-4000:]
    return dataclasses.replace(base, lint_clean=clean, lint_output=lint_output, timings=timings)
