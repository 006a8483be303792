"""The pinned snapshot a grade starts from, and applying a patch to a private copy of it.

The snapshot is the buggy tree and nothing else: when the task pins a commit, the tree is
exported with `git archive` (no history, so no later commit holding the fix); a workspace copied
from a plain directory has its `.git` removed for the same reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from apprentice.errors import GradingInputError
from apprentice.tasks.task import Task

APPLY_TIMEOUT_S = 60.0


def _git_env(workspace: Path) -> dict[str, str]:
    # The ceiling stops git from finding a repository above the workspace and applying there.
    return {**os.environ, "GIT_CEILING_DIRECTORIES": str(workspace.parent), "LC_ALL": "C"}


@contextlib.contextmanager
def pinned_snapshot(task: Task) -> Iterator[Path]:
    """Yield a directory holding the task's buggy tree (a temporary export when a commit is pinned)."""
    repo = Path(task.repo.path)
    if not repo.is_dir():
        raise GradingInputError(f"task '{task.id}': repository {repo} is not a directory")
    if not task.repo.commit:
        yield repo
        return
    holder = Path(tempfile.mkdtemp(prefix="apprentice-snapshot-"))
    try:
        tree = holder / repo.resolve().name
        tree.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", task.repo.commit],
            capture_output=True,
            timeout=APPLY_TIMEOUT_S,
            check=False,
        )
        if archive.returncode != 0:
            raise GradingInputError(
                f"task '{task.id}': cannot export commit {task.repo.commit} of {repo}: "
                f"{archive.stderr.decode(errors='replace').strip()}"
            )
        subprocess.run(
            ["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=APPLY_TIMEOUT_S
        )
        yield tree
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def drop_history(workspace: Path) -> None:
    """Remove git data from a workspace: the fix may sit in a later commit of the same repository."""
    for git_dir in [workspace / ".git", *workspace.glob("*/.git")]:
        if git_dir.is_dir() and not git_dir.is_symlink():
            shutil.rmtree(git_dir)
        elif git_dir.exists() or git_dir.is_symlink():
            git_dir.unlink()


def apply_patch(workspace: Path, text: str, files: tuple[str, ...]) -> str:
    """Apply `text` with `git apply` inside `workspace`; return '' on success, else why it failed."""
    strip = "-p1" if text.lstrip().startswith("diff --git") or "\n+++ b/" in f"\n{text}" else "-p0"
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", strip, "-"],
        cwd=workspace,
        input=text.encode("utf-8"),
        capture_output=True,
        timeout=APPLY_TIMEOUT_S,
        env=_git_env(workspace),
        check=False,
    )
    if result.returncode != 0:
        return f"patch does not apply: {result.stderr.decode(errors='replace').strip()[:2000]}"
    return escaped_path(workspace, files)


def escaped_path(workspace: Path, files: tuple[str, ...]) -> str:
    """Why a patched path now points outside the workspace (through a symlink), or ''."""
    root = workspace.resolve()
    for relative in files:
        target = workspace / relative
        if target.is_symlink():
            return f"patched path '{relative}' is a symlink; symlinks are not accepted"
        if target.exists() and not target.resolve().is_relative_to(root):
            return f"patched path '{relative}' resolves outside the repository"
    return ""
