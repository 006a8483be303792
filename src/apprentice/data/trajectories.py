"""SFT trajectories from tasks: gold (the known fix, replayed), template (other paths to it), teacher.

Every source ends the same way: an episode in the task's sandboxed workspace, graded; only green
ones are kept (rejection sampling for the teacher), then held to the per-trajectory requirements
of SPEC §6 (3-7 turns, a thinking block, 2+ tool calls, a valid conversation). Each drop is
counted by reason, so "what share was kept, and why were the others dropped" is always answerable.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from apprentice.agent.backends import Backend
from apprentice.agent.loop import LoopConfig, run_episode
from apprentice.agent.trajectory import Trajectory
from apprentice.config.models import DataGate
from apprentice.data.gold import DEFAULT_SHAPE, Built, GoldShape, build_gold, not_green
from apprentice.data.prompts import developer_prompt
from apprentice.data.quality import conversation_key, requirement_problems
from apprentice.errors import DataError
from apprentice.grading.grade import GradeMemo
from apprentice.sandbox import Limits
from apprentice.tasks.task import Task

SOURCES = ("gold", "template", "teacher")


@dataclass
class BuildReport:
    """How many tasks went in, how many trajectories came out, and why the rest were dropped."""

    source: str
    tasks: int = 0
    attempts: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # first detail seen per drop reason

    def drop(self, reason: str, detail: str) -> None:
        """Count one dropped trajectory under `reason`, keeping the first detail as an example."""
        self.dropped[reason] += 1
        self.examples.setdefault(reason, detail)

    @property
    def kept_share(self) -> float:
        """Kept trajectories over attempts (0.0 when nothing was attempted)."""
        return self.kept / self.attempts if self.attempts else 0.0

    def text(self) -> str:
        """Lines: kept share, then each drop reason with its count and first example."""
        lines = [f"{self.source}: kept {self.kept}/{self.attempts} ({self.kept_share:.0%}) from {self.tasks} tasks"]
        for reason, count in self.dropped.most_common():
            lines.append(f"  dropped {count}: {reason} (e.g. {self.examples[reason][:200]})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict (for meta.json and benchmarks)."""
        return {**dataclasses.asdict(self), "dropped": dict(self.dropped), "kept_share": self.kept_share}


def keep_if_fit(built: Built, report: BuildReport, gate: DataGate) -> Trajectory | None:
    """`built`'s trajectory when it exists and meets the SPEC §6 requirements; else counted as dropped."""
    report.attempts += 1
    if built.trajectory is None:
        report.drop(built.dropped, f"{built.task_id}: {built.detail}")
        return None
    problems = requirement_problems(built.trajectory, gate)
    if problems:
        report.drop("outside trajectory requirements", f"{built.task_id}: {'; '.join(problems)}")
        return None
    report.kept += 1
    return built.trajectory


def _collect(built: Built, report: BuildReport, gate: DataGate, kept: list[Trajectory],
             on_task: Callable[[Built], None] | None) -> None:
    """Show `built` to `on_task`, then add its trajectory to `kept` when it is fit to train on."""
    if on_task is not None:
        on_task(built)
    trajectory = keep_if_fit(built, report, gate)
    if trajectory is not None:
        kept.append(trajectory)


def gold_trajectories(tasks: Iterable[Task], *, template: bool = False, prompts: str = "all",
                      limits: Limits | None = None, gate: DataGate | None = None,
                      on_task: Callable[[Built], None] | None = None,
                      shape: GoldShape = DEFAULT_SHAPE, workers: int = 1,
                      memo: GradeMemo | None = None) -> tuple[list[Trajectory], BuildReport]:
    """Gold (or template) trajectories for `tasks`, each replayed and graded (`workers` at once); green ones kept.

    A `memo` shared by the gold and the template pass runs each task's fix once (both paths end in the same patch).
    """
    gate = gate or DataGate()
    report = BuildReport("template" if template else "gold")
    kept = []

    def build(task: Task) -> Built:
        return build_gold(task, developer_prompt(prompts, task.language, task.id), template=template, limits=limits,
                          shape=shape, memo=memo)

    # Each build is sandboxed subprocesses (tests, lint) around a little Python: threads overlap them.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for built in pool.map(build, tasks):  # results in task order: the dataset does not depend on timing
            report.tasks += 1
            _collect(built, report, gate, kept, on_task)
    return kept, report


def teacher_trajectories(tasks: Iterable[Task], backend: Backend, *, attempts: int = 4, prompts: str = "all",
                         config: LoopConfig | None = None, gate: DataGate | None = None,
                         on_task: Callable[[Built], None] | None = None) -> tuple[list[Trajectory], BuildReport]:
    """Rejection sampling: `attempts` loop episodes of `backend` per task; the green, distinct ones are kept.

    Sample with a temperature above 0 (set on the backend): greedy attempts repeat each other, and
    a repeat is dropped as a duplicate.
    """
    if attempts < 1:
        raise DataError(f"attempts={attempts} must be at least 1 (SPEC §6: several attempts per task)")
    gate, config = gate or DataGate(), config or LoopConfig()
    report = BuildReport("teacher")
    kept: list[Trajectory] = []
    for task in tasks:
        report.tasks += 1
        task_config = dataclasses.replace(config, developer_prompt=developer_prompt(prompts, task.language, task.id))
        seen: set[str] = set()
        for _ in range(attempts):
            built = _graded_attempt(run_episode(backend, task, task_config), seen)
            _collect(built, report, gate, kept, on_task)
    return kept, report


def _graded_attempt(trajectory: Trajectory, seen: set[str]) -> Built:
    """The attempt as a Built: dropped when it is not green or repeats a kept attempt of its task."""
    reason = not_green(trajectory.outcome or {"skipped": "never graded"})
    if reason:
        summary = (trajectory.outcome or {}).get("error", "") or reason
        return Built(trajectory.task_id, None, reason, str(summary)[:300])
    key = conversation_key(trajectory)
    if key in seen:
        return Built(trajectory.task_id, None, "duplicate of a kept attempt", "identical conversation")
    seen.add(key)
    return Built(trajectory.task_id, trajectory)


def check_source(source: str) -> str:
    """`source` when it is one this module builds; else a DataError naming the known ones."""
    if source not in SOURCES:
        raise DataError(f"unknown trajectory source '{source}' (known: {', '.join(SOURCES)})")
    return source
