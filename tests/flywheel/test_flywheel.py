"""The data flywheel: capture from the router and from `agent run`, curation per drop reason, rounds with replay."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from apprentice.agent.backends import Reply
from apprentice.agent.trajectory import Trajectory
from apprentice.cli.agent import agent_run_from_cli
from apprentice.cli.flywheel import flywheel_app
from apprentice.errors import FlywheelError
from apprentice.flywheel.capture import (
    Interaction,
    InteractionLog,
    capture_file,
    interactions_path,
    read_interactions,
)
from apprentice.flywheel.curate import curate, next_round_data, round_sft_data, stats_text
from apprentice.flywheel.secrets import conversation_hash

TASK_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "python" / "task.json"
PASSED = {"tests_complete": True, "tests": [{"id": "t::a", "status": "passed"}], "tests_failed": [], "tamper_flags": []}
FAILED = {**PASSED, "tests": [{"id": "t::a", "status": "failed"}], "tests_failed": ["t::a"]}


def call(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}


def episode(key: str, outcome: dict | None = PASSED, *, target: str = "python", system: str = "You are a coder.",
            tool_output: str = "tests: 5/5 passed in 0.31s (/tmp/ep-1/repo)", answer: str = "Fixed.",
            format_errors: int = 0, source: str = "agent") -> Interaction:
    """A captured episode about bug `key`; its texts vary with the keyword arguments."""
    messages = ({"role": "system", "content": system}, {"role": "user", "content": f"Fix bug {key} in stats.py"},
                call("run_tests", {}), {"role": "tool", "name": "run_tests", "content": tool_output},
                {"role": "assistant", "content": answer})
    return Interaction(f"id-{key}-{system}-{answer}", "2025-01-01T00:00:00Z", source, target, f"{target}-v1", messages,
                       (), outcome, 0.5, task_id=f"task-{key}", tokens=7, format_errors=format_errors)


def write_log(path: Path, interactions) -> Path:
    log = InteractionLog(path)
    for interaction in interactions:
        log.append(interaction)
    return path


def round_one(run_dir: Path, target: str = "python", count: int = 40) -> Path:
    """The pipeline's round-1 SFT data: `count` trajectories (distinct conversations)."""
    path = run_dir / "data" / target / "sft.jsonl"
    path.parent.mkdir(parents=True)
    lines = [episode(f"r1-{target}-{i}").to_trajectory().to_json() for i in range(count)]
    path.write_text("".join(line + "\n" for line in lines))
    return path


# --- capture -----------------------------------------------------------------------------------------------


def test_log_appends_whole_lines_from_many_threads_privately(tmp_path):
    log = InteractionLog(tmp_path / "fw" / "interactions.jsonl")
    threads = [threading.Thread(target=lambda n=n: [log.append(episode(f"{n}-{i}")) for i in range(25)]) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch = read_interactions(log.path)
    assert len(batch.interactions) == 200 and batch.unreadable == 0
    assert len({i.id for i in batch.interactions}) == 200
    assert batch.end == log.path.stat().st_size
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600
    assert Interaction.from_json(batch.interactions[0].to_json()) == batch.interactions[0]


def test_torn_line_is_skipped_and_counted_and_the_next_append_stays_whole(tmp_path):
    path = write_log(tmp_path / "interactions.jsonl", [episode("a"), episode("b")])
    with path.open("a") as stream:
        stream.write('{"id": "torn", "source": "agent", "messa')  # a crash mid-write
    assert len(read_interactions(path).interactions) == 2  # the torn tail is not a complete line yet
    InteractionLog(path).append(episode("c"))
    batch = read_interactions(path)
    assert [i.task_id for i in batch.interactions] == ["task-a", "task-b", "task-c"] and batch.unreadable == 1


@pytest.fixture(scope="module")
def router_registry(tiny_base, tmp_path_factory):
    """A registry with one promoted python adapter (rank 4) of the embedded base."""
    from peft import get_peft_model

    from apprentice.artifacts import hash_path
    from apprentice.base.load import load_base
    from apprentice.base.lora import lora_config_for
    from apprentice.registry.registry import Registry
    from apprentice.stages.result import write_adapter_origin

    root, base_hash = tmp_path_factory.mktemp("flywheel-router"), hash_path(tiny_base)
    model, _ = load_base(tiny_base)
    get_peft_model(model, lora_config_for(model, rank=4, alpha=8)).save_pretrained(root / "python")
    write_adapter_origin(root / "python", base_hash, "sft", "python")
    registry = Registry(root / "registry.db")
    registry.promote(registry.register("python", root / "python", base_hash,
                                       metrics={"test_pass_rate": 0.5, "tool_call_format_accuracy": 0.99}).version)
    return registry, base_hash


def read_file_reply(model, tokenizer, messages, tools, settings) -> Reply:
    return Reply(call("read_file", {"path": "stats.py"}), None, "", 12, 5)


def test_router_captures_each_completion_and_no_capture_writes_nothing(router_registry, tiny_base, tmp_path):
    from apprentice.serving.router import create_app

    registry, base_hash = router_registry
    tool = {"type": "function", "function": {
        "name": "read_file", "description": "Read a file of the repository.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}
    request = {"messages": [{"role": "user", "content": "What is in stats.py?"}], "tools": [tool], "max_tokens": 4}
    log = InteractionLog(tmp_path / "on" / "interactions.jsonl")
    captured = create_app(registry, tiny_base, base_hash=base_hash, respond=read_file_reply, poll_interval_s=None,
                          capture=log)
    with TestClient(captured) as client:
        response = client.post("/v1/chat/completions", json={**request, "model": "python"})
        assert response.status_code == 200, response.text
        assert client.post("/v1/chat/completions", json=request).status_code == 200
    first, second = read_interactions(log.path).interactions
    assert (first.source, first.adapter, first.target, first.outcome) == ("router", "python-v1", "python", None)
    assert first.messages == ({"role": "user", "content": "What is in stats.py?"}, call("read_file", {"path": "stats.py"}))
    assert first.tools == (tool,) and first.latency_s > 0 and first.tokens == 5 and second.id != first.id
    uncaptured = create_app(registry, tiny_base, base_hash=base_hash, respond=read_file_reply, poll_interval_s=None)
    with TestClient(uncaptured) as client:
        assert client.post("/v1/chat/completions", json=request).status_code == 200
    assert len(read_interactions(log.path).interactions) == 2


class FixingBackend:
    """Applies the known fix, runs the tests, answers: a green episode without a model."""

    source = "self"

    def __init__(self):
        self.replies = [call("apply_patch", {"diff": (TASK_FILE.parent / "fix.patch").read_text()}),
                        call("run_tests", {}), {"role": "assistant", "content": "Fixed the even-length median."}]

    def respond(self, messages, tools):
        return Reply(self.replies.pop(0), None, "", 10, 4)


def test_agent_run_captures_the_graded_episode_into_the_run(tmp_path):
    run_dir = tmp_path / "runs" / "demo"
    (run_dir / "base").mkdir(parents=True)
    (run_dir / "run.yaml").write_text("name: demo\n")
    console = Console(record=True, width=120)
    trajectory = agent_run_from_cli(TASK_FILE, run_dir / "base", None, 4, console, backend=FixingBackend())
    (captured,) = read_interactions(interactions_path(run_dir)).interactions
    assert (captured.source, captured.target, captured.task_id) == ("agent", "python", trajectory.task_id)
    assert captured.outcome == trajectory.outcome and captured.outcome["tests_failed"] == []
    assert captured.messages == trajectory.messages and "episode captured" in console.export_text()
    agent_run_from_cli(TASK_FILE, run_dir / "base", None, 4, console, backend=FixingBackend(), capture=False)
    assert len(read_interactions(interactions_path(run_dir)).interactions) == 1
    assert capture_file(tmp_path / "loose-model", None, None) is None  # no run directory known: not captured
    assert capture_file(run_dir / "base", None, tmp_path / "elsewhere") == tmp_path / "elsewhere" / "interactions.jsonl"
    round_one(run_dir)
    report = curate(interactions_path(run_dir), run_dir / "flywheel", 2)
    assert report.kept == {"python": 1} and report.dropped["failed"] == 0  # graded green: kept for round 2


# --- curation ----------------------------------------------------------------------------------------------

SECRETS = {
    "aws_access_key": "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
    "github_token": "git clone https://ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8@github.com/x/y",
    "openai_key": "client = OpenAI(api_key=os.environ.get('K', 'sk-proj-abcDEF1234567890ghijKLMN'))",
    "slack_token": "SLACK = 'xoxb-1234567890-abcdefghij'",
    "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "jwt": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0",
    "generic_secret": 'config = {"api_key": "Zx8fQ2pLm9Rt4Kw7Yb3Nc6Vd"}',
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_secret_pattern_drops_the_episode(tmp_path, kind):
    round_one(tmp_path)
    log = write_log(tmp_path / "i.jsonl", [episode("clean"), episode("leaky", tool_output=SECRETS[kind])])
    report = curate(log, tmp_path / "flywheel", 2)
    assert report.kept == {"python": 1} and report.dropped["secret"] == 1 and report.secret_kinds == {kind: 1}


def test_curation_drops_each_reason_once_and_keeps_the_rest(tmp_path):
    round_one(tmp_path)
    broken = episode("broken")
    broken = Interaction(**{**broken.__dict__, "messages": ({"role": "robot", "content": "?"},)})
    interactions = [
        episode("kept-1"), episode("kept-2", target="rust"),
        episode("failing", FAILED), episode("chat", None, source="router"), episode("garbled", format_errors=1),
        episode("leaky", answer="Done; token: Zx8fQ2pLm9Rt4Kw7Yb3Nc6Vd"), broken,
        # kept-1 again: another persona, case, spacing, timing and temporary path -> the same normalised hash
        episode("KEPT-1", system="You are a senior engineer.", tool_output="tests: 5/5 passed in 2.7s (/tmp/ep-9/repo)",
                answer="fixed. "),
        episode("r1-python-3"),  # already in round 1's data
    ]
    log = write_log(tmp_path / "i.jsonl", interactions)
    with log.open("a") as stream:
        stream.write("{not json\n")
    report = curate(log, tmp_path / "flywheel", 2)
    assert report.kept == {"python": 1, "rust": 1} and report.read == len(interactions)
    assert report.dropped == {"unreadable": 1, "malformed": 1, "no_outcome": 1, "failed": 1, "format_errors": 1,
                              "secret": 1, "duplicate": 2}
    saved = json.loads((tmp_path / "flywheel" / "round-2" / "report.json").read_text())
    assert saved["dropped"] == report.dropped and saved["end"] == log.stat().st_size
    (kept,) = [Trajectory.from_json(line) for line in (tmp_path / "flywheel/round-2/python/sft.jsonl").read_text().splitlines()]
    assert kept.task_id == "task-kept-1" and kept.source == "self" and kept.tool_calls == 1 and kept.turns == 2
    # rust has no round-1 data to replay: its new data is kept, but no training set is made up without replay
    assert "no earlier rust data" in report.mixes["rust"]["problem"]
    with pytest.raises(FlywheelError, match="rust has no training data: no earlier rust data"):
        next_round_data(tmp_path, "rust", 2)


def test_normalised_hash_ignores_volatile_tool_output_but_not_the_fix():
    base = episode("x").messages
    same = episode("X", tool_output="Tests:  5/5 passed in 9.99s (/var/tmp/other/repo)").messages
    different = episode("x", answer="Fixed by sorting first.").messages
    assert conversation_hash(base) == conversation_hash(same) != conversation_hash(different)


def test_nothing_kept_is_an_error_that_consumes_nothing(tmp_path):
    round_one(tmp_path)
    log = write_log(tmp_path / "i.jsonl", [episode("failing", FAILED)])
    with pytest.raises(FlywheelError, match="nothing kept.*failed 1"):
        curate(log, tmp_path / "flywheel", 2)
    assert not (tmp_path / "flywheel" / "round-2").exists()


# --- rounds: accumulation and replay -----------------------------------------------------------------------


@pytest.mark.parametrize("new, share", [(17, 0.15), (10, 0.10), (33, 0.20), (1, 0.15), (50, 0.12)])
def test_replay_share_is_exact_within_rounding_and_seeded(tmp_path, new, share):
    round_one(tmp_path, count=60)
    log = write_log(tmp_path / "i.jsonl", [episode(f"new-{i}") for i in range(new)])
    report = curate(log, tmp_path / "flywheel", 2, replay_share=share)
    train = next_round_data(tmp_path, "python", 2)
    rows = [Trajectory.from_json(line) for line in train.read_text().splitlines()]
    replayed = [t for t in rows if t.task_id.startswith("task-r1-")]
    assert len(rows) == new + len(replayed) == new + report.mixes["python"]["replay"]
    assert abs(len(replayed) / len(rows) - share) <= 0.5 / len(rows)
    first = train.read_bytes()
    train.unlink()
    assert next_round_data(tmp_path, "python", 2).read_bytes() == first  # seeded: rebuilt identically


def test_rounds_accumulate_never_rewrite_and_read_only_new_interactions(tmp_path):
    round_one_file = round_one(tmp_path)
    before = (round_one_file.read_bytes(), round_one_file.stat().st_mtime_ns)
    log = write_log(interactions_path(tmp_path), [episode(f"a{i}") for i in range(8)])
    runner = CliRunner()
    result = runner.invoke(flywheel_app, ["curate", "--run", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "round 2: 8 kept of 8" in result.output
    round_two = {p: p.read_bytes() for p in (tmp_path / "flywheel" / "round-2").rglob("*") if p.is_file()}
    with pytest.raises(FlywheelError, match="never rewritten; curate round 3"):
        curate(log, tmp_path / "flywheel", 2)
    write_log(log, [episode("a3"), *[episode(f"b{i}") for i in range(6)]])  # a3 is round 2's: a duplicate now
    report = curate(log, tmp_path / "flywheel", 3)
    assert report.read == 7 and report.kept == {"python": 6} and report.dropped["duplicate"] == 1
    assert (round_one_file.read_bytes(), round_one_file.stat().st_mtime_ns) == before
    assert {p: p.read_bytes() for p in round_two} == round_two
    replay = [Trajectory.from_json(line).task_id for line in next_round_data(tmp_path, "python", 3).read_text().splitlines()][6:]
    assert len(replay) == 1 and replay[0].startswith(("task-r1-", "task-a"))
    assert round_sft_data(tmp_path, "python", 1) is None
    assert round_sft_data(tmp_path, "python", 3) == tmp_path / "flywheel" / "round-3" / "python" / "train.jsonl"
    with pytest.raises(FlywheelError, match="kept no rust"):
        round_sft_data(tmp_path, "rust", 3)
    shown = runner.invoke(flywheel_app, ["stats", "--run", str(tmp_path)]).output
    assert "15 interactions (0 unreadable lines), 0 not yet curated" in shown and "round 3: 6 kept of 7" in shown


def test_bad_replay_share_and_bad_rounds_are_one_clear_line(tmp_path):
    round_one(tmp_path)
    log = write_log(interactions_path(tmp_path), [episode("a")])
    result = CliRunner().invoke(flywheel_app, ["curate", "--run", str(tmp_path), "--replay-share", "0.5"])
    assert isinstance(result.exception, FlywheelError)
    message = str(result.exception)
    assert "\n" not in message and "replay share 0.5 is outside SPEC §6's 10%-20%" in message
    with pytest.raises(FlywheelError, match="round 1 is the pipeline's own data"):
        curate(log, tmp_path / "flywheel", 1)
    with pytest.raises(FlywheelError, match="is not a run's flywheel directory"):
        curate(log, tmp_path / "rounds", 2)
    with pytest.raises(FlywheelError, match="round 2 is not curated yet"):
        curate(log, tmp_path / "flywheel", 3)
    with pytest.raises(FlywheelError, match="no interactions captured"):
        curate(tmp_path / "missing.jsonl", tmp_path / "flywheel", 2)
    with pytest.raises(FlywheelError, match="not curated"):
        next_round_data(tmp_path, "python", 2)
    assert "nothing captured yet" in stats_text(tmp_path / "empty-run")
