"""Read a unified diff before it touches anything: files, size, added lines, and why it is refused.

A patch is refused (a clear `error`, never an exception) when it is empty, not UTF-8, enormous,
binary, creates a symlink, or names a path that escapes the repository (`../`, absolute, `.git`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

MAX_PATCH_BYTES = 1 << 20  # 1 MiB: far above any honest fix (SPEC §7 median target is 50 lines)

_DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)")
_FILE_HEADER = re.compile(r"^(---|\+\+\+) (\S+)")
_SYMLINK_MODE = re.compile(r"^(new file mode|new mode|old mode|deleted file mode) 120000")


@dataclass(frozen=True)
class PatchSummary:
    """What a patch changes: touched paths, changed line count, added lines per path, refusal reason."""

    files: tuple[str, ...] = ()
    diff_lines: int = 0
    added: dict[str, list[str]] = field(default_factory=dict)
    problem: str = ""  # empty: the patch may be applied


def decode_patch(patch: str | bytes) -> tuple[str, str]:
    """The patch as text, and a problem ('' when fine): bytes must be UTF-8, size at most 1 MiB."""
    if isinstance(patch, bytes):
        if len(patch) > MAX_PATCH_BYTES:
            return "", f"patch is {len(patch)} bytes, over the {MAX_PATCH_BYTES}-byte limit"
        try:
            patch = patch.decode("utf-8")
        except UnicodeDecodeError as error:
            return "", f"patch is not UTF-8 text ({error.reason} at byte {error.start})"
    if len(patch.encode("utf-8")) > MAX_PATCH_BYTES:
        return "", f"patch is over the {MAX_PATCH_BYTES}-byte limit"
    if not patch.strip():
        return "", "patch is empty"
    return patch, ""


def path_problem(path: str) -> str:
    """Why `path` may not be patched ('' when it may): absolute, `..`, `.git`, or empty."""
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return f"patch path '{path}' is absolute; paths must stay inside the repository"
    parts = PurePosixPath(path).parts
    if not parts or ".." in parts:
        return f"patch path '{path}' escapes the repository"
    if ".git" in parts:
        return f"patch path '{path}' writes into git data"
    return ""


def _strip_prefix(raw: str) -> str | None:
    if raw == "/dev/null":
        return None
    return raw[2:] if raw[:2] in ("a/", "b/") else raw


def summarize_patch(text: str) -> PatchSummary:
    """Parse `text` (git or plain unified diff) into a `PatchSummary`; `problem` says why it is refused."""
    files: list[str] = []
    added: dict[str, list[str]] = {}
    changed, current = 0, ""
    for line in text.splitlines():
        if line.startswith("GIT binary patch") or (
            line.startswith("Binary files ") and line.endswith("differ")
        ):
            return PatchSummary(problem="binary patches are not accepted; send text diffs only")
        if _SYMLINK_MODE.match(line):
            return PatchSummary(problem="patch creates or changes a symlink; symlinks are not accepted")
        header = _DIFF_GIT.match(line) or _FILE_HEADER.match(line)
        if header:
            paths = header.groups()[1:] if line.startswith("diff --git") else (header.group(2),)
            for raw in paths:
                path = _strip_prefix(raw)
                if path is not None and path not in files:
                    files.append(path)
                current = path or current
            continue
        if line.startswith("+"):
            changed += 1
            added.setdefault(current, []).append(line[1:])
        elif line.startswith("-"):
            changed += 1
    problems = [path_problem(path) for path in files if path_problem(path)]
    if not files:
        problems.append("patch names no files; expected a unified diff with ---/+++ headers")
    return PatchSummary(tuple(files), changed, added, problems[0] if problems else "")
