"""Trajectory JSON lines: exact round trip, and strict rejection naming the bad field."""

import json

import pytest

from apprentice.agent.trajectory import Trajectory
from apprentice.errors import TrajectoryFormatError

MESSAGES = (
    {"role": "developer", "content": "You are a python coding agent."},
    {"role": "user", "content": "median() is wrong — fix it"},
    {"role": "assistant", "content": "", "thinking": "look first",
     "tool_calls": [{"type": "function", "function": {"name": "read_file", "arguments": {"path": "a.py"}}}]},
    {"role": "tool", "name": "read_file", "content": "def median(values): ..."},
    {"role": "assistant", "content": "Fixed."},
)


def _trajectory(**changes) -> Trajectory:
    fields = dict(task_id="t1", messages=MESSAGES, tools=({"type": "function", "function": {"name": "read_file"}},),
                  source="teacher", outcome={"reward": 1.0}, format_errors=1, tool_calls=1, turns=2,
                  tokens=321, seconds=1.5)
    return Trajectory(**{**fields, **changes})


def test_json_round_trip_is_exact():
    trajectory = _trajectory()
    line = trajectory.to_json()
    assert "\n" not in line
    assert Trajectory.from_json(line) == trajectory
    assert Trajectory.from_json(line).last_message == {"role": "assistant", "content": "Fixed."}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda raw: raw.update(extra=1), "extra"),
        (lambda raw: raw.pop("source"), "source"),
        (lambda raw: raw.update(turns="2"), "turns"),
        (lambda raw: raw.update(tokens=True), "tokens"),
        (lambda raw: raw.update(messages=[1]), "messages[0]"),
        (lambda raw: raw.update(source="human"), "human"),
        (lambda raw: raw["messages"].append({"role": "robot", "content": ""}), "robot"),
        (lambda raw: raw["messages"].append({"role": "tool", "content": "x"}), "name"),
    ],
)
def test_from_json_names_the_bad_field(change, named):
    raw = json.loads(_trajectory().to_json())
    change(raw)
    with pytest.raises(TrajectoryFormatError, match=named.replace("[", r"\[").replace("]", r"\]")):
        Trajectory.from_json(json.dumps(raw))


def test_not_json_is_a_format_error():
    with pytest.raises(TrajectoryFormatError, match="not JSON"):
        Trajectory.from_json("{oops")


def test_renders_through_the_chat_template(harmony_tokenizer):
    text = harmony_tokenizer.apply_chat_template(
        list(MESSAGES), tools=[{"type": "function", "function": {"name": "read_file", "description": "Read",
                                "parameters": {"type": "object", "properties": {}}}}], tokenize=False)
    assert "<|start|>assistant to=functions.read_file" in text
    assert "<|channel|>final<|message|>Fixed.<|return|>" in text
