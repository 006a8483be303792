"""The embedded default corpus: the running interpreter's own standard library and its tests.

The held-out modules are the one list that both the base tokenizer (which must never see them)
and evaluation (which grades on them) read, so that held-out really means unseen.
"""

import sysconfig
from collections.abc import Iterator
from pathlib import Path

# Pure-Python modules whose own tests run in seconds. Evaluation grades on these; nothing that
# trains (tokenizer, pretraining corpus, training tasks) may read them.
HELD_OUT_MODULES: tuple[str, ...] = ("textwrap", "shlex", "fnmatch", "colorsys", "graphlib", "difflib")

# Pure-Python modules with fast tests in the `test` package: the training side of the split.
TRAIN_MODULES: tuple[str, ...] = (
    "bisect", "calendar", "fractions", "statistics", "string", "html", "glob", "posixpath",
    "ipaddress", "base64", "pprint", "reprlib", "getopt", "optparse", "gettext", "netrc",
    "plistlib", "quopri", "sched", "queue", "tabnanny", "configparser", "heapq", "copy",
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
