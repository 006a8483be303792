"""Profiles: the default values a run starts from before its YAML.

`real` is the field defaults themselves (SPEC §2, for gpt-oss-20b-class models on a GPU). `tiny`
scales every stage for the embedded miniature gpt-oss on a 2-core CPU, keeping the shape of the
real recipe (same stages, same curriculum phases, same gates) so the demo exercises the same code.
"""

from typing import Any

TINY: dict[str, Any] = {
    # Few weights to adapt in a ~4M-parameter model; rank 16 already covers most of each matrix. The
    # Harmony tokens never occur in the stdlib pretraining corpus, so their embedding and output rows
    # stay random unless trained: the miniature trains embed_tokens and lm_head with the adapter.
    "lora": {"rank": 16, "alpha": 32, "quantize_4bit": False, "train_embeddings": True},
    # A few hundred mutants of the stdlib corpus (SPEC §6 asks 3,000 of a real run): ~2 min with batch validation.
    "tasks": {"max_tasks": 300},
    # Half the real context curriculum; ~57k tokens, 2-3 minutes on 2 CPU cores (the MoE trains at a few
    # hundred tokens/s there), enough to take the random model's loss from ~9 to a code model's first plateau.
    "pretrain": {"context_lengths": [256, 512, 1024], "steps_per_length": 16, "learning_rate": 1e-3, "batch_size": 2},
    # 64 tasks spread over the corpus's files (fewer modules were learned by heart), brief thinking (reciting is
    # copying, which the miniature does not learn in minutes), reads naming their first line only (a guessed end
    # line looped), no retry template (no better over four LoRA starts): docs/log.md, benchmarks/sft_format_sweep.py.
    "sft_data": {"tasks": 64, "read_whole_lines": 40, "read_margin": 6, "max_output_chars": 1200, "workers": 2,
                 "brief_thinking": True, "read_end": False, "template_paths": ["explore", "search", "test_first"]},
    # A random-init model needs a far larger step than a pretrained 20B one; bitsandbytes is GPU-only. Batch 1, no
    # packing: on a CPU a packed row saves no padding. 4e-3, not 6e-3: 6e-3 repeated itself inside the arguments
    # of held-out turns; at this size the accuracy is a draw per LoRA start (docs/log.md, benchmarks/sft_format_sweep.py).
    "sft": {"epochs": 5, "max_steps": 450, "learning_rate": 4e-3, "batch_size": 1, "grad_accum": 1, "packing": False,
            "optimizer": "adamw_torch", "max_seq_length": 4096, "eval_points": 3,
            # Up to 48 held-out turns: all of the demo's (4 tasks, gold + template: 36), template turns included.
            "format_samples": 48,
            # Probes of up to 256 new tokens (the longest gold turn, a read or a search/replace edit, is ~230).
            "format_max_new_tokens": 256, "save_steps": 90},
    # Candidates sampled from the SFT adapter: 4 tasks x 2 short episodes, each graded in the sandbox.
    "preference_data": {"tasks": 4, "samples": 2, "max_new_tokens": 256, "max_turns": 2},
    # Half SPEC §2's 5e-7, LoRA matrices only: Adam moves every trained weight by ~lr a step and the KL sums over
    # whole episodes, so larger steps (or trained embeddings) undid the SFT format (docs/log.md). The 4 pairs in
    # every step (grad_accum 4), so each step's KL and chosen log-prob are measured on the same pairs.
    "preference": {"learning_rate": 2.5e-7, "batch_size": 1, "grad_accum": 4, "max_length": 4096, "max_steps": 2},
    "grpo": {
        # Two rollouts of one task per step (the smallest group GRPO can compare), six steps.
        "steps": 6, "learning_rate": 1e-5, "generations": 2, "grad_accum": 2,
        # SPEC §3's four phases at 1/800 of the steps and 1/16 of the lengths: an episode of read -> search/replace
        # -> tests (tool results included) needs ~800 tokens, so the first phase's 256 ends inside the first tool
        # result (graded as it stands), and the later ones leave room for a whole fix.
        "curriculum": [
            {"until_step": 2, "max_seq_length": 256, "tasks": "single-file", "tool_pattern": "single", "reasoning_effort": "low"},
            {"until_step": 3, "max_seq_length": 512, "tasks": "multi-file", "tool_pattern": "chain", "reasoning_effort": "medium"},
            {"until_step": 5, "max_seq_length": 1024, "tasks": "module", "tool_pattern": "conditional", "reasoning_effort": "high"},
            {"until_step": 6, "max_seq_length": 2048, "tasks": "repository", "tool_pattern": "planning", "reasoning_effort": "high"},
        ],
    },
    # The base and every stage's adapter on a few held-out tasks, short episodes, so the run shows the learning signal
    # along the chain and any stage that undoes the one before it. The 4 episodes run at once (eval.workers, 4 by
    # default), their turns decoded in one batch per round (benchmarks/batched_turns.py, docs/evaluation.md).
    "eval": {"versions": ["base", "sft", "preference", "grpo"], "max_tasks": 4, "max_turns": 3, "max_new_tokens": 256},
    "gates": {
        # A few hundred mutants of the stdlib corpus, not the 3,000 a real run needs.
        "data": {"min_tasks": 200},
        # A miniature model cannot reach a 20B model's loss; the gate still demands a falling eval loss.
        "sft": {"max_final_loss": 2.0},
        "grpo": {"window_steps": 8},
    },
}

PROFILES: dict[str, dict[str, Any]] = {"tiny": TINY, "real": {}}
