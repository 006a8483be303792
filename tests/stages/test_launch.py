"""Training stages under `accelerate launch`: the command line, and one real launch of SFT on the CPU."""

import json
from types import SimpleNamespace

import pytest
from stage_data import small_config, write_trajectories

from apprentice.config.models import dump_config
from apprentice.errors import StageError
from apprentice.stages import launch
from apprentice.stages.launch import launch_command, run_launched
from apprentice.stages.result import StageInputs


def _inputs(config, tiny_base, data=None):
    return StageInputs("python", config.run_dir / "stages" / "python" / "sft", tiny_base, None, data)


def test_the_launch_command_names_the_config_the_processes_and_the_stage(tiny_base, tmp_path):
    config = small_config(f"runs_dir={tmp_path}", "launch.launcher=accelerate",
                          "launch.config_file=examples/accelerate/fsdp.yaml", "launch.num_processes=8")
    command = launch_command(config, "sft", _inputs(config, tiny_base, tmp_path / "sft.jsonl"))
    assert command[1:6] == ["launch", "--config_file", "examples/accelerate/fsdp.yaml", "--num_processes", "8"]
    assert command[6:] == ["-m", "apprentice.stages.launch", str(config.run_dir), "sft", "python", str(tiny_base),
                           "--data", str(tmp_path / "sft.jsonl")]


def test_a_missing_accelerate_config_is_one_clear_error(tiny_base, tmp_path):
    config = small_config(f"runs_dir={tmp_path}", "launch.launcher=accelerate", "launch.config_file=nowhere.yaml")
    data = write_trajectories(tmp_path / "sft.jsonl", 4)
    with pytest.raises(StageError, match="launch.config_file 'nowhere.yaml' does not exist"):
        run_launched(config, "sft", _inputs(config, tiny_base, data))


@pytest.mark.integration
def test_sft_under_accelerate_launch_writes_the_stage_the_pipeline_reads(tiny_base, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # this machine has no GPU; the plumbing is the same
    config = small_config(f"runs_dir={tmp_path}", "name=launched", "launch.launcher=accelerate", "launch.num_processes=1")
    config.run_dir.mkdir(parents=True)
    (config.run_dir / "run.yaml").write_text(dump_config(config))
    data = write_trajectories(tmp_path / "sft.jsonl", 6)
    result = run_launched(config, "sft", _inputs(config, tiny_base, data))
    assert not result.skipped and (result.adapter_path / "adapter_config.json").is_file()
    metrics = json.loads((config.run_dir / "stages/python/sft/metrics.json").read_text())
    assert metrics["steps"] == result.metrics["steps"] > 0
    assert run_launched(config, "sft", _inputs(config, tiny_base, data)).skipped  # finished: not launched again


def test_a_launched_rank_trains_into_the_stage_directory_of_the_round(tmp_path, monkeypatch):
    config = small_config(f"runs_dir={tmp_path}", "round=2")
    config.run.root.mkdir(parents=True)
    config.run.config_file.write_text(dump_config(config))
    seen = []
    monkeypatch.setattr(launch, "stage_module", lambda stage: SimpleNamespace(run=lambda c, inputs: seen.append(inputs)))
    launch.main([str(config.run_dir), "sft", "python", str(tmp_path / "base")])
    assert seen[0].stage_dir == config.run_dir / "stages" / "python" / "round-2" / "sft"
