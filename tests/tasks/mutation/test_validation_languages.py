"""Mutation and validation on the small rust, go and typescript repositories: tasks that grade green once fixed."""

from pathlib import Path

import pytest

from apprentice.grading.grade import grade
from apprentice.languages.language import missing_tools
from apprentice.languages.registry import get_language
from apprentice.tasks.mutation.campaign import CampaignConfig, iter_tasks, run_campaign
from apprentice.tasks.mutation.records import reverse_diff

FIXTURES = Path(__file__).parents[2] / "fixtures" / "mutation"


@pytest.mark.parametrize("language", ["go", "rust", "typescript"])
def test_campaign_validates_mutants_and_the_fix_grades_green(language, tmp_path):
    missing = missing_tools(get_language(language), get_language(language).toolchain)
    if missing:
        pytest.skip("; ".join(missing))
    out = tmp_path / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(FIXTURES / language, language, out, max_tasks=2, workers=2))
    tasks = list(iter_tasks(out))
    assert summary.counts.kept == len(tasks) == 2 and summary.failing_on_clean == ()
    task = tasks[0]
    assert task.language == language and task.fail_to_pass and task.repo.commit
    assert not set(task.fail_to_pass) & set(task.pass_to_pass)
    fixed = grade(task, reverse_diff(task.bug))
    assert fixed.error == "" and fixed.build_ok, fixed.error
    assert {case.id for case in fixed.tests if case.status == "passed"} == set(task.fail_to_pass + task.pass_to_pass)
