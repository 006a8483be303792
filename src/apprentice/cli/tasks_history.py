"""What `apprentice tasks mine`, `package build` and `package validate` do, minus the argument parsing.

Each function calls one library function and returns the text the CLI prints; progress goes to
the given Rich console.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from apprentice.tasks.history.commit_filter import DROP_REASONS
from apprentice.tasks.history.mine import MiningStats, mine_commits, stats_path
from apprentice.tasks.packages.manifest import MANIFEST
from apprentice.tasks.packages.build import build_package, mine_package, validate_package


def mine_from_cli(source: Path, language: str, out: Path, max_commits: int | None, console: Console) -> str:
    """Mine `source` (a git clone, or a repo package directory) into `out`; return the summary text."""
    columns = (TextColumn("mining {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("kept {task.fields[kept]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("mine", total=None, name=Path(source).name, kept=0)

        def advance(stats: MiningStats, total: int) -> None:
            progress.update(bar, completed=stats.seen, total=total, kept=stats.validated)

        if (Path(source) / MANIFEST).is_file():
            stats = mine_package(source, out, max_commits=max_commits, on_commit=advance)
        else:
            stats = mine_commits(source, language, out, max_commits=max_commits, on_commit=advance)
    return render_summary(stats, out)


def render_summary(stats: MiningStats, out: Path) -> str:
    """Commits seen, candidates, validated, and the drops per reason (in vocabulary order)."""
    rate = stats.seen / stats.seconds if stats.seconds else 0.0
    lines = [f"commits seen       {stats.seen}  ({rate:.1f}/s over {stats.seconds:.1f}s)",
             f"after the filter   {stats.candidates}",
             f"validated (tasks)  {stats.validated}  -> {out}",
             "dropped:"]
    lines += [f"  {reason:<22} {stats.dropped[reason]}" for reason in DROP_REASONS if stats.dropped[reason]]
    lines.append(f"summary            {stats_path(out)}")
    return "\n".join(lines)


def package_build_from_cli(repo: Path, out: Path, find_links: Path | None) -> str:
    """Build and validate a package; return a one-paragraph description of it."""
    manifest = build_package(repo, out, find_links=find_links)
    return (f"built {out}: {len(manifest.commits)} commits at {manifest.head[:12]}, "
            f"{len(manifest.wheels)} wheels for python {manifest.python_version}; validated offline")


def package_validate_from_cli(package: Path) -> str:
    """Validate a package with no network; return what was checked (PackageError says what failed)."""
    manifest = validate_package(package)
    return (f"{package} is valid: manifest schema, {len(manifest.commits)} commits present, "
            f"{len(manifest.wheels)} wheel hashes, offline install into a fresh venv, test collection dry run")
