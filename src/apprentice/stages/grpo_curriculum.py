"""The GRPO curriculum (SPEC §3): which tasks come when, and what the trainer allows per phase.

Prompts are laid out in training order (the trainer does not shuffle): each phase gets the tasks
of its complexity, easiest first, cycled to fill its steps, posed at the phase's statement levels
(SPEC §10) when it names them. A callback moves the phase's limits into the trainer as steps pass:
completion length, tool-call iterations (the tool pattern) and the reasoning effort the gpt-oss
chat template announces.
"""

from __future__ import annotations

from collections.abc import Callable

from transformers import TrainerCallback

from apprentice.config.models import CurriculumPhase, GrpoSection
from apprentice.errors import StageError
from apprentice.pipeline.data_steps import deal_levels
from apprentice.tasks.task import Task

# Phase complexity -> the task difficulty tiers it draws from (Task.difficulty 1-4).
TIERS = {"single-file": (1,), "multi-file": (2, 1), "module": (3, 2), "repository": (4, 3)}
# Tool pattern -> how many rounds of tool calls a rollout may make.
TOOL_ROUNDS = {"single": 1, "chain": 3, "conditional": 5, "planning": 8}


def phase_tasks(tasks: list[Task], phase: CurriculumPhase) -> list[Task]:
    """The tasks of the phase's tiers; the nearest easier tier when none exist; all tasks at last."""
    for tier in TIERS[phase.tasks]:
        chosen = [task for task in tasks if task.difficulty == tier]
        if chosen:
            return chosen
    easier = [task for task in tasks if task.difficulty <= TIERS[phase.tasks][0]]
    return easier or tasks


def can_pose(task: Task, level: int) -> bool:
    """Whether `task.at_level(level)` has a statement to give: its own level, or a source that wrote all three."""
    return level == task.level or bool(task.statements)


def phase_pool(tasks: list[Task], phase: CurriculumPhase) -> list[Task]:
    """The phase's tasks in id order, each posed at one of `phase.levels` (dealt by a hash of its id).

    A task whose source wrote one statement only sits out a phase posed at other levels; `check_levels`
    has made sure some task is left for every level named.
    """
    pool = sorted(phase_tasks(tasks, phase), key=lambda task: task.id)
    if phase.levels is None:
        return pool
    return deal_levels([task for task in pool if all(can_pose(task, level) for level in phase.levels)], phase.levels)


def check_levels(tasks: list[Task], grpo: GrpoSection) -> None:
    """StageError, one line, for a phase naming a statement level none of its tasks can be posed at."""
    for index, phase in enumerate(grpo.curriculum):
        pool = phase_tasks(tasks, phase)
        for level in phase.levels or ():
            if not any(can_pose(task, level) for task in pool):
                sources = sorted({task.source for task in pool})
                raise StageError(
                    f"grpo.curriculum[{index}] (until_step {phase.until_step}) poses its tasks at statement level "
                    f"{level}, but none of its {len(pool)} training tasks (source {', '.join(sources)}) carries a "
                    f"level-{level} statement; drop {level} from grpo.curriculum[{index}].levels or train on tasks "
                    "whose source writes all three levels (mutation)")
        if phase.levels is not None and not phase_pool(tasks, phase):
            raise StageError(f"grpo.curriculum[{index}]: no training task can be posed at every level of "
                             f"{phase.levels}; name fewer levels in grpo.curriculum[{index}].levels")


def ordered_prompts(tasks: list[Task], grpo: GrpoSection, per_step: int,
                    prompt: Callable[[Task], list[dict]]) -> list[dict]:
    """One dataset row per prompt slot, in training order: {"prompt": messages, "task": Task JSON}."""
    rows, step = [], 0
    for phase in grpo.curriculum:
        pool = phase_pool(tasks, phase)
        steps = min(phase.until_step, grpo.steps) - step
        for slot in range(max(steps, 0) * per_step):
            task = pool[slot % len(pool)]
            rows.append({"prompt": prompt(task), "task": task.to_json()})
        step = min(phase.until_step, grpo.steps)
    return rows


def phase_at(step: int, curriculum: list[CurriculumPhase]) -> CurriculumPhase:
    """The curriculum phase that `step` (0-based) falls in."""
    return next((phase for phase in curriculum if step < phase.until_step), curriculum[-1])


class CurriculumCallback(TrainerCallback):
    """Applies the current phase's limits to the trainer before every step."""

    def __init__(self, trainer, curriculum: list[CurriculumPhase]):
        self.trainer = trainer
        self.curriculum = curriculum

    def on_step_begin(self, args, state, control, **kwargs):
        apply_phase(self.trainer, phase_at(state.global_step, self.curriculum))
        return control


def apply_phase(trainer, phase: CurriculumPhase) -> None:
    """Set the trainer's completion budget, tool rounds and reasoning effort to the phase's."""
    trainer.max_completion_length = phase.max_seq_length
    # TRL builds its GenerationConfig once, from the first phase: each turn's token budget must follow too.
    generation = getattr(trainer, "generation_config", None)
    if generation is not None:
        generation.max_new_tokens = phase.max_seq_length
    trainer.max_tool_calling_iterations = TOOL_ROUNDS[phase.tool_pattern]
    trainer.chat_template_kwargs = {**trainer.chat_template_kwargs, "reasoning_effort": phase.reasoning_effort}
