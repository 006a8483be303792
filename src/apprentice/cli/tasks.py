"""`apprentice tasks mutate|stats|mine`: make grading tasks, with progress bars, and report on them.

The work is the registered task sources (`tasks/sources.py`: mutation, history, package, the
same functions the pipeline's `tasks.source` calls) and `task_stats`; these commands show their
progress and print their summaries.
"""

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from apprentice.cli.output import JsonOption, cli_console, print_json

if TYPE_CHECKING:
    from apprentice.tasks.history.mine import MiningStats
    from apprentice.tasks.mutation.campaign import CampaignCounts, CampaignSummary

tasks_app = typer.Typer(help="Make grading tasks: by mutation, from git history.", no_args_is_help=True)
console = cli_console()


@tasks_app.command("mutate")
def tasks_mutate(
    repo: Annotated[Path, typer.Argument(help="Source tree with its tests, or `stdlib` for the embedded corpus.")],
    language: Annotated[str, typer.Option(help="python, rust, typescript or go.")] = "python",
    out: Annotated[Path, typer.Option(help="Tasks as JSON lines; <out>.log.jsonl and <out>.repo go next to it.")] = Path("tasks.jsonl"),
    max_tasks: Annotated[int | None, typer.Option("--max", help="Stop once the file holds this many tasks.")] = None,
    workers: Annotated[int, typer.Option(help="Mutants validated at once (one sandbox workspace each).")] = 2,
    max_per_function: Annotated[int, typer.Option(help="Mutants tried per function at most.")] = 10,
) -> None:
    """Mutate REPO, keep the mutants its tests catch as Tasks; Ctrl-C keeps them, rerun to resume."""
    summary = mutate_from_cli(repo, language, out, max_tasks, workers, max_per_function, console)
    if summary.interrupted:
        raise typer.Exit(130)


@tasks_app.command("stats")
def tasks_stats(
    path: Annotated[Path, typer.Argument(help="A tasks JSON-lines file.")],
    min_tasks: Annotated[int | None, typer.Option(help="Override gates.data.min_tasks for this check.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Counts, operator mix, difficulty, campaign verdicts and the data-quality gate; exit 1 if it fails."""
    if not stats_from_cli(path, min_tasks, console, as_json):
        raise typer.Exit(1)


@tasks_app.command("mine")
def tasks_mine(
    source: Annotated[Path, typer.Argument(help="A full git clone, or a repo package directory.")],
    language: Annotated[str, typer.Option(help="Language whose commits and tests to mine.")] = "python",
    out: Annotated[Path, typer.Option(help="Tasks JSONL (appended; resumes); <out>.stats.json goes beside it.")] = Path("tasks.jsonl"),
    max_commits: Annotated[int | None, typer.Option(help="Stop after this many commits, oldest first.")] = None,
) -> None:
    """Keep the commits whose new tests fail before the code change and pass after it, as tasks."""
    console.print(mine_from_cli(source, language, out, max_commits, console), highlight=False)


def mutate_from_cli(repo: Path, language: str, out: Path, max_tasks: int | None, workers: int,
                    max_per_function: int, console: Console) -> "CampaignSummary":
    """Run a campaign with a progress bar (tried / killed / survived / timed out, ETA); print the summary."""
    from apprentice.languages.registry import get_language
    from apprentice.tasks.sources import SOURCES

    get_language(language)  # an unknown name fails before the progress bar is drawn
    columns = (TextColumn("mutants"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[line]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("mutants", total=None, line="clean run (tests and coverage)...")

        def update(counts: "CampaignCounts") -> None:
            progress.update(bar, total=counts.total, completed=counts.tried, line=_counts_line(counts))

        summary = SOURCES["mutation"](repo, language, out, max_tasks=max_tasks, workers=workers,
                                      max_per_function=max_per_function, on_progress=update).summary
    console.print(render_summary(summary), highlight=False)
    return summary


def render_summary(summary: "CampaignSummary") -> str:
    """The campaign's closing lines: counts, what was skipped and why, where the tasks are."""
    counts = summary.counts
    lines = [f"{counts.tried} mutants tried in {summary.wall_s:.0f} s: {_counts_line(counts)}"
             + (f" ({summary.resumed} tried by an earlier run)" if summary.resumed else "")]
    if summary.failing_on_clean:
        shown = ", ".join(summary.failing_on_clean[:5])
        more = f" and {len(summary.failing_on_clean) - 5} more" if len(summary.failing_on_clean) > 5 else ""
        lines.append(f"skipped {len(summary.failing_on_clean)} tests that fail on the clean tree: {shown}{more}")
    for path, reason in summary.skipped_files:
        lines.append(f"skipped {path}: {reason}")
    lines.append(f"{counts.kept} tasks in {summary.out} (buggy commits in {summary.task_repo})")
    if summary.interrupted:
        lines.append("interrupted: every task so far is kept; run the same command again to resume")
    return "\n".join(lines)


def stats_from_cli(path: Path, min_tasks: int | None, console: Console, as_json: bool = False) -> bool:
    """Print the stats of a task file (as JSON: the counts and the gate's problems); True when it passes the data
    gate (`min_tasks` overrides the config's)."""
    from apprentice.config.models import DataGate
    from apprentice.tasks.stats import gate_problems, render_stats, task_stats

    gate = DataGate() if min_tasks is None else DataGate(min_tasks=min_tasks)
    stats = task_stats(path)
    problems = gate_problems(stats, gate)
    if as_json:
        print_json({**asdict(stats), "survival_rate": stats.survival_rate, "gate_problems": problems})
    else:
        console.print(render_stats(stats, gate), highlight=False)
    return not problems


def mine_from_cli(source: Path, language: str, out: Path, max_commits: int | None, console: Console) -> str:
    """Mine `source` (a git clone, or a repo package directory) into `out`; return the summary text."""
    from apprentice.tasks.packages.manifest import MANIFEST
    from apprentice.tasks.sources import SOURCES

    columns = (TextColumn("mining {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("kept {task.fields[kept]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("mine", total=None, name=Path(source).name, kept=0)

        def advance(stats: "MiningStats", total: int) -> None:
            progress.update(bar, completed=stats.seen, total=total, kept=stats.validated)

        kind = "package" if (Path(source) / MANIFEST).is_file() else "history"
        stats = SOURCES[kind](source, language, out, max_commits=max_commits, on_commit=advance).summary
    return render_mining_summary(stats, out)


def render_mining_summary(stats: "MiningStats", out: Path) -> str:
    """Commits seen, candidates, validated, and the drops per reason (in vocabulary order)."""
    from apprentice.tasks.history.commit_filter import DROP_REASONS
    from apprentice.tasks.history.mine import stats_path

    rate = stats.seen / stats.seconds if stats.seconds else 0.0
    lines = [f"commits seen       {stats.seen}  ({rate:.1f}/s over {stats.seconds:.1f}s)",
             f"after the filter   {stats.candidates}",
             f"validated (tasks)  {stats.validated}  -> {out}",
             "dropped:"]
    lines += [f"  {reason:<22} {stats.dropped[reason]}" for reason in DROP_REASONS if stats.dropped[reason]]
    lines.append(f"summary            {stats_path(out)}")
    return "\n".join(lines)


def _counts_line(counts: "CampaignCounts") -> str:
    verdicts = counts.verdicts
    return (f"killed {verdicts['killed']}  survived {verdicts['survived'] + verdicts['uncovered']}  "
            f"timed out {verdicts['timeout']}  broken {verdicts['broken']}  tasks {counts.kept}")
