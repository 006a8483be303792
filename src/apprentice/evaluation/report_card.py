"""The report card of SPEC §10: the rungs each held-out episode reached, counted with Wilson intervals.

    rungs = episode_rungs(task, messages, outcome, format_errors)    # one episode: {rung: bool}
    card = report_card(rows)                                          # one version: counts and intervals
    helped = rungs_lifted(card_before, card_after)                    # which rungs a stage lifted

The rungs, in order (each a yes/no of its own; the last four form a ladder):

1. `format`: every assistant turn parsed as a tool call or an answer.
2. `reads_named_file`: the episode's first `read_file` names the file the task's bug is in (the
   file a level 0-1 statement names); at level 2, that file or a failing test's file (the
   statement names only the tests; their traceback leads to the bug).
3. `edit_applies`: the episode left a non-empty diff that applied.
4. `builds`: that diff builds / passes the syntax check.
5. `fail_to_pass`: every fail-to-pass test passes (the bug is fixed).
6. `all_green`: every test passes (fixed without breaking anything).

A stage *helps* a rung when its rate sits above the previous version's Wilson 95% interval.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

from apprentice.tasks.task import Task

RUNGS = ("format", "reads_named_file", "edit_applies", "builds", "fail_to_pass", "all_green")
Z_95 = 1.96


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of `successes / trials` (95% by default); (0, 1) for no trials."""
    if not trials:
        return 0.0, 1.0
    share = successes / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def first_read_path(messages: Iterable[Mapping]) -> str | None:
    """The path the episode's first `read_file` call names ("./" and "/" stripped), None when it read nothing."""
    for message in messages:
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            if function.get("name") != "read_file":
                continue
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except json.JSONDecodeError:
                    return None
            path = arguments.get("path") if isinstance(arguments, dict) else None
            return path.removeprefix("./").lstrip("/") if isinstance(path, str) else None
    return None


def named_files(task: Task) -> set[str]:
    """The files a first read should target: the bug's file, and at level 2 the failing tests' files too."""
    if task.level < 2:
        return {task.bug_file}
    return {task.bug_file, *(test_id.split("::")[0] for test_id in task.fail_to_pass if "::" in test_id)}


def episode_rungs(task: Task, messages: list[Mapping], outcome: Mapping, format_errors: int) -> dict[str, bool]:
    """Which of the six rungs one graded episode reached (see the module docstring)."""
    turns = sum(1 for message in messages if message.get("role") == "assistant")
    passed = set(outcome.get("tests_passed") or ())
    complete = bool(outcome.get("tests_complete"))
    applies = bool(outcome.get("patch_applied")) and (outcome.get("diff_lines") or 0) > 0
    builds = applies and outcome.get("build_ok") is True
    fixed = builds and complete and bool(task.fail_to_pass) and set(task.fail_to_pass) <= passed
    return {
        "format": turns > 0 and format_errors == 0,
        "reads_named_file": first_read_path(messages) in named_files(task),
        "edit_applies": applies,
        "builds": builds,
        "fail_to_pass": fixed,
        "all_green": fixed and not outcome.get("tests_failed") and bool(outcome.get("tests")),
    }


def report_card(rows: list[dict]) -> dict:
    """`{"episodes", "without_rungs", "rungs": {rung: {"count", "of", "rate", "interval"}}, "by_level"}`.

    `by_level` holds the same card for the rows of each statement level ("0", "1", "2"), `by_kind` for
    each kind of bug (`Task.bug_kind`). Rows written before the card existed have no `rungs`; they are counted
    in `"without_rungs"`.
    """
    card = _card(rows)
    levels = sorted({row["level"] for row in rows if isinstance(row.get("level"), int)})
    card["by_level"] = {str(level): _card([row for row in rows if row.get("level") == level]) for level in levels}
    kinds = sorted({row["kind"] for row in rows if isinstance(row.get("kind"), str)})
    card["by_kind"] = {kind: _card([row for row in rows if row.get("kind") == kind]) for kind in kinds}
    return card


# A deleted statement is named by its line only ("A statement is missing at line N"): nothing in the
# context says what it was, so the rung table shows its fix rate apart from the others'.
UNFIXABLE_FROM_CONTEXT = ("statement_delete",)


def _card(rows: list[dict]) -> dict:
    carded = [row["rungs"] for row in rows if isinstance(row.get("rungs"), dict)]
    rungs = {}
    for rung in RUNGS:
        count = sum(1 for reached in carded if reached.get(rung))
        low, high = wilson_interval(count, len(carded))
        rungs[rung] = {"count": count, "of": len(carded), "rate": count / len(carded) if carded else None,
                       "interval": [round(low, 4), round(high, 4)]}
    return {"episodes": len(carded), "without_rungs": len(rows) - len(carded), "rungs": rungs}


def rungs_lifted(before: Mapping, after: Mapping) -> list[str]:
    """The rungs whose rate in `after` sits above the Wilson 95% interval of `before` (SPEC §10: "helps")."""
    lifted = []
    for rung in RUNGS:
        old, new = before.get("rungs", {}).get(rung), after.get("rungs", {}).get(rung)
        if old and new and new["rate"] is not None and old["of"] and new["rate"] > old["interval"][1]:
            lifted.append(rung)
    return lifted


def rung_table(cards: Mapping[str, Mapping]) -> str:
    """A plain-text table: one row per rung, one column per version ("3/4 75%"), for the run summary;
    then, when the episodes span several statement levels, the fail-to-pass rung of each level, and that
    of the kinds of bug that cannot be fixed from the context (`UNFIXABLE_FROM_CONTEXT`)."""
    versions = list(cards)
    levels = sorted({level for card in cards.values() for level in card.get("by_level", {})})
    rows = [(rung, [cards[v].get("rungs", {}).get(rung) for v in versions]) for rung in RUNGS]
    if len(levels) > 1:
        rows += [(f"fail_to_pass L{level}", [cards[v].get("by_level", {}).get(level, {}).get("rungs", {})
                                             .get("fail_to_pass") for v in versions]) for level in levels]
    kinds = [kind for kind in UNFIXABLE_FROM_CONTEXT if any(kind in card.get("by_kind", {}) for card in cards.values())]
    rows += [(f"fail_to_pass {kind}", [cards[v].get("by_kind", {}).get(kind, {}).get("rungs", {})
                                       .get("fail_to_pass") for v in versions]) for kind in kinds]
    width = max(len(name) for name, _ in rows)
    cells = [(name, [_cell(entry) for entry in entries]) for name, entries in rows]
    columns = [max(len(version), *(len(row[index]) for _, row in cells)) for index, version in enumerate(versions)]
    lines = ["  ".join([" " * width, *(version.rjust(column) for version, column in zip(versions, columns, strict=True))])]
    for name, row in cells:
        lines.append("  ".join([name.ljust(width), *(cell.rjust(column) for cell, column in zip(row, columns, strict=True))]))
    return "\n".join(lines)


def _cell(entry: Mapping | None) -> str:
    if not entry or not entry["of"]:
        return "n/a"
    return f"{entry['count']}/{entry['of']} {entry['rate']:.0%}"
