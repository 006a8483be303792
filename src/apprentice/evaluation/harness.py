"""Run an adapter (or a base, or an endpoint) on held-out tasks and write results.jsonl + metrics.json.

    summary = evaluate(tasks, backend_factory, out_dir, stamp, attempts=4, workers=2)

Each (task, attempt) is one `run_episode` in its own sandboxed workspace; attempt 0 is greedy,
later attempts sample at `temperature` with their own seed (pass@k needs several samples). A row
is appended to results.jsonl and fsync'd as soon as its episode ends, so a killed evaluation
resumes: a rerun with the same stamp (adapter, base hash, task-set hash) skips the rows already
there; a rerun with another stamp is refused rather than mixing two evaluations in one file.

Episodes run on a pool of `workers` threads. The model call is the bottleneck and grading runs
in subprocess sandboxes, so while one worker generates, the others grade. With a local model the
running episodes' greedy turns are decoded together, one batch per round (`eval_cli.local_factory`,
`agent.batching`); sampled attempts generate alone, which keeps per-call sampling seeds
reproducible. A backend with a `close()` is closed when its episode ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from apprentice.agent.backends import Backend, Reply
from apprentice.agent.loop import LoopConfig, run_episode
from apprentice.agent.tools import ToolBox
from apprentice.agent.trajectory import Trajectory
from apprentice.agent.workspace import episode_workspace, workspace_diff
from apprentice.artifacts import METRICS_FILE, atomic_write_json, ensure_writable
from apprentice.data.records import append_line
from apprentice.errors import ApprenticeError, BackendError, EvaluationError
from apprentice.evaluation import regression
from apprentice.evaluation.hallucination import check_patch
from apprentice.evaluation.metrics import compute_metrics, iterations_to_green
from apprentice.evaluation.report_card import episode_rungs, report_card
from apprentice.evaluation.stamp import STAMP_FILE, EvalStamp
from apprentice.grading.workspace import pinned_snapshot
from apprentice.tasks.task import Task

RESULTS_FILE = "results.jsonl"
SAMPLING_TEMPERATURE = 0.7  # SPEC §2's GRPO sampling temperature: the spread the model trains on
RETRIES, RETRY_BACKOFF_S = 3, 2.0  # waits 2, 4, 8 s: long enough for a server restart to show
_MUTATING_TOOLS = frozenset({"apply_patch", "write_file"})

# (temperature, seed) -> a backend for one episode. Cheap to call: it should share a loaded model.
BackendFactory = Callable[[float, int], Backend]


@dataclass(frozen=True)
class EvalSummary:
    """Where the evaluation wrote, its metrics.json content, and how many attempts ran now vs were reused."""

    out_dir: Path
    metrics: dict
    ran: int
    reused: int
    seconds: float

    @property
    def skipped(self) -> bool:
        """True when every attempt was already on disk (a resumed run played no episode)."""
        return self.ran == 0 and self.reused > 0


def evaluate(tasks: list[Task], backend_factory: BackendFactory, out_dir: Path, stamp: EvalStamp,
             attempts: int = 1, workers: int = 1, loop: LoopConfig | None = None,
             production_metrics: Path | None = None, on_row: Callable[[dict], None] | None = None) -> EvalSummary:
    """Evaluate every task `attempts` times; write results.jsonl and metrics.json under `out_dir`."""
    started = time.monotonic()
    language = _check_inputs(tasks, attempts, workers)
    done = _resume(out_dir, stamp)
    jobs = [(task, attempt) for task in tasks for attempt in range(attempts) if (task.id, attempt) not in done]
    failure = _run_jobs(jobs, backend_factory, loop or LoopConfig(), out_dir / RESULTS_FILE, workers, on_row)
    rows = [row for row in read_rows(out_dir / RESULTS_FILE) if row["attempt"] < attempts]
    if failure is not None:
        (task, attempt), error = failure
        raise EvaluationError(f"attempt {attempt} of task '{task.id}' failed: {error}; the {len(rows)} finished "
                              f"attempts are kept in {out_dir / RESULTS_FILE}: fix the cause and rerun to resume") from error
    metrics = metrics_document(rows, stamp, language, attempts, out_dir, production_metrics)
    atomic_write_json(out_dir / METRICS_FILE, metrics)
    return EvalSummary(out_dir, metrics, len(jobs), len(done), round(time.monotonic() - started, 3))


def metrics_document(rows: list[dict], stamp: EvalStamp, language: str, attempts: int, out_dir: Path,
                     production_metrics: Path | None) -> dict:
    """The metrics.json of `rows`: SPEC §7 metrics with targets, and regressions vs base and production."""
    metrics = compute_metrics(rows, language, attempts)
    flat = regression.flatten({"metrics": metrics})
    base_file = out_dir.parent / "base" / METRICS_FILE
    against_base = _against(flat, base_file) if stamp.version != "base" else []
    rewards = [row["reward"] for row in rows if isinstance(row.get("reward"), int | float)]
    mean_reward = round(sum(rewards) / len(rewards), 4) if rewards else None
    return {**asdict(stamp), "tasks": len({row["task_id"] for row in rows}), "attempts": attempts,
            "metrics": metrics, "mean_reward": mean_reward, "report_card": report_card(rows),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "regressions": {"against_base": against_base, "against_production": _against(flat, production_metrics)}}


def read_rows(results: Path) -> list[dict]:
    """The rows of a results.jsonl (empty when missing)."""
    if not results.exists():
        return []
    return [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_inputs(tasks: list[Task], attempts: int, workers: int) -> str:
    if not tasks:
        raise EvaluationError("the task set is empty; pass a tasks file with at least one task (apprentice tasks ...)")
    if attempts < 1 or workers < 1:
        raise EvaluationError(f"attempts={attempts} and workers={workers} must both be at least 1")
    languages = sorted({task.language for task in tasks})
    if len(languages) > 1:
        raise EvaluationError(f"the task set mixes languages {languages}; evaluate one language at a time")
    gone = [f"'{task.id}' ({task.repo.path})" for task in tasks if not Path(task.repo.path).is_dir()]
    if gone:
        raise EvaluationError(f"repository missing for task(s) {', '.join(gone[:3])}{' ...' if len(gone) > 3 else ''}; "
                              "restore it or rebuild the task set")
    return languages[0]


def _resume(out_dir: Path, stamp: EvalStamp) -> set[tuple[str, int]]:
    """(task_id, attempt) pairs already in results.jsonl; EvaluationError when they belong to another stamp."""
    ensure_writable(out_dir)
    stamp_file, results = out_dir / STAMP_FILE, out_dir / RESULTS_FILE
    if stamp_file.exists():
        previous = json.loads(stamp_file.read_text(encoding="utf-8"))
        if previous != asdict(stamp):
            raise EvaluationError(
                f"{out_dir} holds results of another evaluation ({_describe(previous)}), not of this one "
                f"({_describe(asdict(stamp))}); delete {out_dir} or evaluate under another version label")
    elif results.exists():
        raise EvaluationError(f"{results} exists without {STAMP_FILE}, so its origin is unknown; delete {out_dir} and rerun")
    atomic_write_json(stamp_file, asdict(stamp))
    _drop_torn_line(results)
    return {(row["task_id"], row["attempt"]) for row in read_rows(results)}


def _describe(stamp: dict) -> str:
    return (f"adapter {stamp.get('adapter')}, base {str(stamp.get('base_hash'))[:19]}, "
            f"tasks {str(stamp.get('task_set_hash'))[:19]}")


def _drop_torn_line(results: Path) -> None:
    """A kill during a write can leave half a line at the end: cut the file back to its last full line."""
    if not results.exists():
        return
    data = results.read_bytes()
    if data and not data.endswith(b"\n"):
        with results.open("r+b") as stream:
            stream.truncate(data.rfind(b"\n") + 1)


def _run_jobs(jobs, backend_factory, loop, results: Path, workers: int, on_row):
    """Run the jobs on the pool, appending each row as it lands; the first failure (job, error) or None."""
    failure = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval") as pool:
        futures = {pool.submit(run_attempt, task, attempt, backend_factory, loop): (task, attempt)
                   for task, attempt in jobs}
        for future in as_completed(futures):
            if future.cancelled():
                continue
            error = future.exception()
            if error is not None:
                for pending in futures:
                    pending.cancel()  # stop early; attempts already running still land below
                if not isinstance(error, ApprenticeError):
                    raise error  # a bug in apprentice: keep its traceback
                failure = failure or (futures[future], error)
                continue
            _append_row(results, future.result())
            if on_row is not None:
                on_row(future.result())
    return failure


def _append_row(results: Path, row: dict) -> None:
    append_line(results, json.dumps(row, ensure_ascii=False))


def run_attempt(task: Task, attempt: int, backend_factory: BackendFactory, loop: LoopConfig) -> dict:
    """One episode of `task` (greedy for attempt 0, sampled with seed `attempt` after), as a results row."""
    temperature = 0.0 if attempt == 0 else (loop.temperature or SAMPLING_TEMPERATURE)
    backend = backend_factory(temperature, attempt)
    try:
        trajectory = run_episode(_Retrying(backend), task, loop)
    finally:
        if hasattr(backend, "close"):  # a batched backend: the next rounds stop waiting for this episode
            backend.close()
    return attempt_row(task, attempt, trajectory)


def attempt_row(task: Task, attempt: int, trajectory: Trajectory) -> dict:
    """The results.jsonl row of one finished episode (see docs/evaluation.md for each field)."""
    outcome = trajectory.outcome or {}
    patch = final_patch(task, list(trajectory.messages))
    with pinned_snapshot(task) as snapshot:
        api = check_patch(patch, snapshot, task.language)
    tests = outcome.get("tests", [])
    return {
        "task_id": task.id, "attempt": attempt, "level": task.level, "kind": task.bug_kind, "language": task.language, "reward": outcome.get("reward", 0.0),
        "build_ok": outcome.get("build_ok"), "tests_total": len(tests), "tests_passed": len(outcome.get("tests_passed", [])),
        "all_tests_pass": bool(outcome.get("tests_complete") and tests and not outcome.get("tests_failed")),
        "lint_clean": outcome.get("lint_clean"), "lint_skipped": outcome.get("lint_skipped", ""),
        "diff_lines": outcome.get("diff_lines", 0), "turns": trajectory.turns, "tool_calls": trajectory.tool_calls,
        "format_errors": trajectory.format_errors,
        "assistant_turns": sum(1 for message in trajectory.messages if message["role"] == "assistant"),
        "iterations_to_green": iterations_to_green(list(trajectory.messages)),
        "api_calls": len(api.calls), "hallucinated_calls": list(api.hallucinated),
        "error": outcome.get("error", ""), "grading_skipped": outcome.get("skipped", ""),
        "seconds": trajectory.seconds, "rungs": episode_rungs(task, list(trajectory.messages), outcome,
                                                             trajectory.format_errors),
        "messages": list(trajectory.messages),
    }


def final_patch(task: Task, messages: list[dict]) -> str:
    """The episode's final diff, rebuilt by replaying its executed file edits on a fresh snapshot copy.

    The trajectory keeps the conversation, not the workspace; the edit tools are deterministic, so
    replaying exactly the calls that ran (each has its tool message) gives back the same diff.
    """
    executed = []
    pending: list[dict] = []
    for message in messages:
        if message["role"] == "assistant":
            pending = list(message.get("tool_calls") or [])
        elif message["role"] == "tool" and pending:
            executed.append(pending.pop(0)["function"])
    edits = [function for function in executed if function["name"] in _MUTATING_TOOLS]
    if not edits:
        return ""
    with episode_workspace(task) as workspace:
        toolbox = ToolBox(workspace, task)
        for function in edits:
            toolbox.call(function["name"], function["arguments"])
        return workspace_diff(workspace)


class _Retrying:
    """A backend whose failed calls (a server down, a timeout) are retried with backoff before giving up."""

    def __init__(self, backend: Backend):
        # The module's settings are read now, not at import: tests and callers may change them.
        self.backend, self.retries, self.backoff_s = backend, RETRIES, RETRY_BACKOFF_S
        self.source = getattr(backend, "source", "self")

    def respond(self, messages: list[dict], tools: list[dict]) -> Reply:
        """The wrapped backend's reply; EvaluationError naming the last failure after all retries."""
        failures = 0
        while True:
            try:
                return self.backend.respond(messages, tools)
            except BackendError as error:
                failures += 1
                if failures > self.retries:
                    raise EvaluationError(f"the model backend failed {failures} times ({error}); "
                                          "check that the endpoint is up, then rerun to resume") from error
                time.sleep(self.backoff_s * 2 ** (failures - 1))


def _against(flat: dict, reference_file: Path | None) -> list[dict]:
    if reference_file is None or not Path(reference_file).exists():
        return []
    reference = regression.flatten(json.loads(Path(reference_file).read_text(encoding="utf-8")))
    return regression.as_json(regression.compare(flat, reference))
