"""The repo package's `manifest.json`, and the static checks of a package directory.

    PKG/manifest.json   this record
    PKG/repo/           a full git clone (no hooks, no remote)
    PKG/packages/       wheels only, each listed with its sha256

`static_problems` finds everything wrong without running anything: unexpected files (native
executables, archives outside packages/, git hooks, stray executables), missing or tampered
wheels, commits the clone does not hold.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from apprentice.data.records import record_from_value
from apprentice.errors import CommitMiningError, PackageError
from apprentice.tasks.history import git as commit_git

FORMAT = "apprentice-repo-package/1"
MANIFEST = "manifest.json"
TOP_LEVEL = frozenset({MANIFEST, "repo", "packages"})
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".whl", ".egg", ".jar")
# ELF, PE, Mach-O (both byte orders, 32/64-bit) and universal binaries.
NATIVE_MAGIC = (b"\x7fELF", b"MZ", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


@dataclass(frozen=True)
class PackageManifest:
    """What a package holds and how to test it; `wheels` maps file name -> `sha256:<hex>`."""

    format: str
    name: str
    language: str
    python_version: str  # "3.11": the interpreter the wheels were resolved for
    test_command: tuple[str, ...]
    head: str
    commits: tuple[str, ...]  # every commit reachable from head, oldest first
    requirements: tuple[str, ...]  # what the offline install asks for (the repo's deps + test runner)
    wheels: dict[str, str]
    source: str  # where the clone came from, for the record

    def to_json(self) -> str:
        """Indented, key-sorted JSON text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def read_manifest(package: Path) -> PackageManifest:
    """Parse and type-check `package/manifest.json`; PackageError names the bad field."""
    path = package / MANIFEST
    if not path.is_file():
        raise PackageError(f"{package} has no {MANIFEST}; build one with `apprentice package build REPO --out PKG`")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PackageError(f"{path} is corrupted (not JSON: {error}); rebuild the package") from None
    try:
        manifest = record_from_value(PackageManifest, raw, "manifest", PackageError)
    except PackageError as error:
        raise PackageError(f"{path}: {error}; rebuild the package") from None
    if manifest.format != FORMAT:
        raise PackageError(f"{path}: format {manifest.format!r} is not {FORMAT!r}; rebuild with this apprentice")
    if not all(isinstance(v, str) and v.startswith("sha256:") for v in manifest.wheels.values()):
        raise PackageError(f"{path}: wheels must map file names to 'sha256:<hex>', got {manifest.wheels!r}")
    return manifest


def file_sha256(path: Path) -> str:
    """`sha256:<hex>` of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def static_problems(package: Path, manifest: PackageManifest) -> list[str]:
    """Every reason to reject `package` that needs no execution; empty when it is sound."""
    problems = [f"unexpected top-level entry '{entry.name}' (allowed: {sorted(TOP_LEVEL)})"
                for entry in sorted(package.iterdir()) if entry.name not in TOP_LEVEL]
    if not (package / "repo").is_dir() or not (package / "packages").is_dir():
        return [*problems, "repo/ or packages/ is missing; rebuild the package"]
    return problems + wheel_problems(package, manifest) + commit_problems(package, manifest) + repo_file_problems(
        package / "repo", manifest.head)


def wheel_problems(package: Path, manifest: PackageManifest) -> list[str]:
    """Missing, unlisted, non-wheel or re-hashed-differently files under packages/."""
    problems = []
    present = {entry.name: entry for entry in (package / "packages").iterdir()}
    for name, expected in sorted(manifest.wheels.items()):
        if name not in present:
            problems.append(f"missing wheel '{name}' listed in {MANIFEST}")
        elif not present[name].is_file() or present[name].is_symlink():
            problems.append(f"packages/{name} is not a regular file")
        elif file_sha256(present[name]) != expected:
            problems.append(f"wheel '{name}' does not match its sha256 in {MANIFEST} (tampered or corrupted)")
    for name in sorted(set(present) - set(manifest.wheels)):
        problems.append(f"unexpected file packages/{name} (not listed in {MANIFEST})")
    for name in sorted(name for name in present if not name.endswith(".whl")):
        problems.append(f"packages/{name} is not a wheel (.whl)")
    return problems


def commit_problems(package: Path, manifest: PackageManifest) -> list[str]:
    """Commits the manifest names that repo/ does not hold."""
    wanted = [manifest.head, *manifest.commits]
    try:
        answer = commit_git.git(package / "repo", "cat-file", "--batch-check", stdin="\n".join(wanted).encode())
    except CommitMiningError as error:
        return [f"repo/ is not a readable git repository: {error}"]
    return [f"commit {line.split()[0]} from {MANIFEST} is not in repo/" for line in answer.splitlines()
            if line.endswith(" missing")]


def repo_file_problems(repo: Path, head: str) -> list[str]:
    """Native executables, archives, git hooks, escaping symlinks and untracked executables in repo/."""
    tracked_executables = {
        line.split("\t", 1)[1] for line in commit_git.git(repo, "ls-tree", "-r", head).splitlines()
        if line.startswith("100755 ")
    }
    problems = []
    for directory, _, names in os.walk(repo):
        for name in names:
            path = Path(directory) / name
            relative = path.relative_to(repo).as_posix()
            problem = _file_problem(repo, path, relative, relative in tracked_executables)
            if problem:
                problems.append(f"repo/{relative}: {problem}")
    return problems


def _file_problem(repo: Path, path: Path, relative: str, tracked_executable: bool) -> str:
    if path.is_symlink():
        inside = path.resolve().is_relative_to(repo.resolve())
        return "" if inside else "symlink pointing outside the package"
    if relative.startswith(".git/hooks/"):
        return "git hook (it would run on this machine when git runs here)"
    if not relative.startswith(".git/") and relative.lower().endswith(ARCHIVE_SUFFIXES):
        return "archive outside packages/"
    with path.open("rb") as stream:
        if stream.read(4).startswith(NATIVE_MAGIC):
            return "native executable or library"
    if path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) and not tracked_executable:
        return "executable file that git does not track as executable"
    return ""
