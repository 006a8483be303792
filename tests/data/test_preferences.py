"""Preference pairs from graded candidates: chosen must be green, rejected clearly worse."""

import pytest
from trajectory_factory import call, make_trajectory

from apprentice.data.preferences import PreferencePair, added_lines, preference_pair
from apprentice.errors import DataError


def _graded(task_id="t1", *, failed=(), applied=True, diff=2, files=("a.py",), patch="+x = 1\n", answer="done"):
    outcome = {"patch_applied": applied, "build_ok": applied or None, "tests_complete": applied,
               "tests": [{"id": "t"}], "tests_failed": list(failed), "lint_clean": applied and not failed,
               "diff_lines": diff, "files_touched": list(files)}
    trajectory = make_trajectory(task_id, answer=answer, outcome=outcome)
    messages = list(trajectory.messages)
    messages[4] = {"role": "assistant", "content": "", "tool_calls": [call("apply_patch", diff=patch)]}
    return make_trajectory(task_id, answer=answer, outcome=outcome, messages=tuple(messages))


def test_green_beats_red_on_a_hard_gate():
    gold = _graded(answer="gold")
    broken = _graded(failed=("t",), answer="broken")
    pair, reason = preference_pair([broken, gold], "python")
    assert reason == "" and pair is not None
    assert pair.why == "hard gate 'tests pass': chosen passes, rejected fails"
    assert [m["role"] for m in pair.prompt] == ["developer", "user"]
    assert pair.chosen[-1]["content"] == "gold" and pair.rejected[-1]["content"] == "broken"
    assert pair.chosen[0]["role"] == "assistant"
    assert PreferencePair.from_json(pair.to_json()) == pair


def test_hardest_clear_negative_is_picked():
    gold = _graded(answer="gold")
    noisy = _graded(diff=3, answer="near-tie")  # not clearly worse: skipped
    bloated = _graded(diff=10, answer="bloated")
    unapplied = _graded(applied=False, diff=0, files=(), answer="unapplied")
    pair, _ = preference_pair([unapplied, bloated, noisy, gold], "python")
    assert pair.rejected[-1]["content"] == "bloated"
    assert pair.why == "soft: smaller diff (2 lines against 10)"


def test_no_clear_pair_is_counted_not_forced():
    ties = [_graded("a", answer="one"), _graded("a", diff=3, answer="two")]
    reds = [_graded("b", failed=("t",), answer="x"), _graded("b", applied=False, answer="y")]
    verdicts = [preference_pair(group, "python") for group in (ties, reds, [_graded("c")])]
    assert [pair for pair, _ in verdicts] == [None, None, None]
    assert [reason for _, reason in verdicts] == [
        "no candidate is clearly worse than the best", "no candidate passes the tests", "fewer than 2 candidates"]


def test_ungraded_candidates_and_bad_records_are_errors():
    with pytest.raises(DataError, match="has no outcome"):
        preference_pair([make_trajectory(), make_trajectory(answer="b")], "python")
    with pytest.raises(DataError, match="exactly the fields"):
        PreferencePair.from_json('{"prompt": [], "chosen": []}')


def test_added_lines_read_patches_and_written_files():
    trajectory = _graded(patch="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 0\n+x: int = 1\n")
    assert added_lines(trajectory) == ["x: int = 1"]
