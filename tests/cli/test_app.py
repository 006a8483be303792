"""The real CLI, as a user runs it: exit codes, one-line errors, nothing half-written."""

import json
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


def test_piped_listings_are_whole_and_their_json_parses(tmp_path):
    from apprentice.artifacts import RunDir
    from apprentice.cli.ls import catalog

    listing = apprentice("ls")  # stdout is a pipe here, as in `apprentice ls | cat`
    assert "…" not in listing.stdout
    for part in catalog().values():
        for row in part:
            assert all(cell in listing.stdout for cell in row.values())
    parsed = json.loads(apprentice("ls", "--json").stdout)
    assert [row["stage"] for row in parsed["stages"]][:2] == ["pretrain", "sft"]

    run = tmp_path / "runs" / "demo"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    registry = RunDir(run).open_registry()
    registry.register("typescript", adapter, "sha256:base", metrics={"test_pass_rate": 0.25})
    table = apprentice("registry", "list", "--run", str(run))
    assert table.returncode == 0, table.stderr
    assert "typescript-v1" in table.stdout and "evaluating" in table.stdout and "…" not in table.stdout
    records = json.loads(apprentice("registry", "list", "--run", str(run), "--json").stdout)
    assert [(r["version"], r["status"], r["metrics"]) for r in records] == [
        ("typescript-v1", "evaluating", {"test_pass_rate": 0.25})]
    shown = json.loads(apprentice("registry", "show", "typescript-v1", "--run", str(run), "--json").stdout)
    assert shown["record"]["path"] == str(adapter.resolve()) and shown["history"][0]["action"] == "register"


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
