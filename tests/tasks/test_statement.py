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
