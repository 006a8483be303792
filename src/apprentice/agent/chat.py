"""Conversations with tool calls through the base tokenizer's own chat template, and back.

Rendering is always the tokenizer's `apply_chat_template` (Harmony for gpt-oss bases, the
embedded one included; `<tool_call>` JSON for Qwen-style templates). Parsing a completion uses
TRL's response template where TRL knows the chat template byte for byte, and the strict parsers
of `apprentice.agent.chat_parsers` otherwise. A completion that does not parse is a
`ParsedTurn` with `format_error` set (SPEC §7's tool-call format accuracy counts them): model
garbage never raises.

Messages are in the shape of `apprentice.agent.trajectory`: the reasoning is `thinking` (what
the gpt-oss template calls it); for Qwen-style templates it is renamed to `reasoning_content`
on the way in and back on the way out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import SimpleNamespace

from trl.chat_template_utils import add_response_schema

from apprentice.agent.chat_parsers import (
    HARMONY_TERMINATORS,
    QWEN_TERMINATORS,
    CompletionFormatError,
    parse_harmony,
    parse_qwen,
)
from apprentice.base.chat_templates import HARMONY, QWEN, detect_chat_format, is_trl_known_template
from apprentice.errors import ChatFormatError

PARSERS = ("auto", "trl", "strict")
_STRICT_PARSERS = {HARMONY: parse_harmony, QWEN: parse_qwen}
_TERMINATORS = {HARMONY: HARMONY_TERMINATORS, QWEN: QWEN_TERMINATORS}
# Control tokens such as <|channel|> or <|im_end|>: kept out of a garbled reply's visible text,
# because the gpt-oss template refuses content that carries channel tags.
_CONTROL_TOKEN = re.compile(r"<\|[A-Za-z_]{1,40}\|>")


@dataclass(frozen=True)
class ParsedTurn:
    """One completion read back: an assistant message, and why it is malformed (None when it is not)."""

    message: dict
    format_error: str | None = None


def chat_format(tokenizer) -> str:
    """The tokenizer's chat format: "harmony", "qwen", "unknown" or "none"."""
    return detect_chat_format(getattr(tokenizer, "chat_template", None))


def stop_strings(tokenizer) -> tuple[str, ...]:
    """The strings that end an assistant turn in this tokenizer's chat format."""
    fmt = chat_format(tokenizer)
    if fmt in _TERMINATORS:
        return _TERMINATORS[fmt]
    return (tokenizer.eos_token,) if tokenizer.eos_token else ()


def template_messages(tokenizer, messages: list[dict]) -> list[dict]:
    """Messages as this template expects them (Qwen-style templates call `thinking` `reasoning_content`)."""
    if chat_format(tokenizer) != QWEN:
        return [dict(message) for message in messages]
    renamed = []
    for message in messages:
        message = dict(message)
        if "thinking" in message:
            message["reasoning_content"] = message.pop("thinking")
        renamed.append(message)
    return renamed


def render_prompt(tokenizer, messages: list[dict], tools: list[dict] | tuple[dict, ...]) -> str:
    """The conversation so far, rendered with the generation prompt for the next assistant turn."""
    return tokenizer.apply_chat_template(
        template_messages(tokenizer, list(messages)), tools=list(tools) or None, tokenize=False,
        add_generation_prompt=True,
    )


def render_conversation(tokenizer, messages: list[dict], tools: list[dict] | tuple[dict, ...]) -> str:
    """The whole conversation as training text (no generation prompt; a final turn keeps its reasoning)."""
    return tokenizer.apply_chat_template(
        template_messages(tokenizer, list(messages)), tools=list(tools) or None, tokenize=False
    )


def parse_completion(tokenizer, completion: str, prefix: str, parser: str = "auto") -> ParsedTurn:
    """Read `completion` (generated after `prefix`) into an assistant message; never raises on garbage.

    `parser`: "auto" (TRL's response template when TRL knows the chat template, ours otherwise),
    "trl" or "strict" (ours) to force one. A tokenizer whose format neither knows raises
    `ChatFormatError` — that is a configuration problem, not the model's.
    """
    fmt = chat_format(tokenizer)
    use_trl = _uses_trl(tokenizer, fmt, parser)
    try:
        message = _parse_trl(tokenizer, completion, prefix) if use_trl else _STRICT_PARSERS[fmt](completion)
        _check_terminator(fmt, completion, message)
        return ParsedTurn(_checked_message(message))
    except CompletionFormatError as error:
        return ParsedTurn(garbled_message(completion), str(error))


def garbled_message(completion: str) -> dict:
    """The assistant message recorded for a completion that did not parse: its text, control tokens removed."""
    return {"role": "assistant", "content": _CONTROL_TOKEN.sub("", completion).strip()}


def _response_template(tokenizer) -> dict | None:
    """The tokenizer's own response template, else TRL's for its chat template, else None."""
    shipped = getattr(tokenizer, "response_template", None)
    if shipped is not None:
        return shipped
    if is_trl_known_template(tokenizer.chat_template):
        return _trl_response_template(tokenizer.chat_template)
    return None


@functools.lru_cache(maxsize=8)
def _trl_response_template(chat_template: str) -> dict:
    # add_response_schema sets the attribute on what it is given: a stand-in, so the caller's
    # tokenizer is left as it was (a saved adapter's tokenizer_config stays unchanged).
    holder = SimpleNamespace(chat_template=chat_template)
    add_response_schema(holder)
    return holder.response_template


def _uses_trl(tokenizer, fmt: str, parser: str) -> bool:
    if parser not in PARSERS:
        raise ChatFormatError(f"unknown parser {parser!r} (known: {', '.join(PARSERS)})")
    trl_knows = _response_template(tokenizer) is not None
    if parser == "trl" and not trl_knows:
        raise ChatFormatError("TRL has no response parser for this chat template; use parser='strict' or 'auto'")
    if parser == "strict" or not trl_knows:
        if fmt not in _STRICT_PARSERS:
            raise ChatFormatError(
                f"chat format {fmt!r} has no tool-call parser (known: harmony, qwen, and the templates TRL "
                f"ships); give the base a gpt-oss or Qwen-style chat template"
            )
        return False
    return True


def _parse_trl(tokenizer, completion: str, prefix: str) -> dict:
    try:
        message = tokenizer.parse_response(completion, _response_template(tokenizer), prefix=prefix)
    except ValueError as error:
        # TRL raises ValueError for a region that is not JSON: the model's mistake, a format error.
        raise CompletionFormatError(str(error).splitlines()[0]) from error
    message = dict(message)
    if "reasoning_content" in message:
        message["thinking"] = message.pop("reasoning_content")
    return message


def _check_terminator(fmt: str, completion: str, message: dict) -> None:
    """TRL's parsers accept a reply cut off mid-turn; a turn must end with its format's closing token."""
    text = completion.rstrip()
    if fmt == HARMONY:
        expected = "<|call|>" if message.get("tool_calls") else "<|return|>"
        if not text.endswith(expected):
            raise CompletionFormatError(f"unterminated turn: expected it to end with {expected}")
    elif fmt == QWEN and not text.endswith(QWEN_TERMINATORS):
        raise CompletionFormatError("unterminated turn: expected it to end with <|im_end|>")


def _checked_message(message: dict) -> dict:
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise CompletionFormatError(f"content is {type(content).__name__}, not text")
    _refuse_control_tokens("content", content)
    _refuse_control_tokens("thinking", message.get("thinking"))
    calls = [_checked_call(call) for call in message.get("tool_calls") or ()]
    if not content.strip() and not calls:
        raise CompletionFormatError("no final answer and no tool call")
    checked: dict = {"role": "assistant", "content": content}
    if message.get("thinking"):
        checked["thinking"] = message["thinking"]
    if calls:
        checked["tool_calls"] = calls
    return checked


def _refuse_control_tokens(field: str, text: object) -> None:
    """A turn whose text carries chat control tokens (a second channel header written inside the thinking, say)
    is malformed: kept, it would render as several turns, and gpt-oss's template refuses it outright."""
    found = _CONTROL_TOKEN.search(text) if isinstance(text, str) else None
    if found:
        raise CompletionFormatError(f"control token {found.group()} inside the {field}")


def _checked_call(call: dict) -> dict:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        raise CompletionFormatError(f"tool call without a name: {call!r:.80}")
    arguments = function.get("arguments", {})
    if not isinstance(arguments, dict):
        raise CompletionFormatError(
            f"arguments of {function['name']!r} are {type(arguments).__name__}, not a JSON object"
        )
    for value in arguments.values():
        _refuse_control_tokens(f"arguments of {function['name']!r}", value)
    return {"type": "function", "function": {"name": function["name"], "arguments": arguments}}
