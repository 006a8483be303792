"""GRPO's statement levels per phase, the pass@k probe's count, the reward trend and the stage headline."""

import dataclasses
import json
import math
import statistics
from pathlib import Path

import pytest

from apprentice.config.models import load_config
from apprentice.errors import ConfigError, StageError
from apprentice.grading.outcome import Outcome
from apprentice.languages.language import TestCase
from apprentice.stages import grpo
from apprentice.stages.grpo_curriculum import check_levels, ordered_prompts, phase_pool
from apprentice.stages.grpo_metrics import RolloutRewardLog, high_reward_share, reward_trend, step_rewards
from apprentice.stages.grpo_probe import count_pass_at_k, pass_line, probe_tasks, rollout_passed
from apprentice.stages.grpo_reward import ExecutionReward
from apprentice.stages.result import STARTED_FILE, StageInputs
from apprentice.tasks.task import RepoRef, Task

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "python"
PHASE = "{until_step: 2, max_seq_length: 32, tasks: single-file, tool_pattern: single, reasoning_effort: low"


def leveled_task(index: int, bug_file: str = "tinystats/stats.py", **changes) -> Task:
    """The fixture task under another id, with a statement at every level (as mutation tasks carry)."""
    task = Task.from_json((FIXTURE / "task.json").read_text())
    bug = task.bug.replace("tinystats/stats.py", bug_file)
    statements = (f"L0 {index}", task.statement, f"L2 {index}")
    return dataclasses.replace(task, id=f"t{index}", repo=RepoRef(str(FIXTURE / "repo")), bug=bug,
                               statements=statements, **changes)


def one_statement_task(index: int) -> Task:
    """A task whose source wrote its level-1 statement only (as mined commits do)."""
    return dataclasses.replace(leveled_task(index), statements=(), source="mined")


def grpo_config(*phases: str, steps: int = 2):
    return load_config(None, [f"grpo.steps={steps}", f"grpo.curriculum=[{', '.join(phases)}]"])


def test_a_phase_poses_its_tasks_at_its_levels_dealt_in_turn():
    tasks = [leveled_task(index) for index in range(6)]
    config = grpo_config(PHASE + ", levels: [0, 2]}")
    pool = phase_pool(tasks, config.grpo.curriculum[0])
    assert sorted(task.level for task in pool) == [0, 0, 0, 2, 2, 2]  # each level its share
    assert all(task.statement == task.statements[task.level] for task in pool)
    rows = ordered_prompts(tasks, config.grpo, per_step=3, prompt=lambda task: [{"role": "user", "content": task.statement}])
    posed = {json.loads(row["task"])["id"]: json.loads(row["task"])["level"] for row in rows}
    assert posed == {task.id: task.level for task in pool}
    assert all(row["prompt"][0]["content"] == json.loads(row["task"])["statement"] for row in rows)
    # no levels: each task keeps the level it was dealt
    assert [task.level for task in phase_pool(tasks, grpo_config(PHASE + "}").grpo.curriculum[0])] == [1] * 6


def test_unknown_or_repeated_levels_are_config_errors_naming_the_value():
    with pytest.raises(ConfigError, match=r"grpo.curriculum.0.levels.*levels \[0, 3\] must be distinct values of"):
        grpo_config(PHASE + ", levels: [0, 3]}")
    with pytest.raises(ConfigError, match=r"levels \[1, 1\]"):
        grpo_config(PHASE + ", levels: [1, 1]}")


def test_a_level_no_task_can_be_posed_at_is_one_stage_error_naming_phase_level_and_fix():
    tasks = [one_statement_task(index) for index in range(3)]
    later = "{until_step: 4, max_seq_length: 32, tasks: single-file, tool_pattern: single, reasoning_effort: low"
    config = grpo_config(PHASE + ", levels: [1]}", later + ", levels: [1, 0]}", steps=4)
    with pytest.raises(StageError) as raised:
        check_levels(tasks, config.grpo)
    message = str(raised.value)
    assert "\n" not in message and raised.value.exit_code == 2
    assert "grpo.curriculum[1] (until_step 4)" in message and "statement level 0" in message
    assert "drop 0 from grpo.curriculum[1].levels" in message and "source mined" in message
    check_levels(tasks, grpo_config(PHASE + ", levels: [1]}").grpo)  # their own level: fine


def test_the_bad_level_stops_the_stage_before_it_touches_the_stage_directory(tiny_base, tmp_path):
    data = tmp_path / "tasks.jsonl"
    data.write_text(one_statement_task(0).to_json() + "\n")
    stage_dir = tmp_path / "grpo"
    (stage_dir / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    (stage_dir / STARTED_FILE).write_text('{"earlier": "run"}')
    with pytest.raises(StageError, match=r"grpo.curriculum\[0\] .* statement level 0"):
        grpo.run(grpo_config(PHASE + ", levels: [0]}"), StageInputs("python", stage_dir, tiny_base, None, data))
    assert (stage_dir / "checkpoints" / "checkpoint-1").is_dir()
    assert (stage_dir / STARTED_FILE).read_text() == '{"earlier": "run"}'


def outcome(task_id: str, statuses: tuple[str, ...], complete: bool = True) -> Outcome:
    tests = tuple(TestCase(f"tests/test_x.py::test_{i}", status) for i, status in enumerate(statuses))
    return Outcome(task_id, "python", patch_applied=True, tests=tests, tests_complete=complete)


def test_pass_at_k_counts_a_task_once_when_any_rollout_turns_every_test_green():
    rollouts = [
        ("a", outcome("a", ("failed", "passed"))), ("a", outcome("a", ("passed", "passed"))),  # second one fixes it
        ("a", outcome("a", ("passed", "passed"))),
        ("b", outcome("b", ("passed", "failed"))), ("b", None),  # breaks a pass-to-pass test; a bad-format rollout
        ("c", outcome("c", ("passed", "passed"), complete=False)),  # the runner's report is not trustworthy
        ("d", outcome("d", ())),  # no required tests reported
    ]
    result = count_pass_at_k(["a", "b", "c", "d", "e"], rollouts, k=2)
    assert (result["passed"], result["tasks"], result["rollouts"], result["k"], result["level"]) == (1, 5, 7, 2, 0)
    assert result["rate"] == 0.2
    # Wilson 95% of 1/5, computed here: centre and half width with z = 1.96
    z, p, n = 1.96, 0.2, 5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert result["interval"] == [round(centre - half, 4), round(centre + half, 4)]
    assert pass_line({**result, "k": 4}) == "pass@4 on 5 level-0 training tasks: 1/5 (20%, 95% CI 4-62%)"
    assert not rollout_passed(None) and rollout_passed(outcome("x", ("passed",)))
    assert count_pass_at_k([], [], 4)["rate"] is None


def test_probe_tasks_are_posed_at_level_0_spread_over_files_and_skip_one_statement_sources():
    tasks = [leveled_task(0, "a.py"), leveled_task(1, "a.py"), leveled_task(2, "b.py"), one_statement_task(3)]
    chosen = probe_tasks(tasks, 2)
    assert [task.id for task in chosen] == ["t0", "t2"]  # one per file before a second from a.py
    assert all(task.level == 0 and task.statement == task.statements[0] for task in chosen)
    assert [task.id for task in probe_tasks(tasks, 16)] == ["t0", "t2", "t1"]
    assert probe_tasks([one_statement_task(0)], 16) == []


def test_reward_trend_on_known_rewards():
    # five steps: the first 20% is step 1, the last 20% step 5
    trend = reward_trend([[0.0, 0.0], [0.5, 0.5], [0.2, 0.3], [0.9, 0.1], [1.0, 1.0]])
    assert (trend["window_steps"], trend["first_mean"], trend["last_mean"], trend["diff"]) == (1, 0.0, 1.0, 1.0)
    assert trend["interval"] == [1.0, 1.0]  # no spread within either window
    # ten steps, two per window: first [0, 1, 0, 0], last [1, 1, 0, 1]
    steps = [[0.0, 1.0], [0.0, 0.0]] + [[0.5, 0.5]] * 6 + [[1.0, 1.0], [0.0, 1.0]]
    trend = reward_trend(steps)
    first, last = [0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0]
    half = 1.96 * math.sqrt(statistics.variance(first) / 4 + statistics.variance(last) / 4)
    assert trend["window_steps"] == 2 and trend["diff"] == 0.5
    assert trend["interval"] == [round(0.5 - half, 4), round(0.5 + half, 4)]
    assert trend["interval"][0] < 0 < trend["interval"][1]  # 8 rollouts cannot tell 0.25 from 0.75
    assert reward_trend([[0.3]])["interval"] is None and reward_trend([]) is None


def test_high_reward_share_counts_rollouts_at_or_above_the_threshold():
    share = high_reward_share([[0.7, 0.1], [1.0, -1.0], [0.69, 0.7]], 0.7)
    assert share == {"threshold": 0.7, "rollouts": 6, "high": 3, "share": 0.5}
    assert high_reward_share([], 0.7)["share"] is None


def test_each_logged_step_keeps_the_rewards_its_rollouts_earned():
    from types import SimpleNamespace

    class Graded:
        def __init__(self, value):
            self.value = value

        def _grade(self, *_):
            return SimpleNamespace(reward_parts={"composite": self.value})

        def _task_id(self):
            return "t"

    reward = ExecutionReward(workers=1)
    callback = RolloutRewardLog(reward)
    state = SimpleNamespace(log_history=[])
    for values in ([0.1, 0.7], [1.0, -0.3]):
        assert reward(None, [[{"role": "assistant", "content": ""}]] * 2, [Graded(v) for v in values]) == values
        state.log_history.append({"reward": sum(values) / 2, "step": len(state.log_history) + 1})
        callback.on_log(None, state, None, logs={"reward": 0.0})
    state.log_history.append({"train_runtime": 1.0})
    callback.on_log(None, state, None, logs={"train_runtime": 1.0})  # the closing summary holds no rollouts
    assert step_rewards(state.log_history) == [[0.1, 0.7], [1.0, -0.3]]
    assert reward.take_rewards() == []


def test_a_recording_reward_keeps_each_rollouts_outcome_and_the_training_reward_does_not():
    class Graded:
        def _grade(self, *_):
            return dataclasses.replace(outcome("t", ("passed",)), reward_parts={"composite": 1.0})

        def _task_id(self):
            return "t"

    class Broken(Graded):
        def _grade(self, *_):
            raise RuntimeError("sandbox gone")

    training = ExecutionReward(workers=1, terminators=frozenset({7}))
    probe = training.like(keep_outcomes=True)
    completions = [[{"role": "assistant", "content": ""}]] * 3
    rewards = probe(None, completions, [Graded(), Graded(), Broken()], completion_ids=[[3, 7], [3, 4], [3, 7]])
    assert rewards == [1.0, -1.0, 0.0]  # graded; cut off before its end token; a failed grade
    assert sorted((task_id, rollout_passed(o)) for task_id, o in probe.outcomes) == [("t", False), ("t", False),
                                                                                     ("t", True)]
    assert probe.failures == 1 and probe.invalid_format == 1
    assert training.outcomes is None and training.graded == 0 and probe.terminators == training.terminators


def test_headline_shows_the_trend_its_interval_the_best_and_pass_at_k():
    metrics = {"rewards": [0.1, 0.5], "max_reward": 1.0,
               "reward_trend": {"first_mean": 0.1, "last_mean": 0.5, "diff": 0.4, "interval": [0.05, 0.75]},
               "pass_at_k": {"k": 4, "tasks": 16, "passed": 3, "rate": 0.1875}}
    assert grpo.headline(metrics) == ("reward first 20% 0.1 -> last 20% 0.5 (diff +0.4, 95% CI 0.05..0.75), "
                                      "max 1, pass@4 3/16 (19%)")
    skipped = {**metrics, "pass_at_k": {"k": 4, "tasks": 0, "rate": None}, "reward_trend": {
        **metrics["reward_trend"], "interval": None}}
    assert grpo.headline(skipped).endswith("95% CI n/a), max 1, pass@k n/a")
    assert grpo.headline({"rewards": [0.1, 0.5], "max_reward": 1.0}) == "reward 0.1 -> 0.5, max 1"


def test_the_probe_samples_k_rollouts_per_task_through_the_trainer_and_leaves_it_as_it_was():
    from collections import defaultdict
    from types import SimpleNamespace

    import torch
    from transformers import GenerationConfig

    from apprentice.stages.grpo_probe import sample_rollouts

    class Workspace:
        def __init__(self, task_id: str, fixed: bool):
            self.task_id, self.fixed = task_id, fixed

        def _grade(self, *_):
            statuses = ("passed", "passed") if self.fixed else ("failed", "passed")
            return dataclasses.replace(outcome(self.task_id, statuses), reward_parts={"composite": float(self.fixed)})

        def _task_id(self):
            return self.task_id

    class Trainer:
        """What the probe touches of GRPOTrainer; each batch draws random numbers, logs and scores like TRL."""

        def __init__(self, reward):
            self.reward_funcs, self.state, self.batches = [reward], SimpleNamespace(num_input_tokens_seen=5), []
            self._metrics = {"train": defaultdict(list), "eval": defaultdict(list)}
            self.model = torch.nn.Linear(1, 1).eval()
            self.generation_config, self.chat_template_kwargs = GenerationConfig(max_new_tokens=1), {}

        def _generate_and_score_completions(self, rows):
            self.batches.append([json.loads(row["task"])["id"] for row in rows])
            torch.rand(3)
            self.state.num_input_tokens_seen += 100
            self._metrics["train"]["reward"].append(0.5)
            # rollout 0 of t1 fixes it; nothing else does
            workspaces = [Workspace(task_id, task_id == "t1" and i % 2 == 0) for i, task_id in enumerate(self.batches[-1])]
            self.reward_funcs[0](None, [[{"role": "assistant", "content": ""}]] * len(rows), workspaces)

    training = ExecutionReward(workers=1)
    trainer = Trainer(training)
    config = load_config(None, ["grpo.steps=2", "grpo.generations=2", f"grpo.curriculum=[{PHASE}, levels: [0]}}]"])
    tasks = probe_tasks([leveled_task(index, f"m{index}.py") for index in range(3)], 3)
    torch.manual_seed(0)
    rollouts = sample_rollouts(trainer, training, tasks, config.grpo, per_step=2,
                               prompt=lambda task: [{"role": "user", "content": task.statement}])
    assert trainer.batches == [["t0", "t0", "t1", "t1"], ["t2", "t2"]]  # k per task, per_step tasks a batch
    assert count_pass_at_k([task.id for task in tasks], rollouts, 2)["passed"] == 1
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(1))  # the probe's sampling leaves the training's random stream alone
    assert trainer.reward_funcs == [training] and training.graded == 0 and training.take_rewards() == []
    assert trainer.state.num_input_tokens_seen == 5 and not trainer._metrics["train"]
    assert trainer.model.training and trainer.max_tool_calling_iterations == 1
    assert trainer.generation_config.max_new_tokens == trainer.max_completion_length == 32
