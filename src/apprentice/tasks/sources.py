"""Task sources registered by name: what `tasks.source` and `apprentice tasks mutate / mine` call.

    report = get_source("history")(Path("calc"), "python", Path("tasks.jsonl"), max_tasks=100)

Every source is a plain function with one keyword contract (`TaskSource`):

    source(repo: Path, language: str, out: Path, *, max_tasks: int | None = None, workers: int = 2,
           seed: int = 0, **options) -> SourceReport

It writes validated `Task`s of `language` to `out` (JSON lines, at most `max_tasks` of them,
resumed ones included) and returns a `SourceReport`. `options` are source-specific, and a source
ignores those it does not take, so the pipeline passes one set to whichever source is chosen:

- `mutation`: `max_per_function`, `on_progress(CampaignCounts)`; `repo` may be `stdlib`.
- `history`:  `max_commits`, `limits`, `on_commit(MiningStats, total)`; `repo` is a full git clone,
              mined oldest commit first (one at a time: `workers` and `seed` do not apply).
- `package`:  as `history`; `repo` is a repo package directory, whose manifest names the language.
- a path ending in `.jsonl`: an existing task file, read as is (every line checked by
  `read_tasks`); its tasks of `language` are copied to `out` (`repo` is not used).

Adding a source is one function here and one entry in `SOURCES`. Engines are imported inside the
functions: the config validates `tasks.source` against this module without loading them.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from apprentice.artifacts import atomic_write_text
from apprentice.errors import DataError, UnknownNameError
from apprentice.tasks.task import read_tasks

if TYPE_CHECKING:
    from apprentice.sandbox import Limits

TASK_FILE_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class SourceReport:
    """What a source made: the task file, how many tasks it holds, and the engine's own summary."""

    out: Path
    tasks: int  # tasks in `out` once the source is done, resumed ones included
    wall_s: float
    interrupted: bool = False  # the work so far is kept; the same call resumes it
    summary: Any = None  # CampaignSummary, MiningStats or a line of text: what the CLI prints from


class TaskSource(Protocol):
    """The keyword contract every registered source follows (see the module docstring)."""

    def __call__(self, repo: Path, language: str, out: Path, *, max_tasks: int | None = None,
                 workers: int = 2, seed: int = 0, **options: Any) -> SourceReport: ...


def mutation_source(repo: Path, language: str, out: Path, *, max_tasks: int | None = None, workers: int = 2,
                    seed: int = 0, max_per_function: int | None = None,
                    on_progress: Callable[..., None] | None = None, **_: Any) -> SourceReport:
    """Mutate `repo` (`stdlib`: the embedded corpus), validate every mutant, keep the killed ones."""
    from apprentice.tasks.mutation.campaign import CampaignConfig, run_campaign
    from apprentice.tasks.mutation.engine import DEFAULT_MAX_PER_FUNCTION

    per_function = DEFAULT_MAX_PER_FUNCTION if max_per_function is None else max_per_function
    summary = run_campaign(CampaignConfig(Path(repo), language, out, max_tasks, workers, per_function, seed),
                           on_progress)
    return SourceReport(summary.out, summary.counts.kept, summary.wall_s, summary.interrupted, summary)


def history_source(repo: Path, language: str, out: Path, *, max_tasks: int | None = None,
                   max_commits: int | None = None, limits: Limits | None = None,
                   on_commit: Callable[..., None] | None = None, **_: Any) -> SourceReport:
    """Mine `repo`'s git history: the commits whose new tests fail before the code change and pass after it."""
    from apprentice.tasks.history.mine import DEFAULT_LIMITS, mine_commits

    stats = mine_commits(Path(repo), language, out, limits=limits or DEFAULT_LIMITS, max_commits=max_commits,
                         max_tasks=max_tasks, on_commit=on_commit)
    return SourceReport(out, stats.validated, stats.seconds, summary=stats)


def package_source(repo: Path, language: str, out: Path, *, max_tasks: int | None = None,
                   max_commits: int | None = None, limits: Limits | None = None,
                   on_commit: Callable[..., None] | None = None, **_: Any) -> SourceReport:
    """Mine a repo package's history offline, its own venv running the tests; the manifest names the language."""
    from apprentice.tasks.history.mine import DEFAULT_LIMITS
    from apprentice.tasks.packages.build import mine_package

    stats = mine_package(Path(repo), out, limits=limits or DEFAULT_LIMITS, max_commits=max_commits,
                         max_tasks=max_tasks, on_commit=on_commit)
    return SourceReport(out, stats.validated, stats.seconds, summary=stats)


def task_file_source(path: Path, repo: Path, language: str, out: Path, *, max_tasks: int | None = None,
                     **_: Any) -> SourceReport:
    """Copy the `language` tasks of an existing task file to `out` (the first `max_tasks`); `repo` is not used."""
    started = time.monotonic()
    tasks = read_tasks(path)
    kept = [task for task in tasks if task.language == language][:max_tasks]
    if not kept:
        found = ", ".join(f"{name} {count}" for name, count in sorted(Counter(t.language for t in tasks).items()))
        raise DataError(f"task file {path} holds no {language} task (it holds: {found or 'none'}); "
                        f"point tasks.source at a file with {language} tasks")
    atomic_write_text(out, "".join(task.to_json() + "\n" for task in kept))
    line = f"{len(kept)} {language} tasks of {len(tasks)} in {path}"
    return SourceReport(out, len(kept), time.monotonic() - started, summary=line)


SOURCES: dict[str, TaskSource] = {
    "history": history_source,
    "mutation": mutation_source,
    "package": package_source,
}


def source_problem(name: str) -> str | None:
    """Why `name` is no task source (unknown name, missing task file), or None when it is one."""
    if name in SOURCES:
        return None
    if name.endswith(TASK_FILE_SUFFIX):
        return None if Path(name).is_file() else f"task file '{name}' does not exist; give the path of a tasks .jsonl"
    return f"unknown task source '{name}' (known: {', '.join(sorted(SOURCES))}, or a path to a tasks .jsonl)"


def get_source(name: str) -> TaskSource:
    """The registered source `name`, or the source reading the task file `name` (a path ending in .jsonl)."""
    problem = source_problem(name)
    if problem is not None:
        raise (DataError if name.endswith(TASK_FILE_SUFFIX) else UnknownNameError)(problem)
    return SOURCES[name] if name in SOURCES else functools.partial(task_file_source, Path(name))
