"""The embedded miniature gpt-oss: architecture, determinism, offline loading, Harmony round trip."""

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl.chat_template_utils import add_response_schema

from apprentice.artifacts import hash_path
from apprentice.base.load import inspect_base
from apprentice.base.tiny import HARMONY_TOKENS, build_tiny_base
from apprentice.errors import BaseModelError
from apprentice.tasks.corpus import HELD_OUT_MODULES

READ_FILE_TOOL = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a file of the repository.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    },
}


def test_architecture_is_gpt_oss_with_experts_sinks_and_sliding_window(tiny_base):
    config = json.loads((tiny_base / "config.json").read_text())
    report = inspect_base(tiny_base)
    assert report.architecture == "GptOssForCausalLM"
    assert report.experts >= 4 and report.experts_per_token == 2
    assert set(config["layer_types"]) == {"sliding_attention", "full_attention"}
    assert 2_000_000 <= report.parameters <= 10_000_000
    assert report.chat_format == "harmony" and report.trl_parses_responses
    assert report.expert_lora_targets == ("mlp.experts.down_proj", "mlp.experts.gate_up_proj")
    model = AutoModelForCausalLM.from_pretrained(tiny_base, local_files_only=True)
    assert all(layer.self_attn.sinks.numel() == config["num_attention_heads"] for layer in model.model.layers)


def test_same_seed_gives_identical_files_and_another_seed_other_weights(tiny_base, tmp_path):
    again = tmp_path / "again"
    build_tiny_base(again, seed=0)
    assert hash_path(again) == hash_path(tiny_base)
    other = tmp_path / "other"
    build_tiny_base(other, seed=1)
    assert (other / "model.safetensors").read_bytes() != (tiny_base / "model.safetensors").read_bytes()
    assert (other / "tokenizer.json").read_bytes() == (tiny_base / "tokenizer.json").read_bytes()


def test_harmony_tokens_are_single_special_tokens(tiny_base):
    tokenizer = AutoTokenizer.from_pretrained(tiny_base, local_files_only=True)
    for token in HARMONY_TOKENS:
        ids = tokenizer(token, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and tokenizer.convert_ids_to_tokens(ids[0]) == token


def test_tokenizer_never_saw_held_out_modules(tiny_base):
    # A BPE vocabulary learns the identifiers of its corpus; the held-out modules' own names
    # (e.g. `TextWrapper`, `SequenceMatcher`) must not be merged into single tokens.
    tokenizer = AutoTokenizer.from_pretrained(tiny_base, local_files_only=True)
    for identifier in ("TextWrapper", "SequenceMatcher", "TopologicalSorter", "shlex"):
        assert len(tokenizer(identifier, add_special_tokens=False)["input_ids"]) > 1, identifier
    assert "textwrap" in HELD_OUT_MODULES


def test_tool_call_round_trip_through_the_harmony_template(tiny_base):
    tokenizer = add_response_schema(AutoTokenizer.from_pretrained(tiny_base, local_files_only=True))
    call = {"type": "function", "function": {"name": "read_file", "arguments": {"path": "textwrap.py"}}}
    conversation = [
        {"role": "system", "content": "You are a python coding agent. Use tools to read, modify, and test code."},
        {"role": "user", "content": "shorten() returns a string longer than width."},
        {"role": "assistant", "thinking": "Observe: the test fails. Plan: read the file.", "tool_calls": [call]},
        {"role": "tool", "content": "def shorten(text, width): ..."},
    ]
    prompt = tokenizer.apply_chat_template(conversation, tools=[READ_FILE_TOOL], tokenize=False, add_generation_prompt=True)
    assert "<|start|>assistant to=functions.read_file<|channel|>commentary json<|message|>" in prompt
    assert "<|start|>functions.read_file to=assistant<|channel|>commentary" in prompt
    assert tokenizer.decode(tokenizer(prompt, add_special_tokens=False)["input_ids"]) == prompt

    completion = ('<|channel|>analysis<|message|>Execute: fix the bound.<|end|>'
                  '<|start|>assistant to=functions.read_file<|channel|>commentary json<|message|>{"path": "textwrap.py"}<|call|>')
    ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    parsed = tokenizer.parse_response(tokenizer.decode(ids), prefix=prompt)
    assert parsed["tool_calls"] == [call]
    assert parsed["thinking"] == "Execute: fix the bound."


def test_existing_foreign_directory_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(BaseModelError, match="exists and is not this base"):
        build_tiny_base(target)
    assert (target / "notes.txt").read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no staging directory left behind


def test_unknown_size_is_refused(tmp_path):
    with pytest.raises(BaseModelError, match="unknown base size 'huge'"):
        build_tiny_base(tmp_path / "b", size="huge")
