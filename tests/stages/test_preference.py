"""IPO from the SFT adapter: the reference is the SFT model, KL watched and training stopped past the abort level."""

import json

import pytest
from stage_data import small_config, write_pairs

from apprentice.errors import StageError
from apprentice.stages import preference
from apprentice.stages.preference_data import read_pairs, tokenize_pair
from apprentice.stages.result import ADAPTER_ORIGIN_FILE, StageInputs


def test_kl_abort_stops_training_and_fails_the_gate(sft_run, tmp_path):
    result, sft_inputs = sft_run
    data = write_pairs(tmp_path / "pairs.jsonl", 4)
    # An abort level no update can stay under: the watch must stop training and the gate must say why.
    config = small_config("preference.max_steps=4", "gates.preference.kl_warn=1e-9", "gates.preference.kl_abort=1e-8")
    inputs = StageInputs("python", tmp_path / "preference", sft_inputs.base_dir, parent_adapter=result.adapter_path, data=data)
    outcome = preference.run(config, inputs)
    metrics = outcome.metrics
    assert metrics["aborted"] and "training stopped" in metrics["aborted"]
    assert metrics["steps"] < 4 and metrics["kl"] > 1e-8
    # Step 1's implicit rewards are exactly zero only when the reference is the SFT adapter itself.
    assert metrics["kl_history"][0] == [1, 0.0]
    assert not outcome.gate.passed and "kl" in {c.name for c in outcome.gate.checks if not c.passed}
    assert 0.0 <= metrics["chosen_win_rate"] <= 1.0 and metrics["pairs"] == 4
    assert (inputs.stage_dir / "adapter" / ADAPTER_ORIGIN_FILE).exists() and (inputs.stage_dir / "DONE").exists()
    # preference.train_embeddings is off: the embedding and head copies SFT trained are saved unchanged.
    embeddings, lora = _changed(result.adapter_path, inputs.stage_dir / "adapter")
    assert embeddings == {"embed_tokens": False, "lm_head": False} and lora


def test_train_embeddings_lets_ipo_move_the_embedding_copies(sft_run, tmp_path):
    result, sft_inputs = sft_run
    data = write_pairs(tmp_path / "pairs.jsonl", 2)
    config = small_config("preference.max_steps=2", "preference.train_embeddings=true", "preference.learning_rate=1e-4")
    inputs = StageInputs("python", tmp_path / "preference", sft_inputs.base_dir, parent_adapter=result.adapter_path, data=data)
    preference.run(config, inputs)
    embeddings, lora = _changed(result.adapter_path, inputs.stage_dir / "adapter")
    assert embeddings == {"embed_tokens": True, "lm_head": True} and lora


def _changed(before, after) -> tuple[dict[str, bool], bool]:
    """({embed_tokens, lm_head}: changed?, any LoRA matrix changed?) between two saved adapters."""
    from safetensors.torch import load_file

    old, new = (load_file(path / "adapter_model.safetensors") for path in (before, after))
    assert old.keys() == new.keys()
    changed = {key: not old[key].equal(new[key]) for key in old}
    embeddings = {name: any(flag for key, flag in changed.items() if name in key) for name in ("embed_tokens", "lm_head")}
    assert all(any(name in key for key in old) for name in embeddings), sorted(old)[:4]
    return embeddings, any(flag for key, flag in changed.items() if "lora_" in key)


def test_adapter_from_another_base_is_refused(sft_run, tmp_path):
    result, sft_inputs = sft_run
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for file in result.adapter_path.iterdir():
        (foreign / file.name).write_bytes(file.read_bytes())
    (foreign / ADAPTER_ORIGIN_FILE).write_text(json.dumps({"base": "sha256:" + "0" * 64}))
    data = write_pairs(tmp_path / "pairs.jsonl", 2)
    with pytest.raises(StageError, match="hash mismatch"):
        preference.run(small_config(), StageInputs("python", tmp_path / "p", sft_inputs.base_dir, parent_adapter=foreign, data=data))


def test_preference_needs_the_sft_adapter(tiny_base, tmp_path):
    data = write_pairs(tmp_path / "pairs.jsonl", 2)
    with pytest.raises(StageError, match="starts from the SFT adapter"):
        preference.run(small_config(), StageInputs("python", tmp_path / "p", tiny_base, data=data))


def test_bad_pair_lines_name_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"prompt": [], "chosen": [], "rejected": []}\n')
    with pytest.raises(StageError, match="pairs.jsonl:1"):
        read_pairs(path)
    path.write_text("\n")
    with pytest.raises(StageError, match="holds no pairs"):
        read_pairs(path)


def test_pair_tokenization_splits_at_the_shared_prompt(tiny_base):
    from stage_data import preference_pair
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    row = tokenize_pair(tokenizer, preference_pair(1))
    assert "read_file" in tokenizer.decode(row["chosen_ids"]) and "probably fine" in tokenizer.decode(row["rejected_ids"])
    assert "Fix the bug in mod1.py" in tokenizer.decode(row["prompt_ids"])


def test_a_pair_the_template_refuses_is_dropped_not_fatal(tiny_base):
    from stage_data import preference_pair
    from transformers import AutoTokenizer

    from apprentice.stages.preference_data import tokenized_pairs

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    broken = preference_pair(2)
    broken["rejected"] = [{"role": "assistant", "content": "Done.", "thinking": "x<|channel|>analysis<|message|>y"}]
    data = tokenized_pairs(tokenizer, [preference_pair(1), broken], max_length=4096)
    assert len(data) == 1
    with pytest.raises(StageError, match="1 of 1 could not be rendered"):
        tokenized_pairs(tokenizer, [broken], max_length=4096)
