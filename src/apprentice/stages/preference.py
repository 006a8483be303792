"""Preference: IPO (or DPO) with TRL's DPOTrainer, continuing the SFT adapter against itself.

    setup   -> base + the SFT adapter (trainable); TRL copies it as the frozen "ref" adapter, so the
               reference is the SFT model, not the bare base; pairs tokenized
    train   -> DPOTrainer (loss_type ipo|dpo), KL to the reference watched every step: a warning
               above gates.preference.kl_warn, training stopped above kl_abort (the gate then fails)
    cleanup -> one pass over the pairs for the share with chosen above rejected and the final KL,
               adapter saved, metrics + gate + meta, DONE

KL here is the mean absolute per-sequence log-ratio policy/reference over the chosen and
rejected completions (nats): |rewards/chosen| and |rewards/rejected| divided by beta.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from trl import DPOTrainer

from apprentice.config.models import RunConfig
from apprentice.errors import StageError
from apprentice.gates import evaluate
from apprentice.stages.common import (
    Hardware,
    attach_lora,
    common_training_args,
    load_for_training,
    logged,
    require_chat_template,
    resource_errors,
    show_progress,
    tail_mean,
)
from apprentice.stages.preference_data import read_pairs, tokenized_pairs
from apprentice.stages.result import (
    ADAPTER_DIR,
    CHECKPOINT_DIR,
    StageInputs,
    StageResult,
    check_adapter_base,
    finish_stage,
    headline_number,
    input_hashes,
    prepare_stage_dir,
    reuse_if_done,
    save_adapter,
)
from apprentice.stages.settings import stage_config as settings_of

STAGE = "preference"
KNOBS = "preference.batch_size (raise preference.grad_accum to keep the effective batch) or preference.max_length"
log = logging.getLogger(__name__)


class KlWatch(TrainerCallback):
    """Tracks the KL estimate at every logged step; warns past `warn`, stops training past `abort`."""

    def __init__(self, beta: float, warn: float, abort: float) -> None:
        self.beta, self.warn, self.abort = beta, warn, abort
        self.history: list[list[float]] = []
        self.warnings: list[str] = []
        self.aborted: str | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "rewards/chosen" not in logs:
            return
        kl = kl_estimate(logs["rewards/chosen"], logs["rewards/rejected"], self.beta)
        self.history.append([state.global_step, kl])
        if kl > self.abort:
            self.aborted = f"KL {kl:.3g} above {self.abort} at step {state.global_step}: training stopped"
            control.should_training_stop = True
        elif kl > self.warn and not self.warnings:
            self.warnings.append(f"KL {kl:.3g} above {self.warn} at step {state.global_step}")
            log.warning("preference: %s", self.warnings[-1])


def kl_estimate(reward_chosen: float, reward_rejected: float, beta: float) -> float:
    """Mean absolute log-ratio policy/reference (nats per sequence) from TRL's implicit rewards."""
    return (abs(reward_chosen) + abs(reward_rejected)) / (2 * beta)


def stage_config(config: RunConfig) -> dict[str, Any]:
    """The resolved settings this stage's output depends on (hashed into its inputs: `stages/settings.py`)."""
    return settings_of("preference", config)


def run(config: RunConfig, inputs: StageInputs) -> StageResult:
    """Train (or reuse) the preference adapter of `inputs.target`, starting from its SFT adapter."""
    settings = stage_config(config)
    hashes = input_hashes(inputs, settings)
    if (finished := reuse_if_done(STAGE, inputs, hashes, ADAPTER_DIR)) is not None:
        return finished
    if inputs.parent_adapter is None:
        raise StageError("the preference stage starts from the SFT adapter; pass parent_adapter (stages/<target>/sft/adapter)")
    check_adapter_base(inputs.parent_adapter, hashes["base"])
    pairs = read_pairs(inputs.data)
    resume = prepare_stage_dir(inputs, hashes)
    hardware = Hardware()
    gate_section = config.gates.preference
    watch = KlWatch(config.preference.beta, gate_section.kl_warn, gate_section.kl_abort)
    with resource_errors(STAGE, KNOBS):
        trainer = setup(config, inputs, pairs, hardware, watch)
        trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        final = trainer.evaluate(eval_dataset=trainer.train_dataset)
        save_adapter(trainer, inputs, hashes["base"], STAGE)
    metrics = collect_metrics(trainer, final, watch, config.preference.beta)
    metrics["hardware_notes"] = hardware.notes
    return finish_stage(STAGE, inputs, settings, hashes, metrics, evaluate(STAGE, metrics, config.gates), ADAPTER_DIR)


def setup(config: RunConfig, inputs: StageInputs, pairs: list[dict], hardware: Hardware, watch: KlWatch):
    """A DPOTrainer on the SFT adapter (TRL adds its frozen copy as the reference)."""
    model, tokenizer = load_for_training(inputs.base_dir, config.lora, hardware)
    require_chat_template(tokenizer, inputs.base_dir)
    data = tokenized_pairs(tokenizer, pairs, config.preference.max_length)
    model = attach_lora(model, config.lora, inputs.parent_adapter)
    if not config.preference.train_embeddings and (fixed := freeze_saved_modules(model)):
        log.info("preference: %s embedding weights kept as SFT left them (preference.train_embeddings)", f"{fixed:,}")
    arguments = preference_arguments(config, inputs.stage_dir / CHECKPOINT_DIR, hardware)
    trainer = PretokenizedDPOTrainer(model=model, args=arguments, train_dataset=data, processing_class=tokenizer,
                                     callbacks=[watch])
    return show_progress(trainer, STAGE, inputs.tracker_dir)


def freeze_saved_modules(model) -> int:
    """Fix the embed_tokens/lm_head copies SFT trained (PEFT's modules_to_save); the number of weights fixed.

    Adam moves every trained weight by about lr per step, whatever its gradient. On the miniature, that
    step on the embedding rows flipped MoE routes: one chosen episode lost 2.9 nats whether lr was 5e-7
    or 2.5e-7, and the stage's KL read 0.31 where the LoRA matrices alone gave 0.12. They are still saved
    with the adapter, unchanged.
    """
    fixed = 0
    for name, parameter in model.named_parameters():
        if "modules_to_save" in name and parameter.requires_grad:
            parameter.requires_grad_(False)
            fixed += parameter.numel()
    return fixed


def preference_arguments(config: RunConfig, output_dir: Path, hardware: Hardware):
    """DPOConfig from the run config's `preference` section (SPEC §2 in the real profile)."""
    from trl import DPOConfig

    section = config.preference
    return DPOConfig(
        **common_training_args(output_dir, report_to=config.logging.report_to),
        loss_type=[section.loss],
        beta=section.beta,
        num_train_epochs=section.epochs,
        max_steps=section.max_steps or -1,
        learning_rate=section.learning_rate,
        per_device_train_batch_size=section.batch_size,
        per_device_eval_batch_size=section.batch_size,
        gradient_accumulation_steps=section.grad_accum,
        optim=hardware.optimizer(config.sft.optimizer),  # SPEC §2 names one optimizer for the adapter stages
        max_length=section.max_length,
        save_steps=section.save_steps,
    )


def collect_metrics(trainer, final: dict[str, float], watch: KlWatch, beta: float) -> dict[str, Any]:
    """KL (worst seen), chosen-above-rejected share, losses and the collapse signal, from the logs."""
    history = trainer.state.log_history
    chosen_logps = logged(history, "logps/chosen")
    final_kl = kl_estimate(final["eval_rewards/chosen"], final["eval_rewards/rejected"], beta)
    return {
        "kl": max([final_kl] + [kl for _, kl in watch.history]),
        "kl_final": final_kl,
        "kl_history": watch.history,
        "kl_warnings": watch.warnings,
        "aborted": watch.aborted,
        "chosen_win_rate": final["eval_rewards/accuracies"],
        "reward_margin": final["eval_rewards/margins"],
        "losses": logged(history, "loss"),
        "chosen_logp_drop": _mean_first(chosen_logps) - tail_mean(chosen_logps) if chosen_logps else None,
        "pairs": len(trainer.train_dataset),
        "steps": trainer.state.global_step,
    }


def _mean_first(points: list[list[float]], share: float = 0.1) -> float:
    count = max(1, round(share * len(points)))
    return sum(value for _, value in points[:count]) / count


class PretokenizedDPOTrainer(DPOTrainer):
    """DPOTrainer taking pairs already tokenized by `preference_data` (prompt/chosen/rejected ids)."""

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        # Already tokenized (see preference_data); TRL's own pass would re-render the messages.
        return dataset


def headline(metrics: dict[str, Any]) -> str:
    """The run summary's key metric: how often chosen beat rejected, and the KL from the SFT policy."""
    return f"chosen>rejected {headline_number(metrics, 'chosen_win_rate')}, KL {headline_number(metrics, 'kl')}"
