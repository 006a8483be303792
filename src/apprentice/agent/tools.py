"""The agent's tools, their JSON schemas, and `ToolBox.call`, which never lets a bad call escape.

Whatever the model sends — an unknown tool, arguments that are not an object, a missing or
mistyped argument, a path outside the workspace, a patch that does not apply — comes back as a
`ToolResult` with `ok=False` and the reason in `content`, so the model can see it and the loop
goes on. Output longer than `max_output_chars` is cut with a visible marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apprentice.agent import file_tools, test_tool
from apprentice.agent.file_tools import ToolInputError
from apprentice.errors import WorkspaceBoundaryError
from apprentice.sandbox import Limits
from apprentice.tasks.task import Task

__all__ = ["TOOL_NAMES", "TOOL_SCHEMAS", "ToolBox", "ToolResult", "WorkspaceBoundaryError", "schema_ordered", "truncate"]


def _schema(name: str, description: str, properties: dict, required: tuple[str, ...]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(required)},
        },
    }


_STRING, _INTEGER = {"type": "string"}, {"type": "integer"}
TOOL_SCHEMAS: tuple[dict, ...] = (
    _schema("read_file", "Read a file of the repository, optionally only lines start..end (1-based, inclusive).",
            {"path": _STRING, "start": _INTEGER, "end": _INTEGER}, ("path",)),
    _schema("list_files", "List the files under a directory of the repository ('.' for all).",
            {"dir": _STRING}, ("dir",)),
    _schema("search", "Find the lines of the repository matching a regular expression.",
            {"pattern": _STRING}, ("pattern",)),
    _schema("apply_patch", "Apply a unified diff (--- a/PATH, +++ b/PATH, @@ hunks) or search/replace blocks "
            "(PATH line, <<<<<<< SEARCH, old lines, =======, new lines, >>>>>>> REPLACE).",
            {"diff": _STRING}, ("diff",)),
    _schema("run_tests", "Run the task's tests on the repository as it is now; selection keeps only the "
            "test ids containing it.", {"selection": _STRING}, ()),
    _schema("write_file", "Replace the whole content of a file (or create it).",
            {"path": _STRING, "content": _STRING}, ("path", "content")),
)
TOOL_NAMES: tuple[str, ...] = tuple(schema["function"]["name"] for schema in TOOL_SCHEMAS)
_PARAMETERS: dict[str, dict] = {schema["function"]["name"]: schema["function"]["parameters"] for schema in TOOL_SCHEMAS}
_JSON_TYPES = {"string": str, "integer": int}


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave back: the text the model sees, whether it worked, and why not."""

    content: str
    ok: bool
    error: str | None = None


def schema_ordered(messages: list[dict]) -> list[dict]:
    """`messages` with every tool call's arguments in the order of its schema (path, then start, then end).

    Records are stored with sorted keys, and the chat template writes arguments in the order it gets
    them: trained on sorted JSON, a model learns to write `{"end": 184, "path": ...` (a line number it
    cannot know before the file it has to name). Arguments a schema lacks keep their order, after the rest.
    """
    return [_ordered_calls(message) for message in messages]


def _ordered_calls(message: dict) -> dict:
    calls = message.get("tool_calls")
    if message.get("role") != "assistant" or not calls:
        return message
    return {**message, "tool_calls": [_ordered_call(call) for call in calls]}


def _ordered_call(call: dict) -> dict:
    function = call.get("function") or {}
    arguments, name = function.get("arguments"), function.get("name")
    if not isinstance(arguments, dict) or name not in _PARAMETERS:
        return call
    order = list(_PARAMETERS[name]["properties"])
    ranked = sorted(arguments, key=lambda key: order.index(key) if key in order else len(order))
    return {**call, "function": {**function, "arguments": {key: arguments[key] for key in ranked}}}


def truncate(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars` with a marker saying how much was left out, or unchanged."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n[... output truncated: {len(text) - max_chars} more characters not shown ...]"


class ToolBox:
    """The tools of one episode, bound to its workspace and task."""

    def __init__(self, workspace: Path, task: Task, max_output_chars: int = 4000, limits: Limits | None = None,
                 grader: Callable[..., Any] | None = None):
        grader = grader or test_tool.grade  # GradeMemo.grade where episodes repeat a patch (gold data)
        self.workspace = Path(workspace)
        self.task = task
        self.max_output_chars = max_output_chars
        self.limits = limits
        self._tools: dict[str, Callable[..., str]] = {
            "read_file": lambda path, start=None, end=None: file_tools.read_file(self.workspace, path, start, end),
            "list_files": lambda dir: file_tools.list_files(self.workspace, dir),
            "search": lambda pattern: file_tools.search(self.workspace, pattern),
            "apply_patch": lambda diff: file_tools.apply_patch(self.workspace, diff),
            "run_tests": lambda selection=None: test_tool.run_tests(self.workspace, self.task, selection, self.limits,
                                                                   grader),
            "write_file": lambda path, content: file_tools.write_file(self.workspace, path, content),
        }

    def call(self, name: str, arguments: Any) -> ToolResult:
        """Run tool `name` with `arguments` (a dict); any mistake of the model's becomes an ok=False result."""
        problem = _argument_problem(name, arguments)
        if problem:
            return self._failure(problem)
        try:
            output = self._tools[name](**arguments)
        except (WorkspaceBoundaryError, ToolInputError) as error:
            return self._failure(str(error))
        except (OSError, UnicodeError) as error:
            # A file the model named that cannot be read or written as text (a name too long, a
            # binary file to patch): the model's to see and correct, not the loop's to die of.
            return self._failure(f"{name} failed: {error}")
        return ToolResult(truncate(output, self.max_output_chars), ok=True)

    def _failure(self, problem: str) -> ToolResult:
        return ToolResult(truncate(f"error: {problem}", self.max_output_chars), ok=False, error=problem)


def _argument_problem(name: str, arguments: Any) -> str:
    if name not in TOOL_NAMES:
        return f"unknown tool {name!r} (known: {', '.join(TOOL_NAMES)})"
    if not isinstance(arguments, dict):
        return f"arguments of {name} must be a JSON object, got {type(arguments).__name__}"
    parameters = _PARAMETERS[name]
    unknown = sorted(set(arguments) - set(parameters["properties"]))
    if unknown:
        return f"{name} has no argument(s) {unknown} (it takes: {', '.join(parameters['properties'])})"
    missing = [key for key in parameters["required"] if key not in arguments]
    if missing:
        return f"{name} needs argument(s) {missing}"
    for key, value in arguments.items():
        expected = _JSON_TYPES[parameters["properties"][key]["type"]]
        if value is None and key not in parameters["required"]:
            continue  # an optional argument sent as null: the tool's default
        if isinstance(value, bool) or not isinstance(value, expected):
            return f"argument {key!r} of {name} must be a {parameters['properties'][key]['type']}, got {value!r:.60}"
    return ""
