"""`apprentice serve`: the run's production adapters behind one OpenAI-compatible endpoint."""

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    run: Annotated[Path, typer.Option("--run", help="Run directory whose registry and base to serve.")],
    registry: Annotated[Path | None, typer.Option("--registry", help="Registry .db (default: RUN/registry.db).")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but loopback needs --api-key.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="APPRENTICE_API_KEY",
                                                help="Require 'Authorization: Bearer KEY' on every request.")] = None,
    export_vllm: Annotated[bool, typer.Option("--export-vllm", help="Print the equivalent `vllm serve` command and exit.")] = False,
    capture: Annotated[bool, typer.Option("--capture/--no-capture", help="Append every completion to "
                                          "RUN/flywheel/interactions.jsonl for `apprentice flywheel curate`.")] = True,
) -> None:
    """Serve the run's production adapters over an OpenAI-compatible API: one base, the adapter chosen per request."""
    from apprentice.serving import launch

    if export_vllm:
        typer.echo(launch.export_vllm(run, registry))
        return
    launch.serve(run, registry, host=host, port=port, api_key=api_key, capture=capture)
