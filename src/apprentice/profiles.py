"""Profiles: the default values a run starts from before its YAML.

`real` is the field defaults themselves (SPEC §2, for gpt-oss-20b-class models on a GPU). `tiny`
scales every stage for the embedded miniature gpt-oss on a 2-core CPU, keeping the shape of the
real recipe (same stages, same curriculum phases, same gates) so the demo exercises the same code.
"""

from typing import Any

TINY: dict[str, Any] = {
    # Few weights to adapt in a ~4M-parameter model; rank 16 already covers most of each matrix.
    "lora": {"rank": 16, "alpha": 32, "quantize_4bit": False},
    # Half the real context curriculum, which a 4-layer model learns in minutes on CPU.
    "pretrain": {"context_lengths": [256, 512, 1024], "steps_per_length": 60, "learning_rate": 1e-3, "batch_size": 8},
    # A random-init model needs a far larger step than a pretrained 20B one; bitsandbytes is GPU-only.
    "sft": {"epochs": 3, "learning_rate": 5e-4, "batch_size": 4, "grad_accum": 1, "optimizer": "adamw_torch",
            "max_seq_length": 2048},
    "preference": {"learning_rate": 5e-5, "batch_size": 2, "grad_accum": 1},
    "grpo": {
        "steps": 40, "learning_rate": 1e-5, "grad_accum": 1,
        # SPEC §3 at 1/125 of the steps and 1/16 of the lengths.
        "curriculum": [
            {"until_step": 8, "max_seq_length": 256, "tasks": "single-file", "tool_pattern": "single", "reasoning_effort": "low"},
            {"until_step": 16, "max_seq_length": 512, "tasks": "multi-file", "tool_pattern": "chain", "reasoning_effort": "medium"},
            {"until_step": 28, "max_seq_length": 1024, "tasks": "module", "tool_pattern": "conditional", "reasoning_effort": "high"},
            {"until_step": 40, "max_seq_length": 2048, "tasks": "repository", "tool_pattern": "planning", "reasoning_effort": "high"},
        ],
    },
    "gates": {
        # A few hundred mutants of the stdlib corpus, not the 3,000 a real run needs.
        "data": {"min_tasks": 200},
        # A miniature model cannot reach a 20B model's loss; the gate still demands a falling eval loss.
        "sft": {"max_final_loss": 2.0},
        "grpo": {"window_steps": 8},
    },
}

PROFILES: dict[str, dict[str, Any]] = {"tiny": TINY, "real": {}}
