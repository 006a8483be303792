"""What of the host a sandboxed command may see: an allowlist, bound into an empty root.

Read-only: the system directories, a handful of /etc entries (dynamic linker, users, name
service, certificates), the Python interpreter (`sys.prefix`, `sys.base_prefix`, the paths its
`.pth` files add), the toolchain homes named in the command's environment (`RUSTUP_HOME`,
`CARGO_HOME`, `PYENV_ROOT`, `GOROOT`, `JAVA_HOME`), the installation the command's executable
belongs to, and whatever the caller passes as `readable`. Read-write: the workspace and the
caller's `writable` paths. Private: /tmp (a fresh tmpfs), /dev, /proc, /sys. Nothing else of
the host exists inside: not /work, /root, /home, run directories or task stores.

Everything is bound at its host path, so absolute paths (the workspace, `sys.executable`, the
tools `shutil.which` found) mean the same inside and out.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import site
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from apprentice.errors import SandboxError

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs read from /etc: the dynamic linker, users and groups (getpwuid), name service
# and resolver configuration, time zone, TLS roots. Not the rest (shadow, ssh keys, pip.conf,
# npmrc, gitconfig: credentials and the host's configuration).
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
               "hosts", "host.conf", "resolv.conf", "gai.conf", "protocols", "services",
               "localtime", "timezone", "mime.types", "os-release", "alternatives",
               "ca-certificates", "ca-certificates.conf", "ssl/certs", "ssl/openssl.cnf")
TOOLCHAIN_VARIABLES = ("RUSTUP_HOME", "CARGO_HOME", "PYENV_ROOT", "GOROOT", "JAVA_HOME")


def readable_paths(command: Sequence[str], env: Mapping[str, str],
                   readable: Sequence[Path] = ()) -> list[Path]:
    """The host paths bound read-only for `command` run with `env`, outermost only, sorted.

    Raises SandboxError for a `readable` path that is not a directory or is the whole root.
    """
    for path in readable:
        if not Path(path).is_dir() or Path(path).resolve() == Path("/"):
            raise SandboxError(f"readable path {path} does not exist, is not a directory or is "
                               f"'/'; pass the directory of one toolchain (e.g. ~/.rustup)")
    found = [*_system_dirs(), *_python_paths(), *map(Path, readable)]
    found += [Path(env[name]) for name in TOOLCHAIN_VARIABLES if env.get(name)]
    found += _executable_roots(command[0], env.get("PATH", os.defpath))
    # A symlinked path is bound where it is named and where it points (/bin -> /usr/bin).
    return _outermost(p for path in found if path.is_dir() for p in (path, path.resolve()))


@functools.cache
def etc_entries() -> tuple[tuple[Path, bool], ...]:
    """The /etc entries that exist here, each with whether it is a directory."""
    paths = [Path("/etc", name) for name in ETC_ENTRIES]
    return tuple((path, path.is_dir()) for path in paths if path.exists())


@functools.cache
def _system_dirs() -> tuple[Path, ...]:
    return tuple(Path(name) for name in SYSTEM_DIRS if Path(name).is_dir())


@functools.cache
def _python_paths() -> tuple[Path, ...]:
    """The interpreter's prefixes and the directories its site-packages' `.pth` files add
    (an editable install's source tree), so `python -m pytest` and `-m apprentice...` work."""
    paths = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    for packages in site.getsitepackages():
        for pth in sorted(Path(packages).glob("*.pth")):
            for line in pth.read_text(errors="replace").splitlines():
                line = line.strip()
                if line and not line.startswith(("#", "import ", "import\t")):
                    paths.add((Path(packages) / line).resolve())
    return tuple(paths)


def _executable_roots(executable: str, search_path: str) -> list[Path]:
    """The installation `executable` belongs to, as found on `search_path` and as resolved."""
    found = shutil.which(executable, path=search_path)
    if found is None:
        return []
    candidates = dict.fromkeys([Path(os.path.abspath(found)), Path(found).resolve()])
    return [root for root in map(_install_root, candidates) if root is not None]


def _install_root(executable: Path) -> Path | None:
    """The folder holding the outermost node_modules above `executable`, else the prefix above
    its bin/ (a venv, ~/.cargo), else its own directory; None where that would be / or a home."""
    parents = executable.parents
    modules = [p for p in parents if p.name == "node_modules"]
    root = modules[-1].parent if modules else executable.parent
    if not modules and root.name in ("bin", "sbin"):
        root = root.parent
    homes = {Path.home(), Path("/root"), *Path("/home").glob("*")}
    if root == Path("/") or any(home == root or home.is_relative_to(root) for home in homes):
        root = executable.parent
    return None if root == Path("/") or root in homes else root


def _outermost(paths) -> list[Path]:
    """Absolute, deduplicated, sorted; a path inside another one is dropped (already bound)."""
    kept: list[Path] = []
    for path in sorted({Path(os.path.abspath(p)) for p in paths}):
        if not any(path.is_relative_to(outer) for outer in kept):
            kept.append(path)
    return kept


def allowlist_steps(root: Path, workspace: Path, writable: Sequence[Path], readable: Sequence[Path],
                    dev_dir: Path | None, new_netns: bool, in_userns: bool, tmp_bytes: int) -> list[str]:
    """Shell steps (run by the privileged pid 1, `fail` defined) that mount a tmpfs on the empty
    host directory `root`, build the sandbox's file system in `root`/fs from a mount table
    written next to it (one `mount -a`: a few execs, whatever the number of paths), then
    `pivot_root` into it and detach the host's root.

    Inside a user namespace binds are recursive: the kernel refuses a plain bind of a mount
    with locked submounts. As real root they are not, so a host submount stays hidden.
    """
    q = shlex.quote
    fs = root / "fs"
    rw = [Path(workspace), *map(Path, writable)]
    ro = [path for path in readable if not any(path.is_relative_to(w) for w in rw)]
    under_tmp = [p for p in (*ro, *rw) if p.is_relative_to("/tmp")]
    # Made before the root turns read-only; those under /tmp come with its tmpfs (X-mount.mkdir).
    files = [path for path, is_dir in etc_entries() if not is_dir]
    folders = [Path(name) for name in ("/.old", "/tmp", "/proc", "/sys", "/dev", "/etc")]
    folders += [path for path, is_dir in etc_entries() if is_dir] + [f.parent for f in files]
    folders += [path for path in (*ro, *rw) if path not in under_tmp]
    table = _mount_table(fs, ro, rw, dev_dir, Path(workspace), new_netns, in_userns, tmp_bytes)
    steps = [f"mount -t tmpfs -o mode=755,size=1m apprentice-sandbox {q(str(root))} "
             f"|| fail 'sandbox root tmpfs'",
             "mkdir -p " + " ".join(q(str(fs / f.relative_to("/"))) for f in dict.fromkeys(folders))
             + " || fail 'mount points'"]
    steps += [f": > {q(str(fs / f.relative_to('/')))} || fail 'mount point {f}'" for f in files]
    steps.append("printf '%s\\n' " + " ".join(map(q, table)) + f" > {q(str(root / 'fstab'))}")
    steps += [f"mount -a -T {q(str(root / 'fstab'))} || fail 'allowlist mounts'",
              f"cd {q(str(fs))} && pivot_root . .old || fail 'pivot_root'",
              "cd / && umount -l /.old || fail 'detach the host root'"]
    return steps


def _mount_table(fs: Path, ro: Sequence[Path], rw: Sequence[Path], dev_dir: Path | None,
                 workspace: Path, new_netns: bool, in_userns: bool, tmp_bytes: int) -> list[str]:
    """fstab lines, in mount order: the root read-only, /tmp, the allowlist, /dev, /proc, /sys."""
    bind = "rbind" if in_userns else "bind"

    def line(source, target: Path, kind: str, options: str) -> str:
        return f"{_fstab_field(str(source))} {_fstab_field(str(fs / target.relative_to('/')))} " \
               f"{kind} {options} 0 0"

    lines = [line(fs, Path("/"), "none", "bind,ro"),
             line("tmpfs", Path("/tmp"), "tmpfs", f"mode=1777,size={tmp_bytes},nosuid,nodev")]
    lines += [line(path, path, "none", f"{bind},ro") for path, _ in etc_entries()]
    lines += [line(path, path, "none", f"{bind},ro,X-mount.mkdir") for path in ro]
    lines += [line(path, path, "none", "bind,X-mount.mkdir") for path in rw]
    lines.append(line(dev_dir, Path("/dev"), "none", "bind") if dev_dir is not None
                 else line("/dev", Path("/dev"), "none", "rbind"))
    lines += [line(workspace / ".sandbox" / "tmp", Path("/dev/shm"), "none", "bind"),
              line("/proc", Path("/proc"), "none", "bind,ro")]
    if new_netns:  # a fresh sysfs (only allowed in a new netns) shows no cgroup mounts
        lines.append(line("sysfs", Path("/sys"), "sysfs", "ro,nosuid,nodev,noexec"))
    else:
        lines.append(line("/sys", Path("/sys"), "none", f"{bind},ro"))
    return lines


def _fstab_field(text: str) -> str:
    # fstab separates fields by blanks: octal escapes as in mountinfo
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)
