"""`apprentice eval` and `apprentice report`: held-out evaluation with its metric table, and offline HTML reports.

    apprentice eval --target python [--run RUN] [--adapter PATH | --version N] [--tasks FILE]

What is evaluated is resolved by `apprentice.evaluation.targets`; this module shows the progress
and prints the metric table.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apprentice.cli.output import cli_console

console = cli_console()


def eval_command(
    target: Annotated[str, typer.Option(help="Target to evaluate: python, rust, typescript, go.")],
    run: Annotated[Path, typer.Option("--run", help="Run directory (runs/<name>).")] = Path("runs/demo"),
    adapter: Annotated[Path | None, typer.Option(help="Adapter directory (default: the target's GRPO adapter).")] = None,
    version: Annotated[str | None, typer.Option(help="Registry version: N, python-vN, an alias, or 'base' for the base alone.")] = None,
    tasks: Annotated[Path | None, typer.Option(help="Tasks JSONL (default: runs/<name>/tasks/<target>/eval.jsonl).")] = None,
    attempts: Annotated[int, typer.Option(help="Attempts per task (k of pass@k); attempt 0 is greedy.")] = 1,
    workers: Annotated[int, typer.Option(help="Episodes run at once: a local model decodes their greedy turns in "
                                              "one batch per round, and grading overlaps generation.")] = 4,
    endpoint: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL to evaluate instead of local weights.")] = None,
    model_name: Annotated[str | None, typer.Option(help="Model name to ask the endpoint for.")] = None,
    max_turns: Annotated[int, typer.Option(help="Assistant turns per episode.")] = 8,
) -> None:
    """Evaluate an adapter on held-out tasks: results.jsonl, metrics.json (SPEC §7 targets, regressions), a table."""
    eval_with_progress(run, target, adapter, version, tasks, attempts, workers, endpoint, model_name, max_turns, console)


def report_command(run_dir: Annotated[Path, typer.Argument(help="A run directory: runs/<name>.")]) -> None:
    """Render each evaluation's report.html and the run's comparison report.html (offline HTML); print their paths."""
    from apprentice.evaluation.report import report_from_cli

    for page in report_from_cli(run_dir):
        console.print(str(page), soft_wrap=True, highlight=False)


def eval_with_progress(run_dir: Path, target: str, adapter: Path | None, version: str | None, tasks_file: Path | None,
                       attempts: int, workers: int, endpoint: str | None, model_name: str | None, max_turns: int,
                       console: Console, max_new_tokens: int = 512) -> Path:
    """Evaluate with a progress bar, print the metric table; the metrics.json path."""
    from apprentice.evaluation.report_card import rung_table
    from apprentice.evaluation.targets import prepare_eval

    job = prepare_eval(run_dir, target, adapter, version, tasks_file, endpoint, model_name, max_turns, max_new_tokens)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True)
    with progress:
        bar = progress.add_task(f"eval {target} {job.chosen.version}", total=len(job.tasks) * attempts)
        summary = job.run(attempts, workers, on_row=lambda row: progress.advance(bar))
    console.print(metric_table(summary.metrics))
    if "report_card" in summary.metrics:
        console.print(f"held-out episodes reaching each rung (SPEC §10)\n{rung_table({job.chosen.version: summary.metrics['report_card']})}",
                      highlight=False)
    console.print(f"{summary.ran} attempts run, {summary.reused} reused, {summary.seconds:.1f}s -> {job.metrics_file}")
    return job.metrics_file


def metric_table(metrics_json: dict) -> Table:
    """metrics.json as a terminal table: metric, value, target, verdict."""
    table = Table(title=f"{metrics_json['target']} {metrics_json['version']}: {metrics_json['tasks']} tasks "
                        f"x {metrics_json['attempts']} attempts")
    for column in ("metric", "value", "target", "verdict"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, entry in metrics_json["metrics"].items():
        verdict = {True: "[green]meets[/]", False: "[red]below[/]", None: "[dim]n/a[/]"}[entry["meets"]]
        bound = ">=" if entry["direction"] == "max" else ("<" if name == "hallucinated_api_rate" else "<=")
        table.add_row(name, _number(name, entry["value"]), f"{bound} {_number(name, entry['target'])}", verdict)
    flagged = [row["metric"] for rows in metrics_json["regressions"].values() for row in rows if row["flag"]]
    if flagged:
        table.caption = f"[red]regressed: {', '.join(sorted(set(flagged)))}[/]"
    return table


def _number(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if name.startswith("median") else f"{value:.1%}"
