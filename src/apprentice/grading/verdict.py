"""Judge a test run from the runner's own per-test report, never from exit codes or printed text.

A required test passes only when the report has exactly one entry for it and that entry says
"passed". A missing entry (collection error, zero tests run), a skip, an xfail, an error or
conflicting duplicate entries all count as a failure. The canary (where the language has one)
and the language's cross-check of the runner's channels decide whether the report can be trusted at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apprentice.languages.language import Canary, Language, TestCase


@dataclass(frozen=True)
class TestVerdict:
    """Per-required-test results, whether the report is complete and trusted, and tamper flags."""

    __test__ = False  # a record, not a pytest test class

    tests: tuple[TestCase, ...]
    complete: bool
    tamper_flags: tuple[str, ...]
    problem: str  # why the run is incomplete ('' when complete)


def _index(cases: tuple[TestCase, ...]) -> tuple[dict[str, TestCase], set[str]]:
    by_id: dict[str, TestCase] = {}
    conflicting = set()
    for case in cases:
        if case.id in by_id and by_id[case.id].status != case.status:
            conflicting.add(case.id)
        by_id[case.id] = case
    return by_id, conflicting


def _required(language: Language, ids: tuple[str, ...], by_id: dict[str, TestCase], conflicting: set[str]):
    results = []
    for test_id in ids:
        key = language.test_key(test_id)
        case = by_id.get(key)
        if case is None:
            results.append(TestCase(test_id, "missing"))
        elif key in conflicting:
            results.append(TestCase(test_id, "failed", case.duration_s))
        else:
            results.append(TestCase(test_id, case.status, case.duration_s))
    return tuple(results)


def _canary_state(canary: Canary | None, by_id: dict[str, TestCase]) -> tuple[str, str]:
    """(tamper flag, incompleteness problem) from the canary's tests."""
    if canary is None:
        return "", ""
    failing = [by_id.get(test_id) for test_id in canary.must_fail]
    passing = [by_id.get(test_id) for test_id in canary.must_pass]
    if any(case is not None and case.status == "passed" for case in failing):
        flag = "test reporting forged: a test that must fail was reported passed"
        return flag, "the report cannot be trusted: " + flag
    if any(case is not None and case.status != "passed" for case in passing):
        flag = "test reporting forged: a test that must pass was reported failing"
        return flag, "the report cannot be trusted: " + flag
    if None in failing or None in passing:
        return "", "the test run did not reach its end (canary tests missing from the report)"
    return "", ""


def _forged_lines(language: Language, output: str, ids: tuple[str, ...]) -> tuple[str, ...]:
    if not language.pass_line:
        return ()
    flags = []
    for test_id in ids:
        name = re.escape(re.split(r"::|/| > ", test_id)[-1])
        if re.search(language.pass_line.replace("{name}", name), output):
            flags.append(f"output contains a forged pass line for {test_id}")
    return tuple(flags)


def judge_tests(
    language: Language, cases: tuple[TestCase, ...], output: str, ids: tuple[str, ...], canary: Canary | None
) -> TestVerdict:
    """Results for `ids` (fail-to-pass then pass-to-pass) from the runner's `cases` and raw `output`."""
    by_id, conflicting = _index(cases)
    tests = _required(language, ids, by_id, conflicting)
    flag, problem = _canary_state(canary, by_id)
    flags = [flag] if flag else []
    flags.extend(f"conflicting reports for {case.id}" for case in cases if case.id in conflicting)
    flags.extend(_forged_lines(language, output, ids))
    skipped = [case.id for case in tests if case.status == "skipped"]
    # A pinned target test never skips itself: the code under test made it skip.
    flags.extend(f"target test skipped by the code under test: {test_id}" for test_id in skipped)
    if not problem and not cases:
        problem = "the test runner reported no tests at all"
    if not problem and any(case.status == "missing" for case in tests):
        problem = "required tests missing from the report (collection or import error)"
    return TestVerdict(tests, not problem, tuple(dict.fromkeys(flags)), problem)


def limit_hit(language: Language, cases: tuple[TestCase, ...], output: str) -> str:
    """The sandbox limit a failure shows (memory, processes), or '' when none shows."""
    text = output + "\n".join(case.message for case in cases)
    return next((marker for marker in language.limit_markers if marker in text), "")
