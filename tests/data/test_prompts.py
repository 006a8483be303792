"""Developer prompts: the SPEC §6 texts, a stable per-task rotation, and a clear error for a bad stage."""

import pytest

from apprentice.data.prompts import GRPO_PROMPTS, IPO_PROMPT, SFT_PROMPT, developer_prompt, rotation_index
from apprentice.errors import UnknownNameError


def test_sft_and_ipo_prompts_name_the_language():
    assert developer_prompt("sft", "rust", "t1") == "You are a rust coding agent. Use tools to read, modify, and test code."
    assert developer_prompt("ipo", "go", "t1") == IPO_PROMPT.format(language="go")
    assert developer_prompt("preference", "go", "t9") == developer_prompt("ipo", "go", "t1")
    assert "{language}" in SFT_PROMPT


def test_grpo_rotation_is_stable_and_uses_every_prompt():
    drawn = [developer_prompt("grpo", "python", f"task-{n}") for n in range(64)]
    assert drawn == [developer_prompt("grpo", "python", f"task-{n}") for n in range(64)]
    assert set(drawn) == set(GRPO_PROMPTS)
    # sha256-based, so the index is the same on every machine and every Python hash seed.
    assert rotation_index("task-0", 4) == rotation_index("task-0", 4)
    assert all(0 <= rotation_index(f"x{n}", 3) < 3 for n in range(20))


def test_unknown_stage_names_the_known_ones():
    with pytest.raises(UnknownNameError, match="unknown stage 'dpo'.*sft"):
        developer_prompt("dpo", "python", "t1")


def test_all_pool_rotates_every_persona():
    drawn = {developer_prompt("all", "go", f"task-{n}") for n in range(200)}
    assert drawn == {SFT_PROMPT.format(language="go"), IPO_PROMPT.format(language="go"), *GRPO_PROMPTS}
