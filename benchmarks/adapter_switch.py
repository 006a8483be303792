"""Adapter switching and cold loading on the embedded base, against reloading the base.

    .venv/bin/python benchmarks/adapter_switch.py [--switches 400] [--cold-loads 30]

Builds the embedded miniature gpt-oss and four rank-8 LoRA adapters (one per language) into a
temporary directory, makes them resident in the router's `AdapterPool`, then times
- a switch between resident adapters (`pool.run(version, ...)`: the lock plus PEFT's `set_adapter`),
- a cold load of a new version from disk (`pool.load_named`: file checks, PEFT's `load_adapter`,
  and unloading the previous cold version, as a one-slot pool does; the files were just written,
  so the OS page cache is warm), next to PEFT's bare `load_adapter` + `delete_adapter`, and
- the baseline a switch replaces: loading the base itself again (what a router without resident
  adapters would pay per switch).
Targets: switch median and p95 <= 10 ms; cold load p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

LANGUAGES = ("python", "rust", "typescript", "go")
METRICS = {"test_pass_rate": 0.5}


def build_fixture(root: Path, rank: int = 8) -> tuple[Path, str, dict[str, Path]]:
    """(base dir, base hash, language -> adapter dir) under `root`: the embedded base and one adapter per language."""
    import torch
    from peft import get_peft_model

    from apprentice.artifacts import hash_path
    from apprentice.base.load import load_base
    from apprentice.base.lora import lora_config_for
    from apprentice.base.tiny import build_tiny_base
    from apprentice.stages.result import write_adapter_origin

    base = root / "base"
    build_tiny_base(base)
    base_hash, adapters = hash_path(base), {}
    for seed, language in enumerate(LANGUAGES, start=1):
        model, _ = load_base(base)
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, lora_config_for(model, rank=rank, alpha=2 * rank))
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:  # B starts at zero; nonzero so each adapter really changes the output
                torch.nn.init.normal_(parameter, std=0.5)
        adapters[language] = root / "adapters" / language
        peft_model.save_pretrained(adapters[language])
        write_adapter_origin(adapters[language], base_hash, "sft", language)
    return base, base_hash, adapters


def production_registry(path: Path, base_hash: str, adapters: dict[str, Path]):
    """A registry at `path` with every adapter registered and promoted (python is the default target)."""
    from apprentice.registry.registry import Registry

    registry = Registry(path)
    for target, adapter in adapters.items():
        registry.promote(registry.register(target, adapter, base_hash, metrics=METRICS).version)
    return registry


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _switch_ms(pool, switches: int) -> list[float]:
    versions = [pool.target_version(language) for language in LANGUAGES]
    timings = []
    for index in range(switches):
        started = time.perf_counter()
        pool.run(versions[index % len(versions)], lambda _model, _tokenizer: None)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def _cold_load_ms(pool, registry, adapter: Path, base_hash: str, loads: int) -> list[float]:
    timings = []
    for _ in range(loads):
        record = registry.register("python", adapter, base_hash, metrics=METRICS)  # a new version: never resident
        started = time.perf_counter()
        pool.load_named(record)  # max_on_demand=1: the previous cold version is unloaded in the same call
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def _peft_load_ms(base: Path, adapter: Path, loads: int) -> list[float]:
    """PEFT alone on a fresh copy of the base: load_adapter, then delete_adapter, timed together."""
    from peft import PeftModel

    from apprentice.base.load import load_base

    model = PeftModel.from_pretrained(load_base(base)[0], adapter, adapter_name="resident")
    timings = []
    for index in range(loads):
        started = time.perf_counter()
        model.load_adapter(adapter, adapter_name=f"cold{index}")
        model.delete_adapter(f"cold{index}")
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def _base_load_ms(base: Path, loads: int) -> list[float]:
    from apprentice.base.load import load_base

    timings = []
    for _ in range(loads):
        started = time.perf_counter()
        load_base(base)
        timings.append(1000 * (time.perf_counter() - started))
    return timings


def main() -> None:
    from apprentice.serving.adapters import AdapterPool

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=400)
    parser.add_argument("--cold-loads", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base, base_hash, adapters = build_fixture(Path(scratch))
        registry = production_registry(Path(scratch) / "registry.db", base_hash, adapters)
        pool = AdapterPool(registry, base, base_hash, max_on_demand=1)
        _switch_ms(pool, 20)  # warm-up
        switch = _switch_ms(pool, args.switches)
        cold = _cold_load_ms(pool, registry, adapters["python"], base_hash, args.cold_loads)
        peft_only = _peft_load_ms(base, adapters["python"], args.cold_loads)
        reload = _base_load_ms(base, 5)
    switch_median, reload_median = statistics.median(switch), statistics.median(reload)
    print(f"resident adapters: {len(LANGUAGES)} (rank 8) on the embedded base; {args.switches} switches, "
          f"{args.cold_loads} cold loads")
    print(f"switch between resident adapters: median {switch_median:.2f} ms, p95 {percentile(switch, 0.95):.2f} ms "
          f"(target <= 10 ms)")
    print(f"cold load from disk: median {statistics.median(cold):.1f} ms, p95 {percentile(cold, 0.95):.1f} ms "
          f"(target p95 <= 100 ms); PEFT's bare load+unload: median {statistics.median(peft_only):.1f} ms, "
          f"p95 {percentile(peft_only, 0.95):.1f} ms")
    print(f"baseline, reloading the base: median {reload_median:.1f} ms; a switch is "
          f"{reload_median / switch_median:.0f}x faster")


if __name__ == "__main__":
    main()
