"""Run one untrusted command against a private workspace, safely; and a pool of them.

    workspace = create_workspace(repo)
    result = run_sandboxed(["python", "-m", "pytest", "-q"], workspace, Limits(wall_seconds=30))
    remove_workspace(workspace)

See docs/sandbox.md for the isolation model and what happens where the kernel allows less.
"""

from apprentice.sandbox.isolation import Isolation, detect
from apprentice.sandbox.pool import SandboxFailure, SandboxPool
from apprentice.sandbox.records import Limits, SandboxResult
from apprentice.sandbox.run import run_sandboxed
from apprentice.sandbox.workspace import create_workspace, remove_workspace, sandbox_env

__all__ = [
    "Isolation", "Limits", "SandboxFailure", "SandboxPool", "SandboxResult", "create_workspace",
    "detect", "remove_workspace", "run_sandboxed", "sandbox_env",
]
