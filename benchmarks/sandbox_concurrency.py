"""200 sandboxed runs at concurrency 8: all complete; no process left behind.

    .venv/bin/python benchmarks/sandbox_concurrency.py [--runs 200] [--workers 8]

Each run is a short Python program that also starts a background child which would outlive
it; the count of processes carrying this benchmark's marker must be 0 afterwards, as must the
count of sandbox cgroups. The host-wide process count is printed too (other work on the
machine moves it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from apprentice.sandbox import (
    Limits,
    SandboxFailure,
    SandboxPool,
    create_workspace,
    detect,
    remove_workspace,
    run_sandboxed,
)

PROGRAM = ("import subprocess, sys\n"
           "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', sys.argv[1]],"
           " start_new_session=True)\nprint(int(sys.argv[2]) * 2)")


def _processes(marker: str | None = None) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):  # exited while counting
            continue
        count += marker is None or marker.encode() in cmdline
    return count


def _sandbox_cgroups() -> int:
    hierarchy = detect().pids_hierarchy
    return 0 if hierarchy is None else len(list(hierarchy.glob("apprentice-sandbox-*")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    marker = f"apprentice-bench-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as scratch:
        workspace = create_workspace(Path(scratch))
        before = (_processes(), _processes(marker), _sandbox_cgroups())
        start = time.perf_counter()
        with SandboxPool(workers=args.workers) as pool:
            results = pool.map(lambda i: run_sandboxed(
                [sys.executable, "-c", PROGRAM, marker, str(i)], workspace,
                Limits(wall_seconds=60)), range(args.runs))
        elapsed = time.perf_counter() - start
        after = (_processes(), _processes(marker), _sandbox_cgroups())
        remove_workspace(workspace)
    correct = sum(not isinstance(r, SandboxFailure) and r.passed and r.stdout == f"{2 * i}\n"
                  for i, r in enumerate(results))
    print(f"{args.runs} sandboxed runs at concurrency {args.workers}: {correct}/{args.runs} "
          f"completed with the right output in {elapsed:.1f} s "
          f"({args.runs / elapsed:.1f} runs/s)")
    print(f"processes with the run marker: before {before[1]}, after {after[1]}")
    print(f"sandbox cgroups: before {before[2]}, after {after[2]}")
    print(f"all processes on the host (other work moves this): before {before[0]}, "
          f"after {after[0]}")
    print(f"isolation: {', '.join(results[0].isolation) if correct else 'n/a'}")


if __name__ == "__main__":
    main()
