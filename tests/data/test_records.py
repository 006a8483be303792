"""The one JSONL record helper: strict dataclass <-> JSON line, files read with file and line in errors."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest
from fixture_tasks import fixture_task

from apprentice.data.records import read_records, record_from_line, record_line, write_lines
from apprentice.errors import DataError, TaskFormatError
from apprentice.tasks.task import read_task, read_tasks


@dataclass(frozen=True)
class Inner:
    name: str
    size: int = 0


@dataclass(frozen=True)
class Outer:
    inner: Inner
    tags: tuple[str, ...]
    score: float
    note: dict | None = None


def parse(line: str) -> Outer:
    return record_from_line(Outer, line, "outer", DataError)


def test_round_trip_converts_lists_numbers_and_nested_records():
    record = Outer(Inner("a", 2), ("x", "y"), 1.0, {"k": "é"})
    line = record_line(record)
    assert "é" in line and "\n" not in line
    assert parse(line) == record
    assert parse('{"inner": {"name": "a"}, "tags": [], "score": 3}').score == 3.0


@pytest.mark.parametrize(("raw", "message"), [
    ({"inner": {"name": "a"}, "tags": [], "score": 1, "colour": 1}, r"outer: unknown field\(s\) \['colour'\]"),
    ({"tags": [], "score": 1}, r"outer is missing field\(s\) \['inner'\]"),
    ({"inner": {"name": "a", "x": 1}, "tags": [], "score": 1}, r"outer.inner: unknown field\(s\) \['x'\]"),
    ({"inner": {"name": "a", "size": True}, "tags": [], "score": 1}, r"outer.inner.size must be an integer"),
    ({"inner": {"name": "a"}, "tags": "x", "score": 1}, r"outer.tags must be a list of strings"),
    ({"inner": {"name": "a"}, "tags": [1], "score": 1}, r"outer.tags\[0\] must be a string"),
    ({"inner": {"name": "a"}, "tags": [], "score": 1, "note": []}, r"outer.note must be an object or null"),
    ([], "outer must be a JSON object, got list"),
])
def test_bad_records_name_the_type_and_the_field(raw, message):
    with pytest.raises(DataError, match=message):
        parse(json.dumps(raw))
    with pytest.raises(DataError, match="outer line is not JSON"):
        parse("{oops")


def test_files_name_the_line_and_raise_the_callers_error_class(tmp_path):
    good = record_line(Outer(Inner("a"), (), 1.0))
    path = tmp_path / "records.jsonl"
    write_lines(path, [good, "", '{"tags": []}'])
    with pytest.raises(DataError, match=r"records.jsonl:3: outer is missing field"):
        read_records(path, parse)
    with pytest.raises(TaskFormatError, match="tasks file .* does not exist; give a tasks JSONL"):
        read_tasks(tmp_path / "none.jsonl")


def test_task_readers_anchor_relative_repo_paths_to_the_file(tmp_path):
    python_task = fixture_task("python")
    relative = dataclasses.replace(python_task, repo=dataclasses.replace(python_task.repo, path="repo"))
    (tmp_path / "tasks.jsonl").write_text(relative.to_json() + "\n\n" + python_task.to_json() + "\n")
    first, second = read_tasks(tmp_path / "tasks.jsonl")
    assert first.repo.path == str(tmp_path / "repo") and second == python_task
    assert read_task(tmp_path / "tasks.jsonl") == first
    (tmp_path / "task.json").write_text("{}")
    with pytest.raises(TaskFormatError, match=r"task.json: task is missing field"):
        read_task(tmp_path / "task.json")
