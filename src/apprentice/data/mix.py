"""The data mix of SPEC §6: gold / generated / template shares, accumulated rounds, and replay.

- Shares: 10-20% gold, 40-50% self-generated, 30-40% template. "Generated" holds the model's own
  rejection-sampled episodes ("self") and a teacher's ("teacher"): both are sampled, then kept
  only when green. The round's new data is cut to the target shares, limited by the scarcest
  bucket; a bucket with nothing in it is reported (with what it would take), never faked.
- Accumulate, never replace: each round is its own file `round-<N>.jsonl`, written once.
- Replay: every round after the first adds 10-20% (default 15%) drawn from earlier rounds.
  `replay_draw` is the one implementation (the flywheel's rounds call it too): the count is
  rounded half up, and the draw is seeded by (seed, round) through `round_rng`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from apprentice.agent.trajectory import Trajectory, read_trajectories
from apprentice.data.quality import conversation_key
from apprentice.data.records import write_lines
from apprentice.errors import DataError

BUCKET_OF_SOURCE = {"gold": "gold", "self": "generated", "teacher": "generated", "template": "template"}
SHARE_RANGES = {"gold": (0.10, 0.20), "generated": (0.40, 0.50), "template": (0.30, 0.40)}
TARGET_SHARES = {"gold": 0.15, "generated": 0.45, "template": 0.40}  # mid-range; sums to 1
REPLAY_RANGE = (0.10, 0.20)


@dataclass(frozen=True)
class MixReport:
    """What a round's mix holds: counts per bucket, shares against SPEC ranges, and the gaps."""

    round: int
    available: dict[str, int]
    counts: dict[str, int]
    replayed: int
    problems: tuple[str, ...] = ()
    shares: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Trajectories in the mix, replay included."""
        return sum(self.counts.values()) + self.replayed

    def text(self) -> str:
        """Lines: each bucket's count and share against its SPEC range, the replay, the problems."""
        lines = [f"round {self.round}: {self.total} trajectories"]
        for bucket, (low, high) in SHARE_RANGES.items():
            lines.append(f"  {bucket}: {self.counts[bucket]} of {self.available[bucket]} "
                         f"({self.shares[bucket]:.0%} of new data; SPEC {low:.0%}-{high:.0%})")
        lines.append(f"  replay: {self.replayed} ({self.shares['replay']:.0%} of the mix)")
        return "\n".join([*lines, *(f"  ! {problem}" for problem in self.problems)])


def round_path(rounds_dir: Path, number: int) -> Path:
    """Where round `number`'s data lives."""
    return rounds_dir / f"round-{number}.jsonl"


def accumulate(rounds_dir: Path, trajectories: Sequence[Trajectory]) -> int:
    """Store `trajectories` as the next round (never overwriting one); returns the round number."""
    number = len(existing_rounds(rounds_dir)) + 1
    path = round_path(rounds_dir, number)
    if path.exists():
        raise DataError(f"{path} already exists; rounds are numbered 1..N without gaps, do not edit them by hand")
    write_lines(path, (trajectory.to_json() for trajectory in trajectories))
    return number


def existing_rounds(rounds_dir: Path) -> list[int]:
    """Round numbers stored in `rounds_dir`, ascending."""
    if not rounds_dir.is_dir():
        return []
    return sorted(int(path.stem.split("-", 1)[1]) for path in rounds_dir.glob("round-*.jsonl"))


def mix_round(rounds_dir: Path, number: int, *, replay_share: float = 0.15,
              seed: int = 0) -> tuple[list[Trajectory], MixReport]:
    """Round `number`'s training set: its own data cut to the SPEC shares, plus replay of earlier rounds."""
    if not REPLAY_RANGE[0] <= replay_share <= REPLAY_RANGE[1]:
        raise DataError(f"replay share {replay_share} is outside SPEC §6's {REPLAY_RANGE}; pick e.g. 0.15")
    rng = round_rng(seed, number)
    new = read_trajectories(round_path(rounds_dir, number))
    chosen, counts, available, problems = _cut_to_shares(new, rng)
    earlier = [t for r in existing_rounds(rounds_dir) if r < number for t in read_trajectories(round_path(rounds_dir, r))]
    replay, _ = replay_draw(earlier, chosen, replay_share, rng)
    if number > 1 and not earlier:
        problems.append("no earlier round to replay from")
    shares = {bucket: counts[bucket] / max(1, len(chosen)) for bucket in SHARE_RANGES}
    shares["replay"] = len(replay) / max(1, len(chosen) + len(replay))
    problems += _share_problems(shares, counts, len(chosen))
    report = MixReport(number, available, counts, len(replay), tuple(problems), shares)
    return chosen + replay, report


def _cut_to_shares(new: list[Trajectory], rng: random.Random) -> tuple[list[Trajectory], dict, dict, list[str]]:
    buckets: dict[str, list[Trajectory]] = {bucket: [] for bucket in SHARE_RANGES}
    for trajectory in new:
        buckets[BUCKET_OF_SOURCE[trajectory.source]].append(trajectory)
    available = {bucket: len(items) for bucket, items in buckets.items()}
    present = [bucket for bucket in SHARE_RANGES if available[bucket]]
    if not present:
        raise DataError("the round holds no trajectories; build some with `apprentice data trajectories`")
    # The largest total whose target shares every present bucket can fill.
    total = min(available[bucket] / TARGET_SHARES[bucket] for bucket in present)
    counts = {bucket: min(available[bucket], math.floor(total * TARGET_SHARES[bucket] + 1e-9))
              if available[bucket] else 0 for bucket in SHARE_RANGES}
    chosen = [t for bucket in SHARE_RANGES for t in rng.sample(buckets[bucket], counts[bucket])]
    problems = [_missing_bucket(bucket, counts) for bucket in SHARE_RANGES if not available[bucket]]
    return chosen, counts, available, problems


def _missing_bucket(bucket: str, counts: dict[str, int]) -> str:
    others = sum(counts.values())
    low = SHARE_RANGES[bucket][0]
    needed = math.ceil(low * others / (1 - low))
    return f"{bucket}: none available; {needed} {bucket} trajectories would bring it to {low:.0%} of this round"


def round_rng(seed: int | str, number: int) -> random.Random:
    """The generator of round `number`'s draws: the same seed and round always draw the same sample."""
    return random.Random(f"{seed}:{number}")


def replay_count(share: float, new: int) -> int:
    """How many earlier trajectories make replay / (new + replay) = `share`, rounded half up."""
    return math.floor(share * new / (1 - share) + 0.5)


def replay_draw(earlier: Sequence[Trajectory], new: Sequence[Trajectory], share: float,
                rng: random.Random) -> tuple[list[Trajectory], int]:
    """(the replay sample, how many were wanted): earlier trajectories not repeating a new one."""
    fresh = {conversation_key(t) for t in new}
    candidates = [t for t in earlier if conversation_key(t) not in fresh]
    wanted = replay_count(share, len(new))
    return rng.sample(candidates, min(wanted, len(candidates))), wanted


def _share_problems(shares: dict[str, float], counts: dict[str, int], total: int) -> list[str]:
    problems = []
    for bucket, (low, high) in SHARE_RANGES.items():
        if counts[bucket] and not low - 1e-9 <= shares[bucket] <= high + 1e-9:
            problems.append(f"{bucket} share {shares[bucket]:.0%} is outside SPEC {low:.0%}-{high:.0%} "
                            f"(a missing bucket shifts the others)")
    if total and shares["replay"] and not REPLAY_RANGE[0] <= shares["replay"] <= REPLAY_RANGE[1]:
        problems.append(f"replay share {shares['replay']:.0%} is outside {REPLAY_RANGE[0]:.0%}-{REPLAY_RANGE[1]:.0%}"
                        " (too little earlier data)")
    return problems
