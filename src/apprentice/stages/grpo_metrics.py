"""GRPO's per-rollout rewards, step by step: did the reward move, and how often was it high?

A callback writes the rewards every rollout of a step earned into that step's entry of the trainer's
log history (`rollout_rewards`), which checkpoints keep, so a resumed run still has every step. From
them: the reward trend (first 20% of steps against the last 20%, with an interval on the
difference) and the share of rollouts that reached a high reward.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from transformers import TrainerCallback

from apprentice.evaluation.report_card import Z_95
from apprentice.stages.grpo_reward import ExecutionReward

TREND_SHARE = 0.2  # SPEC §5 reads the GRPO reward over the last 20% of training


class RolloutRewardLog(TrainerCallback):
    """Attach the rewards handed to the trainer since the last log to the log entry it just wrote."""

    def __init__(self, reward: ExecutionReward):
        self.reward = reward

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "reward" in logs and state.log_history:
            state.log_history[-1]["rollout_rewards"] = self.reward.take_rewards()
        return control


def step_rewards(log_history: list[dict[str, Any]]) -> list[list[float]]:
    """The per-rollout rewards of each logged step, in step order."""
    return [[float(value) for value in entry["rollout_rewards"]] for entry in log_history if "rollout_rewards" in entry]


def reward_trend(steps: list[list[float]], share: float = TREND_SHARE) -> dict[str, Any] | None:
    """Mean reward of the first and last `share` of steps (one step at least), their difference, its 95% interval.

    The interval is Welch's normal approximation over the per-rollout rewards of the two windows:
    diff +- 1.96 * sqrt(s1^2/n1 + s2^2/n2), sample variances; None when a window holds fewer than two
    rollouts. Rollouts of one task share a prompt and are not independent, so it is narrower than an
    interval over tasks would be. None when no step was logged.
    """
    if not steps:
        return None
    window = max(1, math.ceil(share * len(steps)))
    first = [reward for step in steps[:window] for reward in step]
    last = [reward for step in steps[-window:] for reward in step]
    if not first or not last:
        return None
    first_mean, last_mean = statistics.fmean(first), statistics.fmean(last)
    diff = last_mean - first_mean
    interval = None
    if len(first) > 1 and len(last) > 1:
        half = Z_95 * math.sqrt(statistics.variance(first) / len(first) + statistics.variance(last) / len(last))
        interval = [round(diff - half, 4), round(diff + half, 4)]
    return {"window_steps": window, "first_mean": round(first_mean, 4), "last_mean": round(last_mean, 4),
            "first_rollouts": len(first), "last_rollouts": len(last), "diff": round(diff, 4), "interval": interval,
            "method": "Welch normal approximation over per-rollout rewards"}


def high_reward_share(steps: list[list[float]], threshold: float) -> dict[str, Any]:
    """How many of all training rollouts earned at least `threshold`: {threshold, rollouts, high, share}."""
    rewards = [reward for step in steps for reward in step]
    high = sum(reward >= threshold for reward in rewards)
    return {"threshold": threshold, "rollouts": len(rewards), "high": high,
            "share": round(high / len(rewards), 4) if rewards else None}
