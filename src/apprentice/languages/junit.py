"""Readers for JUnit XML reports, as pytest and node's test runner write them.

A test counts as passed only when its <testcase> has no <failure>, <error> or <skipped> child
(pytest writes xfail as <skipped>, so an xfailed target test is not a pass). A report that is
missing or unreadable yields no test cases at all, which grading reads as "nothing passed".
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from apprentice.languages.language import TestCase

MESSAGE_CHARS = 4000  # enough for a traceback's last frames; reports can be huge


def _case_status(case: ElementTree.Element) -> str:
    tags = {child.tag for child in case}
    if "error" in tags:
        return "error"
    if "failure" in tags:
        return "failed"
    if "skipped" in tags:
        return "skipped"
    return "passed"


def _load(report_path: Path) -> ElementTree.Element | None:
    if not report_path.is_file():
        return None
    try:
        return ElementTree.parse(report_path).getroot()
    except ElementTree.ParseError:
        # A truncated or forged report proves nothing: treat it as no report.
        return None


def _message(case: ElementTree.Element) -> str:
    for child in case:
        if child.tag in ("failure", "error", "skipped"):
            return f"{child.get('message', '')}\n{child.text or ''}"[:MESSAGE_CHARS]
    return ""


def _duration(case: ElementTree.Element) -> float:
    try:
        return float(case.get("time", "0") or 0)
    except ValueError:
        return 0.0


def read_pytest_junit(stdout: str, report_path: Path) -> tuple[TestCase, ...]:
    """Test cases from pytest's `--junitxml` report; ids are `classname::name`."""
    root = _load(report_path)
    if root is None:
        return ()
    return tuple(
        TestCase(
            f"{case.get('classname', '')}::{case.get('name', '')}",
            _case_status(case),
            _duration(case),
            _message(case),
        )
        for case in root.iter("testcase")
    )


def _node_cases(element: ElementTree.Element, prefix: tuple[str, ...]) -> list[TestCase]:
    cases = []
    for child in element:
        if child.tag == "testsuite":
            cases.extend(_node_cases(child, (*prefix, child.get("name", ""))))
        elif child.tag == "testcase":
            name = " > ".join((*prefix, child.get("name", "")))
            cases.append(TestCase(name, _case_status(child), _duration(child), _message(child)))
    return cases


def read_node_junit(stdout: str, report_path: Path) -> tuple[TestCase, ...]:
    """Test cases from `node --test --test-reporter=junit`; ids are `suite > test` paths."""
    root = _load(report_path)
    if root is None:
        return ()
    return tuple(_node_cases(root, ()))


def pytest_key(node_id: str) -> str:
    """Map a pytest node id (`tests/test_x.py::TestA::test_b[1]`) to its JUnit `classname::name`."""
    path, _, rest = node_id.partition("::")
    parts = rest.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return "::".join((".".join((module, *parts[:-1])), parts[-1]))
