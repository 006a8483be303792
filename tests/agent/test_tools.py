"""The tools on a real workspace of the tinystats task: confinement, patches, truncation, run_tests."""

import os

import pytest

from apprentice.agent.tools import TOOL_NAMES, TOOL_SCHEMAS, ToolBox, schema_ordered, truncate
from apprentice.agent.workspace import episode_workspace, workspace_diff

SEARCH_REPLACE = """tinystats/stats.py
<<<<<<< SEARCH
    middle = len(ordered) // 2
=======
    middle = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[middle - 1] + ordered[middle]) / 2.0
>>>>>>> REPLACE
"""


@pytest.fixture()
def box(python_task):
    with episode_workspace(python_task) as workspace:
        yield ToolBox(workspace, python_task, max_output_chars=4000)


def test_schemas_name_every_tool():
    assert TOOL_NAMES == ("read_file", "list_files", "search", "apply_patch", "run_tests", "write_file")
    assert all(schema["function"]["parameters"]["type"] == "object" for schema in TOOL_SCHEMAS)


def test_read_list_search(box):
    listed = box.call("list_files", {"dir": "."})
    assert listed.ok and "tinystats/stats.py" in listed.content.splitlines()
    assert not [line for line in listed.content.splitlines() if line.startswith((".git/", ".sandbox/"))]
    lines = box.call("read_file", {"path": "tinystats/stats.py", "start": 10, "end": 11})
    assert lines.ok and len(lines.content.splitlines()) == 2
    found = box.call("search", {"pattern": r"def median"})
    assert found.ok and found.content.startswith("tinystats/stats.py:")


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "tinystats/../../x", ".git/config", "escape/passwd"])
def test_paths_outside_the_workspace_are_refused(box, tmp_path, path):
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwd").write_text("secret")
    os.symlink(outside, box.workspace / "escape")
    for name, arguments in (("read_file", {"path": path}), ("write_file", {"path": path, "content": "x"})):
        result = box.call(name, arguments)
        assert not result.ok and result.content.startswith("error:"), (name, path)
    assert (outside / "passwd").read_text() == "secret"
    assert "secret" not in box.call("search", {"pattern": "secret"}).content.replace("'secret'", "")


def test_patch_escaping_through_a_symlink_is_refused(box, tmp_path):
    os.symlink(tmp_path, box.workspace / "escape")
    diff = "--- /dev/null\n+++ b/escape/new.py\n@@ -0,0 +1 @@\n+x = 1\n"
    result = box.call("apply_patch", {"diff": diff})
    assert not result.ok and "outside the workspace" in result.content
    assert not (tmp_path / "new.py").exists()


@pytest.mark.parametrize(
    ("name", "arguments", "says"),
    [
        ("delete_repo", {}, "unknown tool"),
        ("read_file", ["a.py"], "JSON object"),
        ("read_file", {}, "needs argument"),
        ("read_file", {"path": 3}, "must be a string"),
        ("read_file", {"path": "a", "start": "1"}, "must be a integer"),
        ("search", {"pattern": "("}, "not a valid regular expression"),
        ("read_file", {"path": "nope.py"}, "not a file"),
        ("apply_patch", {"diff": "not a diff"}, "names no files"),
        ("apply_patch", {"diff": "--- a/tinystats/stats.py\n+++ b/tinystats/stats.py\n@@ -1,1 +1,1 @@\n-nope\n+x\n"}, "does not apply"),
        ("apply_patch", {"diff": SEARCH_REPLACE.replace("middle = len", "mid = len", 1)}, "does not occur"),
    ],
)
def test_bad_calls_are_results_not_exceptions(box, name, arguments, says):
    result = box.call(name, arguments)
    assert not result.ok and says in result.error


def test_both_patch_forms_apply(box, python_fix):
    assert box.call("apply_patch", {"diff": SEARCH_REPLACE}).ok
    first = workspace_diff(box.workspace)
    assert "+    if len(ordered) % 2 == 0:" in first
    box.call("write_file", {"path": "tinystats/stats.py",
                            "content": box.call("read_file", {"path": "tinystats/stats.py"}).content})
    assert workspace_diff(box.workspace) == first


def test_output_is_truncated_with_a_marker(python_task):
    with episode_workspace(python_task) as workspace:
        result = ToolBox(workspace, python_task, max_output_chars=50).call("read_file", {"path": "tinystats/stats.py"})
    assert result.ok and len(result.content) < 120 and "output truncated" in result.content
    assert truncate("short", 50) == "short"


def test_run_tests_before_and_after_the_fix(box, python_fix):
    before = box.call("run_tests", {})
    assert before.ok and "no edits yet" in before.content
    assert "FAILED tests/test_stats.py::test_median_even" in before.content
    assert "PASSED tests/test_stats.py::test_mean" in before.content
    assert box.call("apply_patch", {"diff": python_fix}).ok
    after = box.call("run_tests", {"selection": "median_even"})
    assert "patch applied: yes" in after.content and "tests: 5/5 passed" in after.content
    assert "PASSED tests/test_stats.py::test_median_even_unsorted" in after.content
    assert "test_mean" not in after.content


def test_a_long_run_counts_its_passes_and_lists_every_failure():
    from apprentice.agent.test_tool import _case_lines
    from apprentice.languages.language import TestCase

    cases = tuple(TestCase(f"t.py::test_{n}", "passed") for n in range(12)) + (TestCase("t.py::test_x", "failed", message="boom"),)
    lines = _case_lines(cases, None)
    assert lines[0].startswith("PASSED 12 tests (not listed") and lines[1:] == ["FAILED t.py::test_x\n    boom"]
    narrowed = _case_lines(cases, "test_1")  # test_1, test_10, test_11: few enough to list
    assert narrowed == ["PASSED t.py::test_1", "PASSED t.py::test_10", "PASSED t.py::test_11"]


def test_lint_findings_are_whole_lines_and_counted_beyond_five():
    from apprentice.agent.test_tool import _lint_lines

    report = _lint_lines("\n".join(f"m.py:{n}:1: E501 line too long" for n in range(1, 9)))
    assert report.splitlines() == ["lint: problems", *[f"m.py:{n}:1: E501 line too long" for n in range(1, 6)],
                                   "... and 3 more"]


def test_arguments_are_put_in_schema_order_for_training():
    stored = [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": "read_file", "arguments": {"end": 9, "path": "a.py", "start": 2}}},
            {"type": "function", "function": {"name": "write_file", "arguments": {"zeta": 1, "content": "x", "path": "b"}}},
            {"type": "function", "function": {"name": "no_such_tool", "arguments": {"b": 1, "a": 2}}}]},
    ]
    ordered = schema_ordered(stored)
    calls = [call["function"]["arguments"] for call in ordered[1]["tool_calls"]]
    assert [list(arguments) for arguments in calls] == [["path", "start", "end"], ["path", "content", "zeta"], ["b", "a"]]
    assert ordered[0] is stored[0] and list(stored[1]["tool_calls"][0]["function"]["arguments"]) == ["end", "path", "start"]
