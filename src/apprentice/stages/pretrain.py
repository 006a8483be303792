"""Pretraining: (continued) causal-LM training on a code corpus with a context-length curriculum.

    setup   -> the base's weights, a token stream of the corpus (the stdlib minus held-out modules
               by default, or every file under `inputs.data`), cut into blocks per phase length
    train   -> one Trainer run per phase, shortest context first (SPEC §2); each finished phase is
               saved (`phases/<length>/`), each running one checkpoints, so a kill loses little
    cleanup -> the full model (not an adapter: pretraining changes the base) in `model/`, the loss
               first -> last in metrics.json, meta, DONE

Its `model/` becomes the base that SFT's LoRA attaches to.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch

from apprentice.artifacts import atomic_directory, is_done, mark_done
from apprentice.config.models import RunConfig
from apprentice.stages.common import common_training_args, logged, resource_errors, show_progress, tail_mean
from apprentice.stages.corpus_data import corpus_files, curriculum_blocks, token_stream
from apprentice.stages.result import (
    CHECKPOINT_DIR,
    MODEL_DIR,
    StageInputs,
    StageResult,
    finish_stage,
    headline_number,
    input_hashes,
    is_main_process,
    last_checkpoint,
    prepare_stage_dir,
    read_json,
    reuse_if_done,
)
from apprentice.stages.settings import stage_config as settings_of

STAGE = "pretrain"
KNOBS = "pretrain.batch_size or pretrain.context_lengths"
PHASES_DIR = "phases"
LOSSES_FILE = "losses.json"


def stage_config(config: RunConfig) -> dict[str, Any]:
    """The resolved settings this stage's output depends on (hashed into its inputs: `stages/settings.py`)."""
    return settings_of("pretrain", config)


def run(config: RunConfig, inputs: StageInputs) -> StageResult:
    """Pretrain (or reuse) `inputs.base_dir` on the corpus; the result is a full model in `model/`."""
    from apprentice.base.attention import fused_attention_for
    from apprentice.base.load import load_base, read_model_config

    settings = stage_config(config)
    hashes = input_hashes(inputs, settings)
    if (finished := reuse_if_done(STAGE, inputs, hashes, MODEL_DIR)) is not None:
        return finished
    prepare_stage_dir(inputs, hashes)
    attention = fused_attention_for(read_model_config(inputs.base_dir), torch.cuda.is_available())
    model, tokenizer = load_base(inputs.base_dir, dtype="float32", attn_implementation=attention)
    section = config.pretrain
    blocks_per_length = section.steps_per_length * section.batch_size
    if section.max_blocks_per_length is not None:
        blocks_per_length = min(blocks_per_length, section.max_blocks_per_length)
    files = corpus_files(section.seed) if inputs.data is None else data_files(inputs.data)
    stream = token_stream(tokenizer, files, blocks_per_length * sum(section.context_lengths), section.copy_fraction,
                          section.seed)
    losses: list[list[float]] = []
    tokens = 0
    with resource_errors(STAGE, KNOBS):
        for length, blocks in curriculum_blocks(stream, section.context_lengths, blocks_per_length):
            model, phase_losses = train_phase(config, inputs, model, tokenizer, length, blocks)
            losses.extend([[len(losses) + i, loss] for i, (_, loss) in enumerate(phase_losses, start=1)])
            tokens += len(blocks) * length
        save_model(model, tokenizer, inputs.stage_dir / MODEL_DIR)
    shutil.rmtree(inputs.stage_dir / PHASES_DIR, ignore_errors=True)
    metrics = {
        "losses": losses,
        "first_loss": losses[0][1] if losses else None,
        "final_loss": tail_mean(losses),
        "context_lengths": section.context_lengths,
        "tokens": tokens,
    }
    return finish_stage(STAGE, inputs, settings, hashes, metrics, None, MODEL_DIR)


def train_phase(config: RunConfig, inputs: StageInputs, model, tokenizer, length: int, blocks: list[list[int]]):
    """(model, [[step, loss], ...]) after one curriculum phase; a phase finished earlier is loaded, not redone."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments, default_data_collator

    stage_dir = inputs.stage_dir
    phase_dir = stage_dir / PHASES_DIR / str(length)
    if is_done(phase_dir, {"length": str(length)}):
        model = AutoModelForCausalLM.from_pretrained(phase_dir, local_files_only=True, dtype="float32")
        return model, read_json(phase_dir / LOSSES_FILE)
    section = config.pretrain
    checkpoints = stage_dir / CHECKPOINT_DIR / f"len-{length}"
    arguments = TrainingArguments(
        **common_training_args(checkpoints, report_to=config.logging.report_to), max_steps=section.steps_per_length, learning_rate=section.learning_rate,
        per_device_train_batch_size=section.batch_size, save_steps=section.save_steps,
        lr_scheduler_type="cosine", warmup_steps=max(1, section.steps_per_length // 10),
    )
    data = Dataset.from_dict({"input_ids": blocks, "labels": blocks})
    model.train()
    trainer = Trainer(model=model, args=arguments, train_dataset=data, data_collator=default_data_collator)
    show_progress(trainer, f"pretrain@{length}", inputs.tracker_dir / f"len-{length}")
    resume = last_checkpoint(checkpoints)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    losses = logged(trainer.state.log_history, "loss")
    save_model(model, tokenizer, phase_dir, extra={LOSSES_FILE: json.dumps(losses)})
    mark_done_phase(phase_dir, length)
    return model, losses


def save_model(model, tokenizer, out: Path, extra: dict[str, str] | None = None) -> None:
    """Model and tokenizer into `out`, atomically (a reader sees no half-written model); rank 0 only."""
    if not is_main_process():
        return
    with atomic_directory(out) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        for name, text in (extra or {}).items():
            (staging / name).write_text(text, encoding="utf-8")


def mark_done_phase(phase_dir: Path, length: int) -> None:
    """Record a finished phase (its inputs: the length) so a resume loads it instead of retraining."""
    from apprentice.artifacts import write_meta

    if not is_main_process():
        return
    write_meta(phase_dir, {"length": length}, {"length": str(length)})
    mark_done(phase_dir)


def data_files(data: Path) -> list[Path]:
    """The corpus files under `data` (a file, or every file of a directory tree, sorted)."""
    from apprentice.errors import StageError

    files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
    if not files:
        raise StageError(f"pretraining corpus '{data}' holds no files; point it at source code or leave it empty for the stdlib")
    return files


def headline(metrics: dict[str, Any]) -> str:
    """The run summary's key metric: the loss from the first step to the last."""
    return f"loss {headline_number(metrics, 'first_loss')} -> {headline_number(metrics, 'final_loss')}"
