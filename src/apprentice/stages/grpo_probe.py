"""pass@k before GRPO: can the starting adapter solve any level-0 training task at all?

GRPO learns only from groups whose rollouts differ; a policy that never turns a test green gets no
signal to climb. Before the first step the stage samples k = `grpo.generations` rollouts of each of
`grpo.probe_tasks` training tasks posed at statement level 0 (SPEC §10: file, line and kind of change,
the easiest statement), spread over the files their bugs are in, with the trainer's own rollout
machinery (generation, tool loop, `TaskEnvironment`, `ExecutionReward`) under the first phase's
budgets. A task passes when one of its rollouts is well-formed and leaves every required test green
(fail-to-pass and pass-to-pass: `Outcome.all_tests_pass`). The count is kept in the stage directory,
so a resumed run does not measure it again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from apprentice.artifacts import atomic_write_json
from apprentice.config.models import GrpoSection
from apprentice.evaluation.report_card import wilson_interval
from apprentice.grading.outcome import Outcome
from apprentice.pipeline.data_steps import spread_over_files
from apprentice.stages.grpo_curriculum import apply_phase, can_pose
from apprentice.stages.grpo_reward import ExecutionReward
from apprentice.stages.result import is_main_process, read_json
from apprentice.tasks.task import Task

PROBE_FILE = "pass_at_k.json"
PROBE_LEVEL = 0


def probe_tasks(tasks: list[Task], count: int) -> list[Task]:
    """Up to `count` of `tasks` posed at level 0, round-robin over their bug files; those without one left out."""
    posed = [task.at_level(PROBE_LEVEL) for task in tasks if can_pose(task, PROBE_LEVEL)]
    return spread_over_files(posed, count)


def rollout_passed(outcome: Outcome | None) -> bool:
    """A graded rollout whose every fail-to-pass and pass-to-pass test passed; None (not graded) never passes."""
    return outcome is not None and outcome.all_tests_pass


def count_pass_at_k(task_ids: list[str], rollouts: list[tuple[str | None, Outcome | None]], k: int) -> dict[str, Any]:
    """pass@k of the probe: {k, level, tasks, rollouts, passed, rate, interval (Wilson 95%)}.

    `rollouts` holds (task id, Outcome or None) per rollout; a task passes when any of its rollouts passed.
    """
    solved = {task_id for task_id, outcome in rollouts if rollout_passed(outcome)}
    passed = sum(task_id in solved for task_id in task_ids)
    total = len(task_ids)
    low, high = wilson_interval(passed, total)
    return {"k": k, "level": PROBE_LEVEL, "tasks": total, "rollouts": len(rollouts), "passed": passed,
            "rate": round(passed / total, 4) if total else None,
            "interval": [round(low, 4), round(high, 4)] if total else None}


def pass_line(result: dict[str, Any]) -> str:
    """The progress line: `pass@4 on 16 level-0 training tasks: 3/16 (19%, 95% CI 7-43%)`."""
    if result.get("skipped"):
        return f"pass@{result['k']} before training: skipped, {result['skipped']}"
    head = f"pass@{result['k']} on {result['tasks']} level-{result['level']} training tasks"
    low, high = (round(100 * bound) for bound in result["interval"])
    return f"{head}: {result['passed']}/{result['tasks']} ({result['rate']:.0%}, 95% CI {low}-{high}%)"


def measure_pass_at_k(trainer, reward: ExecutionReward, tasks: list[Task], grpo: GrpoSection, per_step: int,
                      prompt: Callable[[Task], list[dict]], stage_dir: Path) -> dict[str, Any]:
    """The starting adapter's pass@k on the level-0 probe tasks (see the module doc), kept in `stage_dir`."""
    path = stage_dir / PROBE_FILE
    if path.exists():
        return read_json(path)
    chosen = probe_tasks(tasks, grpo.probe_tasks)
    if not chosen:
        why = ("grpo.probe_tasks is 0" if not grpo.probe_tasks else
               f"no training task can be posed at level {PROBE_LEVEL} (its source writes one statement only)")
        result = {**count_pass_at_k([], [], grpo.generations), "skipped": why}
    else:
        rollouts = sample_rollouts(trainer, reward, chosen, grpo, per_step, prompt)
        result = count_pass_at_k([task.id for task in chosen], rollouts, grpo.generations)
    if is_main_process():
        atomic_write_json(path, result)
    return result


def sample_rollouts(trainer, reward: ExecutionReward, tasks: list[Task], grpo: GrpoSection, per_step: int,
                    prompt: Callable[[Task], list[dict]]) -> list[tuple[str | None, Outcome | None]]:
    """(task id, Outcome) of k rollouts per task, generated and graded as a training step would, trained on never.

    The trainer's reward is swapped for a fresh recording one, and its logged metrics, token count and the
    random state are put back afterwards, so the first step sees what it would have seen without the probe.
    """
    import torch

    probe = reward.like(keep_outcomes=True)
    saved_rewards, saved_tokens = trainer.reward_funcs, trainer.state.num_input_tokens_seen
    apply_phase(trainer, grpo.curriculum[0])
    trainer.model.train()  # rollouts are sampled in training mode during GRPO steps
    devices = list(range(torch.cuda.device_count()))
    try:
        trainer.reward_funcs = [probe]
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            for start in range(0, len(tasks), per_step):
                rows = [{"prompt": prompt(task), "task": task.to_json()}
                        for task in tasks[start:start + per_step] for _ in range(grpo.generations)]
                trainer._generate_and_score_completions(rows)
    finally:
        trainer.reward_funcs = saved_rewards
        trainer.state.num_input_tokens_seen = saved_tokens
        for logged in trainer._metrics.values():
            logged.clear()
    return list(probe.outcomes or [])
