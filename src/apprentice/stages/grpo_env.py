"""The GRPO environment: one rollout's sandboxed task workspace, whose public methods are the tools.

TRL's `environment_factory` builds one `TaskEnvironment` per rollout slot, calls `reset(**example)`
before each rollout, and exposes every public method as a tool the model may call (schemas from the
signatures and docstrings below, which mirror `apprentice.agent.tools.TOOL_SCHEMAS`). The tools run
through `ToolBox`, so a bad call is a result the model sees; the reward grades the workspace's
final diff in a fresh sandbox (`grade`).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from apprentice.agent.tools import ToolBox
from apprentice.agent.workspace import episode_workspace, workspace_diff
from apprentice.grading.grade import grade
from apprentice.grading.outcome import Episode, Outcome
from apprentice.grading.rewards import RewardConfig
from apprentice.tasks.task import Task


class TaskEnvironment:
    """A task's workspace for one rollout; `reset` moves it to the next task."""

    def __init__(self, max_output_chars: int = 2000):
        self._max_output_chars = max_output_chars
        self._stack = ExitStack()
        self._task: Task | None = None
        self._box: ToolBox | None = None
        self._calls = 0

    def reset(self, task: str, **_: object) -> None:
        """Start a fresh workspace of `task` (a Task JSON line); the previous one is removed."""
        self._close()
        self._task = Task.from_json(task)
        workspace: Path = self._stack.enter_context(episode_workspace(self._task))
        self._box = ToolBox(workspace, self._task, self._max_output_chars)
        self._calls = 0

    def read_file(self, path: str, start: int | None = None, end: int | None = None) -> str:
        """Read a file of the repository, optionally only lines start..end (1-based, inclusive).

        Args:
            path: The file's path, relative to the repository root.
            start: First line to show (1-based).
            end: Last line to show (inclusive).
        """
        return self._call("read_file", path=path, start=start, end=end)

    def list_files(self, dir: str) -> str:  # noqa: A002 - the tool's argument is called `dir` (TOOL_SCHEMAS)
        """List the files under a directory of the repository ('.' for all).

        Args:
            dir: The directory, relative to the repository root.
        """
        return self._call("list_files", dir=dir)

    def search(self, pattern: str) -> str:
        """Find the lines of the repository matching a regular expression.

        Args:
            pattern: A Python regular expression.
        """
        return self._call("search", pattern=pattern)

    def apply_patch(self, diff: str) -> str:
        """Apply a unified diff or search/replace blocks to the repository.

        Args:
            diff: A unified diff (--- a/PATH, +++ b/PATH, @@ hunks) or search/replace blocks.
        """
        return self._call("apply_patch", diff=diff)

    def run_tests(self, selection: str | None = None) -> str:
        """Run the task's tests on the repository as it is now.

        Args:
            selection: Keep only the test ids containing this text.
        """
        return self._call("run_tests", selection=selection)

    def write_file(self, path: str, content: str) -> str:
        """Replace the whole content of a file (or create it).

        Args:
            path: The file's path, relative to the repository root.
            content: The new content of the file.
        """
        return self._call("write_file", path=path, content=content)

    def _call(self, name: str, **arguments: object) -> str:
        if self._box is None:
            return "error: no task is loaded (reset was not called)"
        self._calls += 1
        present = {key: value for key, value in arguments.items() if value is not None}
        return self._box.call(name, present).content

    def _grade(self, thinking: str, reward_config: RewardConfig) -> Outcome:
        """Grade this rollout's final workspace against its task (a fresh sandbox, pinned tests)."""
        if self._box is None or self._task is None:
            raise RuntimeError("TaskEnvironment graded before reset")
        episode = Episode(tool_calls=self._calls, format_valid=True, thinking=thinking)
        return grade(self._task, workspace_diff(self._box.workspace), episode=episode, config=reward_config)

    def _task_id(self) -> str | None:
        """The id of the task this rollout works (None before `reset`); private, so no tool."""
        return self._task.id if self._task is not None else None

    def _close(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        self._box = None
