"""Go as data: `go vet`-grade compile of package and tests, `go test -json` events, vet for lint.

golangci-lint joins the lint step when it is installed; `go vet` alone is the lint otherwise
(it ships with go, so Go lint is never skipped).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from apprentice.languages.language import Command, Language, RunContext, TestCase, Tool
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
    limit_markers=("out of memory", "resource temporarily unavailable"),
    # No network, no toolchain download: a missing module fails the build with go's own message.
    environment=lambda: {"GOPROXY": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"},
)
