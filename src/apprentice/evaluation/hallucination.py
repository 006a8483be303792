"""Hallucinated APIs: calls and imports a patch adds that resolve nowhere (SPEC §7).

    check = check_patch(patch, repo_dir, "python")   # ApiCheck(calls=(...), hallucinated=(...))

The patch is applied in memory to the task's snapshot (it was made against exactly that tree),
then only the calls and imports on *added* lines are looked at: exactly where it can be for Python
(`hallucination_python.py`, with `ast` and the standard library itself), by a heuristic for Rust,
TypeScript and Go (`hallucination_tree_sitter.py`: a name mentioned nowhere in the repository).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from apprentice.errors import EvaluationError
from apprentice.evaluation.hallucination_python import python_calls
from apprentice.evaluation.hallucination_tree_sitter import TreeSitterIndex, tree_sitter_calls


@dataclass(frozen=True)
class ApiCheck:
    """The calls/imports a patch adds (as written) and those among them that resolve nowhere."""

    calls: tuple[str, ...]
    hallucinated: tuple[str, ...]


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
_EXTENSIONS = {"python": (".py",), "rust": (".rs",), "go": (".go",), "typescript": (".ts", ".tsx", ".mts", ".cts")}


def check_patch(patch: str, repo_dir: Path, language: str) -> ApiCheck:
    """The calls/imports `patch` adds to the snapshot at `repo_dir`, and the hallucinated ones."""
    if language not in _EXTENSIONS:
        raise EvaluationError(f"no API check for language '{language}' (known: {', '.join(_EXTENSIONS)})")
    files = {path: value for path, value in patched_files(patch, repo_dir).items()
             if path.endswith(_EXTENSIONS[language])}
    if not files:
        return ApiCheck((), ())
    if language == "python":
        found = python_calls(files, repo_dir)
    else:
        found = tree_sitter_calls(TreeSitterIndex(language, repo_dir, _EXTENSIONS[language]), files)
    calls = tuple(dict.fromkeys(name for name, _ in found))
    return ApiCheck(calls, tuple(dict.fromkeys(name for name, bad in found if bad)))


def patched_files(patch: str, repo_dir: Path) -> dict[str, tuple[str, set[int]]]:
    """``{path: (patched text, 1-based numbers of the added lines)}`` for each file the patch keeps."""
    result: dict[str, tuple[str, set[int]]] = {}
    for path, hunks in _file_hunks(patch).items():
        original = repo_dir / path
        old = original.read_text(encoding="utf-8", errors="replace").splitlines() if original.is_file() else []
        result[path] = _apply_hunks(old, hunks)
    return result


def _file_hunks(patch: str) -> dict[str, list[tuple[int, list[str]]]]:
    files: dict[str, list[tuple[int, list[str]]]] = {}
    current: list | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            current = None if target == "/dev/null" else files.setdefault(target.removeprefix("b/"), [])
        elif line.startswith("--- ") or line.startswith("diff --git"):
            continue
        elif (match := _HUNK.match(line)) and current is not None:
            current.append((int(match[1]), []))
        elif current and line[:1] in (" ", "+", "-", "\\"):
            current[-1][1].append(line)
    return files


def _apply_hunks(old: list[str], hunks: list[tuple[int, list[str]]]) -> tuple[str, set[int]]:
    new: list[str] = []
    added: set[int] = set()
    cursor = 0  # index into `old` of the next line not yet copied
    for start, lines in hunks:
        # A hunk of a new file starts at line 0; git numbers lines from 1 otherwise.
        new.extend(old[cursor:max(start - 1, 0)])
        cursor = max(start - 1, 0)
        for line in lines:
            if line.startswith("+"):
                new.append(line[1:])
                added.add(len(new))
            elif line.startswith(" "):
                new.append(line[1:])
                cursor += 1
            elif line.startswith("-"):
                cursor += 1
    new.extend(old[cursor:])
    return "\n".join(new) + "\n", added


# --- python -------------------------------------------------------------------------------------
