"""The fused sink attention computes what gpt-oss's eager attention computes: values, gradients, generation."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from apprentice.base.attention import NAME, fused_attention_for, register, whole_sequence_mask


@pytest.fixture(scope="module")
def twin_models(tiny_base):
    """The tiny base twice, eager and fused, with the same perturbed weights (sinks far from their init)."""
    register()
    eager = AutoModelForCausalLM.from_pretrained(tiny_base, attn_implementation="eager")
    fused = AutoModelForCausalLM.from_pretrained(tiny_base, attn_implementation=NAME)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in eager.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
        fused.load_state_dict(eager.state_dict())
    return eager, fused


def test_logits_match_with_padding_and_sliding_window(twin_models):
    eager, fused = twin_models
    ids = torch.randint(10, 4000, (2, 300), generator=torch.Generator().manual_seed(1))  # past the 128-token window
    mask = torch.ones_like(ids)
    mask[1, :90] = 0  # left padding in the second row
    with torch.no_grad():
        expected = eager(input_ids=ids, attention_mask=mask).logits
        got = fused(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(got[0], expected[0], atol=1e-4)
    assert torch.allclose(got[1, 90:], expected[1, 90:], atol=1e-4)
    assert not torch.allclose(got[0, 200:], got[1, 200:], atol=1e-2)  # the rows really differ


def test_gradients_match_including_the_sinks(twin_models):
    eager, fused = twin_models
    ids = torch.randint(10, 4000, (1, 200), generator=torch.Generator().manual_seed(2))
    for model in (eager, fused):
        model.zero_grad()
        model(input_ids=ids, labels=ids).loss.backward()
    pairs = [(name, a.grad, b.grad) for (name, a), b in zip(eager.named_parameters(), fused.parameters(), strict=True)
             if "self_attn" in name]
    sinks = [(name, a, b) for name, a, b in pairs if name.endswith("sinks")]
    assert len(sinks) == eager.config.num_hidden_layers
    for name, a, b in pairs:
        assert a.abs().max() > 0, name
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-3), name


def test_greedy_generation_with_cache_is_the_same(twin_models):
    eager, fused = twin_models
    prompt = torch.randint(10, 4000, (1, 140), generator=torch.Generator().manual_seed(3))
    options = {"max_new_tokens": 24, "do_sample": False, "pad_token_id": 1}
    with torch.no_grad():
        assert torch.equal(fused.generate(prompt, **options), eager.generate(prompt, **options))


def test_chosen_for_gpt_oss_off_cuda_only():
    assert fused_attention_for({"model_type": "gpt_oss"}, cuda=False) == NAME
    assert fused_attention_for({"model_type": "gpt_oss"}, cuda=True) is None
    assert fused_attention_for({"model_type": "llama"}, cuda=False) is None


def test_packed_sequences_do_not_see_each_other(twin_models):
    eager, fused = twin_models
    ids = torch.randint(10, 4000, (1, 330), generator=torch.Generator().manual_seed(4))
    positions = torch.cat([torch.arange(130), torch.arange(200)])[None]  # two sequences in one padding-free row
    with torch.no_grad():
        packed = fused(input_ids=ids, position_ids=positions).logits
        first = fused(input_ids=ids[:, :130]).logits
        second = fused(input_ids=ids[:, 130:]).logits
    assert torch.allclose(packed[:, :130], first, atol=1e-4)
    assert torch.allclose(packed[:, 130:], second, atol=1e-4)
    with torch.no_grad():  # the second sequence runs past the 128-token sliding window: the kernel's own mask keeps it
        assert torch.allclose(packed[:, 130:], eager(input_ids=ids[:, 130:]).logits, atol=1e-4)


def test_a_mask_is_built_only_where_there_is_padding_or_a_cache():
    from transformers.masking_utils import causal_mask_function

    options = {"mask_function": causal_mask_function, "dtype": torch.float32, "device": "cpu"}
    assert whole_sequence_mask(1, 3000, 3000, **options) is None  # a packed row: no 3000 x 3000 mask
    padded = whole_sequence_mask(2, 6, 6, attention_mask=torch.tensor([[1] * 6, [0, 0, 1, 1, 1, 1]]).bool(), **options)
    assert padded.shape == (2, 1, 6, 6) and padded[1, 0, 3, 1] < -1e30 and padded[1, 0, 3, 2] == 0
    cached = whole_sequence_mask(1, 1, 7, kv_offset=0, **options)  # one new token against a cache of 7
    assert cached.shape == (1, 1, 1, 7)
    assert whole_sequence_mask(1, 6, 6, use_vmap=True, **options) is not None  # a custom mask function on top


@pytest.mark.parametrize(("cuda", "packing", "expected"), [(False, False, NAME), (True, False, None), (True, True, NAME)])
def test_training_loads_gpt_oss_with_it_off_cuda_and_for_packed_rows(tiny_base, monkeypatch, cuda, packing, expected):
    from apprentice.config.models import load_config
    from apprentice.stages import common

    seen = {}

    class Loaded:
        def train(self):
            return self

    def fake_load_base(path, **options):
        seen.update(options)
        return Loaded(), "tokenizer"

    monkeypatch.setattr(common, "load_base", fake_load_base)
    hardware = common.Hardware(cuda=cuda, bitsandbytes=False)
    common.load_for_training(tiny_base, load_config(None, []).lora, hardware, packing=packing)
    assert seen["attn_implementation"] == expected


def test_the_fused_cpu_kernel_runs_not_the_unfused_fallback():
    from apprentice.base.attention import sdpa_sinks_attention

    generator = torch.Generator().manual_seed(5)
    query, key, value = (torch.randn(1, heads, 64, 32, generator=generator, requires_grad=True) for heads in (4, 2, 2))
    sinks = torch.zeros(4, requires_grad=True)
    with torch.profiler.profile() as profile:
        output, _ = sdpa_sinks_attention(None, query, key, value, None, 32 ** -0.5, s_aux=sinks)
        output.sum().backward()
    kernels = {event.key for event in profile.key_averages()}
    # The sink feature widens queries and keys; values must be widened too, or SDPA falls back (1.7x slower).
    assert "aten::_scaled_dot_product_flash_attention_for_cpu" in kernels, sorted(k for k in kernels if "attention" in k)
    assert output.shape == (1, 64, 4, 32) and sinks.grad is not None and sinks.grad.abs().sum() > 0
