"""The multi-turn agent loop: ask the backend, run its tool calls, stop at a final answer or a limit.

    trajectory = run_episode(backend, task, LoopConfig(max_turns=8))

Each episode works in a private copy of the task's pinned snapshot. A reply that does not parse
is counted (`format_errors`) and answered with a note the model can read, or ends the episode
when `stop_on_format_error` is set; a bad tool call comes back as an error tool result. At the
end the workspace's diff against the snapshot is graded and stored as the trajectory's outcome.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from apprentice.agent.backends import Backend
from apprentice.agent.tools import TOOL_SCHEMAS, ToolBox
from apprentice.agent.trajectory import Trajectory
from apprentice.agent.workspace import episode_workspace, workspace_diff
from apprentice.errors import ConfigError
from apprentice.grading.grade import grade
from apprentice.grading.outcome import Episode
from apprentice.sandbox import Limits
from apprentice.tasks.task import Task

DEFAULT_PROMPT = "You are a {language} coding agent. Use tools to read, modify, and test code."
TASK_PROMPT = (
    "{statement}\n\nThe repository is your working directory. Find the bug, fix it with the tools, "
    "run the tests, then reply with a short summary of the fix."
)
FORMAT_NOTE = (
    "Your last reply could not be read ({problem}). Reply with exactly one tool call, or with your final answer."
)


@dataclass(frozen=True)
class LoopConfig:
    """Limits and sampling of one episode."""

    max_turns: int = 8  # assistant turns, malformed ones included
    max_tool_calls: int = 12
    max_new_tokens: int = 1024  # per turn; read by the backends built for this config
    temperature: float = 0.0  # 0: greedy; read by the backends built for this config
    developer_prompt: str | None = None  # None: DEFAULT_PROMPT for the task's language
    max_output_chars: int = 4000  # of each tool result; the rest is cut with a visible marker
    stop_on_format_error: bool = False  # True: a reply that does not parse ends the episode
    limits: Limits = field(default_factory=Limits)  # of each sandboxed build/test run

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_tool_calls", "max_new_tokens", "max_output_chars"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"LoopConfig.{name}={getattr(self, name)!r} must be positive")
        if self.temperature < 0:
            raise ConfigError(f"LoopConfig.temperature={self.temperature!r} must be >= 0 (0 is greedy)")


@dataclass
class _Tally:
    format_errors: int = 0
    tool_calls: int = 0
    turns: int = 0
    tokens: int = 0


MessageSink = Callable[[dict], None]


def first_messages(task: Task, config: LoopConfig) -> list[dict]:
    """The developer prompt (as the first, system message) and the task statement."""
    prompt = config.developer_prompt or DEFAULT_PROMPT.format(language=task.language)
    return [{"role": "system", "content": prompt}, {"role": "user", "content": TASK_PROMPT.format(statement=task.statement)}]


def run_episode(backend: Backend, task: Task, config: LoopConfig, on_message: MessageSink | None = None) -> Trajectory:
    """Run one episode of `backend` on `task`; `on_message` sees each message as it is added."""
    started, tally = time.monotonic(), _Tally()
    messages = first_messages(task, config)
    emit = on_message or (lambda message: None)
    for message in messages:
        emit(message)
    with episode_workspace(task) as workspace:
        toolbox = ToolBox(workspace, task, config.max_output_chars, config.limits)
        _converse(backend, toolbox, messages, config, tally, emit)
        patch = workspace_diff(workspace)
    episode = Episode(tool_calls=tally.tool_calls, format_valid=tally.format_errors == 0, thinking=_thinking(messages))
    outcome = grade(task, patch, limits=config.limits, episode=episode)
    return Trajectory(
        task_id=task.id, messages=tuple(messages), tools=TOOL_SCHEMAS, source=getattr(backend, "source", "self"),
        outcome=json.loads(outcome.to_json()),  # JSON-pure, so a JSON line reads back equal
        format_errors=tally.format_errors, tool_calls=tally.tool_calls,
        turns=tally.turns, tokens=tally.tokens, seconds=round(time.monotonic() - started, 3),
    )


def _converse(backend: Backend, toolbox: ToolBox, messages: list[dict], config: LoopConfig, tally: _Tally,
              emit: MessageSink) -> None:
    while tally.turns < config.max_turns:
        reply = backend.respond(messages, list(TOOL_SCHEMAS))
        tally.turns += 1
        tally.tokens += reply.completion_tokens
        _add(messages, reply.message, emit)
        if reply.format_error:
            tally.format_errors += 1
            if config.stop_on_format_error or tally.turns >= config.max_turns:
                return  # no note after the last turn: nobody would read it
            _add(messages, {"role": "user", "content": FORMAT_NOTE.format(problem=reply.format_error)}, emit)
            continue
        calls = reply.message.get("tool_calls") or []
        if not calls:
            return  # a final answer
        for call in calls:
            if tally.tool_calls >= config.max_tool_calls:
                return
            function = call["function"]
            result = toolbox.call(function["name"], function["arguments"])
            tally.tool_calls += 1
            _add(messages, {"role": "tool", "name": function["name"], "content": result.content}, emit)


def _add(messages: list[dict], message: dict, emit: MessageSink) -> None:
    messages.append(message)
    emit(message)


def _thinking(messages: list[dict]) -> str:
    return "\n".join(message["thinking"] for message in messages if message.get("thinking"))
