"""What one `apprentice eval` call evaluates, resolved from its flags and the run directory's defaults.

Defaults come from the run directory: tasks from `tasks/<target>/eval.jsonl`, the base from the
pretraining stage's model (else the run's base, or the user's model its POINTER names), the
adapter from the target's GRPO stage. A version (`3`, `python-v3`, an alias, `base`) resolves
through the registry; an endpoint URL with a model name evaluates a served model instead.
Results land in `eval/<target>/<version>/`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from apprentice.agent.backends import LocalBackend, OpenAIBackend
from apprentice.agent.batching import GenerationBatcher
from apprentice.agent.loop import LoopConfig
from apprentice.artifacts import METRICS_FILE, RunDir, hash_path, hash_value
from apprentice.errors import EvaluationError, TaskFormatError
from apprentice.evaluation.harness import BackendFactory, EvalStamp, EvalSummary, evaluate
from apprentice.stages.result import check_adapter_base
from apprentice.tasks.task import Task, read_tasks


@dataclasses.dataclass(frozen=True)
class EvalTarget:
    """What one `apprentice eval` call evaluates: which weights, under which label, against what."""

    version: str
    base: Path | str  # a model directory, or the endpoint URL
    adapter: Path | None
    production_metrics: Path | None = None


@dataclasses.dataclass(frozen=True)
class EvalJob:
    """One resolved evaluation, ready to run: the tasks, the weights, the backends, where results go."""

    target: str
    chosen: EvalTarget
    tasks: list[Task]
    factory: BackendFactory
    stamp: EvalStamp
    loop: LoopConfig
    out_dir: Path

    @property
    def metrics_file(self) -> Path:
        """`eval/<target>/<version>/metrics.json`."""
        return self.out_dir / METRICS_FILE

    def run(self, attempts: int, workers: int, on_row: Callable[[dict], None] | None = None) -> EvalSummary:
        """Evaluate every task `attempts` times, `workers` episodes at once; `on_row` sees each result row."""
        return evaluate(self.tasks, self.factory, self.out_dir, self.stamp, attempts, workers, self.loop,
                        self.chosen.production_metrics, on_row=on_row)


def prepare_eval(run_dir: Path, target: str, adapter: Path | None, version: str | None, tasks_file: Path | None,
                 endpoint: str | None, model_name: str | None, max_turns: int, max_new_tokens: int = 512) -> EvalJob:
    """Resolve the tasks, the weights and the backends of one evaluation from the flags and the run's defaults."""
    if adapter is not None and version is not None:
        raise EvaluationError("give --adapter or --version, not both")
    run = RunDir(run_dir)
    tasks = load_tasks(tasks_file or run.tasks_file(target, "eval"))
    chosen = resolve_target(run_dir, target, adapter, version, endpoint, model_name)
    loop = LoopConfig(max_turns=max_turns, max_new_tokens=max_new_tokens)
    if endpoint is not None:
        factory = endpoint_factory(endpoint, model_name or "default", max_new_tokens)
        stamp = EvalStamp.build(target, chosen.version, None, endpoint, tasks, base_hash=hash_value([endpoint, model_name]))
    else:
        stamp = EvalStamp.build(target, chosen.version, chosen.adapter, chosen.base, tasks)
        if chosen.adapter is not None:
            check_adapter_base(chosen.adapter, stamp.base_hash)
        factory = local_factory(Path(chosen.base), chosen.adapter, max_new_tokens)
    return EvalJob(target, chosen, tasks, factory, stamp, loop, run.eval_dir(target, chosen.version))


def resolve_target(run_dir: Path, target: str, adapter: Path | None, version: str | None,
                   endpoint: str | None, model_name: str | None) -> EvalTarget:
    """The weights and label to evaluate from the flags, with the run directory's defaults."""
    production = _production_metrics(run_dir, target)
    if endpoint is not None:
        return EvalTarget(model_name or "endpoint", endpoint, None, production)
    base = resolve_base(run_dir)
    if version == "base":
        return EvalTarget("base", base, None, production)
    if version is not None:
        record = RunDir(run_dir).open_registry().resolve(f"{target}-v{version}" if version.isdigit() else version)
        return EvalTarget(record.version, base, Path(record.path), production)
    if adapter is None:
        adapter = RunDir(run_dir).stage_dir(target, "grpo") / "adapter"
        if not adapter.is_dir():
            raise EvaluationError(f"no GRPO adapter for '{target}' at {adapter}; train it (apprentice run) or pass "
                                  "--adapter PATH, --version N, or --version base")
        return EvalTarget("grpo", base, adapter, production)
    if not Path(adapter).is_dir():
        raise EvaluationError(f"adapter '{adapter}' does not exist; pass the adapter/ directory of a finished stage")
    return EvalTarget(_adapter_label(Path(adapter)), base, Path(adapter), production)


def resolve_base(run_dir: Path) -> Path:
    """The base the run's adapters were trained on: the pretrained model, else the user's base, else the embedded one."""
    base = RunDir(run_dir).trained_base()
    if base is None:
        raise EvaluationError(f"run '{run_dir}' has no base; run `apprentice run` first or pass --run for another run")
    return base


def load_tasks(tasks_file: Path) -> list[Task]:
    """Every task of a JSONL file; a relative repository path is taken from the file's folder."""
    if not tasks_file.is_file():
        raise EvaluationError(f"tasks file '{tasks_file}' does not exist; build the tasks (apprentice run) or pass --tasks FILE")
    try:
        return read_tasks(tasks_file)
    except TaskFormatError as error:  # the evaluation's own error family, naming the file and line
        raise EvaluationError(str(error)) from error


def local_factory(model_dir: Path, adapter: Path | None, max_new_tokens: int) -> BackendFactory:
    """A factory of backends sharing one loaded model, their greedy turns decoded in batched rounds.

    One model for all workers keeps memory flat. The episodes running at once (`workers`) share each
    round (`apprentice.agent.batching`); sampled attempts generate alone, so each call's seeded
    sampling stays reproducible (torch's generator is global) while the other workers grade.
    """
    return GenerationBatcher(LocalBackend(model_dir, adapter, max_new_tokens=max_new_tokens)).episode


def endpoint_factory(endpoint: str, model_name: str, max_tokens: int) -> BackendFactory:
    """Backends asking an OpenAI-compatible server; the key from OPENAI_API_KEY when it is set."""
    import os

    key_env = "OPENAI_API_KEY" if os.environ.get("OPENAI_API_KEY") else None
    return lambda temperature, seed: OpenAIBackend(endpoint, model_name, key_env, temperature, max_tokens)


def _adapter_label(adapter: Path) -> str:
    """`sft` / `preference` / `grpo` for a stage's adapter/, else a label from the adapter's content hash."""
    if adapter.name == "adapter" and adapter.parent.name in ("sft", "preference", "grpo"):
        return adapter.parent.name
    return "adapter-" + hash_path(adapter).removeprefix("sha256:")[:8]


def _production_metrics(run_dir: Path, target: str) -> Path | None:
    """The eval metrics.json of the target's production version, when a registry and that file exist."""
    run = RunDir(run_dir)
    if not run.registry_path.exists():
        return None
    record = run.open_registry().production().get(target)
    path = run.eval_dir(target, record.version) / METRICS_FILE if record else None
    return path if path is not None and path.exists() else None
