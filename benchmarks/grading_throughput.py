"""Graded patches per second on the python tiny repository, against the bare test command.

    .venv/bin/python benchmarks/grading_throughput.py [--patches 20]

Baseline, measured in the same run: `python -m pytest` on the same tests in an already-patched
copy (no workspace copy, no sandbox, no build/lint steps). The ratio is the price of grading.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apprentice.grading.grade import grade
from apprentice.tasks.task import RepoRef, Task

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "repos" / "python"


def bare_rate(task: Task, patch: str, runs: int) -> float:
    """Test runs per second of the bare test command in a patched copy."""
    with tempfile.TemporaryDirectory() as holder:
        repo = Path(holder) / "repo"
        shutil.copytree(task.repo.path, repo)
        subprocess.run(["git", "apply", "-"], cwd=repo, input=patch.encode(), check=True)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *task.fail_to_pass,
            *task.pass_to_pass,
        ]
        started = time.perf_counter()
        for _ in range(runs):
            subprocess.run(command, cwd=repo, check=True, capture_output=True)
        return runs / (time.perf_counter() - started)


def graded_rate(task: Task, patch: str, runs: int) -> float:
    """Full grades per second (workspace, sandbox, build, tests, canary, lint, reward)."""
    started = time.perf_counter()
    for _ in range(runs):
        outcome = grade(task, patch)
        if outcome.reward != 1.0:
            raise SystemExit(f"honest fix did not grade 1.0: {outcome.summary()}")
    return runs / (time.perf_counter() - started)


def main() -> None:
    """Print both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=20)
    runs = parser.parse_args().patches
    task = Task.from_json((FIXTURE / "task.json").read_text())
    task = dataclasses.replace(task, repo=RepoRef(path=str(FIXTURE / "repo")))
    patch = (FIXTURE / "fix.patch").read_text()
    bare, graded = bare_rate(task, patch, runs), graded_rate(task, patch, runs)
    print(f"bare pytest runs/s:       {bare:.2f}  ({runs} runs)")
    print(f"graded patches/s:         {graded:.2f}  ({runs} grades, reward 1.0 each)")
    print(f"grading / bare ratio:     {graded / bare:.2f}")


if __name__ == "__main__":
    main()
