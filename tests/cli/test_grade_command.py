"""`grade_patch_file`, the body of `apprentice grade`, in both of its forms."""

from __future__ import annotations

import json

import pytest
from grading_fixtures import REPOS

from apprentice.errors import GradingInputError
from apprentice.grading.inputs import grade_patch_file

PYTHON = REPOS / "python"


def test_grade_from_task_file_prints_reward_json():
    outcome = grade_patch_file(PYTHON / "fix.patch", task_file=PYTHON / "task.json")
    record = json.loads(outcome.to_json())
    assert record["reward"] == 1.0 and record["tests_failed"] == [] and len(record["tests_passed"]) == 5
    assert outcome.summary().startswith("fixture-python-median [python] reward +1.00")


def test_grade_from_flags():
    outcome = grade_patch_file(
        PYTHON / "fix.patch",
        repo=PYTHON / "repo",
        language="python",
        fail_to_pass=["tests/test_stats.py::test_median_even"],
        pass_to_pass=["tests/test_stats.py::test_mean"],
    )
    assert outcome.reward == 1.0 and outcome.tests_passed == (
        "tests/test_stats.py::test_median_even",
        "tests/test_stats.py::test_mean",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_file": PYTHON / "absent.json"}, "does not exist"),
        ({"repo": PYTHON / "repo"}, "--language"),
        ({"repo": PYTHON / "repo", "language": "python"}, "--fail-to-pass"),
        ({"task_file": PYTHON / "task.json", "language": "python"}, "not both"),
    ],
)
def test_bad_invocations_name_the_fix(kwargs, message):
    with pytest.raises(GradingInputError, match=message):
        grade_patch_file(PYTHON / "fix.patch", **kwargs)
