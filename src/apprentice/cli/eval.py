"""`apprentice eval` and `apprentice report`: held-out evaluation with its metric table, and offline HTML reports."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


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
    from apprentice.cli.eval_render import eval_from_cli

    eval_from_cli(run, target, adapter, version, tasks, attempts, workers, endpoint, model_name, max_turns, console)


def report_command(run_dir: Annotated[Path, typer.Argument(help="A run directory: runs/<name>.")]) -> None:
    """Render each evaluation's report.html and the run's comparison report.html (offline HTML); print their paths."""
    from apprentice.evaluation.report import report_from_cli

    for page in report_from_cli(run_dir):
        console.print(str(page), soft_wrap=True, highlight=False)
