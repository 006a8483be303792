"""Rust as data: `cargo test --no-run` to build, libtest's per-test lines, clippy for lint.

The tiny crates apprentice grades have no dependencies: builds run `--offline`, and a crate that
needs the registry fails its build with cargo's own message instead of hanging on the network.
"""

from __future__ import annotations

import re
from pathlib import Path

from apprentice.languages.language import Command, Language, RunContext, TestCase, Tool

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


LANGUAGE = Language(
    name="rust",
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
