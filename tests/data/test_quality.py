"""Quality gates (SPEC §6) over in-memory trajectories: each gate passes on good data and fails,
naming the offender, on data built to break exactly that gate."""

import pydantic
import pytest
from trajectory_factory import call, make_trajectory

from apprentice.config.models import DataGate
from apprentice.data.format_check import format_problems
from apprentice.data.quality import check_trajectories, meets_requirements, requirement_problems


def _failed(report) -> set[str]:
    return {check.name for check in report.checks if not check.passed}


def test_good_dataset_passes_every_gate():
    report = check_trajectories([make_trajectory(f"t{n}", answer=f"Fixed {n}.") for n in range(5)])
    assert report.passed and report.count == 5
    assert not _failed(report)
    assert "data check passed" in report.text()
    averages = {check.name: check.value for check in report.checks}
    assert averages["average turns"] == 4.0


def test_too_few_tool_calls_fails_tool_and_share_gates():
    data = [make_trajectory("t0"), make_trajectory("t1", tools_used=1, answer="x"), make_trajectory("t2", answer="y")]
    report = check_trajectories(data)
    assert {"tool calls", "multi-tool share", "turns in range"} <= _failed(report)
    tool_check = next(check for check in report.checks if check.name == "tool calls")
    assert tool_check.offenders == ("t1#1: 1 calls",)
    assert not report.passed and "FAIL" in report.text()


def test_share_gate_tolerates_what_the_threshold_allows():
    data = [make_trajectory(f"t{n}", answer=str(n)) for n in range(4)] + [make_trajectory("x", tools_used=1)]
    report = check_trajectories(data, DataGate(min_tool_calls=0, min_turns=1, min_multi_tool_share=0.8))
    assert "multi-tool share" not in _failed(report)
    strict = check_trajectories(data, DataGate(min_tool_calls=0, min_turns=1, min_multi_tool_share=0.9))
    assert "multi-tool share" in _failed(strict)


def test_missing_thinking_and_too_many_turns_fail():
    report = check_trajectories([make_trajectory("a", thinking=False), make_trajectory("b", tools_used=7)])
    assert {"thinking blocks", "turns in range"} <= _failed(report)


def test_duplicates_are_counted_and_named():
    report = check_trajectories([make_trajectory("t1"), make_trajectory("t1", source="teacher")])
    duplicate = next(check for check in report.checks if check.name == "duplicates")
    assert not duplicate.passed and duplicate.value == 1.0
    assert duplicate.offenders == ("t1#1: same conversation as t1#0",)


def test_format_problems_find_broken_conversations():
    good = make_trajectory()
    assert format_problems(good) == ()
    messages = list(good.messages)
    dangling = make_trajectory(messages=tuple(messages[:-2]) + (messages[-1],))  # a call's result removed
    assert any("without a result" in p for p in format_problems(dangling))
    unoffered = make_trajectory(messages=(messages[0], messages[1],
                                          {"role": "assistant", "content": "", "tool_calls": [call("rm_rf")]},
                                          {"role": "tool", "name": "rm_rf", "content": "ok"}, messages[-1]))
    assert any("'rm_rf' was not offered" in p for p in format_problems(unoffered))
    ends_on_tool = make_trajectory(messages=tuple(messages[:-1]))
    assert any("final assistant answer" in p for p in format_problems(ends_on_tool))
    late_system = make_trajectory(messages=(*messages[:-1], {"role": "system", "content": "x"}, messages[-1]))
    assert any("after the conversation started" in p for p in format_problems(late_system))
    unparsed = make_trajectory(format_errors=2)
    assert format_problems(unparsed) == ("2 completion(s) did not parse",)
    report = check_trajectories([good, unparsed])
    assert "valid format" in _failed(report)


def test_string_arguments_are_a_format_problem():
    messages = list(make_trajectory().messages)
    messages[2] = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}]}
    assert any("not an object" in p for p in format_problems(make_trajectory(messages=tuple(messages))))


def test_requirements_filter_matches_the_gates():
    gate = DataGate()
    assert meets_requirements(make_trajectory(), gate)
    problems = requirement_problems(make_trajectory(tools_used=1, thinking=False), gate)
    assert problems == ("2 turns, outside 3-7", "0 thinking blocks, under 1", "1 tool calls, under 2")


def test_empty_dataset_fails():
    report = check_trajectories([])
    assert not report.passed and report.count == 0


def test_gate_rejects_an_empty_turn_range():
    with pytest.raises(pydantic.ValidationError, match="min_turns=8 is above max_turns=7"):
        DataGate(min_turns=8)
