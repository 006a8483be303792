"""LoRA on attention *and* experts, and a check that the experts really got their adapters.

The trap this guards against: PEFT's default target names match attention and dense MLP layers,
but gpt-oss keeps its experts as fused 3-D parameters (`mlp.experts.gate_up_proj`), which only
`target_parameters` reaches. Miss them and ~1% of the weights train while the run looks healthy
(SPEC §1: trainable parameters should jump several-fold once experts are targeted).
"""

import warnings
from dataclasses import dataclass

from peft import LoraConfig
from torch import nn

from apprentice.base.load import expert_parameter_names
from apprentice.errors import ExpertLoraError

# PEFT 0.21 calls a transformers method deprecated in 5.x on every wrap; the warning is theirs, not the user's.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
DENSE_MLP_PROJECTIONS = ("gate_proj", "up_proj", "down_proj")


def lora_config_for(model: nn.Module, rank: int, alpha: int, dropout: float = 0.0,
                    train_embeddings: bool = False) -> LoraConfig:
    """A LoraConfig covering the model's attention projections and its MLP or expert weights.

    Fused experts (gpt-oss) are reached through `target_parameters`; dense models and MoE models
    with per-expert linear layers through `target_modules`. `train_embeddings` also trains the
    input embeddings and the output head in full (`modules_to_save`), for special tokens the base
    has never seen.
    """
    linear_names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, nn.Linear)}
    modules = [name for name in ATTENTION_PROJECTIONS + DENSE_MLP_PROJECTIONS if name in linear_names]
    if not any(name in linear_names for name in ATTENTION_PROJECTIONS):
        raise ExpertLoraError(f"no attention projections named {', '.join(ATTENTION_PROJECTIONS)} in {type(model).__name__}; "
                              "pass target module names for this architecture")
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=modules,
        target_parameters=list(expert_parameter_names(model)) or None,
        modules_to_save=["embed_tokens", "lm_head"] if train_embeddings else None,
        task_type="CAUSAL_LM",
    )


@dataclass(frozen=True)
class ExpertLoraReport:
    """Where a PEFT model's adapters landed. `experts_adapted` is what matters for MoE models."""

    has_experts: bool
    expert_layers: int
    expert_layers_adapted: int
    trainable_parameters: int
    attention_lora_parameters: int
    total_parameters: int

    @property
    def experts_adapted(self) -> bool:
        """True when every layer with experts carries expert adapters (vacuously true for dense models)."""
        return self.expert_layers_adapted == self.expert_layers

    @property
    def multiplier_over_attention_only(self) -> float:
        """Trainable parameters over what attention-only LoRA would train (~6x expected on gpt-oss)."""
        return self.trainable_parameters / max(self.attention_lora_parameters, 1)

    def describe(self) -> str:
        """One line for logs: what trains, and whether the experts are in it."""
        share = 100 * self.trainable_parameters / max(self.total_parameters, 1)
        experts = (f"experts adapted in {self.expert_layers_adapted}/{self.expert_layers} layers"
                   if self.has_experts else "dense model (no experts)")
        return (f"{self.trainable_parameters:,} trainable ({share:.2f}% of {self.total_parameters:,}), "
                f"{self.multiplier_over_attention_only:.1f}x attention-only LoRA; {experts}")


def verify_expert_lora(model: nn.Module) -> ExpertLoraReport:
    """Report whether a PEFT-wrapped model's experts carry LoRA adapters; see `require_expert_lora`."""
    layers_with_experts, adapted_layers, attention = set(), set(), 0
    for name, parameter in model.named_parameters():
        layer = _layer_of(name)
        if ".experts." in name and "lora_" not in name and parameter.dim() == 3:
            layers_with_experts.add(layer)
        if ".experts." in name and "lora_" in name and parameter.requires_grad:
            adapted_layers.add(layer)
        if "lora_" in name and parameter.requires_grad and any(f".{p}." in name for p in ATTENTION_PROJECTIONS):
            attention += parameter.numel()
    return ExpertLoraReport(
        has_experts=bool(layers_with_experts),
        expert_layers=len(layers_with_experts),
        expert_layers_adapted=len(adapted_layers & layers_with_experts),
        trainable_parameters=sum(p.numel() for p in model.parameters() if p.requires_grad),
        attention_lora_parameters=attention,
        total_parameters=sum(p.numel() for p in model.parameters()),
    )


def require_expert_lora(model: nn.Module) -> ExpertLoraReport:
    """`verify_expert_lora`, raising ExpertLoraError when a MoE model's experts were missed."""
    report = verify_expert_lora(model)
    if not report.experts_adapted:
        raise ExpertLoraError(
            f"LoRA reached the experts in only {report.expert_layers_adapted}/{report.expert_layers} layers "
            f"({report.describe()}); build the config with apprentice.base.lora.lora_config_for, which sets "
            "target_parameters for fused experts"
        )
    return report


def _layer_of(parameter_name: str) -> str:
    """`model.layers.3.mlp...` -> `3` (or the whole name when it has no layer index)."""
    _, _, rest = parameter_name.partition(".layers.")
    return rest.split(".", 1)[0] if rest else parameter_name
