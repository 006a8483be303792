"""Pretraining and SFT tokens/s of the `learn` profile against the `tiny` profile, measured in one run.

    .venv/bin/python benchmarks/pretrain_sft_throughput.py [--steps 3] [--sft-steps 3] [--episodes 8] [--rounds 1]
                                                           [--threads 1]
    .venv/bin/python benchmarks/pretrain_sft_throughput.py --data runs/demo/data/python/sft.jsonl

Pretraining. `learn` has no pretraining stage of its own (pretrain.enabled: false): its base is the
shipped miniature, pretrained by `apprentice base pretrain` with `apprentice.base.pretrained.RECIPE`
(batch 8, lengths 256 and 1,024, copy exercises), so that recipe stands for it; `tiny` pretrains
with its profile's `pretrain` section (batch 2, lengths 256, 512 and 1,024). Every phase runs the
stage's own `stages.pretrain.train_phase` (its Trainer, arguments and collator) on blocks of the
stage's token stream of the stdlib corpus, from a freshly built miniature, for one warm-up step
plus --steps measured ones; the two profiles' phases alternate, length by length, so a change in
the machine's load hits both alike. A phase's rate is batch x length tokens (blocks are full: no
padding) over its fastest measured step: another process's load only ever adds time, as timeit
assumes. A profile's rate weighs its phases as it trains them, equal steps per length: the sum of
tokens per step over the sum of seconds per step.

SFT. Each profile's `sft` and `lora` sections as the stage applies them (`sft_arguments`,
`load_for_training`, `attach_lora`, `CompactLossSFTTrainer`), one warm-up step plus --sft-steps
measured ones. Both start from the freshly built miniature, not the shipped base `learn` uses:
same architecture, and a step's cost does not depend on the weights. The data are synthetic
gold-shaped episodes (read_file, apply_patch, run_tests, answer; the read returns a stdlib excerpt)
rendered with the base's chat template at 1,165 to 2,169 tokens, the range the demo's own SFT
trajectories span (docs/stages.md), drawn evenly; --data measures a run's own trajectories
instead. Rows longer than a profile's sft.max_seq_length are dropped, as the stage drops them.
A step's tokens are TRL's `num_tokens` (padding excluded); the rate is the fastest measured step's
(both profiles draw the episodes in the same order). Where the two profiles' SFT steps are the
same (today: batch 1, no packing, the same LoRA), the ratio is the noise floor of the measurement,
and the script says so.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback

from apprentice.agent.tools import TOOL_SCHEMAS
from apprentice.agent.trajectory import Trajectory
from apprentice.base.attention import fused_attention_for
from apprentice.base.load import load_base, read_model_config
from apprentice.base.pretrained import RECIPE
from apprentice.base.tiny import build_tiny_base
from apprentice.config.models import PretrainSection, RunConfig, load_config
from apprentice.stages import pretrain
from apprentice.stages.common import Hardware, attach_lora, load_for_training
from apprentice.stages.corpus_data import corpus_files, curriculum_blocks, token_stream
from apprentice.stages.sft import sft_arguments
from apprentice.stages.sft_data import (
    read_trajectories,
    tokenize_trajectory,
    tokenized_dataset,
    training_template,
)
from apprentice.stages.sft_trainer import CompactLossSFTTrainer
from apprentice.tasks.corpus import train_module_sources

# Settings that change how long SFT trains or checkpoints, not what one step costs.
SFT_SCHEDULE = {"epochs", "max_steps", "save_steps", "format_samples", "eval_points", "learning_rate"}
EPISODE_TOKENS = (1165, 2169)  # the demo's SFT trajectories, shortest to longest (docs/stages.md)


class StepClock(TrainerCallback):
    """The time at the end of every optimizer step, by step number."""

    def __init__(self):
        self.ends: dict[int, float] = {}

    def on_step_end(self, args, state, control, **kwargs):
        self.ends[state.global_step] = time.perf_counter()


def step_seconds(clock: StepClock) -> dict[int, float]:
    """Seconds each step after the warm-up one took, by step number."""
    return {step: clock.ends[step] - clock.ends[step - 1] for step in sorted(clock.ends) if step - 1 in clock.ends}


# --- pretraining ----------------------------------------------------------------------------------


def pretrain_rates(base: Path, sections: dict[str, PretrainSection], work: Path) -> dict[str, dict[int, float]]:
    """Tokens/s per profile and curriculum length, each phase the stage's `train_phase` from a fresh `base`.

    The profiles' phases run interleaved by length (each profile keeps its own model and curriculum order),
    so a change in the machine's load mid-run hits both alike.
    """
    attention = fused_attention_for(read_model_config(base), torch.cuda.is_available())  # as the stage loads it
    runs = {}
    for name, section in sections.items():
        model, tokenizer = load_base(base, dtype="float32", attn_implementation=attention)
        blocks_per_length = section.steps_per_length * section.batch_size
        stream = token_stream(tokenizer, corpus_files(section.seed), blocks_per_length * sum(section.context_lengths),
                              section.copy_fraction, section.seed)
        runs[name] = {"config": RunConfig(name=f"bench-{name}", pretrain=section), "model": model,
                      "blocks": dict(curriculum_blocks(stream, section.context_lengths, blocks_per_length))}
    clocks: list[StepClock] = []
    shown = pretrain.show_progress

    def with_clock(trainer, stage: str):  # the stage's phase runs unchanged; its progress hook adds the clock
        trainer.add_callback(clocks[-1])
        return shown(trainer, stage)

    pretrain.show_progress = with_clock
    rates: dict[str, dict[int, float]] = {name: {} for name in sections}
    try:
        for length in sorted({length for section in sections.values() for length in section.context_lengths}):
            for name, run in runs.items():
                if length not in run["blocks"]:
                    continue
                clocks.append(StepClock())
                run["model"], _ = pretrain.train_phase(run["config"], work / name, run["model"], tokenizer, length,
                                                       run["blocks"][length])
                fastest = min(step_seconds(clocks[-1]).values())  # the machine's load only ever adds time
                rates[name][length] = sections[name].batch_size * length / fastest
    finally:
        pretrain.show_progress = shown
    return rates


def profile_rate(rates: dict[int, float], batch: int) -> float:
    """A profile's tokens/s over its phases, equal steps per length: tokens per step / seconds per step, summed."""
    return sum(batch * length for length in rates) / sum(batch * length / rate for length, rate in rates.items())


# --- SFT ------------------------------------------------------------------------------------------


def gold_shaped_episode(tokenizer, template: str, index: int, source: Path, tokens: int) -> Trajectory:
    """An episode of read_file, apply_patch, run_tests and an answer, its read cut so it renders at ~`tokens`."""
    path = f"src/{source.name}"

    def episode(excerpt: str) -> Trajectory:
        messages = (
            {"role": "system", "content": "You are a python coding agent. Use tools to read, modify, and test code."},
            {"role": "user", "content": f"A function in {path} does not behave as its tests expect. Find the bug, "
                                        "fix it with the tools, run the tests, then reply with a short summary."},
            {"role": "assistant", "content": "", "thinking": f"Tests fail in {path}. Read it first.",
             "tool_calls": [call("read_file", {"path": path, "start": 1})]},
            {"role": "tool", "name": "read_file", "content": excerpt},
            {"role": "assistant", "content": "", "thinking": f"Patch {path}.",
             "tool_calls": [call("apply_patch", {"diff": f"{path}\n<<<<<<< SEARCH\n    return a\n=======\n"
                                                         "    return b\n>>>>>>> REPLACE"})]},
            {"role": "tool", "name": "apply_patch", "content": f"patch applied to {path}"},
            {"role": "assistant", "content": "", "thinking": "Run the tests to confirm the fix.",
             "tool_calls": [call("run_tests", {})]},
            {"role": "tool", "name": "run_tests", "content": "patch applied: yes\nbuild: ok\ntests: 8/8 passed"},
            {"role": "assistant", "content": f"Fixed the return value in {path}; the tests pass.",
             "thinking": "All tests pass."},
        )
        return Trajectory(f"bench-{index}", messages, TOOL_SCHEMAS, "gold", None)

    def rendered(keep: int) -> tuple[Trajectory, int]:
        trajectory = episode(tokenizer.decode(source_ids[:keep]))
        return trajectory, len(tokenize_trajectory(tokenizer, template, trajectory)["input_ids"])

    source_ids = tokenizer(source.read_text(encoding="utf-8"), add_special_tokens=False).input_ids
    _, overhead = rendered(0)
    keep = max(0, tokens - overhead)
    for _ in range(4):  # in the rendered episode the excerpt takes more tokens than alone
        trajectory, length = rendered(keep)
        if abs(length - tokens) <= tokens // 100 or length == overhead:
            break
        keep = max(0, keep + (tokens - length) * keep // max(1, length - overhead))
    return trajectory


def call(name: str, arguments: dict) -> dict:
    """One tool call in the OpenAI message shape."""
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def synthetic_episodes(tokenizer, count: int, seed: int) -> list[Trajectory]:
    """`count` gold-shaped episodes evenly spread over EPISODE_TOKENS, each reading a training module."""
    rng = random.Random(seed)
    template = training_template(tokenizer)
    sources = [path for path in train_module_sources() if path.stat().st_size > 20_000]  # long enough to cut
    low, high = EPISODE_TOKENS
    lengths = [low + (high - low) * i // max(1, count - 1) for i in range(count)]
    return [gold_shaped_episode(tokenizer, template, i, rng.choice(sources), tokens) for i, tokens in enumerate(lengths)]


def sft_rate(base: Path, config: RunConfig, episodes: list[Trajectory], steps: int, work: Path) -> tuple[float, int]:
    """(tokens/s of the fastest step, tokens of all) of `steps` SFT steps after a warm-up one, with the profile's
    sft and lora sections."""
    hardware = Hardware()
    model, tokenizer = load_for_training(base, config.lora, hardware, config.sft.backend, config.sft.packing)
    model = attach_lora(model, config.lora)
    data = tokenized_dataset(tokenizer, episodes, config.sft.max_seq_length)
    arguments = sft_arguments(config, work, hardware)
    arguments.max_steps, arguments.eval_strategy, arguments.save_strategy = steps + 1, "no", "no"
    clock = StepClock()
    trainer = CompactLossSFTTrainer(model=model, args=arguments, train_dataset=data, processing_class=tokenizer,
                                    callbacks=[clock])
    trainer.remove_callback(PrinterCallback)  # a metrics dict per step is noise here
    trainer.train()
    tokens_at = {entry["step"]: entry["num_tokens"] for entry in trainer.state.log_history if "num_tokens" in entry}
    seconds = step_seconds(clock)
    rates = [(tokens_at[step] - tokens_at[step - 1]) / took for step, took in seconds.items()]
    return max(rates), int(tokens_at[max(seconds)] - tokens_at[min(seconds) - 1])  # the fastest step, as above


def same_sft_step(a: RunConfig, b: RunConfig) -> bool:
    """Whether two configs' SFT steps cost the same: equal lora sections, equal sft sections but for the schedule."""
    return a.lora == b.lora and a.sft.model_dump(exclude=SFT_SCHEDULE) == b.sft.model_dump(exclude=SFT_SCHEDULE)


def measure(args: argparse.Namespace, profiles: dict[str, RunConfig], sections: dict[str, PretrainSection]):
    """(pretraining rates by profile and length, SFT (rate, tokens) by profile, episode lengths), each the best of
    `args.rounds` rounds whose profile order alternates."""
    rates: dict[str, dict[int, float]] = {name: {} for name in sections}
    sft: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory() as holder:
        base = Path(holder) / "tiny"
        build_tiny_base(base)
        _, tokenizer = load_base(base)
        episodes = read_trajectories(args.data) if args.data else synthetic_episodes(tokenizer, args.episodes, args.seed)
        template = training_template(tokenizer)
        lengths = sorted(len(tokenize_trajectory(tokenizer, template, t)["input_ids"]) for t in episodes)
        for round_index in range(args.rounds):
            order = list(sections)[:: 1 if round_index % 2 == 0 else -1]
            measured = pretrain_rates(base, {name: sections[name] for name in order}, Path(holder) / f"pretrain-{round_index}")
            for name, by_length in measured.items():
                for length, rate in by_length.items():
                    rates[name][length] = max(rate, rates[name].get(length, 0.0))
            for name in reversed(order):  # the other order than pretraining's: neither always meets a cold process
                result = sft_rate(base, profiles[name], episodes, args.sft_steps, Path(holder) / f"sft-{name}-{round_index}")
                sft[name] = max(result, sft.get(name, (0.0, 0)))
    return rates, sft, lengths


def report(args: argparse.Namespace, profiles: dict[str, RunConfig], sections: dict[str, PretrainSection],
           rates: dict[str, dict[int, float]], sft: dict[str, tuple[float, int]], lengths: list[int]) -> None:
    """Print each profile's tokens/s and the ratios learn / tiny."""
    print(f"pretraining: fastest of {args.steps} measured steps per phase after a warm-up, best of {args.rounds} "
          f"round(s), tokens/s")
    overall = {}
    for name, section in sections.items():
        overall[name] = profile_rate(rates[name], section.batch_size)
        phases = "  ".join(f"@{length} {rate:7.1f}" for length, rate in sorted(rates[name].items()))
        print(f"  {name:<6} batch {section.batch_size}, copy {section.copy_fraction}:  {phases}  -> {overall[name]:7.1f}")
    shared = sorted(set(rates["tiny"]) & set(rates["learn"]))
    same = ", ".join(f"@{length} {rates['learn'][length] / rates['tiny'][length]:.2f}x" for length in shared)
    print(f"  learn / tiny: {overall['learn'] / overall['tiny']:.2f}x  (same length: {same})")
    print(f"SFT: fastest of {args.sft_steps} measured steps after a warm-up, best of {args.rounds} round(s), "
          f"{len(lengths)} episodes ({args.data or 'synthetic'}) of {lengths[0]}-{lengths[-1]} tokens, tokens/s")
    for name, config in profiles.items():
        rate, tokens = sft[name]
        print(f"  {name:<6} batch {config.sft.batch_size} x accum {config.sft.grad_accum}, packing "
              f"{config.sft.packing}, max {config.sft.max_seq_length}, lora rank {config.lora.rank}:  "
              f"{rate:7.1f}  ({tokens:,} tokens)")
    note = ("  (the profiles' SFT steps are the same: this ratio is the measurement's noise)"
            if same_sft_step(profiles["learn"], profiles["tiny"]) else "")
    print(f"  learn / tiny: {sft['learn'][0] / sft['tiny'][0]:.2f}x{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="measured pretraining steps per phase (after a warm-up)")
    parser.add_argument("--sft-steps", type=int, default=3, help="measured SFT steps per profile (after a warm-up)")
    parser.add_argument("--episodes", type=int, default=8, help="synthetic SFT episodes (one per step at batch 1)")
    parser.add_argument("--data", type=Path, help="SFT trajectories (JSONL) in place of the synthetic ones")
    parser.add_argument("--rounds", type=int, default=1, help="measured rounds, the profiles' order alternating; "
                        "the best of each is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own, as the stages run); 1 "
                        "steadies the ratio on a machine whose other cores are busy")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    profiles = {name: load_config(None, [f"profile={name}"]) for name in ("tiny", "learn")}
    sections = {"tiny": profiles["tiny"].pretrain, "learn": PretrainSection(**RECIPE)}
    sections = {name: section.model_copy(update={"steps_per_length": args.steps + 1, "seed": args.seed})
                for name, section in sections.items()}
    report(args, profiles, sections, *measure(args, profiles, sections))


if __name__ == "__main__":
    main()
