"""How the CLI writes: whole tables when piped, and `--json` for every listing.

Rich sizes a table to the terminal and, when stdout is a pipe or a file, to 80 columns, cutting
cells to `pyt…`. `cli_console()` gives a console that keeps its terminal's width on a terminal and
is wide enough for any row elsewhere, so `apprentice registry list | cat` (or `| grep`) sees whole
names. `print_json` is the machine-readable form of a listing: one JSON document on stdout.
"""

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

# Wider than any row the CLI prints; a table still takes only the width its cells need.
PIPE_WIDTH = 10_000

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def cli_console() -> Console:
    """A console for stdout: its terminal's width on a terminal, whole rows in a pipe or file."""
    return Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)


def print_json(value: Any) -> None:
    """Write `value` (dataclasses, paths and tuples included) to stdout as one indented JSON document."""
    sys.stdout.write(json.dumps(value, indent=2, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
