"""The whole chain on a micro config: every stage runs, a second run reuses everything, gates stop a chain."""

import json
from pathlib import Path

import pytest

from apprentice import pipeline
from apprentice.config import load_config

FIXTURE_REPO = Path(__file__).resolve().parent / "fixtures" / "mutation" / "python"

# A few of everything: the point is that each stage hands its artifact to the next, not learning.
MICRO = [
    f"tasks.repos={{python: {FIXTURE_REPO}}}", "tasks.max_tasks=6", "gates.data.min_tasks=4",
    "pretrain.context_lengths=[64, 128]", "pretrain.steps_per_length=1", "pretrain.max_blocks_per_length=4",
    "sft.max_steps=2", "sft.batch_size=1", "sft.max_seq_length=3072", "sft.format_samples=2", "sft.format_max_new_tokens=16",
    "preference_data.tasks=1", "preference_data.samples=1", "preference_data.max_new_tokens=16",
    "preference_data.max_turns=1", "preference.max_steps=1", "preference.max_length=3072", "preference.batch_size=1",
    "grpo.steps=1", "grpo.generations=2", "grpo.grad_accum=2",
    "grpo.curriculum=[{until_step: 1, max_seq_length: 24, tasks: single-file, tool_pattern: single, reasoning_effort: low}]",
]


@pytest.mark.integration
def test_the_chain_runs_every_stage_then_reuses_them(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO])
    first = pipeline.run(config, force=True)
    steps = [(s.target, s.step) for s in first.steps]
    assert steps == [("-", "base"), ("-", "pretrain"), ("python", "tasks"), ("python", "sft data"), ("python", "sft"),
                     ("python", "preference data"), ("python", "preference"), ("python", "grpo")]
    run_dir = tmp_path / "micro"
    for stage in ("sft", "preference", "grpo"):
        stage_dir = run_dir / "stages" / "python" / stage
        assert (stage_dir / "DONE").is_file() and (stage_dir / "adapter" / "adapter_config.json").is_file()
        gate = json.loads((stage_dir / "gate.json").read_text())
        meta = json.loads((stage_dir / "meta.json").read_text())
        # a micro run fails its gates; going on is allowed only by --force, and says so
        assert gate["passed"] or (gate["forced"] and meta["config"]["gate_forced"])
    second = pipeline.run(config, force=True)
    assert all(step.skipped for step in second.steps[1:]), second.render()
    assert sum(step.seconds for step in second.steps) < sum(step.seconds for step in first.steps) / 5


@pytest.mark.integration
def test_a_failed_gate_stops_the_chain_with_the_reason(tmp_path):
    config = load_config(None, [f"runs_dir={tmp_path}", "name=micro", *MICRO, "pretrain.enabled=false"])
    summary = pipeline.run(config)
    assert [s.step for s in summary.steps][-1] == "sft"
    assert "sft gate failed" in summary.stopped["python"] and "--force" in summary.stopped["python"]
    assert not (tmp_path / "micro" / "stages" / "python" / "preference").exists()
