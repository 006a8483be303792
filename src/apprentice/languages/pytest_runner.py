"""How grading runs pytest: under a configuration the grader owns, and checked against itself after.

pytest takes configuration from seven file names (pytest.toml, .pytest.toml, pytest.ini, .pytest.ini,
pyproject.toml, tox.ini, setup.cfg) and plugins from that configuration, from the `pytest11` entry
points of any `*.dist-info` on sys.path, and from modules next to the tests. A patch can add any of
them, so none is read: `-c /dev/null` (no configuration file at all), `PYTEST_DISABLE_PLUGIN_AUTOLOAD`
and `python -P` (the workspace is not on sys.path while pytest starts, so no file of the patch can
shadow pytest, its dependencies or an installed plugin). The workspace joins sys.path through
pytest's own `pythonpath`, after startup. Of the repository's own settings only those that say where
tests live and how they are named are carried over, read from the unpatched tree.

The code under test runs in pytest's process and can write whatever pytest can, the report included.
`check_run` makes a forgery show: the JUnit report, the one summary line pytest prints last and the
exit status must tell the same story, and with the grader's must-fail canary in the run pytest never
exits 0.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

from apprentice.languages.language import TestCase

# pytest's own file names, in its order of precedence (pytest 9), with the table each keeps its settings in.
CONFIG_FILES = (
    ("pytest.toml", "pytest"),
    (".pytest.toml", "pytest"),
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", "tool.pytest"),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)
# Settings that locate and name tests, with pytest's type for each. Never `addopts`, `required_plugins` or
# anything else that loads code or changes how results are reported.
CARRIED = {
    "testpaths": "args",
    "python_files": "args",
    "python_classes": "args",
    "python_functions": "args",
    "norecursedirs": "args",
    "usefixtures": "args",
    "filterwarnings": "linelist",
    "xfail_strict": "bool",
    "pythonpath": "paths",
}
ENVIRONMENT = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

# pytest's last line with -q: "2 failed, 5 passed, 1 warning in 0.05s" (long runs add " (0:01:15)").
_SUMMARY = re.compile(r"^(?:=+ )?(?P<counts>\d+ [a-z ]+?(?:, \d+ [a-z ]+?)*|no tests ran) in [\d.]+s(?: \([\d:]+\))?(?: =+)?$")


def runner_arguments(original: Path, workspace: Path) -> tuple[str, ...]:
    """pytest options (after `-m pytest`) that replace every configuration file with the grader's own.

    `original` is the unpatched tree whose safe settings are carried over; `workspace` (absolute) is
    where the tests run, put on sys.path as `python -m pytest` would have done before startup.
    """
    options = ["-q", "-c", "/dev/null", "--rootdir=.", "--confcutdir=.", "-p", "no:cacheprovider",
               "-o", "junit_family=xunit2"]
    settings = original_settings(original)
    paths = _inside(workspace, settings.pop("pythonpath", []))
    for name, value in settings.items():
        options += ["-o", f"{name}={_ini_value(CARRIED[name], value)}"]
    options += ["-o", f"pythonpath={shlex.join([*paths, str(workspace)])}"]
    return tuple(options)


def original_settings(tree: Path) -> dict[str, object]:
    """The carried settings of the configuration file pytest would pick in `tree` ({} when none)."""
    for name, table in CONFIG_FILES:
        settings = _read_table(tree / name, table)
        if settings is not None:
            return {key: value for key, value in settings.items() if key in CARRIED}
    return {}


def _read_table(path: Path, table: str) -> dict | None:
    """The pytest table of one config file; None when the file is absent or holds no pytest table."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".toml":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return {}  # pytest refuses to start on it; the grade then shows that failure
        found = document
        for key in table.split("."):
            found = found.get(key) if isinstance(found, dict) else None
        if isinstance(found, dict) and isinstance(found.get("ini_options"), dict):
            found = found["ini_options"]
        return found if isinstance(found, dict) else ({} if path.name != "pyproject.toml" else None)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    if parser.has_section(table):
        return dict(parser[table])
    return {} if path.name.endswith("pytest.ini") else None


def _ini_value(kind: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "\n".join(map(str, value)) if kind == "linelist" else shlex.join(map(str, value))
    return str(value)


def _inside(workspace: Path, value: object) -> list[str]:
    """`pythonpath` entries (relative to the repository root) as absolute paths, those inside it only."""
    entries = shlex.split(value) if isinstance(value, str) else [str(entry) for entry in value]
    paths = [(workspace / entry).resolve() for entry in entries]
    return [str(path) for path in paths if path.is_relative_to(workspace.resolve())]


def summary_counts(stdout: str) -> list[dict[str, int]]:
    """Every pytest summary line in `stdout`, as {outcome: count} ("errors" read as "error")."""
    found = []
    for line in stdout.splitlines():
        match = _SUMMARY.match(line.strip())
        if match is None:
            continue
        counts = {}
        if match["counts"] != "no tests ran":
            for part in match["counts"].split(", "):
                number, outcome = part.split(" ", 1)
                counts[outcome.removesuffix("s") if outcome in ("errors", "warnings") else outcome] = int(number)
        found.append(counts)
    return found


def check_run(returncode: int | None, stdout: str, cases: tuple[TestCase, ...],
              test_ids: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """(tamper flags, why the run is incomplete) from the JUnit `cases`, the summary and the exit status.

    Called only for a run that ended by itself and had the must-fail canary in it.
    """
    summaries = summary_counts(stdout)
    if len(summaries) > 1:
        return ("pytest's summary line was forged: the output holds more than one",), ""
    if returncode == 0:
        return ("pytest exited 0 though a test that must fail ran: the exit status was forged",), ""
    if not summaries:
        return (), f"pytest printed no summary line (exit {returncode}): the run did not reach its end"
    summary = summaries[0]
    reported = sum(case.status == "passed" for case in cases)
    # xpassed tests are passes in the report; a teardown error only ever turns a pass into an error.
    if reported > summary.get("passed", 0) + summary.get("xpassed", 0):
        return (f"the JUnit report holds {reported} passes, pytest's summary "
                f"{summary.get('passed', 0)}: the report was forged",), ""
    if returncode == 1 and not summary.get("failed", 0) + summary.get("error", 0):
        return ("pytest exited 1 with no failure in its summary: the summary was forged",), ""
    return (), ""
