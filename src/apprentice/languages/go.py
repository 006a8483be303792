"""Go as data: `go vet`-grade compile of package and tests, `go test -json` events, vet for lint.

golangci-lint joins the lint step when it is installed; `go vet` alone is the lint otherwise
(it ships with go, so Go lint is never skipped).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from apprentice.languages.language import Canary, Command, Language, RunContext, TestCase, Tool
from apprentice.languages.mutation_rules import (
    ARITHMETIC,
    AUGMENTED,
    BOOLEANS,
    BOUNDARY,
    COMPARISON,
    CONNECTIVES,
    MutationRules,
    frozen,
)

_STATUS = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def build_command(context: RunContext) -> Command:
    """Compile every package with its tests, running none (`-run ^$`): a type error fails the build."""
    return (context.tools["go"], "test", "-count=1", "-run", "^$", "./...")


def test_command(context: RunContext) -> Command:
    """Every test, as `go test -json` events (one JSON object per line)."""
    return (context.tools["go"], "test", "-json", "-count=1", "./...")


def _events(stdout: str) -> Iterator[dict]:
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # build output interleaved with events is not a verdict
        if isinstance(event, dict) and event.get("Action") in _STATUS:
            yield event


def read_tests(stdout: str, report_path: Path) -> tuple[TestCase, ...]:
    """Test cases from `go test -json`; ids are `<package>::<Test>` (subtests `<Test>/<sub>`)."""
    return tuple(
        TestCase(f"{event.get('Package', '')}::{event['Test']}", _STATUS[event["Action"]],
                 float(event.get("Elapsed") or 0.0))
        for event in _events(stdout)
        if event.get("Test")
    )


def check_run(returncode: int | None, stdout: str, cases: tuple[TestCase, ...],
              test_ids: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """(tamper flags, why incomplete): per-test events are parsed from output the test binary writes
    (it can print `--- PASS` lines), the package verdict only from its exit status, so they must agree.

    A package that passed with a failed test in it, or a run that exited 0 with a failed package, was
    forged; a required test's package with no verdict at all did not finish.
    """
    verdicts = {event.get("Package", ""): event["Action"] for event in _events(stdout) if not event.get("Test")}
    failing = {case.id.split("::", 1)[0] for case in cases if case.status == "failed"}
    flags = [f"go test passed package {package} with a failed test in it: its test output was forged"
             for package, action in sorted(verdicts.items()) if action == "pass" and package in failing]
    if returncode == 0 and "fail" in verdicts.values():
        flags.append("go test exited 0 with a failed package: the exit status was forged")
    unfinished = sorted({test_id.split("::", 1)[0] for test_id in test_ids} - set(verdicts))
    if unfinished:
        return tuple(flags), f"go test gave no verdict for package {', '.join(unfinished)}: it did not finish"
    if returncode not in (0, 1):
        return tuple(flags), f"go test exited {returncode}"
    return tuple(flags), ""


def canary(context: RunContext) -> Canary:
    """A must-fail and a must-pass test, every name drawn afresh, in each package holding a required
    test: the same test binary as the code under test, so a forger there must get both right."""
    module = _module_path(context.workspace)
    files, failing, passing = {}, [], []
    for package in sorted({test_id.split("::", 1)[0] for test_id in context.test_ids}):
        directory = "" if package == module else package.removeprefix(f"{module}/")
        clause = _package_clause(context.workspace / directory) if module and directory != package else None
        if clause is None:
            continue  # not a package of this module: its tests show up missing instead
        fail_name, pass_name = (f"Test{secrets.token_hex(8).upper()}" for _ in range(2))
        path = f"{directory}/{secrets.token_hex(8)}_test.go".lstrip("/")
        files[path] = (f'package {clause}\n\nimport "testing"\n\nfunc {fail_name}(t *testing.T) {{ t.Fail() }}\n\n'
                       f"func {pass_name}(t *testing.T) {{}}\n")
        failing.append(f"{package}::{fail_name}")
        passing.append(f"{package}::{pass_name}")
    return Canary(files=files, must_fail=tuple(failing), must_pass=tuple(passing), arguments=())


def _module_path(workspace: Path) -> str | None:
    go_mod = workspace / "go.mod"
    found = re.search(r"(?m)^module\s+\"?([^\s\"]+)", go_mod.read_text(errors="replace")) if go_mod.is_file() else None
    return found.group(1) if found else None


def _package_clause(directory: Path) -> str | None:
    """The package name of the tests in `directory` (`x` or `x_test`), read from a test file there."""
    for path in sorted(directory.glob("*_test.go")) + sorted(directory.glob("*.go")):
        found = re.search(r"(?m)^package\s+(\w+)", path.read_text(errors="replace"))
        if found:
            return found.group(1)
    return None


def lint_commands(context: RunContext) -> tuple[Command, ...]:
    """`go vet ./...`, and `golangci-lint run` too when it is installed."""
    commands: list[Command] = [(context.tools["go"], "vet", "./...")]
    golangci = shutil.which("golangci-lint")
    if golangci:
        commands.append((golangci, "run", "./..."))
    return tuple(commands)


# The tree-sitter mutation rules of this grammar (tasks/mutation/engine.py applies them).
MUTATION_RULES = MutationRules(
    language="go",
    grammar=("tree_sitter_go", "language"),
    extensions=(".go",),
    test_file_globs=("*_test.go",),
    test_dirs=frozenset({"testdata"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_declaration", "method_declaration", "func_literal"}),
    scope_name_fields=frozen({}),
    receiver_field="receiver",
    anonymous_name_fields=frozen({"var_spec": "name"}),
    scope_separator=".",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"assignment_statement", "inc_statement", "dec_statement"}),
    arithmetic_swaps=frozen({**ARITHMETIC, "&^": "&"}),
    augmented_swaps=frozen({**AUGMENTED, "++": "--", "--": "++"}),
    comparison_swaps=frozen(COMPARISON),
    boundary_swaps=frozen(BOUNDARY),
    connective_swaps=frozen(CONNECTIVES),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=frozen(BOOLEANS),
    integer_types=frozenset({"int_literal"}),
    string_types=frozenset({"interpreted_string_literal", "raw_string_literal"}),
    collection_types=frozen({"literal_value": ""}),  # `[]int{1, 2}` -> `[]int{}`
    condition_fields=frozen({"if_statement": "condition"}),
    unnegatable_conditions=frozenset(),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="result",
    zero_values=((r"bool", "false"), (r"u?int(8|16|32|64)?|byte|rune|uintptr|float(32|64)", "0"),
                 (r"string", '""'), (r"error|any|interface\{.*\}|\*.*|\[\].*|map\[.*|func.*|chan.*", "nil")),
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"statement_list"}),
    # Declarations are never deleted: go refuses both the undefined name and, often, an unused one.
    deletable_statements=frozenset({"expression_statement", "assignment_statement", "inc_statement",
                                    "dec_statement", "return_statement", "if_statement",
                                    "break_statement", "continue_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=True,
    local_declaration_types=frozenset({"short_var_declaration", "var_spec", "range_clause"}),
    argument_list_types=frozenset({"argument_list"}),
    non_positional_arguments=frozenset({"variadic_argument", "comment"}),
    # Their arguments have different kinds (a type, a slice and its elements): a swap never compiles.
    unswappable_callees=frozenset({"make", "new", "append", "delete"}),
    comment_types=frozenset({"comment"}),
)


LANGUAGE = Language(
    name="go",
    mutation=MUTATION_RULES,
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
    canary=canary,
    check_run=check_run,
    limit_markers=("out of memory", "resource temporarily unavailable"),
    # No network, no toolchain download: a missing module fails the build with go's own message.
    environment=lambda: {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"},
)
