"""`apprentice grade`: grade one patch in the sandbox and print its Outcome."""

from pathlib import Path
from typing import Annotated

import typer

from apprentice.cli.output import cli_console

console = cli_console()


def grade_command(
    patch: Annotated[Path, typer.Option(help="Unified diff to grade.")],
    task: Annotated[Path | None, typer.Option(help="Task JSON (Task.to_json); a relative repo path is relative to it.")] = None,
    repo: Annotated[Path | None, typer.Option(help="Repository directory, instead of --task.")] = None,
    language: Annotated[str | None, typer.Option(help="python, rust, typescript or go (with --repo).")] = None,
    fail_to_pass: Annotated[list[str] | None, typer.Option("--fail-to-pass", help="A test id the fix must make pass; repeat the flag.")] = None,
    pass_to_pass: Annotated[list[str] | None, typer.Option("--pass-to-pass", help="A test id that must keep passing; repeat the flag.")] = None,
) -> None:
    """Grade a patch in the sandbox: apply, build, test, lint; print the Outcome as one JSON object and a summary."""
    from apprentice.grading.inputs import grade_patch_file

    outcome = grade_patch_file(patch, task_file=task, repo=repo, language=language,
                               fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass)
    print(outcome.to_json())
    console.print(outcome.summary(), markup=False)
