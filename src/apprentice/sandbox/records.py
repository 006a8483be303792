"""The records a sandboxed run takes and gives back: its limits and its result."""

from __future__ import annotations

from dataclasses import dataclass

from apprentice.errors import SandboxError


@dataclass(frozen=True)
class Limits:
    """What one sandboxed command may use before it is stopped.

    Every limit applies to the whole process tree of the command, except `cpu_seconds`,
    `memory_bytes` and `file_size_bytes`, which the kernel applies per process.
    """

    wall_seconds: float = 60.0  # on expiry the whole tree (every descendant) is killed
    cpu_seconds: int = 60  # SIGXCPU at the limit, SIGKILL one second later
    memory_bytes: int = 2 * 1024**3  # address space (RLIMIT_AS) per process
    processes: int = 128  # tasks (threads count) in the tree: pids cgroup, else RLIMIT_NPROC
    open_files: int = 256
    file_size_bytes: int = 64 * 1024**2  # largest file one write may grow (RLIMIT_FSIZE)
    output_bytes: int = 1024**2  # per stream; the rest is dropped and output_truncated set
    network: bool = False  # True keeps the host network (no new network namespace)
    tmp_bytes: int = 64 * 1024**2  # the private /tmp: a tmpfs, so it is memory, not disk

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "cpu_seconds", "memory_bytes", "processes", "open_files",
                     "file_size_bytes", "output_bytes", "tmp_bytes"):
            if getattr(self, name) <= 0:
                raise SandboxError(f"Limits.{name}={getattr(self, name)!r} must be positive; "
                                   f"pass a value above 0 or leave the default")


@dataclass(frozen=True)
class SandboxResult:
    """What a sandboxed command did.

    `returncode` is None when the sandbox killed the command (wall-clock timeout); a command
    killed by signal N inside the sandbox reports 128+N, as a shell does. `stdout`/`stderr` are
    decoded as UTF-8 with errors="replace". `isolation` names every measure that was applied
    ("netns", "pidns", ...) and, prefixed "no-", every one that could not be.
    """

    command: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    output_truncated: bool
    network_isolated: bool  # True only when a new network namespace was really in force
    isolation: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when the command ran to completion and exited 0."""
        return self.returncode == 0 and not self.timed_out
