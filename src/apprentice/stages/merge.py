"""Merge: fold an adapter into its base for serving (`merge_and_unload`), or export the adapter alone.

Serving several targets from one base keeps adapters separate (SPEC §9); a merged model is for
engines or users that want one plain model directory. Either way the adapter's recorded base hash
must match the base it is applied to.
"""

from __future__ import annotations

import shutil
from typing import Any, Literal

from apprentice.artifacts import atomic_directory
from apprentice.config.models import RunConfig
from apprentice.errors import StageError
from apprentice.stages.result import (
    ADAPTER_DIR,
    MODEL_DIR,
    StageInputs,
    StageResult,
    check_adapter_base,
    finish_stage,
    input_hashes,
    prepare_stage_dir,
    reuse_if_done,
)

STAGE = "merge"


def run(config: RunConfig, inputs: StageInputs, mode: Literal["merge", "export"] = "merge") -> StageResult:
    """Merge `inputs.parent_adapter` into `inputs.base_dir` (into `model/`), or copy it alone (`adapter/`)."""
    if mode not in ("merge", "export"):
        raise StageError(f"unknown merge mode '{mode}' (known: merge, export)")
    if inputs.parent_adapter is None:
        raise StageError("merge needs an adapter: pass parent_adapter (e.g. stages/<target>/preference/adapter)")
    output = MODEL_DIR if mode == "merge" else ADAPTER_DIR
    settings: dict[str, Any] = {"mode": mode}
    hashes = input_hashes(inputs, settings)
    if (finished := reuse_if_done(STAGE, inputs, hashes, output)) is not None:
        return finished
    check_adapter_base(inputs.parent_adapter, hashes["base"])
    prepare_stage_dir(inputs, hashes)
    if mode == "merge":
        parameters = merge_adapter(inputs)
    else:
        with atomic_directory(inputs.stage_dir / ADAPTER_DIR) as staging:
            shutil.copytree(inputs.parent_adapter, staging, dirs_exist_ok=True)
        parameters = None
    metrics = {"mode": mode, "parameters": parameters, "adapter": str(inputs.parent_adapter)}
    return finish_stage(STAGE, inputs, settings, hashes, metrics, None, output)


def merge_adapter(inputs: StageInputs) -> int:
    """Load base + adapter, `merge_and_unload`, save the plain model and tokenizer; its parameter count."""
    from peft import PeftModel

    from apprentice.base.load import load_base

    model, tokenizer = load_base(inputs.base_dir, dtype="float32")
    merged = PeftModel.from_pretrained(model, inputs.parent_adapter).merge_and_unload()
    with atomic_directory(inputs.stage_dir / MODEL_DIR) as staging:
        merged.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
    return sum(p.numel() for p in merged.parameters())
