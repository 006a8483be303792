"""Which tests reach which function: the map that lets validation run only the tests that matter.

One traced run of the clean suite (`reach_plugin`, inside the sandbox) records, per test, the
functions it called; a mutant is then checked against the tests that reached its function only.
What a test file's import reached while pytest collected it (module-level calls) counts for
every test of that file. Languages without a tracer (rust, go, typescript) run the whole suite.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from apprentice.tasks.mutation.engine import Mutant, parser_for, rules_for
from apprentice.tasks.mutation.operators import function_units

REACH_PLUGIN = "apprentice.tasks.mutation.in_sandbox.reach_plugin"


@dataclass(frozen=True)
class FunctionSpan:
    """One outermost function of a file: its qualified name and its lines (1-based, inclusive).

    `first` includes decorators: Python reports a decorated function's first line there.
    `body` is where the body starts (line, 1-based column): an edit before it (a default value,
    a decorator) changes what runs when the `def` runs, not the function's code object.
    """

    name: str
    first: int
    last: int
    body: tuple[int, int] = (0, 0)

    def in_body(self, mutant: Mutant) -> bool:
        """Whether the mutant's edit starts inside the body (its code object alone changes)."""
        return (mutant.line, mutant.column) >= self.body


@dataclass(frozen=True)
class CoverageMap:
    """key (test node id, or test file path for its import) -> file -> first lines of code called."""

    reach: Mapping[str, Mapping[str, frozenset[int]]]
    tests: tuple[str, ...]  # every test node id the traced run saw, in run order
    _spans: dict[str, tuple[FunctionSpan, ...]] = field(default_factory=dict, compare=False, repr=False)

    def tests_for(self, mutant: Mutant, repo: Path) -> tuple[str, ...]:
        """The tests that called the function `mutant` edits (or imported its file's test module
        while that function ran), in run order; () when no test reaches it."""
        span = self._span(mutant, repo)
        if span is None:
            return ()
        keys = {key for key, files in self.reach.items()
                if any(span.first <= line <= span.last for line in files.get(mutant.path, ()))}
        return tuple(test for test in self.tests
                     if test in keys or test.partition("::")[0] in keys)

    def reached_on_import(self, mutant: Mutant, repo: Path) -> bool:
        """Whether the mutant's function ran while a test module was imported or collected."""
        span = self.span_for(mutant, repo)
        return span is not None and any(
            any(span.first <= line <= span.last for line in files.get(mutant.path, ()))
            for key, files in self.reach.items() if "::" not in key)

    def span_for(self, mutant: Mutant, repo: Path) -> FunctionSpan | None:
        """The outermost function `mutant` edits, located in the clean file of `repo`."""
        return self._span(mutant, repo)

    def _span(self, mutant: Mutant, repo: Path) -> FunctionSpan | None:
        if mutant.path not in self._spans:
            source = (repo / mutant.path).read_bytes()
            self._spans[mutant.path] = function_spans(source, mutant.language)
        return next((span for span in self._spans[mutant.path]
                     if span.name == mutant.function and span.first <= mutant.line <= span.last), None)


def function_spans(source: bytes, language: str) -> tuple[FunctionSpan, ...]:
    """The outermost functions of one file, as the mutation engine names them."""
    rules = rules_for(language)
    root = parser_for(language).parse(source).root_node
    spans = []
    for node, name in function_units(root, rules):
        start = node.parent if node.parent is not None and node.parent.type == "decorated_definition" else node
        spans.append(FunctionSpan(name, start.start_point.row + 1, node.end_point.row + 1, _body_start(source, node)))
    return tuple(spans)


def _body_start(source: bytes, node) -> tuple[int, int]:
    """(line, column) where the body starts; column 1 when only indentation precedes it there
    (a whole-line edit of the first statement is inside the body)."""
    body = node.child_by_field_name("body") or node
    line_start = body.start_byte - body.start_point.column
    if not source[line_start:body.start_byte].strip():
        return body.start_point.row + 1, 1
    # tree-sitter counts columns in bytes, the mutant in characters: bytes >= characters, so a
    # non-ASCII signature only makes the body look later (the safe side).
    return body.start_point.row + 1, body.start_point.column + 1


def read_reach(path: Path) -> CoverageMap:
    """The coverage map from the plugin's JSON output (a missing file: the traced run died)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    reach = {key: {file: frozenset(lines) for file, lines in files.items()} for key, files in raw.items()}
    tests = tuple(key for key in raw if "::" in key)
    return CoverageMap(reach, tests)
