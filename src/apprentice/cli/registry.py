"""`apprentice registry ...`: adapter versions, the gated production alias, rollback, export.

Each command opens the registry named by `--run` / `--registry` (`apprentice.registry.operations`),
calls one registry function and prints the Rich table or line below it renders. The library is
imported inside the commands, so `apprentice --help` loads none of it.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from apprentice.cli.output import JsonOption, cli_console, print_json
from apprentice.numbers import short_number

if TYPE_CHECKING:
    from apprentice.registry.registry import Registry
    from apprentice.registry.store import AdapterRecord, Event

registry_app = typer.Typer(help="Adapter registry: versions, the gated production alias, rollback, export.",
                           no_args_is_help=True)
console = cli_console()

# The columns `list` shows; `show` prints every metric.
_LIST_METRICS = ("test_pass_rate", "tool_call_format_accuracy")
_STATUS_STYLE = {"trained": "dim", "evaluating": "yellow", "production": "bold green", "retired": "red"}

RunOption = Annotated[Path | None, typer.Option("--run", help="Run directory (runs/<name>); its registry.db is used.")]
RegistryOption = Annotated[Path | None, typer.Option("--registry", help="A registry .db file (shared between runs); wins over --run.")]


@registry_app.command("list")
def registry_list(
    run: RunOption = None,
    registry: RegistryOption = None,
    target: Annotated[str | None, typer.Option(help="Only this target's versions.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every adapter version: status, aliases, key metrics, parent."""
    from apprentice.registry.operations import open_registry

    opened = open_registry(run, registry)
    if as_json:
        print_json(opened.list(target))
    else:
        console.print(list_from_cli(opened, target))


@registry_app.command("show")
def registry_show(
    name: Annotated[str, typer.Argument(help="A version (python-v3), a target (its production) or target@alias.")],
    run: RunOption = None,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """One adapter version: lineage, metrics, history."""
    from apprentice.registry.operations import open_registry

    opened = open_registry(run, registry)
    if as_json:
        record = opened.resolve(name)
        print_json({"record": record, "history": _history(opened, record)})
    else:
        console.print(show_from_cli(opened, name))


@registry_app.command("register")
def registry_register(
    adapter: Annotated[Path, typer.Argument(help="An adapter directory with its apprentice_adapter.json.")],
    run: RunOption = None,
    registry: RegistryOption = None,
    target: Annotated[str | None, typer.Option(help="Target name; default: the one in apprentice_adapter.json.")] = None,
    metrics: Annotated[Path | None, typer.Option(help="Evaluation metrics.json of this adapter (makes it a candidate).")] = None,
    parent: Annotated[str | None, typer.Option(help="Version this adapter was trained from.")] = None,
) -> None:
    """Register an adapter as the next version of its target (base hash read from the adapter)."""
    from apprentice.registry.operations import open_registry

    run_name = run.name if run is not None else ""
    console.print(register_from_cli(open_registry(run, registry), adapter, target, run_name, metrics, parent))


@registry_app.command("promote")
def registry_promote(
    version: Annotated[str, typer.Argument(help="The version to put in production, e.g. python-v3.")],
    run: RunOption = None,
    registry: RegistryOption = None,
    force: Annotated[bool, typer.Option("--force", help="Promote despite a regression or missing metrics; recorded.")] = False,
    reason: Annotated[str, typer.Option(help="Why (required with --force); kept in the history.")] = "",
) -> None:
    """Move the target's production alias to VERSION if its metrics show no regression against production."""
    from apprentice.registry.operations import open_registry

    console.print(promote_from_cli(open_registry(run, registry), version, force, reason))


@registry_app.command("rollback")
def registry_rollback(
    target: Annotated[str, typer.Argument(help="The target whose production goes back one promotion.")],
    run: RunOption = None,
    registry: RegistryOption = None,
) -> None:
    """Put the previous production version of TARGET back in production, in one step."""
    from apprentice.registry.operations import open_registry

    console.print(rollback_from_cli(open_registry(run, registry), target))


@registry_app.command("retire")
def registry_retire(
    version: Annotated[str, typer.Argument(help="A version that is not in production.")],
    run: RunOption = None,
    registry: RegistryOption = None,
) -> None:
    """Retire VERSION for good (kept on disk and in the history, never served or rolled back to)."""
    from apprentice.registry.operations import open_registry

    console.print(retire_from_cli(open_registry(run, registry), version))


@registry_app.command("export")
def registry_export(
    run: RunOption = None,
    registry: RegistryOption = None,
    out: Annotated[Path | None, typer.Option(help="Output file; default: adapter_registry.yaml next to the registry.")] = None,
    base_model: Annotated[str | None, typer.Option(help="Base model path or name; default: the run's base.")] = None,
) -> None:
    """Write adapter_registry.yaml (SPEC §8): every production adapter, for the router or vLLM."""
    from apprentice.registry.operations import open_registry

    console.print(export_from_cli(open_registry(run, registry), run, out, base_model))


def list_from_cli(registry: "Registry", target: str | None = None) -> Table:
    """Every version (of `target`): status, aliases, key metrics, parent, when."""
    table = Table(title=f"adapters in {registry.path}")
    for column in ("version", "status", "aliases", *_LIST_METRICS, "parent", "created"):
        table.add_column(column, justify="right" if column in _LIST_METRICS else "left", no_wrap=True)
    for record in registry.list(target):
        metrics = [short_number(record.metrics.get(name)) for name in _LIST_METRICS]
        table.add_row(record.version, _status(record.status), ", ".join(record.aliases), *metrics,
                      record.parent or "", record.created[:16])
    return table


def show_from_cli(registry: "Registry", name: str) -> Group:
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
        metrics.add_row(metric, short_number(record.metrics[metric]))
    history = Table("time", "action", "detail", title="history")
    for event in _history(registry, record):
        history.add_row(event.time, f"{event.action} {event.version}", _detail(event.detail))
    return Group(fields, metrics, history)


def _history(registry: "Registry", record: "AdapterRecord") -> list["Event"]:
    """The events of `record`'s target that name it, as the version acted on or the one replaced."""
    return [event for event in registry.events(record.target)
            if event.version == record.version or event.detail.get("from") == record.version]


def register_from_cli(registry: "Registry", adapter_dir: Path, target: str | None, run: str,
                      metrics_path: Path | None = None, parent: str | None = None, data_hash: str = "") -> Text:
    """Register an adapter directory (see `register_adapter`); the line saying which version it became."""
    from apprentice.registry.operations import register_adapter

    record = register_adapter(registry, adapter_dir, target, run, metrics_path, parent, data_hash)
    return Text(f"registered {record.version} ({record.status}) <- {record.path}")


def promote_from_cli(registry: "Registry", version: str, force: bool, reason: str) -> Group:
    """Promote `version`; the verdict line, and the comparison with the former production when there was one."""
    from apprentice.registry.operations import promote_version

    record, event = promote_version(registry, version, force, reason)
    forced = f" (forced: {reason})" if event.detail["forced"] else ""
    summary = Text(f"{record.version} is production for '{record.target}'{forced}; {event.detail['gate']}")
    if event.detail["from"] is None:
        return Group(summary)
    table = Table("metric", "production", "candidate", "delta", "regressed", title=f"{version} vs {event.detail['from']}")
    for row in event.detail["regressions"]:
        table.add_row(row["metric"], short_number(row["reference"]), short_number(row["value"]), short_number(row["delta"]),
                      "[red]yes[/red]" if row["flag"] else "no")
    return Group(summary, table)


def rollback_from_cli(registry: "Registry", target: str) -> Text:
    """Move `target`'s production back one promotion."""
    record = registry.rollback(target)
    return Text(f"'{target}' production is back to {record.version}")


def retire_from_cli(registry: "Registry", version: str) -> Text:
    """Retire `version` (kept on disk and in the history, never served again)."""
    record = registry.retire(version)
    return Text(f"retired {record.version}")


def export_from_cli(registry: "Registry", run: Path | None, out: Path | None, base_model: str | None) -> Text:
    """Write adapter_registry.yaml (see `export_production`); the line saying where, and on which base."""
    from apprentice.registry.operations import export_production

    path, base = export_production(registry, run, out, base_model)
    return Text(f"wrote {path}: {len(registry.production())} production adapters, base {base}")


def _status(status: str) -> str:
    return f"[{_STATUS_STYLE[status]}]{status}[/]"


def _metric_order(metric: str) -> tuple[int, str]:
    from apprentice.evaluation.regression import PRIMARY_METRICS

    return (PRIMARY_METRICS.index(metric) if metric in PRIMARY_METRICS else len(PRIMARY_METRICS), metric)


def _detail(detail: dict) -> str:
    shown = {key: value for key, value in detail.items() if key != "regressions" and value not in (None, "", [], {})}
    return ", ".join(f"{key}={value}" for key, value in shown.items())
