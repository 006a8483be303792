"""Evaluation metrics and the report card to the run's tracker (`logging.report_to`), beside the training curves.

The trainers log through transformers' integration callbacks; an evaluation has no trainer, so it drives the
same callback (TensorBoard, W&B, MLflow, trackio) by hand: begin, one log at the version's place in the chain
(base 0, sft 1, preference 2, grpo 3), end. TensorBoard then draws each held-out figure as a line over the
chain, under `eval/` in `runs/<name>/logs/<target>/eval/`.
"""

from __future__ import annotations

from pathlib import Path

from apprentice.config.models import CHAIN_ORDER


def evaluation_scalars(metrics: dict) -> dict[str, float]:
    """The SPEC §7 metrics, the share of episodes reaching each rung and the fix rate per statement level, as
    `eval_<name>` scalars (those with no value left out)."""
    scalars = {f"eval_{name}": entry.get("value") for name, entry in metrics.get("metrics", {}).items()
               if isinstance(entry, dict)}
    card = metrics.get("report_card", {})
    scalars |= {f"eval_rung_{rung}": count.get("rate") for rung, count in card.get("rungs", {}).items()}
    scalars |= {f"eval_fail_to_pass_L{level}": level_card.get("rungs", {}).get("fail_to_pass", {}).get("rate")
                for level, level_card in card.get("by_level", {}).items()}
    return {name: float(value) for name, value in scalars.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def log_evaluation(report_to: str, log_dir: Path, version: str, metrics: dict) -> None:
    """Send one version's evaluation to the tracker `report_to` (nothing for none) at its step in the chain."""
    if report_to == "none" or not (scalars := evaluation_scalars(metrics)):
        return
    from transformers import TrainerControl, TrainerState, TrainingArguments
    from transformers.integrations import TensorBoardCallback, get_reporting_integration_callbacks

    callback = get_reporting_integration_callbacks([report_to])[0]()
    if isinstance(callback, TensorBoardCallback):
        callback.logging_dir = str(log_dir)
    args = TrainingArguments(output_dir=str(log_dir), report_to=[report_to], use_cpu=True)
    state = TrainerState(global_step=CHAIN_ORDER.index(version) if version in CHAIN_ORDER else len(CHAIN_ORDER))
    control = TrainerControl()
    callback.on_train_begin(args, state, control)
    callback.on_log(args, state, control, logs=scalars)
    callback.on_train_end(args, state, control)
