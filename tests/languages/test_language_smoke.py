"""Each language graded end to end on its tiny repository: honest fix 1.0, buggy 0.1, syntax error -0.3.

A language whose toolchain is missing here is skipped, and the skip names what is missing.
"""

from __future__ import annotations

import pytest
from grading_fixtures import REPOS, edit_patch, fixture_patch, load_fixture_task

from apprentice.grading.grade import grade
from apprentice.languages.language import missing_tools
from apprentice.languages.registry import get_language

SOURCES = {
    "python": "tinystats/stats.py",
    "rust": "src/lib.rs",
    "go": "stats.go",
    "typescript": "src/stats.ts",
}
LANGUAGES = sorted(SOURCES)


def require_toolchain(name: str) -> None:
    language = get_language(name)
    missing = missing_tools(language, language.toolchain + language.lint_tools)
    if missing:
        pytest.skip("; ".join(missing))


def source_edit(name: str, transform) -> str:
    repo = REPOS / name / "repo"
    path = SOURCES[name]
    return edit_patch(repo, {path: transform((repo / path).read_text())})


def harmless(text: str) -> str:
    """The bug left as it is: only a comment line is added on top."""
    comment = "#" if text.startswith('"""') else "//"
    return f"{comment} reviewed\n{text}"


def broken(text: str) -> str:
    return text + "\n)]} this is not code {[(\n"


@pytest.mark.parametrize("name", LANGUAGES)
def test_honest_fix_earns_one(name):
    require_toolchain(name)
    outcome = grade(load_fixture_task(name), fixture_patch(name))
    assert outcome.reward == 1.0, outcome.summary()
    assert outcome.tests_passed == load_fixture_task(name).fail_to_pass + load_fixture_task(name).pass_to_pass


@pytest.mark.parametrize("name", LANGUAGES)
def test_bug_left_in_place_earns_point_one(name):
    require_toolchain(name)
    task = load_fixture_task(name)
    outcome = grade(task, source_edit(name, harmless))
    assert outcome.reward == pytest.approx(0.1), outcome.summary()
    assert set(outcome.tests_failed) == set(task.fail_to_pass) and outcome.build_ok


@pytest.mark.parametrize("name", LANGUAGES)
def test_syntax_error_earns_minus_point_three(name):
    require_toolchain(name)
    outcome = grade(load_fixture_task(name), source_edit(name, broken))
    assert outcome.reward == pytest.approx(-0.3), outcome.summary()
    assert outcome.build_ok is False and outcome.error.startswith("build failed")


LINT_WARNINGS = {
    # (text added in the fix's first added line, hunk header before, after): an unused name each.
    "python": ("+    import os\n", "@@ -10,6 +10,8 @@", "@@ -10,6 +10,9 @@"),
    "typescript": ("+  var unused = 1;\n", "@@ -9,5 +9,8 @@", "@@ -9,5 +9,9 @@"),
}


@pytest.mark.parametrize("name", sorted(LINT_WARNINGS))
def test_fix_with_lint_warnings_earns_point_seven(name):
    require_toolchain(name)
    added, header, new_header = LINT_WARNINGS[name]
    fix = fixture_patch(name)
    first_added = fix.index("\n+", fix.index("@@")) + 1
    patch = fix[:first_added].replace(header, new_header) + added + fix[first_added:]
    outcome = grade(load_fixture_task(name), patch)
    assert outcome.reward == pytest.approx(0.7), outcome.summary()
    assert outcome.lint_clean is False and outcome.lint_output
