"""A pids cgroup per sandboxed run: the limit that holds a fork bomb even for root.

RLIMIT_NPROC is not enforced for root, and this project runs as root; a cgroup's `pids.max`
is enforced for everyone. The cgroup also lists every process of the run, so the sandbox can
kill all of them afterwards even when no pid namespace was available.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from pathlib import Path

from apprentice.errors import SandboxError

_PREFIX = "apprentice-sandbox-"
_counter = itertools.count()


def find_pids_hierarchy() -> Path | None:
    """The directory of this process's cgroup in a writable pids hierarchy, or None.

    Tries cgroup v1 (a `pids` hierarchy) then v2 (`pids` enabled in our subtree_control), and
    keeps the first where a child cgroup can really be created and limited.
    """
    for candidate in _candidate_dirs():
        if _can_limit_children(candidate):
            return candidate
    return None


def create_run_cgroup(hierarchy: Path, max_processes: int) -> Path:
    """Create a fresh child cgroup of `hierarchy` whose `pids.max` is `max_processes`."""
    path = hierarchy / f"{_PREFIX}{os.getpid()}-{next(_counter)}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(max_processes))
    except OSError as error:
        raise SandboxError(f"cannot create pids cgroup {path}: {error}; check {hierarchy} is "
                           f"writable or run without the cgroup (fork bombs are then unbounded)") from error
    return path


def release_run_cgroup(path: Path, timeout_s: float = 10.0) -> None:
    """Kill whatever is still in the run's cgroup, wait until it is empty, remove it."""
    deadline = time.monotonic() + timeout_s
    while True:
        pids = _member_pids(path)
        if not pids:
            try:
                path.rmdir()
                return
            except OSError:  # EBUSY: members are exiting but not yet gone; try again below
                pass
        if time.monotonic() > deadline:
            raise SandboxError(f"processes {pids} of a sandboxed run survived {timeout_s}s of "
                               f"SIGKILL in cgroup {path}; kill them by pid and remove it")
        kill_members(path)
        time.sleep(0.005)


def kill_members(path: Path) -> None:
    """SIGKILL every process now in the run's cgroup (those that left the process group too)."""
    for pid in _member_pids(path):
        _kill(pid)


def _member_pids(path: Path) -> list[int]:
    try:
        return [int(line) for line in (path / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # exited between listing and killing
        os.kill(pid, signal.SIGKILL)


def _candidate_dirs() -> list[Path]:
    own = _own_cgroups()
    candidates = []
    for mount_point, fstype, options in _cgroup_mounts():
        if fstype == "cgroup" and "pids" in options.split(",") and "pids" in own:
            candidates.append(Path(mount_point) / own["pids"].lstrip("/"))
        elif fstype == "cgroup2" and "" in own:
            directory = Path(mount_point) / own[""].lstrip("/")
            control = directory / "cgroup.subtree_control"
            if control.exists() and "pids" in control.read_text().split():
                candidates.append(directory)
    return candidates


def _own_cgroups() -> dict[str, str]:
    """Controller name -> this process's cgroup path ("" is the v2 unified hierarchy)."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            own[controller] = path
    return own


def _cgroup_mounts() -> list[tuple[str, str, str]]:
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        fstype, super_options = fields[separator + 1], fields[separator + 3]
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fields[4], fstype, super_options))
    return mounts


def _can_limit_children(directory: Path) -> bool:
    try:
        path = create_run_cgroup(directory, 1)
    except SandboxError:
        return False
    path.rmdir()
    return True
