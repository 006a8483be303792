"""Acceptance: an unchanged third-party pure-Python sdist with a tests folder becomes validated tasks.

Slow (a few minutes) and needs PyPI once to download the sdist: `make test-all` runs it.
"""

import subprocess
import sys
import tarfile

import pytest

from apprentice.grading.grade import grade
from apprentice.tasks.mutation.campaign import CampaignConfig, iter_tasks, run_campaign
from apprentice.tasks.mutation.records import reverse_diff

SDIST = "more-itertools==11.2.1"  # pure Python, no dependencies, pytest tests in tests/


@pytest.fixture(scope="module")
def sdist_tree(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("sdist")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                           "-d", str(downloads), SDIST], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot download the sdist {SDIST} from PyPI: {done.stderr.strip()[-200:]}")
    archive = next(downloads.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(downloads, filter="data")
    return next(path for path in downloads.iterdir() if path.is_dir())


@pytest.mark.slow
def test_sdist_mutates_into_tasks_whose_fixes_grade_green(sdist_tree, tmp_path):
    out = tmp_path / "tasks.jsonl"
    summary = run_campaign(CampaignConfig(sdist_tree, "python", out, max_tasks=12, workers=2))
    tasks = list(iter_tasks(out))
    assert len(tasks) == 12 and summary.counts.verdicts["killed"] >= 12
    for task in tasks[::4]:
        outcome = grade(task, reverse_diff(task.bug))
        assert set(task.fail_to_pass) | set(task.pass_to_pass) <= set(outcome.tests_passed), task.id
        assert outcome.reward == 1.0
