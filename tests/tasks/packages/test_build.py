"""Repo packages: build then validate round-trips offline; tampered packages are rejected with the reason.

The wheels (six, pytest and its dependencies) are downloaded once into a cache directory and
reused; the builds themselves resolve from that directory only (`--no-index`), never from PyPI.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apprentice.errors import PackageError
from apprentice.tasks.packages.build import build_package, mine_package, validate_package
from apprentice.tasks.packages.manifest import read_manifest
from apprentice.tasks.task import Task

WHEELS = ("six==1.17.0", "pytest")
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org",
       "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org"}
CODE = "import six\n\n\ndef label(value):\n    return six.text_type(value)\n"
CODE_FIXED = "import six\n\n\ndef label(value):\n    return six.text_type(value).strip()\n"
TESTS = "from lib import label\n\n\ndef test_label():\n    assert label(3) == '3'\n"
TESTS_FIXED = TESTS + "\n\ndef test_label_strips_spaces():\n    assert label(' a ') == 'a'\n"


@pytest.fixture(scope="session")
def wheel_cache() -> Path:
    cache = Path(os.environ.get("APPRENTICE_CACHE_DIR", Path.home() / ".cache" / "apprentice")) / "test-wheels"
    if not list(cache.glob("six-*.whl")) or not list(cache.glob("pytest-*.whl")):
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(cache), *WHEELS],
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            pytest.skip(f"PyPI unreachable, cannot fetch the test wheels once: {done.stderr.strip()[-200:]}")
    return cache


def _commit(repo: Path, message: str, files: dict[str, str]) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=ENV)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, env=ENV)


@pytest.fixture(scope="module")
def built(tmp_path_factory, wheel_cache) -> Path:
    root = tmp_path_factory.mktemp("pkg")
    repo = root / "lib"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    _commit(repo, "Add the label helper with a test",
            {"lib.py": CODE, "tests/test_lib.py": TESTS, "requirements.txt": "six==1.17.0\n"})
    _commit(repo, "Strip surrounding spaces from labels", {"lib.py": CODE_FIXED, "tests/test_lib.py": TESTS_FIXED})
    build_package(repo, root / "lib.pkg", find_links=wheel_cache)
    return root / "lib.pkg"


def _copy(package: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy.pkg"
    shutil.copytree(package, copy, symlinks=True)
    return copy


def test_build_then_validate_round_trips_offline(built):
    manifest = validate_package(built)
    assert manifest.requirements == ("six==1.17.0", "pytest") and len(manifest.commits) == 2
    assert any(name.startswith("six-1.17.0") for name in manifest.wheels)
    assert sorted(path.name for path in built.iterdir()) == ["manifest.json", "packages", "repo"]
    assert not list((built / "repo" / ".git" / "hooks").iterdir())


def test_tasks_are_mined_from_the_package_with_its_own_venv(built, tmp_path):
    package = _copy(built, tmp_path)
    stats = mine_package(package, tmp_path / "tasks.jsonl")
    [task] = [Task.from_json(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()]
    assert stats.validated == 1 and task.source == "package" and task.repo.package == str(package.resolve())
    assert task.fail_to_pass == ("tests/test_lib.py::test_label_strips_spaces",)
    assert task.pass_to_pass == ("tests/test_lib.py::test_label",)


def test_extra_executable_is_rejected(built, tmp_path):
    package = _copy(built, tmp_path)
    tool = package / "repo" / "run.sh"
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    shutil.copy(shutil.which("true"), package / "repo" / "helper")
    with pytest.raises(PackageError) as error:
        validate_package(package)
    assert "repo/run.sh: executable file that git does not track" in str(error.value)
    assert "repo/helper: native executable" in str(error.value)


def test_missing_wheel_is_rejected(built, tmp_path):
    package = _copy(built, tmp_path)
    [six] = list((package / "packages").glob("six-*.whl"))
    six.unlink()
    with pytest.raises(PackageError, match=f"missing wheel '{six.name}'"):
        validate_package(package)


def test_wrong_hash_and_unknown_commit_are_rejected(built, tmp_path):
    package = _copy(built, tmp_path)
    manifest = json.loads((package / "manifest.json").read_text())
    name = next(iter(manifest["wheels"]))
    manifest["wheels"][name] = "sha256:" + "0" * 64
    manifest["commits"].append("1" * 40)
    (package / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PackageError) as error:
        validate_package(package)
    assert f"wheel '{name}' does not match its sha256" in str(error.value)
    assert f"commit {'1' * 40} from manifest.json is not in repo/" in str(error.value)


def test_archive_outside_packages_and_git_hook_are_rejected(built, tmp_path):
    package = _copy(built, tmp_path)
    (package / "repo" / "vendor.tar.gz").write_bytes(b"\x1f\x8b")
    (package / "repo" / ".git" / "hooks" / "post-checkout").write_text("#!/bin/sh\n")
    (package / "notes.txt").write_text("hello")
    with pytest.raises(PackageError) as error:
        validate_package(package)
    message = str(error.value)
    assert "vendor.tar.gz: archive outside packages/" in message and "git hook" in message
    assert "unexpected top-level entry 'notes.txt'" in message


def test_corrupted_manifest_is_rejected(built, tmp_path):
    package = _copy(built, tmp_path)
    (package / "manifest.json").write_text('{"format": "apprentice-repo-package/1", "name": ')
    with pytest.raises(PackageError, match="corrupted"):
        read_manifest(package)
    (package / "manifest.json").write_text('{"format": "apprentice-repo-package/1"}')
    with pytest.raises(PackageError, match="missing field"):
        read_manifest(package)


def test_failed_build_leaves_nothing(tmp_path, wheel_cache):
    repo = tmp_path / "broken"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    _commit(repo, "Add a module that needs a package nobody has", {"m.py": "x = 1\n",
                                                                   "requirements.txt": "no-such-dist-xyz==9\n"})
    with pytest.raises(PackageError, match="pip wheel failed"):
        build_package(repo, tmp_path / "broken.pkg", find_links=wheel_cache)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken"]
