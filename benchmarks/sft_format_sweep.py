"""Tool-call format accuracy of the SFT stage against steps and learning rate (the tiny profile's recipe).

    python benchmarks/sft_format_sweep.py OUT.json STEPS@LR [STEPS@LR ...] [--base MODEL] [--data SFT.jsonl]

Trains the SFT stage of the demo config once per STEPS@LR on the same base and trajectories, and
prints one JSON line each: seconds, final train loss, last eval loss, format accuracy on
`--probes` held-out turns (16) and the first parse errors. The baseline is the first point of the sweep, measured
in the same run. Defaults read the demo run (`runs/demo`: the pretrained miniature and its SFT data).
Each point is one draw (CPU runs are not bit-reproducible). The measured sweeps, dated with their
commands: docs/log.md; the tables: docs/stages.md "Figures".
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from pathlib import Path

from trl import SFTConfig

from apprentice.config.models import load_config
from apprentice.stages import sft
from apprentice.stages.common import attach_lora, common_training_args
from apprentice.stages.result import StageInputs


def _field(text: str) -> tuple[str, object]:
    name, _, value = text.partition("=")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def _with_fields(make, fields: dict, *args, **kwargs):
    arguments = make(*args, **kwargs)
    for name, value in fields.items():
        setattr(arguments, name, value)
    return arguments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("points", nargs="+", help="STEPS@LEARNING_RATE, e.g. 200@6e-3")
    parser.add_argument("--base", type=Path, default=Path("runs/demo/stages/base/pretrain/model"))
    parser.add_argument("--data", type=Path, default=Path("runs/demo/data/python/sft.jsonl"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/sft-format-sweep"))
    parser.add_argument("--packing", action="store_true", help="pack rows (faster on a GPU, slower on a CPU)")
    parser.add_argument("--probes", type=int, default=16, help="held-out assistant turns generated per point")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another config override for every point (repeatable), e.g. sft.eval_share=0.15")
    parser.add_argument("--seed", type=int, default=0, help="the stage's seed: data order and the new LoRA's initial "
                        "weights (before 36380e9 it moved the data order only; every run began from one LoRA)")
    parser.add_argument("--train-arg", action="append", default=[], metavar="FIELD=VALUE",
                        help="a TrainingArguments field for every point, e.g. neftune_noise_alpha=5 (JSON value)")
    args = parser.parse_args()
    if args.seed:  # the data order and the new LoRA's initial weights, as the stage seeds them
        sft.common_training_args = functools.partial(common_training_args, seed=args.seed)
        sft.attach_lora = functools.partial(attach_lora, seed=args.seed)
    if args.train_arg:
        fields = dict(map(_field, args.train_arg))
        unknown = sorted(set(fields) - {field.name for field in dataclasses.fields(SFTConfig)})
        if unknown:
            parser.error(f"--train-arg {', '.join(unknown)}: SFTConfig has no such field (see trl.SFTConfig)")
        sft.sft_arguments = functools.partial(_with_fields, sft.sft_arguments, fields)
    rows = []
    for point in args.points:
        steps, rate = point.split("@")
        config = load_config(Path("examples/demo.yaml"), [
            f"runs_dir={args.work}", f"name=s{steps}", f"sft.max_steps={steps}", f"sft.learning_rate={rate}",
            f"sft.format_samples={args.probes}", "sft.save_steps=100000", f"sft.packing={args.packing}", *args.set])
        inputs = StageInputs("python", args.work / f"{steps}_{rate}" / "sft", args.base, None, args.data)
        started = time.time()
        metrics = sft.run(config, inputs).metrics
        row = {"steps": int(steps), "lr": float(rate), "seconds": round(time.time() - started, 1),
               "loss": metrics["final_train_loss"], "eval": (metrics["eval_losses"] or [[0, None]])[-1][1],
               "format": metrics["format_accuracy"], "probes": metrics["format_probes"],
               "errors": metrics["format_errors"][:3], "set": args.set, "seed": args.seed,
               "train_args": args.train_arg}
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
