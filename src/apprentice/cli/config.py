"""`apprentice config show|validate`: the resolved config as YAML, and a config checked before a run."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.cli.output import cli_console
from apprentice.cli.run import Overrides

config_app = typer.Typer(help="Show and validate run configs.", no_args_is_help=True)
console = cli_console()


@config_app.command("show")
def config_show(
    config: Annotated[str | None, typer.Argument(help="Run config YAML; defaults alone when omitted.")] = None,
    overrides: Overrides = None,
) -> None:
    """Print the resolved config (defaults < profile < YAML < overrides) as YAML."""
    from apprentice.config.models import dump_config, load_config, split_config_argument

    print(dump_config(load_config(*split_config_argument(config, overrides or []))), end="")


@config_app.command("validate")
def config_validate(config: Annotated[Path, typer.Argument(help="Run config YAML to check.")]) -> None:
    """Check a config: YAML syntax, unknown keys, types. Exit 2 with the first problem."""
    from apprentice.config.models import load_config

    resolved = load_config(config, [])
    console.print(f"[green]ok[/green] {config}: run '{resolved.name}', targets {', '.join(resolved.targets)}")
