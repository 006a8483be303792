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
    # Gold + template trajectories of 64 tasks spread over the corpus's files, read narrowly: ~3.5 min with 2
    # workers. Spread matters more than steps: 24 tasks from 3 modules were learned by heart (eval loss rising,
    # 62.5% format accuracy after 260 or 400 steps); 64 tasks from 20 modules took it to 100% (24 probes).
    # Brief thinking: the phases without recited test names or code (recitation is copying, which the miniature
    # does not learn in minutes; with the full thinking trained, format accuracy fell from 100% to 75%).
    # Reads name their first line only (session 7): after a guessed line number the miniature looped on
    # `"end": 184, "end": 184, ...`, every miss of a 72.2% demo; with one number, four LoRA starts parsed
    # 100/100/94.4/97.2% of the held-out turns against 61.1/91.7/86.1/69.4% with two (docs/stages.md).
    # No retry template (a wrong first edit, the tool's error, the recovery; session 7): over the same four LoRA
    # starts it parsed 100/83.8/91.9/97.3% of the held-out turns against 100/100/94.4/97.2% without, though the one
    # demo with it (wrong edit still trained) went on after failed edits on held-out tasks (format 67% -> 83%).
    "sft_data": {"tasks": 64, "read_whole_lines": 40, "read_margin": 6, "max_output_chars": 1200, "workers": 2,
                 "brief_thinking": True, "read_end": False, "template_paths": ["explore", "search", "test_first"]},
    # A random-init model needs a far larger step than a pretrained 20B one; bitsandbytes is GPU-only. Batch 1,
    # no packing: each trajectory is ~1.5k tokens, and on a CPU a packed row gains nothing over batch 1 (there is
    # no padding to save). 450 steps, ~0.5 s each with the fused sink attention and the compact loss. 4e-3, not the
    # 6e-3 of sessions 2-4: on all 36 held-out turns (benchmarks/sft_format_sweep.py, one thread) 6e-3 gave 50% and
    # 61% (greedy repetition inside the arguments); 4e-3 gave 91.7-100% in six benchmark runs that (session 6
    # found) shared one LoRA start; with the start varied and in fresh-clone demos, 61.1-100% (docs/stages.md):
    # a draw at this size, and no variant tried (warm-up, more tasks, NEFTune, ...) narrowed it.
    "sft": {"epochs": 5, "max_steps": 450, "learning_rate": 4e-3, "batch_size": 1, "grad_accum": 1, "packing": False,
            "optimizer": "adamw_torch", "max_seq_length": 4096, "eval_points": 3,
            # Up to 48 held-out turns: all of the demo's (4 tasks, gold + template: 36). Its first 24 alone, as
            # before, left half of the held-out tasks' template turns out of the gate.
            "format_samples": 48,
            # Probes of up to 256 new tokens (the longest gold turn, a read or a search/replace edit, is ~230).
            "format_max_new_tokens": 256, "save_steps": 90},
    # Candidates sampled from the SFT adapter: 4 tasks x 2 short episodes, each graded in the sandbox.
    "preference_data": {"tasks": 4, "samples": 2, "max_new_tokens": 256, "max_turns": 2},
    # Half SPEC §2's 5e-7, LoRA matrices only (preference.train_embeddings stays off). 5e-5 took KL to 3.9 in two
    # steps and undid the SFT format; 5e-6 reached KL 0.73 by step 3: Adam moves every trained weight by ~lr per
    # step, and the KL sums over whole episodes, which grew when gold reads got longer. Five demos' SFT adapters
    # and pairs, KL at the end: 5e-7 with the embeddings trained 0.56 (abort), 0.34, 0.31, 0.27, 0.19; LoRA only
    # 0.44, 0.17, 0.16, 0.13, 0.12; LoRA only at 2.5e-7 0.17, 0.079, 0.079, 0.065, 0.057, chosen above rejected
    # on 4 of 4 pairs in each. The 4 pairs in every step (grad_accum 4): each step's KL is the mean over all of
    # them, and the chosen log-prob is compared on the same pairs from the first step to the last.
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
    # default), their turns decoded in one batch per round: 12-13 s an evaluation, against 32-33 s one turn at a time
    # with eager attention (benchmarks/batched_turns.py).
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
