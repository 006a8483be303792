"""The GRPO reward: grade each rollout's workspace, in parallel, never letting one failure spread.

A TRL reward function (`reward(prompts, completions, environments, **kwargs) -> list[float]`). A
rollout with an invalid tool call scores -1.0 without grading (SPEC §4); the others score the
composite of their grade. Grades run through the sandbox pool; a grade that raises scores 0.0 for
its own rollout and is counted, so a batch is never zeroed by one bad workspace.
"""

from __future__ import annotations

import threading
import time

from apprentice.grading.rewards import INVALID_FORMAT, RewardConfig
from apprentice.sandbox import SandboxFailure, SandboxPool
from apprentice.stages.grpo_env import TaskEnvironment

# Harmony control text left in a message's content means the parser could not read a tool call.
_RAW_CONTROL = ("<|channel|>", "<|message|>", "<|call|>", "<|constrain|>", "to=functions.", "<tool_call>")


def format_valid(completion: list[dict]) -> bool:
    """Whether every tool call of a rollout parsed and named a real tool with valid arguments.

    TRL turns a call it cannot run (unknown tool, wrong arguments) into a tool message holding
    `{'error': ...}`; an unparsable call stays as raw control text in the assistant's content.
    """
    for message in completion:
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if message.get("role") == "assistant" and any(marker in text for marker in _RAW_CONTROL):
            return False
        if message.get("role") == "tool" and text.startswith("{'error'"):
            return False
    return True


def thinking_of(completion: list[dict]) -> str:
    """The rollout's reasoning: every assistant message's analysis channel, joined."""
    return "\n".join(m.get("thinking") or "" for m in completion if m.get("role") == "assistant")


class ExecutionReward:
    """Callable reward for GRPOTrainer; keeps the counts and timings the stage reports."""

    __name__ = "execution"  # TRL logs each reward function under its name

    def __init__(self, workers: int = 2, config: RewardConfig | None = None):
        self.workers = workers
        self.config = config or RewardConfig()
        self.best: float | None = None
        self.graded = self.failures = self.invalid_format = 0
        self.seconds = 0.0
        self._lock = threading.Lock()

    def __call__(self, prompts, completions, environments, **_) -> list[float]:
        started = time.perf_counter()
        with SandboxPool(workers=self.workers) as pool:
            scores = pool.map(self._score, list(zip(completions, environments, strict=True)))
        rewards = [0.0 if isinstance(score, SandboxFailure) else score for score in scores]
        with self._lock:
            self.failures += sum(isinstance(score, SandboxFailure) for score in scores)
            self.graded += len(rewards)
            self.best = max([*rewards, *([self.best] if self.best is not None else [])])
            self.seconds += time.perf_counter() - started
        return rewards

    def _score(self, rollout: tuple[list[dict], TaskEnvironment]) -> float:
        completion, environment = rollout
        if not format_valid(completion):
            with self._lock:
                self.invalid_format += 1
            return INVALID_FORMAT
        outcome = environment._grade(thinking_of(completion), self.config)
        return outcome.reward_parts["composite"]
