"""Tiny trajectories and preference pairs for the stage tests, and a run config that trains them in seconds."""

import json
from pathlib import Path

from apprentice.agent.trajectory import Trajectory
from apprentice.config.models import load_config

TOOLS = (
    {"type": "function", "function": {"name": "read_file", "description": "Read a file of the repository.",
                                      "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                                                     "required": ["path"]}}},
    {"type": "function", "function": {"name": "run_tests", "description": "Run the tests.",
                                      "parameters": {"type": "object", "properties": {}}}},
)


def trajectory(index: int) -> Trajectory:
    """A short gold-like episode: think, read a file, run the tests, answer."""
    module = f"mod{index}.py"
    messages = (
        {"role": "developer", "content": "You are a python coding agent. Use tools to read, modify, and test code."},
        {"role": "user", "content": f"The function in {module} returns the wrong value. Fix it."},
        {"role": "assistant", "content": "", "thinking": f"Observe: {module} is wrong. Plan: read it.",
         "tool_calls": [{"type": "function", "function": {"name": "read_file", "arguments": {"path": module}}}]},
        {"role": "tool", "name": "read_file", "content": f"def f{index}():\n    return {index}\n"},
        {"role": "assistant", "content": "", "thinking": "Execute: check the tests.",
         "tool_calls": [{"type": "function", "function": {"name": "run_tests", "arguments": {}}}]},
        {"role": "tool", "name": "run_tests", "content": "2 passed"},
        {"role": "assistant", "content": f"Fixed {module}; the tests pass.", "thinking": "Done."},
    )
    return Trajectory(task_id=f"task-{index}", messages=messages, tools=TOOLS, source="gold", outcome=None,
                      tool_calls=2, turns=3)


def write_trajectories(path: Path, count: int) -> Path:
    """`count` trajectories as JSONL at `path`."""
    path.write_text("".join(trajectory(i).to_json() + "\n" for i in range(count)), encoding="utf-8")
    return path


def preference_pair(index: int) -> dict:
    """A pair in the contracts' conversational format: the chosen reads the file, the rejected guesses."""
    prompt = [{"role": "developer", "content": "You are a senior python engineer. Write minimal, correct patches."},
              {"role": "user", "content": f"Fix the bug in mod{index}.py."}]
    chosen = [{"role": "assistant", "content": "", "thinking": "Read it first.",
               "tool_calls": [{"type": "function", "function": {"name": "read_file", "arguments": {"path": f"mod{index}.py"}}}]}]
    rejected = [{"role": "assistant", "content": "It is probably fine.", "thinking": "Guess."}]
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "why": "tests pass", "task_id": f"task-{index}",
            "tools": list(TOOLS)}


def write_pairs(path: Path, count: int) -> Path:
    """`count` preference pairs as JSONL at `path`."""
    path.write_text("".join(json.dumps(preference_pair(i)) + "\n" for i in range(count)), encoding="utf-8")
    return path


SMALL = [
    "sft.max_steps=4", "sft.batch_size=1", "sft.max_seq_length=1024", "sft.format_samples=2",
    "sft.format_max_new_tokens=16", "sft.save_steps=2", "lora.rank=4", "lora.alpha=8",
    "preference.max_steps=3", "preference.max_length=512", "preference.save_steps=2",
    "pretrain.context_lengths=[64,128]", "pretrain.steps_per_length=2", "pretrain.batch_size=2",
    "pretrain.max_blocks_per_length=8", "pretrain.save_steps=2",
]


def small_config(*overrides: str):
    """The tiny profile cut down to a few steps and a handful of format probes."""
    return load_config(None, [*SMALL, *overrides])
