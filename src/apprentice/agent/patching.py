"""Applying the model's edits: unified diffs (through `git apply`) and search/replace blocks.

A search/replace block names a file on the line before it:

    tinystats/stats.py
    <<<<<<< SEARCH
    exact lines to find
    =======
    lines to put instead
    >>>>>>> REPLACE

Each SEARCH text must occur exactly once in its file (an empty one creates a new file). Blocks
apply all or nothing: a block that does not match leaves every file as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from apprentice.grading.patch import decode_patch, summarize_patch
from apprentice.grading.workspace import apply_patch as git_apply

SEARCH_MARK = "<<<<<<< SEARCH"
_BLOCK = re.compile(
    r"^(?P<path>[^\n]*)\n<<<<<<< SEARCH[ \t]*\n(?P<search>.*?)^=======[ \t]*\n(?P<replace>.*?)^>>>>>>> REPLACE[ \t]*$",
    re.DOTALL | re.MULTILINE,
)

Confine = Callable[[str], Path]


def apply_model_patch(workspace: Path, diff: str, confine: Confine) -> tuple[tuple[str, ...], str]:
    """Apply `diff` in `workspace`; return (touched paths, '') or ((), why it did not apply).

    `confine` maps a relative path to its resolved path inside the workspace and raises
    `WorkspaceBoundaryError` for one that escapes; it is called on every path before any write.
    """
    if SEARCH_MARK in diff:
        return _apply_blocks(diff, confine)
    return _apply_unified(workspace, diff, confine)


def _apply_unified(workspace: Path, diff: str, confine: Confine) -> tuple[tuple[str, ...], str]:
    text, problem = decode_patch(diff if diff.endswith("\n") else diff + "\n")
    summary = summarize_patch(text) if not problem else None
    if summary is None or summary.problem:
        return (), problem or summary.problem
    for relative in summary.files:
        confine(relative)
    problem = git_apply(workspace, text, summary.files)
    return ((), problem) if problem else (summary.files, "")


def search_blocks(diff: str) -> list[tuple[str, str, str]]:
    """The (path, search, replace) of each search/replace block in `diff`, in order."""
    return [(block["path"].strip().strip("`").strip(), block["search"], block["replace"])
            for block in _BLOCK.finditer(diff)]


def _apply_blocks(diff: str, confine: Confine) -> tuple[tuple[str, ...], str]:
    blocks = search_blocks(diff)
    if not blocks:
        return (), (
            "search/replace block is malformed: put the file path on its own line, then "
            "<<<<<<< SEARCH, the old lines, =======, the new lines, >>>>>>> REPLACE"
        )
    edited: dict[Path, str] = {}
    names: list[str] = []
    for relative, search, replace in blocks:
        target = confine(relative)
        before = edited.get(target)
        if before is None:
            before = target.read_text(encoding="utf-8") if target.is_file() else None
        after, problem = _replace_once(relative, before, search, replace)
        if problem:
            return (), problem
        edited[target] = after
        names.append(relative)
    for target, text in edited.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return tuple(dict.fromkeys(names)), ""


def _replace_once(relative: str, before: str | None, search: str, replace: str) -> tuple[str, str]:
    if before is None:
        if search:
            return "", f"{relative!r} does not exist; an empty SEARCH section creates a new file"
        return replace, ""
    if not search:
        return "", f"{relative!r} already exists; give the lines to replace in the SEARCH section"
    count = before.count(search)
    if count != 1:
        where = "does not occur" if count == 0 else f"occurs {count} times"
        return "", f"SEARCH text {where} in {relative!r}; copy the exact lines (whitespace included), enough to be unique"
    return before.replace(search, replace, 1), ""
