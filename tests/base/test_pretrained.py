"""The shipped pretrained base: its record's hashes hold it to the files that were built, and the
copy exercises that teach the miniature to quote what it has read."""

import json
import random

import pytest

from apprentice.base import pretrained
from apprentice.errors import BaseModelError
from apprentice.stages.corpus_data import copy_exercise, with_copy_exercises


def _recorded_base(directory):
    directory.mkdir()
    (directory / "model.safetensors").write_bytes(b"weights")
    (directory / "config.json").write_text("{}")
    record = {"command": "apprentice base pretrain --size tiny --seed 0", "files": pretrained.file_hashes(directory)}
    (directory / pretrained.RECORD_FILE).write_text(json.dumps(record))
    return directory


def test_a_base_matching_its_record_passes(tmp_path):
    base = _recorded_base(tmp_path / "tiny-seed0")
    assert pretrained.verify_record(base)["files"]["model.safetensors"].startswith("sha256:")


def test_an_altered_file_is_refused_in_one_line_naming_it_and_the_command(tmp_path):
    base = _recorded_base(tmp_path / "tiny-seed0")
    (base / "model.safetensors").write_bytes(b"other weights")
    with pytest.raises(BaseModelError) as error:
        pretrained.verify_record(base)
    message = str(error.value)
    assert "\n" not in message and "model.safetensors" in message
    assert "apprentice base pretrain --size tiny --seed 0" in message


def test_a_missing_file_is_refused(tmp_path):
    base = _recorded_base(tmp_path / "tiny-seed0")
    (base / "config.json").unlink()
    with pytest.raises(BaseModelError, match="config.json is missing"):
        pretrained.verify_record(base)


def test_no_shipped_base_names_the_command_that_builds_it(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "SHIPPED_DIR", tmp_path)
    with pytest.raises(BaseModelError, match="apprentice base pretrain --size tiny --seed 3"):
        pretrained.shipped_base("tiny", 3)


def test_a_run_refuses_an_altered_shipped_base_before_training(tmp_path, monkeypatch):
    from apprentice.config.models import load_config
    from apprentice.pipeline.run import prepare_base

    monkeypatch.setattr(pretrained, "SHIPPED_DIR", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    base = _recorded_base(tmp_path / "shipped" / "tiny-seed0")
    (base / "config.json").write_text('{"changed": true}')
    config = load_config(None, ["base.shipped=true", f"runs_dir={tmp_path / 'runs'}"])
    with pytest.raises(BaseModelError, match="config.json"):
        prepare_base(config)


def test_copy_exercises_quote_lines_of_the_stretch_before_them_as_json():
    lines = [f"value_{n} = compute({n})\n" for n in range(30)]
    text = with_copy_exercises("".join(lines), 1.0, random.Random(0))
    quotes = [json.loads(line)["quote"] for line in text.splitlines() if line.startswith('{"quote"')]
    assert len(quotes) == 2  # one per 24-line stretch
    assert quotes[0] in "".join(lines[:24]) and quotes[1] in "".join(lines[24:])
    assert text.replace("".join(f'{json.dumps({"quote": q})}\n' for q in quotes[:1]), "", 1).startswith("".join(lines[:24]))


def test_no_exercise_for_a_blank_stretch_and_none_at_fraction_zero():
    assert copy_exercise(["\n", "   \n"], random.Random(0)) == ""
    text = "".join(f"x = {n}\n" for n in range(50))
    assert with_copy_exercises(text, 0.0, random.Random(0)) == text
