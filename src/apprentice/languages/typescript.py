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


LANGUAGE = Language(
    name="typescript",
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
