"""Rewards as plain functions registered by name, and the composite that weighs them (SPEC §4).

A reward function takes `(outcome, episode, config)` and returns a float. `execution` is the SPEC
table; the others shape it and, P-GRPO style, count only when every required test passes:
rewarding good reasoning on broken code teaches rationalisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields

from apprentice.errors import ConfigError, UnknownNameError
from apprentice.grading.outcome import Episode, Outcome

# SPEC §4, the same for every language.
TESTS_PASS_LINT_CLEAN = 1.0
TESTS_PASS_LINT_WARNINGS = 0.7  # also when lint was skipped: an unchecked patch is never "clean"
BUILDS_TESTS_FAIL = 0.1
BUILD_FAILURE = -0.3  # also: patch does not apply, tests uncollectable, run cut short by a limit
INVALID_FORMAT = -1.0


@dataclass(frozen=True)
class RewardConfig:
    """Composite weights (SPEC §4 defaults) and the knobs of the shaping rewards."""

    execution: float = 0.5
    diff_minimality: float = 0.2
    tool_efficiency: float = 0.15
    thinking_quality: float = 0.15
    cap: float = 1.0  # the composite never exceeds this
    tamper_penalty: float = -1.0  # a patch caught tampering is punished like an invalid format
    diff_budget_lines: int = 50  # SPEC §7 median diff target, used when the task's bug size is unknown
    tool_call_budget: int = 6  # calls beyond this start to cost tool efficiency

    def __post_init__(self) -> None:
        for name in WEIGHT_NAMES:
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"reward weight {name}={getattr(self, name)} is negative; use 0 to disable it"
                )
        if self.execution <= 0:
            raise ConfigError(f"reward weight execution={self.execution} must be > 0: tests are the signal")
        if self.cap <= 0:
            raise ConfigError(f"reward cap={self.cap} must be > 0 (SPEC §4 uses 1.0)")
        if self.tamper_penalty > 0 or self.diff_budget_lines < 1 or self.tool_call_budget < 1:
            raise ConfigError("tamper_penalty must be <= 0, diff_budget_lines and tool_call_budget >= 1")


WEIGHT_NAMES = ("execution", "diff_minimality", "tool_efficiency", "thinking_quality")
RewardFunction = Callable[[Outcome, Episode, RewardConfig], float]
REWARDS: dict[str, RewardFunction] = {}


def register_reward(name: str) -> Callable[[RewardFunction], RewardFunction]:
    """Decorator: make a reward function available to the composite under `name`."""

    def register(function: RewardFunction) -> RewardFunction:
        REWARDS[name] = function
        return function

    return register


def get_reward(name: str) -> RewardFunction:
    """The reward function registered as `name`; `UnknownNameError` lists the known ones."""
    if name not in REWARDS:
        raise UnknownNameError(f"unknown reward '{name}' (known: {', '.join(REWARDS)})")
    return REWARDS[name]


@register_reward("execution")
def execution_reward(outcome: Outcome, episode: Episode, config: RewardConfig) -> float:
    """The SPEC §4 table: +1.0 / +0.7 / +0.1 / -0.3 / -1.0, with tampering at `tamper_penalty`."""
    if not episode.format_valid:
        return INVALID_FORMAT
    if outcome.tamper_flags:
        return config.tamper_penalty
    if outcome.skipped:
        return 0.0  # nothing was measured; the `skipped` field says why, training must drop it
    if not (outcome.patch_applied and outcome.build_ok and outcome.tests_complete):
        return BUILD_FAILURE
    if not outcome.all_tests_pass:
        return BUILDS_TESTS_FAIL
    return TESTS_PASS_LINT_CLEAN if outcome.lint_clean else TESTS_PASS_LINT_WARNINGS


@register_reward("diff_minimality")
def diff_minimality_reward(outcome: Outcome, episode: Episode, config: RewardConfig) -> float:
    """1.0 for a diff no larger than the task's own bug diff (or the budget), shrinking as it grows."""
    reference = outcome.reference_diff_lines or config.diff_budget_lines
    return min(1.0, max(reference, 1) / max(outcome.diff_lines, 1))


@register_reward("tool_efficiency")
def tool_efficiency_reward(outcome: Outcome, episode: Episode, config: RewardConfig) -> float:
    """1.0 within the tool-call budget, then budget / calls."""
    return min(1.0, config.tool_call_budget / max(episode.tool_calls, 1))


_PHASES = ("observe", "hypothes", "plan", "execut")  # SPEC §6: Observe, Hypothesize, Plan, Execute


@register_reward("thinking_quality")
def thinking_quality_reward(outcome: Outcome, episode: Episode, config: RewardConfig) -> float:
    """Share of the four thinking phases the reasoning names (0.0 with no thinking at all)."""
    text = episode.thinking.lower()
    return sum(1 for phase in _PHASES if re.search(rf"\b{phase}", text)) / len(_PHASES)


def composite_reward(outcome: Outcome, episode: Episode, config: RewardConfig) -> dict[str, float]:
    """Each registered part, and `composite`: weighted sum, shaping gated on passing tests, capped."""
    parts = {name: get_reward(name)(outcome, episode, config) for name in WEIGHT_NAMES}
    gate = outcome.all_tests_pass and not outcome.tamper_flags and episode.format_valid
    total = sum(getattr(config, name) * value for name, value in parts.items() if name == "execution" or gate)
    return {**parts, "composite": min(config.cap, total)}


def weight_names() -> tuple[str, ...]:
    """The composite's weight names, as `RewardConfig` fields (a test keeps the two in step)."""
    return tuple(field.name for field in fields(RewardConfig) if field.name in WEIGHT_NAMES)
