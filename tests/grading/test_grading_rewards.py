"""The SPEC §4 reward table, the composite's weights, and P-GRPO gating."""

from __future__ import annotations

import dataclasses

import pytest

from apprentice.errors import ConfigError, UnknownNameError
from apprentice.grading.outcome import Episode, Outcome
from apprentice.grading.rewards import (
    RewardConfig,
    composite_reward,
    execution_reward,
    get_reward,
    weight_names,
)
from apprentice.languages.language import TestCase

PASSING = Outcome(
    "t",
    "python",
    patch_applied=True,
    build_ok=True,
    tests=(TestCase("a", "passed"),),
    tests_complete=True,
    lint_clean=True,
    diff_lines=4,
    reference_diff_lines=4,
)
FAILING = dataclasses.replace(PASSING, tests=(TestCase("a", "failed"),))
CONFIG = RewardConfig()
THOUGHTFUL = Episode(
    tool_calls=3, thinking="Observe the failure. Hypothesize: off by one. Plan the edit. Execute it."
)


@pytest.mark.parametrize(
    ("outcome", "episode", "expected"),
    [
        (PASSING, Episode(), 1.0),
        (dataclasses.replace(PASSING, lint_clean=False), Episode(), 0.7),
        (dataclasses.replace(PASSING, lint_clean=None, lint_skipped="no eslint"), Episode(), 0.7),
        (FAILING, Episode(), 0.1),
        (dataclasses.replace(PASSING, build_ok=False), Episode(), -0.3),
        (dataclasses.replace(PASSING, patch_applied=False, build_ok=None), Episode(), -0.3),
        (dataclasses.replace(PASSING, tests_complete=False), Episode(), -0.3),
        (PASSING, Episode(format_valid=False), -1.0),
        (dataclasses.replace(PASSING, tamper_flags=("edited a test",)), Episode(), -1.0),
        (Outcome("t", "rust", skipped="rust: cargo not found"), Episode(), 0.0),
    ],
)
def test_reward_table(outcome, episode, expected):
    assert execution_reward(outcome, episode, CONFIG) == expected


def test_composite_counts_shaping_only_when_tests_pass():
    passing = composite_reward(PASSING, THOUGHTFUL, CONFIG)
    assert passing["composite"] == pytest.approx(0.5 + 0.2 + 0.15 + 0.15)
    failing = composite_reward(FAILING, THOUGHTFUL, CONFIG)
    assert failing["composite"] == pytest.approx(0.5 * 0.1)  # reasoning on broken code earns nothing
    assert failing["thinking_quality"] == 1.0  # measured, but gated out


def test_composite_shaping_parts_move_with_their_inputs():
    bloated = dataclasses.replace(PASSING, diff_lines=40)
    parts = composite_reward(bloated, Episode(tool_calls=12), CONFIG)
    assert parts["diff_minimality"] == pytest.approx(0.1) and parts["tool_efficiency"] == pytest.approx(0.5)
    assert parts["thinking_quality"] == 0.0
    assert parts["composite"] == pytest.approx(0.5 + 0.2 * 0.1 + 0.15 * 0.5)


def test_composite_is_capped():
    generous = RewardConfig(execution=1.0, diff_minimality=1.0)
    assert composite_reward(PASSING, THOUGHTFUL, generous)["composite"] == 1.0


@pytest.mark.parametrize(
    "bad",
    [
        {"execution": 0.0},
        {"diff_minimality": -0.1},
        {"cap": 0.0},
        {"tamper_penalty": 0.5},
        {"tool_call_budget": 0},
    ],
)
def test_config_rejects_invalid_weights(bad):
    with pytest.raises(ConfigError):
        RewardConfig(**bad)


def test_rewards_are_registered_by_name():
    assert set(weight_names()) == {"execution", "diff_minimality", "tool_efficiency", "thinking_quality"}
    assert get_reward("execution") is execution_reward
    with pytest.raises(UnknownNameError, match="unknown reward 'speed'"):
        get_reward("speed")
