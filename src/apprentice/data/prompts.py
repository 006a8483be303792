"""Developer prompts of SPEC §6, rotated so the model does not fit one persona.

SFT and IPO each have one prompt (filled with the language); GRPO draws one of four per task.
The draw is a hash of the task id, not a random number: the same task gets the same prompt in
every run, so datasets are reproducible and a resumed run builds identical files.
"""

from __future__ import annotations

import hashlib

from apprentice.errors import UnknownNameError

SFT_PROMPT = "You are a {language} coding agent. Use tools to read, modify, and test code."
IPO_PROMPT = "You are a senior {language} engineer. Write minimal, correct patches."
GRPO_PROMPTS = (
    "Fix the bug without changing the public API.",
    "Debug this production issue. Minimize your changes.",
    "Review this code and fix any issues you find.",
    "Implement the function according to the test specification.",
)

# Stage name -> its prompt pool. "preference" is IPO's stage name in the run config.
_POOLS: dict[str, tuple[str, ...]] = {
    "sft": (SFT_PROMPT,),
    "ipo": (IPO_PROMPT,),
    "preference": (IPO_PROMPT,),
    "grpo": GRPO_PROMPTS,
    # Every persona at once: SFT data drawn from all of them keeps the model from fitting one.
    "all": (SFT_PROMPT, IPO_PROMPT, *GRPO_PROMPTS),
}


def rotation_index(task_id: str, size: int) -> int:
    """A stable index in `range(size)` for `task_id` (sha256, so it is the same on every machine)."""
    digest = hashlib.sha256(task_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % size


def developer_prompt(stage: str, language: str, task_id: str) -> str:
    """The developer prompt for `stage` ("sft", "ipo"/"preference", "grpo", "all"), drawn by task id."""
    pool = _POOLS.get(stage)
    if pool is None:
        raise UnknownNameError(f"unknown stage '{stage}' for a developer prompt (known: {', '.join(_POOLS)})")
    return pool[rotation_index(task_id, len(pool))].format(language=language)
