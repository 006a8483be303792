"""Run-directory primitives: atomic writes, hashes, meta.json, DONE markers, and RunDir's paths."""

import json

import pytest

from apprentice.artifacts import (
    RunDir,
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


def test_run_dir_names_every_path(tmp_path):
    run = RunDir(tmp_path / "r")
    root = tmp_path / "r"
    assert (run.config_file, run.base_dir, run.base_pointer) == (root / "run.yaml", root / "base", root / "base" / "POINTER")
    assert run.pretrained_model == root / "stages" / "base" / "pretrain" / "model"
    assert run.tasks_dir("python") == root / "tasks" / "python"
    assert run.tasks_file("python", "eval") == root / "tasks" / "python" / "eval.jsonl"
    assert run.data_dir("rust") == root / "data" / "rust"
    assert (run.stages_root, run.eval_root) == (root / "stages", root / "eval")
    assert run.eval_dir("python", "python-v3") == root / "eval" / "python" / "python-v3"
    assert run.signal_file("python") == root / "eval" / "python" / "signal.json"
    assert run.flywheel_dir == root / "flywheel"
    assert run.flywheel_round_dir(2) == root / "flywheel" / "round-2"
    assert (run.registry_path, run.report_file) == (root / "registry.db", root / "report.html")
    assert RunDir(str(root)).root == root and repr(run) == f"RunDir({str(root)!r})"


def test_flywheel_rounds_get_their_own_stage_and_eval_directories(tmp_path):
    run = RunDir(tmp_path)
    assert run.stage_dir("python", "sft") == tmp_path / "stages" / "python" / "sft"
    assert run.stage_dir("python", "sft", round=1) == run.stage_dir("python", "sft")
    assert run.stage_dir("python", "grpo", round=3) == tmp_path / "stages" / "python" / "round-3" / "grpo"
    assert run.stage_dir("base", "pretrain", round=2) == tmp_path / "stages" / "base" / "pretrain"  # shared
    assert run.eval_dir("python", "grpo", round=2) == tmp_path / "eval" / "python" / "round-2-grpo"
    assert run.eval_dir("python", "base", round=2) == tmp_path / "eval" / "python" / "base"  # shared
    assert run.signal_file("python", round=2) == tmp_path / "eval" / "python" / "round-2-signal.json"
    assert run.data_dir("python", round=1) == tmp_path / "data" / "python"
    assert run.data_dir("python", round=2) == tmp_path / "data" / "python" / "round-2"


def test_pointed_base_is_the_pointer_target_else_the_embedded_base(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.pointed_base() == run.base_dir
    run.base_dir.mkdir(parents=True)
    run.base_pointer.write_text(f"  {tmp_path / 'user-base'}\n", encoding="utf-8")
    assert run.pointed_base() == tmp_path / "user-base"


def test_trained_base_prefers_pretrained_then_pointer_then_embedded(tmp_path):
    run = RunDir(tmp_path / "r")
    assert run.trained_base() is None  # no base yet
    run.base_dir.mkdir(parents=True)
    assert run.trained_base() == run.base_dir
    run.base_pointer.write_text(str(tmp_path / "user-base"), encoding="utf-8")
    assert run.trained_base() == tmp_path / "user-base"  # named even before it exists: the caller reports it
    run.pretrained_model.mkdir(parents=True)
    assert run.trained_base() == run.pretrained_model


def test_open_registry_creates_the_run_registry(tmp_path):
    run = RunDir(tmp_path / "r")
    registry = run.open_registry()
    assert registry.path == run.registry_path and run.registry_path.is_file()
    registry.close()
