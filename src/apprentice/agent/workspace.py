"""The agent's private workspace: a copy of the task's pinned snapshot, and its diff against it.

The copy gets a throwaway git repository holding one commit of the snapshot as it was, so the
agent's edits come back as a unified diff (`workspace_diff`) that grading applies to a fresh
copy of the same snapshot. The snapshot's own history was dropped first: no later commit with
the fix is reachable from the workspace.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from apprentice.errors import SandboxError
from apprentice.grading.workspace import drop_history, pinned_snapshot
from apprentice.sandbox import create_workspace, remove_workspace
from apprentice.tasks.task import Task

_GIT_TIMEOUT_S = 60.0
# Directories the agent's tools never show or touch: the baseline repository and the sandbox's home.
HIDDEN_DIRS = (".git", ".sandbox")


@contextlib.contextmanager
def episode_workspace(task: Task) -> Iterator[Path]:
    """Yield a private, writable copy of the task's snapshot with a baseline commit; removed after."""
    with pinned_snapshot(task) as snapshot:
        workspace = create_workspace(snapshot)
    try:
        drop_history(workspace)
        _git(workspace, "init", "-q")
        _git(workspace, "add", "-A")
        _git(workspace, "commit", "-q", "--allow-empty", "-m", "snapshot")
        yield workspace
    finally:
        remove_workspace(workspace)


def workspace_diff(workspace: Path) -> str:
    """The unified diff (a/ b/ prefixes) from the snapshot to the workspace as it is now, '' if unchanged."""
    _git(workspace, "add", "-A")
    return _git(workspace, "diff", "--cached", "--no-color", "--no-ext-diff", "HEAD")


def _git(workspace: Path, *arguments: str) -> str:
    env = {
        **os.environ,
        "GIT_CEILING_DIRECTORIES": str(workspace.parent),
        "GIT_AUTHOR_NAME": "apprentice", "GIT_AUTHOR_EMAIL": "apprentice@localhost",
        "GIT_COMMITTER_NAME": "apprentice", "GIT_COMMITTER_EMAIL": "apprentice@localhost",
        "LC_ALL": "C",
    }
    done = subprocess.run(
        ["git", "-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", *arguments],
        cwd=workspace, capture_output=True, text=True, env=env, timeout=_GIT_TIMEOUT_S, check=False,
    )
    if done.returncode != 0:
        raise SandboxError(f"git {' '.join(arguments)} failed in workspace {workspace}: {done.stderr.strip()}")
    return done.stdout
