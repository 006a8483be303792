"""`apprentice tasks mutate`: mutate a repository, validate every mutant, write Tasks as JSON lines.

    run_campaign(CampaignConfig(repo=Path("stdlib"), language="python", out=Path("tasks.jsonl"), max_tasks=300))

The repository is copied once into a task repository next to the output (`<out>.repo`, a git
repository whose commits are the clean tree and one buggy commit per task); the literal repo
`stdlib` lays out the embedded standard-library corpus there instead. Every verdict is appended
to `<out>.log.jsonl` as it arrives, every task to `<out>` right before it: an interrupted run
keeps all of them, and the same command resumes with the mutants not tried yet.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from apprentice.data.records import append_line
from apprentice.errors import ApprenticeError, ValidationError
from apprentice.languages.registry import get_language
from apprentice.sandbox import SandboxFailure, SandboxPool
from apprentice.tasks import corpus
from apprentice.tasks.mutation.batch_validation import BATCHED_LANGUAGES, batch_size, batches, validate_batch
from apprentice.tasks.mutation.engine import (
    DEFAULT_MAX_PER_FUNCTION,
    SKIPPED_DIRS,
    Mutant,
    MutationStats,
    mutants_for_repo,
)
from apprentice.tasks.mutation.records import mutant_key, task_from_verdict
from apprentice.tasks.mutation.validation import (
    Baseline,
    Verdict,
    WorkerWorkspace,
    run_baseline,
    validate_mutant,
)
from apprentice.tasks.task import Task, read_tasks

STDLIB = "stdlib"  # the repo argument that means "the embedded standard-library corpus"


@dataclass(frozen=True)
class CampaignConfig:
    """One mutation campaign: which repository, which language, where to, how many, how wide."""

    repo: Path
    language: str
    out: Path
    max_tasks: int | None = None  # stop once this many tasks are in `out` (resumed ones count)
    workers: int = 2
    max_per_function: int = DEFAULT_MAX_PER_FUNCTION
    seed: int = 0


@dataclass
class CampaignCounts:
    """Running totals (an accumulator, filled while the campaign runs)."""

    total: int = 0  # mutants to try in this run
    verdicts: Counter[str] = field(default_factory=Counter)
    kept: int = 0  # tasks in the output, resumed ones included

    @property
    def tried(self) -> int:
        return sum(self.verdicts.values())


@dataclass(frozen=True)
class CampaignSummary:
    """What a campaign did: counts, the clean tests it had to skip, time, and where things went."""

    out: Path
    task_repo: Path
    counts: CampaignCounts
    resumed: int  # mutants skipped because an earlier run tried them
    failing_on_clean: tuple[str, ...]
    skipped_files: tuple[tuple[str, str], ...]
    wall_s: float
    interrupted: bool


def log_path(out: Path) -> Path:
    """Where a campaign logs every verdict (`tasks.jsonl` -> `tasks.log.jsonl`)."""
    return out.with_suffix(".log.jsonl")


def prepare_task_repo(repo: Path, out: Path) -> tuple[Path, str]:
    """The task repository for `repo` (`stdlib`: the embedded corpus) and its clean commit."""
    destination = out.with_suffix(".repo").resolve()
    if str(repo) == STDLIB:
        built = corpus.build_corpus_repo(destination)
        return built, corpus.head_commit(built)
    if not Path(repo).is_dir():
        raise ValidationError(f"repository {repo} is not a directory; pass a source tree or `{STDLIB}`")
    if not (destination / ".git").is_dir():
        shutil.copytree(repo, destination, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*SKIPPED_DIRS, ".pytest_cache", ".sandbox"))
        return destination, corpus.commit_tree(destination, f"clean tree of {Path(repo).resolve()}")
    return destination, corpus.head_commit(destination)


def interleaved(mutants: list[Mutant], seed: int = 0) -> list[Mutant]:
    """Round-robin over functions (one mutant of every function, then a second...), each round
    shuffled with `seed`: a capped run spreads over files and operators instead of exhausting
    the first file's first operator."""
    by_function: dict[tuple[str, str], list[Mutant]] = {}
    for mutant in mutants:
        by_function.setdefault((mutant.path, mutant.function), []).append(mutant)
    queues = list(by_function.values())
    order = []
    for rank in range(max((len(q) for q in queues), default=0)):
        round_ = [q[rank] for q in queues if rank < len(q)]
        random.Random(f"{seed}:{rank}").shuffle(round_)
        order += round_
    return order


def already_tried(out: Path) -> set[str]:
    """Mutant keys an earlier run of the same campaign logged or kept (a torn last line is dropped)."""
    keys = set()
    for line in _complete_lines(log_path(out)):
        keys.add(json.loads(line)["key"])
    keys.update(task.id.rsplit("-", 1)[-1] for task in iter_tasks(out))
    return keys


def _complete_lines(path: Path) -> list[str]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):  # killed mid-write: drop the torn line for good
        text = text[: text.rfind("\n") + 1]
        path.write_text(text, encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def run_campaign(config: CampaignConfig, on_progress: Callable[[CampaignCounts], None] | None = None) -> CampaignSummary:
    """Generate, validate and keep mutants of `config.repo` until done, capped or interrupted."""
    started = time.monotonic()
    language = get_language(config.language)
    task_repo, clean_commit = prepare_task_repo(config.repo, config.out)
    stats = MutationStats()
    mutants = list(mutants_for_repo(task_repo, config.language, max_per_function=config.max_per_function,
                                    seed=config.seed, stats=stats))
    if not mutants:
        raise ValidationError(f"no mutants in {config.repo} for {config.language}: no parseable "
                              f"{config.language} functions outside the tests ({len(stats.skipped_files)} files skipped)")
    tried = already_tried(config.out)
    pending = [m for m in interleaved(mutants, config.seed) if mutant_key(m) not in tried]
    counts = CampaignCounts(total=len(pending), kept=len(_complete_lines(config.out)))
    workers = [WorkerWorkspace(task_repo, language) for _ in range(max(1, config.workers))]
    try:
        baseline = run_baseline(workers[0])
        if not baseline.passing:
            raise ValidationError(f"no test of {config.repo} passes on the clean tree "
                                  f"({len(baseline.failing)} fail); there is nothing to validate against")
        recorder = _Recorder(config, task_repo, clean_commit, counts, on_progress)
        interrupted = _validate_all(pending, baseline, workers, recorder, config)
    finally:
        for worker in workers:
            worker.close()
    return CampaignSummary(config.out, task_repo, counts, len(mutants) - len(pending), baseline.failing,
                           tuple(stats.skipped_files), time.monotonic() - started, interrupted)


def _validate_all(pending: list[Mutant], baseline: Baseline, workers: list[WorkerWorkspace],
                  recorder: _Recorder, config: CampaignConfig) -> bool:
    """Validate `pending` through the sandbox pool, one private workspace per worker; True on Ctrl-C."""
    free: queue.Queue[WorkerWorkspace] = queue.Queue()
    for worker in workers:
        free.put(worker)
    size = batch_size(pending, len(workers), config.max_tasks)

    def one(batch: list[Mutant]) -> list[Verdict] | None:
        if recorder.stop.is_set():
            return None  # capped or interrupted: the rest of the queue drains without running
        worker = free.get()
        try:
            if config.language in BATCHED_LANGUAGES:
                verdicts = validate_batch(worker, batch, baseline)
            else:
                verdicts = [validate_mutant(worker, mutant, baseline) for mutant in batch]
        finally:
            free.put(worker)
        recorder.submit(verdicts)
        return verdicts

    with SandboxPool(workers=len(workers)) as pool, recorder.writing():
        try:
            results = pool.map(one, batches(pending, config.language, size))
        except KeyboardInterrupt:
            recorder.stop.set()
            return True
    failures = [result for result in results if isinstance(result, SandboxFailure)]
    if failures:
        raise ValidationError(f"{len(failures)} batches of mutants could not be validated; first: {failures[0]}\n"
                              f"{failures[0].traceback}")
    return False


class _Recorder:
    """Appends verdicts and tasks as they arrive, on its own thread: a task's buggy commit costs
    a handful of git processes, which the pool's workers should not wait for between batches."""

    def __init__(self, config: CampaignConfig, task_repo: Path, clean_commit: str, counts: CampaignCounts,
                 on_progress: Callable[[CampaignCounts], None] | None):
        self.config, self.task_repo, self.clean_commit = config, task_repo, clean_commit
        self.counts, self.on_progress = counts, on_progress
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._inbox: queue.Queue[list[Verdict] | None] = queue.Queue()
        self._promised = counts.kept  # tasks kept plus killed verdicts submitted but not written yet
        self._error: BaseException | None = None
        if config.max_tasks is not None and counts.kept >= config.max_tasks:
            self.stop.set()

    def submit(self, verdicts: list[Verdict]) -> None:
        """Queue a batch's verdicts for writing; stop the pool once enough kills are on their way."""
        with self._lock:
            self._promised += sum(1 for verdict in verdicts if verdict.status == "killed")
            if self.config.max_tasks is not None and self._promised >= self.config.max_tasks:
                self.stop.set()
        self._inbox.put(verdicts)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Run the writer thread for the duration; every submitted verdict is written on exit."""
        thread = threading.Thread(target=self._drain, name="campaign-recorder", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._inbox.put(None)
            thread.join()
        if self._error is not None:
            raise ValidationError(f"writing a verdict or task failed: {self._error}") from self._error

    def _drain(self) -> None:
        while (verdicts := self._inbox.get()) is not None:
            if self._error is not None:
                continue  # keep draining so that the pool's threads never block on a full inbox
            try:
                for verdict in verdicts:
                    self.record(verdict)
            except (OSError, ValueError, ApprenticeError) as error:  # git, the disk, a task record
                self._error = error
                self.stop.set()

    def record(self, verdict: Verdict) -> None:
        with self._lock:
            status = verdict.status
            if status == "killed" and not self._full():
                task = task_from_verdict(verdict, self.task_repo, self.clean_commit)
                append_line(self.config.out, task.to_json())
                self.counts.kept += 1
            elif status == "killed":
                status = "killed-over-cap"  # validated, but the run already holds --max tasks
            append_line(log_path(self.config.out), json.dumps(_log_entry(verdict, status)))
            self.counts.verdicts[verdict.status] += 1
            if self._full():
                self.stop.set()
            if self.on_progress is not None:
                self.on_progress(self.counts)

    def _full(self) -> bool:
        return self.config.max_tasks is not None and self.counts.kept >= self.config.max_tasks


def _log_entry(verdict: Verdict, status: str) -> dict[str, object]:
    mutant = verdict.mutant
    return {"key": mutant_key(mutant), "status": status, "path": mutant.path, "function": mutant.function,
            "operator": mutant.operator, "line": mutant.line, "failing": len(verdict.fail_to_pass),
            "duration_s": round(verdict.duration_s, 3), "detail": verdict.detail, "batched": verdict.batched}


def iter_tasks(path: Path) -> Iterator[Task]:
    """The tasks of a JSON-lines file, in order: none before it is written, a torn last line dropped."""
    if _complete_lines(path):  # drops a torn last line for good before the strict read
        yield from read_tasks(path)
