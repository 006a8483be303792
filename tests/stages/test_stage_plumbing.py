"""Plumbing that needs no training: hardware fallbacks, resource errors, stage dirs, accelerate configs."""

import errno
from pathlib import Path

import pytest
import torch
import yaml

from apprentice.config.models import LoraSection
from apprentice.errors import StageError
from apprentice.stages.common import Hardware, load_for_training, resource_errors
from apprentice.stages.result import STARTED_FILE, StageInputs, last_checkpoint, prepare_stage_dir

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accelerate"


def test_without_cuda_the_stage_says_what_it_used_instead():
    hardware = Hardware(cuda=False, bitsandbytes=False)
    assert hardware.optimizer("adamw_8bit") == "adamw_torch"
    assert hardware.quantize_4bit(LoraSection(quantize_4bit=True)) is False
    assert any("adamw_torch" in note for note in hardware.notes) and any("4-bit" in note for note in hardware.notes)
    assert hardware.optimizer("adamw_torch") == "adamw_torch" and len(hardware.notes) == 2


def test_with_cuda_and_bitsandbytes_the_real_settings_stay():
    hardware = Hardware(cuda=True, bitsandbytes=True)
    assert hardware.optimizer("adamw_8bit") == "adamw_8bit" and hardware.quantize_4bit(LoraSection()) is True
    assert hardware.notes == []


def test_unsloth_asked_for_and_missing_names_the_install(tiny_base):
    with pytest.raises(StageError, match="pip install unsloth|needs a CUDA GPU"):
        load_for_training(tiny_base, LoraSection(), Hardware(cuda=False), backend="unsloth")


def test_out_of_memory_names_the_knobs():
    with pytest.raises(StageError, match="sft.batch_size"), resource_errors("sft", "sft.batch_size"):
        raise torch.OutOfMemoryError("CUDA out of memory")


def test_disk_full_is_a_clear_error_and_other_os_errors_pass():
    with pytest.raises(StageError, match="disk full"), resource_errors("sft", "x"):
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/x")
    with pytest.raises(PermissionError), resource_errors("sft", "x"):
        raise PermissionError(errno.EACCES, "denied")


def test_stage_dir_resumes_only_for_the_same_inputs(tmp_path):
    inputs = StageInputs("python", tmp_path / "stage", tmp_path)
    assert prepare_stage_dir(inputs, {"data": "a"}) is None
    checkpoint = tmp_path / "stage" / "checkpoints" / "checkpoint-7"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    (tmp_path / "stage" / "checkpoints" / "checkpoint-12").mkdir()  # incomplete: no trainer_state.json
    assert prepare_stage_dir(inputs, {"data": "a"}) == checkpoint
    assert prepare_stage_dir(inputs, {"data": "b"}) is None  # other inputs: stale checkpoints cleared
    assert not checkpoint.exists() and (tmp_path / "stage" / STARTED_FILE).exists()
    assert last_checkpoint(tmp_path / "nowhere") is None


@pytest.mark.parametrize("name", ["fsdp.yaml", "deepspeed_zero3.yaml"])
def test_accelerate_configs_load_and_open_with_their_command(name):
    path = EXAMPLES / name
    text = path.read_text()
    assert text.splitlines()[0] == ("# apprentice run examples/gpt-oss-20b.yaml --launcher accelerate "
                                    f"launch.config_file=examples/accelerate/{name}")
    config = yaml.safe_load(text)
    for key in ("compute_environment", "distributed_type", "mixed_precision", "num_machines", "num_processes", "machine_rank"):
        assert key in config, key
    section = {"FSDP": "fsdp_config", "DEEPSPEED": "deepspeed_config"}[config["distributed_type"]]
    assert isinstance(config[section], dict) and config[section]
    from accelerate.commands.config.config_args import ClusterConfig

    ClusterConfig.from_yaml_file(str(path))  # accelerate's own loader accepts every key


def test_a_foreign_non_empty_directory_is_never_cleared(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(StageError, match="no stage directory"):
        prepare_stage_dir(StageInputs("python", tmp_path, tmp_path), {"data": "a"})
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_a_new_adapter_starts_from_the_same_weights_whatever_the_process_drew_before(tiny_base):
    from apprentice.stages.common import attach_lora

    lora = LoraSection(rank=4, alpha=8)

    def initial_a_weights(draws_before: int):
        torch.rand(draws_before)  # pretraining, data, another stage: anything that used the global RNG
        model, _ = load_for_training(tiny_base, lora, Hardware())
        adapter = attach_lora(model, lora)
        return {name: weight.detach().clone() for name, weight in adapter.named_parameters() if "lora_A" in name}

    first, second = initial_a_weights(1), initial_a_weights(1000)
    assert first and first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert any(weight.abs().sum() > 0 for weight in first.values())  # drawn, not zeros
