"""Git plumbing for history mining: line counts, the buggy-state commit, tree exports, diffs.

Everything here runs git on the host against the repository being mined: it only reads commits
and writes objects plus one ref per task (`refs/apprentice/tasks/<sha12>`), never the working
tree, the index or HEAD. The code of the repository itself never runs here (that is the sandbox's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from apprentice.errors import CommitMiningError
from apprentice.tasks.history.commit_filter import ChangedFile

GIT_TIMEOUT_S = 120.0
TASK_REF_PREFIX = "refs/apprentice/tasks/"
# A fixed identity and date make the buggy-state commit's hash depend only on its tree and parent:
# mining the same history twice names the same snapshot.
_TASK_IDENTITY = {
    "GIT_AUTHOR_NAME": "apprentice", "GIT_AUTHOR_EMAIL": "apprentice@localhost",
    "GIT_COMMITTER_NAME": "apprentice", "GIT_COMMITTER_EMAIL": "apprentice@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


def git(repo: Path, *arguments: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Run `git -C repo ...`; return stdout, or raise CommitMiningError with git's own message."""
    done = subprocess.run(
        ["git", "-C", str(repo), *arguments], input=stdin, capture_output=True, timeout=GIT_TIMEOUT_S,
        env={**os.environ, "LC_ALL": "C", **(env or {})}, check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise CommitMiningError(f"git {' '.join(arguments[:3])} in {repo} failed: {message}")
    return done.stdout.decode("utf-8", errors="replace")


def check_history(repo: Path) -> str:
    """The sha HEAD points at (detached or not); shallow clones and non-repositories are refused."""
    if not (repo / ".git").exists() and not (repo / "HEAD").is_file():
        raise CommitMiningError(f"{repo} is not a git repository; pass the root of a clone")
    if git(repo, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise CommitMiningError(f"{repo} is a shallow clone: its history is cut off; run "
                                f"`git -C {repo} fetch --unshallow` first")
    return git(repo, "rev-parse", "--verify", "HEAD^{commit}").strip()


def numstat(repo: Path, head: str) -> dict[str, tuple[ChangedFile, ...]]:
    """Per commit reachable from `head`: the files it changed against its first parent, one git call."""
    output = git(repo, "log", "--no-renames", "--numstat", "-z", "--format=%x00%x01%H", head)
    changes: dict[str, tuple[ChangedFile, ...]] = {}
    for block in output.split("\x00\x01")[1:]:
        sha, _, rest = block.partition("\n")
        changes[sha.strip("\x00")] = tuple(_parse_numstat(rest))
    return changes


def _parse_numstat(text: str) -> Iterator[ChangedFile]:
    for record in text.strip("\n\x00").split("\x00"):
        added, _, remainder = record.strip("\n").partition("\t")
        deleted, _, path = remainder.partition("\t")
        if not path:
            continue
        binary = added == "-"
        yield ChangedFile(path, 0 if binary else int(added), 0 if binary else int(deleted), binary)


def changed_paths(repo: Path, parent: str, child: str) -> dict[str, str]:
    """path -> status letter (A, M, D) of every file that differs between `parent` and `child`."""
    output = git(repo, "diff", "--no-renames", "--name-status", "-z", parent, child)
    fields = output.strip("\x00").split("\x00")
    return {fields[index + 1]: fields[index][0] for index in range(0, len(fields) - 1, 2)}


def diff(repo: Path, old: str, new: str, paths: tuple[str, ...]) -> str:
    """`git diff old new -- paths` (binary files as git binary patches), '' when `paths` is empty."""
    if not paths:
        return ""
    return git(repo, "diff", "--no-renames", "--binary", "--no-color", old, new, "--", *paths)


def buggy_state(repo: Path, parent: str, child: str, test_paths: tuple[str, ...]) -> str:
    """A commit whose tree is `parent` plus `child`'s version of `test_paths` (unreferenced until `pin`).

    That tree is the task's buggy snapshot: the new tests are there, the code fix is not.
    """
    with tempfile.TemporaryDirectory(prefix="apprentice-index-") as holder:
        env = {"GIT_INDEX_FILE": str(Path(holder) / "index")}
        git(repo, "read-tree", parent, env=env)
        for path in test_paths:
            entry = git(repo, "ls-tree", child, "--", path).strip()
            if entry:
                mode, _, rest = entry.partition(" ")
                blob = rest.split("\t")[0].split(" ")[1]
                git(repo, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            else:
                git(repo, "update-index", "--force-remove", "--", path, env=env)
        tree = git(repo, "write-tree", env=env).strip()
    message = f"apprentice: buggy state of {child} (tests of {child} on {parent})\n".encode()
    return git(repo, "commit-tree", tree, "-p", parent, env=_TASK_IDENTITY, stdin=message).strip()


def pin(repo: Path, child: str, buggy: str) -> None:
    """Keep a kept task's buggy-state commit alive (`git gc` prunes unreferenced commits)."""
    git(repo, "update-ref", f"{TASK_REF_PREFIX}{child[:12]}", buggy)


@contextlib.contextmanager
def exported_tree(repo: Path, commit: str) -> Iterator[Path]:
    """A temporary directory holding `commit`'s tree (no .git), removed on exit."""
    holder = Path(tempfile.mkdtemp(prefix="apprentice-tree-"))
    try:
        tree = holder / (repo.resolve().name or "repo")
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit],
                                 capture_output=True, timeout=GIT_TIMEOUT_S, check=False)
        if archive.returncode != 0:
            raise CommitMiningError(f"cannot export {commit} of {repo}: {archive.stderr.decode(errors='replace')}")
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True, timeout=GIT_TIMEOUT_S)
        yield tree
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def file_at(repo: Path, commit: str, path: str) -> str:
    """The text of `path` at `commit` (the caller knows it exists there)."""
    return git(repo, "show", f"{commit}:{path}")
