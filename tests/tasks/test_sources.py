"""Task sources by name: the registry, the CLI and the pipeline's tasks step make tasks the same way."""

import subprocess
import sys
from pathlib import Path

import pytest
from history_repos import _commit, build_history

from apprentice.config.models import load_config
from apprentice.errors import DataError, TaskFormatError, UnknownNameError
from apprentice.pipeline.data_steps import make_tasks
from apprentice.tasks.sources import SOURCES, get_source
from apprentice.tasks.task import Task

PERCENT = "\n\ndef percent(part, whole):\n    return part / whole * 100\n"
PERCENT_TEST = "from calc import percent\n\n\ndef test_percent():\n    assert percent(1, 4) == 25\n"
ZERO_TEST = "\n\ndef test_percent_of_a_zero_whole_is_zero():\n    assert percent(1, 0) == 0.0\n"
PERCENT_FIXED = PERCENT.replace("    return part", "    if not whole:\n        return 0.0\n    return part")


@pytest.fixture(scope="module")
def calc_repo(tmp_path_factory) -> tuple[Path, list[str]]:
    """test_commits' history (one fix among noise) plus a helper added with its test and a second fix."""
    repo = tmp_path_factory.mktemp("history") / "calc"
    shas = build_history(repo)
    calc = (repo / "calc.py").read_text()
    added = _commit(repo, "Add a percent helper to the calculator",
                    {"calc.py": calc + PERCENT, "tests/test_percent.py": PERCENT_TEST})
    fixed = _commit(repo, "fix(calc): the percent of a zero whole is zero (#13)",
                    {"calc.py": calc + PERCENT_FIXED, "tests/test_percent.py": PERCENT_TEST + ZERO_TEST})
    return repo, [shas["fix"], added, fixed]


@pytest.fixture(scope="module")
def mined(calc_repo, tmp_path_factory):
    """SOURCES["history"] run once over the fixture repository."""
    repo, _ = calc_repo
    out = tmp_path_factory.mktemp("mined") / "tasks.jsonl"
    return SOURCES["history"](repo, "python", out)


def _tasks(path: Path) -> list[Task]:
    return [Task.from_json(line) for line in path.read_text().splitlines() if line.strip()]


def _config(tmp_path: Path, *overrides: str):
    return load_config(None, [f"runs_dir={tmp_path / 'runs'}", "name=t", "gates.data.min_tasks=1", *overrides])


def test_history_source_mines_every_fix_commit(calc_repo, mined):
    _, shas = calc_repo
    assert mined.tasks == 3 and not mined.interrupted and mined.summary.seen == 10
    assert sorted(task.origin for task in _tasks(mined.out)) == sorted(f"commit {sha}" for sha in shas)
    assert {task.source for task in _tasks(mined.out)} == {"commits"}


def test_history_source_stops_at_max_tasks(calc_repo, tmp_path):
    repo, _ = calc_repo
    report = SOURCES["history"](repo, "python", tmp_path / "two.jsonl", max_tasks=1, workers=4, seed=3)
    assert report.tasks == 1 and len(_tasks(report.out)) == 1 and report.summary.seen < 10


def test_cli_mine_makes_the_same_tasks(calc_repo, mined, tmp_path):
    repo, _ = calc_repo
    out = tmp_path / "cli.jsonl"
    done = subprocess.run([sys.executable, "-m", "apprentice", "tasks", "mine", str(repo), "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "validated (tasks)  3" in done.stdout
    same = ("id", "bug", "fail_to_pass", "pass_to_pass", "origin", "statement", "changed_symbols")
    assert [[getattr(task, name) for name in same] for task in _tasks(out)] == \
        [[getattr(task, name) for name in same] for task in _tasks(mined.out)]


def test_pipeline_tasks_step_uses_the_history_source(calc_repo, tmp_path):
    repo, _ = calc_repo
    config = _config(tmp_path, "tasks.source=history", f"tasks.repos.python={repo}", "tasks.max_tasks=2")
    split = make_tasks(config, "python")
    assert split.counts == {"train": 1, "eval": 1} and not split.skipped
    directory = config.run.tasks_dir("python")
    assert len(_tasks(directory / "history.jsonl")) == 2 and not (directory / "all.jsonl").exists()
    assert {task.id for task in _tasks(split.train) + _tasks(split.eval)} == \
        {task.id for task in _tasks(directory / "history.jsonl")}
    again = make_tasks(config, "python")
    assert again.skipped and again.counts == split.counts


def test_pipeline_tasks_step_reads_a_task_file_as_is(mined, tmp_path):
    config = _config(tmp_path, f"tasks.source={mined.out}")
    split = make_tasks(config, "python")
    assert split.counts == {"train": 2, "eval": 1}
    copied = config.run.tasks_dir("python") / "from-file.jsonl"
    assert copied.read_text() == mined.out.read_text()
    # A changed source is a changed input: the step runs again.
    config = _config(tmp_path, f"tasks.source={mined.out}", "tasks.max_tasks=2")
    assert make_tasks(config, "python").counts == {"train": 1, "eval": 1}


def test_task_file_source_checks_every_line_and_the_language(mined, tmp_path):
    source = get_source(str(mined.out))
    assert source(Path("."), "python", tmp_path / "all.jsonl", max_tasks=2).tasks == 2
    with pytest.raises(DataError, match=r"holds no rust task \(it holds: python 3\)"):
        source(Path("."), "rust", tmp_path / "rust.jsonl")
    broken = tmp_path / "broken.jsonl"
    first = _tasks(mined.out)[0]
    broken.write_text(first.to_json() + "\n" + '{"id": "x"}\n')
    with pytest.raises(TaskFormatError, match=r"broken.jsonl:2: "):
        get_source(str(broken))(Path("."), "python", tmp_path / "out.jsonl")


def test_unknown_source_is_one_line_naming_the_known_ones(tmp_path):
    expected = "unknown task source 'histroy' (known: history, mutation, package, or a path to a tasks .jsonl)"
    with pytest.raises(UnknownNameError) as error:
        get_source("histroy")
    assert str(error.value) == expected
    config = tmp_path / "run.yaml"
    config.write_text("tasks:\n  source: histroy\n")
    done = subprocess.run([sys.executable, "-m", "apprentice", "config", "validate", str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("override", "message"), [
    ("tasks.source=history", "tasks.repos.python is `stdlib` (no history); set tasks.repos.python=<a git clone"),
    ("tasks.source=missing/tasks.jsonl", "task file 'missing/tasks.jsonl' does not exist"),
])
def test_config_rejects_a_source_it_cannot_run(override, message):
    done = subprocess.run([sys.executable, "-m", "apprentice", "config", "show", override],
                          capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
