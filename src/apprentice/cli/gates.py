"""`apprentice gates check`: the promotion gates of a finished stage (SPEC §5), one line each."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.cli.output import cli_console

gates_app = typer.Typer(help="Promotion gates (SPEC §5).", no_args_is_help=True)
console = cli_console()


@gates_app.command("check")
def gates_check(stage_dir: Annotated[Path, typer.Argument(help="A stage directory: runs/<name>/stages/<target>/<stage>.")]) -> None:
    """Print each gate of a finished stage: value, threshold, verdict; exit 1 when one fails."""
    from apprentice.gates import check_stage

    verdict = check_stage(stage_dir)
    console.print(verdict.render())
    if not verdict.passed:
        raise typer.Exit(1)
