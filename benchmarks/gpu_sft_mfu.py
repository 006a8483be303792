"""SFT throughput and MFU on a random-weight gpt-oss-20b-shaped model with LoRA on attention and experts.

    python benchmarks/gpu_sft_mfu.py [--layers 24] [--rank 16] [--seq 2048] [--batch 1] [--steps 8]
                                     [--experts-impl grouped_mm|eager] [--peak-tflops 989]

Needs one NVIDIA GPU (never CI). The model is the real `GptOssForCausalLM` at gpt-oss-20b's shape
(hidden 2880, 24 layers, 32 experts top-4, 64 query / 8 KV heads of 64, vocabulary 201,088,
alternating 128-token sliding and full attention) with random bf16 weights: throughput does not
depend on the values. The LoRA is the SFT stage's own (`apprentice.base.lora.lora_config_for`, checked
by `require_expert_lora`), the step is the stage's: packed full-length sequences, gradient
checkpointing, AdamW on the adapter weights only.

FLOPs (the convention of PaLM, appendix B, so figures compare with published MFU numbers):

    model FLOPs per token = 6 * N_active + 6 * sum over layers of (2 * heads * head_dim * context)

where N_active counts the matmul weights one token goes through (q, k, v, o, router, the top-4
experts' gate_up and down, the LM head; not the embedding lookup), and `context` is the mean
attended length: seq/2 on full-attention layers (causal), min(window, seq/2) on sliding ones.
MFU = model FLOPs per second / the GPU's dense bf16 peak. With LoRA the frozen weights need no
weight gradients, so the work really done is nearer 4 * N_active per token (plus the recomputed
forward of gradient checkpointing): the script prints that "hardware" figure too.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

# Dense bf16 tensor-core peaks from the datasheets (no sparsity).
PEAK_TFLOPS = {"H100 80GB HBM3": 989.4, "H100 PCIe": 756.0, "H200": 989.4, "A100": 312.0, "L40S": 362.1}


def gpt_oss_20b_config(layers: int):
    """gpt-oss-20b's published shape, with `layers` of its 24 (alternating sliding and full attention)."""
    from transformers import GptOssConfig

    return GptOssConfig(
        num_hidden_layers=layers, num_local_experts=32, num_experts_per_tok=4, vocab_size=201088,
        hidden_size=2880, intermediate_size=2880, head_dim=64, num_attention_heads=64, num_key_value_heads=8,
        sliding_window=128, layer_types=["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(layers)],
        tie_word_embeddings=False, use_cache=False,
    )


def active_matmul_parameters(config) -> int:
    """Weights one token multiplies through: attention, router, top-k experts, LM head."""
    d, heads, kv, hd = config.hidden_size, config.num_attention_heads, config.num_key_value_heads, config.head_dim
    attention = d * heads * hd * 2 + d * kv * hd * 2
    experts = config.num_experts_per_tok * (d * 2 * config.intermediate_size + config.intermediate_size * d)
    router = d * config.num_local_experts
    return config.num_hidden_layers * (attention + experts + router) + d * config.vocab_size


def attention_flops_per_token(config, seq: int) -> float:
    """6 * sum over layers of 2 * heads * head_dim * mean attended context (QK^T and AV, fwd + bwd)."""
    total = 0.0
    for kind in config.layer_types:
        context = seq / 2 if kind == "full_attention" else min(config.sliding_window, seq / 2)
        total += 2 * config.num_attention_heads * config.head_dim * context
    return 6 * total


def build_model(args):
    """The random-weight model on the GPU, with the SFT stage's LoRA attached and checked."""
    from peft import get_peft_model
    from transformers import GptOssForCausalLM

    from apprentice.base.lora import lora_config_for, require_expert_lora

    config = gpt_oss_20b_config(args.layers)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = GptOssForCausalLM._from_config(config, dtype=torch.bfloat16,
                                                experts_implementation=args.experts_impl)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.enable_input_require_grads()
    model = get_peft_model(model, lora_config_for(model, args.rank, 2 * args.rank))
    report = require_expert_lora(model)
    return model, config, report


def train_steps(model, args, vocab: int) -> tuple[float, int]:
    """(seconds, tokens) of `args.steps` timed steps after two warm-up steps."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=3e-5, fused=True)
    batch = torch.randint(0, vocab, (args.batch, args.seq), device="cuda")

    def step() -> None:
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    return time.perf_counter() - started, args.steps * args.batch * args.seq


def measured_matmul_tflops() -> float:
    """bf16 8192^3 matmul rate on this GPU: the practical ceiling the MFU can be read against."""
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(10):
        a @ b
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (time.perf_counter() - started) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--experts-impl", default="grouped_mm", help="transformers experts implementation")
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak; default from the GPU name")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("error: no CUDA GPU; this benchmark measures GPU training throughput (run it on a GPU machine)")
    name = torch.cuda.get_device_name()
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    if peak is None:
        raise SystemExit(f"error: unknown peak for GPU '{name}'; pass --peak-tflops (dense bf16 TFLOP/s)")
    model, config, report = build_model(args)
    seconds, tokens = train_steps(model, args, config.vocab_size)
    tokens_per_second = tokens / seconds
    active = active_matmul_parameters(config)
    model_flops = tokens_per_second * (6 * active + attention_flops_per_token(config, args.seq))
    hardware_flops = tokens_per_second * (4 * active + attention_flops_per_token(config, args.seq))
    matmul = measured_matmul_tflops()
    figures = {
        "gpu": name, "layers": args.layers, "rank": args.rank, "seq": args.seq, "batch": args.batch,
        "experts_impl": args.experts_impl, "total_parameters": report.total_parameters,
        "trainable_parameters": report.trainable_parameters, "active_matmul_parameters": active,
        "tokens_per_second": round(tokens_per_second, 1), "step_seconds": round(seconds / args.steps, 3),
        "model_tflops": round(model_flops / 1e12, 1), "mfu": round(model_flops / 1e12 / peak, 4),
        "hardware_tflops_lora": round(hardware_flops / 1e12, 1), "peak_tflops": peak,
        "measured_matmul_tflops": round(matmul, 1),
        "max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1),
    }
    print(f"{name}: gpt-oss-20b shape, {args.layers} layers, LoRA rank {args.rank} ({report.describe()})")
    print(f"  {tokens_per_second:,.0f} tokens/s (batch {args.batch} x {args.seq}, {seconds / args.steps:.2f} s/step), "
          f"max memory {figures['max_memory_gib']} GiB")
    print(f"  model FLOPs {figures['model_tflops']} TFLOP/s -> MFU {100 * figures['mfu']:.1f}% of {peak} "
          f"(LoRA hardware FLOPs {figures['hardware_tflops_lora']} TFLOP/s; bf16 matmul measured {matmul:.0f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
