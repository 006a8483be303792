"""Reads outside the workspace: the sandbox sees the allowlist (toolchains, the workspace) only."""

import dataclasses
import json
import uuid
from pathlib import Path

import pytest
from sandbox_helpers import PYTHON, needs_namespaces

import apprentice
from apprentice.errors import SandboxError
from apprentice.sandbox import Limits, detect, run_sandboxed
from apprentice.sandbox import run as run_module
from apprentice.sandbox.allowlist import readable_paths

CHECKOUT = Path(apprentice.__file__).resolve().parents[2]  # this repository's root

READ = "import sys; print(open(sys.argv[1]).read())"

pytestmark = needs_namespaces


@pytest.fixture()
def task_store(tmp_path) -> Path:
    """A task store as a run keeps one: the original repository and a task naming its fix."""
    store = tmp_path / "store"
    (store / "repo").mkdir(parents=True)
    (store / "repo" / "core.py").write_text("def add(a, b):\n    return a + b  # original\n")
    task = {"id": "t1", "repo": {"path": str(store / "repo")}, "bug_diff": "-    return a + b"}
    (store / "tasks.jsonl").write_text(json.dumps(task) + "\n")
    return store


def _visible(path: Path, workspace: Path, **kwargs) -> bool:
    result = run_sandboxed([PYTHON, "-c", READ, str(path)], workspace, **kwargs)
    assert result.returncode == 0 or "No such file or directory" in result.stderr, result.stderr
    return result.returncode == 0


def test_the_result_names_the_allowlist(workspace):
    result = run_sandboxed(["true"], workspace)
    assert "allowlist" in result.isolation and "private-tmp" in result.isolation
    assert "readonly-root" not in result.isolation


def test_host_files_outside_workspace_and_toolchains_are_not_visible(workspace, tmp_path):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("host only\n")
    assert not _visible(secret, workspace)
    assert not _visible(CHECKOUT / "pyproject.toml", workspace)
    assert not _visible(CHECKOUT / "docs" / "sandbox.md", workspace)
    assert _visible(workspace / "data.txt", workspace)  # the test can tell


def test_only_toolchains_of_the_home_are_visible(workspace):
    listing = run_sandboxed(["sh", "-c", f"ls -A {Path.home()}"], workspace).stdout.split()
    allowed = {p.relative_to(Path.home()).parts[0] for p in readable_paths([PYTHON], {})
               if p.is_relative_to(Path.home())}
    assert set(listing) <= allowed | {".cargo", ".rustup", ".pyenv"}
    assert ".bashrc" not in listing and ".gitconfig" not in listing


def test_the_task_store_is_not_visible(task_store, tmp_path):
    from apprentice.sandbox import create_workspace, remove_workspace

    workspace = create_workspace(task_store / "repo", parent=tmp_path)
    try:
        for path in (task_store / "tasks.jsonl", task_store / "repo" / "core.py", task_store):
            assert not _visible(path, workspace), path
        assert _visible(workspace / "core.py", workspace)
    finally:
        remove_workspace(workspace)


def test_tmp_is_private_and_starts_empty(workspace):
    marker = Path("/tmp") / f"host-tmp-{uuid.uuid4().hex}"
    marker.write_text("host\n")
    try:
        assert not _visible(marker, workspace)
        listing = run_sandboxed(["ls", "-A", "/tmp"], workspace).stdout.split()
        assert listing == [workspace.relative_to("/tmp").parts[0]]  # the workspace's mount point
        wrote = run_sandboxed(["sh", "-c", "echo mine > /tmp/x && cat /tmp/x"], workspace)
        assert wrote.stdout == "mine\n" and not Path("/tmp/x").exists()
        assert run_sandboxed(["cat", "/tmp/x"], workspace).returncode != 0  # not kept between runs
    finally:
        marker.unlink()


def test_python_runs_with_the_venv_packages(repo, workspace):
    imports = run_sandboxed([PYTHON, "-c", "import pytest, apprentice; print('ok')"], workspace)
    assert imports.stdout == "ok\n", imports.stderr
    tests = run_sandboxed([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"], workspace)
    assert tests.passed and "1 passed" in tests.stdout, tests.stdout + tests.stderr


def test_readable_adds_a_host_path_read_only(workspace, tmp_path):
    extra = tmp_path / "toolchain"
    extra.mkdir()
    (extra / "tool.txt").write_text("shared\n")
    assert _visible(extra / "tool.txt", workspace, readable=[extra])
    write = run_sandboxed(["sh", "-c", f"echo x > {extra / 'tool.txt'}"], workspace,
                          readable=[extra])
    assert "Read-only file system" in write.stderr and (extra / "tool.txt").read_text() == "shared\n"
    with pytest.raises(SandboxError, match="not a directory"):
        run_sandboxed(["true"], workspace, readable=[tmp_path / "missing"])


def test_writable_paths_stay_writable_and_visible(workspace, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    result = run_sandboxed(["sh", "-c", f"echo warm > {cache / 'entry'}"], workspace,
                           writable=[cache])
    assert result.returncode == 0 and (cache / "entry").read_text() == "warm\n"


def test_host_network_run_hides_the_host_too(workspace, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host only\n")
    assert not _visible(secret, workspace, limits=Limits(network=True))


def test_without_the_allowlist_the_host_root_is_read_only(workspace, monkeypatch, tmp_path):
    fallback = dataclasses.replace(detect(), sandbox_root=None)
    monkeypatch.setattr(run_module, "detect", lambda: fallback)
    result = run_sandboxed(["sh", "-c", f"echo x > {tmp_path / 'x'}"], workspace)
    assert "readonly-root" in result.isolation and "allowlist" not in result.isolation
    assert "Read-only file system" in result.stderr

