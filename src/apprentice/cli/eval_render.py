"""`apprentice eval`: resolve what to evaluate from the run directory, run the harness, print the table.

    apprentice eval --target python [--run RUN] [--adapter PATH | --version N] [--tasks FILE]

Defaults come from the run directory: tasks from `tasks/<target>/eval.jsonl`, the base from the
pretraining stage's model (else the run's base, or the user's model its POINTER names), the
adapter from the target's GRPO stage. `--version N` (or `python-v3`, an alias, `base`) resolves
through the registry; `--endpoint URL --model-name NAME` evaluates a served model instead.
Results land in `eval/<target>/<version>/`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apprentice.agent.backends import LocalBackend, OpenAIBackend
from apprentice.agent.batching import GenerationBatcher
from apprentice.agent.loop import LoopConfig
from apprentice.artifacts import hash_path, hash_value
from apprentice.errors import EvaluationError, TaskFormatError
from apprentice.evaluation.harness import METRICS_FILE, BackendFactory, EvalStamp, evaluate
from apprentice.stages.result import check_adapter_base
from apprentice.tasks.task import RepoRef, Task


@dataclasses.dataclass(frozen=True)
class EvalTarget:
    """What one `apprentice eval` call evaluates: which weights, under which label, against what."""

    version: str
    base: Path | str  # a model directory, or the endpoint URL
    adapter: Path | None
    production_metrics: Path | None = None


def eval_from_cli(run_dir: Path, target: str, adapter: Path | None, version: str | None, tasks_file: Path | None,
                  attempts: int, workers: int, endpoint: str | None, model_name: str | None, max_turns: int,
                  console: Console | None = None, max_new_tokens: int = 512) -> Path:
    """Resolve the defaults, evaluate with a progress bar, print the metric table; the metrics.json path."""
    console = console or Console()
    if adapter is not None and version is not None:
        raise EvaluationError("give --adapter or --version, not both")
    tasks = load_tasks(tasks_file or run_dir / "tasks" / target / "eval.jsonl")
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
    out_dir = run_dir / "eval" / target / chosen.version
    with _progress(console) as progress:
        bar = progress.add_task(f"eval {target} {chosen.version}", total=len(tasks) * attempts)
        summary = evaluate(tasks, factory, out_dir, stamp, attempts, workers, loop, chosen.production_metrics,
                           on_row=lambda row: progress.advance(bar))
    console.print(metric_table(summary.metrics))
    console.print(f"{summary.ran} attempts run, {summary.reused} reused, {summary.seconds:.1f}s -> {out_dir / METRICS_FILE}")
    return out_dir / METRICS_FILE


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
        # Imported here: the registry is only needed when a version is asked for.
        from apprentice.registry.registry import Registry

        record = Registry.for_run(run_dir).resolve(f"{target}-v{version}" if version.isdigit() else version)
        return EvalTarget(record.version, base, Path(record.path), production)
    if adapter is None:
        adapter = run_dir / "stages" / target / "grpo" / "adapter"
        if not adapter.is_dir():
            raise EvaluationError(f"no GRPO adapter for '{target}' at {adapter}; train it (apprentice run) or pass "
                                  "--adapter PATH, --version N, or --version base")
        return EvalTarget("grpo", base, adapter, production)
    if not Path(adapter).is_dir():
        raise EvaluationError(f"adapter '{adapter}' does not exist; pass the adapter/ directory of a finished stage")
    return EvalTarget(_adapter_label(Path(adapter)), base, Path(adapter), production)


def resolve_base(run_dir: Path) -> Path:
    """The base the run's adapters were trained on: the pretrained model, else the user's base, else the embedded one."""
    pretrained = run_dir / "stages" / "base" / "pretrain" / "model"
    if pretrained.is_dir():
        return pretrained
    pointer = run_dir / "base" / "POINTER"
    if pointer.is_file():
        return Path(pointer.read_text(encoding="utf-8").strip())
    if not (run_dir / "base").is_dir():
        raise EvaluationError(f"run '{run_dir}' has no base; run `apprentice run` first or pass --run for another run")
    return run_dir / "base"


def load_tasks(tasks_file: Path) -> list[Task]:
    """Every task of a JSONL file; a relative repository path is taken from the file's folder."""
    if not tasks_file.is_file():
        raise EvaluationError(f"tasks file '{tasks_file}' does not exist; build the tasks (apprentice run) or pass --tasks FILE")
    tasks = []
    for number, line in enumerate(tasks_file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            task = Task.from_json(line)
        except TaskFormatError as error:
            raise EvaluationError(f"{tasks_file}:{number}: {error}") from error
        if not Path(task.repo.path).is_absolute():
            task = dataclasses.replace(task, repo=RepoRef(str(tasks_file.parent / task.repo.path), task.repo.commit,
                                                          task.repo.package))
        tasks.append(task)
    return tasks


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


def metric_table(metrics_json: dict) -> Table:
    """metrics.json as a terminal table: metric, value, target, verdict."""
    table = Table(title=f"{metrics_json['target']} {metrics_json['version']}: {metrics_json['tasks']} tasks "
                        f"x {metrics_json['attempts']} attempts")
    for column in ("metric", "value", "target", "verdict"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, entry in metrics_json["metrics"].items():
        verdict = {True: "[green]meets[/]", False: "[red]below[/]", None: "[dim]n/a[/]"}[entry["meets"]]
        bound = ">=" if entry["direction"] == "max" else ("<" if name == "hallucinated_api_rate" else "<=")
        table.add_row(name, _number(name, entry["value"]), f"{bound} {_number(name, entry['target'])}", verdict)
    flagged = [row["metric"] for rows in metrics_json["regressions"].values() for row in rows if row["flag"]]
    if flagged:
        table.caption = f"[red]regressed: {', '.join(sorted(set(flagged)))}[/]"
    return table


def _number(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if name.startswith("median") else f"{value:.1%}"


def _adapter_label(adapter: Path) -> str:
    """`sft` / `preference` / `grpo` for a stage's adapter/, else a label from the adapter's content hash."""
    if adapter.name == "adapter" and adapter.parent.name in ("sft", "preference", "grpo"):
        return adapter.parent.name
    return "adapter-" + hash_path(adapter).removeprefix("sha256:")[:8]


def _production_metrics(run_dir: Path, target: str) -> Path | None:
    """The eval metrics.json of the target's production version, when a registry and that file exist."""
    if not (run_dir / "registry.db").exists():
        return None
    from apprentice.registry.registry import Registry

    record = Registry.for_run(run_dir).production().get(target)
    path = run_dir / "eval" / target / record.version / METRICS_FILE if record else None
    return path if path is not None and path.exists() else None


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)
