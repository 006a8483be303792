"""Is a trajectory a well-formed agent conversation? The "100% valid chat format" gate of SPEC §6.

`Trajectory` itself checks each message in isolation (roles, string content). This checks the
conversation as a whole, the way a chat template and a trainer will read it: instructions first,
a user turn before the first answer, every tool call naming an offered tool with object
arguments, every tool result answering a call, and a final answer that calls nothing.
"""

from __future__ import annotations

from apprentice.agent.trajectory import Trajectory

_PREAMBLE_ROLES = ("system", "developer")


def format_problems(trajectory: Trajectory) -> tuple[str, ...]:
    """Every reason `trajectory` is not a valid chat conversation; empty when it is."""
    messages = trajectory.messages
    if not messages:
        return ("no messages",)
    problems = [f"{trajectory.format_errors} completion(s) did not parse"] if trajectory.format_errors else []
    problems += _order_problems(messages)
    problems += _tool_call_problems(messages, _offered_names(trajectory.tools))
    final = messages[-1]
    if final["role"] != "assistant" or final.get("tool_calls"):
        problems.append("the last message is not a final assistant answer (no tool calls)")
    elif not final.get("content", "").strip():
        problems.append("the final assistant answer is empty")
    return tuple(problems)


def count_turns(trajectory: Trajectory) -> int:
    """Assistant turns, counted from the messages (not the recorded counter)."""
    return sum(1 for message in trajectory.messages if message["role"] == "assistant")


def count_tool_calls(trajectory: Trajectory) -> int:
    """Tool calls made by the assistant, counted from the messages."""
    return sum(len(message.get("tool_calls") or ()) for message in trajectory.messages)


def count_thinking_blocks(trajectory: Trajectory) -> int:
    """Assistant turns that carry a non-empty thinking (analysis channel) block."""
    return sum(
        1
        for message in trajectory.messages
        if message["role"] == "assistant" and str(message.get("thinking") or "").strip()
    )


def _offered_names(tools: tuple[dict, ...]) -> set[str]:
    return {tool.get("function", {}).get("name", "") for tool in tools}


def _order_problems(messages: tuple[dict, ...]) -> list[str]:
    problems, seen_user = [], False
    for index, message in enumerate(messages):
        role = message["role"]
        if role in _PREAMBLE_ROLES and any(m["role"] not in _PREAMBLE_ROLES for m in messages[:index]):
            problems.append(f"messages[{index}]: {role} message after the conversation started")
        seen_user = seen_user or role == "user"
        if role == "assistant" and not seen_user:
            problems.append(f"messages[{index}]: assistant answers before any user message")
    return problems


def _tool_call_problems(messages: tuple[dict, ...], offered: set[str]) -> list[str]:
    problems: list[str] = []
    pending: list[str] = []  # names of calls not yet answered by a tool message, in order
    for index, message in enumerate(messages):
        role = message["role"]
        if role == "tool":
            if not pending:
                problems.append(f"messages[{index}]: tool result '{message['name']}' answers no call")
            elif pending.pop(0) != message["name"]:
                problems.append(f"messages[{index}]: tool result '{message['name']}' answers another tool's call")
            continue
        if pending:
            problems.append(f"messages[{index}]: {len(pending)} tool call(s) left without a result")
            pending = []
        for call in message.get("tool_calls") or ():
            function = call["function"]
            if call.get("type", "function") != "function":
                problems.append(f"messages[{index}]: tool call type {call.get('type')!r} is not 'function'")
            if offered and function["name"] not in offered:
                problems.append(f"messages[{index}]: tool '{function['name']}' was not offered")
            if not isinstance(function.get("arguments"), dict):
                problems.append(f"messages[{index}]: arguments of '{function['name']}' are not an object")
            pending.append(function["name"])
    return problems
