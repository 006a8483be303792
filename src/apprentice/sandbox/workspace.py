"""Private copies of a repository, and the home, temp and cache directories inside them.

A workspace is a full copy, never hardlinks: a hardlinked file opened for writing in place
(by the sandboxed command, or by a grader writing a patch with `Path.write_text`) would change
the original. `cp --reflink=auto` makes the copy copy-on-write where the filesystem supports
it (btrfs, xfs) and a plain copy elsewhere (ext4), so the original is never written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from apprentice.errors import SandboxError

SANDBOX_DIR = ".sandbox"  # a dot-directory: pytest, go and tsc do not collect from it
_WRITABLE_SUBDIRS = ("home", "tmp", "cache", "config", "data", "go", "go-cache", "npm-cache")
# Variables that locate installed toolchains: kept from the caller so `cargo` (a rustup proxy),
# pyenv shims and go still find their installation once HOME points into the workspace.
_TOOLCHAIN_VARIABLES = ("PATH", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO_HOME", "GOROOT",
                        "PYENV_ROOT", "PYENV_VERSION", "JAVA_HOME", "LANG")
_TOOLCHAIN_HOME_DIRS = {"RUSTUP_HOME": ".rustup", "CARGO_HOME": ".cargo", "PYENV_ROOT": ".pyenv"}


def create_workspace(repo: Path, parent: Path | None = None) -> Path:
    """Copy `repo` into a new private directory under `parent` (default: the temp dir).

    Returns the copy's path (`<parent>/apprentice-ws-XXXX/<repo name>`). The copy carries
    `.sandbox/` (home, tmp, caches) with a `.gitignore` of `*`, so `git status` in the copy
    does not see it. The original repository is only read.
    """
    repo = Path(repo).resolve()
    if not repo.is_dir():
        raise SandboxError(f"repository {repo} is not a directory; pass the root of a checkout")
    holder = Path(tempfile.mkdtemp(prefix="apprentice-ws-", dir=parent))
    workspace = holder / (repo.name or "repo")
    _copy_tree(repo, workspace)
    sandbox_dirs(workspace)
    return workspace


def remove_workspace(workspace: Path) -> None:
    """Delete a workspace made by `create_workspace` (and the directory holding it)."""
    workspace = Path(workspace)
    holder = workspace.parent
    if not holder.name.startswith("apprentice-ws-"):
        raise SandboxError(f"{workspace} was not made by create_workspace (its parent is not "
                           f"apprentice-ws-*); remove it yourself if that is what you mean")
    shutil.rmtree(holder)


def sandbox_dirs(workspace: Path) -> dict[str, Path]:
    """Create (if needed) and return the writable directories under `<workspace>/.sandbox`."""
    root = Path(workspace) / SANDBOX_DIR
    dirs = {name: root / name for name in _WRITABLE_SUBDIRS}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    ignore = root / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return dirs


def sandbox_env(workspace: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The minimal environment of a sandboxed command: toolchain locations from the caller,
    HOME, temp dirs and every cache inside the workspace, then `extra` on top.

    Nothing else of the caller's environment (tokens, keys, proxies) is passed.
    """
    dirs = sandbox_dirs(workspace)
    env = {name: os.environ[name] for name in _TOOLCHAIN_VARIABLES if name in os.environ}
    real_home = Path(os.environ.get("HOME", str(Path.home())))
    for name, subdir in _TOOLCHAIN_HOME_DIRS.items():
        if name not in env and (real_home / subdir).is_dir():
            env[name] = str(real_home / subdir)
    env.setdefault("PATH", os.defpath)
    env.setdefault("LANG", "C.UTF-8")
    env.update(_workspace_variables(dirs))
    env.update(extra or {})
    return env


def _workspace_variables(dirs: dict[str, Path]) -> dict[str, str]:
    tmp = str(dirs["tmp"])
    return {
        "HOME": str(dirs["home"]), "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp,
        "XDG_CACHE_HOME": str(dirs["cache"]), "XDG_CONFIG_HOME": str(dirs["config"]),
        "XDG_DATA_HOME": str(dirs["data"]), "PIP_CACHE_DIR": str(dirs["cache"] / "pip"),
        "GOPATH": str(dirs["go"]), "GOCACHE": str(dirs["go-cache"]),
        "npm_config_cache": str(dirs["npm-cache"]),
        "PYTHONDONTWRITEBYTECODE": "1", "USER": "sandbox", "LOGNAME": "sandbox",
    }


def _copy_tree(source: Path, destination: Path) -> None:
    # Not --archive: ownership is not preserved, so the copy belongs to the caller and the
    # sandboxed command (the caller's uid without capabilities) can edit it.
    cp = shutil.which("cp")
    if cp is None:
        shutil.copytree(source, destination, symlinks=True)
        return
    done = subprocess.run([cp, "-R", "--reflink=auto", "--no-dereference",
                           "--preserve=mode,timestamps,links", str(source), str(destination)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SandboxError(f"copying {source} to {destination} failed: {done.stderr.strip()}; "
                           f"check the repository is readable and the parent has free space")
