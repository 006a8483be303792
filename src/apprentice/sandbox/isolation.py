"""Which isolation this machine allows, found once by trying it, and the launch command for it.

The launch is plain util-linux, no Python in the child (so it is safe from threads and cheap):

    unshare --net --pid --mount --ipc --uts --fork --kill-child --mount-proc -- sh -c SETUP
      SETUP (pid 1 of the new pid namespace, still privileged): join the run's pids cgroup,
            build a new root from the allowlist (allowlist.py: the toolchains read-only, the
            workspace and any `writable` path read-write, a private /tmp, /dev, /proc and
            /sys, nothing else of the host), pivot_root into it; then runs
      prlimit --as --cpu --nofile --fsize --nproc --core -- setpriv (no capabilities,
            no_new_privs) -- COMMAND

Root without capabilities cannot remount, mknod, load modules or leave its cgroup, and the
read-only mounts refuse writes outside the workspace. The shell stays pid 1 so the command
gets ordinary signal semantics and orphans are reaped; when it exits, the kernel kills
everything left in the namespace. Where the allowlist cannot be built (no pivot_root, an old
mount), the host root is kept with every read-write mount remounted read-only
(`readonly-root`: writes are confined, reads are not). What could not be applied is named in
`missing`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from apprentice.errors import SandboxError
from apprentice.sandbox.allowlist import allowlist_steps, readable_paths
from apprentice.sandbox.cgroup import find_pids_hierarchy
from apprentice.sandbox.records import Limits

SETUP_FAILED = "apprentice-sandbox setup failed"
SETUP_EXIT = 125
_NAMESPACES = ("--pid", "--mount", "--ipc", "--uts", "--fork", "--kill-child", "--mount-proc",
               "--propagation", "private")
_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
            "urandom": (1, 9), "tty": (5, 0)}


@dataclass(frozen=True)
class Isolation:
    """The measures this machine allows; `unshare` is empty when no namespace is allowed."""

    unshare: tuple[str, ...]
    dev_dir: Path | None  # a private /dev of harmless devices (needs real root to create)
    sandbox_root: Path | None  # empty host dir the allowlisted root is built on; None: host root
    pids_hierarchy: Path | None
    prlimit: str | None
    setpriv: tuple[str, ...]
    missing: tuple[str, ...]

    def applied(self, limits: Limits) -> tuple[str, ...]:
        """Names of the measures in force for a run with `limits`, then the missing ones."""
        names = []
        if self.unshare:
            names += ["netns" if not limits.network else "host-network", "pidns", "mountns",
                      "ipcns", "utsns"]
            names += ["allowlist", "private-tmp"] if self.sandbox_root else ["readonly-root"]
        names += ["private-dev"] if self.dev_dir else []
        names += ["pids-cgroup"] if self.pids_hierarchy else []
        names += ["rlimits"] if self.prlimit else []
        names += ["no-capabilities"] if "--bounding-set" in self.setpriv else []
        names += ["no-new-privs"] if self.setpriv else []
        return tuple(names + ["setsid"]) + self.missing

    def launch(self, command: Sequence[str], workspace: Path, limits: Limits,
               cgroup: Path | None, writable: Sequence[Path] = (),
               readable: Sequence[Path] = ()) -> list[str]:
        """The argv that runs `command` in `workspace` under every measure available;
        `readable` is the whole read-only allowlist (`allowlist.readable_paths`)."""
        unshare = list(self.unshare)
        if unshare and not limits.network:
            unshare.insert(1, "--net")
        setup = self._setup_script(workspace, cgroup, writable, readable, limits)
        return [*unshare, "/bin/sh", "-c", setup, "apprentice-sandbox",
                *self._limited(limits), *command]

    def _setup_script(self, workspace: Path, cgroup: Path | None, writable: Sequence[Path],
                      readable: Sequence[Path], limits: Limits) -> str:
        q = shlex.quote
        steps = [f'fail() {{ echo "{SETUP_FAILED}: $1" >&2; exit {SETUP_EXIT}; }}']
        if cgroup is not None:
            steps.append(f'echo $$ > {q(str(cgroup / "cgroup.procs"))} || fail "join cgroup"')
        if self.unshare and self.sandbox_root is not None:
            steps += allowlist_steps(self.sandbox_root, workspace, writable, readable,
                                     self.dev_dir, new_netns=not limits.network,
                                     in_userns="--user" in self.unshare,
                                     tmp_bytes=limits.tmp_bytes)
        elif self.unshare:
            steps += _mount_steps(workspace, writable, self.dev_dir, new_netns=not limits.network)
        steps.append(f'cd {q(str(workspace))} || fail "cd workspace"')
        # Not exec: the shell stays pid 1 of the namespace (see the module docstring).
        steps.append('"$@"' if self.unshare else 'exec "$@"')
        return "\n".join(steps)

    def _limited(self, limits: Limits) -> list[str]:
        wrapper = []
        if self.prlimit:
            wrapper += [self.prlimit, f"--as={limits.memory_bytes}",
                        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
                        f"--nofile={limits.open_files}", f"--fsize={limits.file_size_bytes}",
                        f"--nproc={limits.processes}", "--core=0", "--"]
        if self.setpriv:
            wrapper += [*self.setpriv, "--"]
        return wrapper


def _mount_steps(workspace: Path, writable: Sequence[Path], dev_dir: Path | None,
                 new_netns: bool) -> list[str]:
    q = shlex.quote
    rw_paths = [Path(workspace), *map(Path, writable)]
    steps = [f"mount --bind {q(str(p))} {q(str(p))} || fail 'bind {p}'" for p in rw_paths]
    if dev_dir is not None:
        steps.append(f"mount --bind {q(str(dev_dir))} /dev || fail 'private /dev'")
    shm = Path(workspace) / ".sandbox" / "tmp"
    steps += [f"mount --bind {q(str(shm))} /dev/shm || fail 'private /dev/shm'",
              "mount -o remount,bind,ro /proc || fail 'read-only /proc'"]
    if new_netns:  # a fresh sysfs (only allowed in a new netns) hides the cgroup mounts too
        steps.append("mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys || fail 'fresh /sys'")
    keep = {str(p) for p in rw_paths}
    for point in writable_host_mounts():
        under_sys = point == "/sys" or point.startswith("/sys/")
        if point not in keep and (not under_sys or not new_netns):
            steps.append(f"mount -o remount,bind,ro {q(point)} || fail 'read-only {point}'")
    return steps


def writable_host_mounts() -> list[str]:
    """Read-write mount points of this mount namespace, outside /proc and /dev (which the
    sandbox replaces), deepest last."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = _unescape(fields[4])
        replaced = any(point == top or point.startswith(top + "/") for top in ("/proc", "/dev"))
        if "rw" in fields[5].split(",") and not replaced and point not in points:
            points.append(point)
    return points


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as \040 \011 \012 \134
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


@functools.cache
def detect() -> Isolation:
    """Try each isolation variant on a scratch workspace; keep the strongest that works."""
    prlimit = shutil.which("prlimit")
    missing = [] if prlimit else ["no-rlimits: prlimit (util-linux) not found"]
    pids = find_pids_hierarchy()
    if pids is None:
        missing.append("no-pids-cgroup: no writable pids cgroup; RLIMIT_NPROC only (not for root)")
    dev_dir = None
    if os.geteuid() == 0:
        try:
            dev_dir = _private_dev()
        except OSError as error:  # e.g. a container without CAP_MKNOD: keep the host /dev
            missing.append(f"no-private-dev: {error}")
    for candidate in _variants(prlimit, pids, dev_dir, _owned_dir("root")):
        failure = _try(candidate)
        if failure is None:
            return _with_missing(candidate, missing)
        missing.append(failure)
    return _with_missing(_unisolated(prlimit, pids), missing)


def _variants(prlimit: str | None, pids: Path | None, dev_dir: Path | None,
              sandbox_root: Path) -> list[Isolation]:
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if unshare is None or setpriv is None:
        return []
    drop = (setpriv, "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs")
    prefixes = [(unshare, *_NAMESPACES, "--")] if os.geteuid() == 0 else []
    prefixes.append((unshare, "--user", "--map-root-user", *_NAMESPACES, "--"))
    dev_dirs = list(dict.fromkeys([dev_dir, None]))
    return [Isolation(prefix, dev, root, pids, prlimit, drop, ())
            for prefix in prefixes for dev in dev_dirs for root in (sandbox_root, None)]


def _unisolated(prlimit: str | None, pids: Path | None) -> Isolation:
    setpriv = shutil.which("setpriv")
    missing = ("no-netns", "no-pidns: setsid'd grandchildren are killed only via the cgroup",
               "no-mountns: writes outside the workspace are not confined")
    return Isolation((), None, None, pids, prlimit,
                     (setpriv, "--no-new-privs") if setpriv else (), missing)


def _with_missing(isolation: Isolation, missing: list[str]) -> Isolation:
    return dataclasses.replace(isolation, missing=(*missing, *isolation.missing))


def _try(candidate: Isolation) -> str | None:
    """None when `candidate` runs a command that writes /dev/null and the workspace."""
    scratch = Path(tempfile.mkdtemp(prefix="apprentice-probe-"))
    try:
        (scratch / ".sandbox" / "tmp").mkdir(parents=True)
        probe = ["/bin/sh", "-c", "echo ok > /dev/null && echo ok > probe"]
        argv = candidate.launch(probe, scratch, Limits(), None,
                                readable=readable_paths(probe, os.environ))
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        if done.returncode == 0 and (scratch / "probe").exists():
            return None
        how = "userns" if "--user" in candidate.unshare else "root"
        how += "-private-dev" if candidate.dev_dir else ""
        how += "-allowlist" if candidate.sandbox_root else ""
        return f"no-{how}-namespaces: {done.stderr.strip()[-200:] or done.returncode}"
    finally:
        shutil.rmtree(scratch)


def _owned_dir(kind: str) -> Path:
    """`<tmp>/apprentice-sandbox-<kind>-<uid>`, made if missing; it must be ours (not planted)."""
    path = Path(tempfile.gettempdir()) / f"apprentice-sandbox-{kind}-{os.getuid()}"
    path.mkdir(mode=0o755, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SandboxError(f"{path} is not a directory owned by uid {os.getuid()} (someone else "
                           f"made it); remove it so the sandbox can create its private {kind}")
    return path


def _private_dev() -> Path:
    """A directory of the six harmless device nodes, bound over /dev inside the sandbox: the
    host /dev would let uid 0 (even without capabilities) write raw disks."""
    path = _owned_dir("dev")
    for name, (major, minor) in _DEVICES.items():
        if not (path / name).exists():
            with contextlib.suppress(FileExistsError):  # another process made the same node
                os.mknod(path / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
            os.chmod(path / name, 0o666)  # mknod applies the umask
    for name in ("shm", "pts"):
        (path / name).mkdir(exist_ok=True)
    for name, target in {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                         "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}.items():
        with contextlib.suppress(FileExistsError):  # made already, by us or a sibling process
            (path / name).symlink_to(target)
    return path
