"""The `Trajectory` record: one agent episode, message by message, with its graded outcome.

Messages are in the OpenAI shape that chat templates render directly: assistant turns may carry
`thinking` (the analysis channel of the gpt-oss template) and `tool_calls`
(`[{"type": "function", "function": {"name": str, "arguments": dict}}]`); tool results are
`{"role": "tool", "name": str, "content": str}`. So `tokenizer.apply_chat_template(
list(trajectory.messages), tools=list(trajectory.tools))` renders a trajectory as it was seen.

Trajectories travel as JSON lines (the SFT data format). `Trajectory.from_json` is strict:
unknown, missing and mistyped fields raise `TrajectoryFormatError` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apprentice.data.records import read_records, record_from_line, record_line
from apprentice.errors import TrajectoryFormatError

ROLES = ("system", "developer", "user", "assistant", "tool")
SOURCES = ("gold", "teacher", "self", "template")


@dataclass(frozen=True)
class Trajectory:
    """One episode: the conversation, the tools offered, who produced it, and what it achieved."""

    task_id: str
    messages: tuple[dict, ...]
    tools: tuple[dict, ...]
    source: str  # "gold" | "teacher" | "self" | "template"
    outcome: dict | None  # grading.outcome.Outcome.to_dict() of the final workspace, or None
    format_errors: int = 0  # completions that did not parse (tool-call format accuracy, SPEC §7)
    tool_calls: int = 0
    turns: int = 0  # assistant turns
    tokens: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise TrajectoryFormatError(
                f"trajectory '{self.task_id}': source {self.source!r} is not one of {SOURCES}"
            )
        for index, message in enumerate(self.messages):
            _check_message(message, f"trajectory '{self.task_id}' messages[{index}]")

    def to_json(self) -> str:
        """One JSON line (no newline) that `Trajectory.from_json` reads back to an equal trajectory."""
        return record_line(self)

    @classmethod
    def from_json(cls, line: str) -> Trajectory:
        """Parse one JSON line; unknown, missing or mistyped fields raise `TrajectoryFormatError`."""
        return record_from_line(cls, line, "trajectory", TrajectoryFormatError)

    @property
    def last_message(self) -> dict | None:
        """The final message of the conversation, or None for an empty one."""
        return self.messages[-1] if self.messages else None


def read_trajectories(path: Path) -> list[Trajectory]:
    """The trajectories of a JSONL file (the SFT data format); DataError names the file and line."""
    return read_records(path, Trajectory.from_json)


def _check_message(message: Any, where: str) -> None:
    if not isinstance(message, dict):
        raise TrajectoryFormatError(f"{where} must be a dict, got {type(message).__name__}")
    role = message.get("role")
    if role not in ROLES:
        raise TrajectoryFormatError(f"{where}: role {role!r} is not one of {ROLES}")
    if not isinstance(message.get("content", ""), str):
        raise TrajectoryFormatError(f"{where}: content must be a string, got {type(message['content']).__name__}")
    if role == "tool" and not isinstance(message.get("name"), str):
        raise TrajectoryFormatError(f"{where}: a tool message needs a string 'name' (the tool it answers)")
    for call in message.get("tool_calls", ()) or ():
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise TrajectoryFormatError(f"{where}: tool call {call!r:.80} lacks function.name")
