"""The whole job for every configured target, resuming where it stopped.

Reads like DESIGN.md's table of contents. Each step returns what it built (or found already
built, with matching inputs) so the summary says exactly what this run produced.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path

from peft import get_peft_model

from apprentice.artifacts import atomic_write_text, ensure_writable
from apprentice.base.load import BaseReport, inspect_base, load_base, read_model_config
from apprentice.base.lora import lora_config_for, require_expert_lora
from apprentice.base.tiny import build_tiny_base
from apprentice.config import RunConfig, dump_config

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
    """One line of the run summary: what a step produced and where."""

    step: str
    status: str  # built | reused | checked
    path: Path
    detail: str
    seconds: float


@dataclass
class RunSummary:
    """What a run built, step by step."""

    run_dir: Path
    steps: list[StepRecord] = field(default_factory=list)

    def render(self) -> str:
        """The summary as lines of text: one per step, its detail indented below."""
        lines = [f"apprentice run {self.run_dir}: {len(self.steps)} steps"]
        for step in self.steps:
            lines.append(f"  {step.step:<28} {step.status:<8} {step.seconds:6.1f} s  {step.path}")
            lines.append(f"      {step.detail}")
        return "\n".join(lines)


def run(config: RunConfig) -> RunSummary:
    """Run every step of the job for every target in `config`; finished steps are reused."""
    summary = RunSummary(config.run_dir)
    if config.base.path is not None:
        read_model_config(config.base.path)  # fail on a bad base before anything is written
    prepare_run_dir(config)
    base_report = _timed(summary, "base", lambda: prepare_base(config))
    for target in config.targets:
        _timed(summary, f"{target}: adapter targets", lambda: check_adapter_targets(config, base_report.path))
    return summary


def prepare_run_dir(config: RunConfig) -> None:
    """Create the run directory and write the resolved config to `run.yaml`."""
    ensure_writable(config.run_dir)
    atomic_write_text(config.run_dir / "run.yaml", dump_config(config))


def prepare_base(config: RunConfig) -> BaseReport:
    """The user's base (checked, never copied) or the embedded miniature gpt-oss built into the run."""
    if config.base.path is not None:
        atomic_write_text(config.run_dir / "base" / "POINTER", f"{config.base.path.resolve()}\n")
        return inspect_base(config.base.path)
    return build_tiny_base(config.run_dir / "base", size=config.base.size, seed=config.base.seed)


def check_adapter_targets(config: RunConfig, base: Path) -> str:
    """Attach the run's LoRA config to the base and prove it reaches the experts (SPEC §1)."""
    model, _ = load_base(base)
    peft_model = get_peft_model(model, lora_config_for(model, config.lora.rank, config.lora.alpha, config.lora.dropout))
    return require_expert_lora(peft_model).describe()


def _timed(summary: RunSummary, step: str, action):
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    if isinstance(result, BaseReport):
        detail = f"{result.model_type}, {result.parameters:,} parameters, {result.experts} experts, {result.chat_format} chat"
        record = StepRecord(step, "ready", result.path, detail, seconds)
    else:
        record = StepRecord(step, "checked", summary.run_dir, str(result), seconds)
    summary.steps.append(record)
    return result
