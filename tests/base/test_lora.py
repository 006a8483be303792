"""LoRA reaches the experts of a gpt-oss and the MLP of a dense model; missing experts are caught."""

import pytest
from peft import LoraConfig, get_peft_model

from apprentice.base.load import load_base
from apprentice.base.lora import lora_config_for, require_expert_lora, verify_expert_lora
from apprentice.errors import ExpertLoraError


def test_gpt_oss_experts_get_adapters_in_every_layer(tiny_base):
    model, _ = load_base(tiny_base)
    config = lora_config_for(model, rank=8, alpha=16)
    assert set(config.target_parameters) == {"mlp.experts.gate_up_proj", "mlp.experts.down_proj"}
    report = require_expert_lora(get_peft_model(model, config))
    assert report.has_experts and report.expert_layers == report.expert_layers_adapted == 4
    # SPEC §1: targeting the experts multiplies the trainable parameters several-fold.
    assert report.multiplier_over_attention_only > 4


def test_default_attention_only_targets_are_caught(tiny_base):
    model, _ = load_base(tiny_base)
    peft_model = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    report = verify_expert_lora(peft_model)
    assert report.has_experts and report.expert_layers_adapted == 0 and not report.experts_adapted
    assert report.multiplier_over_attention_only == pytest.approx(1.0)
    with pytest.raises(ExpertLoraError, match="only 0/4 layers"):
        require_expert_lora(peft_model)


def test_dense_model_gets_attention_and_mlp_modules(tiny_dense_model):
    config = lora_config_for(tiny_dense_model, rank=4, alpha=8)
    assert set(config.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert not config.target_parameters
    report = require_expert_lora(get_peft_model(tiny_dense_model, config))
    assert not report.has_experts and report.experts_adapted
    assert report.multiplier_over_attention_only > 1.5  # the MLP adapters are really there


def test_model_without_attention_projections_is_refused():
    from torch import nn

    with pytest.raises(ExpertLoraError, match="no attention projections"):
        lora_config_for(nn.Sequential(nn.Linear(4, 4)), rank=2, alpha=4)
