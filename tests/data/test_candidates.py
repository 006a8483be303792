"""Preference pairs end to end: the gold fix and scripted model episodes (a correct patch, a bloated
one, one that fails the tests, one that does not apply), graded in the sandbox, then ranked."""

from fixture_tasks import REPOS, fixture_task

from apprentice.agent.backends import Reply
from apprentice.data.candidates import preferences_for_tasks
from apprentice.data.preferences import PreferencePair
from apprentice.data.prompts import IPO_PROMPT

HEADER = ("--- a/tinystats/stats.py\n+++ b/tinystats/stats.py\n@@ -10,6 +10,{new} @@\n"
          '     """Middle value of a non-empty list; the mean of the two middle values when the length is even."""\n'
          "     ordered = sorted(values)\n     middle = len(ordered) // 2\n")
BLOATED = HEADER.format(new=14) + (
    "+    count = len(ordered)\n+    is_even = count % 2 == 0\n+    if is_even:\n+        lower = ordered[middle - 1]\n"
    "+        upper = ordered[middle]\n+        total = lower + upper\n+        average = total / 2.0\n"
    "+        return average\n     return float(ordered[middle])\n \n \n")
FAILING = HEADER.format(new=6) + "-    return float(ordered[middle])\n+    return float(ordered[middle - 1])\n \n \n"
UNAPPLIABLE = HEADER.replace("ordered = sorted", "ordered = list").format(new=7) + "+    pass\n \n \n"


class PatchingBackend:
    """Each episode: apply one scripted patch, then answer. Records the prompts it saw."""

    source = "self"

    def __init__(self, patches: list[str]):
        self.patches, self.prompts, self._pending = list(patches), [], None

    def respond(self, messages, tools):
        if self._pending is None:
            self.prompts.append(messages[0]["content"])
            self._pending = self.patches.pop(0)
            call = {"type": "function", "function": {"name": "apply_patch", "arguments": {"diff": self._pending}}}
            return Reply({"role": "assistant", "content": "", "thinking": "Patch it.", "tool_calls": [call]},
                         None, "", 10, 5)
        self._pending = None
        return Reply({"role": "assistant", "content": "Done."}, None, "", 10, 2)


def test_pairs_rank_gold_over_a_clearly_worse_candidate():
    fix = (REPOS / "python" / "fix.patch").read_text()
    backend = PatchingBackend([UNAPPLIABLE, FAILING, BLOATED, fix])
    pairs, report = preferences_for_tasks([fixture_task("python")], backend, samples=4)
    assert report.candidates == 5 and report.pairs == 1
    pair = pairs[0]
    # The hardest clear negative: the bloated patch passes every hard gate, but its diff is 4x larger.
    assert pair.why == "soft: smaller diff (2 lines against 8)"
    rejected_patch = next(m for m in pair.rejected if m.get("tool_calls"))["tool_calls"][0]["function"]["arguments"]
    assert rejected_patch["diff"] == BLOATED
    assert pair.prompt[0]["content"] == IPO_PROMPT.format(language="python") == backend.prompts[0]
    assert PreferencePair.from_json(pair.to_json()) == pair
    assert report.decided_by == {"soft: smaller diff": 1}


def test_without_a_bloated_candidate_a_hard_gate_decides():
    backend = PatchingBackend([FAILING, UNAPPLIABLE])
    pairs, report = preferences_for_tasks([fixture_task("python")], backend, samples=2)
    assert pairs[0].why == "hard gate 'tests pass': chosen passes, rejected fails"
    assert "decided by hard gate 'tests pass': chosen passes, rejected fails: 1" in report.text()
