"""GRPO: the agent works sandboxed tasks multi-turn; the reward is the grading of what it leaves.

    setup   -> base + the IPO (or SFT) adapter, trainable; prompts ordered by the curriculum
               (SPEC §3: easy tasks and short sequences first); one `TaskEnvironment` per rollout
    train   -> TRL GRPOTrainer with `environment_factory`: the model calls read_file, apply_patch,
               run_tests ... inside the task's workspace; a callback moves the curriculum phase
               (sequence length, tool iterations, reasoning effort) as steps pass
    probe   -> before the first step, the starting adapter's pass@k on level-0 training tasks (grpo_probe.py)
    cleanup -> adapter, per-step reward curve with each rollout's reward, the reward trend (first 20% of
               steps against the last 20%, with an interval), the share of high rewards, gate (SPEC §5), DONE

Reward per rollout (SPEC §4): -1.0 for an invalid tool call, else the composite of the grade
(execution 0.5, diff minimality 0.2, tool efficiency 0.15, thinking 0.15; shaping only when the
tests pass; capped at 1.0). Rollouts are graded in parallel through the sandbox pool, and one
failed grade scores 0.0 for that rollout alone.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from apprentice.agent.backends import stop_token_ids
from apprentice.agent.chat import chat_format
from apprentice.agent.tools import TOOL_SCHEMAS
from apprentice.config.models import RunConfig
from apprentice.data.prompts import developer_prompt
from apprentice.errors import StageError
from apprentice.gates import evaluate
from apprentice.stages.common import (
    Hardware,
    attach_lora,
    common_training_args,
    load_for_training,
    logged,
    require_chat_template,
    resource_errors,
    show_progress,
)
from apprentice.stages.grpo_curriculum import CurriculumCallback, check_levels, ordered_prompts
from apprentice.stages.grpo_env import TaskEnvironment
from apprentice.stages.grpo_metrics import RolloutRewardLog, high_reward_share, reward_trend, step_rewards
from apprentice.stages.grpo_probe import measure_pass_at_k, pass_line
from apprentice.stages.grpo_reward import ExecutionReward
from apprentice.stages.result import (
    ADAPTER_DIR,
    CHECKPOINT_DIR,
    StageInputs,
    StageResult,
    check_adapter_base,
    finish_stage,
    headline_number,
    input_hashes,
    prepare_stage_dir,
    reuse_if_done,
    save_adapter,
)
from apprentice.stages.settings import stage_config as settings_of
from apprentice.tasks import task as task_records
from apprentice.tasks.task import Task

STAGE = "grpo"
KNOBS = "grpo.generations, grpo.batch_size or the curriculum's max_seq_length"


def stage_config(config: RunConfig) -> dict[str, Any]:
    """The resolved settings this stage's output depends on (hashed into its inputs: `stages/settings.py`)."""
    return settings_of("grpo", config)


def run(config: RunConfig, inputs: StageInputs) -> StageResult:
    """Train (or reuse) the GRPO adapter of `inputs.target` on the tasks in `inputs.data` (Task JSONL)."""
    settings = stage_config(config)
    hashes = input_hashes(inputs, settings)
    if (finished := reuse_if_done(STAGE, inputs, hashes, ADAPTER_DIR)) is not None:
        return finished
    if inputs.parent_adapter is not None:
        check_adapter_base(inputs.parent_adapter, hashes["base"])
    tasks = read_tasks(inputs.data, inputs.target)
    check_levels(tasks, config.grpo)  # before the stage dir is touched: a bad level loses nothing
    resume = prepare_stage_dir(inputs, hashes)
    hardware = Hardware()
    environments: list[TaskEnvironment] = []
    with resource_errors(STAGE, KNOBS):
        trainer, reward = setup(config, inputs, tasks, hardware, environments)
        try:
            pass_at_k = measure_pass_at_k(trainer, reward, tasks, config.grpo, prompts_per_step(config),
                                          lambda task: prompt_for(task, inputs.target), inputs.stage_dir)
            print(f"  {STAGE} {pass_line(pass_at_k)}", flush=True)
            started = time.perf_counter()
            trainer.train(resume_from_checkpoint=str(resume) if resume else None)
            seconds = time.perf_counter() - started
        finally:
            for environment in environments:
                environment._close()
        save_adapter(trainer, inputs, hashes["base"], STAGE)
    metrics = collect_metrics(trainer, reward, seconds, resume is not None)
    steps = step_rewards(trainer.state.log_history)
    metrics.update(pass_at_k=pass_at_k, reward_trend=reward_trend(steps),
                   high_reward_share=high_reward_share(steps, config.gates.grpo.min_max_reward),
                   hardware_notes=hardware.notes)
    gate = evaluate(STAGE, metrics, config.gates)
    return finish_stage(STAGE, inputs, settings, hashes, metrics, gate, ADAPTER_DIR)


def read_tasks(path: Path | None, target: str) -> list[Task]:
    """The target's tasks from a Task JSONL file; StageError when there are none."""
    if path is None or not path.is_file():
        raise StageError(f"grpo needs a tasks file (Task JSONL) for '{target}', got {path}; run the tasks step first")
    tasks = [task for task in task_records.read_tasks(path) if task.language == target]
    if not tasks:
        raise StageError(f"'{path}' holds no {target} tasks; GRPO needs at least one")
    return tasks


def setup(config: RunConfig, inputs: StageInputs, tasks: list[Task], hardware: Hardware,
          environments: list[TaskEnvironment]):
    """(GRPOTrainer, ExecutionReward): the chained adapter, curriculum-ordered prompts, environments."""
    from datasets import Dataset
    from trl import GRPOTrainer

    model, tokenizer = load_for_training(inputs.base_dir, config.lora, hardware)
    require_chat_template(tokenizer, inputs.base_dir)
    tokenizer.padding_side = "left"  # generation pads on the left
    model = attach_lora(model, config.lora, inputs.parent_adapter)
    per_step = prompts_per_step(config)
    rows = ordered_prompts(tasks, config.grpo, per_step, lambda task: prompt_for(task, inputs.target))
    # Token-level format check: a rollout cut off mid-turn or writing prose outside the channels scores -1.0.
    def decode(ids: list[int]) -> str:
        return tokenizer.decode(ids, skip_special_tokens=False)

    reward = ExecutionReward(workers=2, terminators=frozenset(stop_token_ids(model, tokenizer)),
                             decode=decode if chat_format(tokenizer) == "harmony" else None)

    def new_environment() -> TaskEnvironment:
        environment = TaskEnvironment()
        environments.append(environment)
        return environment

    trainer = GRPOTrainer(
        model=model, reward_funcs=[reward], args=grpo_arguments(config, inputs.stage_dir / CHECKPOINT_DIR, hardware),
        train_dataset=Dataset.from_list(rows), processing_class=tokenizer, environment_factory=new_environment,
    )
    trainer.add_callback(CurriculumCallback(trainer, config.grpo.curriculum))
    trainer.add_callback(RolloutRewardLog(reward))
    render_agent_tool_schemas(trainer)
    return show_progress(trainer, STAGE, inputs.tracker_dir), reward


def render_agent_tool_schemas(trainer) -> None:
    """Show the policy the agent's tool schemas (`TOOL_SCHEMAS`), as every SFT trajectory and episode does.

    TRL renders an environment's tools from its methods' signatures and docstrings: alphabetical, with a comment
    per argument, other descriptions. A prompt the policy never saw in SFT made the miniature write malformed
    calls in all 12 rollouts (40ba40e, 2026-11-22). Rendering and parsing use these schemas; the calls still run on the
    environment's methods, which have the same names and arguments.
    """
    rendered = getattr(trainer, "_env_tools", None)
    if not isinstance(rendered, dict):
        raise StageError("this TRL's GRPOTrainer keeps no per-environment tool list (`_env_tools`) to render the "
                         "agent's tool schemas with; install the TRL version in requirements/constraints-cpu.txt")
    for name in rendered:
        rendered[name] = list(TOOL_SCHEMAS)


def prompts_per_step(config: RunConfig) -> int:
    """Distinct tasks per optimizer step: the generation batch over the generations per task."""
    grpo = config.grpo
    batch = grpo.batch_size * max(grpo.grad_accum, 1)
    if batch % grpo.generations:
        raise StageError(f"grpo.batch_size x grpo.grad_accum = {batch} must be a multiple of grpo.generations="
                         f"{grpo.generations}; raise grpo.grad_accum")
    return batch // grpo.generations


def prompt_for(task: Task, target: str) -> list[dict]:
    """The conversation GRPO starts from: a rotated developer prompt (SPEC §6) and the task statement."""
    return [
        {"role": "developer", "content": developer_prompt(STAGE, target, task.id)},
        {"role": "user", "content": task.statement},
    ]


def grpo_arguments(config: RunConfig, output_dir: Path, hardware: Hardware):
    """GRPOConfig from the run config's `grpo` section (SPEC §2 in the real profile)."""
    from trl import GRPOConfig

    grpo, first = config.grpo, config.grpo.curriculum[0]
    return GRPOConfig(
        **common_training_args(output_dir, report_to=config.logging.report_to),
        max_steps=grpo.steps,
        learning_rate=grpo.learning_rate,
        per_device_train_batch_size=grpo.batch_size,
        gradient_accumulation_steps=grpo.grad_accum,
        num_generations=grpo.generations,
        temperature=grpo.temperature,
        max_completion_length=first.max_seq_length,
        shuffle_dataset=False,  # the curriculum orders the prompts
        save_steps=max(1, grpo.steps // 4),
        optim=hardware.optimizer("adamw_torch"),
        beta=0.0,  # no reference model: the KL term of DeepSeek's GRPO is dropped, as in DAPO and Dr. GRPO
    )


def collect_metrics(trainer, reward: ExecutionReward, seconds: float, resumed: bool) -> dict[str, Any]:
    """Per-step reward mean and std, the best single rollout, and the share of time spent grading."""
    history = trainer.state.log_history
    means = [value for _, value in logged(history, "reward")]
    stds = [value for _, value in logged(history, "reward_std")]
    return {
        "rewards": means,
        "rollout_rewards": step_rewards(history),
        "reward_stds": stds,
        "max_reward": reward.best,
        "rollouts_graded": reward.graded,
        "grade_failures": reward.failures,
        "invalid_format_rollouts": reward.invalid_format,
        "reward_seconds": round(reward.seconds, 2),
        "train_seconds": round(seconds, 2),
        "reward_time_share": round(reward.seconds / seconds, 3) if seconds else None,
        "steps": trainer.state.global_step,
        "resumed": resumed,
    }


def headline(metrics: dict[str, Any]) -> str:
    """The run summary's key metric: the reward trend with its interval, the best reward, pass@k before training.

    `reward first 20% X -> last 20% Y (diff D, 95% CI lo..hi), max M, pass@k P`; metrics written before the
    trend was recorded show the first and last step's mean instead.
    """
    rewards, trend = metrics.get("rewards") or [], metrics.get("reward_trend")
    if not rewards:
        return "no rewards"
    best = headline_number(metrics, "max_reward")
    if not trend:
        return f"reward {rewards[0]:.3g} -> {rewards[-1]:.3g}, max {best}"
    interval = trend["interval"]
    ci = "n/a" if interval is None else f"{interval[0]:.3g}..{interval[1]:.3g}"
    return (f"reward first 20% {trend['first_mean']:.3g} -> last 20% {trend['last_mean']:.3g} (diff "
            f"{trend['diff']:+.3g}, 95% CI {ci}), max {best}, {_pass_at_k_text(metrics.get('pass_at_k'))}")


def _pass_at_k_text(probe: dict[str, Any] | None) -> str:
    if not probe or probe.get("rate") is None:
        return "pass@k n/a"
    return f"pass@{probe['k']} {probe['passed']}/{probe['tasks']} ({probe['rate']:.0%})"
