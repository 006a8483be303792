"""The bodies of `apprentice data ...`: files written, reports printed, exit codes."""

import json

import pytest
from fixture_tasks import fixture_task
from rich.console import Console
from trajectory_factory import make_trajectory

from apprentice.agent.backends import make_backend
from apprentice.agent.trajectory import read_trajectories
from apprentice.cli.data import check_from_cli, mix_from_cli, preferences_from_cli, trajectories_from_cli
from apprentice.data.records import write_lines
from apprentice.errors import DataError


def _console() -> Console:
    return Console(record=True, width=200)


def test_gold_trajectories_file_passes_data_check(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    write_lines(tasks, [fixture_task("python").to_json()])
    out = tmp_path / "sft.jsonl"
    console = _console()
    report = trajectories_from_cli(tasks, "gold", out, console)
    assert report.kept == 1 and len(read_trajectories(out)) == 1
    assert "fixture-python-median: kept" in console.export_text()
    check_console = _console()
    quality, code = check_from_cli(out, check_console)
    assert code == 0 and quality.passed
    assert "data check passed" in check_console.export_text()


def test_check_fails_with_nonzero_exit_on_a_bad_file(tmp_path):
    data = tmp_path / "bad.jsonl"
    write_lines(data, [make_trajectory("a", tools_used=1).to_json(), make_trajectory("b").to_json()])
    quality, code = check_from_cli(data, _console())
    assert code == 1 and not quality.passed
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({"task_id": "x"}) + "\n")
    with pytest.raises(DataError, match="broken.jsonl:1: trajectory is missing field"):
        check_from_cli(broken, _console())


def test_bad_inputs_are_named(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match="unknown trajectory source 'silver'"):
        trajectories_from_cli(empty, "silver", tmp_path / "o.jsonl", _console())
    with pytest.raises(DataError, match="holds no tasks"):
        trajectories_from_cli(empty, "gold", tmp_path / "o.jsonl", _console())
    with pytest.raises(DataError, match="holds no tasks"):
        preferences_from_cli(empty, tmp_path / "p.jsonl", _console(), backend=None)
    with pytest.raises(DataError, match="either --base-url"):
        make_backend(None, None, None, api_key_env=None, temperature=0.7)
    with pytest.raises(DataError, match="needs --model"):
        make_backend("http://127.0.0.1:9/v1", None, None, api_key_env=None, temperature=0.7)


def test_mix_adds_a_round_and_writes_its_mix(tmp_path):
    batch = tmp_path / "batch.jsonl"
    sources = ["gold"] * 3 + ["self"] * 9 + ["template"] * 8
    write_lines(batch, [make_trajectory(f"t{n}", source=s, answer=str(n)).to_json() for n, s in enumerate(sources)])
    console = _console()
    number = mix_from_cli(tmp_path / "rounds", [batch], tmp_path / "mix.jsonl", console)
    assert number == 1 and len(read_trajectories(tmp_path / "mix.jsonl")) == 20
    assert "gold: 3 of 3 (15% of new data" in console.export_text()
