"""The adapter registry: versions, the gated production alias, rollback, retirement, resolve, export, CLI functions."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from apprentice.artifacts import RunDir
from apprentice.cli.registry import (
    export_from_cli,
    list_from_cli,
    promote_from_cli,
    register_from_cli,
    retire_from_cli,
    rollback_from_cli,
    show_from_cli,
)
from apprentice.errors import RegistryError
from apprentice.registry.operations import open_registry
from apprentice.registry.registry import Registry, register_and_maybe_promote
from apprentice.stages.result import write_adapter_origin

GOOD = {"test_pass_rate": 0.60, "tool_call_format_accuracy": 0.95, "median_diff_lines": 10.0}


def metrics(**changes: float | None) -> dict:
    """GOOD with some metrics changed."""
    return {**GOOD, **changes}


def metrics_json(flat: dict) -> dict:
    """A metrics.json as the evaluation harness writes it (eval_schema.md)."""
    return {"target": "python", "version": "python-v1", "tasks": 10, "attempts": 1,
            "metrics": {name: {"value": value, "target": 0.5, "direction": "max", "meets": None}
                        for name, value in flat.items()}}


@pytest.fixture()
def adapter(tmp_path) -> Path:
    """An adapter directory as a finished stage leaves it (origin file included)."""
    directory = tmp_path / "stages" / "python" / "grpo" / "adapter"
    directory.mkdir(parents=True)
    (directory / "adapter_config.json").write_text("{}")
    write_adapter_origin(directory, "sha256:base", "grpo", "python")
    return directory


@pytest.fixture()
def registry(tmp_path) -> Registry:
    return RunDir(tmp_path / "run").open_registry()


def evaluated(registry: Registry, adapter: Path, target: str = "python", **changes: float | None) -> str:
    """Register a version of `target` with metrics; return its version name."""
    return registry.register(target, adapter, "sha256:base", metrics=metrics(**changes)).version


def test_versions_increase_per_target_and_are_never_reused(registry, adapter):
    first = registry.register("python", adapter, "sha256:base")
    assert (first.version, first.number, first.status, first.path) == ("python-v1", 1, "trained", str(adapter))
    assert registry.register("rust", adapter, "sha256:base").version == "rust-v1"
    second = registry.register("python", adapter, "sha256:base", parent="python-v1", metrics=GOOD)
    assert (second.version, second.parent, second.status) == ("python-v2", "python-v1", "evaluating")
    registry.retire("python-v2")
    assert registry.register("python", adapter, "sha256:base").version == "python-v3"
    assert RunDir(registry.path.parent).open_registry().get("python-v2").status == "retired"  # persisted, not deleted


def test_register_rejects_bad_inputs_naming_them(registry, adapter, tmp_path):
    with pytest.raises(RegistryError, match="missing"):
        registry.register("python", tmp_path / "missing", "sha256:base")
    with pytest.raises(RegistryError, match="unknown adapter version 'python-v9'"):
        registry.register("python", adapter, "sha256:base", parent="python-v9")
    with pytest.raises(RegistryError, match="bad target name 'python-v2'"):
        registry.register("python-v2", adapter, "sha256:base")
    with pytest.raises(RegistryError, match="no base hash"):
        registry.register("python", adapter, "")
    assert registry.list() == []  # nothing half-registered


def test_set_evaluation_flattens_metrics_json_and_moves_to_evaluating(registry, adapter):
    version = registry.register("python", adapter, "sha256:base").version
    record = registry.set_evaluation(version, metrics_json(GOOD), report="/r/report.html")
    assert (record.status, record.metrics, record.report) == ("evaluating", GOOD, "/r/report.html")
    registry.promote(version)
    assert registry.set_evaluation(version, metrics(test_pass_rate=0.7), None).status == "production"


def test_first_promotion_needs_metrics_or_force(registry, adapter):
    bare = registry.register("python", adapter, "sha256:base").version
    with pytest.raises(RegistryError, match="no evaluation metrics"):
        registry.promote(bare)
    assert registry.production() == {}
    record = registry.promote(bare, force=True, reason="bootstrap before the eval set exists")
    assert (record.status, record.aliases) == ("production", ("production",))
    event = registry.events("python")[-1]
    assert (event.action, event.detail["forced"], event.detail["reason"]) == (
        "promote", True, "bootstrap before the eval set exists")


def test_promotion_blocked_on_regression_and_allowed_with_force(registry, adapter):
    v1 = evaluated(registry, adapter)
    registry.promote(v1)
    worse = evaluated(registry, adapter, test_pass_rate=0.50)  # -17% relative: over the 5% tolerance
    with pytest.raises(RegistryError, match=r"python-v2 not promoted: regression against python-v1: test_pass_rate"):
        registry.promote(worse)
    assert registry.resolve("python").version == v1
    blocked = registry.events("python")[-1]
    assert blocked.action == "promotion_blocked" and any(r["flag"] for r in blocked.detail["regressions"])

    record = registry.promote(worse, force=True, reason="new tokenizer; eval set being rebuilt")
    assert record.status == "production" and registry.get(v1).status == "evaluating"
    forced = registry.events("python")[-1]
    assert (forced.action, forced.detail["forced"], forced.detail["from"]) == ("promote", True, v1)
    assert forced.detail["reason"] == "new tokenizer; eval set being rebuilt"


def test_any_drop_in_tool_call_format_accuracy_blocks(registry, adapter):
    registry.promote(evaluated(registry, adapter))
    slightly_worse = evaluated(registry, adapter, tool_call_format_accuracy=0.94, test_pass_rate=0.9)
    allowed, why = registry.promotion_check(slightly_worse)
    assert not allowed and "tool_call_format_accuracy" in why
    better = evaluated(registry, adapter, test_pass_rate=0.58, median_diff_lines=8.0)  # -3%: within tolerance
    assert registry.promotion_check(better)[0]
    assert registry.promote(better).status == "production"


def test_rollback_twice_walks_back_two_promotions(registry, adapter):
    versions = [evaluated(registry, adapter, test_pass_rate=0.6 + 0.1 * i) for i in range(3)]
    for version in versions:
        registry.promote(version)
    assert registry.rollback("python").version == versions[1]
    assert registry.rollback("python").version == versions[0]
    with pytest.raises(RegistryError, match="target 'python' has no earlier production version"):
        registry.rollback("python")
    statuses = {r.version: r.status for r in registry.list("python")}
    assert statuses == {versions[0]: "production", versions[1]: "evaluating", versions[2]: "evaluating"}
    assert [e.action for e in registry.events("python")][-2:] == ["rollback", "rollback"]


def test_rollback_skips_retired_versions_and_needs_a_production(registry, adapter):
    with pytest.raises(RegistryError, match="target 'python' has no production version"):
        registry.rollback("python")
    versions = [evaluated(registry, adapter, test_pass_rate=0.6 + 0.1 * i) for i in range(3)]
    for version in versions:
        registry.promote(version)
    registry.retire(versions[1])
    assert registry.rollback("python").version == versions[0]


def test_retire_refuses_production_and_drops_aliases(registry, adapter):
    v1 = evaluated(registry, adapter)
    registry.promote(v1)
    with pytest.raises(RegistryError, match="production version of 'python'; roll back .* or promote another"):
        registry.retire(v1)
    v2 = evaluated(registry, adapter)
    registry.set_alias("candidate", v2)
    retired = registry.retire(v2)
    assert (retired.status, retired.aliases) == ("retired", ())
    with pytest.raises(RegistryError, match="python-v2 is retired"):
        registry.promote(v2, force=True, reason="x")
    with pytest.raises(RegistryError, match="already retired"):
        registry.retire(v2)


def test_resolve_target_version_and_alias(registry, adapter):
    v1 = evaluated(registry, adapter)
    with pytest.raises(RegistryError, match=r"target 'python' has no production version \(versions: python-v1"):
        registry.resolve("python")
    registry.promote(v1)
    v2 = evaluated(registry, adapter)
    registry.set_alias("candidate", v2)
    assert [registry.resolve(n).version for n in ("python", "python-v2", "python@candidate", "python@production")] == [
        v1, v2, v2, v1]
    with pytest.raises(RegistryError, match=r"unknown adapter target or version 'pyhton' \(targets: python\)"):
        registry.resolve("pyhton")
    with pytest.raises(RegistryError, match=r"unknown alias 'python@beta' \(aliases of 'python': candidate, production\)"):
        registry.resolve("python@beta")
    with pytest.raises(RegistryError, match=r"unknown adapter version 'python-v7' \(known: python-v1, python-v2\)"):
        registry.get("python-v7")


def test_aliases_production_only_moves_by_promotion(registry, adapter):
    v1 = evaluated(registry, adapter)
    with pytest.raises(RegistryError, match="production moves only with promote"):
        registry.set_alias("production", v1)
    registry.set_alias("candidate", v1)
    registry.remove_alias("candidate", "python")
    assert registry.get(v1).aliases == ()
    with pytest.raises(RegistryError, match=r"removable aliases of 'python': none"):
        registry.remove_alias("candidate", "python")


def test_generation_grows_on_every_change_only(registry, adapter):
    start = registry.generation()
    v1 = evaluated(registry, adapter)
    after_register = registry.generation()
    registry.list(), registry.resolve(v1), registry.production()
    assert start < after_register == registry.generation()
    registry.promote(v1)
    assert registry.generation() > after_register


def test_default_target_is_first_promoted_unless_set(registry, adapter):
    assert registry.default_target() is None
    registry.promote(evaluated(registry, adapter, target="rust"))
    registry.promote(evaluated(registry, adapter, target="python"))
    assert registry.default_target() == "rust"
    registry.set_default("python")
    assert registry.default_target() == "python"
    evaluated(registry, adapter, target="go")
    with pytest.raises(RegistryError, match="target 'go' has no production version"):
        registry.set_default("go")


def test_export_has_the_spec_shape_with_production_adapters_only(registry, adapter, tmp_path):
    registry.promote(evaluated(registry, adapter, target="python"))
    registry.promote(registry.register("planner", adapter, "sha256:base", metrics=GOOD).version)
    evaluated(registry, adapter, target="rust")  # never promoted: not served, not exported
    path = registry.export(tmp_path / "adapter_registry.yaml", "/models/base")
    document = yaml.safe_load(path.read_text())
    assert list(document) == ["base_model", "default_adapter", "adapters"]
    assert (document["base_model"], document["default_adapter"]) == ("/models/base", "python")
    assert document["adapters"]["python"] == {
        "version": "python-v1", "path": str(adapter), "toolchain": ["python", "pytest", "ruff"],
        "eval_metrics": GOOD, "status": "production"}
    assert document["adapters"]["planner"]["toolchain"] == []
    assert set(document["adapters"]) == {"python", "planner"}


def test_history_keeps_every_move(registry, adapter):
    v1, v2 = evaluated(registry, adapter), evaluated(registry, adapter)
    registry.promote(v1), registry.promote(v2), registry.rollback("python"), registry.retire(v2)
    assert [(e.action, e.version) for e in registry.events()] == [
        ("register", v1), ("register", v2), ("promote", v1), ("promote", v2), ("rollback", v1), ("retire", v2)]
    assert sqlite3.connect(registry.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_register_and_maybe_promote_is_gated_and_idempotent(registry, adapter, tmp_path):
    eval_dir = tmp_path / "eval" / "python" / "grpo"
    eval_dir.mkdir(parents=True)
    (eval_dir / "metrics.json").write_text(json.dumps(metrics_json(GOOD)))
    (eval_dir / "report.html").write_text("<html></html>")
    record, promoted, why = register_and_maybe_promote(registry, "python", adapter, eval_dir / "metrics.json",
                                                       gates_passed=False, run="demo")
    assert (record.version, record.status, promoted) == ("python-v1", "evaluating", False) and "gate" in why
    record, promoted, why = register_and_maybe_promote(registry, "python", adapter, eval_dir / "metrics.json",
                                                       gates_passed=True, run="demo")
    assert (record.version, record.status, promoted, record.report) == (
        "python-v1", "production", True, str(eval_dir / "report.html"))
    generation = registry.generation()
    assert register_and_maybe_promote(registry, "python", adapter, eval_dir / "metrics.json", True, "demo")[1:] == (
        True, "python-v1 is already production")
    assert registry.generation() == generation  # a resumed pipeline changes nothing

    (adapter / "adapter_model.safetensors").write_bytes(b"retrained")  # new content: a new version
    (eval_dir / "metrics.json").write_text(json.dumps(metrics_json(metrics(test_pass_rate=0.3))))
    record, promoted, why = register_and_maybe_promote(registry, "python", adapter, eval_dir / "metrics.json",
                                                       gates_passed=True, run="demo")
    assert (record.version, promoted) == ("python-v2", False) and "regression against python-v1" in why
    assert registry.resolve("python").version == "python-v1"


def render(renderable) -> str:
    console = Console(record=True, width=200)
    console.print(renderable)
    return console.export_text()


def test_cli_functions(tmp_path, adapter):
    run = tmp_path / "runs" / "demo"
    with pytest.raises(RegistryError, match="run directory .* does not exist"):
        open_registry(run, None)
    run.mkdir(parents=True)
    registry = open_registry(run, None)
    assert registry.path == run / "registry.db"
    metrics_file = tmp_path / "metrics.json"
    metrics_file.write_text(json.dumps(metrics_json(GOOD)))
    assert "registered python-v1 (evaluating)" in render(register_from_cli(registry, adapter, None, "demo", metrics_file))
    assert registry.get("python-v1").base_hash == "sha256:base"  # read from apprentice_adapter.json
    with pytest.raises(RegistryError, match="--force needs --reason"):
        promote_from_cli(registry, "python-v1", force=True, reason=" ")
    assert "python-v1 is production for 'python'" in render(promote_from_cli(registry, "python-v1", False, ""))
    register_from_cli(registry, adapter, None, "demo", metrics_file)
    shown = render(promote_from_cli(registry, "python-v2", False, ""))
    assert "python-v2 vs python-v1" in shown and "test_pass_rate" in shown
    listing = render(list_from_cli(registry))
    assert "python-v1" in listing and "python-v2" in listing and "production" in listing
    assert "promote python-v1" in render(show_from_cli(registry, "python-v1"))
    assert "back to python-v1" in render(rollback_from_cli(registry, "python"))
    assert "retired python-v2" in render(retire_from_cli(registry, "python-v2"))
    with pytest.raises(RegistryError, match="has no base .* pass --base-model"):
        export_from_cli(registry, run, None, None)
    (run / "base").mkdir()
    (run / "base" / "POINTER").write_text("/models/gpt-oss-20b\n")
    assert "1 production adapters" in render(export_from_cli(registry, run, None, None))
    assert yaml.safe_load((run / "adapter_registry.yaml").read_text())["base_model"] == "/models/gpt-oss-20b"


def test_cli_register_needs_an_apprentice_adapter(registry, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RegistryError, match="has no apprentice_adapter.json"):
        register_from_cli(registry, plain, "python", "demo")


def test_threads_sharing_one_registry_get_distinct_versions(registry, adapter):
    from concurrent.futures import ThreadPoolExecutor

    def register_twice(_: int) -> list[str]:
        return [registry.register("python", adapter, "sha256:base").version for _ in range(2)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        versions = [v for pair in pool.map(register_twice, range(12)) for v in pair]
    assert sorted(versions, key=lambda v: int(v.rsplit("v", 1)[1])) == [f"python-v{n}" for n in range(1, 25)]
    registry.close()
    assert len(registry.list()) == 24  # reopens after close
