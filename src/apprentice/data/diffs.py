"""The gold fix of a task, and what it touches: read from the task's bug diff (fixed -> buggy).

A task stores its bug as the diff that *introduced* it, so the fix is that diff reversed. The
reversal walks each hunk by its line counts, so headers of a second file are never mistaken for
changed lines (multi-file bugs come from mined commits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apprentice.errors import DataError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


@dataclass(frozen=True)
class FixSummary:
    """The files a fix touches, the changed line count, and the enclosing functions git names."""

    files: tuple[str, ...]
    changed_lines: int
    functions: tuple[str, ...]  # the text after the second @@ of each hunk, deduplicated
    # Per hunk: (file, first line, last line) on the side the fix starts from (the buggy file).
    windows: tuple[tuple[str, int, int], ...] = ()


def fix_from_bug(bug: str) -> str:
    """The unified diff that undoes `bug` (swap -/+ lines, the hunk ranges and the file headers)."""
    lines = bug.splitlines(keepends=True)
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            out += _swapped_headers(line[4:].rstrip("\n"), lines[index + 1][4:].rstrip("\n"))
            index += 2
            continue
        if line.startswith(("new file mode", "deleted file mode")):
            kind = "deleted" if line.startswith("new") else "new"
            out.append(f"{kind} file mode{line.split('file mode', 1)[1]}")
            index += 1
            continue
        match = _HUNK.match(line.rstrip("\n"))
        if match is None:
            out.append(line)
            index += 1
            continue
        old_start, old_count, new_start, new_count, tail = match.groups()
        old_count, new_count = old_count or "1", new_count or "1"
        out.append(f"@@ -{new_start},{new_count} +{old_start},{old_count} @@{tail}\n")
        index = _reverse_hunk_body(lines, index + 1, int(old_count), int(new_count), out)
    return "".join(out)


def _swapped_headers(old: str, new: str) -> list[str]:
    """`--- a/X` / `+++ b/Y` of the reversed diff: the paths trade places, the a/ b/ prefixes stay."""

    def bare(path: str, prefix: str) -> str:
        return path[2:] if path.startswith(prefix) else path

    prefixed = old.startswith("a/") or new.startswith("b/")
    old_path, new_path = bare(old, "a/"), bare(new, "b/")

    def named(path: str, prefix: str) -> str:
        return path if path == "/dev/null" or not prefixed else prefix + path

    return [f"--- {named(new_path, 'a/')}\n", f"+++ {named(old_path, 'b/')}\n"]


def _reverse_hunk_body(lines: list[str], index: int, old_left: int, new_left: int, out: list[str]) -> int:
    removed: list[str] = []  # lines the fix removes (the bug's additions), emitted before...
    added: list[str] = []  # ...the lines it adds, as diff tools order a change block
    while index < len(lines) and (old_left > 0 or new_left > 0 or lines[index].startswith("\\")):
        line = lines[index]
        marker = line[:1]
        if marker == "-":
            added.append("+" + line[1:])
            old_left -= 1
        elif marker == "+":
            removed.append("-" + line[1:])
            new_left -= 1
        elif marker in (" ", "\n", "\\"):
            out += removed + added + [line]
            removed, added = [], []
            if marker != "\\":
                old_left, new_left = old_left - 1, new_left - 1
        else:
            raise DataError(f"bug diff line {index + 1} is not part of a hunk: {line!r:.80}; is the diff truncated?")
        index += 1
    out += removed + added
    return index


def summarize_fix(fix: str) -> FixSummary:
    """Files, changed lines and enclosing function contexts of a unified diff."""
    files: list[str] = []
    functions: list[str] = []
    windows: list[tuple[str, int, int]] = []
    changed, old_path = 0, ""
    for line in fix.splitlines():
        if line.startswith("+++ "):
            path = line[4:].strip()
            path = path[2:] if path.startswith("b/") else path
            if path != "/dev/null" and path not in files:
                files.append(path)
        elif line.startswith("--- "):
            old_path = line[4:].strip()
            old_path = "" if old_path == "/dev/null" else old_path[2:] if old_path.startswith("a/") else old_path
        elif (match := _HUNK.match(line)) is not None:
            start, count = int(match.group(1)), int(match.group(2) or "1")
            if old_path:  # a file the fix creates has nothing to read yet
                windows.append((old_path, start, start + max(count, 1) - 1))
            context = match.group(5).strip()
            if context and context not in functions:
                functions.append(context)
        elif line[:1] in ("+", "-"):
            changed += 1
    if not files:
        raise DataError(f"diff names no files (expected ---/+++ headers): {fix[:80]!r}")
    return FixSummary(tuple(files), changed, tuple(functions), tuple(windows))
