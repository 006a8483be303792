"""Teacher trajectories: the agent loop against an OpenAI-compatible server (a fake one, over real
HTTP), several attempts per task, only green and distinct attempts kept (rejection sampling)."""

import pytest
from fake_openai_server import FakeOpenAIServer, tool_call
from fixture_tasks import REPOS, fixture_task

from apprentice.agent.backends import OpenAIBackend
from apprentice.data.quality import check_trajectories
from apprentice.data.trajectories import teacher_trajectories
from apprentice.errors import DataError

WRONG = ("--- a/tinystats/stats.py\n+++ b/tinystats/stats.py\n@@ -10,6 +10,6 @@\n"
         '     """Middle value of a non-empty list; the mean of the two middle values when the length is even."""\n'
         "     ordered = sorted(values)\n     middle = len(ordered) // 2\n"
         "-    return float(ordered[middle])\n+    return float(ordered[middle - 1])\n \n \n")


def _green_attempt(fix: str) -> list[dict]:
    return [
        {"content": None, "reasoning_content": "Observe: median fails on even lengths. Read it.",
         "tool_calls": [tool_call("c1", "read_file", {"path": "tinystats/stats.py"})]},
        {"content": None, "reasoning_content": "Execute: average the two middle values.",
         "tool_calls": [tool_call("c2", "apply_patch", {"diff": fix})]},
        {"content": None, "tool_calls": [tool_call("c3", "run_tests", {})]},
        {"content": "median now averages the two middle values of an even-length list."},
    ]


def test_rejection_sampling_keeps_green_distinct_attempts(monkeypatch):
    fix = (REPOS / "python" / "fix.patch").read_text()
    red = [{"content": None, "tool_calls": [tool_call("c1", "apply_patch", {"diff": WRONG})]},
           {"content": "Done."}]
    monkeypatch.setenv("TEACHER_KEY", "sk-test")
    with FakeOpenAIServer(red + _green_attempt(fix) + _green_attempt(fix)) as server:
        backend = OpenAIBackend(server.base_url, "teacher", api_key_env="TEACHER_KEY", temperature=0.7)
        kept, report = teacher_trajectories([fixture_task("python")], backend, attempts=3)
    assert report.attempts == 3 and report.kept == 1
    assert report.dropped == {"tests not green": 1, "duplicate of a kept attempt": 1}
    assert kept[0].source == "teacher" and kept[0].outcome["tests_failed"] == []
    # The developer prompt of SPEC §6 went over the wire as the first message.
    assert server.requests[0]["body"]["messages"][0]["content"] == kept[0].messages[0]["content"]
    assert check_trajectories(kept).passed


def test_attempts_must_be_positive():
    with pytest.raises(DataError, match="attempts=0"):
        teacher_trajectories([], backend=None, attempts=0)
