"""Curating the data flywheel (SPEC §6): keep the good interactions, accumulate rounds with replay.

    apprentice flywheel curate   ->  RUN/flywheel/round-<n>/<target>/sft.jsonl    new data kept this round
                                     RUN/flywheel/round-<n>/<target>/train.jsonl  new + replay: round n's SFT data
                                     RUN/flywheel/round-<n>/report.json           counts per drop reason

An interaction (captured by `flywheel.capture`) is kept only when it is successful (a graded outcome
whose required tests all pass, no tamper flag), well-formed (no reply that failed to parse),
secret-free and novel (its normalised hash is in no earlier round's data and not earlier in this
round; see `flywheel.secrets`). Router interactions carry no outcome, since a chat completion is
never graded: they stay in the log but are dropped as `no_outcome`. Rounds accumulate: a curated
round is never rewritten, each round reads the log from where the previous one stopped, and round n
trains on its new data plus a seeded sample of rounds 1..n-1 making up `replay_share` (10-20%) of
the total, drawn by `data.mix.replay_draw`. Round 1 is the pipeline's own `data/<target>/sft.jsonl`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from apprentice.agent.trajectory import Trajectory, read_trajectories
from apprentice.artifacts import RunDir, atomic_directory, atomic_write_json
from apprentice.data.mix import REPLAY_RANGE, replay_draw, round_rng
from apprentice.data.records import write_lines
from apprentice.errors import FlywheelError, TrajectoryFormatError
from apprentice.flywheel.capture import Interaction, interactions_path, read_interactions
from apprentice.flywheel.secrets import conversation_hash, message_texts, secret_kinds

DROP_REASONS = ("unreadable", "malformed", "no_outcome", "failed", "format_errors", "secret", "duplicate")
SFT_FILE, TRAIN_FILE, REPORT_FILE = "sft.jsonl", "train.jsonl", "report.json"


@dataclass(frozen=True)
class CurationReport:
    """What one round's curation read, kept (per target) and dropped (per reason), and each target's mix."""

    round: int
    interactions: str
    start: int  # byte offset in the log where this round began reading
    end: int  # where it stopped: the next round starts here
    read: int
    kept: dict[str, int]
    dropped: dict[str, int]
    secret_kinds: dict[str, int]
    replay_share: float
    mixes: dict[str, dict]  # target -> {"new", "replay", "replay_share", "problem"}

    def to_dict(self) -> dict:
        """The report as JSON-ready data (what report.json holds)."""
        return asdict(self)

    def text(self) -> str:
        """Lines: kept per target with its replay, then drops per reason."""
        lines = [f"round {self.round}: {sum(self.kept.values())} kept of {self.read} interactions read "
                 f"(+{self.dropped.get('unreadable', 0)} unreadable lines)"]
        for target, mix in sorted(self.mixes.items()):
            lines.append(f"  {target}: {mix['new']} new + {mix['replay']} replayed "
                         f"({mix['replay_share']:.1%} replay, asked {self.replay_share:.0%})"
                         + (f"; {mix['problem']}" if mix["problem"] else ""))
        drops = ", ".join(f"{reason} {count}" for reason, count in self.dropped.items() if count) or "none"
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.secret_kinds.items()))
        return "\n".join([*lines, f"  dropped: {drops}" + (f" (secrets: {kinds})" if kinds else "")])


def curate(interactions: Path, out_dir: Path, round: int, replay_share: float = 0.15,
           seen: set[str] | None = None) -> CurationReport:
    """Curate round `round` (2 or later) from the log into `out_dir` (a run's flywheel/ directory).

    `seen` holds the normalised hashes to treat as already trained on; None reads them from the
    run's earlier rounds (`data/*/sft.jsonl` and earlier `flywheel/round-<k>/*/sft.jsonl`).
    Raises FlywheelError for a replay share outside 10-20%, a round already curated or out of
    order, a missing log, or a round in which nothing was kept.
    """
    check_replay_share(replay_share)
    run, number, interactions = _run_of(out_dir), round, Path(interactions)
    round_dir = _new_round_dir(run, number)
    batch = read_interactions(interactions, _consumed(run, interactions, number))
    seen = set(seen) if seen is not None else earlier_hashes(run.root, number)
    kept, dropped, kinds = _select(batch.interactions, seen)
    dropped["unreadable"] = batch.unreadable
    if not kept:
        shown = ", ".join(f"{reason} {count}" for reason, count in dropped.items() if count) or "the log is empty"
        raise FlywheelError(f"round {number}: nothing kept from {len(batch.interactions)} new interactions in "
                            f"{interactions} ({shown}); capture graded episodes (apprentice agent run) and curate again")
    with atomic_directory(round_dir) as staging:
        for target, trajectories in kept.items():
            write_lines(staging / target / SFT_FILE, (t.to_json() for t in trajectories))
        mixes = {target: _write_mix(run, staging, target, number, replay_share) for target in kept}
        report = CurationReport(number, str(interactions.resolve()), batch.start, batch.end,
                                len(batch.interactions), {t: len(v) for t, v in kept.items()},
                                {reason: dropped[reason] for reason in DROP_REASONS}, dict(kinds), replay_share, mixes)
        atomic_write_json(staging / REPORT_FILE, report.to_dict())
    return report


def curate_run(run_dir: Path, round: int | None = None, replay_share: float = 0.15) -> CurationReport:
    """Curate the run's own log into its next round (or round `round`)."""
    run = RunDir(run_dir)
    return curate(interactions_path(run_dir), run.flywheel_dir, next_round(run) if round is None else round,
                  replay_share)


def next_round_data(run_dir: Path, target: str, round: int) -> Path:
    """The SFT data of round `round` for `target`: its new trajectories plus the replay sample.

    Built at curation; rebuilt the same way (seeded) if its file was removed.
    """
    run = RunDir(run_dir)
    round_dir = run.flywheel_round_dir(round)
    if not (round_dir / REPORT_FILE).is_file():
        raise FlywheelError(f"round {round} of {run_dir} is not curated (no {round_dir / REPORT_FILE}); "
                            f"run: apprentice flywheel curate --run {run_dir} --round {round}")
    report = _report(run, round)
    train = round_dir / target / TRAIN_FILE
    if train.is_file():
        return train
    if target not in report["kept"]:
        raise FlywheelError(f"round {round} kept no {target} interactions (kept: {report['kept']}); "
                            f"capture graded {target} episodes before training {target} in round {round}")
    mix = _write_mix(run, round_dir, target, round, report["replay_share"])
    if not train.is_file():
        raise FlywheelError(f"round {round} of {target} has no training data: {mix['problem']}")
    return train


def round_sft_data(run_dir: Path, target: str, round: int) -> Path | None:
    """The SFT data a pipeline round trains `target` on: None for round 1 (the pipeline's own data)."""
    if round < 1:
        raise FlywheelError(f"round {round} does not exist; rounds are numbered from 1")
    return None if round == 1 else next_round_data(run_dir, target, round)


def check_replay_share(share: float) -> None:
    """FlywheelError unless `share` is within SPEC §6's replay range (10-20%)."""
    low, high = REPLAY_RANGE
    if not low <= share <= high:
        raise FlywheelError(f"replay share {share} is outside SPEC §6's {low:.0%}-{high:.0%}; "
                            "pass e.g. --replay-share 0.15")


def is_successful(outcome: dict) -> bool:
    """A complete, trusted test report in which every required test passed, with no tamper flag."""
    return bool(outcome.get("tests_complete") and outcome.get("tests") and not outcome.get("tests_failed")
                and not outcome.get("tamper_flags"))


def next_round(run: RunDir) -> int:
    """The first round not yet curated in `run` (2 when none is)."""
    return max(curated_rounds(run), default=1) + 1


def curated_rounds(run: RunDir) -> list[int]:
    """Round numbers curated in `run` (those with a report.json), ascending."""
    found = [path.parent.name.removeprefix("round-") for path in run.flywheel_dir.glob(f"round-*/{REPORT_FILE}")]
    return sorted(int(name) for name in found if name.isdigit())


def earlier_data(run_dir: Path, target: str, round: int) -> list[Path]:
    """`target`'s data of rounds 1..round-1 that exists: the pipeline's sft.jsonl, then each curated round's."""
    run = RunDir(run_dir)
    files = [run.data_dir(target) / SFT_FILE]
    files += [run.flywheel_round_dir(k) / target / SFT_FILE for k in range(2, round)]
    return [path for path in files if path.is_file()]


def earlier_hashes(run_dir: Path, round: int) -> set[str]:
    """Normalised hashes of every trajectory in rounds 1..round-1, every target."""
    run = RunDir(run_dir)
    files = list(run.data_root.glob(f"*/{SFT_FILE}"))
    files += [path for k in range(2, round) for path in run.flywheel_round_dir(k).glob(f"*/{SFT_FILE}")]
    return {conversation_hash(t.messages) for path in files for t in read_trajectories(path)}


def _run_of(out_dir: Path) -> RunDir:
    """The run whose flywheel/ directory `out_dir` is: earlier rounds and round 1's data are read from it."""
    run = RunDir(Path(out_dir).parent)
    if Path(out_dir) != run.flywheel_dir:
        raise FlywheelError(f"{out_dir} is not a run's flywheel directory; curate into {run.flywheel_dir} "
                            "(or use curate_run(RUN))")
    return run


def _report(run: RunDir, round: int) -> dict:
    return json.loads((run.flywheel_round_dir(round) / REPORT_FILE).read_text(encoding="utf-8"))


def _new_round_dir(run: RunDir, number: int) -> Path:
    if number < 2:
        raise FlywheelError(f"round {number} cannot be curated: round 1 is the pipeline's own data "
                            "(data/<target>/sft.jsonl); curate round 2 or later")
    round_dir = run.flywheel_round_dir(number)
    if round_dir.exists():
        raise FlywheelError(f"{round_dir} exists: a curated round is never rewritten; curate round {next_round(run)}")
    if number > 2 and number - 1 not in curated_rounds(run):
        raise FlywheelError(f"round {number - 1} is not curated yet; rounds go without gaps: curate round "
                            f"{next_round(run)} first")
    return round_dir


def _consumed(run: RunDir, interactions: Path, number: int) -> int:
    """Where earlier rounds stopped reading this log (0 when none read it)."""
    ends = [0]
    for k in curated_rounds(run):
        report = _report(run, k)
        if k < number and report["interactions"] == str(interactions.resolve()):
            ends.append(report["end"])
    return max(ends)


def _select(interactions, seen: set[str]) -> tuple[dict[str, list[Trajectory]], Counter, Counter]:
    """(kept trajectories per target, drops per reason, secret kinds found); `seen` grows with each kept one."""
    kept: dict[str, list[Trajectory]] = {}
    dropped, kinds = Counter({reason: 0 for reason in DROP_REASONS}), Counter()
    for interaction in interactions:
        reason, trajectory = _verdict(interaction, seen, kinds)
        if reason is None:
            kept.setdefault(interaction.target, []).append(trajectory)
        else:
            dropped[reason] += 1
    return kept, dropped, kinds


def _verdict(interaction: Interaction, seen: set[str], kinds: Counter) -> tuple[str | None, Trajectory | None]:
    """(why `interaction` is dropped or None, its trajectory when kept); the checks run in DROP_REASONS order."""
    try:
        trajectory = interaction.to_trajectory()
    except TrajectoryFormatError:
        return "malformed", None
    if interaction.outcome is None:
        return "no_outcome", None
    if not is_successful(interaction.outcome):
        return "failed", None
    if interaction.format_errors:
        return "format_errors", None  # a reply that did not parse would teach the broken format
    found = secret_kinds("\n".join(message_texts(interaction.messages)))
    if found:
        kinds.update(found)
        return "secret", None
    key = conversation_hash(interaction.messages)
    if key in seen:
        return "duplicate", None
    seen.add(key)
    return None, trajectory


def _write_mix(run: RunDir, round_dir: Path, target: str, number: int, share: float) -> dict:
    """Write round_dir/<target>/train.jsonl: the new data plus a seeded replay sample; returns its counts.

    A target with no earlier data (never trained in round 1) gets no train.jsonl, only the problem:
    SPEC §6 wants replay in every round, and its new data stays curated for when round 1 exists.
    """
    new = read_trajectories(round_dir / target / SFT_FILE)
    earlier = [t for path in earlier_data(run.root, target, number) for t in read_trajectories(path)]
    if not earlier:
        return {"new": len(new), "replay": 0, "replay_share": 0.0,
                "problem": f"no earlier {target} data to replay (no {run.data_dir(target) / SFT_FILE}); "
                           f"train {target} in round 1 first"}
    replay, wanted = replay_draw(earlier, new, share, round_rng(target, number))
    write_lines(round_dir / target / TRAIN_FILE, (t.to_json() for t in new + replay))
    problem = f"only {len(earlier)} earlier trajectories for the {wanted} replay wanted" if len(replay) < wanted else ""
    return {"new": len(new), "replay": len(replay), "replay_share": round(len(replay) / (len(new) + len(replay)), 4),
            "problem": problem}


def stats_summary(run_dir: Path) -> dict:
    """The log (interactions captured, unreadable lines, how many wait for the next round; None when nothing was
    captured) and each curated round's report."""
    run, log = RunDir(run_dir), interactions_path(run_dir)
    captured = None
    if log.is_file():
        total = read_interactions(log)
        pending = read_interactions(log, _consumed(run, log, next_round(run)))
        captured = {"interactions": len(total.interactions), "unreadable": total.unreadable,
                    "pending": len(pending.interactions)}
    return {"log": str(log), "captured": captured, "rounds": [_report(run, k) for k in curated_rounds(run)]}


def stats_text(run_dir: Path) -> str:
    """Lines: the log (interactions captured, how many wait for the next round), then each curated round."""
    summary = stats_summary(run_dir)
    captured = summary["captured"]
    if captured is None:
        lines = [f"{summary['log']}: nothing captured yet"]
    else:
        lines = [f"{summary['log']}: {captured['interactions']} interactions ({captured['unreadable']} unreadable lines), "
                 f"{captured['pending']} not yet curated"]
    lines += [CurationReport(**report).text() for report in summary["rounds"]]
    return "\n".join(lines if summary["rounds"] else [*lines, "no round curated yet: apprentice flywheel curate --run RUN"])
