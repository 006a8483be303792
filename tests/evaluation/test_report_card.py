"""The report card (SPEC §10): rungs per episode, counts with Wilson intervals, which rungs a stage lifted."""

import dataclasses
import json
from pathlib import Path

import pytest

from apprentice.evaluation.report_card import (
    RUNGS,
    episode_rungs,
    first_read_path,
    report_card,
    rung_table,
    rungs_lifted,
    wilson_interval,
)
from apprentice.tasks.task import Task

TASK_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "python" / "task.json"
F2P = ("tests/test_stats.py::test_median_even", "tests/test_stats.py::test_median_even_unsorted")
P2P = ("tests/test_stats.py::test_mean",)


@pytest.fixture(scope="module")
def task() -> Task:
    return dataclasses.replace(Task.from_json(TASK_FILE.read_text()), fail_to_pass=F2P, pass_to_pass=P2P)


def read(path, as_text: bool = True) -> dict:
    arguments = {"path": path}
    return {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "read_file", "arguments": json.dumps(arguments) if as_text else arguments}}]}


def outcome(passed: tuple[str, ...], failed: tuple[str, ...] = (), *, applied=True, diff_lines=2, build_ok=True) -> dict:
    return {"patch_applied": applied, "diff_lines": diff_lines, "build_ok": build_ok, "tests_complete": True,
            "tests": list(passed + failed), "tests_passed": list(passed), "tests_failed": list(failed)}


def test_wilson_interval_matches_the_closed_form():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 4)
    assert low == 0.0 and high == pytest.approx(0.4899, abs=1e-4)
    low, high = wilson_interval(36, 36)
    assert low == pytest.approx(0.9036, abs=1e-4) and high == 1.0
    low, high = wilson_interval(3, 10)
    assert (low, high) == (pytest.approx(0.1078, abs=1e-4), pytest.approx(0.6032, abs=1e-4))


def test_first_read_path_takes_json_text_or_a_dict_and_the_first_read_only():
    assert first_read_path([{"role": "system", "content": "x"}, read("./tinystats/stats.py"), read("other.py")]) == \
        "tinystats/stats.py"
    assert first_read_path([read("/tinystats/stats.py", as_text=False)]) == "tinystats/stats.py"
    assert first_read_path([{"role": "assistant", "content": "Done."}]) is None
    broken = read("x")
    broken["tool_calls"][0]["function"]["arguments"] = "{not json"
    assert first_read_path([broken]) is None


def test_a_fix_reaches_every_rung_and_a_broken_neighbour_stops_at_fail_to_pass(task):
    messages = [read(task.bug_file), {"role": "assistant", "content": "Done."}]
    assert task.bug_file == "tinystats/stats.py"
    assert episode_rungs(task, messages, outcome(F2P + P2P), 0) == dict.fromkeys(RUNGS, True)
    broke = episode_rungs(task, messages, outcome(F2P, P2P), 0)
    assert broke["fail_to_pass"] and not broke["all_green"]


def test_each_rung_fails_on_its_own_condition(task):
    messages = [read("tinystats/other.py")]
    assert episode_rungs(task, messages, outcome(F2P + P2P), 1) == {
        "format": False, "reads_named_file": False, "edit_applies": True, "builds": True,
        "fail_to_pass": True, "all_green": True}
    no_edit = episode_rungs(task, messages, outcome((), F2P + P2P, diff_lines=0), 0)
    assert (no_edit["format"], no_edit["edit_applies"], no_edit["builds"], no_edit["fail_to_pass"]) == \
        (True, False, False, False)
    syntax_error = episode_rungs(task, messages, outcome((), F2P + P2P, build_ok=False), 0)
    assert syntax_error["edit_applies"] and not syntax_error["builds"]
    half_fixed = episode_rungs(task, messages, outcome(F2P[:1] + P2P, F2P[1:]), 0)
    assert half_fixed["builds"] and not half_fixed["fail_to_pass"]
    assert not episode_rungs(task, [], outcome(F2P + P2P), 0)["format"]  # no turn at all


def test_the_card_counts_rungs_with_intervals_and_names_rows_without_rungs():
    rows = [{"rungs": dict.fromkeys(RUNGS, True)}, {"rungs": {**dict.fromkeys(RUNGS, False), "format": True}},
            {"rungs": dict.fromkeys(RUNGS, False)}, {"rungs": dict.fromkeys(RUNGS, False)}, {"task_id": "old row"}]
    card = report_card(rows)
    assert (card["episodes"], card["without_rungs"]) == (4, 1)
    assert card["rungs"]["format"] == {"count": 2, "of": 4, "rate": 0.5, "interval": [0.15, 0.85]}
    assert card["rungs"]["all_green"]["count"] == 1 and card["rungs"]["all_green"]["rate"] == 0.25
    empty = report_card([])
    assert empty["rungs"]["format"] == {"count": 0, "of": 0, "rate": None, "interval": [0.0, 1.0]}


def test_a_stage_lifts_a_rung_only_beyond_the_interval_before_it():
    def card(format_count: int, fixed: int, of: int = 8) -> dict:
        rows = [{"rungs": {**dict.fromkeys(RUNGS, False), "format": i < format_count, "fail_to_pass": i < fixed}}
                for i in range(of)]
        return report_card(rows)

    base, sft, ipo = card(0, 0), card(8, 0), card(8, 1)
    assert rungs_lifted(base, sft) == ["format"]  # 0/8 (interval up to 32%) -> 100%
    assert rungs_lifted(sft, ipo) == []  # 0/8 -> 1/8 sits inside 0-32%
    assert rungs_lifted(base, {"rungs": {}}) == [] and rungs_lifted(report_card([]), sft) == []


def test_the_rung_table_has_a_row_per_rung_and_a_column_per_version():
    rows = [{"rungs": dict.fromkeys(RUNGS, True)}, {"rungs": dict.fromkeys(RUNGS, False)}]
    table = rung_table({"base": report_card(rows[1:]), "sft": report_card(rows)})
    lines = table.splitlines()
    assert lines[0].split() == ["base", "sft"] and len(lines) == 1 + len(RUNGS)
    assert lines[1].split() == ["format", "0/1", "0%", "1/2", "50%"]
    assert rung_table({"base": report_card([])}).splitlines()[1].split() == ["format", "n/a"]


def test_the_card_is_also_kept_per_statement_level_and_level_two_may_read_a_test_file(task):
    rows = [{"level": 0, "rungs": dict.fromkeys(RUNGS, True)}, {"level": 1, "rungs": dict.fromkeys(RUNGS, False)},
            {"level": 1, "rungs": dict.fromkeys(RUNGS, True)}]
    card = report_card(rows)
    assert sorted(card["by_level"]) == ["0", "1"] and card["by_level"]["1"]["rungs"]["all_green"]["count"] == 1
    assert card["by_level"]["0"]["episodes"] == 1 and "by_level" not in card["by_level"]["0"]
    level_two = dataclasses.replace(task, level=2, statement=task.statement)
    messages = [read("tests/test_stats.py")]
    assert episode_rungs(level_two, messages, outcome(F2P + P2P), 0)["reads_named_file"]
    assert not episode_rungs(task, messages, outcome(F2P + P2P), 0)["reads_named_file"]


def test_the_rung_table_adds_the_fix_rate_per_level_when_levels_are_mixed():
    rows = [{"level": 0, "rungs": dict.fromkeys(RUNGS, True)}, {"level": 1, "rungs": dict.fromkeys(RUNGS, False)}]
    lines = rung_table({"base": report_card([{**row, "rungs": dict.fromkeys(RUNGS, False)} for row in rows]),
                        "sft": report_card(rows)}).splitlines()
    assert len(lines) == 1 + len(RUNGS) + 2
    assert lines[-2].split() == ["fail_to_pass", "L0", "0/1", "0%", "1/1", "100%"]
    assert lines[-1].split() == ["fail_to_pass", "L1", "0/1", "0%", "0/1", "0%"]


def test_the_card_is_kept_per_kind_of_bug_and_the_table_shows_deleted_statements_apart():
    rows = [{"kind": "statement_delete", "rungs": dict.fromkeys(RUNGS, False)},
            {"kind": "compare_swap", "rungs": dict.fromkeys(RUNGS, True)},
            {"kind": "statement_delete", "rungs": {**dict.fromkeys(RUNGS, False), "format": True}}]
    card = report_card(rows)
    assert sorted(card["by_kind"]) == ["compare_swap", "statement_delete"]
    assert card["by_kind"]["statement_delete"]["rungs"]["format"]["count"] == 1
    assert card["by_kind"]["statement_delete"]["episodes"] == 2
    lines = rung_table({"sft": card}).splitlines()
    assert lines[-1].split() == ["fail_to_pass", "statement_delete", "0/2", "0%"]
    assert not any("compare_swap" in line for line in lines)  # only the kinds the context cannot fix
    assert len(rung_table({"sft": report_card(rows[1:2])}).splitlines()) == 1 + len(RUNGS)
