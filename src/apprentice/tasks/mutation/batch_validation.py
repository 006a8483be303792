"""Validate many python mutants with one sandboxed pytest start: the batch path of validation.

`validate_mutant` starts a fresh sandboxed `python -m pytest` per mutant (about a second of
interpreter, pytest and sandbox start-up each). `validate_batch` runs ONE sandboxed command per
batch, `python -m apprentice.tasks.mutation.in_sandbox.batch_runner`, that collects the tests once and forks per
mutant (see `batch_runner`); the verdicts are the same records with the same full
fail_to_pass / pass_to_pass lists. Everything a mutant executes still runs inside the sandbox.

A mutant goes to its own per-mutant run instead when swapping one code object cannot reproduce
it: its edit is outside the function's body (a default value, a decorator), its function ran
while a test module was imported, or the runner finds no live function to patch. A mutant that
kills the batch process is judged alone the same way and the batch restarts after it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from apprentice.languages.language import TestCase
from apprentice.sandbox import Limits
from apprentice.sandbox.workspace import SANDBOX_DIR
from apprentice.tasks.mutation.engine import Mutant
from apprentice.tasks.mutation.validation import (
    TIMEOUT_FACTOR,
    Baseline,
    Verdict,
    WorkerWorkspace,
    mutated_source,
    selected_tests,
    validate_mutant,
    verdict_from_outcomes,
)

BATCH_RUNNER = "apprentice.tasks.mutation.in_sandbox.batch_runner"
# A forked child starts with pytest and the tests already imported: half a second covers the
# fork (milliseconds) on a loaded machine; the rest of the budget scales with the tests' clean
# (traced, so slower) time, as on the per-mutant path.
FORK_STARTUP_S = 0.5
BATCH_STARTUP_S = 60.0  # interpreter, pytest and collection, once per batch
BATCHED_LANGUAGES = frozenset({"python"})
# Mutants per batch process: its start-up (~1 s: sandbox, interpreter, pytest, collection) spread
# thin, yet verdicts (and the --max check) still arrive every few seconds.
BATCH_SIZE, MIN_BATCH_SIZE = 64, 8


@dataclass(frozen=True)
class _Job:
    index: int  # position in the caller's list
    mutant: Mutant
    selected: tuple[str, ...]
    timeout_s: float
    first_line: int  # of the mutated function, decorators included (its code object's first line)


def batchable(mutant: Mutant, baseline: Baseline, repo: Path) -> bool:
    """Whether a code-object swap in an already-imported process reproduces `mutant` exactly."""
    if mutant.language not in BATCHED_LANGUAGES or baseline.coverage is None:
        return False
    span = baseline.coverage.span_for(mutant, repo)
    return span is not None and span.in_body(mutant) and not baseline.coverage.reached_on_import(mutant, repo)


def batches(mutants: list[Mutant], language: str, size: int = BATCH_SIZE) -> list[list[Mutant]]:
    """The units of work: python, up to `size` mutants of one file each (one collection of its
    tests), the files taken in turn so a capped run still spreads over them; else one mutant each."""
    if language not in BATCHED_LANGUAGES:
        return [[mutant] for mutant in mutants]
    by_file: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        by_file.setdefault(mutant.path, []).append(mutant)
    slices = [[ms[start:start + size] for start in range(0, len(ms), size)] for ms in by_file.values()]
    return [chunks[rank] for rank in range(max(map(len, slices), default=0)) for chunks in slices if rank < len(chunks)]


def batch_size(pending: list[Mutant], workers: int, max_tasks: int | None) -> int:
    """Mutants per batch: at most BATCH_SIZE, at least two batches per worker (the last one
    does not leave the others idle), and under a cap about `max_tasks` over the files, so that the
    first batch of every file together already reach the cap (a spread over the files)."""
    size = min(BATCH_SIZE, -(-len(pending) // (2 * workers)))
    if max_tasks is not None:
        files = len({mutant.path for mutant in pending})
        size = min(size, max(MIN_BATCH_SIZE, -(-max_tasks // max(1, files))))
    return max(1, size)


def validate_batch(worker: WorkerWorkspace, mutants: list[Mutant], baseline: Baseline) -> list[Verdict]:
    """The verdicts of `mutants`, in order: batched where `batchable`, one run each otherwise."""
    verdicts: dict[int, Verdict] = {}
    jobs = []
    for index, mutant in enumerate(mutants):
        selected = selected_tests(mutant, baseline, worker.repo)
        if not selected:
            verdicts[index] = Verdict(mutant, "uncovered")
        elif batchable(mutant, baseline, worker.repo):
            clean_time = sum(baseline.durations.get(test, 0.0) for test in selected)
            span = baseline.coverage.span_for(mutant, worker.repo)
            jobs.append(_Job(index, mutant, selected, FORK_STARTUP_S + TIMEOUT_FACTOR * clean_time, span.first))
        else:
            verdicts[index] = validate_mutant(worker, mutant, baseline)
    _run_jobs(worker, jobs, baseline, verdicts)
    return [verdicts[index] for index in range(len(mutants))]


def _run_jobs(worker: WorkerWorkspace, jobs: list[_Job], baseline: Baseline, verdicts: dict[int, Verdict]) -> None:
    """Batch after batch until every job has a verdict; the job a dead batch was on runs alone."""
    fruitless = 0
    while jobs:
        records = _run_batch(worker, jobs)
        for job, record in zip(jobs, records, strict=False):
            verdicts[job.index] = _verdict(worker, job, record, baseline)
        fruitless = 0 if records else fruitless + 1
        rest = jobs[len(records):]
        if rest and fruitless >= 2:  # the batch process cannot start here: one run per mutant
            for job in rest:
                verdicts[job.index] = validate_mutant(worker, job.mutant, baseline)
            return
        if rest:  # the batch died on rest[0]: that mutant alone, then a fresh batch for the others
            verdicts[rest[0].index] = validate_mutant(worker, rest[0].mutant, baseline)
        jobs = rest[1:]


def _run_batch(worker: WorkerWorkspace, jobs: list[_Job]) -> list[dict]:
    """One sandboxed batch process over `jobs`; the records it finished, in job order."""
    folder = worker.path / SANDBOX_DIR / f"batch-{secrets.token_hex(6)}"
    folder.mkdir()
    jobs_path, results_path = folder / "jobs.json", folder / "results.jsonl"
    test_files = sorted({test.partition("::")[0] for job in jobs for test in job.selected})
    spec = {"test_files": test_files, "mutants": [_spec(worker, job) for job in jobs]}
    jobs_path.write_text(json.dumps(spec), encoding="utf-8")
    wall = BATCH_STARTUP_S + sum(job.timeout_s + FORK_STARTUP_S for job in jobs)
    limits = Limits(wall_seconds=wall, cpu_seconds=int(wall) + 1)
    try:
        worker.run((worker.tools["python"], "-m", BATCH_RUNNER, str(jobs_path), str(results_path)), limits)
        lines = results_path.read_text(encoding="utf-8").splitlines() if results_path.is_file() else []
    finally:
        worker.restore()  # the mutated file, if the batch died mid-mutant, and anything tests wrote
    # Only complete lines count: a batch killed mid-write leaves a torn last one.
    return [json.loads(line) for line in lines if line.endswith("}")]


def _spec(worker: WorkerWorkspace, job: _Job) -> dict[str, object]:
    mutant = job.mutant
    source = mutated_source((worker.repo / mutant.path).read_bytes().decode("utf-8"), mutant)
    return {"path": mutant.path, "name": mutant.function, "line": job.first_line, "source": source,
            "tests": list(job.selected), "timeout_s": job.timeout_s}


def _verdict(worker: WorkerWorkspace, job: _Job, record: dict, baseline: Baseline) -> Verdict:
    """The Verdict of one runner record (`unpatchable`: the mutant runs alone instead)."""
    status, duration = record["status"], record.get("duration_s", 0.0)
    if status == "unpatchable":
        return validate_mutant(worker, job.mutant, baseline)
    if status == "timeout":
        return Verdict(job.mutant, "timeout", duration_s=duration, detail=record["detail"], batched=True)
    if status != "ran":
        return Verdict(job.mutant, "broken", duration_s=duration, detail=record["detail"], batched=True)
    outcome = {test: TestCase(test, case["status"], case["duration_s"], case["message"])
               for test, case in record["cases"].items()}
    return replace(verdict_from_outcomes(job.mutant, job.selected, outcome, batched=True), duration_s=duration)
