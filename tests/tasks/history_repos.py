"""A git history built in a test: a calculator, noise commits, a merge and one bug fix with its new test.

Shared by the history-mining and task-source tests (imported by name: tests/tasks/conftest.py puts
this folder on sys.path).
"""

import os
import subprocess
from pathlib import Path

CALC = '''def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
'''
CALC_FIXED = CALC.replace("    return sum(values) / len(values)",
                          "    if not values:\n        return 0.0\n    return sum(values) / len(values)")
TESTS = "from calc import add, mean\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_mean():\n    assert mean([1, 3]) == 2\n"
TESTS_FIXED = TESTS + "\n\ndef test_mean_of_nothing_is_zero():\n    assert mean([]) == 0.0\n"
HUMAN = {"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.org"}
BOT = {"GIT_AUTHOR_NAME": "dependabot[bot]", "GIT_AUTHOR_EMAIL": "49699333+dependabot[bot]@users.noreply.github.com"}


def _git(repo: Path, *args: str, author: dict[str, str] = HUMAN) -> str:
    env = {**os.environ, **author, "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.org",
           "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+0000", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+0000"}
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def _commit(repo: Path, message: str, files: dict[str, str], author: dict[str, str] = HUMAN) -> str:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, author=author)
    return _git(repo, "rev-parse", "HEAD")


def build_history(repo: Path) -> dict[str, str]:
    """A small project whose history holds one real bug fix among the noise a filter must drop."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    shas = {"root": _commit(repo, "Add calculator with its tests", {"calc.py": CALC, "tests/test_calc.py": TESTS})}
    shas["docs"] = _commit(repo, "Document how the calculator rounds", {"README.md": "# calc\nRounds half even.\n"})
    shas["bump"] = _commit(repo, "Bump version to 0.2.0", {"calc.py": CALC + '\n__version__ = "0.2.0"\n'})
    shas["bot"] = _commit(repo, "Bump six from 1.15 to 1.16 in requirements",
                          {"requirements.txt": "six==1.16\n", "calc.py": CALC + '\n__version__ = "0.2.1"\n'},
                          author=BOT)
    shas["wip"] = _commit(repo, "wip", {"calc.py": CALC + "\n# more to come\n"})
    _git(repo, "checkout", "-q", "-b", "feature")
    shas["branch"] = _commit(repo, "Add a subtraction helper to the calculator",
                             {"calc.py": CALC + "\n\ndef sub(a, b):\n    return a - b\n"})
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "-m", "Merge branch feature into main", "feature")
    shas["merge"] = _git(repo, "rev-parse", "HEAD")
    merged = (repo / "calc.py").read_text()
    shas["fix"] = _commit(repo, "fix(calc): return zero for the mean of an empty list (#12)",
                          {"calc.py": merged.replace(CALC, CALC_FIXED), "tests/test_calc.py": TESTS_FIXED})
    return shas
