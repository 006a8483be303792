"""What an evaluation's rows belong to (adapter, base and its hash, task set), light enough for a dry run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apprentice.artifacts import hash_path, hash_value
from apprentice.tasks.task import Task

STAMP_FILE = "stamp.json"


@dataclass(frozen=True)
class EvalStamp:
    """What an evaluation's rows belong to: rows of another stamp are never mixed into them."""

    target: str
    version: str  # "python-v3", "base", "sft", ...
    adapter: str | None
    base: str
    base_hash: str
    task_set_hash: str

    @classmethod
    def build(cls, target: str, version: str, adapter: Path | None, base: Path | str, tasks: list[Task],
              base_hash: str | None = None) -> EvalStamp:
        """The stamp of evaluating `adapter` on `base` over `tasks` (hashes the base unless given)."""
        base_hash = base_hash or (hash_path(Path(base)) if Path(base).exists() else hash_value(str(base)))
        return cls(target, version, str(adapter) if adapter else None, str(base), base_hash, task_set_hash(tasks))


def task_set_hash(tasks: list[Task]) -> str:
    """Order-independent hash of the tasks' full records."""
    return hash_value(sorted(task.to_json() for task in tasks))
