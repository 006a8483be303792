"""Profiles: the default values a run starts from before its YAML.

`real` is the field defaults themselves (SPEC §2, for gpt-oss-20b-class models on a GPU). `tiny`
scales every stage for the embedded miniature gpt-oss on a 2-core CPU, keeping the shape of the
real recipe (same stages, same curriculum phases, same gates) so the demo exercises the same code.
"""

from typing import Any

from apprentice.config.models import deep_merge

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
    # 128 tasks spread over the corpus's files (fewer modules were learned by heart; each fix is graded once for its
    # gold and template paths, data/gold.py GradeMemo), brief thinking (reciting is
    # copying, which the miniature does not learn in minutes), reads naming their first line only (a guessed end
    # line looped), no retry template (no better over four LoRA starts): docs/log.md, benchmarks/sft_format_sweep.py.
    "sft_data": {"tasks": 128, "read_whole_lines": 40, "read_margin": 6, "max_output_chars": 1200, "workers": 2,
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
        # pass@2 of the starting adapter on 4 level-0 training tasks before the first step (8 graded rollouts).
        "probe_tasks": 4,
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
    # along the chain and any stage that undoes the one before it. The 8 episodes run at once (eval.workers; 4 by
    # default), their turns decoded in one batch per round (benchmarks/batched_turns.py, docs/evaluation.md).
    "eval": {"versions": ["base", "sft", "preference", "grpo"], "max_tasks": 8, "workers": 8, "max_turns": 3, "max_new_tokens": 256},
    "gates": {
        # A few hundred mutants of the stdlib corpus, not the 3,000 a real run needs.
        "data": {"min_tasks": 200},
        # A miniature model cannot reach a 20B model's loss; the gate still demands a falling eval loss.
        "sft": {"max_final_loss": 2.0},
        "grpo": {"window_steps": 8},
    },
}

# The miniature at the scale where the curriculum can be measured (examples/learn.yaml, <= 90 minutes on 2
# cores): the shipped pretrained base (`apprentice base pretrain`: it copies from its context), hundreds of
# tasks and trajectories over every corpus module, GRPO groups of 4, a few hundred held-out episodes per version.
LEARN: dict[str, Any] = deep_merge(TINY, {
    "base": {"shipped": True},
    "pretrain": {"enabled": False},  # the shipped base is this stage's output, built once
    "tasks": {"max_tasks": 1500},
    "sft_data": {"tasks": 400},
    "sft": {"epochs": 2, "max_steps": 1600, "save_steps": 200, "format_samples": 64},
    "preference_data": {"tasks": 16, "samples": 2},
    "preference": {"max_steps": 4},
    "grpo": {"steps": 40, "generations": 4, "grad_accum": 4, "curriculum": [
        {"until_step": 20, "max_seq_length": 1024, "tasks": "single-file", "tool_pattern": "single", "reasoning_effort": "low",
         "levels": [0]},
        {"until_step": 40, "max_seq_length": 2048, "tasks": "multi-file", "tool_pattern": "chain", "reasoning_effort": "medium",
         "levels": [0, 1]},
    ]},
    "eval": {"max_tasks": 240, "workers": 16},
    "gates": {"grpo": {"window_steps": 8}},
})

PROFILES: dict[str, dict[str, Any]] = {"tiny": TINY, "learn": LEARN, "real": {}}
