"""Regression checks between two evaluations (SPEC §7 "Regressions").

A candidate adapter's metrics are compared with a reference (the base model, or the version in
production). The registry refuses a promotion when :func:`regressed` is true, so the rules live
here, once:

- ``tool_call_format_accuracy`` may not drop at all (a broken tool call breaks every episode);
- any other primary metric may not worsen by more than 5% relative to the reference, in its own
  direction (lower is better for the hallucinated-API rate, the iterations to green and the diff
  size; higher is better for everything else).

A metric whose value is ``None`` on either side (lint never ran, nothing reached green) gets a
row with ``delta=None`` and is never flagged: there is no number to compare, and the metrics that
did move (test pass rate, for instance) carry the regression.
"""

from __future__ import annotations

from dataclasses import dataclass

# Primary metrics in report order; the value is True where a lower number is better.
LOWER_IS_BETTER: dict[str, bool] = {
    "build_pass_rate": False,
    "test_pass_rate": False,
    "lint_clean_rate": False,
    "tool_call_format_accuracy": False,
    "hallucinated_api_rate": True,
    "median_iterations_to_green": True,
    "median_diff_lines": True,
    "pass_at_1": False,
    "pass_at_k": False,
}
PRIMARY_METRICS: tuple[str, ...] = tuple(LOWER_IS_BETTER)

# SPEC §7: "no adapter may lose more than 5%" — read as 5% of the reference value.
RELATIVE_TOLERANCE = 0.05
# Metrics that may not drop at all (SPEC §7: "and none on tool-call format accuracy").
ZERO_TOLERANCE = frozenset({"tool_call_format_accuracy"})
# Float noise from averaging must not count as a drop.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Regression:
    """One primary metric compared with its reference; ``flag`` is True when it regressed."""

    metric: str
    reference: float | None
    value: float | None
    delta: float | None
    flag: bool


def compare(candidate: dict[str, float | None], reference: dict[str, float | None]) -> list[Regression]:
    """Compare flat ``{metric: value}`` maps; one row per primary metric present in both, in report order."""
    rows = []
    for metric in PRIMARY_METRICS:
        if metric in candidate and metric in reference:
            rows.append(_compare_one(metric, candidate[metric], reference[metric]))
    return rows


def regressed(rows: list[Regression]) -> bool:
    """True when any row is flagged."""
    return any(row.flag for row in rows)


def flatten(metrics_json: dict) -> dict[str, float | None]:
    """``metrics.json`` (or its ``"metrics"`` block) -> ``{name: value}``.

    Entries may be ``{"value": ..., "target": ...}`` records (as written by the harness) or bare
    numbers (as stored in a registry record's snapshot).
    """
    block = metrics_json.get("metrics", metrics_json)
    flat: dict[str, float | None] = {}
    for name, entry in block.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = None if value is None else float(value)
    return flat


def as_json(rows: list[Regression]) -> list[dict]:
    """Rows as the ``regressions`` lists of metrics.json."""
    return [
        {"metric": r.metric, "reference": r.reference, "value": r.value, "delta": r.delta, "flag": r.flag}
        for r in rows
    ]


def _compare_one(metric: str, value: float | None, reference: float | None) -> Regression:
    if value is None or reference is None:
        return Regression(metric, reference, value, None, False)
    delta = value - reference
    # Worsening expressed as a positive number whatever the metric's direction.
    worsening = delta if LOWER_IS_BETTER[metric] else -delta
    if metric in ZERO_TOLERANCE:
        flag = worsening > _EPSILON
    elif reference == 0:
        # Relative change from zero is unbounded: any worsening counts.
        flag = worsening > _EPSILON
    else:
        flag = worsening > RELATIVE_TOLERANCE * abs(reference) + _EPSILON
    return Regression(metric, reference, value, delta, flag)


# SPEC §7 "Across languages": flag an adapter far behind the best one, or with shaky tool calls.
CROSS_LANGUAGE_GAP = 0.15  # relative to the best test pass rate among the targets
CROSS_LANGUAGE_FORMAT_FLOOR = 0.95


def cross_language_flags(per_target: dict[str, dict]) -> dict[str, list[str]]:
    """``{target: [reasons]}`` for every target, empty when nothing is flagged.

    `per_target` maps each target to its metrics.json (or a flat ``{metric: value}``). A target is
    flagged when its test pass rate is more than 15% (relative) below the best target's, or when
    its tool-call format accuracy is under 95%.
    """
    flat = {target: flatten(metrics) for target, metrics in per_target.items()}
    rates = [values["test_pass_rate"] for values in flat.values() if values.get("test_pass_rate") is not None]
    best = max(rates, default=None)
    flags: dict[str, list[str]] = {}
    for target, values in flat.items():
        reasons = []
        rate, accuracy = values.get("test_pass_rate"), values.get("tool_call_format_accuracy")
        if best and rate is not None and rate < best * (1 - CROSS_LANGUAGE_GAP) - _EPSILON:
            reasons.append(f"test pass rate {rate:.1%} is more than {CROSS_LANGUAGE_GAP:.0%} below the best ({best:.1%})")
        if accuracy is not None and accuracy < CROSS_LANGUAGE_FORMAT_FLOOR:
            reasons.append(f"tool-call format accuracy {accuracy:.1%} is under {CROSS_LANGUAGE_FORMAT_FLOOR:.0%}")
        flags[target] = reasons
    return flags
