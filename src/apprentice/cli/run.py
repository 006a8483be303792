"""`apprentice run`: the whole pipeline for every configured target, resuming where it stopped."""

from typing import Annotated

import typer

from apprentice.cli.output import cli_console

console = cli_console()

Overrides = Annotated[list[str] | None, typer.Argument(help="key.path=value overrides; they win over the YAML.")]


def run_command(
    config: Annotated[str | None, typer.Argument(help="Run config YAML (see examples/); defaults alone when omitted.")] = None,
    overrides: Overrides = None,
    force: Annotated[bool, typer.Option("--force", help="Go on past a failed gate; recorded in that stage's meta.json.")] = False,
    launcher: Annotated[str | None, typer.Option(
        "--launcher", help="accelerate: each training stage under `accelerate launch` (launch.config_file, "
        "launch.num_processes); local: in this process. Default: the config's launch.launcher.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (each step: reused or to run, why, what it "
                                          "reads and writes) and stop; nothing is trained or written.")] = False,
) -> None:
    """Run the whole pipeline for every configured target, resuming where it stopped."""
    from apprentice.config.models import load_config, split_config_argument

    path, rest = split_config_argument(config, overrides or [])
    rest += [f"launch.launcher={launcher}"] if launcher else []
    if dry_run:
        from apprentice.pipeline.plan import plan, render_plan

        resolved = load_config(path, rest)
        console.print(f"apprentice run {resolved.run_dir} --dry-run\n{render_plan(plan(resolved))}", soft_wrap=True,
                      highlight=False)
        return
    from apprentice.pipeline import run as pipeline  # loads transformers: after the dry run's return

    summary = pipeline.run(load_config(path, rest), force=force)
    console.print(summary.render(), soft_wrap=True, highlight=False)
