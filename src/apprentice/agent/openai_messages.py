"""Our messages to and from the OpenAI chat-completions wire format.

The wire format differs from ours in three ways: tool-call arguments travel as a JSON string,
each tool call carries an id that its tool result must name (`tool_call_id`), and reasoning
(where a server returns it) is `reasoning_content` or `reasoning`. Ids are made up here in order
(`call_0`, `call_1`, ...) and tool results take them in the order the calls were made.
"""

from __future__ import annotations

import json


def to_openai_messages(messages: list[dict]) -> list[dict]:
    """Our messages as a chat-completions request's `messages` (ids added, arguments as JSON text)."""
    wire, pending, counter = [], [], 0
    for message in messages:
        if message["role"] == "assistant":
            calls = []
            for call in message.get("tool_calls") or ():
                call_id = f"call_{counter}"
                counter += 1
                pending.append(call_id)
                function = call["function"]
                calls.append({"id": call_id, "type": "function", "function": {
                    "name": function["name"], "arguments": json.dumps(function["arguments"], ensure_ascii=False)}})
            entry = {"role": "assistant", "content": message.get("content") or ""}
            if calls:
                entry["tool_calls"] = calls
            wire.append(entry)
        elif message["role"] == "tool":
            call_id = pending.pop(0) if pending else f"call_{counter}"
            wire.append({"role": "tool", "tool_call_id": call_id, "content": message["content"]})
        else:
            # "developer" is the OpenAI name too; servers that only know "system" map it themselves.
            wire.append({"role": message["role"], "content": message["content"]})
    return wire


def from_openai_message(raw: dict, finish_reason: str | None) -> tuple[dict, str | None]:
    """A response message in our shape, and the format error (None when it is well formed)."""
    content = raw.get("content") or ""
    message: dict = {"role": "assistant", "content": content}
    thinking = raw.get("reasoning_content") or raw.get("reasoning")
    if isinstance(thinking, str) and thinking:
        message["thinking"] = thinking
    calls, problem = [], None
    for call in raw.get("tool_calls") or ():
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except json.JSONDecodeError as error:
            problem = f"arguments of {function.get('name')!r} are not JSON ({error.msg})"
            continue
        if not isinstance(arguments, dict):
            problem = f"arguments of {function.get('name')!r} are {type(arguments).__name__}, not a JSON object"
            continue
        calls.append({"type": "function", "function": {"name": function.get("name") or "", "arguments": arguments}})
    if calls and not problem:
        message["tool_calls"] = calls
    if problem is None and finish_reason == "length":
        problem = "unterminated turn: the server stopped at max_tokens"
    if problem is None and not calls and not content.strip():
        problem = "no final answer and no tool call"
    return message, problem
