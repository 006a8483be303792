"""Gold trajectories verified green by replay: the share kept, and why the others were dropped.

    .venv/bin/python benchmarks/gold_trajectories.py [TASKS.jsonl ...] [--limit N] [--json OUT]

Without arguments it runs on the four tiny fixture repositories (python, rust, typescript, go;
a language whose toolchain is missing shows up as a drop reason). With task files (e.g. what
`apprentice tasks mutate` wrote for the embedded stdlib corpus) it runs on their tasks.

Every trajectory is acted out with the agent's real tools in a sandboxed workspace and graded;
only green ones are kept, then held to the SPEC §6 trajectory requirements. Baseline in the same
run: the template source on the same tasks (the same fix reached along another path: list_files,
search or a failing test run first), to show how much the path itself costs in kept share.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from apprentice.data.quality import check_trajectories
from apprentice.data.trajectories import gold_trajectories
from apprentice.tasks.task import RepoRef, Task, read_tasks

REPOS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "repos"


def fixture_tasks() -> list[Task]:
    """The tiny repositories' tasks, their repo paths made absolute."""
    tasks = []
    for language in ("python", "rust", "typescript", "go"):
        task = Task.from_json((REPOS / language / "task.json").read_text())
        tasks.append(dataclasses.replace(task, repo=RepoRef(path=str(REPOS / language / "repo"))))
    return tasks


def measure(tasks: list[Task], template: bool) -> dict:
    """Build one source's trajectories; its report, the quality check and the wall time."""
    started = time.monotonic()
    kept, report = gold_trajectories(tasks, template=template)
    seconds = time.monotonic() - started
    quality = check_trajectories(kept)
    print(report.text())
    print(f"  {seconds:.1f} s ({seconds / max(1, len(tasks)):.1f} s per task); data check "
          f"{'passed' if quality.passed else 'FAILED'} on the kept ones")
    return {"report": report.to_dict(), "seconds": round(seconds, 2), "check_passed": quality.passed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", type=Path, help="task JSONL files (default: the fixture repos)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many tasks")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    tasks = [task for path in args.tasks for task in read_tasks(path)] if args.tasks else fixture_tasks()
    tasks = tasks[:args.limit]
    print(f"{len(tasks)} tasks ({', '.join(sorted({task.language for task in tasks}))})")
    gold = measure(tasks, template=False)
    template = measure(tasks, template=True)
    ratio = template["report"]["kept_share"] / gold["report"]["kept_share"] if gold["report"]["kept_share"] else 0.0
    print(f"kept share: gold {gold['report']['kept_share']:.0%}, template {template['report']['kept_share']:.0%} "
          f"(template / gold = {ratio:.2f})")
    if args.json:
        args.json.write_text(json.dumps({"tasks": len(tasks), "gold": gold, "template": template}, indent=2) + "\n")


if __name__ == "__main__":
    main()
