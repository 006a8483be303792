"""Go as data: `go vet`-grade compile of package and tests, `go test -json` events, vet for lint.

golangci-lint joins the lint step when it is installed; `go vet` alone is the lint otherwise
(it ships with go, so Go lint is never skipped).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from apprentice.languages.language import Command, Language, RunContext, TestCase, Tool

_STATUS = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def build_command(context: RunContext) -> Command:
    """Compile every package with its tests, running none (`-run ^$`): a type error fails the build."""
    return (context.tools["go"], "test", "-count=1", "-run", "^$", "./...")


def test_command(context: RunContext) -> Command:
    """Every test, as `go test -json` events (one JSON object per line)."""
    return (context.tools["go"], "test", "-json", "-count=1", "./...")


def read_tests(stdout: str, report_path: Path) -> tuple[TestCase, ...]:
    """Test cases from `go test -json`; ids are `<package>::<Test>` (subtests `<Test>/<sub>`)."""
    cases = []
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # build output interleaved with events is not a verdict
        if isinstance(event, dict) and event.get("Test") and event.get("Action") in _STATUS:
            test_id = f"{event.get('Package', '')}::{event['Test']}"
            cases.append(TestCase(test_id, _STATUS[event["Action"]], float(event.get("Elapsed") or 0.0)))
    return tuple(cases)


def lint_commands(context: RunContext) -> tuple[Command, ...]:
    """`go vet ./...`, and `golangci-lint run` too when it is installed."""
    commands: list[Command] = [(context.tools["go"], "vet", "./...")]
    golangci = shutil.which("golangci-lint")
    if golangci:
        commands.append((golangci, "run", "./..."))
    return tuple(commands)


LANGUAGE = Language(
    name="go",
    extensions=(".go",),
    grammar="tree_sitter_go",
    toolchain=(Tool("go", "`apt-get install golang-go` or https://go.dev/dl"),),
    build_command=build_command,
    test_command=test_command,
    read_tests=read_tests,
    lint_commands=lint_commands,
    lint_tools=(),
    test_surface=(
        "*_test.go",
        "*/*_test.go",
        "testdata/*",
        "*/testdata/*",
        ".golangci.yml",
        ".golangci.yaml",
        "go.work",
    ),
    tamper_patterns=((r"""['"]git['"]|\.git\b""", "code under test reads git history"),),
    limit_markers=("out of memory", "resource temporarily unavailable"),
    # No network, no toolchain download: a missing module fails the build with go's own message.
    environment=lambda: {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"},
)
