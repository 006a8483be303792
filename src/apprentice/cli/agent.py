"""`apprentice agent run`: one episode of a local model on one task, the conversation shown live.

The episode, with its graded outcome, is captured for the flywheel (opt-out with capture=False):
into `capture_dir`/interactions.jsonl when given, else into the flywheel log of the run that
holds the adapter (or the model), when it lies inside a run directory; otherwise not at all.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from apprentice.agent.backends import Backend, LocalBackend
from apprentice.agent.loop import LoopConfig, run_episode
from apprentice.agent.trajectory import Trajectory
from apprentice.errors import TaskFormatError
from apprentice.flywheel.curate import (
    INTERACTIONS_FILE,
    InteractionLog,
    agent_interaction,
    interactions_path,
    run_dir_of,
)
from apprentice.tasks.task import Task

_STYLES = {"system": "dim", "user": "cyan", "assistant": "green", "tool": "yellow"}


def load_task_file(task_file: Path) -> Task:
    """The task of a `.json` file, or the first of a `.jsonl` one; a relative repo path is taken from the file's folder."""
    if not task_file.is_file():
        raise TaskFormatError(f"task file '{task_file}' does not exist; give a tasks JSONL or a task.json")
    text = task_file.read_text(encoding="utf-8")
    if task_file.suffix == ".jsonl":
        text = next((line for line in text.splitlines() if line.strip()), "")
    task = Task.from_json(text)
    if not Path(task.repo.path).is_absolute():
        repo = dataclasses.replace(task.repo, path=str(task_file.parent / task.repo.path))
        task = dataclasses.replace(task, repo=repo)
    return task


def message_panel(message: dict) -> Panel:
    """A message as the terminal shows it: role as the title, reasoning dimmed, tool calls as JSON."""
    role = message["role"]
    parts = []
    if message.get("thinking"):
        parts.append(f"[dim italic]{_escape(message['thinking'])}[/]")
    if message.get("content"):
        parts.append(_escape(message["content"]))
    for call in message.get("tool_calls") or ():
        arguments = json.dumps(call["function"]["arguments"], ensure_ascii=False)
        parts.append(f"[bold]→ {call['function']['name']}[/] {_escape(arguments)}")
    title = f"{role} ({message['name']})" if role == "tool" else role
    return Panel("\n".join(parts) or "[dim](empty)[/]", title=title, title_align="left", border_style=_STYLES[role])


def agent_run_from_cli(task_file: Path, model_dir: Path, adapter: Path | None, max_turns: int,
                       console: Console, max_new_tokens: int = 512, temperature: float = 0.0,
                       out: Path | None = None, capture: bool = True, capture_dir: Path | None = None,
                       backend: Backend | None = None) -> Trajectory:
    """Load the task and model, play one episode printing each message as it comes, print the outcome.

    `backend` replaces the local model (a scripted one in tests); `capture`/`capture_dir` as in the
    module docstring.
    """
    task = load_task_file(task_file)
    config = LoopConfig(max_turns=max_turns, max_new_tokens=max_new_tokens, temperature=temperature)
    if backend is None:
        backend = LocalBackend(model_dir, adapter, temperature=temperature, max_new_tokens=max_new_tokens)
    console.print(f"[bold]task[/] {_escape(f'{task.id} [{task.language}] with model {model_dir}')}"
                  + (f" + adapter {_escape(str(adapter))}" if adapter else ""))
    trajectory = run_episode(backend, task, config, on_message=lambda message: console.print(message_panel(message)))
    outcome = trajectory.outcome or {}
    console.print(
        f"[bold]outcome[/] reward {outcome.get('reward', 0.0):+.2f}, tests passed {len(outcome.get('tests_passed', []))}"
        f"/{len(outcome.get('tests', []))}, turns {trajectory.turns}, tool calls {trajectory.tool_calls}, "
        f"format errors {trajectory.format_errors}, tokens {trajectory.tokens}, {trajectory.seconds:.1f}s"
        + (f"; {outcome['error']}" if outcome.get("error") else "")
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as handle:
            handle.write(trajectory.to_json() + "\n")
        console.print(f"trajectory appended to {out}")
    log_file = capture_file(model_dir, adapter, capture_dir) if capture else None
    if log_file is not None:
        answered_by = str(adapter or model_dir)
        InteractionLog(log_file).append(agent_interaction(trajectory, adapter_target(adapter, task.language), answered_by))
        console.print(f"episode captured in {log_file} (--no-capture to stop)")
    return trajectory


def capture_file(model_dir: Path, adapter: Path | None, capture_dir: Path | None) -> Path | None:
    """The flywheel log an episode goes to: capture_dir's, else that of the run holding the adapter or model."""
    if capture_dir is not None:
        return Path(capture_dir) / INTERACTIONS_FILE
    run_dir = run_dir_of(adapter) or run_dir_of(model_dir)
    return interactions_path(run_dir) if run_dir is not None else None


def adapter_target(adapter: Path | None, language: str) -> str:
    """The target an adapter was trained for (its apprentice_adapter.json), else the task's language."""
    from apprentice.stages.result import ADAPTER_ORIGIN_FILE

    origin = Path(adapter) / ADAPTER_ORIGIN_FILE if adapter is not None else None
    if origin is None or not origin.is_file():
        return language
    return str(json.loads(origin.read_text(encoding="utf-8")).get("target") or language)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
