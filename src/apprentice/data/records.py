"""Reading and writing the data files: one JSON record per line, written atomically.

A bad line is an error naming the file and line number, never skipped: a dataset with a
silently dropped record is not the dataset that was checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from apprentice.agent.trajectory import Trajectory
from apprentice.artifacts import atomic_write_text
from apprentice.errors import ApprenticeError, DataError
from apprentice.tasks.task import Task

Record = TypeVar("Record")


def read_records(path: Path, parse: Callable[[str], Record]) -> list[Record]:
    """Every non-blank line of `path` parsed by `parse`; a failure names the file and the line."""
    if not path.is_file():
        raise DataError(f"data file {path} does not exist; build it first (apprentice data ...)")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse(line))
        except ApprenticeError as error:
            raise DataError(f"{path}:{number}: {error}") from error
    return records


def read_trajectories(path: Path) -> list[Trajectory]:
    """The trajectories of a JSONL file (the SFT data format)."""
    return read_records(path, Trajectory.from_json)


def read_tasks(path: Path) -> list[Task]:
    """The tasks of a JSONL file (what `apprentice tasks mutate` writes)."""
    return read_records(path, Task.from_json)


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write `lines` as JSONL to `path` atomically; returns how many lines were written."""
    rows = list(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{row}\n" for row in rows))
    return len(rows)
