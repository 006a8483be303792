"""The `Task` record: a repository snapshot, a bug, and the tests that judge a fix.

Tasks travel as JSON lines. `Task.from_json` rejects unknown, missing and mistyped fields with a
message naming the field, so a corpus written by an older or newer apprentice fails loudly.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from apprentice.errors import TaskFormatError

DIFFICULTY_TIERS = (1, 2, 3, 4)  # the four GRPO curriculum rows of SPEC §3, easiest first


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

    def __post_init__(self) -> None:
        if not self.fail_to_pass:
            raise TaskFormatError(
                f"task '{self.id}': fail_to_pass is empty; a task needs at least one failing test"
            )
        if self.difficulty not in DIFFICULTY_TIERS:
            raise TaskFormatError(
                f"task '{self.id}': difficulty {self.difficulty!r} is not one of {DIFFICULTY_TIERS}"
            )

    def to_json(self) -> str:
        """One JSON line (no newline) that `Task.from_json` reads back to an equal task."""
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Task:
        """Parse one JSON line; unknown, missing or mistyped fields raise `TaskFormatError`."""
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise TaskFormatError(f"task line is not JSON ({error}): {line[:80]!r}") from error
        record = _checked_fields(cls, raw, "task")
        record["repo"] = RepoRef(**_checked_fields(RepoRef, record["repo"], "task.repo"))
        for name in ("fail_to_pass", "pass_to_pass", "test_command", "changed_files", "changed_symbols"):
            if name in record:
                record[name] = _string_tuple(record[name], name)
        return cls(**record)


_SCALAR_TYPES = {"str": str, "int": int}


def _checked_fields(record_type: type, raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TaskFormatError(f"{where} must be a JSON object, got {type(raw).__name__}")
    names = {field.name for field in fields(record_type)}
    required = {field.name for field in fields(record_type) if field.default is MISSING}
    unknown, missing = sorted(set(raw) - names), sorted(required - set(raw))
    if unknown:
        raise TaskFormatError(f"{where}: unknown field(s) {unknown} (known: {sorted(names)})")
    if missing:
        raise TaskFormatError(f"{where}: missing field(s) {missing}")
    for field in fields(record_type):
        expected = _SCALAR_TYPES.get(str(field.type))
        value = raw.get(field.name)
        if expected is not None and field.name in raw and not _is_type(value, expected):
            raise TaskFormatError(f"{where}.{field.name} must be {field.type}, got {value!r}")
    return dict(raw)


def _is_type(value: Any, expected: type) -> bool:
    # bool is an int subclass in Python; a JSON `true` is never a valid tier.
    return isinstance(value, expected) and not isinstance(value, bool)


def _string_tuple(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TaskFormatError(f"task.{name} must be a list of strings, got {value!r}")
    return tuple(value)
