"""Strict parsers of our own for the two chat formats, used where TRL does not know the template.

Each takes the completion text (what the model generated after the generation prompt) and gives
back an assistant message in our shape, or raises `CompletionFormatError` saying what is wrong.
`apprentice.agent.chat.parse_completion` turns that error into a counted format error.
"""

from __future__ import annotations

import json
import re

HARMONY_TERMINATORS = ("<|return|>", "<|call|>")
QWEN_TERMINATORS = ("<|im_end|>",)

# One harmony message after `<|start|>assistant`: an optional recipient before the channel
# (TRL's and gpt-oss's rendering) or after it (what gpt-oss models emit), an optional content
# type (`json`, `<|constrain|>json`), the body, and the token that closes it.
_HARMONY_MESSAGE = re.compile(
    r"(?:\s*to=functions\.(?P<pre>[^\s<]+))?<\|channel\|>(?P<channel>analysis|commentary|final)"
    r"(?:\s+to=functions\.(?P<post>[^\s<]+))?(?:\s*(?:<\|constrain\|>)?json)?\s*<\|message\|>"
    r"(?P<body>.*?)(?P<close><\|end\|>|<\|return\|>|<\|call\|>)",
    re.DOTALL,
)
_ASSISTANT_START = "<|start|>assistant"
_QWEN_THINK = re.compile(r"^\s*<think>\n?(?P<thinking>.*?)\n?</think>\s*", re.DOTALL)
_QWEN_CALL = re.compile(r"<tool_call>\s*(?P<body>.*?)\s*</tool_call>\s*", re.DOTALL)


class CompletionFormatError(ValueError):
    """A completion that does not follow its chat format (a counted format error, never fatal)."""


def parse_harmony(completion: str) -> dict:
    """Parse a gpt-oss (Harmony) completion: analysis -> thinking, final -> content, a call -> tool_calls."""
    thinking, content, calls = [], None, []
    position, text = 0, completion.rstrip()
    while position < len(text):
        if text.startswith(_ASSISTANT_START, position):
            position += len(_ASSISTANT_START)
        match = _HARMONY_MESSAGE.match(text, position)
        if match is None:
            raise CompletionFormatError(f"not a harmony message at offset {position}: {text[position:position + 60]!r}")
        if content is not None or calls:
            raise CompletionFormatError("text after the final answer or tool call")
        recipient = match["pre"] or match["post"]
        if recipient:
            calls.append(_harmony_call(recipient, match["body"], match["close"]))
        elif match["channel"] == "final":
            if match["close"] != "<|return|>":
                raise CompletionFormatError(f"final answer closed by {match['close']}, not <|return|>")
            content = match["body"]
        else:
            # analysis, and commentary without a recipient (a preamble), are the model's reasoning.
            thinking.append(match["body"])
        position = match.end()
    if content is None and not calls:
        raise CompletionFormatError("no final answer and no tool call")
    return _message(content or "", "\n".join(thinking), calls)


def _harmony_call(name: str, body: str, close: str) -> dict:
    if close != "<|call|>":
        raise CompletionFormatError(f"tool call to {name!r} closed by {close}, not <|call|>")
    try:
        arguments = json.loads(body)
    except json.JSONDecodeError as error:
        raise CompletionFormatError(f"arguments of {name!r} are not JSON ({error.msg})") from error
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


def parse_qwen(completion: str) -> dict:
    """Parse a `<tool_call>` JSON completion (Qwen-style): `<think>`, content, then tool calls."""
    text = completion.rstrip()
    if not text.endswith(QWEN_TERMINATORS):
        raise CompletionFormatError("completion does not end with <|im_end|>")
    text = text[: -len("<|im_end|>")]
    thinking = ""
    think = _QWEN_THINK.match(text)
    if think:
        thinking, text = think["thinking"], text[think.end():]
    head, separator, rest = text.partition("<tool_call>")
    calls, position, tail = [], 0, separator + rest
    while position < len(tail):
        match = _QWEN_CALL.match(tail, position)
        if match is None:
            raise CompletionFormatError(f"unterminated or stray text among tool calls: {tail[position:position + 60]!r}")
        calls.append(_qwen_call(match["body"]))
        position = match.end()
    return _message(head.strip(), thinking, calls)


def _qwen_call(body: str) -> dict:
    try:
        call = json.loads(body)
    except json.JSONDecodeError as error:
        raise CompletionFormatError(f"tool call is not JSON ({error.msg}): {body[:60]!r}") from error
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise CompletionFormatError(f"tool call needs an object with a string 'name': {body[:60]!r}")
    arguments = call.get("arguments", {})
    if isinstance(arguments, str):
        # Some servers and templates carry arguments as a JSON string, as the OpenAI API does.
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as error:
            raise CompletionFormatError(f"arguments of {call['name']!r} are not JSON ({error.msg})") from error
    return {"type": "function", "function": {"name": call["name"], "arguments": arguments}}


def _message(content: str, thinking: str, calls: list[dict]) -> dict:
    message: dict = {"role": "assistant", "content": content}
    if thinking:
        message["thinking"] = thinking
    if calls:
        message["tool_calls"] = calls
    return message
