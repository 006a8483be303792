"""The embedded default base: a miniature gpt-oss built locally, deterministically, with no download.

It is the real `GptOssForCausalLM` (mixture of experts with top-k routing, attention sinks,
alternating sliding-window and full attention, YaRN rope) at a few million parameters, a byte-level
BPE tokenizer trained on the running interpreter's standard library (held-out modules excluded),
gpt-oss's Harmony special tokens, and the gpt-oss chat template as TRL ships it. Everything that
works on it works unchanged on gpt-oss-20b.
"""

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, GptOssConfig, GptOssForCausalLM, PreTrainedTokenizerFast
from transformers.utils import logging

from apprentice.artifacts import atomic_directory, hash_value, is_done, mark_done, write_meta
from apprentice.base.chat_templates import gptoss_chat_template
from apprentice.base.load import BaseReport, inspect_base
from apprentice.errors import BaseModelError
from apprentice.tasks.corpus import HELD_OUT_MODULES, stdlib_sources

# gpt-oss's Harmony special tokens (o200k_harmony), in the roles the gpt-oss-20b tokenizer gives them.
BOS, PAD = "<|startoftext|>", "<|endoftext|>"
RETURN, CALL = "<|return|>", "<|call|>"
HARMONY_TOKENS = (BOS, PAD, RETURN, "<|constrain|>", "<|channel|>", "<|start|>", "<|end|>", "<|message|>", CALL)


@dataclass(frozen=True)
class TinySpec:
    """The shape of a miniature gpt-oss. Ratios follow gpt-oss-20b where the scale allows."""

    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    kv_heads: int  # grouped-query attention, as in gpt-oss (64 heads, 8 kv heads)
    head_dim: int
    experts: int
    experts_per_token: int
    expert_size: int
    sliding_window: int
    max_positions: int


SIZES = {
    # ~4M parameters: trains on 2 CPU cores in minutes.
    "tiny": TinySpec(8192, 128, 4, 4, 2, 32, 4, 2, 256, 128, 4096),
    # ~33M parameters: for a CPU run with more patience, or a quick GPU check.
    "small": TinySpec(16384, 256, 8, 8, 2, 32, 8, 2, 512, 256, 8192),
}


def build_tiny_base(out: Path, size: str = "tiny", seed: int = 0) -> BaseReport:
    """Build the miniature gpt-oss into `out` (atomically) and return its inspection report.

    Same size and seed, same files. An `out` already holding this exact build is left as is.
    """
    spec = _spec_for(size)
    recipe = {"size": size, "seed": seed, "spec": asdict(spec), "held_out": list(HELD_OUT_MODULES)}
    inputs = {"recipe": hash_value(recipe)}
    if is_done(out, inputs):
        return inspect_base(out)
    if out.exists() and any(out.iterdir()):
        raise BaseModelError(f"'{out}' exists and is not this base (size={size}, seed={seed}); remove it or pass another --out")
    logging.disable_progress_bar()
    with atomic_directory(out) as staging:
        tokenizer = build_tokenizer(spec)
        model = build_model(spec, tokenizer, seed)
        tokenizer.save_pretrained(staging)
        model.save_pretrained(staging, safe_serialization=True)
        parameters = sum(p.numel() for p in model.parameters())
        write_meta(staging, recipe, inputs, {"parameters": parameters})
        mark_done(staging)
    return inspect_base(out)


def build_tokenizer(spec: TinySpec) -> PreTrainedTokenizerFast:
    """A byte-level BPE trained on the stdlib source (held-out modules excluded), Harmony tokens, gpt-oss template."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        min_frequency=2,
        special_tokens=list(HARMONY_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no unknown token
        show_progress=False,
    )
    bpe.train([str(path) for path in stdlib_sources()], trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=BOS,
        eos_token=RETURN,
        pad_token=PAD,
        chat_template=gptoss_chat_template(),
        model_max_length=spec.max_positions,
    )


def build_model(spec: TinySpec, tokenizer: PreTrainedTokenizerFast, seed: int) -> GptOssForCausalLM:
    """A randomly initialised GptOssForCausalLM of the given shape, seeded."""
    config = GptOssConfig(
        vocab_size=len(tokenizer),
        hidden_size=spec.hidden_size,
        intermediate_size=spec.expert_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        head_dim=spec.head_dim,
        num_local_experts=spec.experts,
        num_experts_per_tok=spec.experts_per_token,
        sliding_window=spec.sliding_window,
        layer_types=["sliding_attention", "full_attention"] * (spec.layers // 2),
        max_position_embeddings=spec.max_positions,
        # gpt-oss stretches a 4,096 context 32x with YaRN; the miniature stretches 512 by 8x.
        rope_parameters={
            "rope_type": "yarn", "rope_theta": 150000.0, "factor": spec.max_positions / 512,
            "original_max_position_embeddings": 512, "beta_fast": 32.0, "beta_slow": 1.0, "truncate": False,
        },
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = GptOssForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        # A turn ends at <|return|> (final answer) or <|call|> (a tool call), as in gpt-oss-20b.
        eos_token_id=[tokenizer.convert_tokens_to_ids(t) for t in (RETURN, CALL, PAD)],
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def _spec_for(size: str) -> TinySpec:
    if size not in SIZES:
        raise BaseModelError(f"unknown base size '{size}' (known: {', '.join(SIZES)})")
    return SIZES[size]
