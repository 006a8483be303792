"""TypeScript as data: `tsc` to type-check and compile, node's test runner with a JUnit report, eslint.

Node 20 cannot run .ts files itself, so tests run on tsc's output (`outDir`, `dist/` by
default). tsc and eslint come from PATH or from the tool cache
(`$APPRENTICE_CACHE_DIR/node-tools`, filled once with npm, used offline afterwards). Without
eslint the lint step is reported skipped, never clean.
"""

from __future__ import annotations

from pathlib import Path

from apprentice.languages.junit import read_node_junit
from apprentice.languages.language import Command, Language, RunContext, Tool, cache_dir
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

OUT_DIR = "dist"  # the tiny repositories' tsconfig `outDir`; tests and lint read compiled JS there
NODE_TOOLS_INSTALL = "`npm install --prefix ~/.cache/apprentice/node-tools typescript eslint`"


def node_tool_dirs() -> tuple[Path, ...]:
    """Where project-independent node tools live: the apprentice tool cache's `node_modules/.bin`."""
    return (cache_dir() / "node-tools" / "node_modules" / ".bin",)


def build_command(context: RunContext) -> Command:
    """Type-check and compile with the repository's tsconfig.json: a type error is a build failure."""
    return (context.tools["tsc"], "-p", "tsconfig.json")


def test_command(context: RunContext) -> Command:
    """node's test runner on every compiled `*.test.js`, JUnit report to the private path."""
    compiled = sorted(
        str(path.relative_to(context.workspace)) for path in (context.workspace / OUT_DIR).rglob("*.test.js")
    )
    return (
        context.tools["node"],
        "--test",
        "--test-reporter=junit",
        f"--test-reporter-destination={context.report_path}",
        *compiled,
    )


def lint_commands(context: RunContext) -> tuple[Command, ...]:
    """eslint with the repository's flat config over the compiled sources the patch touched."""
    touched = tuple(
        f"{OUT_DIR}/{Path(path).with_suffix('.js').as_posix()}"
        for path in context.changed_files
        if path.endswith(".ts") and (context.workspace / OUT_DIR / Path(path).with_suffix(".js")).is_file()
    )
    if not touched:
        return ()
    return ((context.tools["eslint"], "--max-warnings", "0", *touched),)


# The tree-sitter mutation rules of this grammar (tasks/mutation/engine.py applies them).
MUTATION_RULES = MutationRules(
    language="typescript",
    grammar=("tree_sitter_typescript", "language_typescript"),
    extensions=(".ts",),
    test_file_globs=("*.test.ts", "*.spec.ts", "*.d.ts"),
    test_dirs=frozenset({"test", "tests", "__tests__"}),
    test_attributes=frozenset(),
    function_types=frozenset({"function_declaration", "method_definition", "arrow_function",
                              "function_expression", "generator_function_declaration"}),
    scope_name_fields=frozen({"class_declaration": "name", "abstract_class_declaration": "name",
                               "class": "name", "internal_module": "name"}),
    receiver_field=None,
    anonymous_name_fields=frozen({"variable_declarator": "name", "public_field_definition": "name",
                                   "pair": "key", "assignment_expression": "left"}),
    scope_separator=".",
    binary_types=frozenset({"binary_expression"}),
    augmented_types=frozenset({"augmented_assignment_expression"}),
    arithmetic_swaps=frozen({**ARITHMETIC, "**": "*", ">>>": "<<"}),
    augmented_swaps=frozen(AUGMENTED),
    comparison_swaps=frozen({**COMPARISON, "===": "!==", "!==": "==="}),
    boundary_swaps=frozen(BOUNDARY),
    connective_swaps=frozen({**CONNECTIVES, "??": "||"}),
    boolean_types=frozenset({"true", "false"}),
    boolean_flips=frozen(BOOLEANS),
    integer_types=frozenset({"number"}),
    string_types=frozenset({"string"}),
    collection_types=frozen({"array": "", "object": ""}),
    condition_fields=frozen({"if_statement": "condition", "while_statement": "condition",
                              "do_statement": "condition", "ternary_expression": "condition"}),
    unnegatable_conditions=frozenset(),
    not_type="unary_expression",
    not_token="!",
    negation="!({})",
    return_types=frozenset({"return_statement"}),
    return_type_field="return_type",
    # Unannotated functions may return anything; annotated ones get a literal of their type.
    zero_values=(("", "null"), (r"number", "0"), (r"string", '""'), (r"boolean", "false"),
                 (r".*\[\]", "[]"), (r"Array<.*>", "[]"), (r".*\|\s*null(\s*\|.*)?", "null"),
                 (r".*\|\s*undefined(\s*\|.*)?", "undefined")),
    tail_expression_returns=False,
    tail_expression_excluded=frozenset(),
    block_types=frozenset({"statement_block"}),
    # Declarations are never deleted: later uses would no longer type-check.
    deletable_statements=frozenset({"expression_statement", "return_statement", "if_statement",
                                    "throw_statement", "break_statement", "continue_statement"}),
    final_return_required=True,
    empty_block_filler=None,
    unused_is_error=False,
    local_declaration_types=frozenset(),
    argument_list_types=frozenset({"arguments"}),
    non_positional_arguments=frozenset({"spread_element", "comment"}),
    unswappable_callees=frozenset(),
    comment_types=frozenset({"comment"}),
)


LANGUAGE = Language(
    name="typescript",
    mutation=MUTATION_RULES,
    extensions=(".ts", ".tsx"),
    grammar="tree_sitter_typescript",
    toolchain=(Tool("node", "`apt-get install nodejs` (node 20+)"), Tool("tsc", NODE_TOOLS_INSTALL)),
    build_command=build_command,
    test_command=test_command,
    read_tests=read_node_junit,
    lint_commands=lint_commands,
    lint_tools=(Tool("eslint", NODE_TOOLS_INSTALL),),
    test_surface=(
        "dist/*",
        "*.test.ts",
        "*/*.test.ts",
        "*.spec.ts",
        "*/*.spec.ts",
        "test/*",
        "*/test/*",
        "tests/*",
        "__tests__/*",
        "*/__tests__/*",
        "tsconfig.json",
        "eslint.config.*",
        ".eslintrc*",
        "jest.config.*",
        ".npmrc",
    ),
    structured_surface=(("package.json", ("scripts", "jest", "eslintConfig", "type", "main")),),
    build_outputs=("dist",),
    tamper_patterns=(
        (r"""['"]git['"]|\.git\b""", "code under test reads git history"),
        (r"\bnode:test\b|\bprocess\.exit\b", "code under test reaches into the test runner"),
    ),
    limit_markers=("heap out of memory", "EAGAIN"),
    extra_tool_dirs=node_tool_dirs,
)
