"""The data files `apprentice data trajectories|preferences|check|mix` build and check, minus the printing.

Each reads its input file, calls the data function that does the work, writes its output atomically
(`write_lines`) and returns the report; per-task progress goes to an `on_task` callback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from apprentice.agent.backends import Backend
from apprentice.agent.loop import LoopConfig
from apprentice.agent.trajectory import read_trajectories
from apprentice.config.models import load_config
from apprentice.data.candidates import PreferenceReport, preferences_for_tasks
from apprentice.data.gold import Built
from apprentice.data.mix import MixReport, accumulate, mix_round
from apprentice.data.quality import QualityReport, check_trajectories
from apprentice.data.records import write_lines
from apprentice.data.trajectories import BuildReport, check_source, gold_trajectories, teacher_trajectories
from apprentice.errors import DataError, TaskFormatError
from apprentice.tasks.task import Task, read_tasks


def build_trajectories(tasks_file: Path, source: str, out: Path, *, limit: int | None = None, prompts: str = "all",
                       backend: Backend | None = None, attempts: int = 4,
                       on_task: Callable[[Built], None] | None = None) -> tuple[int, BuildReport]:
    """Build `source` trajectories for the tasks of `tasks_file`, write the kept ones to `out`: (kept, report)."""
    check_source(source)
    tasks = _tasks(tasks_file, limit)
    if source == "teacher":
        if backend is None:
            raise DataError("--source teacher needs a backend: --base-url URL --model NAME, or --model-dir DIR")
        kept, report = teacher_trajectories(tasks, backend, attempts=attempts, prompts=prompts, on_task=on_task)
    else:
        kept, report = gold_trajectories(tasks, template=source == "template", prompts=prompts, on_task=on_task)
    write_lines(out, (trajectory.to_json() for trajectory in kept))
    return len(kept), report


def build_preferences(tasks_file: Path, out: Path, *, backend: Backend | None, samples: int = 4,
                      limit: int | None = None, on_task: Callable | None = None) -> tuple[int, PreferenceReport]:
    """Preference pairs (gold + `samples` sampled candidates per task) written to `out`: (pairs, report).

    `on_task(task_id, pair or None, reason)` sees each task's verdict.
    """
    tasks = _tasks(tasks_file, limit)
    pairs, report = preferences_for_tasks(tasks, backend, samples=samples, config=LoopConfig(), on_task=on_task)
    write_lines(out, (pair.to_json() for pair in pairs))
    return len(pairs), report


def check_data_file(data_file: Path, config: Path | None = None) -> QualityReport:
    """The quality-gate report of a trajectory file, thresholds from the run config (built-in when None)."""
    gate = load_config(config, []).gates.data
    return check_trajectories(read_trajectories(data_file), gate)


def add_round(rounds_dir: Path, add: list[Path], out: Path, *, replay_share: float = 0.15,
              seed: int = 0) -> tuple[int, int, MixReport]:
    """Store the trajectories of `add` as a new round, write that round's mix to `out`: (round, mixed, report)."""
    new = [trajectory for path in add for trajectory in read_trajectories(path)]
    number = accumulate(rounds_dir, new)
    mixed, report = mix_round(rounds_dir, number, replay_share=replay_share, seed=seed)
    write_lines(out, (trajectory.to_json() for trajectory in mixed))
    return number, len(mixed), report


def _tasks(tasks_file: Path, limit: int | None) -> list[Task]:
    try:
        tasks = read_tasks(tasks_file)[:limit]
    except TaskFormatError as error:  # the data commands' own error family, naming the file and line
        raise DataError(str(error)) from error
    if not tasks:
        raise DataError(f"{tasks_file} holds no tasks; make some with `apprentice tasks mutate`")
    return tasks
