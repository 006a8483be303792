"""Sandbox overhead: median extra wall time of a sandboxed test run over the same run bare.

    .venv/bin/python benchmarks/sandbox_overhead.py [--runs 30]

Runs `python -m unittest test_colorsys` (a copy of the standard library's test module, in a
workspace) N times bare and N times sandboxed, interleaved so machine load hits both alike.
Target: extra <= 50 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import test.test_colorsys

from apprentice.sandbox import create_workspace, remove_workspace, run_sandboxed, sandbox_env

COMMAND = [sys.executable, "-m", "unittest", "-q", "test_colorsys"]


def _bare_seconds(workspace: Path) -> float:
    # Same environment as the sandboxed run, so the only difference is the sandbox.
    start = time.perf_counter()
    done = subprocess.run(COMMAND, cwd=workspace, env=sandbox_env(workspace), capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bare run failed: {done.stderr.decode()}")
    return elapsed


def _sandboxed_seconds(workspace: Path) -> float:
    start = time.perf_counter()
    result = run_sandboxed(COMMAND, workspace)
    elapsed = time.perf_counter() - start
    if not result.passed:
        raise SystemExit(f"sandboxed run failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "colorsys-tests"
        repo.mkdir()
        shutil.copy(test.test_colorsys.__file__, repo / "test_colorsys.py")
        workspace = create_workspace(repo)
        try:
            _bare_seconds(workspace), _sandboxed_seconds(workspace)  # warm caches and the probe
            bare, boxed = [], []
            for _ in range(args.runs):
                bare.append(_bare_seconds(workspace))
                boxed.append(_sandboxed_seconds(workspace))
        finally:
            remove_workspace(workspace)
    bare_ms, boxed_ms = statistics.median(bare) * 1000, statistics.median(boxed) * 1000
    print(f"runs: {args.runs} each, interleaved; command: python -m unittest test_colorsys")
    print(f"bare median: {bare_ms:.1f} ms   sandboxed median: {boxed_ms:.1f} ms")
    print(f"sandbox overhead: {boxed_ms - bare_ms:.1f} ms extra (ratio {boxed_ms / bare_ms:.2f}x); "
          f"target <= 50 ms")


if __name__ == "__main__":
    main()
