"""The file tools: read, list, search, write and patch, each confined to the workspace.

Every path goes through `confined_path`: absolute paths, `..` escapes, symlinks that resolve
outside the workspace, and the hidden `.git`/`.sandbox` directories raise
`WorkspaceBoundaryError`, which the tool box turns into a result the model can see.
Failures that are the model's (a missing file, a bad regex, a patch that does not apply) raise
`ToolInputError` for the same treatment.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from apprentice.agent.patching import apply_model_patch
from apprentice.agent.workspace import HIDDEN_DIRS
from apprentice.errors import ApprenticeError, WorkspaceBoundaryError

MAX_LISTED_FILES = 2000  # far above a task repository; output truncation shortens it further
MAX_SEARCH_HITS = 200


class ToolInputError(ApprenticeError):
    """A tool call the model got wrong (missing file, bad regex, unappliable patch): shown to the model."""


def confined_path(workspace: Path, relative: str) -> Path:
    """The resolved path of `relative` inside `workspace`; `WorkspaceBoundaryError` if it leaves it."""
    if not relative or PurePosixPath(relative).is_absolute() or re.match(r"^[A-Za-z]:", relative):
        raise WorkspaceBoundaryError(
            f"path {relative!r} is empty or absolute; give a path relative to the repository root"
        )
    root = workspace.resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise WorkspaceBoundaryError(f"path {relative!r} resolves outside the workspace; stay inside the repository")
    if any(part in HIDDEN_DIRS for part in target.relative_to(root).parts):
        raise WorkspaceBoundaryError(f"path {relative!r} is inside {'/'.join(HIDDEN_DIRS)}, which tools do not touch")
    return target


def read_file(workspace: Path, path: str, start: int | None = None, end: int | None = None) -> str:
    """The text of a file, or lines `start`..`end` of it (1-based, inclusive)."""
    target = confined_path(workspace, path)
    if not target.is_file():
        raise ToolInputError(f"{path!r} is not a file; use list_files to see what exists")
    lines = target.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    first = max(1, start or 1)
    last = len(lines) if end is None else min(end, len(lines))
    if first > last and lines:
        raise ToolInputError(f"lines {first}..{last} are outside {path!r}, which has {len(lines)} lines")
    return "".join(lines[first - 1:last])


def list_files(workspace: Path, directory: str = ".") -> str:
    """Files under `directory`, one relative path a line, sorted; hidden tool directories left out."""
    root = workspace.resolve()
    target = root if directory in ("", ".", "./") else confined_path(workspace, directory)
    if not target.is_dir():
        raise ToolInputError(f"{directory!r} is not a directory; use list_files('.') to see the repository")
    listed = sorted(str(path.relative_to(root)) for path in _visible_files(root, target))
    return "\n".join(listed[:MAX_LISTED_FILES]) or "(no files)"


def search(workspace: Path, pattern: str) -> str:
    """Lines matching the regular expression `pattern`, as `path:line: text`."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise ToolInputError(f"pattern {pattern!r} is not a valid regular expression ({error})") from error
    root, hits = workspace.resolve(), []
    for path in sorted(_visible_files(root, root)):
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if regex.search(line):
                hits.append(f"{path.relative_to(root)}:{number}: {line}")
            if len(hits) >= MAX_SEARCH_HITS:
                return "\n".join(hits) + f"\n[stopped after {MAX_SEARCH_HITS} matches]"
    return "\n".join(hits) or f"no line matches {pattern!r}"


def write_file(workspace: Path, path: str, content: str) -> str:
    """Write `content` to `path` (parents created), replacing what was there."""
    target = confined_path(workspace, path)
    if target.is_dir():
        raise ToolInputError(f"{path!r} is a directory; give a file path")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return f"wrote {len(content.splitlines())} lines to {path}"


def apply_patch(workspace: Path, diff: str) -> str:
    """Apply a unified diff or search/replace blocks; every touched path is confined first."""
    files, problem = apply_model_patch(workspace, diff, lambda relative: confined_path(workspace, relative))
    if problem:
        raise ToolInputError(problem)
    return f"patch applied to {', '.join(files)}"


def _visible_files(root: Path, directory: Path):
    for path in directory.rglob("*"):
        relative = path.relative_to(root)
        if any(part in HIDDEN_DIRS for part in relative.parts) or path.is_symlink() or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            continue  # under a symlinked directory that leads out of the workspace
        yield path
