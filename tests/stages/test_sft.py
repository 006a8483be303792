"""SFT on the embedded miniature gpt-oss: outputs, gate, skip, resume, bad input."""

import json
import shutil
from dataclasses import replace

import pytest
from stage_data import small_config, trajectory, write_trajectories

from apprentice.agent.trajectory import Trajectory
from apprentice.errors import StageError
from apprentice.stages import sft
from apprentice.stages.result import ADAPTER_ORIGIN_FILE, StageInputs
from apprentice.stages.sft_data import format_probes, split_held_out, tokenize_trajectory, training_template


def test_sft_writes_adapter_metrics_gate_meta_and_done(sft_run):
    result, inputs = sft_run
    stage_dir = inputs.stage_dir
    for name in ("adapter/adapter_config.json", f"adapter/{ADAPTER_ORIGIN_FILE}", "metrics.json", "gate.json",
                 "meta.json", "DONE"):
        assert (stage_dir / name).exists(), name
    assert not (stage_dir / "checkpoints").exists()
    metrics = json.loads((stage_dir / "metrics.json").read_text())
    assert metrics["steps"] == 4 and len(metrics["train_losses"]) == 4 and len(metrics["eval_losses"]) >= 2
    assert 0.0 <= metrics["format_accuracy"] <= 1.0 and metrics["format_probes"] == 2
    assert metrics["format_parsed"] == sum(parsed for parsed, _ in metrics["format_by_task"].values())
    assert sum(count for _, count in metrics["format_by_task"].values()) == 2
    low, high = metrics["format_interval"]
    assert low <= metrics["format_accuracy"] <= high and high - low > 0.5  # two probes say little
    assert {check.name for check in result.gate.checks} == {"final_loss", "format_accuracy", "eval_loss_falling"}
    meta = json.loads((stage_dir / "meta.json").read_text())
    assert set(meta["inputs"]) == {"base", "data", "parent_adapter", "config"} and meta["config"]["stage"] == "sft"


def test_sft_is_skipped_when_done_with_the_same_inputs(sft_run):
    result, inputs = sft_run
    again = sft.run(small_config(), inputs)
    assert again.skipped and again.metrics == result.metrics and again.gate == result.gate


def test_sft_resumes_from_the_last_checkpoint(tiny_base, tmp_path, monkeypatch):
    from transformers import TrainerCallback

    data = write_trajectories(tmp_path / "sft.jsonl", 6)
    inputs = StageInputs("python", tmp_path / "sft", tiny_base, data=data)
    config = small_config("sft.max_steps=4", "sft.batch_size=1", "sft.eval_points=2", "sft.format_samples=1",
                          "sft.save_steps=2")

    class KilledAfterFirstCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt  # stands in for kill -9 right after checkpoint-2 was written

    def with_kill(trainer, stage, log_dir=None):
        trainer.add_callback(KilledAfterFirstCheckpoint())
        return trainer

    with monkeypatch.context() as patch:
        patch.setattr(sft, "show_progress", with_kill)
        with pytest.raises(KeyboardInterrupt):
            sft.run(config, inputs)
    checkpoint = tmp_path / "sft" / "checkpoints" / "checkpoint-2"
    assert checkpoint.is_dir() and not (tmp_path / "sft" / "DONE").exists()
    before = [entry["loss"] for entry in json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
              if "loss" in entry]
    result = sft.run(config, inputs)
    assert result.metrics["resumed"] is True and result.metrics["steps"] == 4 and (tmp_path / "sft" / "DONE").exists()
    # steps 1-2 come from the checkpoint as they were logged, 3-4 were trained after the resume
    assert [loss for _, loss in result.metrics["train_losses"]][:2] == before and len(result.metrics["train_losses"]) == 4


def test_empty_dataset_is_a_clear_error(tiny_base, tmp_path):
    (tmp_path / "sft.jsonl").write_text("")
    with pytest.raises(StageError, match="holds no trajectory"):
        sft.run(small_config(), StageInputs("python", tmp_path / "sft", tiny_base, data=tmp_path / "sft.jsonl"))
    assert not (tmp_path / "sft").exists()


def test_missing_dataset_is_a_clear_error(tiny_base, tmp_path):
    with pytest.raises(StageError, match="does not exist"):
        sft.run(small_config(), StageInputs("python", tmp_path / "sft", tiny_base, data=tmp_path / "none.jsonl"))


def test_base_without_chat_template_is_a_clear_error(tiny_base, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_base, base)
    (base / "chat_template.jinja").unlink()
    config_file = base / "tokenizer_config.json"
    config_file.write_text(json.dumps({k: v for k, v in json.loads(config_file.read_text()).items() if k != "chat_template"}))
    data = write_trajectories(tmp_path / "sft.jsonl", 4)
    with pytest.raises(StageError, match="no chat template"):
        sft.run(small_config(), StageInputs("python", tmp_path / "sft", base, data=data))


def test_loss_mask_covers_assistant_turns_only(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    row = tokenize_trajectory(tokenizer, training_template(tokenizer), trajectory(3))
    trained = tokenizer.decode([t for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m])
    ignored = tokenizer.decode([t for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if not m])
    assert "read_file" in trained and "Fixed mod3.py" in trained and trained.endswith("<|return|>")
    assert "returns the wrong value" in ignored and "2 passed" in ignored and "type read_file" in ignored


def test_every_tool_call_is_trained_with_the_thinking_before_it(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    episode = trajectory(3)
    row = tokenize_trajectory(tokenizer, training_template(tokenizer), episode)
    text = tokenizer.decode(row["input_ids"])
    trained = tokenizer.decode([t for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m])
    # The template alone drops these two (a final answer follows); the episode had them in context.
    for thinking in ("Observe: mod3.py is wrong. Plan: read it.", "Execute: check the tests."):
        assert f"<|channel|>analysis<|message|>{thinking}<|end|>" in text and thinking in trained
    assert "<|channel|>analysis<|message|>Done.<|end|>" in text and trained.endswith("the tests pass.<|return|>")
    # The history before the answer is exactly what a generation prompt at that point shows.
    prompt = tokenizer.apply_chat_template(list(episode.messages[:-1]), tools=list(episode.tools), tokenize=False,
                                           add_generation_prompt=True)
    assert text.startswith(prompt.removesuffix("<|start|>assistant"))


def test_stored_arguments_are_trained_in_schema_order(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    episode = trajectory(3)
    call = {"type": "function", "function": {"name": "read_file", "arguments": {"path": "mod3.py", "start": 1, "end": 2}}}
    read = {**episode.messages[2], "tool_calls": [call]}
    stored = Trajectory.from_json(replace(episode, messages=(*episode.messages[:2], read, *episode.messages[3:])).to_json())
    assert list(stored.messages[2]["tool_calls"][0]["function"]["arguments"]) == ["end", "path", "start"]  # sorted on disk
    row = tokenize_trajectory(tokenizer, training_template(tokenizer), stored)
    trained = tokenizer.decode([t for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m])
    assert '{"path": "mod3.py", "start": 1, "end": 2}' in trained
    probe = format_probes([stored], 2)[1]
    assert list(probe.messages[2]["tool_calls"][0]["function"]["arguments"]) == ["path", "start", "end"]


def test_a_weight_zero_turn_stays_in_context_without_loss(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    template = training_template(tokenizer)
    episode = trajectory(3)
    wrong = {"role": "assistant", "content": "", "thinking": "Execute: patch mod3.py.", "weight": 0, "tool_calls": [
        {"type": "function", "function": {"name": "apply_patch", "arguments": {"diff": "WRONG-EDIT"}}}]}
    failed = {"role": "tool", "name": "apply_patch", "content": "error: SEARCH text does not occur in 'mod3.py'"}
    retry = replace(episode, messages=(*episode.messages[:4], wrong, failed, *episode.messages[4:]))
    row = tokenize_trajectory(tokenizer, template, retry)
    text = tokenizer.decode(row["input_ids"])
    trained = tokenizer.decode([t for t, m in zip(row["input_ids"], row["assistant_masks"], strict=True) if m])
    assert "WRONG-EDIT" in text and "Execute: patch mod3.py." in text  # in context
    assert "WRONG-EDIT" not in trained and "Execute: patch mod3.py." not in trained  # not trained
    assert "read_file" in trained and "run_tests" in trained and trained.endswith("the tests pass.<|return|>")
    # Every other token carries the loss it would without the extra turn.
    plain = tokenize_trajectory(tokenizer, template, replace(retry, messages=tuple(
        {k: v for k, v in m.items() if k != "weight"} for m in retry.messages)))
    assert plain["input_ids"] == row["input_ids"]
    dropped = [i for i, (a, b) in enumerate(zip(plain["assistant_masks"], row["assistant_masks"], strict=True)) if a != b]
    assert dropped and "WRONG-EDIT" in tokenizer.decode([row["input_ids"][i] for i in dropped])
    assert "read_file" not in tokenizer.decode([row["input_ids"][i] for i in dropped])


def test_held_out_split_is_stable_and_disjoint():
    trajectories = [trajectory(i) for i in range(20)]
    train, held_out = split_held_out(trajectories, 0.2)
    again_train, again_held_out = split_held_out(list(reversed(trajectories)), 0.2)
    assert {t.task_id for t in again_held_out} == {t.task_id for t in held_out}
    assert {t.task_id for t in train}.isdisjoint({t.task_id for t in held_out}) and held_out and train
    probes = format_probes(held_out, 100)
    assert len(probes) == 3 * len(held_out) and all(p.messages[-1]["role"] != "assistant" for p in probes)
