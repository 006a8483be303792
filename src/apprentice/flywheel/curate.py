"""The data flywheel (SPEC §6): capture interactions, curate the good ones, accumulate rounds with replay.

    serve --run RUN / agent run  ->  RUN/flywheel/interactions.jsonl        one JSON line per interaction
    apprentice flywheel curate   ->  RUN/flywheel/round-<n>/<target>/sft.jsonl    new data kept this round
                                     RUN/flywheel/round-<n>/<target>/train.jsonl  new + replay: round n's SFT data
                                     RUN/flywheel/round-<n>/report.json           counts per drop reason

An interaction is kept only when it is successful (a graded outcome whose required tests all pass,
no tamper flag), well-formed (no reply that failed to parse), secret-free and novel (its normalised
hash is in no earlier round's data and not earlier in this round; see `flywheel_secrets`). Router
interactions carry no outcome, since a chat completion is never graded: they stay in the log but are
dropped as `no_outcome`. Rounds accumulate: a curated round is never rewritten, each round reads the
log from where the previous one stopped, and round n trains on its new data plus a seeded sample of
rounds 1..n-1 making up `replay_share` (10-20%) of the total. Round 1 is the pipeline's own
`data/<target>/sft.jsonl`.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from apprentice.agent.trajectory import Trajectory
from apprentice.artifacts import atomic_directory, atomic_write_json, ensure_writable
from apprentice.data.records import read_trajectories, write_lines
from apprentice.data.mix import REPLAY_RANGE
from apprentice.errors import FlywheelError, TrajectoryFormatError
from apprentice.flywheel.secrets import conversation_hash, message_texts, secret_kinds

FLYWHEEL_DIR = "flywheel"
INTERACTIONS_FILE = "interactions.jsonl"
CAPTURE_SOURCES = ("router", "agent")
DROP_REASONS = ("unreadable", "malformed", "no_outcome", "failed", "format_errors", "secret", "duplicate")


def interactions_path(run_dir: Path) -> Path:
    """Where a run's interactions are captured: RUN/flywheel/interactions.jsonl."""
    return Path(run_dir) / FLYWHEEL_DIR / INTERACTIONS_FILE


@dataclass(frozen=True)
class Interaction:
    """One captured interaction: who answered, the whole conversation (reply included), its outcome if graded."""

    id: str
    time: str  # ISO 8601, UTC
    source: str  # "router" | "agent"
    target: str  # the adapter target that answered (a language or a pipeline role)
    adapter: str  # the version that answered (python-v3), or the adapter/model directory of an agent run
    messages: tuple[dict, ...]  # apprentice's message shape, the reply (tool calls included) last
    tools: tuple[dict, ...]
    outcome: dict | None  # the graded Outcome of an agent episode; None for a chat completion
    latency_s: float
    task_id: str = ""
    tokens: int = 0  # completion tokens
    format_errors: int = 0  # replies that did not parse

    def to_json(self) -> str:
        """One JSON line (no newline) that `Interaction.from_json` reads back to an equal record."""
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> Interaction:
        """Parse one line; FlywheelError for anything but an interaction object with known fields."""
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise FlywheelError(f"interaction line is not JSON ({error.msg}): {line[:80]!r}") from error
        names = {field.name for field in fields(cls)}
        if not isinstance(raw, dict) or not set(raw) <= names or not {"id", "source", "messages"} <= set(raw):
            raise FlywheelError(f"interaction line is not an interaction record: {line[:80]!r}")
        if raw["source"] not in CAPTURE_SOURCES or not isinstance(raw["messages"], list):
            raise FlywheelError(f"interaction {raw['id']!r}: bad source {raw['source']!r} or messages")
        return cls(**{**raw, "messages": tuple(raw["messages"]), "tools": tuple(raw.get("tools") or ())})

    def to_trajectory(self) -> Trajectory:
        """The interaction as SFT data (source "self": the model's own episode); TrajectoryFormatError if malformed."""
        calls = sum(len(message.get("tool_calls") or ()) for message in self.messages if isinstance(message, dict))
        turns = sum(1 for message in self.messages if isinstance(message, dict) and message.get("role") == "assistant")
        return Trajectory(task_id=self.task_id or f"flywheel-{self.id}", messages=self.messages, tools=self.tools,
                          source="self", outcome=self.outcome, format_errors=self.format_errors, tool_calls=calls,
                          turns=turns, tokens=self.tokens, seconds=self.latency_s)


def router_interaction(messages: list[dict], tools: list[dict], reply, adapter: str, latency_s: float) -> Interaction:
    """A chat completion as an interaction: the request's messages, then `reply` (an agent.backends.Reply)."""
    answer = {**reply.message, "content": reply.message.get("content") or ""}
    # Versions are f"{target}-v{n}" (registry contract), so the target needs no registry read here.
    return Interaction(uuid.uuid4().hex, _now(), "router", adapter.rsplit("-v", 1)[0], adapter,
                       (*messages, answer), tuple(tools), None, round(latency_s, 4),
                       tokens=reply.completion_tokens, format_errors=int(reply.format_error is not None))


def agent_interaction(trajectory: Trajectory, target: str, adapter: str) -> Interaction:
    """An agent episode as an interaction, its graded outcome included."""
    return Interaction(uuid.uuid4().hex, _now(), "agent", target, adapter, trajectory.messages, trajectory.tools,
                       trajectory.outcome, trajectory.seconds, task_id=trajectory.task_id, tokens=trajectory.tokens,
                       format_errors=trajectory.format_errors)


class InteractionLog:
    """An append-only JSONL file of interactions, one whole line per append, safe across threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        ensure_writable(self.path.parent)
        self._lock = threading.Lock()

    def append(self, interaction: Interaction) -> None:
        """Append `interaction` as one line, flushed to disk (fsync) before returning."""
        line = (interaction.to_json() + "\n").encode("utf-8")
        with self._lock:
            # 0o600: captured conversations hold users' code; O_APPEND keeps each write at the end.
            handle = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                size = os.fstat(handle).st_size
                if size and os.pread(handle, 1, size - 1) != b"\n":
                    line = b"\n" + line  # a crash tore the last line: keep ours whole on a line of its own
                written = 0
                while written < len(line):
                    written += os.write(handle, line[written:])
                os.fsync(handle)
            finally:
                os.close(handle)


@dataclass(frozen=True)
class InteractionBatch:
    """The complete lines of a log from one offset: the records that parsed, and how many did not."""

    interactions: tuple[Interaction, ...]
    unreadable: int
    start: int
    end: int  # just past the last complete line


def read_interactions(path: Path, start: int = 0) -> InteractionBatch:
    """The interactions of `path` from byte `start`; unreadable (torn) lines are counted and skipped."""
    if not path.is_file():
        raise FlywheelError(f"no interactions captured at {path}; serve with `apprentice serve --run RUN` or play "
                            "episodes with `apprentice agent run ... --capture-dir DIR`")
    with path.open("rb") as stream:
        size = stream.seek(0, os.SEEK_END)
        if size < start:
            raise FlywheelError(f"{path} holds {size} bytes but an earlier round read up to byte {start}; "
                                "the log was truncated or replaced: restore it, or capture to a new log")
        stream.seek(start)
        data = stream.read()
    complete = data[: data.rfind(b"\n") + 1]  # a line still being written is left for the next round
    good, unreadable = [], 0
    for raw in complete.splitlines():
        if not raw.strip():
            continue
        try:
            good.append(Interaction.from_json(raw.decode("utf-8")))
        except (UnicodeDecodeError, FlywheelError):
            unreadable += 1
    return InteractionBatch(tuple(good), unreadable, start, start + len(complete))


def run_dir_of(path: Path | None) -> Path | None:
    """The run directory holding `path` (the nearest folder with a run.yaml), or None."""
    if path is None:
        return None
    for folder in (Path(path).resolve(), *Path(path).resolve().parents):
        if (folder / "run.yaml").is_file():
            return folder
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
    run's earlier rounds (`out_dir.parent/data/*/sft.jsonl` and earlier `round-<k>/*/sft.jsonl`).
    Raises FlywheelError for a replay share outside 10-20%, a round already curated or out of
    order, a missing log, or a round in which nothing was kept.
    """
    check_replay_share(replay_share)
    out_dir, number = Path(out_dir), round
    round_dir = _new_round_dir(out_dir, number)
    batch = read_interactions(Path(interactions), _consumed(out_dir, Path(interactions), number))
    seen = set(seen) if seen is not None else earlier_hashes(out_dir.parent, number)
    kept, dropped, kinds = _select(batch.interactions, seen)
    dropped["unreadable"] = batch.unreadable
    if not kept:
        shown = ", ".join(f"{reason} {count}" for reason, count in dropped.items() if count) or "the log is empty"
        raise FlywheelError(f"round {number}: nothing kept from {len(batch.interactions)} new interactions in "
                            f"{interactions} ({shown}); capture graded episodes (apprentice agent run) and curate again")
    with atomic_directory(round_dir) as staging:
        for target, trajectories in kept.items():
            write_lines(staging / target / "sft.jsonl", (t.to_json() for t in trajectories))
        mixes = {target: _write_mix(out_dir.parent, staging, target, number, replay_share) for target in kept}
        report = CurationReport(number, str(Path(interactions).resolve()), batch.start, batch.end,
                                len(batch.interactions), {t: len(v) for t, v in kept.items()},
                                {reason: dropped[reason] for reason in DROP_REASONS}, dict(kinds), replay_share, mixes)
        atomic_write_json(staging / "report.json", report.to_dict())
    return report


def curate_run(run_dir: Path, round: int | None = None, replay_share: float = 0.15) -> CurationReport:
    """Curate the run's own log into its next round (or round `round`)."""
    out_dir = Path(run_dir) / FLYWHEEL_DIR
    return curate(interactions_path(run_dir), out_dir, next_round(out_dir) if round is None else round, replay_share)


def next_round_data(run_dir: Path, target: str, round: int) -> Path:
    """The SFT data of round `round` for `target`: its new trajectories plus the replay sample.

    Built at curation; rebuilt the same way (seeded) if its file was removed.
    """
    round_dir = Path(run_dir) / FLYWHEEL_DIR / f"round-{round}"
    report_file = round_dir / "report.json"
    if not report_file.is_file():
        raise FlywheelError(f"round {round} of {run_dir} is not curated (no {report_file}); "
                            f"run: apprentice flywheel curate --run {run_dir} --round {round}")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    train = round_dir / target / "train.jsonl"
    if train.is_file():
        return train
    if target not in report["kept"]:
        raise FlywheelError(f"round {round} kept no {target} interactions (kept: {report['kept']}); "
                            f"capture graded {target} episodes before training {target} in round {round}")
    mix = _write_mix(Path(run_dir), round_dir, target, round, report["replay_share"])
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


def next_round(out_dir: Path) -> int:
    """The first round not yet curated under `out_dir` (2 when none is)."""
    return max(curated_rounds(out_dir), default=1) + 1


def curated_rounds(out_dir: Path) -> list[int]:
    """Round numbers curated under `out_dir` (those with a report.json), ascending."""
    found = [path.parent.name.removeprefix("round-") for path in Path(out_dir).glob("round-*/report.json")]
    return sorted(int(name) for name in found if name.isdigit())


def earlier_data(run_dir: Path, target: str, round: int) -> list[Path]:
    """`target`'s data of rounds 1..round-1 that exists: the pipeline's sft.jsonl, then each curated round's."""
    files = [Path(run_dir) / "data" / target / "sft.jsonl"]
    files += [Path(run_dir) / FLYWHEEL_DIR / f"round-{k}" / target / "sft.jsonl" for k in range(2, round)]
    return [path for path in files if path.is_file()]


def earlier_hashes(run_dir: Path, round: int) -> set[str]:
    """Normalised hashes of every trajectory in rounds 1..round-1, every target."""
    files = list((Path(run_dir) / "data").glob("*/sft.jsonl"))
    files += [path for k in range(2, round) for path in (Path(run_dir) / FLYWHEEL_DIR / f"round-{k}").glob("*/sft.jsonl")]
    return {conversation_hash(t.messages) for path in files for t in read_trajectories(path)}


def _new_round_dir(out_dir: Path, number: int) -> Path:
    if number < 2:
        raise FlywheelError(f"round {number} cannot be curated: round 1 is the pipeline's own data "
                            "(data/<target>/sft.jsonl); curate round 2 or later")
    round_dir = out_dir / f"round-{number}"
    if round_dir.exists():
        raise FlywheelError(f"{round_dir} exists: a curated round is never rewritten; curate round {next_round(out_dir)}")
    if number > 2 and number - 1 not in curated_rounds(out_dir):
        raise FlywheelError(f"round {number - 1} is not curated yet; rounds go without gaps: curate round "
                            f"{next_round(out_dir)} first")
    return round_dir


def _consumed(out_dir: Path, interactions: Path, number: int) -> int:
    """Where earlier rounds stopped reading this log (0 when none read it)."""
    ends = [0]
    for k in curated_rounds(out_dir):
        report = json.loads((out_dir / f"round-{k}" / "report.json").read_text(encoding="utf-8"))
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


def _write_mix(run_dir: Path, round_dir: Path, target: str, number: int, share: float) -> dict:
    """Write round_dir/<target>/train.jsonl: the new data plus a seeded replay sample; returns its counts.

    A target with no earlier data (never trained in round 1) gets no train.jsonl, only the problem:
    SPEC §6 wants replay in every round, and its new data stays curated for when round 1 exists.
    """
    new = read_trajectories(round_dir / target / "sft.jsonl")
    earlier = [t for path in earlier_data(run_dir, target, number) for t in read_trajectories(path)]
    if not earlier:
        return {"new": len(new), "replay": 0, "replay_share": 0.0,
                "problem": f"no earlier {target} data to replay (no {run_dir / 'data' / target / 'sft.jsonl'}); "
                           f"train {target} in round 1 first"}
    # replay / (new + replay) = share, rounded to the nearest whole trajectory.
    wanted = int(share * len(new) / (1 - share) + 0.5)
    replay = random.Random(f"{target}:{number}").sample(earlier, min(wanted, len(earlier)))
    write_lines(round_dir / target / "train.jsonl", (t.to_json() for t in new + replay))
    problem = f"only {len(earlier)} earlier trajectories for the {wanted} replay wanted" if len(replay) < wanted else ""
    return {"new": len(new), "replay": len(replay), "replay_share": round(len(replay) / (len(new) + len(replay)), 4),
            "problem": problem}


def stats_text(run_dir: Path) -> str:
    """Lines: the log (interactions captured, how many wait for the next round), then each curated round."""
    out_dir, log = Path(run_dir) / FLYWHEEL_DIR, interactions_path(run_dir)
    rounds = curated_rounds(out_dir)
    reports = [json.loads((out_dir / f"round-{k}" / "report.json").read_text(encoding="utf-8")) for k in rounds]
    if not log.is_file():
        lines = [f"{log}: nothing captured yet"]
    else:
        total = read_interactions(log)
        pending = read_interactions(log, _consumed(out_dir, log, next_round(out_dir)))
        lines = [f"{log}: {len(total.interactions)} interactions ({total.unreadable} unreadable lines), "
                 f"{len(pending.interactions)} not yet curated"]
    lines += [CurationReport(**report).text() for report in reports]
    return "\n".join(lines if rounds else [*lines, "no round curated yet: apprentice flywheel curate --run RUN"])
