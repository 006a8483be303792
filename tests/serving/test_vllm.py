"""The `vllm serve` export and the `apprentice serve` entry point's checks."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from test_adapters import adapter_dirs, base_hash, promoted_registry  # noqa: F401 (fixtures)

from apprentice.errors import ServingError
from apprentice.serving.launch import check_exposure, export_vllm, run_base, serve
from apprentice.serving.vllm import lora_rank, vllm_command, vllm_max_lora_rank


@pytest.fixture()
def run_dir(tmp_path, tiny_base, adapter_dirs, base_hash) -> Path:  # noqa: F811
    """A run whose base is the embedded one (through base/POINTER) and whose registry has python and rust."""
    run = tmp_path / "run"
    (run / "base").mkdir(parents=True)
    (run / "base" / "POINTER").write_text(f"{tiny_base}\n")
    promoted_registry(run / "registry.db", adapter_dirs, base_hash)
    return run


def test_export_vllm_names_base_every_production_adapter_and_rank(run_dir, tiny_base, adapter_dirs):  # noqa: F811
    words = shlex.split(export_vllm(run_dir))
    assert words[:4] == ["vllm", "serve", str(tiny_base), "--enable-lora"]
    modules = words[words.index("--lora-modules") + 1: words.index("--max-loras")]
    assert modules == [f"python={adapter_dirs['python']}", f"rust={adapter_dirs['rust']}"]
    # rank 4 adapters: vLLM's smallest allowed --max-lora-rank that holds 4 is 8.
    assert words[words.index("--max-loras") + 1] == "2" and words[words.index("--max-lora-rank") + 1] == "8"


def test_lora_rank_read_from_adapter_config(tmp_path, adapter_dirs):  # noqa: F811
    assert lora_rank(adapter_dirs["rust"]) == 4
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 16, "rank_pattern": {"q_proj": 64}}))
    assert lora_rank(tmp_path) == 64
    assert [vllm_max_lora_rank(r) for r in (1, 4, 64, 100, 512)] == [1, 8, 64, 128, 512]
    with pytest.raises(ServingError, match="above vLLM's largest"):
        vllm_max_lora_rank(1024)
    with pytest.raises(ServingError, match="no production adapters"):
        vllm_command("base", {})


def test_public_address_without_api_key_refused_naming_the_flag(run_dir):
    for host in ("0.0.0.0", "192.168.1.4", "example.org"):
        with pytest.raises(ServingError, match="--api-key"):
            check_exposure(host, None)
    for host in ("127.0.0.1", "::1", "localhost"):
        check_exposure(host, None)
    check_exposure("0.0.0.0", "key")
    with pytest.raises(ServingError, match="refusing to serve on 0.0.0.0 without an API key; add --api-key KEY"):
        serve(run_dir, host="0.0.0.0")


def test_run_base_must_match_the_adapters_base_hash(tmp_path, run_dir, base_hash):  # noqa: F811
    assert run_base(run_dir, base_hash) == (Path((run_dir / "base" / "POINTER").read_text().strip()), base_hash)
    with pytest.raises(ServingError, match="no base in run"):
        run_base(run_dir, "sha256:" + "0" * 64)
    with pytest.raises(ServingError, match="no registry at"):
        export_vllm(tmp_path / "elsewhere")
