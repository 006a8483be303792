"""History mining figures: commits scanned per second, kept after the filter, validated, drop reasons.

    .venv/bin/python benchmarks/mine_history.py                 # this checkout's own history
    .venv/bin/python benchmarks/mine_history.py --repo PATH     # any full (non-shallow) clone
    .venv/bin/python benchmarks/mine_history.py --replay-stdlib # a replayed history, see below

The ratio printed is the cost of validation: full mining time over the metadata-only scan of the
same history in the same run. `--replay-stdlib` builds a history that is synthetic in its commits
and messages but real in its content: every pure-Python module below, with its own test file,
committed once per CPython release found under ~/.pyenv/versions (oldest first), so each commit
is the real change between two releases.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from pydriller import Repository

from apprentice.languages.registry import get_language
from apprentice.tasks.history import git as commit_git
from apprentice.tasks.history.commit_filter import CommitFacts, drop_reason
from apprentice.tasks.history.mine import mine_commits

MODULES = ("textwrap", "heapq", "bisect", "fnmatch", "shlex", "getopt", "colorsys", "quopri", "calendar",
           "string", "glob", "keyword", "operator", "statistics", "fractions", "base64", "csv", "json/__init__",
           "difflib", "configparser")
ENV = {**os.environ, "GIT_AUTHOR_NAME": "replay", "GIT_AUTHOR_EMAIL": "replay@localhost",
       "GIT_COMMITTER_NAME": "replay", "GIT_COMMITTER_EMAIL": "replay@localhost"}


def replay_stdlib(target: Path) -> Path:
    """A git history of real stdlib modules and tests, one commit per module per CPython release."""
    versions = sorted((Path.home() / ".pyenv" / "versions").glob("[23].*"),
                      key=lambda path: tuple(int(part) for part in path.name.split(".")))
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True)
    for version in versions:
        lib = next((version / "lib").glob("python*"))
        for module in MODULES:
            source, test = lib / f"{module}.py", lib / "test" / f"test_{module.split('/')[0]}.py"
            if not source.is_file():
                continue
            name = module.split("/")[0]
            (target / "test").mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / f"{name}.py")
            if test.is_file():
                shutil.copy(test, target / "test" / f"test_{name}.py")
            subprocess.run(["git", "-C", str(target), "add", "-A"], check=True)
            subprocess.run(["git", "-C", str(target), "commit", "-q", "--allow-empty", "-m",
                            f"Port the {name} module to Python {version.name}"], check=True, env=ENV)
    return target


def scan_only(repo: Path, language: str) -> tuple[int, Counter[str], float]:
    """The metadata filter alone over the whole history: (commits, drops per reason, seconds)."""
    started, lang, dropped, seen = time.monotonic(), get_language(language), Counter(), 0
    head = commit_git.check_history(repo)
    changes = commit_git.numstat(repo, head)
    for commit in Repository(str(repo), to_commit=head).traverse_commits():
        facts = CommitFacts(commit.hash, commit.msg, commit.author.name or "", commit.author.email or "",
                            len(commit.parents), changes.get(commit.hash, ()))
        seen += 1
        dropped[drop_reason(facts, lang) or "(candidate)"] += 1
    return seen, dropped, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--replay-stdlib", action="store_true")
    parser.add_argument("--language", default="python")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mine-history-") as scratch:
        if args.replay_stdlib:
            repo = replay_stdlib(Path(scratch) / "stdlib-replay")
        else:  # mine a clone: mining pins each kept task with a ref, and the original stays untouched
            repo = Path(scratch) / args.repo.resolve().name
            subprocess.run(["git", "clone", "-q", "--no-local", str(args.repo.resolve()), str(repo)], check=True)
        seen, dropped, scan_s = scan_only(repo, args.language)
        print(f"repository: {repo} ({'replayed stdlib releases' if args.replay_stdlib else 'real history'})")
        print(f"metadata scan: {seen} commits in {scan_s:.2f}s = {seen / scan_s:.1f} commits/s")
        print(f"kept after the filter: {dropped['(candidate)']} of {seen}")
        out = Path(scratch) / "tasks.jsonl"
        stats = mine_commits(repo, args.language, out)
        print(f"full mining (filter + sandboxed validation): {stats.seconds:.2f}s, validated {stats.validated}")
        print("drop reasons: " + ", ".join(f"{reason}={count}" for reason, count in stats.dropped.most_common()))
        print(f"ratio full/scan-only time: {stats.seconds / scan_s:.1f}x")


if __name__ == "__main__":
    main()
