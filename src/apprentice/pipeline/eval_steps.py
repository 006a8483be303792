"""The end of a target's chain: evaluate on held-out tasks, register the adapter, promote it or not.

    evaluate_version(config, target, base_dir, "base", None)         # once per target
    evaluate_version(config, target, base_dir, "grpo", grpo_adapter)  # each configured stage
    register_final(config, target, grpo_adapter, gates_passed, force)

Evaluations resume like stages: `eval/<target>/<version>/` keeps its rows under a stamp (adapter,
base hash, task-set hash), so a second run re-reads them instead of playing the episodes again.
Registration follows the registry's rule: promoted when every gate passed and the evaluation
shows no regression against production. `apprentice run --force` also forces the promotion and
records why, so a forced demo still ends with a served adapter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from apprentice.agent.loop import LoopConfig
from apprentice.artifacts import METRICS_FILE, atomic_write_json, hash_path
from apprentice.config.models import RunConfig
from apprentice.evaluation.harness import BackendFactory, EvalStamp, EvalSummary, evaluate
from apprentice.evaluation.report import render_comparison, render_report
from apprentice.evaluation.report_card import rung_table, rungs_lifted
from apprentice.evaluation.targets import load_tasks, local_factory
from apprentice.evaluation.tracking import log_evaluation
from apprentice.pipeline.data_steps import spread_held_out
from apprentice.registry.registry import register_and_maybe_promote

HEADLINE = ("tool_call_format_accuracy", "test_pass_rate", "build_pass_rate")
# The learning signal along the chain: held-out tool-call format accuracy and mean reward per evaluated version.
# A stage regresses when it loses more than 5% of the previous evaluated version's value: a relative drop for the
# accuracy (a share), and 5% of the reward's range (-1 to 1, so 0.1) for the reward, which may be negative.
SIGNAL_TOLERANCE = {"tool_call_format_accuracy": 0.05, "mean_reward": 0.1}


def evaluate_version(config: RunConfig, target: str, base_dir: Path, version: str, adapter: Path | None) -> EvalSummary:
    """Evaluate `adapter` (None: the base alone) on the target's held-out tasks into eval/<target>/<version>/."""
    settings = config.eval
    tasks = spread_held_out(load_tasks(config.run.tasks_file(target, "eval")), settings.max_tasks)
    stamp = EvalStamp.build(target, version, adapter, base_dir, tasks)
    out_dir = config.run.eval_dir(target, version, config.round)
    loop = LoopConfig(max_turns=settings.max_turns, max_new_tokens=settings.max_new_tokens)
    summary = evaluate(tasks, _lazy(base_dir, adapter, settings.max_new_tokens), out_dir, stamp,
                       settings.attempts, settings.workers, loop, production_metrics=None)
    render_report(out_dir)
    if not summary.skipped:  # a reused evaluation is in the tracker already
        log_evaluation(config.logging.report_to, config.run.log_dir(target, "eval", config.round), version,
                       summary.metrics)
    return summary


@dataclass(frozen=True)
class Registration:
    """What registering the chain's adapter did, as one summary line; `skipped` when nothing changed."""

    line: str
    skipped: bool


def register_final(config: RunConfig, target: str, adapter: Path, version: str, gates_passed: bool,
                   force: bool, data_hash: str = "") -> Registration:
    """Register the chain's last adapter with its evaluation; promote it when allowed (or forced)."""
    registry = config.run.open_registry()
    before = registry.find_registered(target, hash_path(adapter))
    metrics = config.run.eval_dir(target, version, config.round) / METRICS_FILE
    parent = registry.production().get(target) if config.round > 1 else None
    record, production, why = register_and_maybe_promote(
        registry, target, adapter, metrics if metrics.exists() else None, gates_passed, str(config.run_dir),
        data_hash=data_hash, parent=parent.version if parent is not None else None)
    if not production and force:
        record = registry.promote(record.version, force=True, reason=f"apprentice run --force: {why}")
        line = f"{record.version} production (forced: {why})"
    else:
        line = f"{record.version} {'production' if production else record.status}: {why}"
    render_comparison(config.run_dir)
    unchanged = before is not None and (before.status, before.metrics) == (record.status, record.metrics)
    return Registration(line, unchanged)


@dataclass(frozen=True)
class Signal:
    """Held-out format accuracy and mean reward per evaluated version, the stages that regressed, and the
    report card (SPEC §10): each version's rungs and the rungs each stage lifted beyond the one before."""

    values: dict[str, dict[str, float | None]]
    regressions: list[str]
    cards: dict[str, dict] = field(default_factory=dict)
    lifted: dict[str, list[str]] = field(default_factory=dict)

    @property
    def helps_nothing(self) -> list[str]:
        """The stages (after the base) that lifted no rung beyond the previous version's 95% interval."""
        return [version for version, rungs in self.lifted.items() if not rungs]

    @property
    def rung_table(self) -> str:
        """The rung table, base -> each stage, for the run summary."""
        return rung_table(self.cards)

    @property
    def line(self) -> str:
        """One line for the run summary: each metric through the chain, then the verdict."""
        parts = []
        for name, label, shown in (("tool_call_format_accuracy", "format", "{:.0%}"), ("mean_reward", "reward", "{:.2f}")):
            chain = [f"{version} {'n/a' if v[name] is None else shown.format(v[name])}" for version, v in self.values.items()]
            parts.append(f"{label} " + " -> ".join(chain))
        verdict = "; ".join(self.regressions) if self.regressions else "no stage regresses the one before by more than 5%"
        helped = ", ".join(f"{version} lifts {' + '.join(rungs) or 'no rung'}" for version, rungs in self.lifted.items())
        return f"{'; '.join(parts)}; {verdict}" + (f"; {helped}" if helped else "")


def learning_signal(config: RunConfig, target: str, summaries: dict[str, EvalSummary]) -> Signal:
    """Compare each evaluated version with the one before it (chain order); written to eval/<target>/signal.json
    (round-N-signal.json in a flywheel round)."""
    values = {version: {"tool_call_format_accuracy": metric_value(summary, "tool_call_format_accuracy"),
                        "mean_reward": summary.metrics.get("mean_reward")}
              for version, summary in summaries.items()}
    regressions = []
    versions = list(values)
    for before, after in zip(versions, versions[1:], strict=False):
        for name, tolerance in SIGNAL_TOLERANCE.items():
            old, new = values[before][name], values[after][name]
            if old is None or new is None:
                continue
            allowed = tolerance * old if name == "tool_call_format_accuracy" else tolerance
            if old - new > allowed + 1e-9:
                regressions.append(f"{after} regresses {name.replace('_', ' ')} {old:.3g} -> {new:.3g}")
    cards = {version: summary.metrics["report_card"] for version, summary in summaries.items()
             if "report_card" in summary.metrics}
    carded = list(cards)
    lifted = {after: rungs_lifted(cards[before], cards[after]) for before, after in zip(carded, carded[1:], strict=False)}
    signal = Signal(values, regressions, cards, lifted)
    atomic_write_json(config.run.signal_file(target, config.round),
                      {"chain": [{"version": version, **value} for version, value in values.items()],
                       "regressions": regressions, "tolerance": SIGNAL_TOLERANCE,
                       "report_card": cards, "rungs_lifted": lifted, "helps_no_rung": signal.helps_nothing})
    return signal


def metric_value(summary: EvalSummary, name: str) -> float | None:
    """One SPEC §7 metric's value from an evaluation's metrics.json (None when it could not be computed)."""
    return (summary.metrics.get("metrics", {}).get(name) or {}).get("value")


def headline(summary: EvalSummary) -> str:
    """The few metrics that say whether the agent works, for the run summary."""
    parts = []
    for name in HEADLINE:
        value = metric_value(summary, name)
        parts.append(f"{name.replace('_', ' ')} {'n/a' if value is None else f'{value:.0%}'}")
    reward = summary.metrics.get("mean_reward")
    return ", ".join(parts + [f"mean reward {'n/a' if reward is None else f'{reward:.2f}'}"])


def _lazy(base_dir: Path, adapter: Path | None, max_new_tokens: int) -> BackendFactory:
    """A backend factory that loads the model on the first episode: a finished evaluation loads nothing."""
    lock, loaded = threading.Lock(), []

    def factory(temperature: float, seed: int):
        with lock:
            if not loaded:
                loaded.append(local_factory(base_dir, adapter, max_new_tokens))
        return loaded[0](temperature, seed)

    return factory
