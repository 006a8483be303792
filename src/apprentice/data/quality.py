"""The data-quality gates of SPEC §6 over a set of trajectories, one verdict per gate.

Two kinds of gate, thresholds from `apprentice.config.models.DataGate`:
- requirements every trajectory must meet: 3-7 assistant turns, at least one thinking block,
  at least two tool calls, a valid chat format, no duplicate conversation;
- dataset shares: ≥80% with 2+ tool calls, average turns ≥3, 100% valid format, 0 duplicates.
A failing gate names the first offending trajectories, so a broken dataset is fixable from the
report alone. `meets_requirements` is the same per-trajectory test, used to filter before writing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from apprentice.agent.trajectory import Trajectory
from apprentice.config.models import DataGate
from apprentice.data.format_check import count_thinking_blocks, count_tool_calls, count_turns, format_problems

EXAMPLES_SHOWN = 3  # offending trajectories named per failing gate


@dataclass(frozen=True)
class GateCheck:
    """One gate: its measured value, the threshold it was held to, and the first offenders."""

    name: str
    value: float
    threshold: str
    passed: bool
    offenders: tuple[str, ...] = ()  # "task_id#index: why"
    share: bool = False  # `value` is a share of the trajectories (printed as a percentage)

    def line(self) -> str:
        """One human line: PASS/FAIL, name, value against threshold, first offenders."""
        value = f"{self.value:.1%}" if self.share else f"{self.value:.3g}"
        head = f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {value} (need {self.threshold})"
        return head + ("  e.g. " + "; ".join(self.offenders) if self.offenders else "")


@dataclass(frozen=True)
class QualityReport:
    """Every gate's verdict for one dataset of `count` trajectories."""

    count: int
    checks: tuple[GateCheck, ...]

    @property
    def passed(self) -> bool:
        """True when the dataset is non-empty and every gate passed."""
        return self.count > 0 and all(check.passed for check in self.checks)

    def to_dict(self) -> dict:
        """A JSON-ready dict (for meta.json and the CLI's --json)."""
        return {"count": self.count, "passed": self.passed, "checks": [vars(check) for check in self.checks]}

    def text(self) -> str:
        """The report as lines, one per gate, with a verdict line last."""
        lines = [f"{self.count} trajectories", *(check.line() for check in self.checks)]
        return "\n".join([*lines, "data check " + ("passed" if self.passed else "FAILED")])


def conversation_key(trajectory: Trajectory) -> str:
    """A content hash of the conversation: two trajectories with the same key are duplicates."""
    canonical = json.dumps(list(trajectory.messages), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def requirement_problems(trajectory: Trajectory, gate: DataGate) -> tuple[str, ...]:
    """Why `trajectory` misses the per-trajectory requirements of SPEC §6 (empty when it meets them)."""
    turns, calls, thinking = count_turns(trajectory), count_tool_calls(trajectory), count_thinking_blocks(trajectory)
    problems = [f"format: {problem}" for problem in format_problems(trajectory)]
    if not gate.min_turns <= turns <= gate.max_turns:
        problems.append(f"{turns} turns, outside {gate.min_turns}-{gate.max_turns}")
    if thinking < gate.min_thinking_blocks:
        problems.append(f"{thinking} thinking blocks, under {gate.min_thinking_blocks}")
    if calls < gate.min_tool_calls:
        problems.append(f"{calls} tool calls, under {gate.min_tool_calls}")
    return tuple(problems)


def meets_requirements(trajectory: Trajectory, gate: DataGate) -> bool:
    """True when `trajectory` meets every per-trajectory requirement."""
    return not requirement_problems(trajectory, gate)


def check_trajectories(trajectories: Sequence[Trajectory], gate: DataGate | None = None) -> QualityReport:
    """Run every gate over `trajectories`; an empty dataset fails (there is nothing to train on)."""
    gate = gate or DataGate()
    count = len(trajectories)
    turns = [count_turns(t) for t in trajectories]
    calls = [count_tool_calls(t) for t in trajectories]
    thinking = [count_thinking_blocks(t) for t in trajectories]
    formats = [format_problems(t) for t in trajectories]
    duplicates = _duplicates(trajectories)
    labels = [f"{t.task_id}#{index}" for index, t in enumerate(trajectories)]
    checks = (
        _every("turns in range", labels, [f"{n} turns" for n in turns],
               [gate.min_turns <= n <= gate.max_turns for n in turns], f"{gate.min_turns}-{gate.max_turns} turns, all"),
        _every("thinking blocks", labels, [f"{n} thinking" for n in thinking],
               [n >= gate.min_thinking_blocks for n in thinking], f">= {gate.min_thinking_blocks} each, all"),
        _every("tool calls", labels, [f"{n} calls" for n in calls],
               [n >= gate.min_tool_calls for n in calls], f">= {gate.min_tool_calls} each, all"),
        _share("valid format", labels, ["; ".join(p) for p in formats], [not p for p in formats],
               gate.min_valid_format),
        _share("multi-tool share", labels, [f"{n} calls" for n in calls], [n >= 2 for n in calls],
               gate.min_multi_tool_share),
        GateCheck("average turns", sum(turns) / count if count else 0.0, f">= {gate.min_average_turns}",
                  count > 0 and sum(turns) / count >= gate.min_average_turns),
        GateCheck("duplicates", float(len(duplicates)), f"<= {gate.max_duplicate_pairs}",
                  len(duplicates) <= gate.max_duplicate_pairs,
                  tuple(f"{labels[i]}: same conversation as {labels[j]}" for i, j in duplicates[:EXAMPLES_SHOWN])),
    )
    return QualityReport(count, checks)


def _every(name: str, labels: list[str], why: list[str], ok: list[bool], threshold: str) -> GateCheck:
    """A requirement gate: every trajectory must meet it."""
    return _share(name, labels, why, ok, 1.0, threshold)


def _share(name: str, labels: list[str], why: list[str], ok: list[bool], minimum: float,
           threshold: str = "") -> GateCheck:
    """A share gate: at least `minimum` of the trajectories must meet it; the failing ones are named."""
    share = sum(ok) / len(ok) if ok else 0.0
    offenders = tuple(f"{label}: {reason}" for label, reason, good in zip(labels, why, ok, strict=True) if not good)
    return GateCheck(name, share, threshold or f">= {minimum:.0%}", bool(ok) and share >= minimum,
                     offenders[:EXAMPLES_SHOWN], share=True)


def _duplicates(trajectories: Sequence[Trajectory]) -> list[tuple[int, int]]:
    """(index, index of its first copy) for every trajectory whose conversation came earlier."""
    first: dict[str, int] = {}
    pairs = []
    for index, trajectory in enumerate(trajectories):
        key = conversation_key(trajectory)
        if key in first:
            pairs.append((index, first[key]))
        else:
            first[key] = index
    return pairs
