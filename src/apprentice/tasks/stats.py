"""`apprentice tasks stats`: what a task file holds, and whether it passes the data-quality gate.

The gate (SPEC §6) reads its thresholds from the run config (`gates.data`: `min_tasks`,
`max_duplicate_pairs`); the operator mix and the campaign's verdict counts (from the
`<tasks>.log.jsonl` a mutation campaign writes next to its output) are reported beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from apprentice.config.models import DataGate
from apprentice.tasks.mutation.campaign import iter_tasks, log_path
from apprentice.tasks.mutation.engine import changed_lines


@dataclass(frozen=True)
class TaskStats:
    """Counts over one task file (and its campaign log, when there is one)."""

    path: Path
    tasks: int
    per_language: dict[str, int]
    per_operator: dict[str, int]
    per_difficulty: dict[int, int]
    per_file: dict[str, int]
    duplicate_pairs: int  # tasks whose (repository snapshot, bug) pair an earlier task already has
    max_per_function: int
    mean_fail_to_pass: float
    mean_diff_lines: float
    verdicts: dict[str, int]  # from the campaign log: killed, survived, uncovered, timeout, broken
    campaign_seconds: float  # summed validation time of the logged mutants (worker time, not wall)

    @property
    def survival_rate(self) -> float:
        """Survived (uncovered included) over all judged mutants (timeouts and broken ones excluded)."""
        killed = self.verdicts.get("killed", 0)
        survived = self.verdicts.get("survived", 0) + self.verdicts.get("uncovered", 0)
        return survived / (killed + survived) if killed + survived else 0.0


def task_stats(path: Path) -> TaskStats:
    """Read `path` (one Task per line) and, when present, its campaign log."""
    tasks = list(iter_tasks(path))
    pairs = Counter((task.repo.path, task.bug) for task in tasks)
    functions = Counter((task.language, task.statement.split("()", 1)[0]) for task in tasks)
    verdicts: Counter[str] = Counter()
    seconds = 0.0
    if log_path(path).is_file():
        for line in log_path(path).read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            verdicts[entry["status"].removesuffix("-over-cap")] += 1
            seconds += entry["duration_s"]
    return TaskStats(
        path=path, tasks=len(tasks),
        per_language=dict(Counter(task.language for task in tasks)),
        per_operator=dict(Counter(task.origin for task in tasks).most_common()),
        per_difficulty=dict(sorted(Counter(task.difficulty for task in tasks).items())),
        per_file=dict(Counter(task.bug_file for task in tasks).most_common()),
        duplicate_pairs=sum(count - 1 for count in pairs.values()),
        max_per_function=max(functions.values(), default=0),
        mean_fail_to_pass=sum(len(task.fail_to_pass) for task in tasks) / max(1, len(tasks)),
        mean_diff_lines=sum(changed_lines(task.bug) for task in tasks) / max(1, len(tasks)),
        verdicts=dict(verdicts), campaign_seconds=seconds,
    )


def gate_problems(stats: TaskStats, gate: DataGate) -> list[str]:
    """Why the task file fails the data gate, per language (empty: it passes)."""
    problems = []
    for language, count in sorted(stats.per_language.items()):
        if count < gate.min_tasks:
            problems.append(f"{language}: {count} validated tasks, the gate needs {gate.min_tasks} "
                            f"(gates.data.min_tasks); mutate more repositories or lower it for a small run")
    if not stats.per_language:
        problems.append(f"no tasks in {stats.path}")
    if stats.duplicate_pairs > gate.max_duplicate_pairs:
        problems.append(f"{stats.duplicate_pairs} duplicate (buggy, fixed) pairs, at most "
                        f"{gate.max_duplicate_pairs} allowed (gates.data.max_duplicate_pairs)")
    return problems


def render_stats(stats: TaskStats, gate: DataGate) -> str:
    """A plain-text report: counts, operator mix, difficulty, verdicts, gate result."""
    lines = [f"{stats.path}: {stats.tasks} tasks {stats.per_language}",
             f"operators: {stats.per_operator}",
             f"difficulty tiers: {stats.per_difficulty}",
             f"files: {len(stats.per_file)} (most tasks in one file: {max(stats.per_file.values(), default=0)}); "
             f"most tasks in one function: {stats.max_per_function}",
             f"mean fail_to_pass tests: {stats.mean_fail_to_pass:.2f}; mean bug size: {stats.mean_diff_lines:.2f} lines",
             f"duplicate (buggy, fixed) pairs: {stats.duplicate_pairs}"]
    if stats.verdicts:
        tried = sum(stats.verdicts.values())
        lines.append(f"campaign: {tried} mutants tried {stats.verdicts}; survival rate "
                     f"{stats.survival_rate:.1%}; {stats.campaign_seconds:.0f} s of validation (worker time)")
    problems = gate_problems(stats, gate)
    lines.append("data gate: " + ("passed" if not problems else "FAILED\n  " + "\n  ".join(problems)))
    return "\n".join(lines)
