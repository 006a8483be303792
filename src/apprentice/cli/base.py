"""`apprentice base init|inspect`: build the embedded miniature gpt-oss, and describe any base."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

base_app = typer.Typer(help="Build and inspect base models.", no_args_is_help=True)
console = Console()


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


@base_app.command("inspect")
def base_inspect(path: Annotated[Path, typer.Argument(help="A local Hugging Face causal LM directory.")]) -> None:
    """Print a base's architecture, parameters, experts, vocabulary, chat format and LoRA targets."""
    from apprentice.base.load import inspect_base

    console.print(inspect_base(path).render())
