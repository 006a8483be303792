"""Capturing interactions for the data flywheel (SPEC §6): one JSON line per answer, appended safely.

    serve --run RUN / agent run  ->  RUN/flywheel/interactions.jsonl        one JSON line per interaction

The router captures each chat completion (no outcome: a chat completion is never graded), `agent
run` each graded episode (opt-out with capture=False): into `capture_dir`/interactions.jsonl when
given, else into the flywheel log of the run that holds the adapter (or the model), when it lies
inside a run directory; otherwise not at all. `flywheel.curate` reads the log from where the
previous round stopped.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apprentice.agent.trajectory import Trajectory
from apprentice.artifacts import RunDir, ensure_writable
from apprentice.data.records import record_from_line, record_line
from apprentice.errors import FlywheelError

INTERACTIONS_FILE = "interactions.jsonl"
CAPTURE_SOURCES = ("router", "agent")


def interactions_path(run_dir: Path) -> Path:
    """Where a run's interactions are captured: RUN/flywheel/interactions.jsonl."""
    return RunDir(run_dir).flywheel_dir / INTERACTIONS_FILE


@dataclass(frozen=True)
class Interaction:
    """One captured interaction: who answered, the whole conversation (reply included), its outcome if graded."""

    id: str
    time: str  # ISO 8601, UTC
    source: str  # "router" | "agent"
    target: str  # the adapter target that answered (a language or a pipeline role)
    adapter: str  # the version that answered (python-v3), or the adapter/model directory of an agent run
    messages: tuple[dict, ...]  # apprentice's message shape, the reply (tool calls included) last
    tools: tuple[dict, ...]
    outcome: dict | None  # the graded Outcome of an agent episode; None for a chat completion
    latency_s: float
    task_id: str = ""
    tokens: int = 0  # completion tokens
    format_errors: int = 0  # replies that did not parse

    def to_json(self) -> str:
        """One JSON line (no newline) that `Interaction.from_json` reads back to an equal record."""
        return record_line(self)

    @classmethod
    def from_json(cls, line: str) -> Interaction:
        """Parse one line; FlywheelError for anything but an interaction record of a known source."""
        interaction = record_from_line(cls, line, "interaction", FlywheelError)
        if interaction.source not in CAPTURE_SOURCES:
            raise FlywheelError(f"interaction {interaction.id!r}: source {interaction.source!r} is not one of "
                                f"{CAPTURE_SOURCES}")
        return interaction

    def to_trajectory(self) -> Trajectory:
        """The interaction as SFT data (source "self": the model's own episode); TrajectoryFormatError if malformed."""
        calls = sum(len(message.get("tool_calls") or ()) for message in self.messages if isinstance(message, dict))
        turns = sum(1 for message in self.messages if isinstance(message, dict) and message.get("role") == "assistant")
        return Trajectory(task_id=self.task_id or f"flywheel-{self.id}", messages=self.messages, tools=self.tools,
                          source="self", outcome=self.outcome, format_errors=self.format_errors, tool_calls=calls,
                          turns=turns, tokens=self.tokens, seconds=self.latency_s)


def router_interaction(messages: list[dict], tools: list[dict], reply, adapter: str, latency_s: float) -> Interaction:
    """A chat completion as an interaction: the request's messages, then `reply` (an agent.backends.Reply)."""
    answer = {**reply.message, "content": reply.message.get("content") or ""}
    # Versions are f"{target}-v{n}" (registry contract), so the target needs no registry read here.
    return Interaction(uuid.uuid4().hex, _now(), "router", adapter.rsplit("-v", 1)[0], adapter,
                       (*messages, answer), tuple(tools), None, round(latency_s, 4),
                       tokens=reply.completion_tokens, format_errors=int(reply.format_error is not None))


def agent_interaction(trajectory: Trajectory, target: str, adapter: str) -> Interaction:
    """An agent episode as an interaction, its graded outcome included."""
    return Interaction(uuid.uuid4().hex, _now(), "agent", target, adapter, trajectory.messages, trajectory.tools,
                       trajectory.outcome, trajectory.seconds, task_id=trajectory.task_id, tokens=trajectory.tokens,
                       format_errors=trajectory.format_errors)


class InteractionLog:
    """An append-only JSONL file of interactions, one whole line per append, safe across threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        ensure_writable(self.path.parent)
        self._lock = threading.Lock()

    def append(self, interaction: Interaction) -> None:
        """Append `interaction` as one line, flushed to disk (fsync) before returning."""
        line = (interaction.to_json() + "\n").encode("utf-8")
        with self._lock:
            # 0o600: captured conversations hold users' code; O_APPEND keeps each write at the end.
            handle = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(handle).st_size
                if size and os.pread(handle, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a crash tore the last line: keep ours whole on a line of its own
                written = 0
                while written < len(line):
                    written += os.write(handle, line[written:])
                os.fsync(handle)
            finally:
                os.close(handle)


@dataclass(frozen=True)
class InteractionBatch:
    """The complete lines of a log from one offset: the records that parsed, and how many did not."""

    interactions: tuple[Interaction, ...]
    unreadable: int
    start: int
    end: int  # just past the last complete line


def read_interactions(path: Path, start: int = 0) -> InteractionBatch:
    """The interactions of `path` from byte `start`; unreadable (torn) lines are counted and skipped."""
    if not path.is_file():
        raise FlywheelError(f"no interactions captured at {path}; serve with `apprentice serve --run RUN` or play "
                            "episodes with `apprentice agent run ... --capture-dir DIR`")
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        if size < start:
            raise FlywheelError(f"{path} holds {size} bytes but an earlier round read up to byte {start}; "
                                "the log was truncated or replaced: restore it, or capture to a new log")
        stream.seek(start)
        data = stream.read()
    complete = data[: data.rfind(b"\n") + 1]  # a line still being written is left for the next round
    good, unreadable = [], 0
    for raw in complete.splitlines():
        if not raw.strip():
            continue
        try:
            good.append(Interaction.from_json(raw.decode("utf-8")))
        except (UnicodeDecodeError, FlywheelError):
            unreadable += 1
    return InteractionBatch(tuple(good), unreadable, start, start + len(complete))


def run_dir_of(path: Path | None) -> Path | None:
    """The run directory holding `path` (the nearest folder with a run.yaml), or None."""
    if path is None:
        return None
    for folder in (Path(path).resolve(), *Path(path).resolve().parents):
        if RunDir(folder).config_file.is_file():
            return folder
    return None


def capture_file(model_dir: Path, adapter: Path | None, capture_dir: Path | None) -> Path | None:
    """The flywheel log an episode goes to: capture_dir's, else that of the run holding the adapter or model."""
    if capture_dir is not None:
        return Path(capture_dir) / INTERACTIONS_FILE
    run_dir = run_dir_of(adapter) or run_dir_of(model_dir)
    return interactions_path(run_dir) if run_dir is not None else None


def capture_episode(trajectory: Trajectory, language: str, model_dir: Path, adapter: Path | None,
                    capture_dir: Path | None) -> Path | None:
    """Append an agent episode to its flywheel log (see `capture_file`); returns the log, None when not captured."""
    log_file = capture_file(model_dir, adapter, capture_dir)
    if log_file is not None:
        answered_by = str(adapter or model_dir)
        InteractionLog(log_file).append(agent_interaction(trajectory, adapter_target(adapter, language), answered_by))
    return log_file


def adapter_target(adapter: Path | None, language: str) -> str:
    """The target an adapter was trained for (its apprentice_adapter.json), else the task's language."""
    from apprentice.stages.result import ADAPTER_ORIGIN_FILE  # stages import far more than capture needs

    origin = Path(adapter) / ADAPTER_ORIGIN_FILE if adapter is not None else None
    if origin is None or not origin.is_file():
        return language
    return str(json.loads(origin.read_text(encoding="utf-8")).get("target") or language)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
