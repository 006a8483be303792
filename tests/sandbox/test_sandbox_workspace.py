"""Workspaces: private copies, never hardlinks to the original."""

import pytest

from apprentice.errors import SandboxError
from apprentice.sandbox import create_workspace, remove_workspace


def test_workspace_is_a_copy_with_its_own_inodes(repo, workspace):
    for original in repo.rglob("*"):
        copy = workspace / original.relative_to(repo)
        assert copy.exists()
        if original.is_file():
            assert copy.read_bytes() == original.read_bytes()
            assert copy.stat().st_ino != original.stat().st_ino


def test_writing_the_workspace_from_outside_leaves_the_original(repo, workspace):
    # a grader writing a patch in place must not reach the original either
    (workspace / "data.txt").write_text("patched\n")
    assert (repo / "data.txt").read_text() == "original\n"


def test_symlinks_are_copied_as_links(repo, tmp_path):
    (repo / "link").symlink_to("data.txt")
    workspace = create_workspace(repo, parent=tmp_path)
    try:
        assert (workspace / "link").is_symlink() and (workspace / "link").read_text() == "original\n"
    finally:
        remove_workspace(workspace)


def test_remove_workspace_deletes_it(repo, tmp_path):
    workspace = create_workspace(repo, parent=tmp_path)
    remove_workspace(workspace)
    assert not workspace.parent.exists() and repo.exists()


def test_remove_workspace_refuses_a_foreign_directory(repo):
    with pytest.raises(SandboxError, match="not made by create_workspace"):
        remove_workspace(repo)


def test_missing_repository_is_an_error(tmp_path):
    with pytest.raises(SandboxError, match="not a directory"):
        create_workspace(tmp_path / "absent")
