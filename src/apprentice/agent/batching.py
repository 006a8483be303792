"""Greedy turns of concurrent episodes decoded together: one batched `generate` per round.

    batcher = GenerationBatcher(LocalBackend(model_dir, adapter))
    backend = batcher.episode()          # one per episode, on its own thread
    try:
        run_episode(backend, task, loop)
    finally:
        backend.close()                  # the batcher stops waiting for this episode

Each episode runs on a thread of the caller's pool and asks for one turn at a time. A turn waits
until every open episode has asked (or `wait_s` has passed since it asked, for an episode still
running a tool), then one thread decodes all waiting turns in one left-padded batch and hands
each its reply. On a CPU a batch of 4 costs little more than its longest row (the demo's
evaluations ran 2.0-2.2x faster than one turn at a time: `benchmarks/batched_turns.py`), and greedy
rows decode as they would alone. Sampled episodes do not join rounds: their per-call seed must not depend on who else
was waiting, so they generate alone, between rounds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from apprentice.agent.backends import LocalBackend, Reply


@dataclass
class _Turn:
    messages: list[dict]
    tools: list[dict]
    reply: Reply | None = None
    error: BaseException | None = None


class GenerationBatcher:
    """Rounds of batched greedy turns over one loaded model, for episodes running on threads."""

    def __init__(self, backend: LocalBackend, wait_s: float = 2.0):
        self.backend, self.wait_s = backend, wait_s
        self._state = threading.Condition()
        self._open = 0  # greedy episodes started and not closed
        self._waiting: list[_Turn] = []
        self._busy = False  # a round (or a sampled call) is generating
        self.rounds: list[int] = []  # turns per round, in order (for logs and tests)

    @property
    def open_episodes(self) -> int:
        """Greedy episodes started and not yet closed."""
        with self._state:
            return self._open

    def episode(self, temperature: float = 0.0, seed: int = 0) -> EpisodeBackend:
        """A backend for one episode; greedy ones join rounds, sampled ones generate alone."""
        sampled = None
        if temperature > 0:
            sampled = LocalBackend.from_model(self.backend.model, self.backend.tokenizer, temperature,
                                              self.backend.max_new_tokens, seed)
        else:
            with self._state:
                self._open += 1
        return EpisodeBackend(self, sampled)

    def turn(self, messages: list[dict], tools: list[dict]) -> Reply:
        """This episode's next turn, generated in the next round."""
        turn = _Turn(messages, tools)
        with self._state:
            self._waiting.append(turn)
            self._state.notify_all()
            deadline = time.monotonic() + self.wait_s
            while turn.reply is None and turn.error is None:
                if not self._busy and (len(self._waiting) >= self._open or time.monotonic() >= deadline):
                    batch, self._waiting, self._busy = self._waiting, [], True
                    break
                left = deadline - time.monotonic()
                self._state.wait(timeout=left if left > 0 else None)  # past the deadline: until the round ends
            else:
                return _result(turn)
        self._run_round(batch)
        return _result(turn)

    def alone(self, backend: LocalBackend, messages: list[dict], tools: list[dict]) -> Reply:
        """One sampled turn, generated between rounds."""
        with self._state:
            while self._busy:
                self._state.wait()
            self._busy = True
        try:
            return backend.respond(messages, tools)
        finally:
            self._release()

    def close_episode(self) -> None:
        """A greedy episode ended: rounds stop waiting for it."""
        with self._state:
            self._open -= 1
            self._state.notify_all()

    def _run_round(self, batch: list[_Turn]) -> None:
        self.rounds.append(len(batch))
        try:
            replies = self.backend.respond_many([(turn.messages, turn.tools) for turn in batch])
            for turn, reply in zip(batch, replies, strict=True):
                turn.reply = reply
        except BaseException as error:  # every waiting episode learns of it, not only the one that ran it
            for turn in batch:
                turn.error = error
        finally:
            self._release()

    def _release(self) -> None:
        with self._state:
            self._busy = False
            self._state.notify_all()


class EpisodeBackend:
    """One episode's view of a `GenerationBatcher` (the `Backend` protocol, plus `close`)."""

    source = "self"

    def __init__(self, batcher: GenerationBatcher, sampled: LocalBackend | None):
        self.batcher, self.sampled, self.closed = batcher, sampled, False

    def respond(self, messages: list[dict], tools: list[dict]) -> Reply:
        """The next turn: in a batched round when greedy, alone when sampled."""
        if self.sampled is not None:
            return self.batcher.alone(self.sampled, messages, tools)
        return self.batcher.turn(messages, tools)

    def close(self) -> None:
        """The episode is over; safe to call twice."""
        if not self.closed and self.sampled is None:
            self.batcher.close_episode()
        self.closed = True


def _result(turn: _Turn) -> Reply:
    if turn.error is not None:
        raise turn.error
    return turn.reply
