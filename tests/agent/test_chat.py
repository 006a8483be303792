"""Render -> parse through the real chat templates; malformed completions are format errors, never raises."""

import random

import pytest

from apprentice.agent.chat import (
    chat_format,
    parse_completion,
    render_conversation,
    render_prompt,
    stop_strings,
)
from apprentice.agent.roundtrip import random_turn, round_trip
from apprentice.errors import ChatFormatError

PARSERS = ("trl", "strict")
TOOLS = [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                           "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
CONTEXT = [{"role": "system", "content": "Fix the bug."}, {"role": "user", "content": "tests fail"}]


def test_formats_and_stop_strings(harmony_tokenizer, qwen_tokenizer):
    assert chat_format(harmony_tokenizer) == "harmony"
    assert chat_format(qwen_tokenizer) == "qwen"
    assert stop_strings(harmony_tokenizer) == ("<|return|>", "<|call|>")
    assert stop_strings(qwen_tokenizer) == ("<|im_end|>",)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("name", ["harmony_tokenizer", "qwen_tokenizer"])
def test_random_turns_round_trip_exactly(request, name, parser):
    tokenizer = request.getfixturevalue(name)
    rng = random.Random(7)
    trips = [round_trip(tokenizer, random_turn(rng, chat_format(tokenizer)), parser) for _ in range(60)]
    failures = [trip for trip in trips if not trip.exact]
    assert not failures, failures[0]
    assert any("tool_calls" in trip.sent for trip in trips) and any(not trip.sent.get("tool_calls") for trip in trips)


def test_harmony_tool_call_and_result_render(harmony_tokenizer):
    call = {"role": "assistant", "content": "", "thinking": "read it",
            "tool_calls": [{"type": "function", "function": {"name": "read_file", "arguments": {"path": "a.py"}}}]}
    text = render_conversation(harmony_tokenizer, [*CONTEXT, call, {"role": "tool", "name": "read_file", "content": "x = 1"}], TOOLS)
    assert '<|start|>functions.read_file to=assistant<|channel|>commentary<|message|>"x = 1"<|end|>' in text
    prompt = render_prompt(harmony_tokenizer, CONTEXT, TOOLS)
    assert prompt.endswith("<|start|>assistant")


def test_qwen_thinking_is_reasoning_content(qwen_tokenizer):
    message = {"role": "assistant", "content": "Done.", "thinking": "it works"}
    text = render_conversation(qwen_tokenizer, [*CONTEXT, message], [])
    assert "<think>\nit works\n</think>\n\nDone.<|im_end|>" in text


HARMONY_BAD = {
    "garbage": "zq xv <|endoftext|>",
    "unterminated call": ' to=functions.read_file<|channel|>commentary json<|message|>{"path": "a.py"',
    "unterminated final": "<|channel|>final<|message|>Done.",
    "bad json": ' to=functions.read_file<|channel|>commentary json<|message|>{"path": }<|call|>',
    "arguments not an object": ' to=functions.read_file<|channel|>commentary json<|message|>["a.py"]<|call|>',
    "empty": "",
    # Control tokens inside a field: the template would refuse the thinking and content, and render them as turns.
    "channel inside the thinking": ("<|channel|>analysis<|message|>Read<|channel|>analysis<|message|>it.<|end|>"
                                    '<|start|>assistant to=functions.read_file<|channel|>commentary json<|message|>'
                                    '{"path": "a.py"}<|call|>'),
    "channel inside the answer": "<|channel|>final<|message|>Done <|channel|>final<|message|>ok<|return|>",
    "control token in an argument": ' to=functions.apply_patch<|channel|>commentary json<|message|>{"diff": "a<|end|>b"}<|call|>',
}
QWEN_BAD = {
    "unterminated call": '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.py"}}<|im_end|>',
    "bad json": "<tool_call>\n{name: read_file}\n</tool_call><|im_end|>",
    "no end": "I think the answer is",
    "arguments not an object": '<tool_call>\n{"name": "read_file", "arguments": 3}\n</tool_call><|im_end|>',
    "no name": '<tool_call>\n{"arguments": {}}\n</tool_call><|im_end|>',
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("case", sorted(HARMONY_BAD))
def test_malformed_harmony_is_a_format_error(harmony_tokenizer, case, parser):
    prompt = render_prompt(harmony_tokenizer, CONTEXT, TOOLS)
    parsed = parse_completion(harmony_tokenizer, HARMONY_BAD[case], prompt, parser=parser)
    assert parsed.format_error, case
    assert parsed.message["role"] == "assistant" and "tool_calls" not in parsed.message
    assert "<|" not in parsed.message["content"]  # the template refuses channel tags in content
    render_conversation(harmony_tokenizer, [*CONTEXT, parsed.message], TOOLS)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("case", sorted(QWEN_BAD))
def test_malformed_qwen_is_a_format_error(qwen_tokenizer, case, parser):
    prompt = render_prompt(qwen_tokenizer, CONTEXT, TOOLS)
    parsed = parse_completion(qwen_tokenizer, QWEN_BAD[case], prompt, parser=parser)
    assert parsed.format_error, case
    assert "tool_calls" not in parsed.message


def test_strict_harmony_reads_the_gpt_oss_recipient_order(harmony_tokenizer):
    completion = '<|channel|>commentary to=functions.search <|constrain|>json<|message|>{"pattern": "def"}<|call|>'
    parsed = parse_completion(harmony_tokenizer, completion, "<|start|>assistant", parser="strict")
    assert parsed.format_error is None
    assert parsed.message["tool_calls"][0]["function"] == {"name": "search", "arguments": {"pattern": "def"}}


def test_unknown_template_is_a_config_error(harmony_tokenizer):
    import copy

    plain = copy.copy(harmony_tokenizer)
    plain.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
    with pytest.raises(ChatFormatError, match="no tool-call parser"):
        parse_completion(plain, "hello", "")
    with pytest.raises(ChatFormatError, match="unknown parser"):
        parse_completion(harmony_tokenizer, "hello", "", parser="regex")
