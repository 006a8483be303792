"""`apprentice run CONFIG --dry-run`: the steps a run would take, which are reused, what each reads and writes.

Each step is judged as the run judges it: its DONE marker with the input hashes it would be given now (the
same functions compute them: `data_steps.tasks_inputs`, the stages' `input_hashes`, the evaluation stamp).
A step whose inputs do not exist yet, or come from a step that will run, will run too. Nothing is written,
trained or loaded: the plan hashes files and reads markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from apprentice.artifacts import DONE_FILE, hash_path, is_done
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

    def add(self, target: str, step: str, directory: Path, inputs: dict[str, str] | None, reads: list[Path],
            upstream: list[str]) -> bool:
        """Record a step judged by `is_done(directory, inputs)`; True when it is reused."""
        pending = [name for name in upstream if not self.reused(target, name)]
        if pending:
            status, why = WILL_RUN, f"after {pending[0]}, which will run"
        elif inputs is None:
            status, why = WILL_RUN, "its inputs do not exist yet"
        elif is_done(directory, inputs):
            status, why = REUSED, f"{DONE_FILE} with the same input hashes"
        else:
            status, why = WILL_RUN, ("inputs changed since its DONE" if (directory / DONE_FILE).exists()
                                     else f"no {DONE_FILE}")
        self.steps.append(PlannedStep(target, step, status, why, tuple(str(path) for path in reads), str(directory)))
        return status == REUSED

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
    planner.steps.append(PlannedStep("-", "base", REUSED if (run.base_dir / DONE_FILE).exists() else WILL_RUN,
                                     "built" if (run.base_dir / DONE_FILE).exists() else "to be built",
                                     (), str(run.base_dir)))
    return run.base_dir


def _plan_target(planner: Planner, target: str, base_dir: Path, upstream: list[str]) -> None:
    """tasks -> sft data -> sft -> preference data -> preference -> grpo -> evaluations -> signal -> register."""
    from apprentice.pipeline import data_steps

    config, run = planner.config, planner.run
    train = run.tasks_file(target, "train")
    planner.add(target, "tasks", run.tasks_dir(target), data_steps.tasks_inputs(config, target),
                [Path(config.tasks.repos.get(target, config.tasks.source))], [*upstream])
    data_dir = run.data_dir(target)
    sft_data = data_dir / "sft.jsonl"
    planner.add(target, "sft data", data_dir / "sft",
                data_steps.trajectory_inputs(config, train) if train.is_file() else None, [train], ["tasks"])
    sft = _plan_stage(planner, target, "sft", target, base_dir, None, sft_data, [*upstream, "sft data"])
    pairs = data_dir / "preference.jsonl"
    planner.add(target, "preference data", data_dir / "preference",
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
    from apprentice.stages.result import StageInputs, input_hashes
    from apprentice.stages.settings import stage_config

    config = planner.config
    stage_dir = planner.run.stage_dir(hash_target, stage, config.round)
    inputs = StageInputs(hash_target, stage_dir, base_dir, parent, data)
    present = base_dir.exists() and all(path is None or path.exists() for path in (parent, data))
    hashes = input_hashes(inputs, stage_config(stage, config)) if present else None
    reads = [path for path in (base_dir, parent, data) if path is not None]
    planner.add(target, stage, stage_dir, hashes, reads, upstream)
    return stage_dir / ("model" if stage == "pretrain" else "adapter")


def _plan_evaluations(planner: Planner, target: str, base_dir: Path, adapters: dict[str, Path]) -> None:
    """Each evaluated version (reused when its stamp and metrics.json are there), the signal and the register."""
    from dataclasses import asdict

    from apprentice.evaluation.stamp import STAMP_FILE, EvalStamp
    from apprentice.pipeline.data_steps import spread_held_out
    from apprentice.tasks.task import read_tasks

    config, run = planner.config, planner.run
    held_out = run.tasks_file(target, "eval")
    tasks = spread_held_out(read_tasks(held_out), config.eval.max_tasks) if held_out.is_file() else None
    evaluated = []
    for version in (v for v in CHAIN_ORDER if v in config.eval.versions):
        adapter = adapters.get(version)
        out_dir = run.eval_dir(target, version, config.round)
        step = f"eval {version}"
        upstream = ["tasks"] + ([version] if adapter else [])
        pending = [name for name in upstream if not planner.reused(target, name)]
        stamp_file = out_dir / STAMP_FILE
        if pending:
            status, why = WILL_RUN, f"after {pending[0]}, which will run"
        elif tasks is None or not stamp_file.is_file() or not (out_dir / "metrics.json").is_file():
            status, why = WILL_RUN, "not evaluated yet"
        else:
            stamp = asdict(EvalStamp.build(target, version, adapter, base_dir, tasks))
            same = json.loads(stamp_file.read_text(encoding="utf-8")) == stamp
            status, why = (REUSED, "same adapter, base and task set") if same else (WILL_RUN, "its stamp changed")
        reads = [held_out, *([adapter] if adapter else [])]
        planner.steps.append(PlannedStep(target, step, status, why, tuple(map(str, reads)), str(out_dir)))
        evaluated.append(step)
    if len(evaluated) > 1:
        pending = [step for step in evaluated if not planner.reused(target, step)]
        planner.steps.append(PlannedStep(target, "signal", WILL_RUN if pending else REUSED,
                                         f"after {pending[0]}, which will run" if pending else "every evaluation reused",
                                         tuple(str(run.eval_dir(target, v.split()[1])) for v in evaluated),
                                         str(run.signal_file(target, config.round))))
    grpo = adapters["grpo"]
    registered = (planner.reused(target, "grpo") and run.registry_path.is_file()
                  and run.open_registry().find_registered(target, hash_path(grpo)) is not None)
    planner.steps.append(PlannedStep(target, "register", REUSED if registered else WILL_RUN,
                                     "this adapter is registered" if registered else "not registered yet",
                                     (str(grpo),), str(run.registry_path)))


def render_plan(steps: list[PlannedStep]) -> str:
    """One line per step: target, step, reused or will run and why, then what it reads and writes."""
    lines = [f"  {'target':<8} {'step':<16} {'plan':<9} why"]
    for s in steps:
        lines.append(f"  {s.target:<8} {s.step:<16} {s.status:<9} {s.why}")
        lines.append(f"  {'':<8} {'':<16} {'':<9} reads {', '.join(s.reads) or '-'}; writes {s.writes}")
    reused = sum(s.reused for s in steps)
    lines.append(f"  {reused} of {len(steps)} steps reused, {len(steps) - reused} to run")
    return "\n".join(lines)
