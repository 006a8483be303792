"""Pretraining with a context-length curriculum, and merging an adapter into its base."""

import json

import pytest
import torch
from stage_data import small_config

from apprentice.errors import StageError
from apprentice.stages import merge, pretrain
from apprentice.stages.corpus_data import curriculum_blocks
from apprentice.stages.result import StageInputs


def test_pretrain_writes_a_full_model_and_the_loss_curve(tiny_base, tmp_path):
    inputs = StageInputs("python", tmp_path / "pretrain", tiny_base)
    result = pretrain.run(small_config(), inputs)
    model_dir = tmp_path / "pretrain" / "model"
    assert result.adapter_path == model_dir and (model_dir / "model.safetensors").exists()
    assert (model_dir / "tokenizer.json").exists() and (tmp_path / "pretrain" / "DONE").exists()
    assert not (tmp_path / "pretrain" / "phases").exists()
    metrics = json.loads((tmp_path / "pretrain" / "metrics.json").read_text())
    assert [step for step, _ in metrics["losses"]] == [1, 2, 3, 4]  # 2 steps x 2 phases, numbered across phases
    assert metrics["context_lengths"] == [64, 128] and metrics["tokens"] == 4 * 64 + 4 * 128
    assert pretrain.run(small_config(), inputs).skipped


def test_a_finished_phase_is_loaded_not_retrained(tiny_base, tmp_path, monkeypatch):
    inputs = StageInputs("python", tmp_path / "pretrain", tiny_base)
    calls = []
    original = pretrain.save_model

    def crash_after_first_phase(model, tokenizer, out, extra=None):
        calls.append(out.name)
        if out.name == "128":
            raise KeyboardInterrupt  # killed while saving the second phase
        original(model, tokenizer, out, extra)

    with monkeypatch.context() as patch:
        patch.setattr(pretrain, "save_model", crash_after_first_phase)
        with pytest.raises(KeyboardInterrupt):
            pretrain.run(small_config(), inputs)
    assert (tmp_path / "pretrain" / "phases" / "64" / "DONE").exists()
    trained = []
    monkeypatch.setattr(pretrain, "mark_done_phase", lambda phase_dir, length: trained.append(length))
    result = pretrain.run(small_config(), inputs)
    assert trained == [128] and len(result.metrics["losses"]) == 4


def test_curriculum_blocks_are_disjoint_and_run_out_loudly():
    stream = list(range(100))
    phases = list(curriculum_blocks(stream, [10, 20], 2))
    assert phases == [(10, [list(range(0, 10)), list(range(10, 20))]), (20, [list(range(20, 40)), list(range(40, 60))])]
    with pytest.raises(StageError, match="ran out"):
        list(curriculum_blocks(stream, [10, 200], 2))


def test_merge_equals_base_plus_adapter(sft_run, tmp_path):
    from peft import PeftModel

    from apprentice.base.load import load_base

    result, sft_inputs = sft_run
    inputs = StageInputs("python", tmp_path / "merge", sft_inputs.base_dir, parent_adapter=result.adapter_path)
    merged_dir = merge.run(small_config(), inputs).adapter_path
    merged, _ = load_base(merged_dir)
    base, _ = load_base(sft_inputs.base_dir)
    adapted = PeftModel.from_pretrained(base, result.adapter_path)
    ids = torch.arange(1, 30).unsqueeze(0)
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, adapted(ids).logits, atol=1e-4)


def test_export_copies_the_adapter_alone(sft_run, tmp_path):
    result, sft_inputs = sft_run
    inputs = StageInputs("python", tmp_path / "export", sft_inputs.base_dir, parent_adapter=result.adapter_path)
    exported = merge.run(small_config(), inputs, mode="export").adapter_path
    assert (exported / "adapter_config.json").exists() and not (tmp_path / "export" / "model").exists()


def test_merge_refuses_a_directory_that_is_no_adapter(tiny_base, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(StageError, match="not a LoRA adapter"):
        merge.run(small_config(), StageInputs("python", tmp_path / "m", tiny_base, parent_adapter=tmp_path / "empty"))
