"""The pipeline's data steps: tasks, SFT trajectories, preference pairs, each a resumable artifact.

Each step writes into its own directory of the run (`tasks/<target>/`, `data/<target>/`) with a
`meta.json` and a DONE marker, and is skipped when DONE exists with the same input hashes, so a
re-run costs nothing and a changed input redoes only what depends on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from apprentice.artifacts import (
    atomic_write_json,
    atomic_write_text,
    hash_path,
    hash_value,
    is_done,
    mark_done,
    read_meta,
    write_meta,
)
from apprentice.config.models import RunConfig
from apprentice.errors import DataError
from apprentice.tasks.corpus import corpus_split
from apprentice.tasks.mutation.campaign import STDLIB, CampaignConfig, iter_tasks, run_campaign
from apprentice.tasks.stats import gate_problems, task_stats
from apprentice.tasks.task import Task


@dataclass(frozen=True)
class TaskSplit:
    """A target's validated tasks, split into training and held-out evaluation files."""

    train: Path
    eval: Path
    counts: dict[str, int]
    skipped: bool = False  # True when a finished split with the same inputs was reused


def make_tasks(config: RunConfig, target: str) -> TaskSplit:
    """Mutate the target's repository into validated tasks, then split train / eval (SPEC §6 gates)."""
    directory = config.run_dir / "tasks" / target
    repo = config.tasks.repos[target]
    inputs = {"repo": repo if repo == STDLIB else hash_path(Path(repo)),
              "settings": hash_value(config.tasks.model_dump(mode="json"))}
    split = TaskSplit(directory / "train.jsonl", directory / "eval.jsonl", {})
    if is_done(directory, inputs):
        return replace(_with_counts(split), skipped=True)
    campaign = CampaignConfig(Path(repo), target, directory / "all.jsonl", max_tasks=config.tasks.max_tasks,
                              workers=config.tasks.workers, max_per_function=config.tasks.max_per_function)
    summary = run_campaign(campaign)
    if summary.interrupted:
        raise DataError(f"task validation for {target} was interrupted; run again to resume it")
    tasks = list(iter_tasks(campaign.out))
    train, held_out = split_tasks(tasks, repo, config.tasks.eval_share)
    atomic_write_text(split.train, "".join(task.to_json() + "\n" for task in train))
    atomic_write_text(split.eval, "".join(task.to_json() + "\n" for task in held_out))
    stats = task_stats(campaign.out)
    problems = gate_problems(stats, config.gates.data)
    atomic_write_json(directory / "stats.json", {"train": len(train), "eval": len(held_out),
                                                 "wall_s": round(summary.wall_s, 1), "gate_problems": problems})
    if problems:
        raise DataError(f"{target} tasks fail the data-quality gate: {'; '.join(problems)}; "
                        "raise tasks.max_tasks or point tasks.repos at a larger repository")
    write_meta(directory, config.tasks.model_dump(mode="json"), inputs, {"train": len(train), "eval": len(held_out)})
    mark_done(directory)
    return _with_counts(split)


def split_tasks(tasks: list[Task], repo: str, eval_share: float) -> tuple[list[Task], list[Task]]:
    """(train, eval): the stdlib corpus splits by module (held-out modules); other repos by task-id hash
    (the `eval_share` of tasks with the lowest hashes: deterministic, and never empty for 2+ tasks)."""
    if repo == STDLIB:
        held_out = [task for task in tasks if corpus_split(_bug_path(task)) == "eval"]
    else:
        # The lowest hashes, at least one task as soon as there are two: a small repository still gets evaluated.
        count = max(1, round(eval_share * len(tasks))) if len(tasks) > 1 else 0
        held_out = sorted(tasks, key=lambda task: _hash_share(task.id))[:count]
    ids = {task.id for task in held_out}
    return [task for task in tasks if task.id not in ids], held_out


def spread_over_files(tasks: list[Task], count: int | None) -> list[Task]:
    """The first `count` tasks taken round-robin over the files their bugs are in (all of them for None).

    Task files list mutants file by file; their first N would all sit in two or three modules, and a
    model trained on them learns those modules by heart instead of the agent's moves (session 3: eval
    loss rose while train loss fell). Order within a file is kept, so the choice is deterministic.
    """
    by_file: dict[str, list[Task]] = {}
    for task in tasks:
        by_file.setdefault(_bug_path(task), []).append(task)
    queues = list(by_file.values())
    chosen: list[Task] = []
    for depth in range(max((len(queue) for queue in queues), default=0)):
        chosen.extend(queue[depth] for queue in queues if depth < len(queue))
    return chosen if count is None else chosen[:count]


def _bug_path(task: Task) -> str:
    first = next((line for line in task.bug.splitlines() if line.startswith("+++ ")), "+++ b/unknown")
    return first[4:].removeprefix("b/")


def _hash_share(task_id: str) -> float:
    return int(hashlib.sha256(task_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _with_counts(split: TaskSplit) -> TaskSplit:
    counts = {name: sum(1 for line in path.read_text().splitlines() if line.strip())
              for name, path in (("train", split.train), ("eval", split.eval))}
    return TaskSplit(split.train, split.eval, counts)


@dataclass(frozen=True)
class DataFile:
    """A dataset the pipeline built (or reused), and one line saying what is in it."""

    path: Path
    detail: str
    skipped: bool = False


def make_trajectories(config: RunConfig, target: str, train_tasks: Path) -> DataFile:
    """Gold and template trajectories of the training tasks, replayed green, checked by the SPEC §6 gates.

    The first round has no self-generated data yet: gold (the direct path to the known fix) and
    template (another real path to it: list or search first, or a failing test run first).
    """
    from apprentice.data.gold import GoldShape
    from apprentice.data.quality import check_trajectories
    from apprentice.data.trajectories import gold_trajectories

    directory = config.run_dir / "data" / target
    out = directory / "sft.jsonl"
    settings = {"gates": config.gates.data.model_dump(mode="json"), "sft_data": config.sft_data.model_dump(mode="json")}
    inputs = {"tasks": hash_path(train_tasks), "settings": hash_value(settings)}
    if is_done(directory / "sft", inputs):
        return DataFile(out, _read_detail(directory / "sft"), skipped=True)
    section = config.sft_data
    tasks = spread_over_files([Task.from_json(line) for line in train_tasks.read_text().splitlines() if line.strip()],
                              section.tasks)
    shape = GoldShape(section.read_whole_lines, section.read_margin, section.max_output_chars, section.brief_thinking,
                      section.read_end, tuple(section.template_paths))
    gold, gold_report = gold_trajectories(tasks, prompts="sft", gate=config.gates.data, shape=shape,
                                          workers=section.workers)
    template, template_report = gold_trajectories(tasks if section.template else [], template=True, prompts="sft",
                                                  gate=config.gates.data, shape=shape, workers=section.workers)
    kept = gold + template
    quality = check_trajectories(kept, config.gates.data)
    if not quality.passed:
        raise DataError(f"{target} SFT trajectories fail the quality gates:\n{quality.text()}")
    atomic_write_text(out, "".join(trajectory.to_json() + "\n" for trajectory in kept))
    detail = (f"{gold_report.kept}/{gold_report.attempts} gold + {template_report.kept}/{template_report.attempts} "
              "template trajectories replayed green; quality gates pass")
    reports = {"gold": gold_report.to_dict(), "template": template_report.to_dict()}
    _finish(directory / "sft", inputs, {"reports": reports, "quality": quality.to_dict(), "detail": detail})
    return DataFile(out, detail)


def data_dir(config: RunConfig, target: str) -> Path:
    """`data/<target>/`, or `data/<target>/round-<n>/` for flywheel rounds 2+ (round 1's data stays as it was)."""
    directory = config.run_dir / "data" / target
    return directory if config.round == 1 else directory / f"round-{config.round}"


def make_preferences(config: RunConfig, target: str, train_tasks: Path, base_dir: Path, sft_adapter: Path) -> DataFile:
    """Preference pairs: the gold fix against episodes sampled from the SFT adapter, ranked by execution."""
    from apprentice.agent.backends import LocalBackend
    from apprentice.agent.loop import LoopConfig
    from apprentice.data.candidates import preferences_for_tasks

    directory = data_dir(config, target)
    out = directory / "preference.jsonl"
    settings = config.preference_data.model_dump(mode="json")
    inputs = {"tasks": hash_path(train_tasks), "adapter": hash_path(sft_adapter), "settings": hash_value(settings)}
    if is_done(directory / "preference", inputs):
        return DataFile(out, _read_detail(directory / "preference"), skipped=True)
    section = config.preference_data
    tasks = spread_over_files([Task.from_json(line) for line in train_tasks.read_text().splitlines() if line.strip()],
                              section.tasks)
    backend = LocalBackend(base_dir, adapter=sft_adapter, temperature=section.temperature,
                           max_new_tokens=section.max_new_tokens, seed=0)
    loop = LoopConfig(max_turns=section.max_turns)
    pairs, report = preferences_for_tasks(tasks, backend, samples=section.samples, config=loop)
    if not pairs:
        raise DataError(f"no preference pair for {target} from {len(tasks)} tasks ({report.text()}); "
                        "raise preference_data.tasks or preference_data.samples")
    atomic_write_text(out, "".join(pair.to_json() + "\n" for pair in pairs))
    detail = f"{len(pairs)} pairs from {report.tasks} tasks x {section.samples} samples + gold"
    _finish(directory / "preference", inputs, {"report": report.to_dict(), "detail": detail})
    return DataFile(out, detail)


def _finish(marker_dir: Path, inputs: dict[str, str], metrics: dict) -> None:
    write_meta(marker_dir, {}, inputs, metrics)
    mark_done(marker_dir)


def _read_detail(marker_dir: Path) -> str:
    return str(read_meta(marker_dir)["metrics"].get("detail", "")) + " (reused)"
