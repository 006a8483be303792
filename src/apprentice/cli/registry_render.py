"""What `apprentice registry list|show|register|promote|rollback|retire|export` do, minus the argument parsing.

Each function opens the registry named by `--run` / `--registry`, calls one `Registry` method and
returns a Rich renderable (table or text) for the CLI to print.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text

from apprentice.errors import RegistryError
from apprentice.evaluation.regression import PRIMARY_METRICS
from apprentice.registry.registry import EXPORT_FILE, Registry, read_base_hash
from apprentice.stages.result import ADAPTER_ORIGIN_FILE

# The columns `list` shows; `show` prints every metric.
_LIST_METRICS = ("test_pass_rate", "tool_call_format_accuracy")
_STATUS_STYLE = {"trained": "dim", "evaluating": "yellow", "production": "bold green", "retired": "red"}


def open_registry(run: Path | None, registry: Path | None) -> Registry:
    """The registry at `registry` when given, else the run directory's `registry.db`."""
    if registry is not None:
        return Registry(registry)
    if run is None:
        raise RegistryError("no registry named; pass --run runs/<name> or --registry path/to/registry.db")
    if not Path(run).is_dir():
        raise RegistryError(f"run directory '{run}' does not exist; pass an existing runs/<name> "
                            "(or --registry path/to/registry.db)")
    return Registry.for_run(Path(run))


def list_from_cli(registry: Registry, target: str | None = None) -> Table:
    """Every version (of `target`): status, aliases, key metrics, parent, when."""
    table = Table(title=f"adapters in {registry.path}")
    for column in ("version", "status", "aliases", *_LIST_METRICS, "parent", "created"):
        table.add_column(column, justify="right" if column in _LIST_METRICS else "left", no_wrap=True)
    for record in registry.list(target):
        metrics = [_number(record.metrics.get(name)) for name in _LIST_METRICS]
        table.add_row(record.version, _status(record.status), ", ".join(record.aliases), *metrics,
                      record.parent or "", record.created[:16])
    return table


def show_from_cli(registry: Registry, name: str) -> Group:
    """One record (a version, a target's production, or target@alias): fields, metrics, history."""
    record = registry.resolve(name)
    fields = Table(show_header=False, title=record.version)
    for label, value in (("status", _status(record.status)), ("aliases", ", ".join(record.aliases)),
                         ("path", record.path), ("base", record.base_hash), ("data", record.data_hash),
                         ("parent", record.parent or ""), ("run", record.run), ("report", record.report or ""),
                         ("created", record.created)):
        fields.add_row(label, value)
    metrics = Table("metric", "value", title="evaluation metrics")
    for metric in sorted(record.metrics, key=_metric_order):
        metrics.add_row(metric, _number(record.metrics[metric]))
    history = Table("time", "action", "detail", title="history")
    for event in registry.events(record.target):
        if event.version == record.version or event.detail.get("from") == record.version:
            history.add_row(event.time, f"{event.action} {event.version}", _detail(event.detail))
    return Group(fields, metrics, history)


def register_from_cli(registry: Registry, adapter_dir: Path, target: str | None, run: str,
                      metrics_path: Path | None = None, parent: str | None = None, data_hash: str = "") -> Text:
    """Register an adapter directory; its base hash (and, by default, its target) come from its
    `apprentice_adapter.json`; `metrics_path` (an evaluation metrics.json) makes it `evaluating`."""
    base_hash = read_base_hash(adapter_dir)  # raises, naming the file, when the adapter has no origin
    chosen = target or _read_json(Path(adapter_dir) / ADAPTER_ORIGIN_FILE).get("target")
    if not chosen:
        raise RegistryError(f"'{adapter_dir}/{ADAPTER_ORIGIN_FILE}' names no target; pass --target")
    metrics = _read_json(metrics_path) if metrics_path is not None else None
    record = registry.register(chosen, adapter_dir, base_hash, data_hash, parent, run, metrics)
    return Text(f"registered {record.version} ({record.status}) <- {record.path}")


def promote_from_cli(registry: Registry, version: str, force: bool, reason: str) -> Group:
    """Promote `version`; a forced promotion needs a reason, kept in the history."""
    if force and not reason.strip():
        raise RegistryError(f"--force needs --reason '...' (why {version} goes to production despite the gate)")
    record = registry.promote(version, force=force, reason=reason)
    event = [e for e in registry.events(record.target) if e.action == "promote" and e.version == version][-1]
    forced = f" (forced: {reason})" if event.detail["forced"] else ""
    summary = Text(f"{record.version} is production for '{record.target}'{forced}; {event.detail['gate']}")
    if event.detail["from"] is None:
        return Group(summary)
    table = Table("metric", "production", "candidate", "delta", "regressed", title=f"{version} vs {event.detail['from']}")
    for row in event.detail["regressions"]:
        table.add_row(row["metric"], _number(row["reference"]), _number(row["value"]), _number(row["delta"]),
                      "[red]yes[/red]" if row["flag"] else "no")
    return Group(summary, table)


def rollback_from_cli(registry: Registry, target: str) -> Text:
    """Move `target`'s production back one promotion."""
    record = registry.rollback(target)
    return Text(f"'{target}' production is back to {record.version}")


def retire_from_cli(registry: Registry, version: str) -> Text:
    """Retire `version` (kept on disk and in the history, never served again)."""
    record = registry.retire(version)
    return Text(f"retired {record.version}")


def export_from_cli(registry: Registry, run: Path | None, out: Path | None, base_model: str | None) -> Text:
    """Write adapter_registry.yaml; defaults: next to the registry, base from the run directory."""
    base = base_model or (_run_base(run) if run is not None else None)
    if base is None:
        raise RegistryError("no base model known; pass --base-model (a path or name) or --run runs/<name>")
    path = registry.export(out or registry.path.parent / EXPORT_FILE, base)
    return Text(f"wrote {path}: {len(registry.production())} production adapters, base {base}")


def _run_base(run: Path) -> str:
    # The pipeline leaves either a POINTER to the user's base or the embedded base itself in run/base.
    pointer = Path(run) / "base" / "POINTER"
    if pointer.is_file():
        return pointer.read_text(encoding="utf-8").strip()
    if not (Path(run) / "base" / "config.json").is_file():
        raise RegistryError(f"run '{run}' has no base (no base/POINTER, no base/config.json); pass --base-model")
    return str((Path(run) / "base").resolve())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RegistryError(f"cannot read '{path}' ({error}); pass an existing JSON file") from None


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE[status]}]{status}[/]"


def _metric_order(metric: str) -> tuple[int, str]:
    return (PRIMARY_METRICS.index(metric) if metric in PRIMARY_METRICS else len(PRIMARY_METRICS), metric)


def _detail(detail: dict) -> str:
    shown = {key: value for key, value in detail.items() if key != "regressions" and value not in (None, "", [], {})}
    return ", ".join(f"{key}={value}" for key, value in shown.items())

