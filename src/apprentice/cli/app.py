"""The `apprentice` command line: the root app, every command registered in one place, and `main`.

Each command lives in the module of its group (`cli/<group>.py`), where it parses its options,
calls one library function and prints the result. Commands are listed in `apprentice --help`
in the order registered here: the single commands first, then the groups.
"""

import sys

import typer

from apprentice.cli import (
    agent,
    base,
    config,
    data,
    eval,
    flywheel,
    gates,
    grade,
    ls,
    package,
    registry,
    run,
    serve,
    tasks,
)
from apprentice.errors import ApprenticeError

app = typer.Typer(
    help="Turn a base language model into a coding agent: pretrain -> SFT -> IPO -> GRPO, graded by running code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

COMMANDS = {
    "run": run.run_command,
    "ls": ls.ls_command,
    "grade": grade.grade_command,
    "eval": eval.eval_command,
    "report": eval.report_command,
    "serve": serve.serve_command,
}
GROUPS = {
    "config": config.config_app,
    "base": base.base_app,
    "tasks": tasks.tasks_app,
    "package": package.package_app,
    "agent": agent.agent_app,
    "data": data.data_app,
    "gates": gates.gates_app,
    "registry": registry.registry_app,
    "flywheel": flywheel.flywheel_app,
}
for name, command in COMMANDS.items():
    app.command(name)(command)
for name, group in GROUPS.items():
    app.add_typer(group, name=name)


def main() -> None:
    """Console-script entry point: an ApprenticeError becomes one line on stderr and exit code 2."""
    try:
        app()
    except ApprenticeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
