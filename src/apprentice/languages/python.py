"""Python as data: compileall for syntax, pytest under the grader's own configuration, ruff for lint."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from apprentice.languages import pytest_runner
from apprentice.languages.junit import pytest_key, read_pytest_junit
from apprentice.languages.language import Canary, Command, Language, RunContext, Tool
from apprentice.languages.mutation_rules import (
    ARITHMETIC,
    AUGMENTED,
    BOUNDARY,
    COMPARISON,
    MutationRules,
    frozen,
)

_SKIP_DIRS = r"/(\.venv|venv|node_modules|\.git|__pycache__)/"


def build_command(context: RunContext) -> Command:
    """Byte-compile every file: a syntax error anywhere is a build failure (-0.3)."""
    return (context.tools["python"], "-m", "compileall", "-q", "-x", _SKIP_DIRS, ".")


def test_command(context: RunContext) -> Command:
    """pytest on the requested node ids, configured by the grader alone (see `pytest_runner`).

    `-P`: the workspace is not on sys.path while pytest starts, so it cannot shadow pytest itself.
    """
    return (
        context.tools["python"],
        "-P",
        "-m",
        "pytest",
        *pytest_runner.runner_arguments(context.original or context.workspace, context.workspace),
        f"--junitxml={context.report_path}",
        *context.test_ids,
    )


def lint_commands(context: RunContext) -> tuple[Command, ...]:
    """ruff on the files the patch touched (pre-existing warnings elsewhere are not the patch's)."""
    touched = tuple(path for path in context.changed_files if path.endswith(".py"))
    if not touched:
        return ()
    return ((context.tools["ruff"], "check", "--no-cache", "--quiet", "--output-format=concise", *touched),)


def canary(context: RunContext) -> Canary:
    """Two tests in a file of their own, every name drawn afresh: one must fail, one must pass."""
    module, failing, passing = (f"test_{secrets.token_hex(8)}" for _ in range(3))
    content = f"def {failing}():\n    assert False\n\n\ndef {passing}():\n    assert True\n"
    return Canary(
        files={f"{module}.py": content},
        must_fail=(f"{module}::{failing}",),
        must_pass=(f"{module}::{passing}",),
        arguments=(f"{module}.py",),
    )


# The tree-sitter mutation rules of this grammar (tasks/mutation/engine.py applies them).
MUTATION_RULES = MutationRules(
    language="python",
    grammar=("tree_sitter_python", "language"),
    extensions=(".py",),
    test_file_globs=("test_*.py", "*_test.py", "conftest.py"),
    test_dirs=frozenset({"test", "tests"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_definition"}),
    scope_name_fields=frozen({"class_definition": "name"}),
    receiver_field=None,
    anonymous_name_fields=frozen({}),
    scope_separator=".",
    binary_types=frozenset({"binary_operator", "comparison_operator", "boolean_operator"}),
    augmented_types=frozenset({"augmented_assignment"}),
    arithmetic_swaps=frozen({**ARITHMETIC, "//": "/", "**": "*", "@": "*"}),
    augmented_swaps=frozen({**AUGMENTED, "//=": "/=", "**=": "*="}),
    comparison_swaps=frozen({**COMPARISON, "in": "not in", "not in": "in", "is": "is not", "is not": "is"}),
    boundary_swaps=frozen(BOUNDARY),
    connective_swaps=frozen({"and": "or", "or": "and"}),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=frozen({"True": "False", "False": "True"}),
    integer_types=frozenset({"integer"}),
    string_types=frozenset({"string"}),
    # `{}` is a dict, so an emptied set literal must be spelled `set()`.
    collection_types=frozen({"list": "", "dictionary": "", "tuple": "", "set": "set()"}),
    condition_fields=frozen({"if_statement": "condition", "elif_clause": "condition",
                              "while_statement": "condition", "conditional_expression": 1}),
    unnegatable_conditions=frozenset(),
    not_type="not_operator",
    not_token="not",
    negation="not ({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="return_type",
    zero_values=((r".*", "None"),),  # python checks no annotation: None is always a possible bug
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"block"}),
    deletable_statements=frozenset({"expression_statement", "return_statement", "raise_statement",
                                    "if_statement", "break_statement", "continue_statement", "delete_statement"}),
    final_return_required=False,
    empty_block_filler="pass",
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"argument_list"}),
    non_positional_arguments=frozenset({"keyword_argument", "list_splat", "dictionary_splat",
                                        "parenthesized_list_splat", "comment"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"comment"}),
)


LANGUAGE = Language(
    name="python",
    mutation=MUTATION_RULES,
    extensions=(".py",),
    grammar="tree_sitter_python",
    toolchain=(
        Tool("python", "your package manager (python 3.11+) and `pip install pytest`"),
        Tool("pytest", "`pip install pytest`"),
    ),
    build_command=build_command,
    test_command=test_command,
    read_tests=read_pytest_junit,
    lint_commands=lint_commands,
    lint_tools=(Tool("ruff", "`pip install ruff`"),),
    test_surface=(
        "test_*.py",
        "*/test_*.py",
        "*_test.py",
        "*/*_test.py",
        "tests/*",
        "*/tests/*",
        "test/*",
        "*/test/*",
        "conftest.py",
        "*/conftest.py",
        "pytest.ini",
        "*/pytest.ini",
        "pytest.toml",
        "*/pytest.toml",
        ".pytest.toml",
        "*/.pytest.toml",
        ".pytest.ini",
        "*/.pytest.ini",
        "tox.ini",
        "setup.cfg",
        "sitecustomize.py",
        "*/sitecustomize.py",
        "usercustomize.py",
        "*/usercustomize.py",
        "*.pth",
        "ruff.toml",
        ".ruff.toml",
        "*/ruff.toml",
        "*/.ruff.toml",
    ),
    structured_surface=(("pyproject.toml", ("tool.pytest", "tool.ruff", "tool.coverage")),),
    tamper_patterns=(
        (r"\b_?pytest\b|\bunittest\.(SkipTest|skip)", "code under test reaches into the test runner"),
        (
            r"def __eq__\([^)]*\)[^:]*:\s*return True\b|__eq__\s*=\s*lambda[^:]*:\s*True",
            "an __eq__ that is always True",
        ),
        (r"""['"]git['"]|['"]git\s|\.git\b|\bpygit2\b|\bdulwich\b""", "code under test reads git history"),
        (r"\bos\.fork\b|\bos\.forkpty\b", "code under test forks processes"),
    ),
    limit_markers=(
        "MemoryError",
        "BlockingIOError",
        "Resource temporarily unavailable",
        "Cannot allocate memory",
    ),
    # Run with -q, pytest prints dots and a summary, never "<test> PASSED": such a line is forged.
    pass_line=r"(?im)^.*\b{name}\b.*\bPASS(ED)?\b",
    test_key=pytest_key,
    environment=lambda: dict(pytest_runner.ENVIRONMENT),
    canary=canary,
    check_run=pytest_runner.check_run,
    # The grader's own interpreter (its venv holds pytest and ruff) comes before PATH.
    extra_tool_dirs=lambda: (Path(sys.executable).parent,),
)
