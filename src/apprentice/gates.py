"""Promotion gates (SPEC §5): plain functions, registered by stage, reading a stage's metrics.

Each gate function takes the stage's `metrics.json` content and its thresholds section and
returns one `GateCheck`. A stage passes when every check passes; a failed gate stops that
target's chain with the reason, unless the run is forced (recorded as `forced` in gate.json and
meta.json). `apprentice gates check STAGE_DIR` prints the checks of a finished stage.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from apprentice.artifacts import META_FILE, METRICS_FILE, RunDir, atomic_write_json, read_meta, write_meta
from apprentice.config.models import GatesSection, RunConfig, load_config
from apprentice.errors import GateError
from apprentice.numbers import short_number


@dataclass(frozen=True)
class GateCheck:
    """One gate: the measured value, the threshold, whether it passed, and a sentence saying why."""

    name: str
    value: float | None
    threshold: float
    passed: bool
    message: str


@dataclass(frozen=True)
class GateVerdict:
    """All gates of one stage. `forced`: the chain went on despite a failure, on the user's say-so."""

    stage: str
    checks: tuple[GateCheck, ...]
    passed: bool
    forced: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as written to gate.json."""
        return {"stage": self.stage, "passed": self.passed, "forced": self.forced, "checks": [asdict(c) for c in self.checks]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> GateVerdict:
        """Read back what `to_dict` wrote."""
        checks = tuple(GateCheck(**check) for check in raw["checks"])
        return cls(raw["stage"], checks, raw["passed"], raw.get("forced", False))

    def failures(self) -> list[str]:
        """The messages of the failed checks."""
        return [check.message for check in self.checks if not check.passed]

    def render(self) -> Table:
        """A table: gate, value, threshold, verdict."""
        table = Table(title=f"{self.stage} gates: {'PASS' if self.passed else 'FAIL'}" + (" (forced)" if self.forced else ""))
        for column in ("gate", "value", "threshold", "verdict", "why"):
            table.add_column(column)
        for check in self.checks:
            table.add_row(check.name, short_number(check.value, "n/a"), short_number(float(check.threshold)), "pass" if check.passed else "FAIL", check.message)
        return table


GateFunction = Callable[[dict[str, Any], Any], GateCheck]
GATES: dict[str, dict[str, GateFunction]] = {"sft": {}, "preference": {}, "grpo": {}}


def gate(stage: str, name: str) -> Callable[[GateFunction], GateFunction]:
    """Register a gate function for `stage` under `name`."""
    def register(function: GateFunction) -> GateFunction:
        GATES[stage][name] = function
        return function
    return register


def evaluate(stage: str, metrics: dict[str, Any], thresholds: GatesSection) -> GateVerdict:
    """Run every gate registered for `stage` on `metrics`; GateError for a stage without gates."""
    if stage not in GATES:
        raise GateError(f"no gates for stage '{stage}' (gated stages: {', '.join(GATES)})")
    section = getattr(thresholds, stage)
    checks = tuple(function(metrics, section) for function in GATES[stage].values())
    return GateVerdict(stage, checks, all(check.passed for check in checks))


def _missing(name: str, key: str, threshold: float) -> GateCheck:
    return GateCheck(name, None, threshold, False, f"metrics.json has no '{key}'; the stage did not record it")


# --- SFT ---------------------------------------------------------------------------------------------

@gate("sft", "final_loss")
def sft_final_loss(metrics: dict[str, Any], section) -> GateCheck:
    """Final training loss below `max_final_loss`."""
    loss, limit = metrics.get("final_train_loss"), section.max_final_loss
    if loss is None:
        return _missing("final_loss", "final_train_loss", limit)
    ok = math.isfinite(loss) and loss < limit
    return GateCheck("final_loss", loss, limit, ok, f"final training loss {loss:.4g} {'<' if ok else '>='} {limit}")


@gate("sft", "format_accuracy")
def sft_format_accuracy(metrics: dict[str, Any], section) -> GateCheck:
    """Tool-call format accuracy on the held-out sample above `min_format_accuracy`."""
    accuracy, limit = metrics.get("format_accuracy"), section.min_format_accuracy
    if accuracy is None:
        return _missing("format_accuracy", "format_accuracy", limit)
    ok = accuracy > limit
    counted = ""
    if metrics.get("format_parsed") is not None and metrics.get("format_probes"):
        counted = f" ({metrics['format_parsed']}/{metrics['format_probes']}"
        if metrics.get("format_by_task"):
            counted += f" of {len(metrics['format_by_task'])} tasks"
        if metrics.get("format_interval"):
            low, high = metrics["format_interval"]
            counted += f", 95% interval {low:.0%}-{high:.0%}"
        counted += ")"
    return GateCheck("format_accuracy", accuracy, limit, ok,
                     f"{accuracy:.1%}{counted} of held-out turns parsed ({'>' if ok else '<='} {limit:.0%})")


@gate("sft", "eval_loss_falling")
def sft_eval_loss_falling(metrics: dict[str, Any], section) -> GateCheck:
    """Eval loss at the end below the eval loss where the last `eval_loss_window` of training began."""
    points = metrics.get("eval_losses") or []  # [[step, loss], ...]
    if len(points) < 2:
        return GateCheck("eval_loss_falling", None, 0.0, False, f"{len(points)} eval loss point(s); need 2 or more to see a trend")
    last_step = points[-1][0]
    window_start = last_step * (1 - section.eval_loss_window)
    before = [loss for step, loss in points if step <= window_start] or [points[0][1]]
    change = points[-1][1] - before[-1]
    ok = change < 0
    return GateCheck("eval_loss_falling", change, 0.0, ok,
                     f"eval loss {before[-1]:.4g} -> {points[-1][1]:.4g} over the last {section.eval_loss_window:.0%} of training")


# --- preference (IPO / DPO) -------------------------------------------------------------------------

@gate("preference", "kl")
def preference_kl(metrics: dict[str, Any], section) -> GateCheck:
    """KL to the SFT reference below `kl_abort` (above `kl_warn` passes with a warning)."""
    kl, limit = metrics.get("kl"), section.kl_abort
    if kl is None:
        return _missing("kl", "kl", limit)
    ok = math.isfinite(kl) and kl < limit
    warning = f" (above the warning level {section.kl_warn:.2g})" if ok and kl > section.kl_warn else ""
    return GateCheck("kl", kl, limit, ok, f"KL to the SFT reference {kl:.4g} {'<' if ok else '>='} {limit}{warning}")


@gate("preference", "chosen_win_rate")
def preference_win_rate(metrics: dict[str, Any], section) -> GateCheck:
    """Share of pairs whose chosen reward beats the rejected one above `min_chosen_win_rate`."""
    rate, limit = metrics.get("chosen_win_rate"), section.min_chosen_win_rate
    if rate is None:
        return _missing("chosen_win_rate", "chosen_win_rate", limit)
    ok = rate > limit
    return GateCheck("chosen_win_rate", rate, limit, ok, f"chosen above rejected on {rate:.1%} of pairs")


@gate("preference", "no_collapse")
def preference_no_collapse(metrics: dict[str, Any], section) -> GateCheck:
    """Losses finite and the chosen log-probability not collapsing (the classic DPO/IPO failure)."""
    drop, limit = metrics.get("chosen_logp_drop"), section.max_chosen_logp_drop
    losses = metrics.get("losses") or []
    if drop is None:
        return _missing("no_collapse", "chosen_logp_drop", limit)
    finite = all(math.isfinite(loss) for _, loss in losses)
    ok = finite and math.isfinite(drop) and drop < limit
    reason = "a non-finite loss" if not finite else f"chosen log-prob fell by {drop:.3g} nats per pair"
    return GateCheck("no_collapse", drop, limit, ok, reason)


# --- GRPO (metrics written by the GRPO stage: rewards, reward_stds, max_reward) ------------------

def reward_window(steps: int, window_steps: int) -> int:
    """The last `window_steps` steps, or the last 20% of training when it is shorter than that."""
    return window_steps if steps > window_steps else max(1, math.ceil(0.2 * steps))


@gate("grpo", "mean_reward")
def grpo_mean_reward(metrics: dict[str, Any], section) -> GateCheck:
    """Mean per-step reward over the last window above `min_mean_reward`."""
    rewards, limit = metrics.get("rewards") or [], section.min_mean_reward
    if not rewards:
        return _missing("mean_reward", "rewards", limit)
    window = reward_window(len(rewards), section.window_steps)
    mean = statistics.fmean(rewards[-window:])
    return GateCheck("mean_reward", mean, limit, mean > limit, f"mean reward {mean:.3g} over the last {window} steps")


@gate("grpo", "reward_std")
def grpo_reward_std(metrics: dict[str, Any], section) -> GateCheck:
    """Mean within-group reward std above `min_reward_std` (no spread: no GRPO signal)."""
    stds, limit = metrics.get("reward_stds") or [], section.min_reward_std
    if not stds:
        return _missing("reward_std", "reward_stds", limit)
    spread = statistics.fmean(stds)
    return GateCheck("reward_std", spread, limit, spread > limit, f"mean within-group reward std {spread:.3g}")


@gate("grpo", "max_reward")
def grpo_max_reward(metrics: dict[str, Any], section) -> GateCheck:
    """The best single completion reached `min_max_reward` at least once."""
    best, limit = metrics.get("max_reward"), section.min_max_reward
    if best is None:
        return _missing("max_reward", "max_reward", limit)
    return GateCheck("max_reward", best, limit, best >= limit, f"best completion reward {best:.3g}")


# --- stage directories --------------------------------------------------------------------------------

def thresholds_for(stage_dir: Path) -> GatesSection:
    """The gate thresholds of the run a stage dir belongs to (runs/<name>/run.yaml), or the defaults."""
    for parent in list(stage_dir.resolve().parents)[:4]:
        if (config_file := RunDir(parent).config_file).is_file():
            return load_config(config_file, []).gates
    return RunConfig().gates


def check_stage(stage_dir: Path, thresholds: GatesSection | None = None) -> GateVerdict:
    """Evaluate the gates of a finished stage dir from its metrics.json (the stage name from meta.json)."""
    metrics_file = stage_dir / METRICS_FILE
    if not metrics_file.is_file():
        raise GateError(f"'{stage_dir}' has no metrics.json; run the stage first (or pass a stage directory)")
    stage = read_meta(stage_dir)["config"].get("stage", stage_dir.name) if (stage_dir / META_FILE).exists() else stage_dir.name
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    return evaluate(stage, metrics, thresholds or thresholds_for(stage_dir))


def enforce(verdict: GateVerdict, stage_dir: Path, force: bool) -> GateVerdict:
    """Stop the chain on a failed gate (GateError with the reasons); with `force`, record it and go on."""
    if verdict.passed:
        return verdict
    if not force:
        raise GateError(f"{verdict.stage} gate failed in '{stage_dir}': {'; '.join(verdict.failures())}; "
                        "fix the stage's data or config, or pass --force to continue anyway")
    forced = GateVerdict(verdict.stage, verdict.checks, verdict.passed, forced=True)
    atomic_write_json(stage_dir / "gate.json", forced.to_dict())
    meta = read_meta(stage_dir)
    write_meta(stage_dir, {**meta["config"], "gate_forced": True}, meta["inputs"], meta["metrics"])
    return forced
