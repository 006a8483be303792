"""`apprentice registry ...`: adapter versions, the gated production alias, rollback, export."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

registry_app = typer.Typer(help="Adapter registry: versions, the gated production alias, rollback, export.",
                           no_args_is_help=True)
console = Console()

RunOption = Annotated[Path | None, typer.Option("--run", help="Run directory (runs/<name>); its registry.db is used.")]
RegistryOption = Annotated[Path | None, typer.Option("--registry", help="A registry .db file (shared between runs); wins over --run.")]


@registry_app.command("list")
def registry_list(
    run: RunOption = None,
    registry: RegistryOption = None,
    target: Annotated[str | None, typer.Option(help="Only this target's versions.")] = None,
) -> None:
    """Every adapter version: status, aliases, key metrics, parent."""
    from apprentice.cli.registry_render import list_from_cli, open_registry

    console.print(list_from_cli(open_registry(run, registry), target))


@registry_app.command("show")
def registry_show(
    name: Annotated[str, typer.Argument(help="A version (python-v3), a target (its production) or target@alias.")],
    run: RunOption = None,
    registry: RegistryOption = None,
) -> None:
    """One adapter version: lineage, metrics, history."""
    from apprentice.cli.registry_render import open_registry, show_from_cli

    console.print(show_from_cli(open_registry(run, registry), name))


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
    from apprentice.cli.registry_render import open_registry, register_from_cli

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
    from apprentice.cli.registry_render import open_registry, promote_from_cli

    console.print(promote_from_cli(open_registry(run, registry), version, force, reason))


@registry_app.command("rollback")
def registry_rollback(
    target: Annotated[str, typer.Argument(help="The target whose production goes back one promotion.")],
    run: RunOption = None,
    registry: RegistryOption = None,
) -> None:
    """Put the previous production version of TARGET back in production, in one step."""
    from apprentice.cli.registry_render import open_registry, rollback_from_cli

    console.print(rollback_from_cli(open_registry(run, registry), target))


@registry_app.command("retire")
def registry_retire(
    version: Annotated[str, typer.Argument(help="A version that is not in production.")],
    run: RunOption = None,
    registry: RegistryOption = None,
) -> None:
    """Retire VERSION for good (kept on disk and in the history, never served or rolled back to)."""
    from apprentice.cli.registry_render import open_registry, retire_from_cli

    console.print(retire_from_cli(open_registry(run, registry), version))


@registry_app.command("export")
def registry_export(
    run: RunOption = None,
    registry: RegistryOption = None,
    out: Annotated[Path | None, typer.Option(help="Output file; default: adapter_registry.yaml next to the registry.")] = None,
    base_model: Annotated[str | None, typer.Option(help="Base model path or name; default: the run's base.")] = None,
) -> None:
    """Write adapter_registry.yaml (SPEC §8): every production adapter, for the router or vLLM."""
    from apprentice.cli.registry_render import export_from_cli, open_registry

    console.print(export_from_cli(open_registry(run, registry), run, out, base_model))
