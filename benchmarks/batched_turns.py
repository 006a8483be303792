"""Held-out evaluation of a trained adapter: episodes' turns decoded in batched rounds vs one at a time.

    .venv/bin/python benchmarks/batched_turns.py [--run runs/demo] [--version sft] [--tasks 4] [--workers 4] [--rounds 2]

Evaluates `--version`'s adapter of a finished run (`make demo` leaves one in runs/demo) on the
first `--tasks` held-out tasks, with the run's own eval settings (turns, tokens per turn), through
`apprentice.evaluation.harness.evaluate` with `--workers` episodes at once, three ways:
- eager, one at a time: transformers' eager gpt-oss attention, every turn generated alone, the
  others waiting on a lock (the harness before 0644ff1; written here as the baseline);
- one at a time: the same with `LocalBackend`'s fused sink attention (`base/attention.py`);
- batched: `eval_cli.local_factory`, the running episodes' turns decoded together per round.
Each loads the model once; they run in turn for `--rounds` rounds, the order rotating (the
machine's load drifts). Prints each run's seconds, the mean ratios against the baseline, the batch
sizes of the rounds, and whether every way wrote the same episodes (every assistant turn
identical): greedy rows should not change.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from apprentice.agent.backends import LocalBackend, _with_adapter
from apprentice.agent.batching import GenerationBatcher
from apprentice.agent.loop import LoopConfig
from apprentice.artifacts import RunDir
from apprentice.base.load import load_base
from apprentice.config.models import load_config
from apprentice.evaluation.harness import RESULTS_FILE, EvalStamp, evaluate, read_rows
from apprentice.evaluation.targets import load_tasks


def one_at_a_time(model: LocalBackend, max_new_tokens: int):
    """A baseline factory: one shared model, every turn generated alone under a lock."""
    lock = threading.Lock()

    class Locked:
        source = "self"

        def __init__(self, backend: LocalBackend):
            self.backend = backend

        def respond(self, messages, tools):
            with lock:
                return self.backend.respond(messages, tools)

    return lambda temperature, seed: Locked(LocalBackend.from_model(model.model, model.tokenizer, temperature,
                                                                     max_new_tokens, seed))


def eager_backend(base: Path, adapter: Path, max_new_tokens: int) -> LocalBackend:
    """The model with transformers' eager gpt-oss attention (what `LocalBackend` loaded before)."""
    model, tokenizer = load_base(base)
    return LocalBackend.from_model(_with_adapter(model, adapter), tokenizer, max_new_tokens=max_new_tokens)


def timed(tasks, factory, out_dir: Path, stamp: EvalStamp, workers: int, loop: LoopConfig) -> tuple[float, list[dict]]:
    """Seconds of one evaluation, and its rows."""
    started = time.perf_counter()
    evaluate(tasks, factory, out_dir, stamp, attempts=1, workers=workers, loop=loop)
    return time.perf_counter() - started, read_rows(out_dir / RESULTS_FILE)


def assistant_turns(rows: list[dict]) -> dict[str, list[str]]:
    return {row["task_id"]: [str(m.get("content")) + str(m.get("tool_calls")) for m in row["messages"]
                             if m["role"] == "assistant"] for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/demo"))
    parser.add_argument("--version", default="sft", choices=["sft", "preference", "grpo"])
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    run = RunDir(arguments.run)
    settings = load_config(run.config_file, []).eval
    base = run.pretrained_model
    adapter = run.stage_dir("python", arguments.version) / "adapter"
    if not adapter.is_dir():
        raise SystemExit(f"no adapter at {adapter}: run `make demo` first or pass --run RUN_DIR")
    tasks = load_tasks(run.tasks_file("python", "eval"))[: arguments.tasks]
    loop = LoopConfig(max_turns=settings.max_turns, max_new_tokens=settings.max_new_tokens)
    stamp = EvalStamp.build("python", arguments.version, adapter, base, tasks)
    tokens = settings.max_new_tokens
    batcher = GenerationBatcher(LocalBackend(base, adapter, max_new_tokens=tokens))  # as local_factory builds it
    factories = {"eager, one at a time": one_at_a_time(eager_backend(base, adapter, tokens), tokens),
                 "one at a time": one_at_a_time(batcher.backend, tokens), "batched": batcher.episode}
    seconds: dict[str, list[float]] = {name: [] for name in factories}
    turns: dict[str, dict] = {}
    names = list(factories)
    with tempfile.TemporaryDirectory() as holder:
        for round_number in range(arguments.rounds):
            for name in names[round_number % 3:] + names[:round_number % 3]:
                rounds_before = len(batcher.rounds)
                spent, rows = timed(tasks, factories[name], Path(holder) / f"{round_number}-{names.index(name)}",
                                    stamp, arguments.workers, loop)
                seconds[name].append(spent)
                turns[name] = assistant_turns(rows)
                sizes = f", batch sizes {batcher.rounds[rounds_before:]}" if name == "batched" else ""
                print(f"round {round_number + 1} {name:>20}: {len(rows)} episodes in {spent:.1f}s{sizes}")
    mean = {name: sum(values) / len(values) for name, values in seconds.items()}
    baseline = turns[names[0]]
    for name in names[1:]:
        same = sum(baseline[task] == turns[name].get(task) for task in baseline)
        print(f"episodes identical to the baseline's, {name}: {same}/{len(baseline)}")
    print(f"{len(tasks)} tasks, {arguments.workers} workers, mean of {arguments.rounds} rounds: "
          + ", ".join(f"{name} {value:.1f}s" for name, value in mean.items()))
    for name in names[1:]:
        print(f"{name} vs eager one at a time: {mean[names[0]] / mean[name]:.2f}x faster")


if __name__ == "__main__":
    main()
