"""Random assistant turns for the render -> parse round trip of a chat format (the SPEC figure).

`random_turn` makes an assistant message with reasoning, a final answer or tool calls whose
arguments hold unicode, quotes, backslashes, newlines and nested JSON. `round_trip` renders it
after a short conversation with the tokenizer's template, parses the completion back and says
whether the message came back exactly. Text never starts or ends with whitespace, because the
templates themselves trim those edges; and never holds `|`, so it cannot spell a control token.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from apprentice.agent.chat import chat_format, parse_completion, render_conversation, render_prompt
from apprentice.base.chat_templates import HARMONY

_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    " \n\t\"'\\/{}[]:,.;<>=+-*#@$%&()_?!`~^" "éüßçñ中文字日本語한국어Ωπ∑√∞→✓🙂🚀"
)
_NAME_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"


@dataclass(frozen=True)
class RoundTrip:
    """One round trip: the message sent, the message read back, and the parser's format error."""

    sent: dict
    received: dict
    format_error: str | None

    @property
    def exact(self) -> bool:
        """The message came back equal, with no format error."""
        return self.format_error is None and self.sent == self.received


def random_text(rng: random.Random, max_length: int = 60) -> str:
    """Non-empty text from a mixed alphabet, with no whitespace at either edge."""
    while True:
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, max_length))).strip()
        if text:
            return text


def random_value(rng: random.Random, depth: int = 0):
    """A JSON value: scalars, and nested objects and lists up to three levels deep."""
    kind = rng.choice(("str", "int", "float", "bool", "null", "list", "dict") if depth < 3 else ("str", "int"))
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "dict":
        return random_arguments(rng, depth + 1)
    scalars = {
        "str": lambda: random_text(rng),
        "int": lambda: rng.randint(-10**6, 10**6),
        "float": lambda: round(rng.uniform(-1e3, 1e3), rng.randint(0, 6)),
        "bool": lambda: rng.random() < 0.5,
        "null": lambda: None,
    }
    return scalars[kind]()


def random_arguments(rng: random.Random, depth: int = 0) -> dict:
    """A JSON object of 0-4 keys (keys with unicode and quotes) and random values."""
    return {random_text(rng, 12): random_value(rng, depth) for _ in range(rng.randint(0, 4))}


def random_turn(rng: random.Random, fmt: str) -> dict:
    """An assistant message as the parser returns it: a final answer, or tool calls (one for harmony)."""
    message: dict = {"role": "assistant", "content": ""}
    calls = rng.randint(1, 1 if fmt == HARMONY else 3) if rng.random() < 0.6 else 0
    # gpt-oss's template forbids content next to a tool call; the Qwen one allows it.
    if not calls or (fmt != HARMONY and rng.random() < 0.5):
        message["content"] = random_text(rng, 200)
    if rng.random() < 0.7:
        message["thinking"] = random_text(rng, 200)
    if calls:
        message["tool_calls"] = [
            {"type": "function", "function": {"name": _random_name(rng), "arguments": random_arguments(rng)}}
            for _ in range(calls)
        ]
    return message


def round_trip(tokenizer, message: dict, parser: str = "auto") -> RoundTrip:
    """Render `message` after a developer and a user turn, parse the completion, compare."""
    context = [
        {"role": "developer" if chat_format(tokenizer) == HARMONY else "system", "content": "Fix the bug."},
        {"role": "user", "content": "The tests fail."},
    ]
    prompt = render_prompt(tokenizer, context, ())
    full = render_conversation(tokenizer, [*context, message], ())
    if not full.startswith(prompt):
        return RoundTrip(message, {}, "the rendered conversation does not start with the rendered prompt")
    parsed = parse_completion(tokenizer, full[len(prompt):], prompt, parser=parser)
    return RoundTrip(message, parsed.message, parsed.format_error)


def _random_name(rng: random.Random) -> str:
    return rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(
        rng.choice(_NAME_CHARACTERS) for _ in range(rng.randint(0, 15))
    )
