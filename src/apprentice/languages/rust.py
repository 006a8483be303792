"""Rust as data: `cargo test --no-run` to build, libtest's per-test lines, clippy for lint.

The tiny crates apprentice grades have no dependencies: builds run `--offline`, and a crate that
needs the registry fails its build with cargo's own message instead of hanging on the network.
"""

from __future__ import annotations

import re
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

_RESULT = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored)(?:, .*)?$")
_STATUS = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}


def build_command(context: RunContext) -> Command:
    """Compile the crate and its tests without running them: a compile error is a build failure."""
    return (context.tools["cargo"], "test", "--offline", "--no-run", "--quiet")


def test_command(context: RunContext) -> Command:
    """Every test of the crate; libtest prints one `test <name> ... ok|FAILED|ignored` line each."""
    return (context.tools["cargo"], "test", "--offline", "--no-fail-fast", "--", "--color", "never")


def read_tests(stdout: str, report_path: Path) -> tuple[TestCase, ...]:
    """Test cases from libtest's stdout; ids are the test paths libtest prints (`tests::adds`)."""
    cases = []
    for line in stdout.splitlines():
        match = _RESULT.match(line.strip())
        if match:
            cases.append(TestCase(match.group(1), _STATUS[match.group(2)]))
    return tuple(cases)


def lint_commands(context: RunContext) -> tuple[Command, ...]:
    """clippy over the crate and its tests, every warning an error (exit code decides cleanliness)."""
    return (
        (context.tools["cargo"], "clippy", "--offline", "--all-targets", "--quiet", "--", "-D", "warnings"),
    )


# The tree-sitter mutation rules of this grammar (tasks/mutation/engine.py applies them).
MUTATION_RULES = MutationRules(
    language="rust",
    grammar=("tree_sitter_rust", "language"),
    extensions=(".rs",),
    test_file_globs=(),
    test_dirs=frozenset({"tests", "benches", "examples"}),
    test_attributes=frozenset({"#[cfg(test)]", "#[test]"}),
    function_types=frozenset({"function_item"}),
    scope_name_fields=frozen({"impl_item": "type", "trait_item": "name", "mod_item": "name"}),
    receiver_field=None,
    anonymous_name_fields=frozen({}),
    scope_separator="::",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"compound_assignment_expr"}),
    arithmetic_swaps=frozen(ARITHMETIC),
    augmented_swaps=frozen(AUGMENTED),
    comparison_swaps=frozen(COMPARISON),
    boundary_swaps=frozen(BOUNDARY),
    connective_swaps=frozen(CONNECTIVES),
    boolean_types=frozenset({"boolean_literal"}),
    boolean_flips=frozen(BOOLEANS),
    integer_types=frozenset({"integer_literal"}),
    string_types=frozenset({"string_literal"}),
    collection_types=frozen({}),  # array lengths are part of rust's types: emptying one does not compile
    condition_fields=frozen({"if_expression": "condition", "while_expression": "condition"}),
    unnegatable_conditions=frozenset({"let_condition", "let_chain"}),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_expression"}),
    return_type_field="return_type",
    zero_values=((r"bool", "false"), (r"[iu](8|16|32|64|128|size)", "0"), (r"f(32|64)", "0.0"),
                 (r"String", "String::new()"), (r"Option<.*>", "None"), (r"Vec<.*>", "Vec::new()"),
                 (r"&('\w+ )?str", '""')),
    tail_expression_returns=True,
    # Replacing a whole `if`/`match` with a literal deletes the function's logic, not one decision.
    tail_expression_excluded=frozenset({"if_expression", "match_expression", "block", "loop_expression",
                                        "while_expression", "for_expression", "unsafe_block",
                                        "macro_invocation"}),
    block_types=frozenset({"block"}),
    # `let` is never deleted: every later use of the name would fail to compile.
    deletable_statements=frozenset({"expression_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"arguments"}),
    non_positional_arguments=frozenset({"line_comment", "block_comment", "attribute_item"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"line_comment", "block_comment"}),
)


LANGUAGE = Language(
    name="rust",
    mutation=MUTATION_RULES,
    extensions=(".rs",),
    grammar="tree_sitter_rust",
    toolchain=(Tool("cargo", "`curl --proto '=https' -sSf https://sh.rustup.rs | sh` (rustup)"),),
    build_command=build_command,
    test_command=test_command,
    read_tests=read_tests,
    lint_commands=lint_commands,
    lint_tools=(Tool("cargo-clippy", "`rustup component add clippy`"),),
    test_surface=(
        "target/*",
        "tests/*",
        "*/tests/*",
        "benches/*",
        "build.rs",
        "*/build.rs",
        ".cargo/*",
        "clippy.toml",
        ".clippy.toml",
        "rust-toolchain",
        "rust-toolchain.toml",
    ),
    structured_surface=(
        ("Cargo.toml", ("test", "bench", "lib", "lints", "profile", "build-dependencies")),
        ("*/Cargo.toml", ("test", "bench", "lib", "lints", "profile")),
    ),
    build_outputs=("target",),
    tamper_patterns=((r"""['"]git['"]|\.git\b""", "code under test reads git history"),),
    limit_markers=("memory allocation of", "Resource temporarily unavailable"),
    environment=lambda: {"CARGO_TERM_COLOR": "never", "CARGO_INCREMENTAL": "0", "CARGO_NET_OFFLINE": "true"},
)
