"""GRPO: the reward's format check, the curriculum layout, and one real step on the tiny base."""

import dataclasses
import json
from pathlib import Path

import pytest

from apprentice.config.models import load_config
from apprentice.errors import StageError
from apprentice.stages import grpo
from apprentice.stages.grpo_curriculum import TOOL_ROUNDS, ordered_prompts, phase_at, phase_tasks
from apprentice.stages.grpo_reward import ExecutionReward, format_valid, thinking_of, tokens_well_formed
from apprentice.stages.result import StageInputs
from apprentice.tasks.task import RepoRef, Task

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "python"
TWO_PHASES = ("grpo.curriculum=[{until_step: 1, max_seq_length: 32, tasks: single-file, tool_pattern: single, "
              "reasoning_effort: low}, {until_step: 2, max_seq_length: 48, tasks: module, tool_pattern: chain, "
              "reasoning_effort: high}]")


def fixture_task(**changes) -> Task:
    task = Task.from_json((FIXTURE / "task.json").read_text())
    return dataclasses.replace(task, repo=RepoRef(str(FIXTURE / "repo")), **changes)


def test_format_check_catches_raw_control_text_and_failed_calls():
    good = [{"role": "assistant", "thinking": "Observe", "tool_calls": []}, {"role": "tool", "content": "1 passed"}]
    assert format_valid(good) and thinking_of(good) == "Observe"
    assert not format_valid([{"role": "assistant", "content": 'to=functions.read_file<|channel|>commentary {"pa'}])
    assert not format_valid([{"role": "assistant", "content": ""},
                             {"role": "tool", "content": "{'error': 'Tool delete_all not found.'}"}])


def test_token_check_catches_cut_off_turns_and_prose_outside_the_channels(tiny_base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    ends = frozenset(tokenizer.convert_tokens_to_ids(["<|return|>", "<|call|>"]))

    def check(text: str) -> bool:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return tokens_well_formed(ids, ends, lambda i: tokenizer.decode(i, skip_special_tokens=False))

    call = '<|channel|>commentary to=functions.run_tests <|constrain|>json<|message|>{}<|call|>'
    result = '<|start|>functions.run_tests to=assistant<|channel|>commentary<|message|>1 passed<|end|>'
    final = '<|start|>assistant<|channel|>final<|message|>Fixed.<|return|>'
    assert check(call + result + final)
    assert not check(call + result + '<|start|>assistant<|channel|>final<|message|>Fixed and')  # cut off
    assert not check("def median(values):\n    return 0<|return|>")  # prose, no channel
    assert not check(call + result + '<|start|>assistant Fixed it.<|return|>')
    assert check(call + result[:-len("<|end|>")])  # the length budget ran out inside a tool result: not the model's fault
    # gpt-oss's own form: the recipient in the header, before the channel (what its template renders)
    header_call = ' to=functions.read_file<|channel|>commentary json<|message|>{"path": "a.py"}<|call|>'
    assert check(header_call + result + final)
    assert check('<|channel|>analysis<|message|>Read it.<|end|><|start|>assistant' + header_call)
    assert not check(' to=functions.read_file Fixed.<|return|>')  # a recipient, then prose without a channel
    assert tokens_well_formed([5, 7], frozenset({7})) and not tokens_well_formed([], frozenset({7}))


def test_reward_scores_a_malformed_rollout_minus_one_without_grading():
    class NeverGraded:
        def _grade(self, *_):
            raise AssertionError("a malformed rollout must not be graded")

    reward = ExecutionReward(workers=1, terminators=frozenset({7}))
    rollout = [{"role": "assistant", "content": "Fixed."}]
    assert reward(None, [rollout], [NeverGraded()], completion_ids=[[3, 4]]) == [-1.0]
    assert reward.invalid_format == 1


def test_curriculum_orders_tasks_by_phase_and_cycles_them():
    easy, hard = fixture_task(id="easy", difficulty=1), fixture_task(id="hard", difficulty=3)
    config = load_config(None, ["grpo.steps=2", TWO_PHASES])
    rows = ordered_prompts([hard, easy], config.grpo, per_step=2, prompt=lambda task: [{"role": "user", "content": task.id}])
    assert [json.loads(row["task"])["id"] for row in rows] == ["easy", "easy", "hard", "hard"]
    assert phase_at(0, config.grpo.curriculum).reasoning_effort == "low"
    assert phase_at(1, config.grpo.curriculum).tool_pattern == "chain" and TOOL_ROUNDS["chain"] == 3
    # no tier-4 task: a "repository" phase falls back to the nearest easier tier
    phase = config.grpo.curriculum[1].model_copy(update={"tasks": "repository"})
    assert phase_tasks([easy, hard], phase) == [hard]


def test_generation_batch_must_hold_whole_groups():
    config = load_config(None, ["grpo.generations=4", "grpo.grad_accum=3", "grpo.batch_size=1"])
    with pytest.raises(StageError, match="must be a multiple of grpo.generations=4; raise grpo.grad_accum"):
        grpo.prompts_per_step(config)


def test_missing_or_foreign_tasks_are_named(tmp_path):
    with pytest.raises(StageError, match="needs a tasks file"):
        grpo.read_tasks(tmp_path / "none.jsonl", "python")
    (tmp_path / "t.jsonl").write_text(fixture_task().to_json() + "\n")
    with pytest.raises(StageError, match="holds no rust tasks"):
        grpo.read_tasks(tmp_path / "t.jsonl", "rust")


@pytest.mark.slow  # ~1-3 minutes on 2 cores: a pass@k probe and two steps, every rollout graded in a sandbox
@pytest.mark.integration
def test_one_grpo_run_on_the_tiny_base_writes_a_gated_adapter(tiny_base, tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    task = fixture_task()
    statements = ("Line 12 of tinystats/stats.py is wrong.", task.statement, "tests/test_stats.py fails.")
    tasks.write_text(dataclasses.replace(task, statements=statements).to_json() + "\n")
    config = load_config(None, ["grpo.steps=2", "grpo.generations=2", "grpo.grad_accum=2", "grpo.probe_tasks=1",
                                TWO_PHASES])
    inputs = StageInputs("python", tmp_path / "grpo", tiny_base, None, tasks)
    result = grpo.run(config, inputs)
    assert (result.adapter_path / "adapter_config.json").is_file() and (tmp_path / "grpo" / "DONE").is_file()
    # the probe's rollouts are graded apart: the training counts hold the two steps' four rollouts only
    assert len(result.metrics["rewards"]) == 2 and result.metrics["rollouts_graded"] == 4
    probe = result.metrics["pass_at_k"]
    assert (probe["k"], probe["level"], probe["tasks"], probe["rollouts"]) == (2, 0, 1, 2)
    assert probe["passed"] in (0, 1) and probe["interval"][0] <= probe["rate"] <= probe["interval"][1]
    steps = result.metrics["rollout_rewards"]
    assert [len(step) for step in steps] == [2, 2]
    assert [sum(step) / 2 for step in steps] == pytest.approx(result.metrics["rewards"], abs=1e-6)
    trend = result.metrics["reward_trend"]
    assert trend["window_steps"] == 1 and trend["diff"] == pytest.approx(trend["last_mean"] - trend["first_mean"])
    assert result.metrics["high_reward_share"]["rollouts"] == 4
    assert grpo.headline(result.metrics).startswith("reward first 20% ")
    assert -1.0 <= result.metrics["max_reward"] <= 1.0
    assert 0 <= result.metrics["reward_time_share"] <= 1
    assert {check.name for check in result.gate.checks} == {"mean_reward", "reward_std", "max_reward"}
    assert grpo.run(config, inputs).skipped  # same inputs: reused, not retrained


def test_curriculum_callback_moves_every_budget_with_the_phase():
    from types import SimpleNamespace

    from transformers import GenerationConfig

    from apprentice.stages.grpo_curriculum import CurriculumCallback

    config = load_config(None, ["grpo.steps=2", TWO_PHASES])
    trainer = SimpleNamespace(max_completion_length=0, max_tool_calling_iterations=0, chat_template_kwargs={},
                              generation_config=GenerationConfig(max_new_tokens=1))
    callback = CurriculumCallback(trainer, config.grpo.curriculum)
    for step, phase in enumerate(config.grpo.curriculum):
        callback.on_step_begin(None, SimpleNamespace(global_step=step), None)
        assert trainer.max_completion_length == trainer.generation_config.max_new_tokens == phase.max_seq_length
        assert trainer.chat_template_kwargs["reasoning_effort"] == phase.reasoning_effort
        assert trainer.max_tool_calling_iterations == TOOL_ROUNDS[phase.tool_pattern]
    assert config.grpo.curriculum[0].max_seq_length != config.grpo.curriculum[1].max_seq_length


def test_grpo_prompts_show_the_agents_tool_schemas():
    from types import SimpleNamespace

    from apprentice.agent.tools import TOOL_SCHEMAS
    from apprentice.errors import StageError
    from apprentice.stages.grpo import render_agent_tool_schemas

    trainer = SimpleNamespace(_env_tools={"TaskEnvironment": [print, len]})
    render_agent_tool_schemas(trainer)
    assert trainer._env_tools == {"TaskEnvironment": list(TOOL_SCHEMAS)}
    with pytest.raises(StageError, match="_env_tools"):
        render_agent_tool_schemas(SimpleNamespace())
