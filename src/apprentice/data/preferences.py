"""Preference pairs from graded candidates (SPEC §6), in TRL's conversational preference format.

Per task: several candidate trajectories (the gold one plus episodes sampled from a model through
the agent loop), each graded on its final workspace. They are ranked by `ranking.Rank`; chosen is
the best (it must pass the tests), rejected the best-ranked candidate that is still *clearly*
worse (`ranking.decide`): the hardest negative that a hard gate or a clear soft margin separates.
A task with no clear pair yields none, and the reason is counted.

Record: {"prompt": [messages], "chosen": [assistant/tool messages], "rejected": [...],
"why": str, "task_id": str, "tools": [schemas]} -- TRL reads prompt/chosen/rejected directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apprentice.agent.trajectory import Trajectory
from apprentice.data.ranking import Rank, decide, rank_outcome
from apprentice.data.records import record_from_line, record_line
from apprentice.errors import DataError


@dataclass(frozen=True)
class PreferencePair:
    """One preference: a shared prompt, the chosen and rejected continuations, and why chosen won."""

    prompt: tuple[dict, ...]
    chosen: tuple[dict, ...]
    rejected: tuple[dict, ...]
    why: str
    task_id: str
    tools: tuple[dict, ...]

    def to_json(self) -> str:
        """One JSON line; `PreferencePair.from_json` reads it back to an equal pair."""
        return record_line(self)

    @classmethod
    def from_json(cls, line: str) -> PreferencePair:
        """Parse one JSON line; unknown, missing or mistyped fields raise `DataError` naming them."""
        return record_from_line(cls, line, "preference", DataError)


def split_prompt(trajectory: Trajectory) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """(prompt, completion): the messages before the first assistant turn, and the rest."""
    for index, message in enumerate(trajectory.messages):
        if message["role"] == "assistant":
            return trajectory.messages[:index], trajectory.messages[index:]
    raise DataError(f"trajectory '{trajectory.task_id}' has no assistant turn; it cannot be a candidate")


def added_lines(trajectory: Trajectory) -> list[str]:
    """Lines the agent wrote: `+` lines of apply_patch diffs and write_file contents (for idiom scoring)."""
    lines: list[str] = []
    for message in trajectory.messages:
        for call in message.get("tool_calls") or ():
            arguments = call["function"].get("arguments")
            if not isinstance(arguments, dict):
                continue
            for text in (arguments.get("diff"), arguments.get("content")):
                if isinstance(text, str):
                    lines += [line[1:] if line.startswith("+") else line for line in text.splitlines()
                              if not line.startswith(("+++", "---", "-", "@@", " "))]
    return lines


def rank_candidate(trajectory: Trajectory, language: str) -> Rank:
    """A graded candidate's Rank; one never graded is an error (nothing to rank it by)."""
    if trajectory.outcome is None:
        raise DataError(f"candidate of task '{trajectory.task_id}' has no outcome; grade it before ranking")
    return rank_outcome(trajectory.outcome, language, added_lines(trajectory))


def preference_pair(candidates: Sequence[Trajectory], language: str) -> tuple[PreferencePair | None, str]:
    """The task's pair and '' -- or None and the reason no clear pair exists."""
    if len(candidates) < 2:
        return None, "fewer than 2 candidates"
    ranked = sorted(((rank_candidate(t, language), t) for t in candidates), key=lambda item: item[0].key(),
                    reverse=True)
    best_rank, best = ranked[0]
    if not best_rank.hard[2]:
        return None, "no candidate passes the tests"
    prompt, chosen = split_prompt(best)
    for rank, other in ranked[1:]:
        why = decide(best_rank, rank)
        if not why:
            continue
        other_prompt, rejected = split_prompt(other)
        if other_prompt != prompt:
            raise DataError(f"task '{best.task_id}': candidates were prompted differently; "
                            "sample them with the same developer prompt and statement")
        return PreferencePair(prompt, chosen, rejected, why, best.task_id, best.tools), ""
    return None, "no candidate is clearly worse than the best"
