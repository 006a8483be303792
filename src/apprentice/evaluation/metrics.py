"""The SPEC §7 evaluation metrics, computed from per-attempt result rows (results.jsonl).

Each row is one (task, attempt) episode, graded. Definitions (the denominators matter):

- build_pass_rate: attempts whose patch built / passed the syntax check (``build_ok`` true),
  over graded attempts. An empty or unappliable patch never reaches the build: it counts as a
  failure, because the agent did not produce a buildable change.
- test_pass_rate: attempts where every required test passed, over graded attempts.
- lint_clean_rate: attempts with ``lint_clean`` true over the attempts where lint *ran*
  (``lint_clean`` not null); attempts whose lint was skipped or never reached are left out.
- tool_call_format_accuracy: assistant turns that parsed over all assistant turns.
- hallucinated_api_rate: attempts whose patch adds at least one call or import that resolves
  nowhere (see ``hallucination.py``), over attempts with a non-empty patch (an empty patch
  cannot hallucinate; counting it would dilute the rate).
- median_iterations_to_green: median over attempts that reached green of the 1-based index of
  the first ``run_tests`` call whose report was all green.
- median_diff_lines: median changed lines over attempts with a non-empty patch.
- pass_at_1 / pass_at_k: the unbiased estimator of Chen et al. 2021 (Codex),
  ``1 - C(n-c, k) / C(n, k)`` per task with n attempts and c passing, averaged over tasks.

"Graded" leaves out attempts whose grading could not run on this machine (a missing toolchain,
``grading_skipped`` set): they say nothing about the model. A metric with no attempt in its
denominator is ``None``.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict

from apprentice.errors import EvaluationError

# SPEC §7, one column per language. pass@1 and pass@k have no SPEC row: they estimate the same
# thing as the test pass rate, so they are held to its target.
TARGETS: dict[str, dict[str, float]] = {
    "build_pass_rate":            {"python": 0.90, "rust": 0.85, "typescript": 0.85, "go": 0.85},
    "test_pass_rate":             {"python": 0.70, "rust": 0.70, "typescript": 0.70, "go": 0.70},
    "lint_clean_rate":            {"python": 0.70, "rust": 0.80, "typescript": 0.80, "go": 0.75},
    "tool_call_format_accuracy":  {"python": 0.99, "rust": 0.99, "typescript": 0.99, "go": 0.99},
    "hallucinated_api_rate":      {"python": 0.05, "rust": 0.05, "typescript": 0.05, "go": 0.05},
    "median_iterations_to_green": {"python": 3.0, "rust": 3.0, "typescript": 3.0, "go": 3.0},
    "median_diff_lines":          {"python": 50.0, "rust": 50.0, "typescript": 50.0, "go": 50.0},
    "pass_at_1":                  {"python": 0.70, "rust": 0.70, "typescript": 0.70, "go": 0.70},
    "pass_at_k":                  {"python": 0.70, "rust": 0.70, "typescript": 0.70, "go": 0.70},
}
# "min": the target is a ceiling (lower is better); "max": a floor (higher is better).
DIRECTIONS: dict[str, str] = {
    name: "min" if name in {"hallucinated_api_rate", "median_iterations_to_green", "median_diff_lines"} else "max"
    for name in TARGETS
}
# SPEC writes "< 5%" for hallucinations (strict) and "≤" for the medians.
_STRICT_CEILINGS = frozenset({"hallucinated_api_rate"})
_TESTS_LINE = re.compile(r"^tests: (?P<passed>\d+)/(?P<total>\d+) passed$", re.MULTILINE)


def compute_metrics(rows: list[dict], language: str, k: int) -> dict[str, dict]:
    """``{metric: {"value", "target", "direction", "meets"}}`` for the rows of one language."""
    if language not in TARGETS["test_pass_rate"]:
        raise EvaluationError(f"no SPEC §7 targets for language '{language}' (known: {', '.join(TARGETS['test_pass_rate'])})")
    values = metric_values(rows, k)
    return {name: _judged(name, values[name], TARGETS[name][language]) for name in TARGETS}


def metric_values(rows: list[dict], k: int) -> dict[str, float | None]:
    """The raw value of every metric (see the module docstring for each definition)."""
    graded = [row for row in rows if not row.get("grading_skipped")]
    patched = [row for row in graded if row["diff_lines"] > 0]
    linted = [row for row in graded if row["lint_clean"] is not None]
    turns = sum(row["assistant_turns"] for row in rows)
    green = [row["iterations_to_green"] for row in graded if row["iterations_to_green"] is not None]
    return {
        "build_pass_rate": _share(graded, lambda row: row["build_ok"] is True),
        "test_pass_rate": _share(graded, lambda row: row["all_tests_pass"]),
        "lint_clean_rate": _share(linted, lambda row: row["lint_clean"]),
        "tool_call_format_accuracy": (turns - sum(row["format_errors"] for row in rows)) / turns if turns else None,
        "hallucinated_api_rate": _share(patched, lambda row: bool(row["hallucinated_calls"])),
        "median_iterations_to_green": float(statistics.median(green)) if green else None,
        "median_diff_lines": float(statistics.median(row["diff_lines"] for row in patched)) if patched else None,
        "pass_at_1": mean_pass_at_k(graded, 1),
        "pass_at_k": mean_pass_at_k(graded, k),
    }


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one task: ``1 - C(n-c, k) / C(n, k)`` (n attempts, c of them passing)."""
    if not 0 <= c <= n or k < 1:
        raise EvaluationError(f"pass@k needs 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # The product form of the ratio of binomials: exact for small n, no huge integers for large n.
    ratio = 1.0
    for i in range(n - c + 1, n + 1):
        ratio *= 1.0 - k / i
    return 1.0 - ratio


def mean_pass_at_k(rows: list[dict], k: int) -> float | None:
    """pass@k averaged over the tasks in `rows`; a task with fewer than k attempts uses k = its n."""
    passed: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        passed[row["task_id"]].append(bool(row["all_tests_pass"]))
    if not passed:
        return None
    scores = [pass_at_k(len(runs), sum(runs), min(k, len(runs))) for runs in passed.values()]
    return sum(scores) / len(scores)


def meets_target(name: str, value: float | None, target: float) -> bool | None:
    """Whether `value` meets the SPEC §7 target of metric `name` (None when there is no value)."""
    if value is None:
        return None
    if DIRECTIONS[name] == "max":
        return value >= target
    return value < target if name in _STRICT_CEILINGS else value <= target


def _judged(name: str, value: float | None, target: float) -> dict:
    return {"value": value, "target": target, "direction": DIRECTIONS[name], "meets": meets_target(name, value, target)}


def _share(rows: list[dict], predicate) -> float | None:
    return sum(1 for row in rows if predicate(row)) / len(rows) if rows else None


def iterations_to_green(messages: list[dict]) -> int | None:
    """The 1-based index of the first ``run_tests`` result that reports every test passing, or None.

    The tool reports ``tests: P/T passed`` after grading the workspace's diff; the run on an
    unchanged repository never prints that line (the bug is still there), so it cannot be green.
    """
    runs = [message["content"] for message in messages if message.get("role") == "tool" and message.get("name") == "run_tests"]
    for index, report in enumerate(runs, start=1):
        match = _TESTS_LINE.search(report)
        if match and match["passed"] == match["total"] and int(match["total"]) > 0:
            return index
    return None
