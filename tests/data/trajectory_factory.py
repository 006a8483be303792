"""Small in-memory trajectories for quality and mix tests (no sandbox, no model)."""

from __future__ import annotations

from apprentice.agent.trajectory import Trajectory

TOOLS = tuple(
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
    for name in ("read_file", "apply_patch", "run_tests")
)


def call(name: str, **arguments) -> dict:
    """One tool call in the OpenAI shape."""
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def make_trajectory(task_id: str = "t1", *, tools_used: int = 3, thinking: bool = True,
                    answer: str = "Fixed.", source: str = "gold", **overrides) -> Trajectory:
    """A well-formed trajectory: developer, user, one assistant turn per tool, then a final answer."""
    messages: list[dict] = [
        {"role": "developer", "content": "You are a python coding agent."},
        {"role": "user", "content": f"Fix {task_id}."},
    ]
    names = ("read_file", "apply_patch", "run_tests")
    for index in range(tools_used):
        name = names[index % len(names)]
        turn = {"role": "assistant", "content": "", "tool_calls": [call(name, path="a.py")]}
        if thinking and index == 0:
            turn["thinking"] = "Observe: a test fails. Execute: read the file."
        messages += [turn, {"role": "tool", "name": name, "content": f"result {index}"}]
    messages.append({"role": "assistant", "content": answer})
    fields = {"task_id": task_id, "messages": tuple(messages), "tools": TOOLS, "source": source, "outcome": None}
    return Trajectory(**{**fields, **overrides})
