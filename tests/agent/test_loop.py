"""The agent loop end to end: a scripted backend, a teacher over HTTP (fake server), the embedded base."""

from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAIServer, tool_call

from apprentice.agent.backends import LocalBackend, OpenAIBackend, Reply
from apprentice.agent.loop import LoopConfig, run_episode
from apprentice.agent.trajectory import Trajectory
from apprentice.errors import BackendError, ConfigError


class ScriptedBackend:
    """Replies from a list, in order; records the conversations it was shown."""

    source = "template"

    def __init__(self, replies: list[Reply]):
        self.replies, self.seen = list(replies), []

    def respond(self, messages, tools):
        self.seen.append([dict(message) for message in messages])
        return self.replies.pop(0)


def call(name: str, arguments) -> Reply:
    message = {"role": "assistant", "content": "",
               "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}
    return Reply(message, None, "", 10, 5)


def final(text: str = "Fixed.") -> Reply:
    return Reply({"role": "assistant", "content": text}, None, "", 10, 3)


def garbage() -> Reply:
    return Reply({"role": "assistant", "content": "zzz"}, "no final answer and no tool call", "zzz", 10, 7)


def test_scripted_fix_earns_full_reward(python_task, python_fix):
    backend = ScriptedBackend([call("apply_patch", {"diff": python_fix}), call("run_tests", {}), final()])
    trajectory = run_episode(backend, python_task, LoopConfig())
    assert trajectory.outcome["tests_failed"] == [] and trajectory.outcome["reward"] == 1.0
    assert (trajectory.turns, trajectory.tool_calls, trajectory.format_errors, trajectory.tokens) == (3, 2, 0, 5 + 5 + 3)
    assert [message["role"] for message in trajectory.messages] == [
        "system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert "tests: 5/5 passed" in trajectory.messages[5]["content"]
    assert trajectory.source == "template" and trajectory.seconds > 0
    assert Trajectory.from_json(trajectory.to_json()) == trajectory


def test_bad_input_is_seen_by_the_model_and_nothing_crashes(python_task):
    bad = [call("delete_everything", {}), call("read_file", {"path": 7}), call("read_file", {"path": "../../etc/passwd"}),
           call("apply_patch", {"diff": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"}), garbage(), final("I give up.")]
    backend = ScriptedBackend(bad)
    trajectory = run_episode(backend, python_task, LoopConfig())
    results = [message["content"] for message in trajectory.messages if message["role"] == "tool"]
    assert len(results) == 4 and all(result.startswith("error:") for result in results)
    assert "unknown tool" in results[0] and "outside the workspace" in results[2]
    assert trajectory.format_errors == 1 and trajectory.turns == 6
    assert "could not be read" in backend.seen[-1][-1]["content"]  # the model was told
    assert trajectory.outcome["error"] == "patch is empty" and trajectory.outcome["reward"] < 1.0


def test_limits_stop_the_loop(python_task):
    many = ScriptedBackend([call("list_files", {"dir": "."})] * 10)
    assert run_episode(many, python_task, LoopConfig(max_turns=3)).turns == 3
    capped = ScriptedBackend([call("list_files", {"dir": "."})] * 10)
    assert run_episode(capped, python_task, LoopConfig(max_tool_calls=2)).tool_calls == 2
    strict = run_episode(ScriptedBackend([garbage(), final()]), python_task, LoopConfig(stop_on_format_error=True))
    assert (strict.turns, strict.format_errors) == (1, 1)
    with pytest.raises(ConfigError, match="max_turns"):
        LoopConfig(max_turns=0)


def test_teacher_over_http_fixes_the_task(python_task, python_fix, monkeypatch):
    replies = [
        {"content": None, "reasoning_content": "Look at median first.",
         "tool_calls": [tool_call("c1", "read_file", {"path": "tinystats/stats.py"})]},
        {"content": None, "tool_calls": [tool_call("c2", "apply_patch", {"diff": python_fix})]},
        {"content": None, "tool_calls": [tool_call("c3", "run_tests", {"selection": "median"})]},
        {"content": "The even case now averages the two middle values."},
    ]
    monkeypatch.setenv("TEACHER_KEY", "sk-test")
    with FakeOpenAIServer(replies) as server:
        backend = OpenAIBackend(server.base_url, "teacher-model", api_key_env="TEACHER_KEY")
        trajectory = run_episode(backend, python_task, LoopConfig())
    assert trajectory.outcome["reward"] == 1.0 and trajectory.source == "teacher"
    assert trajectory.messages[2]["thinking"] == "Look at median first."
    assert trajectory.tool_calls == 3 and trajectory.tokens == 80
    last = server.requests[-1]
    assert last["auth"] == "Bearer sk-test" and last["body"]["model"] == "teacher-model"
    wire = last["body"]["messages"]
    assert [tool["tool_call_id"] for tool in wire if tool["role"] == "tool"] == ["call_0", "call_1", "call_2"]
    assert {tool["function"]["name"] for tool in last["body"]["tools"]} >= {"apply_patch", "run_tests"}


def test_teacher_malformed_arguments_and_cutoff_are_format_errors(python_task, monkeypatch):
    replies = [
        {"content": None, "tool_calls": [tool_call("c1", "read_file", '{"path": ')]},
        {"content": "half an answ", "finish_reason": "length"},
        {"content": "Done."},
    ]
    monkeypatch.setenv("TEACHER_KEY", "sk-test")
    with FakeOpenAIServer(replies) as server:
        trajectory = run_episode(OpenAIBackend(server.base_url, "m", api_key_env="TEACHER_KEY"), python_task, LoopConfig())
    assert trajectory.format_errors == 2 and trajectory.turns == 3 and trajectory.tool_calls == 0


def test_teacher_errors_are_named(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    with pytest.raises(BackendError, match="NO_SUCH_KEY"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="NO_SUCH_KEY")
    with FakeOpenAIServer([]) as server, pytest.raises(BackendError, match="failed"):
        OpenAIBackend(server.base_url, "m", api_key_env=None).respond([{"role": "user", "content": "hi"}], [])


def test_embedded_base_plays_an_unskilled_episode(tiny_base, python_task):
    backend = LocalBackend(tiny_base, max_new_tokens=12, seed=0)
    trajectory = run_episode(backend, python_task, LoopConfig(max_turns=2))
    assert trajectory.turns == 2 and trajectory.tokens > 0
    assert trajectory.format_errors == 2  # random weights do not speak Harmony
    assert trajectory.outcome is not None and trajectory.outcome["reward"] < 1.0
    assert "<|" not in trajectory.messages[2]["content"]
