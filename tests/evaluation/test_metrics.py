"""SPEC §7 metrics on hand-built result rows, each metric landing strictly between 0 and 1 (or a real median)."""

from math import comb

import pytest

from apprentice.errors import EvaluationError
from apprentice.evaluation.metrics import (
    TARGETS,
    compute_metrics,
    iterations_to_green,
    mean_pass_at_k,
    metric_values,
    pass_at_k,
)


def row(task, attempt, *, build, passed, lint, diff, iters, turns, errors, hallucinated=(), skipped=""):
    return {"task_id": task, "attempt": attempt, "language": "python", "build_ok": build, "all_tests_pass": passed,
            "lint_clean": lint, "diff_lines": diff, "iterations_to_green": iters, "assistant_turns": turns,
            "format_errors": errors, "hallucinated_calls": list(hallucinated), "grading_skipped": skipped}


ROWS = [
    row("A", 0, build=True, passed=True, lint=True, diff=10, iters=1, turns=3, errors=0),
    row("A", 1, build=True, passed=True, lint=True, diff=20, iters=4, turns=5, errors=1),
    row("B", 0, build=True, passed=True, lint=False, diff=6, iters=3, turns=4, errors=0),
    row("B", 1, build=True, passed=False, lint=False, diff=30, iters=None, turns=6, errors=0,
        hallucinated=["numpy.frobnicate"]),
    row("C", 0, build=False, passed=False, lint=None, diff=4, iters=None, turns=4, errors=0),
    row("C", 1, build=None, passed=False, lint=None, diff=0, iters=None, turns=2, errors=2),  # empty patch
    # Grading could not run (toolchain missing): only its assistant turns count.
    row("D", 0, build=None, passed=False, lint=None, diff=8, iters=None, turns=4, errors=0, skipped="cargo missing"),
]


def test_every_metric_on_hand_built_rows():
    values = metric_values(ROWS, k=2)
    assert values["build_pass_rate"] == pytest.approx(4 / 6)
    assert values["test_pass_rate"] == pytest.approx(3 / 6)
    assert values["lint_clean_rate"] == pytest.approx(2 / 4)  # only where lint ran
    assert values["tool_call_format_accuracy"] == pytest.approx(25 / 28)
    assert values["hallucinated_api_rate"] == pytest.approx(1 / 5)  # over non-empty graded patches
    assert values["median_iterations_to_green"] == 3.0  # median of 1, 4, 3
    assert values["median_diff_lines"] == 10.0  # median of 10, 20, 6, 30, 4
    assert values["pass_at_1"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert values["pass_at_k"] == pytest.approx((1 + 1 + 0) / 3)


def test_metrics_are_judged_against_the_language_targets():
    metrics = compute_metrics(ROWS, "rust", k=2)
    assert set(metrics) == set(TARGETS)
    assert metrics["build_pass_rate"] == {"value": pytest.approx(4 / 6), "target": 0.85, "direction": "max",
                                          "meets": False}
    assert metrics["lint_clean_rate"]["target"] == 0.80  # rust's column, not python's 0.70
    assert metrics["median_iterations_to_green"]["meets"] is True  # 3 <= 3
    assert metrics["hallucinated_api_rate"] == {"value": pytest.approx(0.2), "target": 0.05, "direction": "min",
                                                "meets": False}
    assert metrics["median_diff_lines"]["meets"] is True


def test_unknown_language_and_empty_denominators():
    with pytest.raises(EvaluationError, match="known: python"):
        compute_metrics(ROWS, "cobol", k=2)
    values = metric_values([ROWS[-1]], k=1)  # only a skipped attempt
    assert values["test_pass_rate"] is None and values["pass_at_1"] is None
    assert compute_metrics([ROWS[-1]], "go", k=1)["test_pass_rate"]["meets"] is None


def test_pass_at_k_matches_the_binomial_definition():
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 0.7
    for n in range(1, 9):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected)
    with pytest.raises(EvaluationError, match="c=4"):
        pass_at_k(3, 4, 1)


def test_mean_pass_at_k_uses_each_task_own_attempt_count():
    rows = [row("A", 0, build=True, passed=False, lint=None, diff=1, iters=None, turns=1, errors=0),
            row("A", 1, build=True, passed=False, lint=None, diff=1, iters=None, turns=1, errors=0),
            row("A", 2, build=True, passed=True, lint=None, diff=1, iters=1, turns=1, errors=0),
            row("B", 0, build=True, passed=True, lint=None, diff=1, iters=1, turns=1, errors=0)]
    # A: n=3, c=1, k=2 -> 1 - C(2,2)/C(3,2) = 2/3; B: n=1 < k, so k=1 -> 1.
    assert mean_pass_at_k(rows, 2) == pytest.approx((2 / 3 + 1) / 2)


def test_iterations_to_green_counts_run_tests_calls():
    messages = [
        {"role": "tool", "name": "read_file", "content": "tests: 5/5 passed"},  # not a run_tests result
        {"role": "tool", "name": "run_tests", "content": "no edits yet: the tests ran on the repository as given"},
        {"role": "tool", "name": "run_tests", "content": "patch applied: yes\nbuild: ok\ntests: 3/5 passed"},
        {"role": "tool", "name": "run_tests", "content": "patch applied: yes\nbuild: ok\ntests: 5/5 passed"},
    ]
    assert iterations_to_green(messages) == 3
    assert iterations_to_green(messages[:3]) is None
