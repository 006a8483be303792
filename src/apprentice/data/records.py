"""The one JSONL record helper: a dataclass <-> one JSON line, and files of such lines.

Every record type (Task, Trajectory, PreferencePair, Interaction, ...) reads and writes through
here, so all of them are equally strict: unknown, missing and mistyped fields are errors naming
the record type and the field, raised as the type's own error class. A bad line in a file is an
error naming the file and line number, never skipped: a dataset with a silently dropped record
is not the dataset that was checked. This module imports no domain module (they import it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from apprentice.artifacts import atomic_write_text
from apprentice.errors import ApprenticeError, DataError

Record = TypeVar("Record")

# The JSON values a field of each Python type accepts, and how an error message names them.
_JSON_TYPES: dict[type, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    bool: ((bool,), "true or false"),
    dict: ((dict,), "an object"),
    type(None): ((type(None),), "null"),
}


def json_line(value: Any) -> str:
    """`value` as one JSON line (no newline): keys sorted, text left unescaped."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def record_line(record: Any) -> str:
    """A dataclass record as one JSON line that `record_from_line` reads back to an equal record."""
    return json_line(dataclasses.asdict(record))


def record_from_line(record_type: type[Record], line: str, what: str, error: type[ApprenticeError]) -> Record:
    """Parse one JSON line into `record_type`; `error` names `what` and the bad field otherwise."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as decode_error:
        raise error(f"{what} line is not JSON ({decode_error}): {line[:80]!r}") from decode_error
    return record_from_value(record_type, raw, what, error)


def record_from_value(record_type: type[Record], raw: Any, where: str, error: type[ApprenticeError]) -> Record:
    """Build `record_type` from parsed JSON: exactly its fields, each of its annotated type.

    Lists become tuples for tuple fields, integers become floats for float fields, and a field
    typed as another dataclass is built the same way (named `where.field` in errors).
    """
    if not isinstance(raw, dict):
        raise error(f"{where} must be a JSON object, got {type(raw).__name__}")
    known = dataclasses.fields(record_type)
    required = [item.name for item in known if _is_required(item)]
    optional = [item.name for item in known if not _is_required(item)]
    shape = f"exactly the fields {sorted(required)}" if not optional else \
        f"the fields {sorted(required)} and optionally {sorted(optional)}"
    unknown = sorted(set(raw) - {item.name for item in known})
    if unknown:
        raise error(f"{where}: unknown field(s) {unknown} (a {where} record has {shape})")
    missing = sorted(set(required) - set(raw))
    if missing:
        raise error(f"{where} is missing field(s) {missing} (a {where} record has {shape})")
    hints = typing.get_type_hints(record_type)
    values = {name: _value(hints[name], value, f"{where}.{name}", error) for name, value in raw.items()}
    return record_type(**values)


def _is_required(item: dataclasses.Field) -> bool:
    return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING


def _value(hint: Any, value: Any, where: str, error: type[ApprenticeError]) -> Any:
    """`value` checked against `hint` (and converted: list -> tuple, int -> float, dict -> dataclass)."""
    if dataclasses.is_dataclass(hint):
        return record_from_value(hint, value, where, error)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return _items(typing.get_args(hint)[0], value, where, error)
    options = typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)
    accepted = [_JSON_TYPES[typing.get_origin(option) or option] for option in options]
    # bool is an int subclass in Python; a JSON `true` is never a count.
    is_stray_bool = isinstance(value, bool) and bool not in options
    if is_stray_bool or not any(isinstance(value, kinds) for kinds, _ in accepted):
        named = " or ".join(name for _, name in accepted)
        raise error(f"{where} must be {named}, got {type(value).__name__}: {value!r:.80}")
    return float(value) if hint is float else value


def _items(item_type: type, value: Any, where: str, error: type[ApprenticeError]) -> tuple:
    kinds, name = _JSON_TYPES[typing.get_origin(item_type) or item_type]
    plural = {"a string": "strings", "an object": "objects"}.get(name, name)
    if not isinstance(value, list):
        raise error(f"{where} must be a list of {plural}, got {value!r:.80}")
    for index, item in enumerate(value):
        if isinstance(item, bool) and item_type is not bool or not isinstance(item, kinds):
            raise error(f"{where}[{index}] must be {name}, got {type(item).__name__}: {item!r:.80}")
    return tuple(value)


def read_records(path: Path, parse: Callable[[str], Record], *, error: type[ApprenticeError] = DataError,
                 what: str = "data file", fix: str = "build it first (apprentice data ...)") -> list[Record]:
    """Every non-blank line of `path` parsed by `parse`; a failure names the file and the line.

    `error` is the class raised (the caller's family); `what` and `fix` word the missing-file error.
    """
    if not path.is_file():
        raise error(f"{what} {path} does not exist; {fix}")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse(line))
        except ApprenticeError as failure:
            raise error(f"{path}:{number}: {failure}") from failure
    return records


def append_line(path: Path, line: str) -> None:
    """Append one whole line to `path` (its folder made if needed), flushed to disk: a kill leaves whole
    records, or at worst a torn last line that the resuming reader drops."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(line + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write `lines` as JSONL to `path` atomically; returns how many lines were written."""
    rows = list(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{row}\n" for row in rows))
    return len(rows)
