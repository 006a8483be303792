"""Writes outside the workspace, the network, the environment: what the command can reach."""

import socket
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sandbox_helpers import PYTHON, marked_processes, needs_namespaces

from apprentice.sandbox import Limits, create_workspace, remove_workspace, run_sandboxed
from apprentice.sandbox import isolation as isolation_module
from apprentice.sandbox import run as run_module

REWRITE_ALL = """
import os
for folder, _, names in os.walk('.'):
    if '.sandbox' in folder:
        continue
    for name in names:
        with open(os.path.join(folder, name), 'r+') as handle:  # in place, same inode
            handle.seek(0)
            handle.write('HACKED')
"""


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_original_unchanged_after_every_workspace_file_is_rewritten_in_place(repo, workspace):
    before = _snapshot(repo)
    result = run_sandboxed([PYTHON, "-c", REWRITE_ALL], workspace)
    assert result.returncode == 0, result.stderr
    assert (workspace / "data.txt").read_text().startswith("HACKED")
    assert _snapshot(repo) == before


@needs_namespaces
def test_writes_outside_the_workspace_are_refused(repo, workspace):
    outside = Path("/tmp") / f"outside-file-{uuid.uuid4().hex}"
    script = f"open({str(repo / 'data.txt')!r}, 'w').write('HACKED')\n"
    result = run_sandboxed([PYTHON, "-c", script], workspace)
    assert result.returncode == 1 and "No such file or directory" in result.stderr  # not there
    toolchain = Path(sys.prefix) / f"planted-{uuid.uuid4().hex}"
    result = run_sandboxed(["sh", "-c", f"echo HACKED > {toolchain}"], workspace)
    assert result.returncode != 0 and "Read-only file system" in result.stderr
    result = run_sandboxed(["sh", "-c", f"echo HACKED > {outside}"], workspace)  # private /tmp
    assert result.returncode == 0
    assert (repo / "data.txt").read_text() == "original\n" and not outside.exists()
    assert not toolchain.exists()


@needs_namespaces
def test_privileged_escapes_are_refused(workspace):
    attempts = ["mount -o remount,rw /", "echo 1 > /proc/sys/vm/drop_caches",
                "echo 999999 > /sys/fs/cgroup/pids/pids.max", "head -c1 /dev/vda",
                "mknod /tmp/disk b 254 0"]
    for attempt in attempts:
        result = run_sandboxed(["sh", "-c", attempt], workspace)
        assert result.returncode != 0, attempt


def test_home_temp_and_caches_are_inside_the_workspace(workspace):
    show = ("import os, tempfile; print(os.environ['HOME']); print(tempfile.gettempdir());"
            "print(os.environ['XDG_CACHE_HOME']); print(os.environ['PIP_CACHE_DIR']);"
            "print(os.environ['GOCACHE']); print(os.environ['npm_config_cache'])")
    result = run_sandboxed([PYTHON, "-c", show], workspace)
    paths = result.stdout.split()
    assert len(paths) == 6 and all(p.startswith(str(workspace) + "/.sandbox/") for p in paths)
    written = run_sandboxed(["sh", "-c", "echo hi > ~/note && cat ~/note"], workspace)
    assert written.stdout == "hi\n" and (workspace / ".sandbox" / "home" / "note").exists()


def test_caller_secrets_are_not_passed(workspace, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "secret-value")
    result = run_sandboxed(["env"], workspace, env={"EXTRA": "given"})
    assert "secret-value" not in result.stdout and "EXTRA=given" in result.stdout
    assert "PYTHONDONTWRITEBYTECODE=1" in result.stdout


def test_sandbox_dir_is_invisible_to_git(repo, tmp_path):
    import subprocess

    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    workspace = create_workspace(repo, parent=tmp_path)
    try:
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                                cwd=workspace, capture_output=True, text=True, check=True)
        assert ".sandbox" not in status.stdout and "data.txt" in status.stdout
    finally:
        remove_workspace(workspace)


class _LoopbackServer:
    """A TCP server on the host's loopback that counts the connections it accepts."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:  # closed by the test: stop serving
                return
            self.accepted += 1
            connection.close()


CONNECT = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=3)"


@needs_namespaces
def test_no_network_inside_the_sandbox(workspace):
    server = _LoopbackServer()
    try:
        blocked = run_sandboxed([PYTHON, "-c", CONNECT, str(server.port)], workspace)
        assert blocked.returncode == 1 and blocked.network_isolated
        assert "netns" in blocked.isolation and server.accepted == 0
        # The same connect with the network allowed reaches the server: the test can tell.
        allowed = run_sandboxed([PYTHON, "-c", CONNECT, str(server.port)], workspace,
                                Limits(network=True))
        assert allowed.returncode == 0 and not allowed.network_isolated
        assert "host-network" in allowed.isolation and server.accepted == 1
    finally:
        server.socket.close()


def test_without_namespaces_the_result_says_so_and_cleanup_still_holds(workspace, marker,
                                                                      monkeypatch):
    isolation = isolation_module.detect()
    bare = isolation_module._unisolated(isolation.prlimit, isolation.pids_hierarchy)
    monkeypatch.setattr(run_module, "detect", lambda: bare)
    sleeper = f"{PYTHON} -c 'import time; time.sleep(300)' {marker}"
    result = run_sandboxed(["sh", "-c", f"setsid {sleeper} & {sleeper}"], workspace,
                           Limits(wall_seconds=1))
    assert result.timed_out and not result.network_isolated
    assert "no-netns" in result.isolation and "netns" not in result.isolation
    if isolation.pids_hierarchy is None:
        pytest.skip("no pids cgroup either: setsid'd grandchildren can escape (documented)")
    assert "pids-cgroup" in result.isolation and marked_processes(marker) == []
