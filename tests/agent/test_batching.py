"""Batched rounds of greedy turns: who joins a round, who gets which reply, and what an ended episode changes."""

from __future__ import annotations

import threading
import time

import pytest

from apprentice.agent.backends import LocalBackend, Reply
from apprentice.agent.batching import GenerationBatcher
from apprentice.errors import BackendError


class Echo:
    """A stand-in model: each reply names the conversation's last message; every batch is recorded."""

    def __init__(self, fail: bool = False):
        self.batches: list[list[str]] = []
        self.fail = fail

    def respond_many(self, conversations):
        self.batches.append([messages[-1]["content"] for messages, _ in conversations])
        if self.fail:
            raise BackendError("the model ran out of memory")
        time.sleep(0.05)  # a generation takes time: turns that come meanwhile wait for the next round
        return [Reply({"role": "assistant", "content": "re " + messages[-1]["content"]}, None, "", 1, 1)
                for messages, _ in conversations]


def play(backend, name: str, turns: int, pause: float, seen: dict) -> None:
    """One episode on its own thread (opened by the caller, as the harness opens it before its first turn)."""
    try:
        for turn in range(turns):
            reply = backend.respond([{"role": "user", "content": f"{name}.{turn}"}], [])
            seen.setdefault(name, []).append(reply.message["content"])
            time.sleep(pause)  # a tool call
    finally:
        backend.close()


def run_threads(targets) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)


def test_every_open_episode_joins_each_round_and_gets_its_own_reply():
    model, seen = Echo(), {}
    batcher = GenerationBatcher(model, wait_s=10.0)
    names = ["a", "b", "c", "d"]
    # Tool calls of different lengths: a round still waits for every open episode (well within wait_s).
    backends = [batcher.episode() for _ in names]
    run_threads([lambda b=b, n=n, i=i: play(b, n, 3, 0.02 * i, seen) for i, (b, n) in enumerate(zip(backends, names, strict=True))])
    assert batcher.rounds == [4, 4, 4]
    assert seen == {n: [f"re {n}.{t}" for t in range(3)] for n in names}
    assert [sorted(batch) for batch in model.batches] == [[f"{n}.{t}" for n in names] for t in range(3)]
    assert batcher.open_episodes == 0


def test_an_ended_episode_is_not_waited_for():
    model, seen = Echo(), {}
    batcher = GenerationBatcher(model, wait_s=30.0)
    started = time.monotonic()
    short, long = batcher.episode(), batcher.episode()
    run_threads([lambda: play(short, "short", 1, 0.0, seen), lambda: play(long, "long", 3, 0.0, seen)])
    # Had the rounds waited for the closed episode, the long one's last two turns would take 30 s each.
    assert time.monotonic() - started < 10
    assert batcher.rounds == [2, 1, 1] and seen["long"] == ["re long.0", "re long.1", "re long.2"]


def test_a_turn_waits_for_a_busy_episode_no_longer_than_wait_s():
    model, seen = Echo(), {}
    batcher = GenerationBatcher(model, wait_s=0.2)
    quick, slow = batcher.episode(), batcher.episode()
    run_threads([lambda: play(quick, "quick", 2, 0.0, seen), lambda: play(slow, "slow", 2, 3.0, seen)])
    # Round 1 has both; then "quick" goes on alone after 0.2 s rather than waiting out "slow"'s 3 s tool call.
    assert batcher.rounds[0] == 2 and sum(batcher.rounds) == 4 and len(batcher.rounds) == 3
    assert seen == {"quick": ["re quick.0", "re quick.1"], "slow": ["re slow.0", "re slow.1"]}


def test_a_failed_round_raises_in_every_episode_that_was_in_it():
    batcher = GenerationBatcher(Echo(fail=True), wait_s=10.0)
    errors: list[str] = []
    backends = [batcher.episode(), batcher.episode()]

    def one(backend) -> None:
        try:
            backend.respond([{"role": "user", "content": "x"}], [])
        except BackendError as error:
            errors.append(str(error))
        finally:
            backend.close()

    run_threads([lambda: one(backends[0]), lambda: one(backends[1])])
    assert errors == ["the model ran out of memory"] * 2 and batcher.rounds == [2]
    assert batcher.open_episodes == 0


def test_close_twice_counts_once():
    batcher = GenerationBatcher(Echo())
    first, second = batcher.episode(), batcher.episode()
    first.close()
    first.close()
    assert batcher.open_episodes == 1
    second.close()
    assert batcher.open_episodes == 0


def test_batched_greedy_turns_match_turns_generated_alone(tiny_base):
    backend = LocalBackend(tiny_base, max_new_tokens=12)
    conversations = [([{"role": "user", "content": text}], []) for text in
                     ("Fix the bug in stats.py.", "Read the file tinystats/stats.py and run the tests, please.", "Hi")]
    alone = [backend.respond(messages, tools) for messages, tools in conversations]
    together = backend.respond_many(conversations)
    assert [r.completion_text for r in together] == [r.completion_text for r in alone]
    assert [r.prompt_tokens for r in together] == [r.prompt_tokens for r in alone]
    assert len({r.prompt_tokens for r in together}) == 3  # the prompts were padded to one width
    assert [r.completion_tokens for r in together] == [r.completion_tokens for r in alone]


def test_sampled_episodes_generate_alone_and_do_not_hold_up_rounds(tiny_base):
    batcher = GenerationBatcher(LocalBackend(tiny_base, max_new_tokens=6), wait_s=30.0)
    greedy, sampled = batcher.episode(), batcher.episode(temperature=0.8, seed=3)
    assert batcher.open_episodes == 1
    started = time.monotonic()
    greedy.respond([{"role": "user", "content": "hello"}], [])
    first = sampled.respond([{"role": "user", "content": "hello"}], [])
    assert time.monotonic() - started < 20 and batcher.rounds == [1]
    again = GenerationBatcher(LocalBackend(tiny_base, max_new_tokens=6)).episode(temperature=0.8, seed=3)
    assert again.respond([{"role": "user", "content": "hello"}], []).completion_text == first.completion_text
    greedy.close()
    sampled.close()
    assert batcher.open_episodes == 0


@pytest.mark.parametrize("generated, expected", [([5, 7, 2, 0, 0], [5, 7, 2]), ([5, 7, 9], [5, 7, 9]), ([2, 0], [2])])
def test_a_row_ends_at_its_first_stop_token(generated, expected):
    from apprentice.agent.backends import _through_first_stop

    assert _through_first_stop(generated, [2]) == expected
