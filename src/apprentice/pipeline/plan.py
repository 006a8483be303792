"""`apprentice run CONFIG --dry-run`: the steps a run would take, which are reused, what each reads and writes.

Each step is judged as the run judges it: its DONE marker with the input hashes it would be given now (the
same functions compute them: `data_steps.tasks_inputs`, the stages' `input_hashes`, the evaluation stamp).
A step whose inputs do not exist yet, or come from a step that will run, will run too. Nothing is written,
trained or loaded: the plan hashes files and reads markers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apprentice.artifacts import DONE_FILE, METRICS_FILE, hash_path, is_done
from apprentice.config.models import CHAIN_ORDER, RunConfig
from apprentice.errors import ConfigError

REUSED, WILL_RUN = "reused", "will run"


@dataclass(frozen=True)
class PlannedStep:
    """One step of the plan: whether it is reused, why, and the paths it reads and writes."""

    target: str
    step: str
    status: str  # REUSED or WILL_RUN
    why: str
    reads: tuple[str, ...]
    writes: str

    @property
    def reused(self) -> bool:
        return self.status == REUSED


class Planner:
    """Walks the chain of `pipeline.run` in order; a step after one that will run will run as well."""

    def __init__(self, config: RunConfig) -> None:
        self.config, self.run = config, config.run
        self.steps: list[PlannedStep] = []

    def add(self, target: str, step: str, writes: Path, reads: list[Path], upstream: list[str],
            judge: Callable[[], tuple[str, str]]) -> None:
        """Record a step: to run after any `upstream` step that will run, else as `judge()` says (status, why)."""
        pending = [name for name in upstream if not self.reused(target, name)]
        status, why = (WILL_RUN, f"after {pending[0]}, which will run") if pending else judge()
        self.steps.append(PlannedStep(target, step, status, why, tuple(str(path) for path in reads), str(writes)))

    def add_marked(self, target: str, step: str, directory: Path, inputs: dict[str, str] | None, reads: list[Path],
                   upstream: list[str]) -> None:
        """Record a step judged by `is_done(directory, inputs)` (None: its inputs do not exist yet)."""
        def judge() -> tuple[str, str]:
            if inputs is None:
                return WILL_RUN, "its inputs do not exist yet"
            if is_done(directory, inputs):
                return REUSED, f"{DONE_FILE} with the same input hashes"
            return WILL_RUN, "inputs changed since its DONE" if (directory / DONE_FILE).exists() else f"no {DONE_FILE}"

        self.add(target, step, directory, reads, upstream, judge)

    def reused(self, target: str, step: str) -> bool:
        """Whether `step` of `target` (or the run-wide step of that name: base, pretrain) is reused."""
        return any(s.reused for s in self.steps if s.step == step and s.target in (target, "-"))


def plan(config: RunConfig) -> list[PlannedStep]:
    """Every step `apprentice run` would take with `config`, in order, each reused or to run."""
    if config.round > 1:
        raise ConfigError(f"--dry-run plans round 1 only (round={config.round}); run `apprentice flywheel stats "
                          f"--run {config.run_dir}` for a flywheel round's data")
    planner = Planner(config)
    base_dir = _plan_base(planner)
    upstream = ["base"]
    if config.pretrain.enabled:
        _plan_stage(planner, "-", "pretrain", "base", base_dir, None, None, ["base"])
        base_dir, upstream = planner.run.pretrained_model, ["base", "pretrain"]
    for target in config.targets:
        _plan_target(planner, target, base_dir, upstream)
    return planner.steps


def _plan_base(planner: Planner) -> Path:
    """The base step: a user's or the shipped base is checked by the run and never rebuilt."""
    from apprentice.base.pretrained import shipped_dir

    config, run = planner.config, planner.run
    if config.base.path is not None or config.base.shipped:
        chosen = config.base.path or shipped_dir(config.base.size, config.base.seed)
        # Checked and pointed to on every run, never copied: the stages downstream hash its content, not its path.
        pointed = run.base_pointer.is_file() and run.base_pointer.read_text(encoding="utf-8").strip() == str(chosen.resolve())
        planner.steps.append(PlannedStep("-", "base", REUSED, "checked, never copied" + (
            "" if pointed else "; base/POINTER will name it"), (str(chosen),), str(run.base_pointer)))
        return chosen
    built = (run.base_dir / DONE_FILE).exists()
    planner.steps.append(PlannedStep("-", "base", REUSED if built else WILL_RUN, "built" if built else "to be built",
                                     (), str(run.base_dir)))
    return run.base_dir


def _plan_target(planner: Planner, target: str, base_dir: Path, upstream: list[str]) -> None:
    """tasks -> sft data -> sft -> preference data -> preference -> grpo -> evaluations -> signal -> register."""
    from apprentice.pipeline import data_steps

    config, run = planner.config, planner.run
    train = run.tasks_file(target, "train")
    planner.add_marked(target, "tasks", run.tasks_dir(target), data_steps.tasks_inputs(config, target),
                       [Path(config.tasks.repos.get(target, config.tasks.source))], [*upstream])
    data_dir = run.data_dir(target)
    sft_data = data_dir / "sft.jsonl"
    planner.add_marked(target, "sft data", data_dir / "sft",
                       data_steps.trajectory_inputs(config, train) if train.is_file() else None, [train], ["tasks"])
    sft = _plan_stage(planner, target, "sft", target, base_dir, None, sft_data, [*upstream, "sft data"])
    pairs = data_dir / "preference.jsonl"
    planner.add_marked(target, "preference data", data_dir / "preference",
                       data_steps.preference_inputs(config, train, sft) if train.is_file() and sft.is_dir() else None,
                       [train, sft], ["tasks", "sft"])
    ipo = _plan_stage(planner, target, "preference", target, base_dir, sft, pairs, ["sft", "preference data"])
    grpo = _plan_stage(planner, target, "grpo", target, base_dir, ipo, train, ["preference"])
    if config.eval.enabled:
        _plan_evaluations(planner, target, base_dir, {"sft": sft, "preference": ipo, "grpo": grpo})


def _plan_stage(planner: Planner, target: str, stage: str, hash_target: str, base_dir: Path, parent: Path | None,
                data: Path | None, upstream: list[str]) -> Path:
    """A training stage judged by its input hashes (its directory under `stages/<hash_target>/`, `base` for
    pretraining); returns where its adapter (or model) will be."""
    from apprentice.stages.result import ADAPTER_DIR, MODEL_DIR, StageInputs, input_hashes
    from apprentice.stages.settings import stage_config

    config = planner.config
    stage_dir = planner.run.stage_dir(hash_target, stage, config.round)
    inputs = StageInputs(hash_target, stage_dir, base_dir, parent, data)
    present = base_dir.exists() and all(path is None or path.exists() for path in (parent, data))
    hashes = input_hashes(inputs, stage_config(stage, config)) if present else None
    reads = [path for path in (base_dir, parent, data) if path is not None]
    planner.add_marked(target, stage, stage_dir, hashes, reads, upstream)
    return stage_dir / (MODEL_DIR if stage == "pretrain" else ADAPTER_DIR)


def _plan_evaluations(planner: Planner, target: str, base_dir: Path, adapters: dict[str, Path]) -> None:
    """Each evaluated version (reused when its stamp and metrics.json are there), the signal and the register."""
    from dataclasses import asdict

    from apprentice.evaluation.stamp import STAMP_FILE, EvalStamp
    from apprentice.pipeline.data_steps import spread_held_out
    from apprentice.tasks.task import read_tasks

    config, run = planner.config, planner.run
    held_out = run.tasks_file(target, "eval")
    tasks = spread_held_out(read_tasks(held_out), config.eval.max_tasks) if held_out.is_file() else None
    versions = [version for version in CHAIN_ORDER if version in config.eval.versions]
    for version in versions:
        adapter, out_dir = adapters.get(version), run.eval_dir(target, version, config.round)

        def judge(adapter=adapter, out_dir=out_dir, version=version) -> tuple[str, str]:
            stamp_file = out_dir / STAMP_FILE
            if tasks is None or not stamp_file.is_file() or not (out_dir / METRICS_FILE).is_file():
                return WILL_RUN, "not evaluated yet"
            stamp = asdict(EvalStamp.build(target, version, adapter, base_dir, tasks))
            if json.loads(stamp_file.read_text(encoding="utf-8")) == stamp:
                return REUSED, "same adapter, base and task set"
            return WILL_RUN, "its stamp changed"

        planner.add(target, f"eval {version}", out_dir, [held_out, *([adapter] if adapter else [])],
                    ["tasks", *([version] if adapter else [])], judge)
    if len(versions) > 1:
        planner.add(target, "signal", run.signal_file(target, config.round),
                    [run.eval_dir(target, version, config.round) for version in versions],
                    [f"eval {version}" for version in versions], lambda: (REUSED, "every evaluation reused"))
    grpo = adapters["grpo"]

    def registered() -> tuple[str, str]:
        found = run.registry_path.is_file() and run.open_registry().find_registered(target, hash_path(grpo))
        return (REUSED, "this adapter is registered") if found else (WILL_RUN, "not registered yet")

    planner.add(target, "register", run.registry_path, [grpo], ["grpo"], registered)


def render_plan(steps: list[PlannedStep]) -> str:
    """One line per step: target, step, reused or will run and why, then what it reads and writes."""
    lines = [f"  {'target':<8} {'step':<16} {'plan':<9} why"]
    for s in steps:
        lines.append(f"  {s.target:<8} {s.step:<16} {s.status:<9} {s.why}")
        lines.append(f"  {'':<8} {'':<16} {'':<9} reads {', '.join(s.reads) or '-'}; writes {s.writes}")
    reused = sum(s.reused for s in steps)
    lines.append(f"  {reused} of {len(steps)} steps reused, {len(steps) - reused} to run")
    return "\n".join(lines)
