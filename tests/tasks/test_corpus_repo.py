"""The embedded corpus laid out as a repository: its tests exercise the copies, not the interpreter's modules."""

import subprocess
import sys

import pytest

from apprentice.errors import CorpusError
from apprentice.tasks import corpus


def _pytest(repo):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo,
                          capture_output=True, text=True, check=False)


def test_corpus_repo_is_a_git_repository_whose_tests_import_the_copies(tmp_path):
    # fnmatch is imported by pytest itself before any test: the conftest must still swap in the copy
    repo = corpus.build_corpus_repo(tmp_path / "corpus", ("fnmatch", "colorsys"))
    assert sorted(p.name for p in (repo / "src").glob("*.py")) == ["colorsys.py", "fnmatch.py"]
    assert (repo / "tests" / "test_fnmatch.py").is_file() and len(corpus.head_commit(repo)) == 40
    clean = _pytest(repo)
    assert clean.returncode == 0, clean.stdout[-2000:]
    broken = (repo / "src" / "fnmatch.py").read_text().replace("return match(name) is not None",
                                                       "return False")
    assert broken != (repo / "src" / "fnmatch.py").read_text()
    (repo / "src" / "fnmatch.py").write_text(broken)
    red = _pytest(repo)
    assert red.returncode == 1 and "FAILED tests/test_fnmatch.py" in red.stdout and "test_colorsys" not in red.stdout
    assert corpus.build_corpus_repo(tmp_path / "corpus", ("fnmatch", "colorsys")) == repo  # reused


def test_corpus_split_and_bad_modules():
    assert corpus.corpus_split("src/textwrap.py") == "eval" and corpus.corpus_split("src/bisect.py") == "train"
    assert set(corpus.HELD_OUT_MODULES) <= set(corpus.CORPUS_MODULES) | {"html"}
    assert not {"queue", "statistics", "html"} & set(corpus.CORPUS_MODULES)


def test_packages_and_taken_directories_are_refused(tmp_path):
    with pytest.raises(CorpusError, match="single-file module"):
        corpus.build_corpus_repo(tmp_path / "a", ("json",))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "other.txt").write_text("x")
    with pytest.raises(CorpusError, match="exists"):
        corpus.build_corpus_repo(tmp_path / "b", ("colorsys",))
