"""`apprentice agent run`: one episode of a local model on one task, the conversation shown live.

The episode, with its graded outcome, is captured for the flywheel (opt-out with --no-capture);
`apprentice.flywheel.capture` says where.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from apprentice.cli.output import cli_console

if TYPE_CHECKING:
    from apprentice.agent.backends import Backend
    from apprentice.agent.trajectory import Trajectory

agent_app = typer.Typer(help="Run the coding agent on a task.", no_args_is_help=True)
console = cli_console()

_STYLES = {"system": "dim", "user": "cyan", "assistant": "green", "tool": "yellow"}


@agent_app.command("run")
def agent_run(
    task: Annotated[Path, typer.Option(help="Task JSON (or JSONL: its first task); a relative repo path is relative to it.")],
    model: Annotated[Path, typer.Option(help="Local model directory (e.g. the embedded base from `base init`).")],
    adapter: Annotated[Path | None, typer.Option(help="PEFT adapter directory to load on top of the model.")] = None,
    max_turns: Annotated[int, typer.Option(help="Assistant turns before the episode stops.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per turn at most.")] = 512,
    temperature: Annotated[float, typer.Option(help="0 is greedy; above 0 samples.")] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Append the trajectory (one JSON line) to this file.")] = None,
    capture: Annotated[bool, typer.Option("--capture/--no-capture", help="Capture the graded episode for the flywheel.")] = True,
    capture_dir: Annotated[Path | None, typer.Option(help="Capture into DIR/interactions.jsonl (default: RUN/flywheel/ "
                                                     "of the run holding --adapter or --model).")] = None,
) -> None:
    """Play one episode of a local model on a task, showing the conversation as it happens, then the graded outcome."""
    agent_run_from_cli(task, model, adapter, max_turns, console, max_new_tokens=max_new_tokens,
                       temperature=temperature, out=out, capture=capture, capture_dir=capture_dir)


def agent_run_from_cli(task_file: Path, model_dir: Path, adapter: Path | None, max_turns: int,
                       console: Console, max_new_tokens: int = 512, temperature: float = 0.0,
                       out: Path | None = None, capture: bool = True, capture_dir: Path | None = None,
                       backend: "Backend | None" = None) -> "Trajectory":
    """Load the task and model, play one episode printing each message as it comes, print the outcome.

    `backend` replaces the local model (a scripted one in tests); `capture`/`capture_dir` as in
    `apprentice.flywheel.capture`.
    """
    from apprentice.agent.backends import LocalBackend
    from apprentice.agent.loop import LoopConfig, run_episode
    from apprentice.data.records import append_line
    from apprentice.flywheel.capture import capture_episode
    from apprentice.tasks.task import read_task

    task = read_task(task_file)
    config = LoopConfig(max_turns=max_turns, max_new_tokens=max_new_tokens, temperature=temperature)
    if backend is None:
        backend = LocalBackend(model_dir, adapter, temperature=temperature, max_new_tokens=max_new_tokens)
    console.print(f"[bold]task[/] {escape(f'{task.id} [{task.language}] with model {model_dir}')}"
                  + (f" + adapter {escape(str(adapter))}" if adapter else ""))
    trajectory = run_episode(backend, task, config, on_message=lambda message: console.print(message_panel(message)))
    console.print(outcome_line(trajectory))
    if out is not None:
        append_line(out, trajectory.to_json())
        console.print(f"trajectory appended to {out}")
    log_file = capture_episode(trajectory, task.language, model_dir, adapter, capture_dir) if capture else None
    if log_file is not None:
        console.print(f"episode captured in {log_file} (--no-capture to stop)")
    return trajectory


def outcome_line(trajectory: "Trajectory") -> str:
    """The closing line of an episode: reward, tests passed, turns, tool calls, format errors, tokens, time."""
    outcome = trajectory.outcome or {}
    return (f"[bold]outcome[/] reward {outcome.get('reward', 0.0):+.2f}, tests passed {len(outcome.get('tests_passed', []))}"
            f"/{len(outcome.get('tests', []))}, turns {trajectory.turns}, tool calls {trajectory.tool_calls}, "
            f"format errors {trajectory.format_errors}, tokens {trajectory.tokens}, {trajectory.seconds:.1f}s"
            + (f"; {outcome['error']}" if outcome.get("error") else ""))


def message_panel(message: dict) -> Panel:
    """A message as the terminal shows it: role as the title, reasoning dimmed, tool calls as JSON."""
    role = message["role"]
    parts = []
    if message.get("thinking"):
        parts.append(f"[dim italic]{escape(message['thinking'])}[/]")
    if message.get("content"):
        parts.append(escape(message["content"]))
    for call in message.get("tool_calls") or ():
        arguments = json.dumps(call["function"]["arguments"], ensure_ascii=False)
        parts.append(f"[bold]→ {call['function']['name']}[/] {escape(arguments)}")
    title = f"{role} ({message['name']})" if role == "tool" else role
    return Panel("\n".join(parts) or "[dim](empty)[/]", title=title, title_align="left", border_style=_STYLES[role])
