"""Repo packages: a repository, its dependency wheels and a manifest, for air-gapped machines.

    build_package(Path("calc"), Path("calc.pkg"))   # needs PyPI (or `find_links`)
    validate_package(Path("calc.pkg"))              # needs no network at all

A package is built in a temporary sibling directory and renamed into place only after it
validates, so a failed build leaves nothing behind. Mining and validating create a fresh venv on
demand from the package's wheels alone (`pip install --no-index`) and remove it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

from apprentice.artifacts import atomic_directory, atomic_write_text
from apprentice.errors import PackageError
from apprentice.sandbox import Limits, create_workspace, remove_workspace, run_sandboxed
from apprentice.tasks.history import git as commit_git
from apprentice.tasks.history.mine import DEFAULT_LIMITS, MiningSource, MiningStats, mine_commits
from apprentice.tasks.packages.manifest import (
    FORMAT,
    PackageManifest,
    file_sha256,
    read_manifest,
    static_problems,
)

TEST_RUNNER = ("pytest",)  # installed into every package venv: the python test command needs it
PIP_TIMEOUT_S = 600.0
DRY_RUN_LIMITS = Limits(wall_seconds=120.0, cpu_seconds=120)
_NO_TESTS_COLLECTED = 5  # pytest's exit code when it finds no test at all


def build_package(repo: Path, out: Path, *, language: str = "python", find_links: Path | None = None) -> PackageManifest:
    """Clone `repo` (full history) into `out/repo`, wheel its dependencies into `out/packages`, validate.

    `find_links` resolves wheels from a local directory only (no index); else PyPI is used.
    """
    if language != "python":
        raise PackageError(f"repo packages hold Python wheels; language {language!r} is not supported (use python)")
    repo = Path(repo).resolve()
    head = commit_git.check_history(repo)
    with atomic_directory(Path(out)) as staging:
        _clone(repo, staging / "repo", head)
        requirements = (*discover_requirements(staging / "repo"), *TEST_RUNNER)
        (staging / "packages").mkdir()
        _pip(["wheel", "--wheel-dir", str(staging / "packages"), *_index_options(find_links), *requirements])
        wheels = {path.name: file_sha256(path) for path in sorted((staging / "packages").iterdir())}
        commits = tuple(commit_git.git(staging / "repo", "rev-list", "--reverse", head).split())
        manifest = PackageManifest(
            FORMAT, repo.name, language, f"{sys.version_info.major}.{sys.version_info.minor}",
            ("python", "-m", "pytest", "-q"), head, commits, requirements, wheels, str(repo),
        )
        atomic_write_text(staging / "manifest.json", manifest.to_json())
        validate_package(staging)
    return manifest


def _clone(repo: Path, target: Path, head: str) -> None:
    """A full, self-contained clone at `head`, without hooks (they would run here) or remote."""
    subprocess.run(["git", "clone", "--quiet", "--no-local", "--no-checkout", str(repo), str(target)],
                   check=True, capture_output=True, timeout=PIP_TIMEOUT_S)
    if commit_git.git(target, "cat-file", "-t", head).strip() != "commit":
        raise PackageError(f"HEAD {head} of {repo} is on no branch the clone fetched; check out a branch")
    commit_git.git(target, "checkout", "--quiet", "--detach", head)
    commit_git.git(target, "remote", "remove", "origin")
    shutil.rmtree(target / ".git" / "hooks")
    (target / ".git" / "hooks").mkdir()


def discover_requirements(tree: Path) -> tuple[str, ...]:
    """Dependencies from `requirements*.txt` and `pyproject.toml` (project deps and test extras)."""
    found: list[str] = []
    for path in sorted(tree.glob("requirements*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                found.append(line)
    pyproject = tree / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        found.extend(project.get("dependencies", []))
        extras = project.get("optional-dependencies", {})
        for extra in ("test", "tests", "testing"):
            found.extend(extras.get(extra, []))
    return tuple(dict.fromkeys(found))


def _index_options(find_links: Path | None) -> list[str]:
    return ["--no-index", "--find-links", str(find_links)] if find_links is not None else []


def _pip(arguments: list[str], python: str = sys.executable, offline: bool = False) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_CONFIG_FILE": os.devnull}
    if offline:
        env["PIP_NO_INDEX"] = "1"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", python, *arguments, "--quiet"],
                          capture_output=True, text=True, timeout=PIP_TIMEOUT_S, env=env, check=False)
    if done.returncode != 0:
        raise PackageError(f"pip {arguments[0]} failed: {done.stderr.strip()[-1500:]}")


@contextlib.contextmanager
def package_python(package: Path, manifest: PackageManifest) -> Iterator[str]:
    """A fresh venv holding the package's requirements, installed offline; yields its python, then removes it."""
    holder = Path(tempfile.mkdtemp(prefix="apprentice-venv-"))
    try:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(holder / "venv")],
                       check=True, capture_output=True, timeout=PIP_TIMEOUT_S)
        python = str(holder / "venv" / "bin" / "python")
        links = ["--no-index", "--find-links", str(Path(package, "packages").resolve())]
        try:
            _pip(["install", *links, *manifest.requirements], python=python, offline=True)
        except PackageError as error:
            raise PackageError(f"{package}: the wheels do not install offline ({error}); rebuild the package") from None
        yield python
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def validate_package(package: Path) -> PackageManifest:
    """Schema, files, wheel hashes, commits, offline install, test collection dry run; PackageError lists every problem."""
    package = Path(package)
    manifest = read_manifest(package)
    problems = static_problems(package, manifest)
    if problems:
        raise PackageError(f"package {package} is rejected:\n  " + "\n  ".join(problems))
    with package_python(package, manifest) as python:
        _dry_run(package, manifest, python)
    return manifest


def _dry_run(package: Path, manifest: PackageManifest, python: str) -> None:
    """Collect the tests at `head` in the sandbox (no network): the command must find tests and import cleanly."""
    with commit_git.exported_tree(package / "repo", manifest.head) as tree:
        workspace = create_workspace(tree)
        try:
            result = run_sandboxed([python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                                   workspace, DRY_RUN_LIMITS)
        finally:
            remove_workspace(workspace)
    if result.returncode == _NO_TESTS_COLLECTED:
        raise PackageError(f"package {package}: the test command finds no tests at {manifest.head[:12]}; "
                           f"a package without tests yields no tasks")
    if not result.passed:
        tail = (result.stdout + result.stderr).strip()[-1500:]
        raise PackageError(f"package {package}: test dry run failed (exit {result.returncode}): {tail}")


def mine_package(package: Path, out: Path, *, limits: Limits = DEFAULT_LIMITS,
                 max_commits: int | None = None, max_tasks: int | None = None,
                 on_commit: Callable[[MiningStats, int], None] | None = None) -> MiningStats:
    """Mine tasks from a package's history with no network: its own venv runs the tests (see `mine_commits`)."""
    package = Path(package).resolve()
    manifest = read_manifest(package)
    problems = static_problems(package, manifest)
    if problems:
        raise PackageError(f"package {package} is rejected:\n  " + "\n  ".join(problems))
    with package_python(package, manifest) as python:
        source = MiningSource(package / "repo", str(package), {"python": python})
        return mine_commits(package / "repo", manifest.language, out, limits=limits, max_commits=max_commits,
                            max_tasks=max_tasks, source=source, on_commit=on_commit)
