"""Task statements in plain words, at three levels of SPEC §10 (no LLM): what the source knows, said.

    level 0  The comparison on line 212 of src/textwrap.py is wrong: the tests in
             tests/test_textwrap.py fail.
    level 1  `shorten()` in src/textwrap.py does not behave as its tests expect: test_shorten
             (tests/test_textwrap.py::ShortenTestCase::test_shorten) fails with AssertionError: 'Hello
             world!' != 'Hello [...]'. 2 other tests fail too: test_width, test_whitespace.
    level 2  test_shorten (tests/test_textwrap.py::ShortenTestCase::test_shorten) fails with
             AssertionError: ... 2 other tests fail too: test_width, test_whitespace.

A statement names the symptom and where to look, never the edit: the bug's diff stays hidden.
"""

from __future__ import annotations

import re

from apprentice.errors import ValidationError
from apprentice.languages.language import TestCase

MESSAGE_CHARS = 240  # one assertion line; a whole traceback would be the answer, not the problem
NAMED_OTHERS = 3  # further failing tests named before "and N more"
# What a level-0 statement calls the change each mutation operator makes (tasks/mutation/operators.py).
CHANGE_KINDS = {
    "arith_swap": "arithmetic operator", "compare_swap": "comparison", "boundary": "comparison boundary",
    "logic_flip": "logical operator", "bool_flip": "boolean value", "negate_condition": "condition",
    "constant": "constant", "return_value": "returned value", "swap_args": "argument order",
}


def short_test_name(test_id: str) -> str:
    """The short name of a test id in any language's format (`a.py::C::test_x[1]` -> `test_x[1]`)."""
    return re.split(r"::| > |/", test_id)[-1] or test_id


def failure_message(case: TestCase) -> str:
    """The runner's first informative line for a failing test, whitespace folded, cut short."""
    lines = [line.strip() for line in case.message.splitlines() if line.strip()]
    informative = [line for line in lines if re.search(r"(Error|Exception|assert|!=|==|expected|panicked)", line)]
    chosen = (informative or lines or [""])[0]
    chosen = re.sub(r"\s+", " ", chosen)
    return chosen if len(chosen) <= MESSAGE_CHARS else chosen[:MESSAGE_CHARS - 3] + "..."


def task_statement(function: str, path: str, failures: tuple[TestCase, ...]) -> str:
    """Level 1: which function misbehaves, which test shows it and how."""
    if not failures:
        raise ValidationError(f"no failing test for {function} in {path}: a statement describes a failure")
    return f"`{function}()` in {path} does not behave as its tests expect: {symptom_statement(failures)}"


def located_statement(operator: str, path: str, line: int, failures: tuple[TestCase, ...]) -> str:
    """Level 0: the file, the line and the kind of change, and which tests fail."""
    if not failures:
        raise ValidationError(f"no failing test for line {line} of {path}: a statement describes a failure")
    where = f"line {line} of {path}"
    problem = (f"A statement is missing at {where}" if operator == "statement_delete"
               else f"The {CHANGE_KINDS.get(operator, 'code')} on {where} is wrong")
    files = sorted({case.id.split("::")[0] for case in failures if "::" in case.id and "." in case.id.split("::")[0]})
    if files:
        return f"{problem}: the tests in {', '.join(files)} fail."
    return f"{problem}: {', '.join(short_test_name(case.id) for case in failures[:NAMED_OTHERS + 1])} fail."


def symptom_statement(failures: tuple[TestCase, ...]) -> str:
    """Level 2: only the failing tests and their messages."""
    if not failures:
        raise ValidationError("no failing test: a statement describes a failure")
    first, others = failures[0], failures[1:]
    message = failure_message(first)
    symptom = f"fails with {message}" if message else "fails"
    text = f"{short_test_name(first.id)} ({first.id}) {symptom}."
    if others:
        names = ", ".join(short_test_name(case.id) for case in others[:NAMED_OTHERS])
        more = f" and {len(others) - NAMED_OTHERS} more" if len(others) > NAMED_OTHERS else ""
        noun = "test fails" if len(others) == 1 else "tests fail"
        text += f" {len(others)} other {noun} too: {names}{more}."
    return text
