"""The GRPO reward: grade each rollout's workspace, in parallel, never letting one failure spread.

A TRL reward function (`reward(prompts, completions, environments, **kwargs) -> list[float]`). A
rollout with an invalid tool call scores -1.0 without grading (SPEC §4), and so does one whose
generated tokens do not follow the chat format: a last turn cut off before its end token, or a
Harmony message that does not open with its channel (prose the parser took as a final answer).
The others score the composite of their grade. Grades run through the sandbox pool; a grade that raises scores 0.0 for
its own rollout and is counted, so a batch is never zeroed by one bad workspace. Every reward handed to the trainer
is also kept until `take_rewards` (the stage logs them per step); `keep_outcomes` keeps each rollout's `Outcome`
too (the pass@k probe reads its tests).
"""

from __future__ import annotations

import re
import threading
import time

from apprentice.grading.outcome import Outcome
from apprentice.grading.rewards import INVALID_FORMAT, RewardConfig
from apprentice.sandbox import SandboxFailure, SandboxPool
from apprentice.stages.grpo_env import TaskEnvironment

# Harmony control text left in a message's content means the parser could not read a tool call.
_RAW_CONTROL = ("<|channel|>", "<|message|>", "<|call|>", "<|constrain|>", "to=functions.", "<tool_call>")
# Every Harmony message the model writes starts `<|start|>assistant` then its channel; the
# completion itself starts just after the prompt's `<|start|>assistant`.
_HARMONY_MESSAGE = re.compile(r"<\|start\|>assistant")
_TOOL_RESULT, _CALL_END = "<|start|>functions.", "<|call|>"
_MESSAGE_HEADER = re.compile(r"( to=[^\s<]+)?<\|channel\|>")


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


def tokens_well_formed(completion_ids: list[int], terminators: frozenset[int], decode=None) -> bool:
    """Whether the generated tokens end a turn properly and (Harmony) open every message with a channel.

    `completion_ids` is the whole rollout after the prompt, tool results included; `decode` turns
    ids back into text with special tokens kept (Harmony models), or None to check the end token only.
    """
    if not completion_ids:
        return False
    if decode is None:
        return completion_ids[-1] in terminators
    text = decode(completion_ids)
    # A rollout whose length budget ran out inside a tool result ended its own last turn with `<|call|>`:
    # the cut is the budget's, not the model's. Any other ending must be an end-of-turn token.
    last_result = text.rfind(_TOOL_RESULT)
    ended_in_tool_result = last_result > text.rfind(_CALL_END) >= 0 and "<|start|>assistant" not in text[last_result:]
    if completion_ids[-1] not in terminators and not ended_in_tool_result:
        return False
    messages = [m for m in _HARMONY_MESSAGE.split(text) if m.strip()]
    # Tool results TRL appends sit at the end of the message before them, so each piece opens a model message:
    # its channel, or first its recipient (` to=functions.x`, where gpt-oss's template puts it) and then the channel.
    return all(_MESSAGE_HEADER.match(m) for m in messages)


def thinking_of(completion: list[dict]) -> str:
    """The rollout's reasoning: every assistant message's analysis channel, joined."""
    return "\n".join(m.get("thinking") or "" for m in completion if m.get("role") == "assistant")


class ExecutionReward:
    """Callable reward for GRPOTrainer; keeps the counts and timings the stage reports."""

    __name__ = "execution"  # TRL logs each reward function under its name

    def __init__(self, workers: int = 2, config: RewardConfig | None = None, terminators: frozenset[int] = frozenset(),
                 decode=None, keep_outcomes: bool = False):
        self.workers = workers
        self.config = config or RewardConfig()
        # The ids that may end a generated turn (`<|return|>`, `<|call|>`); empty: no token-level check.
        self.terminators, self.decode = terminators, decode
        self.best: float | None = None
        self.graded = self.failures = self.invalid_format = 0
        self.seconds = 0.0
        # (task id, its Outcome or None when the rollout was not graded: bad format or a failed grade), per rollout
        self.outcomes: list[tuple[str | None, Outcome | None]] | None = [] if keep_outcomes else None
        self._rewards: list[float] = []
        self._lock = threading.Lock()

    def like(self, keep_outcomes: bool = False) -> ExecutionReward:
        """A fresh reward with these settings and no counts (the probe scores with one, training keeps its own)."""
        return ExecutionReward(self.workers, self.config, self.terminators, self.decode, keep_outcomes)

    def take_rewards(self) -> list[float]:
        """The rewards returned since the last call, in the order the trainer got them; then forgets them."""
        with self._lock:
            taken, self._rewards = self._rewards, []
        return taken

    def __call__(self, prompts, completions, environments, completion_ids=None, **_) -> list[float]:
        started = time.perf_counter()
        ids = completion_ids if completion_ids is not None and self.terminators else [None] * len(completions)
        with SandboxPool(workers=self.workers) as pool:
            scores = pool.map(self._score, list(zip(completions, environments, ids, strict=True)))
        rewards = [0.0 if isinstance(score, SandboxFailure) else score for score in scores]
        with self._lock:
            self.failures += sum(isinstance(score, SandboxFailure) for score in scores)
            self.graded += len(rewards)
            self._rewards.extend(rewards)
            if self.outcomes is not None:
                self.outcomes.extend((environment._task_id(), None) for score, environment
                                     in zip(scores, environments, strict=True) if isinstance(score, SandboxFailure))
            self.best = max([*rewards, *([self.best] if self.best is not None else [])])
            self.seconds += time.perf_counter() - started
        return rewards

    def _score(self, rollout: tuple[list[dict], TaskEnvironment, list[int] | None]) -> float:
        completion, environment, ids = rollout
        well_formed = ids is None or tokens_well_formed(list(ids), self.terminators, self.decode)
        if not (well_formed and format_valid(completion)):
            with self._lock:
                self.invalid_format += 1
                self._keep(environment, None)
            return INVALID_FORMAT
        outcome = environment._grade(thinking_of(completion), self.config)
        composite = outcome.reward_parts["composite"]
        with self._lock:  # kept only once scored: a grade that raises is recorded once, as a failure
            self._keep(environment, outcome)
        return composite

    def _keep(self, environment: TaskEnvironment, outcome: Outcome | None) -> None:
        if self.outcomes is not None:
            self.outcomes.append((environment._task_id(), outcome))
