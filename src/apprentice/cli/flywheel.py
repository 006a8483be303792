"""`apprentice flywheel ...`: curate captured interactions into the next round's data; show the rounds."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.cli.output import JsonOption, cli_console, print_json

flywheel_app = typer.Typer(help="Data flywheel: curate captured interactions into the next training round.",
                           no_args_is_help=True)
console = cli_console()

RunOption = Annotated[Path, typer.Option("--run", help="Run directory (runs/<name>); its flywheel/ is used.")]


@flywheel_app.command("curate")
def flywheel_curate(
    run: RunOption,
    round_number: Annotated[int | None, typer.Option("--round", help="Round to curate (2 or later); default: the next one.")] = None,
    replay_share: Annotated[float, typer.Option(help="Share of the round's data replayed from earlier rounds (SPEC §6: 0.10-0.20).")] = 0.15,
) -> None:
    """Keep the successful, novel, secret-free interactions as round N's data, plus replay of earlier rounds."""
    from apprentice.flywheel.curate import curate_run

    report = curate_run(run, round_number, replay_share)
    console.print(report.text(), soft_wrap=True, highlight=False)
    console.print(f"train round {report.round}: apprentice run <config> round={report.round}", highlight=False)


@flywheel_app.command("stats")
def flywheel_stats(run: RunOption, as_json: JsonOption = False) -> None:
    """Interactions captured and waiting, and each curated round: kept per target, drops per reason, replay."""
    from apprentice.flywheel.curate import stats_summary, stats_text

    if as_json:
        print_json(stats_summary(run))
    else:
        console.print(stats_text(run), soft_wrap=True, highlight=False)
