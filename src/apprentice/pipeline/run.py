"""The whole job for every configured target, resuming where it stopped.

    base -> pretrain (once, shared) -> per target: tasks -> SFT trajectories -> sft
         -> preference pairs sampled from the SFT adapter -> ipo -> grpo
         -> held-out evaluation (the base once, the configured stages) -> registry (promote or not)

Every step is an artifact of the run directory with its input hashes and a DONE marker, so a
second run skips what is finished and an interrupted stage resumes from its last checkpoint. A
stage whose gate fails stops its target's chain with the reason, unless `force` is set; a forced
continuation is recorded in that stage's gate.json and meta.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apprentice.artifacts import DONE_FILE, atomic_write_text, ensure_writable
from apprentice.base.load import BaseReport, inspect_base, read_model_config
from apprentice.base.tiny import build_tiny_base
from apprentice.config.models import CHAIN_ORDER, RunConfig, dump_config
from apprentice.errors import GateError
from apprentice.gates import enforce

# The curriculum, in order (SPEC §2); each stage starts from what the one before it learned.
STAGES = {
    "pretrain": "causal-LM pretraining with a context-length curriculum",
    "sft": "supervised fine-tuning on agent trajectories (LoRA on attention and experts)",
    "preference": "IPO (or DPO) on preference pairs ranked by execution",
    "grpo": "GRPO with rewards from running the tests in a sandbox",
    "merge": "merge an adapter into its base for serving, or export it alone",
}


@dataclass(frozen=True)
class StepRecord:
    """One row of the run summary."""

    target: str
    step: str
    seconds: float
    metric: str
    gate: str  # "pass", "FAIL", "FAIL (forced)" or "-"
    skipped: bool


@dataclass
class RunSummary:
    """What a run did, step by step, and where each target's chain stopped."""

    run_dir: Path
    steps: list[StepRecord] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)
    rung_tables: dict[str, str] = field(default_factory=dict)  # target -> its report card, base -> each stage

    def render(self) -> str:
        """A fixed-width table: target, step, time, key metric, gate; then any stopped chains."""
        lines = [f"apprentice run {self.run_dir}", f"  {'target':<8} {'step':<16} {'time':>8}  {'gate':<13} key metric"]
        for s in self.steps:
            time_text = "reused" if s.skipped else f"{s.seconds:.1f}s"
            lines.append(f"  {s.target:<8} {s.step:<16} {time_text:>8}  {s.gate:<13} {s.metric}")
        lines += [f"  {target}: chain stopped: {reason}" for target, reason in self.stopped.items()]
        for target, table in self.rung_tables.items():
            lines += [f"  {target}: held-out episodes reaching each rung (SPEC §10)"]
            lines += [f"    {row}" for row in table.splitlines()]
        return "\n".join(lines)


def run(config: RunConfig, force: bool = False) -> RunSummary:
    """Run every step for every target in `config`; finished steps are reused."""
    if config.base.path is not None:
        read_model_config(config.base.path)  # fail on a bad base before anything is written
    summary = RunSummary(config.run_dir)
    prepare_run_dir(config)
    built = config.base.path is None and not config.base.shipped and (config.run.base_dir / DONE_FILE).exists()
    base = _step(summary, "-", "base", lambda: prepare_base(config), _base_metric, reused=built)
    base_dir = base.path
    if config.pretrain.enabled:
        pretrained = _stage(summary, "-", "pretrain", lambda: run_stage("pretrain", config, "base", base_dir))
        base_dir = pretrained.adapter_path
    for target in config.targets:
        run_target(config, target, base_dir, summary, force)
    return summary


def run_target(config: RunConfig, target: str, base_dir: Path, summary: RunSummary, force: bool) -> None:
    """One target's chain: tasks, trajectories, sft, preference pairs, ipo, grpo; stops at a failed gate."""
    from apprentice.pipeline import data_steps as pipeline_data

    split = _step(summary, target, "tasks", lambda: pipeline_data.make_tasks(config, target),
                  pipeline_data.tasks_headline)
    sft_data = _step(summary, target, "sft data", lambda: pipeline_data.make_trajectories(config, target, split.train),
                     pipeline_data.data_headline)
    sft_path, start = sft_data.path, None
    if config.round > 1:  # a flywheel round: curated data with replay, continuing from the production adapter
        sft_path, start = flywheel_start(config, target)
    sft = _stage(summary, target, "sft", lambda: run_stage("sft", config, target, base_dir, start, sft_path))
    if _blocked(summary, target, sft, force):
        return
    pairs = _step(summary, target, "preference data",
                  lambda: pipeline_data.make_preferences(config, target, split.train, base_dir, sft.adapter_path),
                  pipeline_data.data_headline)
    ipo = _stage(summary, target, "preference",
                 lambda: run_stage("preference", config, target, base_dir, sft.adapter_path, pairs.path))
    if _blocked(summary, target, ipo, force):
        return
    grpo = _stage(summary, target, "grpo",
                  lambda: run_stage("grpo", config, target, base_dir, ipo.adapter_path, split.train))
    if _blocked(summary, target, grpo, force) or not config.eval.enabled:
        return
    evaluate_and_register(config, target, base_dir, {"sft": sft, "preference": ipo, "grpo": grpo}, summary, force)


def evaluate_and_register(config: RunConfig, target: str, base_dir: Path, stages: dict, summary: RunSummary,
                          force: bool) -> None:
    """Held-out evaluation of the base and the configured stages, then the GRPO adapter into the registry."""
    from apprentice.pipeline import eval_steps as pipeline_eval

    evaluated = {}
    for version in CHAIN_ORDER:
        if version not in config.eval.versions:
            continue
        adapter = None if version == "base" else stages[version].adapter_path
        evaluated[version] = _step(summary, target, f"eval {version}",
                                   lambda v=version, a=adapter: pipeline_eval.evaluate_version(config, target, base_dir, v, a),
                                   pipeline_eval.headline)
    if len(evaluated) > 1:
        signal = _step(summary, target, "signal", lambda: pipeline_eval.learning_signal(config, target, evaluated),
                       lambda signal: signal.line, reused=all(e.skipped for e in evaluated.values()))
        if signal.cards:
            summary.rung_tables[target] = signal.rung_table
    passed = all(result.gate is None or result.gate.passed for result in stages.values())
    _step(summary, target, "register",
          lambda: pipeline_eval.register_final(config, target, stages["grpo"].adapter_path, "grpo", passed, force,
                                                     stages["sft"].input_hashes.get("data", "")),
          lambda registration: registration.line)


def run_stage(stage: str, config: RunConfig, target: str, base_dir: Path,
              parent: Path | None = None, data: Path | None = None):
    """Run one training stage module on its directory `stages/<target>/<stage>/`."""
    from apprentice.stages.launch import run_launched, stage_module
    from apprentice.stages.result import StageInputs

    inputs = StageInputs(target, config.run.stage_dir(target, stage, config.round), base_dir, parent, data,
                         config.run.log_dir(target, stage, config.round))
    if config.launch.launcher == "accelerate":
        return run_launched(config, stage, inputs)
    return stage_module(stage).run(config, inputs)


def flywheel_start(config: RunConfig, target: str) -> tuple[Path, Path | None]:
    """(SFT data, starting adapter) of a flywheel round: the curated data, the production adapter (if any)."""
    from apprentice.flywheel.curate import round_sft_data

    data = round_sft_data(config.run_dir, target, config.round)
    production = config.run.open_registry().production().get(target)
    return data, Path(production.path) if production is not None else None


def prepare_run_dir(config: RunConfig) -> None:
    """Create the run directory and write the resolved config to `run.yaml`."""
    ensure_writable(config.run_dir)
    atomic_write_text(config.run.config_file, dump_config(config))


def prepare_base(config: RunConfig) -> BaseReport:
    """The user's base (checked, never copied), the shipped pretrained miniature (hash-checked, never copied),
    or the embedded miniature gpt-oss built into the run."""
    from apprentice.base.pretrained import RECORD_FILE, shipped_base, verify_record

    chosen = config.base.path
    if chosen is None and config.base.shipped:
        chosen = shipped_base(config.base.size, config.base.seed)
    elif chosen is not None and (chosen / RECORD_FILE).is_file():
        verify_record(chosen)  # a copy of a pretrained base is held to its record too
    if chosen is not None:
        atomic_write_text(config.run.base_pointer, f"{chosen.resolve()}\n")
        return inspect_base(chosen)
    return build_tiny_base(config.run.base_dir, size=config.base.size, seed=config.base.seed)


def _blocked(summary: RunSummary, target: str, result, force: bool) -> bool:
    """Whether a failed gate stops this target's chain (the other targets go on); `force` records and goes on."""
    if result.gate is None:
        return False
    try:
        enforce(result.gate, result.adapter_path.parent, force)
    except GateError as error:
        summary.stopped[target] = str(error)
        return True
    return False


def _step(summary: RunSummary, target: str, step: str, action: Callable[[], Any], metric: Callable[[Any], str],
          reused: bool | None = None):
    started = time.perf_counter()
    result = action()
    skipped = getattr(result, "skipped", False) if reused is None else reused
    summary.steps.append(StepRecord(target, step, time.perf_counter() - started, metric(result), "-", skipped))
    return result


def _stage(summary: RunSummary, target: str, stage: str, action: Callable[[], Any]):
    started = time.perf_counter()
    result = action()
    gate = "-" if result.gate is None else ("pass" if result.gate.passed else "FAIL")
    summary.steps.append(StepRecord(target, stage, time.perf_counter() - started, key_metric(stage, result.metrics),
                                    gate, result.skipped))
    return result


def key_metric(stage: str, metrics: dict[str, Any]) -> str:
    """The one number that says whether a stage learned (SPEC §5's headline for each), from its module."""
    from apprentice.stages import grpo, preference, pretrain, sft

    headlines = {"pretrain": pretrain.headline, "sft": sft.headline, "preference": preference.headline,
                 "grpo": grpo.headline}
    return headlines[stage](metrics)


def _base_metric(report: BaseReport) -> str:
    return f"{report.model_type}, {report.parameters:,} parameters, {report.experts} experts, {report.chat_format} chat"
