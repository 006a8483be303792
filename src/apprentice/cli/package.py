"""`apprentice package build|validate`: repo packages (repo + wheels + manifest) for air-gapped machines."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.cli.output import cli_console

package_app = typer.Typer(help="Repo packages (repo + wheels + manifest) for air-gapped machines.", no_args_is_help=True)
console = cli_console()


@package_app.command("build")
def package_build(
    repo: Annotated[Path, typer.Argument(help="A full (non-shallow) git clone.")],
    out: Annotated[Path, typer.Option(help="Package directory to create.")],
    find_links: Annotated[Path | None, typer.Option(help="Resolve wheels from this directory only (no index).")] = None,
) -> None:
    """Clone the repository, download its dependencies as wheels, write and validate the manifest."""
    from apprentice.tasks.packages.build import build_package

    manifest = build_package(repo, out, find_links=find_links)
    console.print(f"built {out}: {len(manifest.commits)} commits at {manifest.head[:12]}, "
                  f"{len(manifest.wheels)} wheels for python {manifest.python_version}; validated offline",
                  highlight=False)


@package_app.command("validate")
def package_validate(package: Annotated[Path, typer.Argument(help="A package made by `package build`.")]) -> None:
    """Check schema, files, wheel hashes, commits, offline install and a test dry run (no network)."""
    from apprentice.tasks.packages.build import validate_package

    manifest = validate_package(package)
    console.print(f"{package} is valid: manifest schema, {len(manifest.commits)} commits present, "
                  f"{len(manifest.wheels)} wheel hashes, offline install into a fresh venv, test collection dry run",
                  highlight=False)
