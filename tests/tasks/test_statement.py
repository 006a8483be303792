"""Task statements in plain words from failing tests (no LLM), and the fix as the reversed bug."""

import pytest

from apprentice.errors import ValidationError
from apprentice.languages.language import TestCase
from apprentice.tasks.mutation.records import reverse_diff
from apprentice.tasks.statement import failure_message, short_test_name, task_statement


def test_statement_names_function_test_and_assertion():
    failures = (
        TestCase("tests/test_textwrap.py::ShortenTestCase::test_shorten", "failed",
                 message="AssertionError: 'Hello world!' != 'Hello [...]'\nTraceback (most recent call last):\n..."),
        TestCase("tests/test_textwrap.py::ShortenTestCase::test_width", "error"),
    )
    text = task_statement("shorten", "textwrap.py", failures)
    assert text.startswith("`shorten()` in textwrap.py does not behave as its tests expect: test_shorten (")
    assert "fails with AssertionError: 'Hello world!' != 'Hello [...]'." in text
    assert text.endswith("1 other test fails too: test_width.")


def test_messages_are_folded_and_cut_and_names_shortened_in_every_format():
    long = TestCase("t", "failed", message="Traceback:\n  x\nValueError:   " + "y" * 500)
    assert failure_message(long).startswith("ValueError: y") and len(failure_message(long)) == 240
    assert failure_message(TestCase("t", "failed")) == ""
    assert [short_test_name(i) for i in ("a.py::C::test_x[1]", "tinystats::TestMean", "suite > median even")] == [
        "test_x[1]", "TestMean", "median even"]
    many = tuple(TestCase(f"tests::t{i}", "failed") for i in range(6))
    assert task_statement("f", "src/lib.rs", many).endswith("5 other tests fail too: t1, t2, t3 and 2 more.")
    with pytest.raises(ValidationError):
        task_statement("f", "m.py", ())


def test_reverse_diff_undoes_the_bug(tmp_path):
    import subprocess

    (tmp_path / "m.py").write_text("a = 1\nb = 2\nc = 3\n")
    bug = "--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n a = 1\n-b = 2\n+b = 3\n c = 3\n"
    subprocess.run(["git", "apply", "-"], input=bug, text=True, cwd=tmp_path, check=True)
    subprocess.run(["git", "apply", "-"], input=reverse_diff(bug), text=True, cwd=tmp_path, check=True)
    assert (tmp_path / "m.py").read_text() == "a = 1\nb = 2\nc = 3\n"


def test_the_three_levels_name_less_and_less():
    from apprentice.tasks.statement import located_statement, symptom_statement

    failures = (TestCase("tests/test_difflib.py::TestSFbugs::test_added_tab_hint", "failed",
                         message="NameError: name 'x' is not defined"),
                TestCase("tests/test_difflib.py::TestSFbugs::test_mdiff", "failed"))
    assert located_statement("compare_swap", "src/difflib.py", 212, failures) == (
        "The comparison on line 212 of src/difflib.py is wrong: the tests in tests/test_difflib.py fail.")
    assert located_statement("statement_delete", "src/difflib.py", 9, failures).startswith(
        "A statement is missing at line 9 of src/difflib.py: ")
    assert located_statement("swap_args", "src/lib.rs", 4, (TestCase("tinystats::tests::mean", "failed"),)) == (
        "The argument order on line 4 of src/lib.rs is wrong: mean fail.")
    symptom = symptom_statement(failures)
    assert symptom == ("test_added_tab_hint (tests/test_difflib.py::TestSFbugs::test_added_tab_hint) fails with "
                       "NameError: name 'x' is not defined. 1 other test fails too: test_mdiff.")
    assert task_statement("_mdiff", "src/difflib.py", failures) == (
        f"`_mdiff()` in src/difflib.py does not behave as its tests expect: {symptom}")
    with pytest.raises(ValidationError):
        located_statement("constant", "m.py", 1, ())
    with pytest.raises(ValidationError):
        symptom_statement(())


def test_a_task_moves_between_levels_only_when_its_source_wrote_them(tmp_path):
    import dataclasses
    from pathlib import Path

    from apprentice.errors import TaskFormatError
    from apprentice.tasks.task import Task

    task_file = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "python" / "task.json"
    mined = Task.from_json(task_file.read_text())
    assert (mined.level, mined.statements, mined.at_level(1)) == (1, (), mined)
    with pytest.raises(TaskFormatError, match=r"has a level-1 statement only, not level 0: set tasks.levels to \[1\]"):
        mined.at_level(0)
    leveled = dataclasses.replace(mined, statements=("at line 3", mined.statement, "tests fail"))
    assert leveled.at_level(0).statement == "at line 3" and leveled.at_level(2).level == 2
    assert Task.from_json(leveled.at_level(0).to_json()) == leveled.at_level(0)
    with pytest.raises(TaskFormatError, match="level 3 is not one of"):
        dataclasses.replace(mined, level=3)
    with pytest.raises(TaskFormatError, match="one text per level"):
        dataclasses.replace(mined, statements=("a", "b", "c"))
