"""Shared fixtures: tiny models built here, never downloaded."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """The embedded miniature gpt-oss, built once per test session (a few seconds)."""
    from apprentice.base.tiny import build_tiny_base

    out = tmp_path_factory.mktemp("base") / "tiny"
    build_tiny_base(out, size="tiny", seed=0)
    return out


@pytest.fixture()
def tiny_dense_model():
    """A two-layer Llama with random weights: the dense counterpart for LoRA targeting tests."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)
    return LlamaForCausalLM(config)
