"""The embedded default corpus: the running interpreter's own standard library and its tests.

The held-out modules are the one list that both the base tokenizer (which must never see them)
and evaluation (which grades on them) read, so that held-out really means unseen.
"""

import _imp
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

from apprentice.errors import CorpusError

# Pure-Python modules whose own tests run in seconds. Evaluation grades on these; nothing that
# trains (tokenizer, pretraining corpus, training tasks) may read them.
HELD_OUT_MODULES: tuple[str, ...] = ("textwrap", "shlex", "fnmatch", "colorsys", "graphlib", "difflib")

# Pure-Python modules with fast tests in the `test` package: the training side of the split.
# Each single-file one runs its `test_<module>.py` green in the corpus layout in under 4 s
# (argparse, the slowest): SFT needs tasks over many modules, not many tasks of a few.
# Measured and left out, one reason each:
# - tests take 8-15 s or more: compileall, selectors, pickle, mailbox, imaplib, ftplib;
# - tests red in the layout (data beside the stdlib's tests, pytest's import hook): pkgutil, runpy...;
# - tests elsewhere: `test_code.py` tests code objects, not `code`; datetime's are in datetimetester;
# - tests serve on sockets, and the sandbox has no network: smtplib, socketserver, poplib;
# - they set their own sys.settrace, which blinds the tracer of the coverage map: trace, bdb;
# - used all over (tempfile, the runner): a mutant would select most tests of the corpus: random;
# - frozen into the interpreter, so their tests never import the copy: ntpath (posixpath too);
# - deprecated by PEP 594 and removed in 3.13 (requires-python >= 3.11): aifc, cgi, imghdr, uu...;
# - no function to mutate: keyword.
TRAIN_MODULES: tuple[str, ...] = (
    "bisect", "calendar", "fractions", "statistics", "string", "html", "glob", "posixpath",
    "ipaddress", "base64", "pprint", "reprlib", "getopt", "optparse", "gettext", "netrc",
    "plistlib", "quopri", "sched", "queue", "tabnanny", "configparser", "heapq", "copy",
    "argparse", "bz2", "cmd", "codeop", "copyreg", "csv", "dis", "filecmp", "fileinput", "getpass",
    "gzip", "hashlib", "hmac", "locale", "lzma", "mimetypes", "modulefinder", "operator",
    "pickletools", "profile", "pstats", "pty", "rlcompleter", "secrets", "shelve", "stringprep",
    "symtable", "timeit", "tracemalloc", "uuid", "wave", "webbrowser", "zipapp",
)

# Directories of the stdlib that are not library source a code model should learn from.
_SKIPPED_DIRS = frozenset({"test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "__pycache__"})


def stdlib_dir() -> Path:
    """The directory of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def is_held_out(path: Path, root: Path | None = None) -> bool:
    """Whether a stdlib source file belongs to a held-out module (`textwrap.py`, `difflib.py`)."""
    relative = path.relative_to(root or stdlib_dir())
    return relative.parts[0].removesuffix(".py") in HELD_OUT_MODULES


def stdlib_sources(include_held_out: bool = False) -> Iterator[Path]:
    """Every `.py` file of the standard library in a fixed (sorted) order, tests excluded.

    Held-out modules are left out unless asked for, so a tokenizer or corpus built from this
    never sees what evaluation grades on.
    """
    root = stdlib_dir()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if _SKIPPED_DIRS.intersection(relative.parts[:-1]):
            continue
        if not include_held_out and is_held_out(path, root):
            continue
        yield path


def train_module_sources() -> list[Path]:
    """The `.py` files of the `TRAIN_MODULES` (a package contributes all its files), sorted."""
    root = stdlib_dir()
    return [path for path in stdlib_sources() if path.relative_to(root).parts[0].removesuffix(".py") in TRAIN_MODULES]


# --- the corpus as a repository -------------------------------------------------------------------

# The modules laid out as the default corpus repository: every split module that is a single
# file (a package such as `html` would need its subpackages laid out too) and whose tests take
# seconds, traced included: queue's sleep on threads (~20 s), statistics' 60,000 subtests (~70 s
# traced) would each cost more than the rest of the corpus together. posixpath is frozen into the
# interpreter: its tests import the frozen module, so no mutant of the copy is ever reached.
CORPUS_MODULES: tuple[str, ...] = tuple(
    m for m in TRAIN_MODULES + HELD_OUT_MODULES if m not in ("html", "queue", "statistics", "posixpath")
)
TESTS_DIR = "tests"
# The copies live in `src/`, not at the root: `python -m pytest` puts the root on sys.path before
# pytest starts, and pytest would then import (and be broken by) a mutated `src/fnmatch.py`.
SOURCE_DIR = "src"
CORPUS_MARKER = ".apprentice-corpus"  # lists the modules; kept out of the commit (.gitignore)

# pytest and its plugins import some corpus modules (fnmatch, textwrap, copy...) before any test:
# dropping them from sys.modules makes the tests' own `import fnmatch` load the repository's copy,
# while pytest keeps the objects it already holds (so a mutant never breaks the runner itself).
_CONFTEST = '''"""Make the tests import this repository's copies of the standard-library modules."""

import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent / "src"
sys.path.insert(0, str(_SOURCE))
for _module in sorted(path.stem for path in _SOURCE.glob("*.py")):
    sys.modules.pop(_module, None)
'''

# The corpus's tests use no pytest plugin. Two come installed with apprentice (anyio's, through FastAPI and
# httpx, and pytest-timeout) and would load in every run, which every mutant validation, replayed episode and
# grade pays at least once (benchmarks/corpus_pytest_startup.py). The sandbox has its own time limit.
_PYPROJECT = """[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-p no:anyio -p no:timeout"
"""


def corpus_split(path: str) -> str:
    """"eval" for a file of a held-out module (`src/textwrap.py`), "train" for any other corpus file."""
    return "eval" if Path(path).stem in HELD_OUT_MODULES else "train"


def is_corpus_repo(path: Path) -> bool:
    """Whether `path` is a corpus repository `build_corpus_repo` laid out (its marker file is there)."""
    return (Path(path) / CORPUS_MARKER).is_file()


def build_corpus_repo(destination: Path, modules: tuple[str, ...] = CORPUS_MODULES) -> Path:
    """Lay out `modules` with their own tests as a git repository at `destination`; return it.

    Layout: `src/<module>.py` (copied from the stdlib), `tests/test_<module>.py` (from its `test`
    package), a root `conftest.py` that makes the tests import the copies, one commit. An
    existing repository built from the same modules is reused as it is.
    """
    destination = Path(destination)
    marker = destination / CORPUS_MARKER
    wanted = "\n".join(modules) + "\n"
    if marker.is_file() and marker.read_text() == wanted and (destination / ".git").is_dir():
        return destination
    if destination.exists() and any(destination.iterdir()):
        raise CorpusError(f"{destination} exists and is not a corpus of the same modules; "
                          f"remove it or pick another directory")
    (destination / TESTS_DIR).mkdir(parents=True, exist_ok=True)
    (destination / SOURCE_DIR).mkdir(exist_ok=True)
    for module in modules:
        _copy_module(module, destination)
    (destination / "conftest.py").write_text(_CONFTEST)
    (destination / "pyproject.toml").write_text(_PYPROJECT)
    (destination / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n.apprentice-corpus\n")
    marker.write_text(wanted)
    commit_tree(destination, f"standard-library corpus of Python {sys.version.split()[0]}")
    return destination


def _copy_module(module: str, destination: Path) -> None:
    source, test = stdlib_dir() / f"{module}.py", stdlib_dir() / "test" / f"test_{module}.py"
    if not source.is_file():
        raise CorpusError(f"corpus module {module!r}: {source} is not a single-file module of this "
                          f"interpreter; pick modules that are one .py file in {stdlib_dir()}")
    if _imp.is_frozen(module):
        raise CorpusError(f"corpus module {module!r} is frozen into this interpreter: its tests would import "
                          f"the frozen module, never the copy; pick a module that is not frozen")
    if not test.is_file():
        raise CorpusError(f"corpus module {module!r} has no test file {test}; this interpreter "
                          f"ships without its test package (Debian: apt-get install libpython3-testsuite)")
    shutil.copyfile(source, destination / SOURCE_DIR / f"{module}.py")
    shutil.copyfile(test, destination / TESTS_DIR / f"test_{module}.py")


TRAINING_REF = "refs/apprentice/training"


def training_commit(repo: Path, commit: str) -> str:
    """A child of `commit` in the corpus repository `repo` without the held-out modules' sources and tests.

    A training episode's workspace is exported from its task's commit; its `list_files` and `search` would
    otherwise show the held-out modules to the model. Deterministic (fixed identity and date), so the same
    commit comes back each time; a ref keeps it from git's garbage collection.
    """
    held_out = [path for module in HELD_OUT_MODULES
                for path in (f"{SOURCE_DIR}/{module}.py", f"{TESTS_DIR}/test_{module}.py")]
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, **_GIT_IDENTITY, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(repo, env, "read-tree", commit)
        _git(repo, env, "rm", "-q", "--cached", "--ignore-unmatch", "--", *held_out)
        tree = _git(repo, env, "write-tree")
        child = _git(repo, env, "commit-tree", tree, "-p", commit, "-m", "training side: held-out modules removed")
        _git(repo, env, "update-ref", TRAINING_REF, child)
    return child


def _git(repo: Path, env: dict[str, str], *arguments: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *arguments], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise CorpusError(f"git {arguments[0]} in {repo} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def commit_tree(repo: Path, message: str) -> str:
    """`git init` (if needed), add everything, commit with a fixed identity; return the commit."""
    env = {**os.environ, **_GIT_IDENTITY}
    for arguments in (("init", "-q"), ("add", "-A"), ("commit", "-q", "--allow-empty", "-m", message)):
        done = subprocess.run(["git", "-C", str(repo), *arguments], capture_output=True, text=True,
                              env=env, check=False)
        if done.returncode != 0:
            raise CorpusError(f"git {arguments[0]} in {repo} failed: {done.stderr.strip()}")
    return head_commit(repo)


_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "apprentice", "GIT_AUTHOR_EMAIL": "apprentice@localhost",
    "GIT_COMMITTER_NAME": "apprentice", "GIT_COMMITTER_EMAIL": "apprentice@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


def head_commit(repo: Path) -> str:
    """The commit HEAD points at in `repo`."""
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "HEAD^{commit}"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CorpusError(f"{repo} has no commit ({done.stderr.strip()}); remove it so it is built again")
    return done.stdout.strip()
