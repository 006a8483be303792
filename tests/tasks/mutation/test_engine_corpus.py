"""The mutation engine over real code: a few training modules of the embedded stdlib corpus, and the corpus split."""

import _imp
import shutil
import subprocess
from collections import Counter

import pytest

from apprentice.errors import CorpusError
from apprentice.tasks import corpus
from apprentice.tasks.mutation.engine import MutationStats, mutants_for_repo
from apprentice.tasks.mutation.operators import OPERATORS

# Small training modules whose mutants, together, cover every operator (a few seconds in all).
MODULES = ("heapq", "getopt", "quopri")


def test_train_modules_yield_every_operator_family_and_applicable_diffs(tmp_path):
    assert set(MODULES) <= set(corpus.TRAIN_MODULES)
    root = corpus.stdlib_dir()
    stats = MutationStats()
    mutants = list(mutants_for_repo(root, "python", [root / f"{m}.py" for m in MODULES], stats=stats))
    per_module = Counter(m.path.removesuffix(".py") for m in mutants)
    assert set(per_module) == set(MODULES) and min(per_module.values()) >= 20
    assert {m.operator for m in mutants} == set(OPERATORS)
    assert not stats.skipped_files
    for mutant in mutants[::10]:  # a sample: one `git apply` per mutant
        shutil.copy(root / mutant.path, tmp_path / mutant.path)
        subprocess.run(["git", "apply", "-"], input=mutant.diff, text=True, cwd=tmp_path, check=True)
        subprocess.run(["git", "apply", "-"], input=mutant.fix, text=True, cwd=tmp_path, check=True)
        assert (tmp_path / mutant.path).read_bytes() == (root / mutant.path).read_bytes()


def test_held_out_modules_are_not_among_the_training_sources():
    sources = corpus.train_module_sources()
    root = corpus.stdlib_dir()
    tops = {path.relative_to(root).parts[0].removesuffix(".py") for path in sources}
    assert tops == set(corpus.TRAIN_MODULES)
    assert tops.isdisjoint(corpus.HELD_OUT_MODULES)


def test_the_corpus_trains_on_at_least_fifty_single_file_modules_with_their_own_tests(tmp_path):
    # SFT data needs tasks over many modules: a few modules' tasks are learnt by heart (5f06b1b)
    train = [module for module in corpus.CORPUS_MODULES if corpus.corpus_split(f"src/{module}.py") == "train"]
    assert len(train) >= 50 and set(train) <= set(corpus.TRAIN_MODULES)
    assert len(set(corpus.TRAIN_MODULES)) == len(corpus.TRAIN_MODULES)
    assert set(corpus.TRAIN_MODULES).isdisjoint(corpus.HELD_OUT_MODULES)
    root = corpus.stdlib_dir()
    assert [m for m in train if not (root / f"{m}.py").is_file() or not (root / "test" / f"test_{m}.py").is_file()] == []
    # a frozen module's tests import the frozen copy: its mutants could never be reached
    assert [m for m in corpus.CORPUS_MODULES if _imp.is_frozen(m)] == []
    with pytest.raises(CorpusError, match="frozen"):
        corpus.build_corpus_repo(tmp_path / "frozen", ("posixpath",))
