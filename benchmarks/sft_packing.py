"""SFT tokens/s with packing (TRL's bfd) against without, same data, same steps, one run.

    .venv/bin/python benchmarks/sft_packing.py [--trajectories 48] [--steps 6] [--batch 4] [--max-length 1024]
    .venv/bin/python benchmarks/sft_packing.py --data runs/demo/data/python/sft.jsonl --max-length 4096

Trains the SFT stage's LoRA on the embedded miniature gpt-oss twice from the same start: once with
`packing=True, packing_strategy="bfd"` (the stage's default), once with `packing=False` (each
trajectory padded to the longest in its batch). Trajectories are gold-like episodes whose tool
outputs are stdlib source excerpts of random length; those longer than --max-length are dropped
(at 1,024: 39 of 48 kept, 258-1,013 tokens). `--data` measures a run's own trajectories instead.
Throughput counts real tokens (TRL's `num_tokens`, padding excluded) over the training time.
Target: packing at least 1.8x.

Both runs load the model as the stage does: on a CPU that is the fused sink attention
(`apprentice.base.attention`), which attends each sequence of a padding-free row on its own, so a
packed row costs the sum of its sequences' squared lengths; eager attention would cost the square
of the row's length, and (gpt-oss's mask ignoring `position_ids`) let packed sequences see each other.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

from apprentice.agent.trajectory import Trajectory
from apprentice.base.load import load_base
from apprentice.base.tiny import build_tiny_base
from apprentice.config.models import load_config
from apprentice.stages.common import Hardware, attach_lora, load_for_training
from apprentice.stages.sft import sft_arguments
from apprentice.stages.sft_data import read_trajectories, tokenized_dataset
from apprentice.stages.sft_trainer import CompactLossSFTTrainer
from apprentice.tasks.corpus import stdlib_sources

TOOLS = ({"type": "function", "function": {"name": "read_file", "description": "Read a file.",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},)


def varied_trajectories(count: int, seed: int) -> list[Trajectory]:
    """Episodes reading a stdlib file: excerpts of 200 to 3,000 characters (~150 to ~1,100 tokens of code)."""
    rng = random.Random(seed)
    files = list(stdlib_sources())
    episodes = []
    for index in range(count):
        source = rng.choice(files)
        excerpt = source.read_text(encoding="utf-8", errors="replace")[: rng.randint(200, 3000)]
        call = {"type": "function", "function": {"name": "read_file", "arguments": {"path": source.name}}}
        messages = (
            {"role": "user", "content": f"What does {source.name} start with?"},
            {"role": "assistant", "content": "", "thinking": "Read the file.", "tool_calls": [call]},
            {"role": "tool", "name": "read_file", "content": excerpt},
            {"role": "assistant", "content": f"It starts with {excerpt[:40]!r}.", "thinking": "Summarise."},
        )
        episodes.append(Trajectory(f"bench-{index}", messages, TOOLS, "template", None))
    return episodes


def padding_factor(lengths: list[int], batch: int, seed: int, draws: int = 200) -> float:
    """Padded tokens / real tokens of random batches of `batch` trajectories: what packing saves at most
    (besides running fewer, larger rows)."""
    rng = random.Random(seed)
    padded = real = 0
    for _ in range(draws):
        chosen = rng.sample(lengths, min(batch, len(lengths)))
        padded += max(chosen) * len(chosen)
        real += sum(chosen)
    return padded / real


def tokens_per_second(base: Path, data, packing: bool, args: argparse.Namespace, out: Path) -> tuple[float, int]:
    """(real tokens per second, real tokens) of `args.steps` SFT steps with or without packing."""
    config = load_config(None, [f"sft.packing={packing}", f"sft.max_steps={args.steps}", f"sft.batch_size={args.batch}",
                                f"sft.max_seq_length={args.max_length}", "sft.eval_points=2", "lora.rank=8", "lora.alpha=16"])
    hardware = Hardware()
    model, tokenizer = load_for_training(base, config.lora, hardware)  # the stage's kernels (fused sinks on CPU)
    model = attach_lora(model, config.lora)
    arguments = sft_arguments(config, out, hardware)
    arguments.eval_strategy, arguments.save_strategy = "no", "no"
    trainer = CompactLossSFTTrainer(model=model, args=arguments, train_dataset=data, processing_class=tokenizer)
    runtime = trainer.train().metrics["train_runtime"]
    tokens = int(next(e["num_tokens"] for e in reversed(trainer.state.log_history) if "num_tokens" in e))
    return tokens / runtime, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trajectories", type=int, default=48)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=2, help="measured runs of each, in alternating order")
    parser.add_argument("--data", type=Path, help="SFT trajectories (JSONL, e.g. runs/demo/data/python/sft.jsonl) in "
                        "place of the generated ones; raise --max-length to hold them (the demo's reach ~2,200 tokens)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as holder:
        base = Path(holder) / "tiny"
        build_tiny_base(base)
        _, tokenizer = load_base(base)
        episodes = read_trajectories(args.data) if args.data else varied_trajectories(args.trajectories, args.seed)
        data = tokenized_dataset(tokenizer, episodes, args.max_length)
        lengths = sorted(len(ids) for ids in data["input_ids"])
        print(f"{len(lengths)} trajectories ({args.data or 'generated'}), {lengths[0]}-{lengths[-1]} tokens "
              f"(median {lengths[len(lengths) // 2]}); {args.steps} steps of batch {args.batch}, max length "
              f"{args.max_length}; padding alone costs {padding_factor(lengths, args.batch, args.seed):.2f}x")
        # Warm-up (CUDA context, kernels, allocator) is paid by an unmeasured run, then the two are measured
        # in alternating order and the best of each kept: the order of the runs must not decide the ratio.
        tokens_per_second(base, data, False, args, Path(holder) / "warm-up")
        packed_runs, padded_runs = [], []
        for round_index in range(args.rounds):
            for packing, runs in ((True, packed_runs), (False, padded_runs))[:: 1 if round_index % 2 == 0 else -1]:
                runs.append(tokens_per_second(base, data, packing, args, Path(holder) / f"{packing}-{round_index}"))
        packed, packed_tokens = max(packed_runs)
        padded, padded_tokens = max(padded_runs)
    print(f"packing (bfd):  {packed:8.1f} tokens/s  ({packed_tokens:,} real tokens)")
    print(f"no packing:     {padded:8.1f} tokens/s  ({padded_tokens:,} real tokens)")
    print(f"packing / no packing: {packed / padded:.2f}x (target >= 1.8x)")


if __name__ == "__main__":
    main()
