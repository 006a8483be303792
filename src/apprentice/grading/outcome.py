"""The `Outcome` record: what grading one patch found, and the reward it earned.

Every failure that is the patch's or the machine's (missing toolchain, unappliable or escaping
patch, tampering, timeouts) is a field here, never an exception: one bad grade must not kill a
pool or a training run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from apprentice.data.records import json_line
from apprentice.languages.language import TestCase


@dataclass(frozen=True)
class Episode:
    """What the agent loop knows about how the patch was produced (defaults: a bare CLI grade)."""

    tool_calls: int = 0
    format_valid: bool = True  # every tool call parsed; False earns -1.0 whatever the tests say
    thinking: str = ""


@dataclass(frozen=True)
class Outcome:
    """One grade. `reward` is the SPEC §4 table value; `reward_parts` holds the composite's parts."""

    task_id: str
    language: str
    patch_applied: bool = False
    build_ok: bool | None = None  # None: never reached
    tests: tuple[TestCase, ...] = ()  # one per fail-to-pass and pass-to-pass id, in that order
    tests_complete: bool = False  # the runner finished and its own report is trustworthy
    lint_clean: bool | None = None  # None: lint skipped (see `lint_skipped`) or never reached
    lint_skipped: str = ""
    lint_output: str = ""
    diff_lines: int = 0
    reference_diff_lines: int = 0  # the task's own bug diff size: the size an ideal fix would have
    files_touched: tuple[str, ...] = ()
    tool_calls: int = 0
    timings: Mapping[str, float] = field(default_factory=dict)
    reward: float = 0.0
    reward_parts: Mapping[str, float] = field(default_factory=dict)
    tamper_flags: tuple[str, ...] = ()
    output_truncated: bool = False
    error: str = ""  # why grading stopped early (bad patch, escaping path, sandbox limit), empty if not
    skipped: str = ""  # why grading could not run at all (missing toolchain), empty if it ran

    @property
    def tests_passed(self) -> tuple[str, ...]:
        """Ids of the required tests the runner reported passed."""
        return tuple(case.id for case in self.tests if case.status == "passed")

    @property
    def tests_failed(self) -> tuple[str, ...]:
        """Ids of required tests that did not pass (failed, errored, skipped or missing)."""
        return tuple(case.id for case in self.tests if case.status != "passed")

    @property
    def all_tests_pass(self) -> bool:
        """True only for a complete, trusted report in which every required test passed."""
        return self.tests_complete and bool(self.tests) and not self.tests_failed

    def to_dict(self) -> dict:
        """A JSON-ready dict, with the derived pass/fail id lists included."""
        record = asdict(self)
        record["tests_passed"] = list(self.tests_passed)
        record["tests_failed"] = list(self.tests_failed)
        return record

    def to_json(self) -> str:
        """The outcome as one JSON object on one line."""
        return json_line(self.to_dict())

    def summary(self) -> str:
        """One human line: reward, tests, lint, and the first problem if any."""
        head = f"{self.task_id} [{self.language}] reward {self.reward:+.2f}"
        tests = f"tests {len(self.tests_passed)}/{len(self.tests)} passed"
        lint = {True: "lint clean", False: "lint warnings", None: "lint skipped"}[self.lint_clean]
        problem = self.skipped or self.error or "; ".join(self.tamper_flags)
        return " | ".join(part for part in (head, tests, lint, problem) if part)
