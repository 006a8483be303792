"""Which files and which functions a commit's code change touched (tree-sitter), per task.

Recorded on each mined task (`changed_files`, `changed_symbols`) so per-role datasets can be derived later: *scope* (which files
an agent must find) and *precision* (which symbols it must change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apprentice.tasks.mutation.engine import parser_for, rules_for
from apprentice.tasks.mutation.operators import function_units

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class ChangeScope:
    """A commit's code footprint: the fix's files and qualified function names (`Class.method`)."""

    files: tuple[str, ...]
    functions: tuple[str, ...]  # "path::qualified.name", sorted


def touched_lines(file_diff: str) -> tuple[set[int], set[int]]:
    """(old line numbers removed, new line numbers added) of one file's unified diff."""
    old, new = set(), set()
    old_line = new_line = 0
    for line in file_diff.splitlines():
        header = _HUNK.match(line)
        if header:
            old_line, new_line = int(header[1]), int(header[3])
        elif line.startswith("-") and not line.startswith("---"):
            old.add(old_line)
            old_line += 1
        elif line.startswith("+") and not line.startswith("+++"):
            new.add(new_line)
            new_line += 1
        elif line.startswith(" "):
            old_line, new_line = old_line + 1, new_line + 1
    return old, new


def functions_touching(source: str, lines: set[int], language: str) -> set[str]:
    """Qualified names of the functions in `source` whose span covers any of `lines` (1-based)."""
    if not lines or not source:
        return set()
    root = parser_for(language).parse(source.encode("utf-8")).root_node
    names = set()
    for function, name in function_units(root, rules_for(language)):
        first, last = function.start_point[0] + 1, function.end_point[0] + 1
        if any(first <= line <= last for line in lines):
            names.add(name)
    return names


def split_file_diffs(text: str) -> dict[str, str]:
    """A multi-file `git diff` cut into path -> that file's part."""
    parts: dict[str, str] = {}
    for chunk in re.split(r"(?m)^(?=diff --git )", text):
        match = re.match(r"diff --git a/(\S+) b/(\S+)", chunk)
        if match:
            parts[match[2]] = chunk
    return parts
