"""What each training stage's output depends on, hashed into its inputs: one place, light to import.

The stage modules (torch, TRL) and `apprentice run --dry-run` (which loads neither) hash the same dicts.
"""

from __future__ import annotations

import sys
from typing import Any

from apprentice.config.models import RunConfig


def stage_config(stage: str, config: RunConfig) -> dict[str, Any]:
    """The resolved settings `stage`'s output depends on; the pretraining corpus is the interpreter's stdlib."""
    lora = config.lora.model_dump(mode="json")
    settings = {
        "pretrain": lambda: {"pretrain": config.pretrain.model_dump(mode="json"), "corpus_python": sys.version},
        "sft": lambda: {"sft": config.sft.model_dump(mode="json"), "lora": lora},
        "preference": lambda: {"preference": config.preference.model_dump(mode="json"), "lora": lora,
                               "gates": config.gates.preference.model_dump(mode="json")},
        "grpo": lambda: {"grpo": config.grpo.model_dump(mode="json"), "lora": lora},
    }
    return settings[stage]()
