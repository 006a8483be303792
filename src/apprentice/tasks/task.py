"""The `Task` record: a repository snapshot, a bug, and the tests that judge a fix.

Tasks travel as JSON lines. `Task.from_json` rejects unknown, missing and mistyped fields with a
message naming the field, so a corpus written by an older or newer apprentice fails loudly.
`read_tasks` (a JSONL file) and `read_task` (one task file) are the only ways task files are read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from apprentice.data.records import read_records, record_from_line, record_line
from apprentice.errors import TaskFormatError

DIFFICULTY_TIERS = (1, 2, 3, 4)  # the four GRPO curriculum rows of SPEC §3, easiest first
STATEMENT_LEVELS = (0, 1, 2)  # SPEC §10: 0 file, line and kind of change; 1 file and function; 2 the failing tests


@dataclass(frozen=True)
class RepoRef:
    """Where the buggy tree lives: a directory (pinned to `commit` when it is a git repository) or a package."""

    path: str
    commit: str = ""  # empty: the directory as it is on disk is the snapshot
    package: str = ""  # a repo package name (air-gapped sources), empty for a plain directory


@dataclass(frozen=True)
class Task:
    """One grading task. `bug` is the unified diff that introduced the bug (fixed -> buggy)."""

    id: str
    language: str
    source: str  # "mutation", "commits", "package", "corpus", "fixture"
    repo: RepoRef
    bug: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    test_command: tuple[str, ...]  # how a human runs the tests; grading uses the language's own runner
    origin: str  # the mutation operator or the commit message the task came from
    statement: str  # the problem in natural language, as the agent sees it
    difficulty: int
    # What the fix touches, for per-role datasets (scope: which files; precision: which symbols).
    changed_files: tuple[str, ...] = ()
    changed_symbols: tuple[str, ...] = ()  # "path::Qualified.name"
    level: int = 1  # the statement level (SPEC §10) of `statement`: 0 file+line+kind, 1 file+function, 2 tests only
    statements: tuple[str, ...] = ()  # the statement at levels 0, 1, 2 when the source wrote all three

    def __post_init__(self) -> None:
        if not self.fail_to_pass:
            raise TaskFormatError(
                f"task '{self.id}': fail_to_pass is empty; a task needs at least one failing test"
            )
        if self.difficulty not in DIFFICULTY_TIERS:
            raise TaskFormatError(
                f"task '{self.id}': difficulty {self.difficulty!r} is not one of {DIFFICULTY_TIERS}"
            )
        if self.level not in STATEMENT_LEVELS:
            raise TaskFormatError(f"task '{self.id}': level {self.level!r} is not one of {STATEMENT_LEVELS}")
        if self.statements and (len(self.statements) != len(STATEMENT_LEVELS)
                                or self.statements[self.level] != self.statement):
            raise TaskFormatError(f"task '{self.id}': statements must hold one text per level {STATEMENT_LEVELS}, "
                                  f"the level-{self.level} one equal to `statement`")

    def at_level(self, level: int) -> Task:
        """This task with its level-`level` statement; TaskFormatError when its source wrote no such statement."""
        if level == self.level:
            return self
        if not self.statements:
            raise TaskFormatError(f"task '{self.id}' (source {self.source}) has a level-{self.level} statement only, "
                                  f"not level {level}: set tasks.levels to [{self.level}] for this source")
        return replace(self, level=level, statement=self.statements[level])

    @property
    def bug_file(self) -> str:
        """The file the bug diff changes (its first `+++ b/` header): the file a level 0-1 statement names."""
        header = next((line for line in self.bug.splitlines() if line.startswith("+++ ")), "+++ ?")
        return header[4:].removeprefix("b/")

    @property
    def bug_kind(self) -> str:
        """The kind of bug: the mutation operator for a mutant, the source (`commits`, `package`...) otherwise."""
        return self.origin if self.source == "mutation" else self.source

    def to_json(self) -> str:
        """One JSON line (no newline) that `Task.from_json` reads back to an equal task."""
        return record_line(self)

    @classmethod
    def from_json(cls, line: str) -> Task:
        """Parse one JSON line; unknown, missing or mistyped fields raise `TaskFormatError`."""
        return record_from_line(cls, line, "task", TaskFormatError)


def read_tasks(path: Path) -> list[Task]:
    """Every task of a JSONL file (what `apprentice tasks mutate` writes), relative repo paths anchored.

    TaskFormatError names the file and the line of a bad record, or the missing file and the fix.
    """
    tasks = read_records(Path(path), Task.from_json, error=TaskFormatError, what="tasks file",
                         fix="give a tasks JSONL (apprentice tasks mutate --out FILE)")
    return [_anchored(task, Path(path).parent) for task in tasks]


def read_task(path: Path) -> Task:
    """The task of a `.json` file, or the first of a `.jsonl` one; a relative repo path is taken from its folder."""
    path = Path(path)
    if not path.is_file():
        raise TaskFormatError(f"task file '{path}' does not exist; give a tasks JSONL or a task.json")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        text = next((line for line in text.splitlines() if line.strip()), "")
    try:
        task = Task.from_json(text.strip())
    except TaskFormatError as error:
        raise TaskFormatError(f"{path}: {error}") from error
    return _anchored(task, path.parent)


def _anchored(task: Task, folder: Path) -> Task:
    """`task` with a relative repo path taken from `folder` (the task file's), as a person wrote it."""
    if Path(task.repo.path).is_absolute():
        return task
    return replace(task, repo=replace(task.repo, path=str(folder / task.repo.path)))
