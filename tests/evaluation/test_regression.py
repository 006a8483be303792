"""Regression rules between a candidate evaluation and its reference (SPEC §7)."""

import pytest

from apprentice.evaluation.regression import (
    Regression,
    as_json,
    compare,
    cross_language_flags,
    flatten,
    regressed,
)


def _row(rows, metric):
    return next(r for r in rows if r.metric == metric)


def test_format_accuracy_may_not_drop_at_all():
    rows = compare({"tool_call_format_accuracy": 0.989}, {"tool_call_format_accuracy": 0.99})
    assert rows == [Regression("tool_call_format_accuracy", 0.99, 0.989, pytest.approx(-0.001), True)]
    assert regressed(rows)


def test_format_accuracy_equal_or_better_is_not_flagged():
    rows = compare({"tool_call_format_accuracy": 0.99}, {"tool_call_format_accuracy": 0.99})
    assert not regressed(rows)
    assert not regressed(compare({"tool_call_format_accuracy": 1.0}, {"tool_call_format_accuracy": 0.99}))


def test_higher_is_better_metric_flags_beyond_five_percent_relative():
    # 0.70 -> 0.67 is a 4.3% relative loss: tolerated; 0.70 -> 0.66 is 5.7%: flagged.
    assert not _row(compare({"test_pass_rate": 0.67}, {"test_pass_rate": 0.70}), "test_pass_rate").flag
    assert _row(compare({"test_pass_rate": 0.66}, {"test_pass_rate": 0.70}), "test_pass_rate").flag


def test_lower_is_better_metrics_flag_on_increase():
    candidate = {"median_diff_lines": 22.0, "median_iterations_to_green": 2.0, "hallucinated_api_rate": 0.1}
    reference = {"median_diff_lines": 20.0, "median_iterations_to_green": 3.0, "hallucinated_api_rate": 0.2}
    rows = compare(candidate, reference)
    assert _row(rows, "median_diff_lines").flag  # +10%
    assert not _row(rows, "median_iterations_to_green").flag  # improved
    assert not _row(rows, "hallucinated_api_rate").flag  # halved
    assert _row(rows, "median_diff_lines").delta == pytest.approx(2.0)


def test_worsening_from_zero_is_flagged():
    rows = compare({"hallucinated_api_rate": 0.02}, {"hallucinated_api_rate": 0.0})
    assert regressed(rows)


def test_missing_values_are_reported_but_not_flagged():
    rows = compare({"lint_clean_rate": None, "test_pass_rate": 0.5}, {"lint_clean_rate": 0.8})
    assert rows == [Regression("lint_clean_rate", 0.8, None, None, False)]


def test_only_primary_metrics_present_in_both_in_report_order():
    rows = compare({"pass_at_1": 0.4, "build_pass_rate": 0.9, "other": 1.0},
                   {"build_pass_rate": 0.95, "pass_at_1": 0.4, "other": 2.0})
    assert [r.metric for r in rows] == ["build_pass_rate", "pass_at_1"]


def test_flatten_reads_records_and_bare_numbers():
    metrics_json = {"target": "python", "metrics": {
        "test_pass_rate": {"value": 0.5, "target": 0.7, "direction": "max", "meets": False},
        "median_diff_lines": {"value": None, "target": 50, "direction": "min", "meets": None},
    }}
    assert flatten(metrics_json) == {"test_pass_rate": 0.5, "median_diff_lines": None}
    assert flatten({"test_pass_rate": 3}) == {"test_pass_rate": 3.0}


def test_as_json_shape():
    rows = compare({"build_pass_rate": 0.5}, {"build_pass_rate": 0.75})
    assert as_json(rows) == [{"metric": "build_pass_rate", "reference": 0.75, "value": 0.5,
                              "delta": -0.25, "flag": True}]


def test_cross_language_flags():
    per_target = {
        "python": {"metrics": {"test_pass_rate": {"value": 0.80}, "tool_call_format_accuracy": {"value": 0.99}}},
        "rust": {"test_pass_rate": 0.69, "tool_call_format_accuracy": 0.97},  # 13.75% below: fine
        "go": {"test_pass_rate": 0.67, "tool_call_format_accuracy": 0.94},  # 16.25% below, shaky format
        "typescript": {"test_pass_rate": None, "tool_call_format_accuracy": None},
    }
    flags = cross_language_flags(per_target)
    assert flags["python"] == [] and flags["rust"] == [] and flags["typescript"] == []
    assert len(flags["go"]) == 2
    assert "more than 15% below the best (80.0%)" in flags["go"][0] and "under 95%" in flags["go"][1]
