"""The items of the general-capability probe: held-out stdlib functions, and how one is graded.

An item is a function of a held-out module (`HELD_OUT_MODULES`: neither the base tokenizer nor
pretraining saw them) whose signature and docstring are shown and whose body the model writes.
It is graded by the module's own CPython tests, restricted to the tests that fail when the body
is `raise NotImplementedError` (so every test kept really exercises the function), against a
copy of the module with the written body in place, inside the sandbox.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from apprentice.errors import ProbeError
from apprentice.sandbox import Limits, create_workspace, remove_workspace, run_sandboxed
from apprentice.tasks.corpus import stdlib_dir

RUNNER = "run_probe_tests.py"
# Bodies the model writes within a few hundred tokens: longer reference bodies would be items
# no model could finish at the probe's generation budget.
MAX_BODY_LINES = 40
GRADING_LIMITS = Limits(wall_seconds=30.0, cpu_seconds=30)  # each suite takes < 1 s unpatched

# Runs inside the sandbox. Every module the runner itself needs is imported before the module
# under test is dropped from sys.modules, so only the test module (and what it imports after)
# sees the patched copy in ./src; unittest and doctest keep the originals they already hold.
RUNNER_SOURCE = '''"""Run a CPython test module against ./src/<module>.py; print one JSON report line."""
import doctest, json, sys, unittest
import test.support

module, test_module, selected = sys.argv[1], sys.argv[2], set(sys.argv[3:])
sys.modules.pop(module, None)
sys.path.insert(0, "src")


def flatten(suite):
    for test in suite:
        yield from flatten(test) if isinstance(test, unittest.TestSuite) else (test,)


tests = [t for t in flatten(unittest.defaultTestLoader.loadTestsFromName(test_module))
         if not selected or t.id() in selected]
result = unittest.TestResult()
unittest.TestSuite(tests)(result)
broken = result.failures + result.errors + [(t, "") for t in result.unexpectedSuccesses]
# a failed subtest counts against the test that holds it
failed = sorted({(t.test_case if isinstance(t, unittest.case._SubTest) else t).id() for t, _ in broken})
print(json.dumps({"ran": [t.id() for t in tests], "failed": failed}))
sys.exit(0 if tests and not failed and (not selected or len(tests) == len(selected)) else 1)
'''


@dataclass(frozen=True)
class ProbeItem:
    """One probe item: a held-out function to write, and the tests that grade the result.

    `prompt` is what the model continues (imports, enclosing class header, signature, docstring);
    the body replaces lines `body_start:body_end` (0-based, end exclusive) of the module source
    whose sha256 is `source_sha256`. `test_command` runs, in a workspace holding the runner and
    `src/<module>.py`, only the `tests` that depend on the function.
    """

    module: str
    function: str
    prompt: str
    reference_body: str
    body_indent: int  # columns of the `def` line: a body line at this indent or less ends the body
    body_start: int
    body_end: int
    source_sha256: str
    tests: tuple[str, ...]
    test_command: tuple[str, ...]

    @property
    def name(self) -> str:
        """`module.function`, e.g. `textwrap.TextWrapper._split`."""
        return f"{self.module}.{self.function}"

    def sabotaged_body(self) -> str:
        """A body that cannot pass: what the kept tests were selected to detect."""
        return " " * (self.body_indent + 4) + "raise NotImplementedError\n"

    def patched_source(self, body: str) -> str:
        """The module's source with `body` in place of the function's body."""
        lines = module_source(self.module, self.source_sha256).splitlines(keepends=True)
        if body and not body.endswith("\n"):
            body += "\n"
        return "".join(lines[: self.body_start]) + body + "".join(lines[self.body_end:])


@dataclass(frozen=True)
class TestRun:
    """What one sandboxed run of a module's tests reported."""

    passed: bool
    ran: tuple[str, ...]
    failed: tuple[str, ...]
    timed_out: bool


def module_source(module: str, expected_sha256: str | None = None) -> str:
    """The held-out module's source from this interpreter's stdlib, checked against a hash."""
    path = stdlib_dir() / f"{module}.py"
    if not path.is_file():
        raise ProbeError(f"probe module {module!r}: {path} is not a single-file stdlib module of "
                         f"this interpreter; pick modules from HELD_OUT_MODULES that are one .py file")
    source = path.read_text(encoding="utf-8")
    if expected_sha256 is not None and sha256(source) != expected_sha256:
        raise ProbeError(f"{path} is not the source these probe items were built from (Python "
                         f"{sys.version.split()[0]}); rebuild them with build_probe()")
    return source


def sha256(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def candidate_items(module: str) -> list[ProbeItem]:
    """Every function of `module` (top level, or a method of a top-level class) with a docstring
    and a body of at most MAX_BODY_LINES lines; `tests` still empty (selection comes later)."""
    source = module_source(module)
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    header = f"# Python standard library, module `{module}`.\n{_statements(source, tree.body)}\n"
    items = []
    for function, node, owner in _functions(tree):
        if ast.get_docstring(node) is None or len(node.body) < 2:
            continue
        docstring_end, body_end = node.body[0].end_lineno, node.end_lineno
        reference = "".join(lines[docstring_end:body_end])
        if (node.body[1].lineno <= docstring_end or body_end - docstring_end > MAX_BODY_LINES
                or cut_body(reference, node.col_offset) != reference):
            continue  # code on the docstring's line, too long to write, or a string at column 0
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        owner_header = ("".join(lines[owner.lineno - 1: owner.body[0].lineno - 1])
                        + _statements(source, owner.body, owner.col_offset + 4) if owner else "")
        prompt = header + owner_header + "".join(lines[first - 1: docstring_end])
        items.append(ProbeItem(
            module=module, function=function, prompt=prompt,
            reference_body=reference, body_indent=node.col_offset,
            body_start=docstring_end, body_end=body_end, source_sha256=sha256(source),
            tests=(), test_command=()))
    return items


def _statements(source: str, body: list[ast.stmt], indent: int = 0) -> str:
    """The imports and assignments among `body` (what a function may name: `re`, `_whitespace`,
    a class's `wordsep_re`), as source at `indent`; functions, classes and docstrings left out."""
    kept = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)
    return "".join(" " * indent + ast.get_source_segment(source, node) + "\n"
                   for node in body if isinstance(node, kept))


def cut_body(completion: str, indent: int) -> str:
    """The function body at the start of `completion`: every line up to the first non-blank one
    indented `indent` columns or less (the next `def`, class or top-level statement)."""
    kept = []
    for line in completion.splitlines(keepends=True):
        if ends_body(line, indent):
            break
        kept.append(line)
    body = "".join(kept).rstrip()
    return body + "\n" if body else ""


def ends_body(line: str, indent: int) -> bool:
    """Whether `line` (possibly still being generated) is past the end of a body at `indent`."""
    return bool(line.strip()) and len(line) - len(line.lstrip()) <= indent


def _functions(tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name, node, None
        elif isinstance(node, ast.ClassDef):
            for child in node.body:
                if isinstance(child, ast.FunctionDef):
                    yield f"{node.name}.{child.name}", child, node


def test_command(module: str, tests: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The argv that runs `module`'s CPython tests (only `tests` when given) with this interpreter."""
    return (sys.executable, RUNNER, module, f"test.test_{module}", *tests)


def run_module_tests(module: str, source: str, command: tuple[str, ...], scratch: Path,
                     limits: Limits = GRADING_LIMITS) -> TestRun:
    """Run `command` in a fresh sandbox workspace holding the runner and `source` as the module."""
    template = Path(scratch) / "probe-runner"
    if not (template / RUNNER).is_file():
        template.mkdir(parents=True, exist_ok=True)
        (template / RUNNER).write_text(RUNNER_SOURCE)
    workspace = create_workspace(template, parent=Path(scratch))
    try:
        (workspace / "src").mkdir()
        (workspace / "src" / f"{module}.py").write_text(source, encoding="utf-8")
        result = run_sandboxed(list(command), workspace, limits)
    finally:
        remove_workspace(workspace)
    report = _report(result.stdout)
    return TestRun(passed=result.passed and report is not None,
                   ran=tuple(report["ran"]) if report else (),
                   failed=tuple(report["failed"]) if report else (), timed_out=result.timed_out)


def _report(stdout: str) -> dict | None:
    # The runner's report is its last line; a body that printed nothing breaks it, a body that
    # crashed the interpreter leaves none (then the run failed, and no test counts as having run).
    last = stdout.strip().rsplit("\n", 1)[-1]
    try:
        report = json.loads(last)
    except json.JSONDecodeError:
        return None
    return report if isinstance(report, dict) and {"ran", "failed"} <= report.keys() else None
