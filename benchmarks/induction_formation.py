"""Purpose: does an induction head form in the miniature gpt-oss? Shipped base against a random start, same run.

Usage: .venv/bin/python benchmarks/induction_formation.py [--phases 256x1500] [--arms shipped,random] [--threads 2]
           [--code-share 0.25] [--probe] [--save DIR]

Each arm trains on the cleanest induction signal there is: spans of random token ids, each followed
by the same ids again. An induction head predicts the repeated half from the first, so its loss falls
far below the fresh half's (the uniform entropy of the sampled ids, ln V); a model that does not copy
keeps the two equal. Every `--eval-every` steps both halves are measured on a fixed batch; the line
printed is `rep/fresh`, the repeated half's loss over the fresh half's (1.0: no copying; an induction
head takes it towards 0). `--phases 256x1000,2048x500` widens the sampled vocabulary after 1,000 steps
(a curriculum: small vocabularies form the head sooner). The arms share the spec, data and seed; the
random arm is the baseline that tells whether the pretrained weights help or hinder the head.

A phase may also set its sequence length, batch and longest span (`7800x400x256x8x96`: 7,800 ids, 400
steps, 256 tokens, batch 8, spans up to 96), so that repeats reach as far back as a line read earlier in
a file, and its own code share in percent (`...x96x25`). `--code-share` makes that share of every batch plain stdlib code (held-out modules excluded), so
the model keeps its code; `--probe` measures the held-out LM loss and the copy probe of
`base/pretrained.py` (repeat a line of held-out code) before training and after each arm; `--save`
writes the shipped arm's model for a closer look and `--start DIR` continues from it.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from apprentice.base.load import load_base
from apprentice.base.pretrained import copy_probe, held_out_loss, shipped_base
from apprentice.stages.corpus_data import corpus_files, token_stream

FIRST_ID = 300  # above the byte-level alphabet and the Harmony tokens: ordinary BPE merges


def main() -> None:
    """Train each arm through the phases and print rep/fresh at every evaluation, then the arms' final ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", default="256x1500", help="VOCABxSTEPS[,VOCABxSTEPS...]: sampled ids, optimizer steps")
    parser.add_argument("--arms", default="shipped,random", help="shipped (the shipped tiny base) and/or random")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=64, help="tokens per sequence")
    parser.add_argument("--span", type=int, nargs=2, default=(6, 12), help="shortest and longest repeated span")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--code-share", type=float, default=0.0, help="share of each batch that is stdlib code")
    parser.add_argument("--probe", action="store_true", help="held-out LM loss and copy probe before and after")
    parser.add_argument("--save", type=str, default=None, help="write the shipped arm's trained model here")
    parser.add_argument("--start", type=str, default=None, help="the shipped arm starts from this saved model instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    phases = [phase_spec(phase, args) for phase in args.phases.split(",")]
    model, tokenizer = load_base(Path(args.start) if args.start else shipped_base("tiny", 0), dtype="float32", attn_implementation="eager")
    wants_code = args.code_share or any(phase[5] for phase in phases)
    code = token_stream(tokenizer, corpus_files(args.seed), 4_000_000) if wants_code else []
    if args.probe:
        probe(model, tokenizer, "shipped before training")
    finals = {}
    for arm in args.arms.split(","):
        model = start(arm, args.seed, args.start)
        started = time.perf_counter()
        finals[arm] = train(model, arm, phases, args, code)
        print(f"{arm}: {time.perf_counter() - started:.0f} s")
        if args.probe:
            probe(model, tokenizer, f"{arm} after training")
        if args.save and arm == "shipped":
            model.save_pretrained(args.save)
            tokenizer.save_pretrained(args.save)
    if {"shipped", "random"} <= finals.keys():
        print(f"final rep/fresh: shipped {finals['shipped']:.3f}, random {finals['random']:.3f}, "
              f"shipped/random {finals['shipped'] / finals['random']:.3f}")


def phase_spec(text: str, args) -> tuple[int, int, int, int, int, float]:
    """(vocab, steps, length, batch, longest span, code share) from VOCABxSTEPS[xLENGTHxBATCHxSPAN[xCODE%]]."""
    parts = [int(part) for part in text.split("x")]
    if len(parts) not in (2, 5, 6):
        raise SystemExit(f"error: phase '{text}' is not VOCABxSTEPS or VOCABxSTEPSxLENGTHxBATCHxSPAN[xCODE%]")
    if len(parts) == 2:
        parts += [args.length, args.batch, args.span[1]]
    share = parts[5] / 100 if len(parts) == 6 else args.code_share
    return (*parts[:5], share)


@torch.no_grad()
def probe(model, tokenizer, label: str) -> None:
    """Print the held-out LM loss and the copy probe (exact repeats of a held-out line)."""
    model.eval()
    loss = held_out_loss(model, tokenizer)
    copied, probes = copy_probe(model, tokenizer)
    print(f"{label}: held-out LM loss {loss:.3f} nats/token, copy probe {copied}/{probes}", flush=True)


def start(arm: str, seed: int, directory: str | None):
    """The shipped pretrained tiny base (or the saved model at `directory`), or a random initialisation of its config."""
    from transformers import AutoModelForCausalLM

    model, _ = load_base(Path(directory) if directory else shipped_base("tiny", 0), dtype="float32", attn_implementation="eager")
    if arm == "shipped":
        return model
    if arm != "random":
        raise SystemExit(f"error: unknown arm '{arm}'; use shipped or random")
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(model.config, attn_implementation="eager")


def train(model, arm: str, phases: list[tuple[int, int, int, int, int, float]], args, code: list[int]) -> float:
    """AdamW with linear warmup through the phases; the last evaluation's rep/fresh."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    total = sum(phase[1] for phase in phases)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / args.warmup))
    generator = torch.Generator().manual_seed(args.seed)
    step, ratio, offset = 0, 1.0, 0
    for vocab, steps, length, batch, longest, share in phases:
        shape = argparse.Namespace(batch=batch, length=length, span=(args.span[0], longest))
        held = repeats(vocab, shape, torch.Generator().manual_seed(args.seed + 1))
        code_rows = round(batch * share)
        for _ in range(steps):
            model.train()
            ids, _ = repeats(vocab, shape, generator)
            for row in range(code_rows):  # plain code in the first rows: the model keeps what it knew
                ids[row] = torch.tensor(code[offset:offset + length])
                offset = (offset + length) % max(len(code) - length, 1)
            model(input_ids=ids, labels=ids).loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if step % args.eval_every == 0 or step == total:
                repeated, fresh = half_losses(model, *held)
                ratio = repeated / fresh
                print(f"{arm} step {step} vocab {vocab} length {length}: repeated {repeated:.3f} fresh {fresh:.3f} "
                      f"(ln V {math.log(vocab):.2f}) rep/fresh {ratio:.3f}", flush=True)
    return ratio


def repeats(vocab: int, args, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of span, same span, next span, ... and a mask: 1 where a token repeats one `span` back (its first excepted)."""
    ids = torch.empty(args.batch, args.length, dtype=torch.long)
    repeated = torch.zeros(args.batch, args.length, dtype=torch.bool)
    low, high = args.span
    for row in range(args.batch):
        position = 0
        while position < args.length:
            span = int(torch.randint(low, high + 1, (1,), generator=generator))
            tokens = torch.randint(FIRST_ID, FIRST_ID + vocab, (span,), generator=generator)
            end = min(args.length, position + 2 * span)
            ids[row, position:end] = torch.cat([tokens, tokens])[:end - position]
            repeated[row, position + span + 1:end] = True
            position = end
    return ids, repeated


@torch.no_grad()
def half_losses(model, ids: torch.Tensor, repeated: torch.Tensor) -> tuple[float, float]:
    """Mean next-token loss, in nats, over repeated positions and over the fresh ones (first tokens excepted)."""
    model.eval()
    logits = model(input_ids=ids).logits[:, :-1]
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    target_repeated = repeated[:, 1:]
    fresh = ~target_repeated
    fresh[:, 0] = False
    return losses[target_repeated].mean().item(), losses[fresh].mean().item()


if __name__ == "__main__":
    main()
