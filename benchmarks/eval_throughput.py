"""Evaluation throughput: tasks per minute with 2 workers against 1 worker, in the same run.

    .venv/bin/python benchmarks/eval_throughput.py [--tasks 6] [--max-turns 2] [--max-new-tokens 48] [--rounds 2]

The embedded base (built fresh in a temporary directory) plays the python fixture task, copied
under `--tasks` distinct ids, through `apprentice.evaluation.harness.evaluate` with the local
backend factory (one shared model; the running episodes' greedy turns decoded in one batch per
round, so 2 workers also batch 2 rows). Each worker count writes its own evaluation directory. The ratio says how much grading overlaps generation: the untrained
base mostly answers without editing, so grading is short here and the ratio is close to the
share of an episode spent outside the model.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from apprentice.agent.loop import LoopConfig
from apprentice.base.tiny import build_tiny_base
from apprentice.evaluation.harness import EvalStamp, evaluate
from apprentice.evaluation.targets import local_factory
from apprentice.tasks.task import RepoRef, Task

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "repos" / "python"


def fixture_tasks(count: int) -> list[Task]:
    """The python fixture task under `count` ids (the same bug, graded independently)."""
    task = Task.from_json((FIXTURE / "task.json").read_text())
    task = dataclasses.replace(task, repo=RepoRef(path=str(FIXTURE / "repo")))
    return [dataclasses.replace(task, id=f"{task.id}-{index}") for index in range(count)]


def timed_run(tasks: list[Task], factory, out_dir: Path, workers: int, loop: LoopConfig) -> float:
    """Tasks per minute of one full evaluation with `workers` threads."""
    stamp = EvalStamp.build("python", f"workers-{workers}", None, "tiny", tasks, base_hash="sha256:tiny")
    started = time.perf_counter()
    summary = evaluate(tasks, factory, out_dir / f"workers-{workers}", stamp, attempts=1, workers=workers, loop=loop)
    seconds = time.perf_counter() - started
    print(f"workers={workers}: {summary.ran} episodes in {seconds:.1f}s = {len(tasks) / seconds * 60:.1f} tasks/min")
    return len(tasks) / seconds * 60


def main() -> None:
    """Build the base, evaluate with 1 then 2 workers, print both rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--max-turns", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as holder:
        base = Path(holder) / "tiny"
        build_tiny_base(base, size="tiny", seed=0)
        factory = local_factory(base, None, arguments.max_new_tokens)
        loop = LoopConfig(max_turns=arguments.max_turns, max_new_tokens=arguments.max_new_tokens)
        tasks = fixture_tasks(arguments.tasks)
        evaluate(tasks[:1], factory, Path(holder) / "warmup", EvalStamp.build(
            "python", "warmup", None, "tiny", tasks[:1], base_hash="sha256:tiny"), loop=loop)  # first-call costs
        # Alternated rounds: the machine's load drifts, so neither worker count gets all the quiet time.
        rates: dict[int, list[float]] = {1: [], 2: []}
        for round_number in range(arguments.rounds):
            for workers in (1, 2) if round_number % 2 == 0 else (2, 1):
                rates[workers].append(timed_run(tasks, factory, Path(holder) / str(round_number), workers, loop))
    one, two = (sum(rates[w]) / len(rates[w]) for w in (1, 2))
    print(f"mean of {arguments.rounds} rounds: 1 worker {one:.1f}, 2 workers {two:.1f} tasks/min")
    print(f"2 workers vs 1 worker: {two / one:.2f}x tasks/minute")


if __name__ == "__main__":
    main()
