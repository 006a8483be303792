"""What the training stages share: loading a base for training, LoRA, optimizer and precision
choices that depend on the hardware, and turning resource failures into errors that name a knob.

Real-model settings (SPEC §1-2) need CUDA: adamw_8bit and 4-bit QLoRA come from bitsandbytes,
Unsloth is an optional faster backend. Where they are not available the stage says what it used
instead (`hardware_notes`, recorded in metrics.json and meta.json) rather than failing.
"""

from __future__ import annotations

import errno
import importlib.util
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from apprentice.base.attention import fused_attention_for
from apprentice.base.load import load_base, read_model_config
from apprentice.base.lora import lora_config_for, require_expert_lora
from apprentice.config.models import LoraSection
from apprentice.errors import StageError


@dataclass
class Hardware:
    """What this machine can do for training, and the notes a stage records about its choices."""

    cuda: bool = field(default_factory=torch.cuda.is_available)
    bitsandbytes: bool = field(default_factory=lambda: importlib.util.find_spec("bitsandbytes") is not None)
    notes: list[str] = field(default_factory=list)

    def optimizer(self, requested: str) -> str:
        """The optimizer to use: `requested`, unless it needs bitsandbytes on CUDA and that is missing."""
        if "8bit" in requested and not (self.cuda and self.bitsandbytes):
            self.notes.append(f"optimizer {requested} needs CUDA and bitsandbytes; used adamw_torch")
            return "adamw_torch"
        return requested

    def quantize_4bit(self, lora: LoraSection) -> bool:
        """Whether to load the base in 4-bit (QLoRA): asked for, CUDA present, bitsandbytes installed."""
        if lora.quantize_4bit and not (self.cuda and self.bitsandbytes):
            self.notes.append("4-bit QLoRA needs CUDA and bitsandbytes; trained the LoRA on the full-precision base")
            return False
        return lora.quantize_4bit


def load_for_training(base_dir: Path, lora: LoraSection, hardware: Hardware, backend: str = "transformers",
                      packing: bool = False):
    """(model, tokenizer) ready for LoRA: 4-bit when QLoRA applies, through Unsloth when asked.

    gpt-oss gets the fused sink attention off CUDA (faster than eager) and, on CUDA, when rows are
    packed (eager attention would let packed sequences see each other).
    """
    if backend == "unsloth":
        return _load_with_unsloth(base_dir, lora, hardware)
    if not hardware.quantize_4bit(lora):
        attention = fused_attention_for(read_model_config(base_dir), hardware.cuda and not packing)
        model, tokenizer = load_base(base_dir, dtype="auto" if hardware.cuda else "float32",
                                     experts_implementation="grouped_mm" if hardware.cuda else None,
                                     attn_implementation=attention)
        model.train()
        return model, tokenizer
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quantization = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                      bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_use_double_quant=True)
    model = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True, quantization_config=quantization)
    return prepare_model_for_kbit_training(model), AutoTokenizer.from_pretrained(base_dir, local_files_only=True)


def _load_with_unsloth(base_dir: Path, lora: LoraSection, hardware: Hardware):
    if importlib.util.find_spec("unsloth") is None:
        raise StageError("sft.backend is 'unsloth' but Unsloth is not installed; `pip install unsloth` "
                         "(CUDA only) or set sft.backend=transformers")
    if not hardware.cuda:
        raise StageError("sft.backend is 'unsloth', which needs a CUDA GPU; set sft.backend=transformers on this machine")
    from unsloth import FastLanguageModel

    model, tokenizer = FastLanguageModel.from_pretrained(str(base_dir), load_in_4bit=hardware.quantize_4bit(lora))
    return model, tokenizer


def attach_lora(model, lora: LoraSection, parent_adapter: Path | None = None, seed: int = 0):
    """Wrap `model` with a trainable LoRA (a new one, or `parent_adapter` to continue from); experts checked.

    Seeded first: a new adapter's A matrices are random, and unseeded they would depend on whatever the
    process drew before (in `apprentice run`, the pretraining and data steps), so the same SFT stage
    started on its own or inside a run would begin from different weights.
    """
    from peft import PeftModel, get_peft_model
    from transformers import set_seed

    set_seed(seed)
    if parent_adapter is not None:
        peft_model = PeftModel.from_pretrained(model, parent_adapter, is_trainable=True)
    else:
        peft_model = get_peft_model(model, lora_config_for(model, lora.rank, lora.alpha, lora.dropout,
                                                           lora.train_embeddings))
    require_expert_lora(peft_model)
    return peft_model


def require_chat_template(tokenizer, base_dir: Path) -> str:
    """The base's chat template; StageError when it has none (trajectories cannot be rendered)."""
    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template.get("default")
    if not template:
        raise StageError(f"base '{base_dir}' has no chat template, so trajectories cannot be rendered; "
                         "use an instruct/chat model or add chat_template.jinja to the base directory")
    return template


def common_training_args(output_dir: Path, seed: int = 0, report_to: str = "none") -> dict[str, Any]:
    """Trainer arguments every stage shares: checkpoints in the stage dir, quiet logs, the configured tracker
    (`logging.report_to`: tensorboard, wandb, mlflow, trackio or none)."""
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()  # a bar per dataset.map over a few hundred rows is noise in a stage's output
    return {
        "output_dir": str(output_dir),
        "save_strategy": "steps",
        "save_total_limit": 1,  # resuming needs only the newest; real checkpoints weigh gigabytes
        "logging_steps": 1,
        "report_to": [] if report_to == "none" else [report_to],
        "disable_tqdm": True,
        "seed": seed,
        "use_cpu": not torch.cuda.is_available(),
        "bf16": torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        # Recomputing activations saves GPU memory; on CPU it only costs time.
        "activation_checkpointing": torch.cuda.is_available(),
    }


def logged(log_history: list[dict[str, Any]], key: str) -> list[list[float]]:
    """[[step, value], ...] for every log entry of the trainer holding `key`."""
    return [[entry["step"], float(entry[key])] for entry in log_history if key in entry]


def tail_mean(points: list[list[float]], share: float = 0.1) -> float:
    """Mean of the last `share` of the values (at least one): a final loss less noisy than one step."""
    if not points:
        return math.nan
    count = max(1, math.ceil(share * len(points)))
    return sum(value for _, value in points[-count:]) / count


@contextmanager
def resource_errors(stage: str, knobs: str) -> Iterator[None]:
    """Turn out-of-memory and disk-full failures into StageErrors naming the knobs to turn."""
    try:
        yield
    except torch.OutOfMemoryError as error:
        raise StageError(f"{stage} ran out of memory ({str(error).splitlines()[0]}); lower {knobs}, "
                         "then run again: it resumes from the last checkpoint") from None
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise StageError(f"{stage}: disk full while writing '{error.filename}'; free space or move runs_dir, "
                         "then run again: it resumes from the last checkpoint") from None


class StageProgress(TrainerCallback):
    """One line per logged step (`sft step 12/36 loss 6.41`) in place of the Trainer's raw log dicts."""

    KEYS = ("loss", "eval_loss", "reward", "reward_std", "rewards/accuracies")

    def __init__(self, stage: str):
        self.stage = stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = [f"{key} {float(logs[key]):.4g}" for key in self.KEYS if logs and key in logs]
        if shown:
            print(f"  {self.stage} step {state.global_step}/{state.max_steps} " + " ".join(shown), flush=True)


def show_progress(trainer, stage: str, log_dir: Path | None = None):
    """Replace the Trainer's log printer (it prints every metric dict) with `StageProgress`; TensorBoard's event
    files go to `log_dir` (transformers reads it from TENSORBOARD_LOGGING_DIR only, once per process)."""
    from transformers.integrations import TensorBoardCallback
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(StageProgress(stage))
    if log_dir is not None:
        for callback in trainer.callback_handler.callbacks:
            if isinstance(callback, TensorBoardCallback):
                callback.logging_dir = str(log_dir)
    return trainer
