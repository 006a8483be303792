"""Ranking candidate patches by execution, SPEC §6: hard gates in order, then soft preferences.

Hard gates, in order: the patch applies, builds/type-checks, the tests pass, lint is clean.
Soft, only between candidates equal on every hard gate: smaller diff, fewer files, more
idiomatic (rust: `Result`/`?` over `unwrap`; python: type hints; typescript: strict types;
go: wrapped errors).

A pair is kept only when the verdict is clear: a hard gate separates the two, or the soft
margin is large (`decide`). A two-line difference in diff size is noise, not a lesson.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

HARD_GATES = ("patch applies", "builds", "tests pass", "lint clean")
# Clear soft margin: the rejected diff is at least this much larger, by ratio and by lines...
SOFT_DIFF_RATIO = 1.5
SOFT_DIFF_MIN_LINES = 3
# ...or it touches more files, or it scores this many idiom points lower.
SOFT_IDIOM_MARGIN = 1

# Per language: (patterns an idiomatic added line shows, patterns it avoids).
_IDIOMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "rust": ((r"\?;", r"\bResult<", r"\.ok_or"), (r"\.unwrap\(\)", r"\.expect\(", r"\bpanic!")),
    "python": ((r"def \w+\(.*:\s*\w.*\)\s*->", r"\)\s*->\s*\S+:"), (r"except\s*:", r"# type:\s*ignore")),
    "typescript": ((r":\s*(string|number|boolean|readonly)\b",), (r":\s*any\b", r"\bas any\b", r"@ts-ignore")),
    "go": ((r"fmt\.Errorf\(.*%w", r"errors\.(Is|As|Join)\("), (r"\bpanic\(", r"_\s*=\s*err\b")),
}


@dataclass(frozen=True)
class Rank:
    """A candidate's standing: hard-gate bits (in SPEC order) and soft measures."""

    hard: tuple[bool, bool, bool, bool]
    diff_lines: int
    files: int
    idiom: int

    def key(self) -> tuple:
        """Sort key, best first when sorted descending: hard gates, then small diff, few files, idioms."""
        return (self.hard, -self.diff_lines, -self.files, self.idiom)


def idiom_score(language: str, added_lines: list[str]) -> int:
    """Idiomatic patterns minus unidiomatic ones in the lines a patch adds (SPEC §6 soft rank)."""
    good, bad = _IDIOMS.get(language, ((), ()))
    score = 0
    for line in added_lines:
        score += sum(1 for pattern in good if re.search(pattern, line))
        score -= sum(1 for pattern in bad if re.search(pattern, line))
    return score


def rank_outcome(outcome: Mapping, language: str, added_lines: list[str]) -> Rank:
    """The Rank of a graded candidate (`outcome` is an `Outcome.to_dict()`)."""
    tests_pass = bool(outcome.get("tests_complete")) and bool(outcome.get("tests")) and not outcome.get("tests_failed")
    hard = (
        bool(outcome.get("patch_applied")),
        outcome.get("build_ok") is True,
        tests_pass,
        outcome.get("lint_clean") is True,
    )
    return Rank(hard, int(outcome.get("diff_lines", 0)), len(outcome.get("files_touched", ())),
                idiom_score(language, added_lines))


def decide(better: Rank, worse: Rank) -> str:
    """Why `better` clearly beats `worse` (a hard gate or a clear soft margin), or '' when it does not."""
    for gate, mine, theirs in zip(HARD_GATES, better.hard, worse.hard, strict=True):
        if mine != theirs:
            return f"hard gate '{gate}': chosen passes, rejected fails" if mine else ""
    if worse.diff_lines >= max(better.diff_lines * SOFT_DIFF_RATIO, better.diff_lines + SOFT_DIFF_MIN_LINES):
        return f"soft: smaller diff ({better.diff_lines} lines against {worse.diff_lines})"
    if better.diff_lines <= worse.diff_lines and better.files < worse.files:
        return f"soft: fewer files ({better.files} against {worse.files})"
    if better.diff_lines <= worse.diff_lines and better.idiom - worse.idiom >= SOFT_IDIOM_MARGIN:
        return f"soft: more idiomatic (score {better.idiom} against {worse.idiom})"
    return ""
