"""Load a local causal LM directory, or inspect one without loading its weights.

Models are local directories only: nothing here reaches a hub (HF_HUB_OFFLINE is forced), so a
typo in a path fails at once with the path named instead of a download attempt.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from apprentice.base.chat_templates import detect_chat_format, is_trl_known_template
from apprentice.errors import BaseModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Weight-loading and shard-writing progress bars of a few-MB model are noise in the run's output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# Names that mark the expert weights of mixture-of-experts models: fused 3-D parameters
# (gpt-oss, and MoE models in transformers 5) or per-expert linear layers (older MoE code).
FUSED_EXPERT_PARAMETERS = ("gate_up_proj", "down_proj")


@dataclass(frozen=True)
class BaseReport:
    """What `apprentice base inspect` shows about a base model directory."""

    path: Path
    model_type: str
    architecture: str
    parameters: int
    layers: int
    hidden_size: int
    experts: int
    experts_per_token: int
    vocab_size: int
    chat_format: str
    trl_parses_responses: bool
    expert_lora_targets: tuple[str, ...]

    def render(self) -> Table:
        """A two-column table for the terminal."""
        table = Table(title=f"base {self.path}", show_header=False)
        experts = f"{self.experts} (top-{self.experts_per_token})" if self.experts else "none (dense)"
        rows = {
            "model type": self.model_type,
            "architecture": self.architecture,
            "parameters": f"{self.parameters:,}",
            "layers x hidden": f"{self.layers} x {self.hidden_size}",
            "experts": experts,
            "vocabulary": f"{self.vocab_size:,}",
            "chat format": self.chat_format + (" (TRL response parser)" if self.trl_parses_responses else ""),
            "expert LoRA targets": ", ".join(self.expert_lora_targets) or "none",
        }
        for key, value in rows.items():
            table.add_row(key, value)
        return table


def read_model_config(path: Path) -> dict:
    """The `config.json` of a causal LM directory; BaseModelError naming the problem otherwise."""
    if not path.is_dir():
        raise BaseModelError(f"base model directory '{path}' does not exist; run `apprentice base init --out {path}` or give a local model path")
    config_file = path / "config.json"
    if not config_file.is_file():
        raise BaseModelError(f"'{path}' has no config.json, so it is not a Hugging Face model directory; point base.path at one")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise BaseModelError(f"'{config_file}' is not valid JSON ({error.msg}); re-download or rebuild the base") from None
    architectures = config.get("architectures") or []
    if not any(name.endswith("ForCausalLM") for name in architectures):
        raise BaseModelError(f"'{path}' is a {architectures or 'model of unknown architecture'}, not a causal LM; apprentice needs a *ForCausalLM model")
    return config


def inspect_base(path: Path) -> BaseReport:
    """Describe a base without loading its weights (the model is built on the meta device)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = read_model_config(path)
    model_config = AutoConfig.from_pretrained(path, local_files_only=True)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(model_config)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return BaseReport(
        path=path,
        model_type=config["model_type"],
        architecture=config["architectures"][0],
        parameters=sum(p.numel() for p in model.parameters()),
        layers=model_config.num_hidden_layers,
        hidden_size=model_config.hidden_size,
        experts=getattr(model_config, "num_local_experts", 0) or getattr(model_config, "num_experts", 0) or 0,
        experts_per_token=getattr(model_config, "num_experts_per_tok", 0) or 0,
        vocab_size=len(tokenizer),
        chat_format=detect_chat_format(tokenizer.chat_template),
        trl_parses_responses=is_trl_known_template(tokenizer.chat_template),
        expert_lora_targets=expert_parameter_names(model),
    )


def expert_parameter_names(model) -> tuple[str, ...]:
    """Layer-relative names of the fused expert weights LoRA can target (`mlp.experts.gate_up_proj`)."""
    names = set()
    for name, parameter in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if ".experts." in name and leaf in FUSED_EXPERT_PARAMETERS and parameter.dim() == 3:
            names.add(name.split(".layers.", 1)[-1].split(".", 1)[-1])
    return tuple(sorted(names))


def load_base(path: Path, dtype: str = "auto", experts_implementation: str | None = None,
              attn_implementation: str | None = None):
    """Load (model, tokenizer) from a local directory, offline. The model comes back in eval mode.

    `experts_implementation` picks transformers' kernel for fused MoE experts ("grouped_mm" on CUDA
    trains gpt-oss-20b 4.1x faster than the per-expert loop, benchmarks/gpu_sft_mfu.py); it is
    ignored for dense models. `attn_implementation` names transformers' attention kernel (None: the model's default;
    `attention.fused_attention_for` picks the fused sink kernel for gpt-oss on a CPU).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging

    logging.disable_progress_bar()

    config = read_model_config(path)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    options = {"experts_implementation": experts_implementation} if experts_implementation and _is_moe(config) else {}
    if attn_implementation:
        options["attn_implementation"] = attn_implementation
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype, **options)
    model.eval()
    return model, tokenizer


def _is_moe(config: dict) -> bool:
    """Whether a model config describes a mixture of experts (gpt-oss, Mixtral, Qwen-MoE naming)."""
    return any(config.get(key) for key in ("num_local_experts", "num_experts", "n_routed_experts"))
