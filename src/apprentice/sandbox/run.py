"""Run one untrusted command in a workspace: limits, capped output, a wall clock that kills."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from apprentice.errors import SandboxError
from apprentice.sandbox.allowlist import readable_paths
from apprentice.sandbox.cgroup import create_run_cgroup, kill_members, release_run_cgroup
from apprentice.sandbox.isolation import SETUP_EXIT, SETUP_FAILED, detect
from apprentice.sandbox.records import Limits, SandboxResult
from apprentice.sandbox.workspace import sandbox_env

_CHUNK = 64 * 1024
_DRAIN_GRACE_S = 2.0  # after a kill, how long to keep reading what the dying tree wrote


@dataclass(frozen=True)
class _Captured:
    returncode: int | None
    stdout: bytes
    stderr: bytes
    truncated: bool
    timed_out: bool
    duration_s: float


def run_sandboxed(command: Sequence[str], workspace: Path, limits: Limits | None = None,
                  env: Mapping[str, str] | None = None, stdin: str | None = None,
                  writable: Sequence[Path] = (), readable: Sequence[Path] = ()) -> SandboxResult:
    """Run `command` (an argv, no shell) with `workspace` as its cwd, under `limits`.

    `env` is added on top of the minimal sandbox environment (see `sandbox_env`); `stdin` is
    fed to the command as UTF-8; `writable` names extra host directories the command may write
    (e.g. a warmed build cache shared between runs); `readable` extra host paths it may read
    (a toolchain the computed allowlist misses, see allowlist.py). Where a mount namespace is
    allowed nothing else of the host is visible. Raises SandboxError when the sandbox itself
    cannot be set up (or a `readable` path is missing); anything the command does is reported
    in the result.
    """
    limits = limits or Limits()
    workspace = Path(workspace).resolve()
    if not command:
        raise SandboxError("empty command; pass an argv such as ['python', '-m', 'pytest']")
    if not workspace.is_dir():
        raise SandboxError(f"workspace {workspace} is not a directory; make one with "
                           f"create_workspace(repo)")
    isolation = detect()
    environment = sandbox_env(workspace, env)
    cgroup = None
    if isolation.pids_hierarchy is not None:
        cgroup = create_run_cgroup(isolation.pids_hierarchy, limits.processes)
    try:
        allowed = readable_paths(command, environment, readable) if isolation.sandbox_root else ()
        argv = isolation.launch(command, workspace, limits, cgroup, writable, allowed)
        captured = _execute(argv, workspace, environment, stdin, limits, cgroup)
    finally:
        if cgroup is not None:
            release_run_cgroup(cgroup)
    stderr = captured.stderr.decode("utf-8", errors="replace")
    if captured.returncode == SETUP_EXIT and SETUP_FAILED in stderr:
        raise SandboxError(f"sandbox setup failed for {workspace}: {stderr.strip()[-500:]}")
    return SandboxResult(
        command=tuple(command), returncode=captured.returncode,
        stdout=captured.stdout.decode("utf-8", errors="replace"), stderr=stderr,
        timed_out=captured.timed_out, duration_s=captured.duration_s,
        output_truncated=captured.truncated,
        network_isolated=bool(isolation.unshare) and not limits.network,
        isolation=isolation.applied(limits))


def _execute(argv: list[str], workspace: Path, environment: dict[str, str], stdin: str | None,
             limits: Limits, cgroup: Path | None) -> _Captured:
    with _stdin_file(stdin) as stdin_file:
        start = time.monotonic()
        deadline = start + limits.wall_seconds
        process = subprocess.Popen(argv, cwd=workspace, env=environment, stdin=stdin_file,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
        def kill() -> None:
            _kill_tree(process, cgroup)

        try:
            stdout, stderr, truncated, timed_out = _drain(process, deadline, limits.output_bytes,
                                                          kill)
            timed_out = _wait(process, deadline, kill) or timed_out
        finally:
            kill()  # a no-op when it already exited; never leave it running
            process.wait()
        return _Captured(None if timed_out else process.returncode, stdout, stderr, truncated,
                         timed_out, time.monotonic() - start)


def _stdin_file(stdin: str | None) -> IO[bytes]:
    # A file, not a pipe: no writer thread, and no deadlock if the command never reads it.
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - the caller's `with` closes it
    if stdin is not None:
        handle.write(stdin.encode("utf-8"))
        handle.seek(0)
    return handle


def _drain(process: subprocess.Popen, deadline: float, cap: int,
           kill: Callable[[], None]) -> tuple[bytes, bytes, bool, bool]:
    """Read both pipes until they close, keeping `cap` bytes of each; kill at `deadline`."""
    buffers = {process.stdout: bytearray(), process.stderr: bytearray()}
    truncated = timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream in buffers:
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if timed_out:  # the grace period is over: a writer escaped the kill
                    break
                timed_out = True
                kill()
                deadline = time.monotonic() + _DRAIN_GRACE_S
                continue
            for key, _ in selector.select(timeout=remaining):
                chunk = os.read(key.fd, _CHUNK)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                kept = buffers[key.fileobj]
                truncated = truncated or len(kept) + len(chunk) > cap
                kept += chunk[: max(cap - len(kept), 0)]
    for stream in buffers:
        stream.close()
    return bytes(buffers[process.stdout]), bytes(buffers[process.stderr]), truncated, timed_out


def _wait(process: subprocess.Popen, deadline: float, kill: Callable[[], None]) -> bool:
    """Wait for exit until `deadline` (a command may close its output and keep running);
    True when it had to be killed."""
    try:
        process.wait(timeout=max(deadline - time.monotonic(), 0))
        return False
    except subprocess.TimeoutExpired:
        kill()
        return True


def _kill_tree(process: subprocess.Popen, cgroup: Path | None) -> None:
    """SIGKILL the process group of the launcher; in a pid namespace this kills its init and
    so every descendant, including ones that called setsid(); the cgroup catches those too
    where there is no pid namespace."""
    if cgroup is not None:
        kill_members(cgroup)
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):  # the group already exited
        os.killpg(process.pid, signal.SIGKILL)
