"""The real CLI, as a user runs it: exit codes, one-line errors, nothing half-written."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def apprentice(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "apprentice", *args], cwd=cwd, capture_output=True, text=True)


def test_validate_names_the_misspelt_key(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("name: x\nlora:\n  rnak: 8\n")
    result = apprentice("config", "validate", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: unknown key 'lora.rnak' in {config}; did you mean 'rank'?"
    ]


def test_validate_accepts_every_example():
    for example in sorted((REPO / "examples").glob("*.yaml")):
        result = apprentice("config", "validate", str(example))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok ")


def test_show_applies_overrides_without_a_file():
    result = apprentice("config", "show", "sft.epochs=7", "name=cli")
    assert result.returncode == 0, result.stderr
    assert "name: cli" in result.stdout and "epochs: 7.0" in result.stdout


def test_ls_lists_stages_languages_and_examples():
    result = apprentice("ls")
    assert result.returncode == 0
    for word in ("pretrain", "grpo", "typescript", "demo.yaml"):
        assert word in result.stdout


@pytest.mark.integration
def test_base_init_and_inspect(tmp_path):
    out = tmp_path / "b"
    result = apprentice("base", "init", "--out", str(out))
    assert result.returncode == 0, result.stderr
    inspected = apprentice("base", "inspect", str(out))
    assert inspected.returncode == 0
    for expected in ("gpt_oss", "GptOssForCausalLM", "4 (top-2)", "harmony", "mlp.experts.gate_up_proj"):
        assert expected in inspected.stdout


def test_inspect_of_a_missing_base_is_one_line(tmp_path):
    result = apprentice("base", "inspect", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "does not exist" in result.stderr


@pytest.mark.integration
def test_run_with_a_missing_base_writes_nothing(tmp_path):
    result = apprentice("run", str(REPO / "examples" / "gpt-oss-20b.yaml"),
                        f"runs_dir={tmp_path / 'runs'}", f"base.path={tmp_path / 'no-model'}")
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert not (tmp_path / "runs").exists()
