"""Structured thinking for gold trajectories, written from the task alone (no LLM), SPEC §6.

Four phases: Observe (the failure as seen), Hypothesize (the cause), Plan (what to read and
change), Execute (the edit). Elastic: an easy task (tier 1, a one- or two-line fix) thinks
Observe -> Execute only; harder tasks get all four phases, and more detail the harder they are.
Each text says only what the agent could know at that turn: the statement and the failing tests
before reading, the code it read before patching, the test report before answering.
"""

from __future__ import annotations

from dataclasses import dataclass

from apprentice.data.diffs import FixSummary
from apprentice.tasks.statement import short_test_name
from apprentice.tasks.task import Task

EASY_CHANGED_LINES = 2  # one replaced line (one -, one +) or two added: an Observe -> Execute task
QUOTED_LINES = 4  # fixed lines quoted in Execute; a longer edit is described, not recited

# What each mutation operator usually looks like from the outside: the hypothesis a careful
# engineer forms from a failing test before reading the code.
OPERATOR_CAUSES = {
    "arith_swap": "an arithmetic operator is wrong (+ for -, * for /, ...)",
    "compare_swap": "a comparison uses the wrong operator",
    "boundary": "an off-by-one at a boundary (< against <=, or a limit one too far)",
    "logic_flip": "a logical connective is flipped (and against or)",
    "bool_flip": "a boolean value is inverted",
    "negate_condition": "a condition is negated",
    "constant": "a constant has the wrong value",
    "return_value": "the function returns the wrong value on some path",
    "statement_delete": "a statement is missing, so one case is never handled",
    "swap_args": "two arguments are passed in the wrong order",
}


@dataclass(frozen=True)
class GoldThinking:
    """The thinking of each gold turn: before reading, before patching, before testing, at the end."""

    observe: str  # the failure as the task states it
    reasoning: str  # Hypothesize + Plan (full), or where to read (short)
    before_patch: str
    before_tests: str
    final: str
    full: bool  # all four phases (False: Observe -> Execute)

    @property
    def before_read(self) -> str:
        """The thinking of the first turn: Observe, then the reasoning."""
        return f"{self.observe}\n{self.reasoning}" if self.full else f"{self.observe} {self.reasoning}"


def is_easy(task: Task, fix: FixSummary) -> bool:
    """An Observe -> Execute task: tier 1, one file, at most a two-line change."""
    return task.difficulty == 1 and len(fix.files) == 1 and fix.changed_lines <= EASY_CHANGED_LINES


def gold_thinking(task: Task, fix: FixSummary, fix_diff: str, tests_passed: int, brief: bool = False) -> GoldThinking:
    """The four-phase (or short) thinking for `task` fixed by `fix_diff`; `tests_passed` from the real run.

    `brief`: the same phases without recited test names or code (Observe names the file, Execute the
    file patched), for a miniature that must learn the turn structure in minutes; reciting is copying,
    and a few-million-parameter model trained for minutes loops when it copies (5f06b1b: full
    thinking took held-out format accuracy from 100% to 75% at the same budget).
    """
    if brief:
        return _brief_thinking(fix, tests_passed)
    full = not is_easy(task, fix)
    where = _where(task, fix)
    # The failure as seen, in a few words: the statement is in the conversation already, and a turn
    # that recites it is a turn the model must learn to copy (and a probe that runs out of tokens).
    failing = task.fail_to_pass
    more = f" and {len(failing) - 1} more" if len(failing) > 1 else ""
    observe = f"Observe: {short_test_name(failing[0])}{more} {'fail' if more else 'fails'}."
    if full:
        cause = OPERATOR_CAUSES.get(task.origin, task.origin.strip().rstrip("."))
        keep = f" and keep the {len(task.pass_to_pass)} passing tests green" if task.pass_to_pass else ""
        reasoning = "\n".join((
            f"Hypothesize: likely cause: {cause}, in {where}.",
            f"Plan: read {where}, make the smallest change that fixes it, run the tests{keep}.",
        ))
    else:
        reasoning = f"Read {where} first."
    execute = f"Execute: {_edit(fix, fix_diff)}"
    if full and len(fix.files) > 1:
        execute += f" The change spans {len(fix.files)} files: {', '.join(fix.files)}."
    return GoldThinking(
        observe=observe,
        reasoning=reasoning,
        before_patch=execute,
        before_tests="The patch applied. Run the tests to confirm the fix and catch regressions.",
        final=f"{tests_passed} required tests pass; the fix is done.",
        full=full,
    )


def _brief_thinking(fix: FixSummary, tests_passed: int) -> GoldThinking:
    files = ", ".join(fix.files)
    return GoldThinking(
        observe=f"Observe: tests fail in {files}.",
        reasoning="Read it first.",
        before_patch=f"Execute: patch {files}.",
        before_tests="The patch applied. Run the tests to confirm the fix and catch regressions.",
        final=f"{tests_passed} required tests pass; the fix is done.",
        full=False,
    )


def _where(task: Task, fix: FixSummary) -> str:
    symbols = [symbol.split("::")[-1] for symbol in task.changed_symbols]
    functions = symbols or [context for context in fix.functions]
    place = ", ".join(fix.files)
    return f"{', '.join(functions[:2])} in {place}" if functions else place


def _edit(fix: FixSummary, fix_diff: str) -> str:
    removed = [line[1:].strip() for line in fix_diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in fix_diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if len(removed) + len(added) > QUOTED_LINES:
        return f"rewrite {len(removed)} line(s) as {len(added)} in {', '.join(fix.files)}."
    if removed and added:
        return f"replace `{' / '.join(removed)}` with `{' / '.join(added)}`."
    if added:
        return f"add `{' / '.join(added)}` where that case is missing."
    return f"remove `{' / '.join(removed)}`."
