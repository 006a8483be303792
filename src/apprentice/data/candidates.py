"""Candidates for preference pairs: the gold fix plus episodes sampled from a model, all graded.

Every candidate of a task starts from the same prompt (the IPO developer prompt of SPEC §6 and
the loop's task statement), so a pair's chosen and rejected continue one shared prompt.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from apprentice.agent.backends import Backend
from apprentice.agent.loop import LoopConfig, run_episode
from apprentice.agent.trajectory import Trajectory
from apprentice.data.gold import build_gold
from apprentice.data.preferences import PreferencePair, preference_pair
from apprentice.data.prompts import developer_prompt
from apprentice.errors import DataError
from apprentice.tasks.task import Task


@dataclass
class PreferenceReport:
    """Tasks seen, candidates graded, pairs kept, why chosen won, and why tasks gave no pair."""

    tasks: int = 0
    candidates: int = 0
    pairs: int = 0
    decided_by: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def text(self) -> str:
        """Lines: pairs over tasks, each deciding gate, each reason for no pair."""
        lines = [f"preferences: {self.pairs} pairs from {self.tasks} tasks ({self.candidates} graded candidates)"]
        lines += [f"  decided by {why}: {count}" for why, count in self.decided_by.most_common()]
        lines += [f"  no pair ({why}): {count}" for why, count in self.skipped.most_common()]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {**dataclasses.asdict(self), "decided_by": dict(self.decided_by), "skipped": dict(self.skipped)}


def task_candidates(task: Task, backend: Backend | None, samples: int, config: LoopConfig) -> list[Trajectory]:
    """The gold trajectory (when it replays green) and `samples` graded loop episodes of `backend`."""
    prompt = developer_prompt("ipo", task.language, task.id)
    gold = build_gold(task, prompt, limits=config.limits)
    candidates = [gold.trajectory] if gold.trajectory is not None else []
    if samples and backend is None:
        raise DataError(f"{samples} sampled candidates asked for but no backend given; pass one or samples=0")
    task_config = dataclasses.replace(config, developer_prompt=prompt)
    candidates += [run_episode(backend, task, task_config) for _ in range(samples)]
    return candidates


def preferences_for_tasks(tasks: Iterable[Task], backend: Backend | None, *, samples: int = 4,
                          config: LoopConfig | None = None,
                          on_task: Callable[[str, PreferencePair | None, str], None] | None = None,
                          ) -> tuple[list[PreferencePair], PreferenceReport]:
    """One clear preference pair per task where the graded candidates yield one (SPEC §6 ranking)."""
    config = config or LoopConfig()
    report, pairs = PreferenceReport(), []
    for task in tasks:
        report.tasks += 1
        candidates = task_candidates(task, backend, samples, config)
        report.candidates += len(candidates)
        pair, reason = preference_pair(candidates, task.language)
        if on_task is not None:
            on_task(task.id, pair, reason)
        if pair is None:
            report.skipped[reason] += 1
            continue
        report.pairs += 1
        report.decided_by[pair.why.split(" (")[0]] += 1
        pairs.append(pair)
    return pairs, report
