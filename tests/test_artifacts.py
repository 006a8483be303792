"""Run-directory primitives: atomic writes, hashes, meta.json, DONE markers."""

import json

import pytest

from apprentice.artifacts import (
    atomic_directory,
    atomic_write_json,
    hash_path,
    is_done,
    mark_done,
    read_meta,
    write_meta,
)
from apprentice.errors import RunDirError


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"b": 1, "a": 2})
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": 2, "b": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_failed_atomic_directory_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "art") as staging:
        (staging / "half").write_text("x")
        raise RuntimeError("crash mid-build")
    assert list(tmp_path.iterdir()) == []


def test_hash_changes_with_content_not_with_meta(tmp_path):
    (tmp_path / "f.txt").write_text("one")
    first = hash_path(tmp_path)
    write_meta(tmp_path, {"x": 1}, {})
    mark_done(tmp_path)
    assert hash_path(tmp_path) == first
    (tmp_path / "f.txt").write_text("two")
    assert hash_path(tmp_path) != first


def test_done_requires_matching_input_hashes(tmp_path):
    write_meta(tmp_path, {"lr": 1}, {"data": "sha256:aa"}, {"loss": 0.4})
    assert not is_done(tmp_path, {"data": "sha256:aa"})  # no DONE marker yet
    mark_done(tmp_path)
    assert is_done(tmp_path, {"data": "sha256:aa"})
    assert not is_done(tmp_path, {"data": "sha256:bb"})  # a changed input re-runs the stage
    meta = read_meta(tmp_path)
    assert meta["metrics"] == {"loss": 0.4}
    assert {"torch", "transformers", "peft", "trl"} <= set(meta["versions"])
    assert "commit" in meta


def test_corrupt_meta_is_named(tmp_path):
    (tmp_path / "meta.json").write_text("{")
    with pytest.raises(RunDirError, match="meta.json' is not valid JSON"):
        read_meta(tmp_path)


def test_unwritable_location_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(RunDirError, match=r"cannot create directory .*file/sub'"):
        atomic_write_json(blocker / "sub" / "a.json", {})
