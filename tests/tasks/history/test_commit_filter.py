"""The commit filter, one drop reason at a time, from metadata alone (no git)."""

import pytest

from apprentice.languages.registry import get_language
from apprentice.tasks.history.commit_filter import (
    DROP_REASONS,
    ChangedFile,
    CommitFacts,
    clean_message,
    drop_reason,
    split_test_and_code,
)

PYTHON = get_language("python")
FIX = (ChangedFile("calc.py", 3, 1), ChangedFile("tests/test_calc.py", 4, 0))


def facts(message="Return zero for the mean of an empty list", files=FIX, parents=1,
          author=("Ada", "ada@example.org")) -> CommitFacts:
    return CommitFacts("a" * 40, message, author[0], author[1], parents, files)


def test_a_small_bug_fix_with_a_descriptive_message_is_kept():
    assert drop_reason(facts(), PYTHON) is None


@pytest.mark.parametrize(("commit", "reason"), [
    (facts(parents=0), "root_commit"),
    (facts(parents=2), "merge"),
    (facts(author=("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")), "bot_author"),
    (facts(author=("Renovate Bot", "bot@renovateapp.com")), "bot_author"),
    (facts(author=("github-actions", "41898282+github-actions@users.noreply.github.com")), "bot_author"),
    (facts(files=()), "no_files"),
    (facts(files=tuple(ChangedFile(f"m{i}.py", 1, 1) for i in range(6))), "too_many_files"),
    (facts(files=(ChangedFile("calc.py", 150, 50),)), "too_many_lines"),
    (facts(files=(*FIX, ChangedFile("logo.png", 0, 0, binary=True))), "binary_file"),
    (facts(files=(ChangedFile("README.md", 3, 1), ChangedFile("docs/usage.rst", 2, 0))), "docs_only"),
    (facts(files=(ChangedFile(".github/workflows/ci.yml", 3, 1),)), "ci_only"),
    (facts(files=(ChangedFile("src/lib.rs", 3, 1),)), "language_mismatch"),
    (facts(message="Fix the bug"), None),
    (facts(message="Fix bug"), "short_message"),
    (facts(message="wip"), "vague_message"),
    (facts(message="WIP: try another approach to parsing"), "vague_message"),
    (facts(message="misc fixes"), "vague_message"),
    (facts(message="update"), "vague_message"),
    (facts(message="Update the parser to accept empty input"), None),
    (facts(message="Bump version to 0.2.0"), "version_bump"),
    (facts(message="Release v1.4.0 with the new parser"), "version_bump"),
    (facts(message="1.4.2"), "version_bump"),
    (facts(files=(ChangedFile("pkg/__version__.py", 1, 1),)), "version_bump"),
    (facts(message="Fixed the mean of an empty list"), "not_imperative"),
    (facts(message="Adding zero handling to the mean"), "not_imperative"),
    (facts(message="Embed the font in the report page"), None),
])
def test_each_drop_reason(commit, reason):
    assert drop_reason(commit, PYTHON) == reason
    assert reason is None or reason in DROP_REASONS


def test_the_cleaned_message_is_the_statement():
    raw = "fix(stats): return zero for an empty mean (#12)\n\nEmpty input raised.\n\nSigned-off-by: Ada <a@b>\n"
    assert clean_message(raw) == "Return zero for an empty mean.\n\nEmpty input raised."
    assert clean_message("[core] Handle a missing key gracefully.") == "Handle a missing key gracefully."


def test_tests_join_the_buggy_tree_and_the_rest_is_the_fix():
    tests, code = split_test_and_code(PYTHON, ("calc.py", "tests/test_calc.py", "conftest.py", "README.md"))
    assert tests == ("tests/test_calc.py", "conftest.py") and code == ("calc.py", "README.md")
