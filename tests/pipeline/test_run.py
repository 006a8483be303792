"""The whole chain on a micro config: every stage runs, a second run reuses everything, gates stop a chain."""

import dataclasses
import json
import re
from pathlib import Path

import pytest

from apprentice.artifacts import RunDir
from apprentice.config.models import load_config
from apprentice.pipeline import run as pipeline
from apprentice.pipeline.plan import plan, render_plan

FIXTURE_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "mutation" / "python"

# A few of everything: the point is that each stage hands its artifact to the next, not learning.
MICRO = [
    f"tasks.repos={{python: {FIXTURE_REPO}}}", "tasks.max_tasks=6", "gates.data.min_tasks=4",
    "pretrain.context_lengths=[64, 128]", "pretrain.steps_per_length=1", "pretrain.max_blocks_per_length=4",
    "sft.max_steps=2", "sft.batch_size=1", "sft.max_seq_length=3072", "sft.format_samples=2", "sft.format_max_new_tokens=16",
    "preference_data.tasks=1", "preference_data.samples=1", "preference_data.max_new_tokens=16",
    "preference_data.max_turns=1", "preference.max_steps=1", "preference.max_length=3072", "preference.batch_size=1",
    "grpo.steps=1", "grpo.generations=2", "grpo.grad_accum=2",
    "grpo.curriculum=[{until_step: 1, max_seq_length: 24, tasks: single-file, tool_pattern: single, reasoning_effort: low}]",
    "eval.max_tasks=1", "eval.max_turns=1", "eval.max_new_tokens=16",
]


@pytest.mark.integration
def test_the_chain_runs_every_stage_then_reuses_them(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO])
    fresh = plan(config)
    assert not any(step.reused for step in fresh) and not (tmp_path / "micro").exists()  # a dry run writes nothing
    first = pipeline.run(config, force=True)
    steps = [(s.target, s.step) for s in first.steps]
    assert [(s.target, s.step) for s in fresh] == steps
    assert steps == [("-", "base"), ("-", "pretrain"), ("python", "tasks"), ("python", "sft data"), ("python", "sft"),
                     ("python", "preference data"), ("python", "preference"), ("python", "grpo"),
                     ("python", "eval base"), ("python", "eval sft"), ("python", "eval preference"),
                     ("python", "eval grpo"), ("python", "signal"), ("python", "register")]
    sft_metric = next(s.metric for s in first.steps if s.step == "sft")
    assert re.fullmatch(r"loss \S+, format accuracy \S+ -> \S+ \(\d+/\d+ turns\)", sft_metric), sft_metric
    run_dir = tmp_path / "micro"
    for stage in ("sft", "preference", "grpo"):
        stage_dir = run_dir / "stages" / "python" / stage
        assert (stage_dir / "DONE").is_file() and (stage_dir / "adapter" / "adapter_config.json").is_file()
        gate = json.loads((stage_dir / "gate.json").read_text())
        meta = json.loads((stage_dir / "meta.json").read_text())
        # a micro run fails its gates; going on is allowed only by --force, and says so
        assert gate["passed"] or (gate["forced"] and meta["config"]["gate_forced"])
    for version in ("base", "sft", "preference", "grpo"):
        evaluation = run_dir / "eval" / "python" / version
        assert all((evaluation / name).is_file() for name in ("results.jsonl", "metrics.json", "report.html"))
    signal = json.loads((run_dir / "eval" / "python" / "signal.json").read_text())
    assert [entry["version"] for entry in signal["chain"]] == ["base", "sft", "preference", "grpo"]
    assert all(isinstance(entry["mean_reward"], float) for entry in signal["chain"])
    assert (run_dir / "report.html").is_file()
    curves = tensorboard_scalars(run_dir / "logs")  # logging.report_to: tensorboard, the default
    assert "train/loss" in curves["python/sft"] and "train/loss" in curves["python/preference"]
    assert "train/reward" in curves["python/grpo"] and "train/loss" in curves["base/pretrain/len-64"]
    assert sorted(step for step, _ in curves["python/eval"]["eval/tool_call_format_accuracy"]) == [0, 1, 2, 3]
    assert "eval/rung_fail_to_pass" in curves["python/eval"]
    card = (run_dir / "stages/python/grpo/adapter/README.md").read_text()
    assert card.startswith("---\nbase_model: ") and "library_name: peft" in card
    chain = re.findall(r"^\d\. `(\w+)` — `(\S+)`$", card, flags=re.MULTILINE)
    assert chain == [(stage, str(run_dir / f"stages/python/{stage}/adapter")) for stage in ("sft", "preference", "grpo")]
    grpo_hashes = json.loads((run_dir / "stages/python/grpo/meta.json").read_text())["inputs"]
    assert f"| data | `{grpo_hashes['data']}` |" in card and f"| base | `{grpo_hashes['base']}` |" in card
    assert re.search(r"^\| \w+ \| .* \| (pass|FAIL) \| ", card, flags=re.MULTILINE) and "## Reproduce" in card
    # the gates failed, so only --force put the adapter in production, and the registry says so
    production = RunDir(run_dir).open_registry().production()["python"]
    assert production.version == "python-v1" and production.path == str(run_dir / "stages/python/grpo/adapter")
    promotion = [event for event in RunDir(run_dir).open_registry().events() if event.action == "promote"]
    assert "apprentice run --force" in promotion[-1].detail["reason"] and "gate failed" in promotion[-1].detail["reason"]
    planned = plan(config)
    assert all(step.reused for step in planned), render_plan(planned)
    retuned = plan(load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO, "sft.learning_rate=0.001"]))
    rerun = [step.step for step in retuned if not step.reused]
    assert rerun[0] == "sft" and "tasks" not in rerun and "eval base" not in rerun and "grpo" in rerun
    second = pipeline.run(config, force=True)
    assert all(step.skipped for step in second.steps), second.render()
    assert sum(step.seconds for step in second.steps) < sum(step.seconds for step in first.steps) / 5


def tensorboard_scalars(logs: Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """{run directory under `logs`: {tag: [(step, value), ...]}}, read with TensorBoard's own reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    curves = {}
    for directory in sorted({event.parent for event in logs.rglob("events.out.tfevents.*")}):
        accumulator = EventAccumulator(str(directory))
        accumulator.Reload()
        curves[directory.relative_to(logs).as_posix()] = {
            tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}
    return curves


@pytest.mark.integration
def test_a_failed_gate_stops_the_chain_with_the_reason(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO, "pretrain.enabled=false"])
    summary = pipeline.run(config)
    assert [s.step for s in summary.steps][-1] == "sft"
    assert "sft gate failed" in summary.stopped["python"] and "--force" in summary.stopped["python"]
    assert not (tmp_path / "micro" / "stages" / "python" / "preference").exists()


@pytest.mark.slow
def test_flywheel_round_two_trains_from_production_on_curated_data(tmp_path):
    from apprentice.agent.trajectory import Trajectory
    from apprentice.artifacts import hash_path
    from apprentice.flywheel.capture import InteractionLog, agent_interaction, interactions_path
    from apprentice.flywheel.curate import curate_run

    config = load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO, "pretrain.enabled=false"])
    pipeline.run(config, force=True)
    run_dir = tmp_path / "micro"
    round_one = hash_path(run_dir / "stages" / "python" / "grpo")
    log = InteractionLog(interactions_path(run_dir))
    for line in (run_dir / "data" / "python" / "sft.jsonl").read_text().splitlines():
        served = Trajectory.from_json(line)  # a green, graded episode; its last answer worded anew, so it is novel
        last = {**served.messages[-1], "content": served.messages[-1]["content"] + " Checked twice."}
        log.append(agent_interaction(dataclasses.replace(served, messages=(*served.messages[:-1], last)),
                                     "python", "python-v1"))
    curate_run(run_dir, round=2)
    second = pipeline.run(load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO, "pretrain.enabled=false",
                                             "round=2"]), force=True)
    assert (run_dir / "stages" / "python" / "round-2" / "grpo" / "DONE").is_file(), second.render()
    assert hash_path(run_dir / "stages" / "python" / "grpo") == round_one  # round 1 is left as it was
    records = {record.version: record for record in RunDir(run_dir).open_registry().list("python")}
    assert records["python-v2"].parent == "python-v1" and records["python-v2"].status == "production"
    sft_meta = json.loads((run_dir / "stages/python/round-2/sft/meta.json").read_text())
    assert sft_meta["inputs"]["parent_adapter"] == hash_path(run_dir / "stages/python/grpo/adapter")
