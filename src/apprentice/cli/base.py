"""`apprentice base init|pretrain|inspect`: build the embedded miniature gpt-oss, pretrain it once, describe any base."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.base.pretrained import RECIPE  # the shipped base's recipe is the command's defaults
from apprentice.cli.output import cli_console

base_app = typer.Typer(help="Build and inspect base models.", no_args_is_help=True)
console = cli_console()


@base_app.command("init")
def base_init(
    out: Annotated[Path, typer.Option(help="Directory to write the base model into.")] = Path("runs/base"),
    size: Annotated[str, typer.Option(help="tiny (~4M parameters) or small (~30M).")] = "tiny",
    seed: Annotated[int, typer.Option(help="Seed for the weights; same seed, same files.")] = 0,
) -> None:
    """Build the embedded miniature gpt-oss: tokenizer trained on the stdlib, Harmony template, random weights."""
    from apprentice.base.tiny import build_tiny_base

    report = build_tiny_base(out, size=size, seed=seed)
    console.print(report.render())


@base_app.command("pretrain")
def base_pretrain(
    size: Annotated[str, typer.Option(help="tiny (~4M parameters) or small (~30M).")] = "tiny",
    seed: Annotated[int, typer.Option(help="Seed for the weights, the corpus order and the copy exercises.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Where to write it; empty: the shipped base's place in the package.")] = None,
    steps_per_length: Annotated[int, typer.Option(help="Optimizer steps per context length.")] = RECIPE["steps_per_length"],
    batch_size: Annotated[int, typer.Option(help="Blocks per step.")] = RECIPE["batch_size"],
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate (cosine, per length).")] = RECIPE["learning_rate"],
    copy_fraction: Annotated[float, typer.Option(help="Share of stretches followed by a JSON quote of some lines.")] = RECIPE["copy_fraction"],
) -> None:
    """Build and pretrain the miniature once, measure it, write it with its sha256 record (base.shipped uses it)."""
    import shlex
    import sys

    from apprentice.base.pretrained import pretrain_base, shipped_dir
    from apprentice.config.models import PretrainSection

    section = PretrainSection(**{**RECIPE, "steps_per_length": steps_per_length, "batch_size": batch_size,
                                 "learning_rate": learning_rate, "copy_fraction": copy_fraction, "seed": seed})
    target = out or shipped_dir(size, seed)
    command = "apprentice base " + shlex.join(sys.argv[sys.argv.index("pretrain"):]) if "pretrain" in sys.argv else "apprentice base pretrain"
    record = pretrain_base(target, size, seed, section, command)
    probe = record["copy_probe"]
    console.print(f"{target}: loss {record['training']['first_loss']:.2f} -> {record['training']['final_loss']:.2f} "
                  f"on {record['training']['tokens']:,} tokens; held-out LM loss {record['held_out_loss']:.3f} nats/token; "
                  f"copy probe {probe['copied']}/{probe['probes']} ({probe['rate']:.0%}, 95% CI "
                  f"{probe['interval'][0]:.0%}-{probe['interval'][1]:.0%})")


@base_app.command("inspect")
def base_inspect(path: Annotated[Path, typer.Argument(help="A local Hugging Face causal LM directory.")]) -> None:
    """Print a base's architecture, parameters, experts, vocabulary, chat format and LoRA targets."""
    from apprentice.base.load import inspect_base

    console.print(inspect_base(path).render())
