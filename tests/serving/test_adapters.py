"""The resident adapter pool on the embedded base: switching, refusals, hot reload, leases.

The helpers here (`adapter_dirs`, `promoted_registry`, `corrupt`) are shared with test_router.py.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import torch

from apprentice.errors import ServingError
from apprentice.registry.registry import Registry
from apprentice.serving.adapters import AdapterPool

METRICS = {"test_pass_rate": 0.5, "tool_call_format_accuracy": 0.99}
ADAPTERS = {"python": 1, "python2": 2, "rust": 3, "go": 4}  # name -> seed of its LoRA weights


@pytest.fixture(scope="session")
def base_hash(tiny_base) -> str:
    from apprentice.artifacts import hash_path

    return hash_path(tiny_base)


@pytest.fixture(scope="session")
def adapter_dirs(tiny_base, base_hash, tmp_path_factory) -> dict[str, Path]:
    """Four rank-4 LoRA adapters of the embedded base, each with clearly different (seeded) weights."""
    from peft import get_peft_model

    from apprentice.base.load import load_base
    from apprentice.base.lora import lora_config_for
    from apprentice.stages.result import write_adapter_origin

    root, dirs = tmp_path_factory.mktemp("adapters"), {}
    for name, seed in ADAPTERS.items():
        model, _ = load_base(tiny_base)
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, lora_config_for(model, rank=4, alpha=8))
        for parameter_name, parameter in peft_model.named_parameters():
            if "lora_B" in parameter_name:  # B starts at zero; nonzero makes each adapter change the output
                torch.nn.init.normal_(parameter, std=0.5)
        dirs[name] = root / name
        peft_model.save_pretrained(dirs[name])
        write_adapter_origin(dirs[name], base_hash, "sft", name.rstrip("2"))
    return dirs


def promoted_registry(path: Path, adapter_dirs: dict[str, Path], base_hash: str,
                      names: tuple[str, ...] = ("python", "rust")) -> Registry:
    """A registry at `path` with each named adapter registered and promoted (python2 only registered)."""
    registry = Registry(path)
    for name in names:
        record = registry.register(name, adapter_dirs[name], base_hash, metrics=METRICS)
        registry.promote(record.version)
    registry.register("python", adapter_dirs["python2"], base_hash, metrics=METRICS)  # python-v2, not promoted
    return registry


def corrupt(adapter_dir: Path, out: Path, how: str) -> Path:
    """A copy of `adapter_dir` broken one way: truncated weights, another base, or no config."""
    shutil.copytree(adapter_dir, out)
    if how == "truncated":
        weights = out / "adapter_model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "other_base":
        (out / "apprentice_adapter.json").write_text('{"base": "sha256:0000", "stage": "sft", "target": "go"}')
    elif how == "no_config":
        (out / "adapter_config.json").unlink()
    return out


@pytest.fixture()
def pool_registry(tmp_path, adapter_dirs, base_hash):
    return promoted_registry(tmp_path / "registry.db", adapter_dirs, base_hash)


@pytest.fixture()
def pool(pool_registry, tiny_base, base_hash) -> AdapterPool:
    return AdapterPool(pool_registry, tiny_base, base_hash)


def _last_logits(pool: AdapterPool, version: str) -> torch.Tensor:
    ids = pool.tokenizer("def median(values):", return_tensors="pt")
    with torch.no_grad():
        return pool.run(version, lambda model, _tokenizer: model(**ids).logits[0, -1])


def test_production_adapters_resident_and_switching_keeps_the_base(pool):
    assert pool.status().targets == {"python": "python-v1", "rust": "rust-v1"}
    base = pool.base_model
    python, rust = _last_logits(pool, "python-v1"), _last_logits(pool, "rust-v1")
    assert not torch.allclose(python, rust, atol=1e-3)  # each adapter really answers differently
    assert torch.allclose(_last_logits(pool, "python-v1"), python)  # and switching back is exact
    assert pool.base_model is base and pool.model.get_base_model() is base
    started = time.perf_counter()
    pool.run("rust-v1", lambda model, _tokenizer: None)
    assert time.perf_counter() - started < 0.5  # SPEC §9: < 1 s; it is ~1 ms (benchmarks/adapter_switch.py)


@pytest.mark.parametrize("how, reason", [
    ("truncated", "unreadable"), ("other_base", "hash mismatch"), ("no_config", "no adapter_config.json"),
])
def test_corrupted_adapter_refused_with_reason_others_served(tmp_path, adapter_dirs, base_hash, tiny_base, how, reason):
    registry = promoted_registry(tmp_path / "registry.db", adapter_dirs, base_hash)
    broken = corrupt(adapter_dirs["go"], tmp_path / "go-broken", how)
    registry.promote(registry.register("go", broken, base_hash, metrics=METRICS).version)
    pool = AdapterPool(registry, tiny_base, base_hash)
    status = pool.status()
    assert status.targets == {"python": "python-v1", "rust": "rust-v1"}
    assert [(r.version, r.target) for r in status.refused] == [("go-v1", "go")]
    assert reason in status.refused[0].reason
    assert _last_logits(pool, "rust-v1").isfinite().all()


def test_promotion_loads_new_version_and_unloads_old_once_unleased(pool, pool_registry):
    with pool.lease("python") as version:
        assert version == "python-v1"
        pool_registry.promote("python-v2")
        assert pool.sync() is True
        assert pool.target_version("python") == "python-v2"
        assert "python-v1" in pool.status().resident  # still leased: still loaded
        assert _last_logits(pool, "python-v1").isfinite().all()
    assert "python-v1" not in pool.status().resident
    assert "python-v1" not in pool.model.peft_config
    assert pool.sync() is False  # nothing changed since


def test_rollback_reloads_previous_version(pool, pool_registry):
    pool_registry.promote("python-v2")
    pool.sync()
    v2 = _last_logits(pool, "python-v2")
    pool_registry.rollback("python")
    pool.sync()
    assert pool.target_version("python") == "python-v1"
    assert not torch.allclose(_last_logits(pool, "python-v1"), v2, atol=1e-3)


def test_named_version_loaded_on_demand_and_evicted_past_the_cap(pool_registry, tiny_base, base_hash, adapter_dirs):
    pool = AdapterPool(pool_registry, tiny_base, base_hash, max_on_demand=1)
    assert pool.load_named(pool_registry.get("python-v2")) == "python-v2"
    assert pool.status().on_demand == ("python-v2",)
    extra = pool_registry.register("go", adapter_dirs["go"], base_hash, metrics=METRICS)
    pool.load_named(extra)
    assert pool.status().on_demand == ("go-v1",)
    assert "python-v2" not in pool.status().resident
    with pytest.raises(ServingError, match="no resident adapter for 'python-v2'"), pool.lease("python-v2"):
        pass
