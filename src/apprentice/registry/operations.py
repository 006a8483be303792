"""What `apprentice registry register|promote|export` do beyond one `Registry` call, minus the printing.

The registry is named by `--run` (its `registry.db`) or `--registry` (a shared file); an adapter's
base hash and target come from its `apprentice_adapter.json`; an export's base defaults to the
run's base (the user's model its POINTER names, or the embedded one).
"""

from __future__ import annotations

import json
from pathlib import Path

from apprentice.artifacts import RunDir
from apprentice.errors import RegistryError
from apprentice.registry.registry import EXPORT_FILE, Registry, read_base_hash
from apprentice.registry.store import AdapterRecord, Event
from apprentice.stages.result import ADAPTER_ORIGIN_FILE


def open_registry(run: Path | None, registry: Path | None) -> Registry:
    """The registry at `registry` when given, else the run directory's `registry.db`."""
    if registry is not None:
        return Registry(registry)
    if run is None:
        raise RegistryError("no registry named; pass --run runs/<name> or --registry path/to/registry.db")
    if not Path(run).is_dir():
        raise RegistryError(f"run directory '{run}' does not exist; pass an existing runs/<name> "
                            "(or --registry path/to/registry.db)")
    return RunDir(run).open_registry()


def register_adapter(registry: Registry, adapter_dir: Path, target: str | None, run: str,
                     metrics_path: Path | None = None, parent: str | None = None, data_hash: str = "") -> AdapterRecord:
    """Register an adapter directory; its base hash (and, by default, its target) come from its
    `apprentice_adapter.json`; `metrics_path` (an evaluation metrics.json) makes it `evaluating`."""
    base_hash = read_base_hash(adapter_dir)  # raises, naming the file, when the adapter has no origin
    chosen = target or read_json(Path(adapter_dir) / ADAPTER_ORIGIN_FILE).get("target")
    if not chosen:
        raise RegistryError(f"'{adapter_dir}/{ADAPTER_ORIGIN_FILE}' names no target; pass --target")
    metrics = read_json(metrics_path) if metrics_path is not None else None
    return registry.register(chosen, adapter_dir, base_hash, data_hash, parent, run, metrics)


def promote_version(registry: Registry, version: str, force: bool, reason: str) -> tuple[AdapterRecord, Event]:
    """Promote `version`; a forced promotion needs a reason, kept in the history. The record and its promote event."""
    if force and not reason.strip():
        raise RegistryError(f"--force needs --reason '...' (why {version} goes to production despite the gate)")
    record = registry.promote(version, force=force, reason=reason)
    event = [e for e in registry.events(record.target) if e.action == "promote" and e.version == version][-1]
    return record, event


def export_production(registry: Registry, run: Path | None, out: Path | None, base_model: str | None) -> tuple[Path, str]:
    """Write adapter_registry.yaml; defaults: next to the registry, base from the run directory. (path, base)."""
    base = base_model or (run_base_model(run) if run is not None else None)
    if base is None:
        raise RegistryError("no base model known; pass --base-model (a path or name) or --run runs/<name>")
    return registry.export(out or registry.path.parent / EXPORT_FILE, base), base


def run_base_model(run: Path) -> str:
    """The run's base as the export names it: the user's model its POINTER names, else the embedded base/."""
    # The pipeline leaves either a POINTER to the user's base or the embedded base itself in run/base.
    run_dir = RunDir(run)
    if run_dir.base_pointer.is_file():
        return str(run_dir.pointed_base())
    if not (run_dir.base_dir / "config.json").is_file():
        raise RegistryError(f"run '{run}' has no base (no base/POINTER, no base/config.json); pass --base-model")
    return str(run_dir.base_dir.resolve())


def read_json(path: Path) -> dict:
    """A JSON file's object; RegistryError naming the file when it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RegistryError(f"cannot read '{path}' ({error}); pass an existing JSON file") from None
