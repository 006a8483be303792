"""Helpers of the sandbox tests: counting processes host-wide, skipping without namespaces."""

import os
import sys
from pathlib import Path

import pytest

from apprentice.sandbox import detect

PYTHON = sys.executable


def marked_processes(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):  # exited while we looked
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def namespaces_reason() -> str:
    """Why namespace-dependent tests are skipped here ('' when they run)."""
    isolation = detect()
    return "" if isolation.unshare else f"no namespaces on this machine: {isolation.missing}"


needs_namespaces = pytest.mark.skipif(bool(namespaces_reason()), reason=namespaces_reason())
