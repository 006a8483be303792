"""The OpenAI chat-completions wire format the router speaks: requests in, completions and chunks out.

Requests are strict: an unknown field is a 422 naming it, rather than an option silently ignored.
`to_our_messages` turns wire messages into apprentice's message shape (arguments as dicts, tool
results carrying the name of the call they answer); `completion_body` and `stream_chunks` turn
a parsed `Reply` back into the wire shape, tool-call arguments as JSON text with `call_N` ids.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from apprentice.agent.backends import Reply
from apprentice.errors import ServingError

AUTO_MODEL = "auto"  # `model: "auto"` (or no model) routes by language field, detection, then the default


class WireError(ServingError):
    """A request whose messages cannot be read (a 422); the message names the message index and the fix."""


class ChatMessage(BaseModel):
    """One message of a request, as OpenAI clients send it."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None  # a previous turn's reasoning, as reasoning servers return it


class ChatCompletionRequest(BaseModel):
    """The fields of `POST /v1/chat/completions` the router honours; `language` is apprentice's own."""

    model_config = ConfigDict(extra="forbid")
    model: str = AUTO_MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: Literal[1] = 1  # one model, one choice per request
    seed: int | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    user: str | None = None
    language: str | None = None

    @field_validator("tool_choice")
    @classmethod
    def _known_tool_choice(cls, value):
        if isinstance(value, str) and value not in ("none", "auto", "required"):
            raise ValueError(f"tool_choice {value!r} must be 'none', 'auto', 'required' or a function object")
        return value

    def completion_limit(self, default: int) -> int:
        """The completion token budget asked for (`max_completion_tokens` wins over `max_tokens`)."""
        return self.max_completion_tokens or self.max_tokens or default

    def offered_tools(self) -> list[dict]:
        """The tools the model sees: none for `tool_choice: "none"`; a named function must be offered."""
        tools = list(self.tools or [])
        if self.tool_choice == "none":
            return []
        if isinstance(self.tool_choice, dict):
            wanted = (self.tool_choice.get("function") or {}).get("name")
            names = [(tool.get("function") or {}).get("name") for tool in tools]
            if wanted not in names:
                raise WireError(f"tool_choice names function {wanted!r}, which is not among the tools {names}")
        return tools


def to_our_messages(messages: list[ChatMessage]) -> list[dict]:
    """Wire messages in apprentice's shape; WireError (a 422) on arguments that are not a JSON object."""
    ours, call_names = [], {}
    for index, message in enumerate(messages):
        content = _text(message.content, index)
        if message.role == "assistant":
            ours.append(_assistant(message, content, index, call_names))
        elif message.role == "tool":
            name = message.name or call_names.get(message.tool_call_id or "")
            if name is None:
                raise WireError(f"messages[{index}]: tool result names no call; give tool_call_id of an earlier tool call")
            ours.append({"role": "tool", "name": name, "content": content})
        else:
            ours.append({"role": message.role, "content": content})
    return ours


def _assistant(message: ChatMessage, content: str, index: int, call_names: dict[str, str]) -> dict:
    turn: dict = {"role": "assistant", "content": content}
    if message.reasoning_content:
        turn["thinking"] = message.reasoning_content
    calls = []
    for call in message.tool_calls or ():
        function = call.get("function") or {}
        arguments = function.get("arguments") or "{}"
        try:
            arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
        except json.JSONDecodeError as error:
            raise WireError(f"messages[{index}]: arguments of {function.get('name')!r} are not JSON ({error.msg})") from error
        if not isinstance(arguments, dict) or not function.get("name"):
            raise WireError(f"messages[{index}]: a tool call needs a function name and JSON-object arguments")
        call_names[call.get("id") or ""] = function["name"]
        calls.append({"type": "function", "function": {"name": function["name"], "arguments": arguments}})
    if calls:
        turn["tool_calls"] = calls
    return turn


def _text(content: str | list[dict[str, Any]] | None, index: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    texts = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise WireError(f"messages[{index}]: content part of type {part.get('type')!r}; only text parts are served")
        texts.append(part["text"])
    return "".join(texts)


def wire_tool_calls(message: dict) -> list[dict]:
    """A parsed message's tool calls in the wire shape (ids `call_N`, arguments as JSON text)."""
    return [
        {"id": f"call_{index}", "type": "function",
         "function": {"name": call["function"]["name"],
                      "arguments": json.dumps(call["function"]["arguments"], ensure_ascii=False)}}
        for index, call in enumerate(message.get("tool_calls") or ())
    ]


def finish_reason(reply: Reply, max_tokens: int) -> str:
    """`tool_calls`, `length` (cut at the budget without closing the turn), or `stop`."""
    if reply.message.get("tool_calls") and reply.format_error is None:
        return "tool_calls"
    if reply.format_error and reply.completion_tokens >= max_tokens:
        return "length"
    return "stop"


def completion_body(reply: Reply, adapter: str, max_tokens: int) -> dict:
    """A `chat.completion` object for `reply`; `apprentice` says which adapter answered and any format error."""
    message: dict = {"role": "assistant", "content": reply.message.get("content") or None}
    if reply.message.get("thinking"):
        message["reasoning_content"] = reply.message["thinking"]
    calls = wire_tool_calls(reply.message)
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
        "model": adapter,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply, max_tokens),
                     "logprobs": None}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
                  "total_tokens": reply.prompt_tokens + reply.completion_tokens},
        "apprentice": {"adapter": adapter, "format_error": reply.format_error},
    }


def stream_chunks(body: dict) -> list[dict]:
    """A finished completion as `chat.completion.chunk` objects: role, reasoning, content, each tool call, finish."""
    choice = body["choices"][0]
    message = choice["message"]
    deltas: list[dict] = [{"role": "assistant", "content": ""}]
    if message.get("reasoning_content"):
        deltas.append({"reasoning_content": message["reasoning_content"]})
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls") or ()):
        deltas.append({"tool_calls": [{"index": index, **call}]})
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"], "model": body["model"]}
    chunks = [{**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}],
                   "usage": body["usage"]})
    return chunks


def error_body(status: int, message: str, code: str, param: str | None = None) -> dict:
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 401:
        kind = "authentication_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def model_card(name: str, adapter: str, target: str) -> dict:
    """One entry of `GET /v1/models`: a served name and the adapter version behind it."""
    return {"id": name, "object": "model", "created": 0, "owned_by": "apprentice", "adapter": adapter,
            "target": target}
