"""Mutation engine: small, plausible bugs inside one function, from tree-sitter syntax trees.

The operators (`mutation_operators.py`, registered by name in `OPERATORS`) propose byte-range
edits inside one function; what a grammar calls things lives in `mutation_rules.py`. Every edit becomes a `Mutant` only if the mutated file still parses, differs
from the original and (go) leaves no variable or import unused. Whether a mutant is a real bug
(some test fails) is decided later by running the tests: equivalent mutants survive until then.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib
import os
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

from tree_sitter import Language, Node, Parser, Point, Tree

from apprentice.errors import MutationError, UnknownNameError
from apprentice.languages.mutation_rules import MutationRules
from apprentice.languages.registry import get_language
from apprentice.tasks.mutation.operators import OPERATORS, Edit, OperatorContext, function_units, text_of

DIFF_CONTEXT = 3  # lines of context around each hunk, as `diff -u` and `git diff` write them
# Directories of build outputs, dependencies and tooling: never the code under test.
SKIPPED_DIRS = frozenset({".git", ".hg", "node_modules", "target", "vendor", "__pycache__", ".venv",
                          "venv", "build", "dist", "site-packages"})


@dataclass(frozen=True)
class Mutant:
    """One injected bug. `diff` introduces it (original -> mutated), `fix` repairs it.

    Both are unified diffs of `path` (relative to the repository root, `a/` and `b/` prefixes)
    that `git apply` and `patch -p1` accept. `line` and `column` (both 1-based, the column in
    characters) locate the start of the edit; `original` and `replacement` are the edited text.
    """

    language: str
    path: str
    function: str
    operator: str
    line: int
    column: int
    original: str
    replacement: str
    diff: str
    fix: str
    source_sha256: str  # the unmutated file's content hash: which fixed snapshot the bug belongs to


@dataclass
class MutationStats:
    """Counters filled while generating (an accumulator, so not frozen): what was kept and why not."""

    files: int = 0
    skipped_files: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    kept: Counter[str] = field(default_factory=Counter)  # per operator
    dropped_unparseable: Counter[str] = field(default_factory=Counter)
    dropped_identical: Counter[str] = field(default_factory=Counter)
    dropped_unused_name: Counter[str] = field(default_factory=Counter)  # go: would not compile
    dropped_duplicate: int = 0
    dropped_by_cap: int = 0


def rules_for(language: str) -> MutationRules:
    """The mutation rules of `language`; an unknown name raises `UnknownNameError` listing the known ones."""
    rules = get_language(language).mutation
    if rules is None:
        raise UnknownNameError(f"language {language!r} has no mutation rules; add a MutationRules to its module")
    return rules


@cache
def parser_for(language: str) -> Parser:
    """A tree-sitter parser for `language`, built once per process."""
    module, function = rules_for(language).grammar
    return Parser(Language(getattr(importlib.import_module(module), function)()))


# --- generation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Site:
    """One function of one parsed file, with what the checks need to know about it."""

    path: str
    rules: MutationRules
    data: bytes
    tree: Tree
    line_starts: list[int]
    sha256: str
    function: Node
    name: str
    declared: Counter[str]  # go: local names -> how many declarations (a use is any other mention)
    imports: tuple[str, ...]  # go: package names the file imports


def _walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.named_children))


def mutants_for_source(source: str, path: str, language: str, stats: MutationStats | None = None) -> list[Mutant]:
    """Every mutant of one file's functions, deduplicated, in source order.

    `path` is the file's path relative to its repository (it names the file in the diffs). A file
    that does not parse yields no mutants and is recorded in `stats.skipped_files`.
    """
    rules, stats = rules_for(language), stats if stats is not None else MutationStats()
    data = source.encode("utf-8")
    tree = parser_for(language).parse(data)
    root = tree.root_node
    stats.files += 1
    if root.has_error:
        stats.skipped_files.append((path, "tree-sitter finds syntax errors in the unmutated file"))
        return []
    line_starts = [0, *(match.end() for match in re.finditer(b"\n", data))]
    imports = _imported_packages(root) if rules.unused_is_error else ()
    mutants = []
    for function, name in function_units(root, rules):
        declared = _declared_locals(function, rules) if rules.unused_is_error else Counter()
        site = _Site(path, rules, data, tree, line_starts, hashlib.sha256(data).hexdigest(), function, name, declared, imports)
        mutants.extend(_function_mutants(site, stats))
    unique = dedupe(sorted(mutants, key=lambda mutant: (mutant.line, mutant.column)))
    stats.dropped_duplicate += len(mutants) - len(unique)
    return unique


def _function_mutants(site: _Site, stats: MutationStats) -> Iterator[Mutant]:
    body = site.function.child_by_field_name("body")
    if body is None:
        return  # a declaration without a body (trait method, overload signature)
    context = OperatorContext(site.rules, site.data, site.function)
    for node in _walk(body):
        for operator_name, operator in OPERATORS.items():
            for edit in operator(node, context):
                mutant = _checked_mutant(site, operator_name, edit, stats)
                if mutant is not None:
                    yield mutant


def _checked_mutant(site: _Site, operator: str, edit: Edit, stats: MutationStats) -> Mutant | None:
    """The mutant of one edit, or None (counted) when it is identical, unparseable or would not compile."""
    replacement = edit.replacement.encode("utf-8")
    if site.data[edit.start:edit.end] == replacement:
        stats.dropped_identical[operator] += 1
        return None
    mutated = site.data[:edit.start] + replacement + site.data[edit.end:]
    if _reparsed(site, edit, replacement, mutated).root_node.has_error:
        stats.dropped_unparseable[operator] += 1
        return None
    if site.rules.unused_is_error and _leaves_unused_name(site, edit, mutated):
        stats.dropped_unused_name[operator] += 1
        return None
    stats.kept[operator] += 1
    return _mutant(site, operator, edit, replacement)


def _reparsed(site: _Site, edit: Edit, replacement: bytes, mutated: bytes) -> Tree:
    """The mutated file's tree, parsed incrementally from the original's (about 8x faster than anew)."""
    start, old_end = _point(site, edit.start), _point(site, edit.end)
    if b"\n" in replacement:
        new_end = Point(start.row + replacement.count(b"\n"), len(replacement) - replacement.rfind(b"\n") - 1)
    else:
        new_end = Point(start.row, start.column + len(replacement))
    tree = site.tree.copy()
    tree.edit(start_byte=edit.start, old_end_byte=edit.end, new_end_byte=edit.start + len(replacement),
              start_point=start, old_end_point=old_end, new_end_point=new_end)
    return parser_for(site.rules.language).parse(mutated, tree)


def _point(site: _Site, offset: int) -> Point:
    row = bisect.bisect_right(site.line_starts, offset) - 1
    return Point(row, offset - site.line_starts[row])


def _mutant(site: _Site, operator: str, edit: Edit, replacement: bytes) -> Mutant:
    data, starts = site.data, site.line_starts
    first = bisect.bisect_right(starts, edit.start) - 1
    last = bisect.bisect_right(starts, max(edit.end - 1, edit.start)) - 1

    def offset(line: int) -> int:
        return starts[line] if line < len(starts) else len(data)

    context_start, context_end = max(0, first - DIFF_CONTEXT), last + 1 + DIFF_CONTEXT
    before = _lines(data[offset(context_start):offset(first)])
    old = _lines(data[offset(first):offset(last + 1)])
    new = _lines(data[offset(first):edit.start] + replacement + data[edit.end:offset(last + 1)])
    after = _lines(data[offset(last + 1):offset(context_end)])
    return Mutant(
        language=site.rules.language, path=site.path, function=site.name, operator=operator,
        line=first + 1, column=len(data[offset(first):edit.start].decode("utf-8")) + 1,
        original=data[edit.start:edit.end].decode("utf-8"), replacement=edit.replacement,
        diff=_unified_diff(site.path, context_start + 1, before, old, new, after),
        fix=_unified_diff(site.path, context_start + 1, before, new, old, after),
        source_sha256=site.sha256,
    )


def _lines(chunk: bytes) -> list[str]:
    """Split on newlines only (`str.splitlines` also splits on form feeds, which patch does not)."""
    pieces = chunk.decode("utf-8").split("\n")
    return [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])


def _unified_diff(path: str, start: int, before: list[str], old: list[str], new: list[str], after: list[str]) -> str:
    """One hunk in `diff -u` form, with git's marker for a last line that has no newline."""

    def span(count: int) -> str:
        return f"{start if count else start - 1},{count}"  # an empty side is numbered from the line before

    old_count, new_count = len(before) + len(old) + len(after), len(before) + len(new) + len(after)
    out = [f"--- a/{path}\n", f"+++ b/{path}\n", f"@@ -{span(old_count)} +{span(new_count)} @@\n"]
    body = [" " + line for line in before] + ["-" + line for line in old]
    body += ["+" + line for line in new] + [" " + line for line in after]
    out += [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body]
    return "".join(out)


# --- go: unused names do not compile ------------------------------------------------------------


def _imported_packages(root: Node) -> tuple[str, ...]:
    names = []
    for node in _walk(root):
        if node.type != "import_spec":
            continue
        alias, path = node.child_by_field_name("name"), text_of(node.child_by_field_name("path")).strip('"`')
        parts = path.split("/")
        if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
            parts.pop()  # `example.com/mod/v2` is package `mod`
        names.append(text_of(alias) if alias is not None else re.sub(r"[.-].*", "", parts[-1]))
    return tuple(name for name in names if name not in ("_", "."))


def _declared_locals(function: Node, rules: MutationRules) -> Counter[str]:
    declared: Counter[str] = Counter()
    for node in _walk(function):
        if node.type in rules.local_declaration_types:
            left = node.child_by_field_name("left")
            names = left.named_children if left is not None else node.children_by_field_name("name")
            declared.update(text_of(name) for name in names if name.type == "identifier" and text_of(name) != "_")
    return declared


def _mentions(name: str, text: str, suffix: str = "") -> int:
    return len(re.findall(rf"(?<![.\w]){re.escape(name)}\b{suffix}", text))  # `b.err` is a field, not `err`


def _leaves_unused_name(site: _Site, edit: Edit, mutated: bytes) -> bool:
    """Whether the edit removed the last use of a local variable or of an imported package."""
    removed = site.data[edit.start:edit.end].decode("utf-8")
    start, end = site.function.start_byte, site.function.end_byte
    before = site.data[start:end].decode("utf-8")
    after = mutated[start:end + len(mutated) - len(site.data)].decode("utf-8")
    for name, declarations in site.declared.items():
        if _mentions(name, removed) and _mentions(name, before) > declarations >= _mentions(name, after):
            return True
    text = mutated.decode("utf-8")
    return any(_mentions(name, removed, r"\.") and not _mentions(name, text, r"\.") for name in site.imports)


# --- repositories, dedupe, difficulty -------------------------------------------------------------

DEFAULT_MAX_PER_FUNCTION = 10  # more tasks from one function teach the same code again, not new code


def source_files(repo: Path, language: str) -> list[Path]:
    """The language's source files under `repo`, sorted; test files and dependency dirs left out."""
    rules = rules_for(language)
    found = []
    for directory, subdirectories, filenames in os.walk(repo):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS and d not in rules.test_dirs]
        found += [Path(directory, name) for name in filenames
                  if name.endswith(rules.extensions) and not any(fnmatch(name, g) for g in rules.test_file_globs)]
    return sorted(found, key=lambda path: path.relative_to(repo).as_posix())


def mutants_for_repo(
    repo: Path,
    language: str,
    files: Iterable[Path] | None = None,
    max_per_function: int = DEFAULT_MAX_PER_FUNCTION,
    seed: int = 0,
    stats: MutationStats | None = None,
) -> Iterator[Mutant]:
    """Mutants of a repository's functions, at most `max_per_function` each, in a fixed order.

    `files` (absolute, or relative to `repo`) default to `source_files(repo, language)`; an
    explicit list is taken as given, tests included. The same seed gives the same mutants.
    """
    rules_for(language)
    if max_per_function < 1:
        raise MutationError(f"max_per_function={max_per_function}: it must be at least 1")
    paths = source_files(repo, language) if files is None else sorted(Path(repo, f) for f in files)
    outside = [str(path) for path in paths if not path.is_relative_to(repo)]
    if outside:
        raise MutationError(f"files outside the repository {repo}: {outside[:3]}; pass paths under it")
    return _repo_mutants(repo, language, paths, max_per_function, seed, stats or MutationStats())


def _repo_mutants(repo: Path, language: str, paths: list[Path], cap: int, seed: int,
                  stats: MutationStats) -> Iterator[Mutant]:
    for path in paths:
        relative = path.relative_to(repo).as_posix()
        try:
            source = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            stats.skipped_files.append((relative, f"not UTF-8 ({error.reason} at byte {error.start})"))
            continue
        by_function: dict[str, list[Mutant]] = {}
        for mutant in mutants_for_source(source, relative, language, stats):
            by_function.setdefault(mutant.function, []).append(mutant)
        for function, mutants in by_function.items():
            kept = _capped(mutants, cap, random.Random(f"{seed}:{relative}:{function}"))
            stats.dropped_by_cap += len(mutants) - len(kept)
            yield from kept


def _capped(mutants: list[Mutant], cap: int, rng: random.Random) -> list[Mutant]:
    """At most `cap` mutants, drawn round-robin across operators so no operator crowds out the rest."""
    if len(mutants) <= cap:
        return mutants
    by_operator: dict[str, list[int]] = {}
    for index, mutant in enumerate(mutants):
        by_operator.setdefault(mutant.operator, []).append(index)
    queues = [rng.sample(indices, len(indices)) for indices in by_operator.values()]
    chosen: list[int] = []
    while len(chosen) < cap:
        chosen += [queue.pop() for queue in queues if queue][: cap - len(chosen)]
    return [mutants[index] for index in sorted(chosen)]


def dedupe(mutants: Iterable[Mutant]) -> list[Mutant]:
    """The first mutant of each (fixed file, buggy file) pair, order kept."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for mutant in mutants:
        key = (mutant.source_sha256, mutant.diff)  # same fixed file and same diff: same buggy file
        if key not in seen:
            seen.add(key)
            unique.append(mutant)
    return unique


def changed_lines(diff: str) -> int:
    """Removed plus added lines of a unified diff (one edited line counts 2)."""
    count, remaining = 0, 0
    for line in diff.splitlines():
        header = re.match(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@", line)
        if header:
            remaining = int(header[1] or 1) + int(header[2] or 1)
        elif remaining and line[:1] in ("-", "+", " "):
            remaining -= 1 if line[0] != " " else 2
            count += line[0] != " "
    return count


# Thresholds follow the GRPO curriculum (SPEC §3): one file first, then 2-3 files, then more.
EASY_MAX_DIFF_LINES = 2  # one edited line (its `-` and `+`): a slip the failing test points at
HARD_MIN_DIFF_LINES = 21  # beyond ~10 edited lines the fix is a rewrite, not a slip
HARD_MIN_FILES = 4  # 2-3 files is the curriculum's second row; more is module navigation
DIFFICULTY_LEVELS = {"easy": 1, "medium": 2, "hard": 3}  # onto `Task.difficulty` (1-4)


def difficulty_tier(diff_lines: int, failing_tests: int, files: int) -> str:
    """"easy", "medium" or "hard" from the bug's size and how many tests notice it.

    One failing test is a quiet bug (a single traceback to localise it from): it lifts a task
    one tier. Counts come from validation (`failing_tests` is the fail-to-pass count).
    """
    if diff_lines < 1 or failing_tests < 1 or files < 1:
        raise MutationError(f"difficulty of diff_lines={diff_lines}, failing_tests={failing_tests}, "
                            f"files={files}: all must be at least 1 (a task without a failing test is no task)")
    quiet = failing_tests == 1
    if files >= HARD_MIN_FILES or diff_lines >= HARD_MIN_DIFF_LINES or quiet and diff_lines > EASY_MAX_DIFF_LINES:
        return "hard"
    if files > 1 or diff_lines > EASY_MAX_DIFF_LINES or quiet:
        return "medium"
    return "easy"
