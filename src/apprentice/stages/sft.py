"""SFT: LoRA on attention and experts, trained on agent trajectories with TRL's SFTTrainer.

    setup   -> base (4-bit on CUDA when asked), LoRA checked to reach the experts, trajectories
               tokenized with assistant-only loss masks, held-out split, format accuracy before
    train   -> SFTTrainer with packing (bfd), eval loss at `eval_points` moments, checkpoints
               (a killed run resumes from the newest)
    cleanup -> adapter saved, format accuracy after, metrics + gate + meta, DONE

`python -m apprentice ...` never calls this directly: the pipeline does, per target.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from apprentice.artifacts import atomic_write_json
from apprentice.config.models import RunConfig
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
from apprentice.stages.format_accuracy import Parser, measure_format_accuracy
from apprentice.stages.result import (
    ADAPTER_DIR,
    CHECKPOINT_DIR,
    StageInputs,
    StageResult,
    check_adapter_base,
    finish_stage,
    headline_number,
    input_hashes,
    is_main_process,
    prepare_stage_dir,
    read_json,
    reuse_if_done,
    save_adapter,
)
from apprentice.stages.settings import stage_config as settings_of
from apprentice.stages.sft_data import format_probes, read_trajectories, split_held_out, tokenized_dataset

STAGE = "sft"
KNOBS = "sft.batch_size (raise sft.grad_accum to keep the effective batch) or sft.max_seq_length"
BEFORE_FILE = "format_before.json"  # measured once before training, kept across a resume


def stage_config(config: RunConfig) -> dict[str, Any]:
    """The resolved settings this stage's output depends on (hashed into its inputs: `stages/settings.py`)."""
    return settings_of("sft", config)


def run(config: RunConfig, inputs: StageInputs, parse: Parser | None = None) -> StageResult:
    """Train (or reuse) the SFT adapter of `inputs.target`; `parse` overrides the agent's completion parser."""
    settings = stage_config(config)
    hashes = input_hashes(inputs, settings)
    if (finished := reuse_if_done(STAGE, inputs, hashes, ADAPTER_DIR)) is not None:
        return finished
    if inputs.parent_adapter is not None:
        check_adapter_base(inputs.parent_adapter, hashes["base"])
    trajectories = read_trajectories(inputs.data)
    resume = prepare_stage_dir(inputs, hashes)
    hardware = Hardware()
    with resource_errors(STAGE, KNOBS):
        trainer, probes = setup(config, inputs, trajectories, hardware)
        before = _format_before(trainer, probes, inputs.stage_dir, config, parse)
        started = time.perf_counter()
        outcome = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        metrics = collect_metrics(trainer, outcome, time.perf_counter() - started, resume is not None)
        after = measure_format_accuracy(trainer.model, trainer.processing_class, probes,
                                        config.sft.format_max_new_tokens, parse)
        save_adapter(trainer, inputs, hashes["base"], STAGE)
    metrics.update(format_accuracy_before=before, format_accuracy=after.accuracy, format_probes=after.probes,
                   format_parsed=after.parsed, format_interval=[round(bound, 4) for bound in after.interval()],
                   format_by_task={task: [parsed, count] for task, parsed, count in after.by_task},
                   format_errors=list(after.examples), hardware_notes=hardware.notes)
    gate = evaluate(STAGE, metrics, config.gates)
    return finish_stage(STAGE, inputs, settings, hashes, metrics, gate, ADAPTER_DIR)


def setup(config: RunConfig, inputs: StageInputs, trajectories, hardware: Hardware):
    """(SFTTrainer, format probes): model with LoRA, tokenized train/eval data, training arguments."""
    from apprentice.stages.sft_trainer import CompactLossSFTTrainer

    model, tokenizer = load_for_training(inputs.base_dir, config.lora, hardware, config.sft.backend, config.sft.packing)
    require_chat_template(tokenizer, inputs.base_dir)
    train, held_out = split_held_out(trajectories, config.sft.eval_share)
    train_data = tokenized_dataset(tokenizer, train, config.sft.max_seq_length)
    eval_data = tokenized_dataset(tokenizer, held_out, config.sft.max_seq_length)
    model = attach_lora(model, config.lora, inputs.parent_adapter)
    arguments = sft_arguments(config, inputs.stage_dir / CHECKPOINT_DIR, hardware)
    trainer = CompactLossSFTTrainer(model=model, args=arguments, train_dataset=train_data, eval_dataset=eval_data,
                         processing_class=tokenizer)
    return show_progress(trainer, STAGE, inputs.tracker_dir), format_probes(held_out, config.sft.format_samples)


def sft_arguments(config: RunConfig, output_dir: Path, hardware: Hardware):
    """SFTConfig from the run config's `sft` section (SPEC §2 in the real profile)."""
    from trl import SFTConfig

    sft = config.sft
    return SFTConfig(
        **common_training_args(output_dir, report_to=config.logging.report_to),
        num_train_epochs=sft.epochs,
        max_steps=sft.max_steps or -1,
        learning_rate=sft.learning_rate,
        per_device_train_batch_size=sft.batch_size,
        per_device_eval_batch_size=sft.batch_size,
        gradient_accumulation_steps=sft.grad_accum,
        optim=hardware.optimizer(sft.optimizer),
        max_length=sft.max_seq_length,
        packing=sft.packing,
        packing_strategy=sft.packing_strategy,
        eval_strategy="steps",
        eval_steps=1 / sft.eval_points,  # a ratio of the total steps: `eval_points` measurements
        save_steps=sft.save_steps,
        dataset_num_proc=None,
    )


def collect_metrics(trainer, outcome, seconds: float, resumed: bool) -> dict[str, Any]:
    """Losses (train and eval, per step), throughput, and the LoRA's reach, from the trainer's logs."""
    history = trainer.state.log_history
    train_losses = logged(history, "loss")
    tokens = sum(len(ids) for ids in trainer.train_dataset["input_ids"]) * trainer.args.num_train_epochs
    return {
        "train_losses": train_losses,
        "eval_losses": logged(history, "eval_loss"),
        "first_train_loss": train_losses[0][1] if train_losses else None,
        "final_train_loss": tail_mean(train_losses),
        "steps": trainer.state.global_step,
        "train_seconds": round(seconds, 2),
        "tokens_per_second": None if resumed or trainer.args.max_steps > 0 else round(tokens / seconds, 1),
        "train_runtime": outcome.metrics.get("train_runtime"),
        "resumed": resumed,
    }


def _format_before(trainer, probes, stage_dir: Path, config: RunConfig, parse: Parser | None) -> float:
    """Format accuracy of the untrained adapter (= the base), measured once and kept for a resume."""
    path = stage_dir / BEFORE_FILE
    if path.exists():
        return read_json(path)["format_accuracy"]
    with trainer.model.disable_adapter():
        report = measure_format_accuracy(trainer.model, trainer.processing_class, probes,
                                         config.sft.format_max_new_tokens, parse)
    if is_main_process():
        atomic_write_json(path, {"format_accuracy": report.accuracy})
    return report.accuracy


def headline(metrics: dict[str, Any]) -> str:
    """The run summary's key metric: final loss and the held-out format accuracy before -> after."""
    counted = (f" ({metrics['format_parsed']}/{metrics['format_probes']} turns)"
               if metrics.get("format_parsed") is not None else "")
    before, after = headline_number(metrics, "format_accuracy_before"), headline_number(metrics, "format_accuracy")
    return f"loss {headline_number(metrics, 'final_train_loss')}, format accuracy {before} -> {after}{counted}"
