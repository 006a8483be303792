"""`agent run`'s body: the embedded base plays a real (unskilled) episode, each message printed as it comes."""

import json
from pathlib import Path

from rich.console import Console

from apprentice.agent.trajectory import Trajectory
from apprentice.cli.agent import agent_run_from_cli, message_panel
from apprentice.tasks.task import read_task

REPOS = Path(__file__).resolve().parents[1] / "fixtures" / "repos"


def test_task_file_paths_resolve_next_to_the_file(tmp_path):
    task = read_task(REPOS / "python" / "task.json")
    assert task.repo.path == str(REPOS / "python" / "repo")
    jsonl = tmp_path / "tasks.jsonl"
    jsonl.write_text(json.dumps({**json.loads((REPOS / "python" / "task.json").read_text()),
                                 "repo": {"path": str(REPOS / "python" / "repo"), "commit": "", "package": ""}}) + "\n")
    assert read_task(jsonl).id == task.id


def test_agent_run_end_to_end_with_the_embedded_base(tiny_base, tmp_path):
    console = Console(record=True, width=100)
    out = tmp_path / "trajectories.jsonl"
    trajectory = agent_run_from_cli(REPOS / "python" / "task.json", tiny_base, None, 1, console,
                                    max_new_tokens=16, out=out)
    shown = console.export_text()
    assert "system" in shown and "user" in shown and "assistant" in shown and "outcome" in shown
    assert "format errors 1" in shown and trajectory.turns == 1
    assert Trajectory.from_json(out.read_text().splitlines()[0]) == trajectory


def test_message_panel_shows_calls_and_escapes_markup():
    console = Console(record=True, width=80)
    console.print(message_panel({"role": "assistant", "content": "[red]x[/red]", "thinking": "hmm",
                                 "tool_calls": [{"type": "function", "function": {"name": "search", "arguments": {"pattern": "a"}}}]}))
    text = console.export_text()
    assert "[red]x[/red]" in text and "→ search" in text and "hmm" in text
