"""What `apprentice tasks mutate` and `apprentice tasks stats` do, behind their Typer commands.

The commands in `cli/app.py` only parse options and call these; the work is `run_campaign` and
`task_stats`.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from apprentice.config.models import DataGate
from apprentice.languages.registry import get_language
from apprentice.tasks.mutation.campaign import CampaignConfig, CampaignCounts, CampaignSummary, run_campaign
from apprentice.tasks.stats import gate_problems, render_stats, task_stats


def _counts_line(counts: CampaignCounts) -> str:
    verdicts = counts.verdicts
    return (f"killed {verdicts['killed']}  survived {verdicts['survived'] + verdicts['uncovered']}  "
            f"timed out {verdicts['timeout']}  broken {verdicts['broken']}  tasks {counts.kept}")


def mutate_from_cli(repo: Path, language: str, out: Path, max_tasks: int | None, workers: int,
                    max_per_function: int, console: Console) -> CampaignSummary:
    """Run a campaign with a progress bar (tried / killed / survived / timed out, ETA); print the summary."""
    get_language(language)  # an unknown name fails before the progress bar is drawn
    config = CampaignConfig(repo, language, out, max_tasks, workers, max_per_function)
    columns = (TextColumn("mutants"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[line]}"),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task("mutants", total=None, line="clean run (tests and coverage)...")

        def update(counts: CampaignCounts) -> None:
            progress.update(bar, total=counts.total, completed=counts.tried, line=_counts_line(counts))

        summary = run_campaign(config, update)
    console.print(render_summary(summary), highlight=False)
    return summary


def render_summary(summary: CampaignSummary) -> str:
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


def stats_from_cli(path: Path, min_tasks: int | None, console: Console) -> bool:
    """Print the stats of a task file; True when it passes the data gate (`min_tasks` overrides the config's)."""
    gate = DataGate() if min_tasks is None else DataGate(min_tasks=min_tasks)
    stats = task_stats(path)
    console.print(render_stats(stats, gate), highlight=False)
    return not gate_problems(stats, gate)
