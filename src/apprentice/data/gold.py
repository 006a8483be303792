"""Gold and template trajectories: the known fix, acted out with the agent's real tools.

Every tool result in a gold trajectory is real: the builder opens the task's episode workspace,
calls the agent's `ToolBox` (read the buggy file, apply the fix -- the task's bug reversed --,
run the tests) and records what came back. The workspace's final diff is then graded like any
agent's; a trajectory that does not end green is dropped, and why is counted.

Template trajectories (SPEC §6's template share) are the same fix reached along a different,
equally real path, drawn per task: look around first (list_files), search for the function
first, run the failing tests first and reason from their output, or quote the code wrongly in a
first edit (indented a level too deep), meet the tool's real error, read the lines again and retry.
Gold alone never shows a failed tool call, and an agent that has never seen one answers the
first with garbage. The wrong edit is marked `"weight": 0`: context, not a turn SFT trains.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath

from apprentice.agent.loop import LoopConfig, first_messages
from apprentice.agent.patching import SEARCH_MARK, search_blocks
from apprentice.agent.tools import TOOL_SCHEMAS, ToolBox, ToolResult
from apprentice.agent.trajectory import Trajectory
from apprentice.agent.workspace import episode_workspace, workspace_diff
from apprentice.config.models import SftDataSection
from apprentice.data.diffs import FixSummary, fix_from_bug, summarize_fix
from apprentice.data.edits import search_replace_fix
from apprentice.data.prompts import rotation_index
from apprentice.data.thinking import GoldThinking, gold_thinking
from apprentice.errors import DataError
from apprentice.grading.grade import GradeMemo, grade
from apprentice.grading.outcome import Episode, Outcome
from apprentice.sandbox import Limits
from apprentice.tasks.task import Task

_SFT_DATA = SftDataSection()  # the one place gold's defaults are written


@dataclass(frozen=True)
class GoldShape:
    """How much a gold episode reads and sees: shorter for a miniature model that must learn in minutes.

    The defaults are `SftDataSection`'s (config/models.py documents each one); `from_section` reads
    a run's own values by name.
    """

    read_whole_lines: int = _SFT_DATA.read_whole_lines  # a file up to this long is read whole
    read_margin: int = _SFT_DATA.read_margin  # lines of context read on each side of a hunk
    max_output_chars: int = _SFT_DATA.max_output_chars  # of each tool result, as the agent loop cuts them
    brief_thinking: bool = _SFT_DATA.brief_thinking  # thinking without recited test names or code
    read_end: bool = _SFT_DATA.read_end  # read_file names its last line; False: the output cut ends the read
    template_paths: tuple[str, ...] = tuple(_SFT_DATA.template_paths)  # drawn per task (TEMPLATE_PATHS)

    @classmethod
    def from_section(cls, section: SftDataSection) -> GoldShape:
        """The shape a run's `sft_data` section asks for, field by field."""
        values = {item.name: getattr(section, item.name) for item in fields(cls)}
        return cls(**{**values, "template_paths": tuple(values["template_paths"])})


DEFAULT_SHAPE = GoldShape()


@dataclass(frozen=True)
class Built:
    """A built trajectory, or None and the reason it was dropped (a short category, then detail)."""

    task_id: str
    trajectory: Trajectory | None
    dropped: str = ""
    detail: str = ""


@dataclass
class _Conversation:
    """The assistant and tool messages of an episode under construction, with its tool box."""

    box: ToolBox
    shape: GoldShape = DEFAULT_SHAPE
    fix: str = ""  # the task's bug reversed, as a unified diff
    messages: list[dict] = field(default_factory=list)
    calls: int = 0

    def act(self, thinking: str, tool: str, arguments: dict, trained: bool = True) -> ToolResult:
        """One assistant turn that thinks, then calls `tool`; its real result is recorded.

        `trained=False` marks the turn `"weight": 0`: context for what follows, no loss in SFT.
        """
        turn = {"role": "assistant", "content": "", "tool_calls": [
            {"type": "function", "function": {"name": tool, "arguments": arguments}}]}
        if thinking:
            turn["thinking"] = thinking
        if not trained:
            turn["weight"] = 0
        result = self.box.call(tool, arguments)
        self.messages += [turn, {"role": "tool", "name": tool, "content": result.content}]
        self.calls += 1
        return result

    def thinking_text(self) -> str:
        """All thinking so far, for the grade's thinking-quality part."""
        return "\n".join(m["thinking"] for m in self.messages if m.get("thinking"))


def read_arguments(workspace: Path, fix: FixSummary, path: str, shape: GoldShape = DEFAULT_SHAPE) -> dict:
    """read_file arguments for `path`: the whole file when short, else the lines around the fix.

    Without `shape.read_end` the read names its first line only and the tool's output cut ends it,
    as long as the cut still shows the whole window; a window longer than the cut names both lines.
    """
    lines = (workspace / path).read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    spans = [(start, end) for file, start, end in fix.windows if file == path]
    if len(lines) <= shape.read_whole_lines or not spans:
        return {"path": path}
    start = max(1, min(s for s, _ in spans) - shape.read_margin)
    end = max(e for _, e in spans) + shape.read_margin
    if not shape.read_end and len("".join(lines[start - 1:end])) <= shape.max_output_chars:
        return {"path": path, "start": start}
    return {"path": path, "start": start, "end": end}


def _read_and_fix(convo: _Conversation, fix: str, summary: FixSummary, thoughts: GoldThinking,
                  first_thought: str) -> ToolResult:
    """Read every file the fix touches, apply the fix, run the tests; returns the patch result."""
    _read_all(convo, summary, first_thought)
    return _patch_and_test(convo, _edit_of(convo, fix), thoughts)


def _read_all(convo: _Conversation, summary: FixSummary, first_thought: str) -> None:
    for index, path in enumerate(summary.files):
        thought = first_thought if index == 0 else f"Next, read {path}, which the change also touches."
        convo.act(thought, "read_file", _reading(convo, summary, path))


def _reading(convo: _Conversation, summary: FixSummary, path: str) -> dict:
    """read_file arguments for `path`. At level 0 the statement names the line: the read starts there, so the
    edit's SEARCH text is the first lines the tool shows; at other levels, `read_arguments`."""
    if convo.box.task.level == 0:
        start = edit_start_line(_edit_of(convo, convo.fix), path, _read_text(convo.box.workspace / path) or "")
        if start is not None:
            return {"path": path, "start": start}
    return read_arguments(convo.box.workspace, summary, path, convo.shape)


def edit_start_line(edit: str, path: str, text: str) -> int | None:
    """The 1-based line of `text` where the first search/replace block of `path` in `edit` starts; None if none does."""
    for block_path, search, _ in search_blocks(edit):
        if block_path == path and search and search in text:
            return text[:text.index(search)].count("\n") + 1
    return None


def _edit_of(convo: _Conversation, fix: str) -> str:
    """The fix as search/replace blocks against the workspace, or the unified diff when it cannot be.

    At level 0 the blocks start at the changed line (context after it, not before): the line the statement names.
    """
    workspace = convo.box.workspace
    trailing = convo.box.task.level == 0
    return search_replace_fix(fix, lambda path: _read_text(workspace / path), trailing=trailing) or fix


def _patch_and_test(convo: _Conversation, edit: str, thoughts: GoldThinking) -> ToolResult:
    applied = convo.act(thoughts.before_patch, "apply_patch", {"diff": edit})
    if applied.ok:
        convo.act(thoughts.before_tests, "run_tests", {})
    return applied


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _gold_path(convo, task, fix, summary, thoughts) -> ToolResult:
    return _read_and_fix(convo, fix, summary, thoughts, thoughts.before_read)


def _explore_path(convo, task, fix, summary, thoughts) -> ToolResult:
    folder = str(PurePosixPath(summary.files[0]).parent) or "."
    convo.act(thoughts.before_read, "list_files", {"dir": folder})
    return _read_and_fix(convo, fix, summary, thoughts, f"The listing shows {summary.files[0]}; read it.")


def _search_path(convo, task, fix, summary, thoughts) -> ToolResult:
    symbol = (task.changed_symbols[0].split("::")[-1].split(".")[-1] if task.changed_symbols
              else PurePosixPath(summary.files[0]).stem)
    convo.act(thoughts.before_read, "search", {"pattern": symbol})
    return _read_and_fix(convo, fix, summary, thoughts, f"The search points to {summary.files[0]}; read it.")


def _test_first_path(convo, task, fix, summary, thoughts) -> ToolResult:
    report = convo.act("Run the tests first to see the failure as it is.", "run_tests", {})
    lines = report.content.splitlines()
    index = next((n for n, line in enumerate(lines) if line.startswith(("FAILED", "ERROR"))), None)
    if index is None:
        seen = thoughts.observe
    else:
        message = lines[index + 1].strip() if index + 1 < len(lines) and lines[index + 1].startswith(" ") else ""
        seen = f"Observe: the run shows {lines[index].strip()}" + (f": {message}" if message else "") + "."
    return _read_and_fix(convo, fix, summary, thoughts, f"{seen}\n{thoughts.reasoning}")


INDENT = "    "  # one level deeper: the misquote of a retry's first edit
RETRY_THOUGHT = "The SEARCH text is not in the file as I wrote it. Read the lines again and copy them exactly."


def _retry_path(convo, task, fix, summary, thoughts) -> ToolResult:
    edit = _edit_of(convo, fix)
    wrong = misquoted(edit, lambda path: _read_text(convo.box.workspace / path))
    if wrong is None or len(summary.files) > 1:  # nothing to misquote, or too many turns for the data gate
        return _gold_path(convo, task, fix, summary, thoughts)
    _read_all(convo, summary, thoughts.before_read)
    # Fails (a SEARCH text is not in its file); kept as context, not trained: the model learns the recovery.
    convo.act(thoughts.before_patch, "apply_patch", {"diff": wrong}, trained=False)
    convo.act(RETRY_THOUGHT, "read_file", _reading(convo, summary, summary.files[0]))
    return _patch_and_test(convo, edit, thoughts)


def misquoted(edit: str, read: Callable[[str], str | None]) -> str | None:
    """`edit` with its SEARCH lines one indentation level too deep, as a model quoting from memory writes them.

    None when that need not fail: a unified diff, or every block's deeper text still found in its
    file (SEARCH matches any substring; blocks apply all or nothing, so one miss fails the edit).
    """
    if SEARCH_MARK not in edit:
        return None
    lines, in_search = [], False
    for line in edit.split("\n"):
        if line.startswith(SEARCH_MARK) or line.startswith("======="):
            in_search = line.startswith(SEARCH_MARK)
        elif in_search and line.strip():
            line = INDENT + line
        lines.append(line)
    deeper = "\n".join(lines)
    if all(search in (read(path) or "") for path, search, _ in search_blocks(deeper)):
        return None
    return deeper


TEMPLATE_PATHS: dict[str, Callable] = {"explore": _explore_path, "search": _search_path, "test_first": _test_first_path,
                                       "retry": _retry_path}


def build_gold(task: Task, developer: str, *, template: bool = False, limits: Limits | None = None,
               shape: GoldShape = DEFAULT_SHAPE, memo: GradeMemo | None = None) -> Built:
    """Act out the gold fix of `task` (or a template path to it), grade it, keep it only when green.

    With `memo`, a patch graded before for this task (its gold twin's, its own test run's) is not run again.
    """
    grader = memo.grade if memo is not None else grade
    started = time.monotonic()
    try:
        fix = fix_from_bug(task.bug)
        summary = summarize_fix(fix)
    except DataError as error:
        return Built(task.id, None, "bad bug diff", str(error))
    names = sorted(shape.template_paths)
    path = TEMPLATE_PATHS[names[rotation_index(task.id, len(names))]] if template else _gold_path
    draft = gold_thinking(task, summary, fix, tests_passed=len(task.fail_to_pass + task.pass_to_pass),
                          brief=shape.brief_thinking)
    with episode_workspace(task) as workspace:
        convo = _Conversation(ToolBox(workspace, task, shape.max_output_chars, limits=limits, grader=grader), shape, fix)
        applied = path(convo, task, fix, summary, draft)
        patch = workspace_diff(workspace)
    if not applied.ok:
        return Built(task.id, None, "fix does not apply", applied.content[:300])
    outcome = grader(task, patch, limits=limits, episode=Episode(tool_calls=convo.calls, thinking=convo.thinking_text()))
    reason = not_green(outcome.to_dict())
    if reason:
        return Built(task.id, None, reason, outcome.summary())
    convo.messages.append({"role": "assistant", "thinking": draft.final, "content": final_answer(summary, outcome)})
    return Built(task.id, Trajectory(
        task_id=task.id, messages=tuple(opening_messages(task, developer) + convo.messages), tools=TOOL_SCHEMAS,
        source="template" if template else "gold", outcome=outcome.to_dict(), tool_calls=convo.calls,
        turns=sum(1 for m in convo.messages if m["role"] == "assistant"), seconds=round(time.monotonic() - started, 3),
    ))


def opening_messages(task: Task, developer: str) -> list[dict]:
    """The loop's own opening (developer prompt, task statement), so gold data matches what the agent sees."""
    return first_messages(task, LoopConfig(developer_prompt=developer))


def final_answer(summary: FixSummary, outcome: Outcome) -> str:
    """The short final answer: what changed where, and the test result."""
    lint = {True: ", lint clean", False: ", lint warnings", None: ""}[outcome.lint_clean]
    return (f"Fixed {', '.join(summary.files)} ({summary.changed_lines} changed lines). "
            f"Tests: {len(outcome.tests_passed)}/{len(outcome.tests)} passed{lint}.")


def not_green(outcome: Mapping) -> str:
    """Why a graded episode (`Outcome.to_dict()`) is not green, as a drop category; '' when it is."""
    if outcome.get("skipped"):
        return "toolchain missing"
    if not outcome.get("patch_applied"):
        return "no patch applied"
    if outcome.get("build_ok") is False:
        return "build fails"
    if outcome.get("tamper_flags"):
        return "tamper flags"
    if not (outcome.get("tests_complete") and outcome.get("tests") and not outcome.get("tests_failed")):
        return "tests not green"
    return ""
