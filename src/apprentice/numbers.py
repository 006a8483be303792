"""How a measured number reads in a table, a card or a log line: four significant digits, a dash when missing."""

from __future__ import annotations


def short_number(value: object, missing: str = "-") -> str:
    """`0.1562` for floats, ints and other values as they are, `missing` for None."""
    if value is None:
        return missing
    return f"{value:.4g}" if isinstance(value, float) else str(value)
