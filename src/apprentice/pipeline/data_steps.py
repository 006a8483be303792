"""The pipeline's data steps: tasks, SFT trajectories, preference pairs, each a resumable artifact.

Each step writes into its own directory of the run (`tasks/<target>/`, `data/<target>/`) with a
`meta.json` and a DONE marker, and is skipped when DONE exists with the same input hashes, so a
re-run costs nothing and a changed input redoes only what depends on it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
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
from apprentice.tasks.corpus import corpus_split, is_corpus_repo, training_commit
from apprentice.tasks.mutation.campaign import STDLIB, iter_tasks
from apprentice.tasks.sources import SOURCES, get_source
from apprentice.tasks.stats import gate_problems, task_stats
from apprentice.tasks.task import Task, read_tasks


@dataclass(frozen=True)
class TaskSplit:
    """A target's validated tasks, split into training and held-out evaluation files."""

    train: Path
    eval: Path
    counts: dict[str, int]
    skipped: bool = False  # True when a finished split with the same inputs was reused


def make_tasks(config: RunConfig, target: str) -> TaskSplit:
    """Make the target's tasks with the registered source `tasks.source`, then split train / eval (SPEC §6 gates).

    The source writes every task to `tasks/<target>/<source>.jsonl` (`all.jsonl` for mutation), where a
    rerun resumes; changing the source, its repository or any tasks setting redoes the step.
    """
    directory = config.run.tasks_dir(target)
    section = config.tasks
    repo = section.repos.get(target, "")  # a task-file source needs no repository
    inputs = tasks_inputs(config, target)
    split = TaskSplit(config.run.tasks_file(target, "train"), config.run.tasks_file(target, "eval"), {})
    if is_done(directory, inputs):
        return replace(_with_counts(split), skipped=True)
    source = get_source(section.source)
    report = source(Path(repo), target, directory / _made_name(section.source), max_tasks=section.max_tasks,
                    workers=section.workers, max_per_function=section.max_per_function)
    if report.interrupted:
        raise DataError(f"task validation for {target} was interrupted; run again to resume it")
    tasks = list(iter_tasks(report.out))
    train, held_out = split_tasks(tasks, section.eval_share)
    train, held_out = deal_levels(train, section.levels), deal_levels(held_out, section.levels)
    atomic_write_text(split.train, "".join(task.to_json() + "\n" for task in train))
    atomic_write_text(split.eval, "".join(task.to_json() + "\n" for task in held_out))
    stats = task_stats(report.out)
    problems = gate_problems(stats, config.gates.data)
    atomic_write_json(directory / "stats.json", {"train": len(train), "eval": len(held_out),
                                                 "wall_s": round(report.wall_s, 1), "gate_problems": problems})
    if problems:
        raise DataError(f"{target} tasks fail the data-quality gate: {'; '.join(problems)}; "
                        "raise tasks.max_tasks or point tasks.repos at a larger repository")
    write_meta(directory, config.tasks.model_dump(mode="json"), inputs, {"train": len(train), "eval": len(held_out)})
    mark_done(directory)
    return _with_counts(split)


def tasks_headline(split: TaskSplit) -> str:
    """The run summary's line for the tasks step: how many train and eval tasks."""
    return f"{split.counts['train']} train / {split.counts['eval']} eval tasks"


def data_headline(data: DataFile) -> str:
    """The run summary's line for a data step: what was kept of what was tried."""
    return data.detail


def split_tasks(tasks: list[Task], eval_share: float) -> tuple[list[Task], list[Task]]:
    """(train, eval): tasks in a stdlib corpus repository split by module (its held-out modules), whichever
    source made them (a campaign, or a task file of its mutants); tasks of any other repository by task-id
    hash (the `eval_share` of them with the lowest hashes: deterministic, and never empty for 2+ tasks)."""
    corpus = {path for path in {task.repo.path for task in tasks} if is_corpus_repo(Path(path))}
    held_out = [task for task in tasks if task.repo.path in corpus and corpus_split(task.bug_file) == "eval"]
    others = [task for task in tasks if task.repo.path not in corpus]
    # The lowest hashes, at least one task as soon as there are two: a small repository still gets evaluated.
    count = max(1, round(eval_share * len(others))) if len(others) > 1 else 0
    held_out += sorted(others, key=lambda task: _hash_share(task.id))[:count]
    ids = {task.id for task in held_out}
    train = _training_side([task for task in tasks if task.id not in ids], corpus)
    return train, [task for task in tasks if task.id in ids]


def _training_side(tasks: list[Task], corpus: set[str]) -> list[Task]:
    """Training tasks of a corpus repository (`corpus`: their paths) pinned to its commit without the held-out
    modules (`corpus.training_commit`), their pass-to-pass tests of those modules dropped; a task that only a
    held-out module's test catches is dropped (its level-2 statement would name that test)."""
    commits: dict[tuple[str, str], str] = {}
    kept = []
    for task in tasks:
        if task.repo.path not in corpus:
            kept.append(task)
            continue
        if any(_held_out_test(test) for test in task.fail_to_pass):
            continue
        key = (task.repo.path, task.repo.commit)
        if key not in commits:
            commits[key] = training_commit(Path(task.repo.path), task.repo.commit)
        pass_to_pass = tuple(test for test in task.pass_to_pass if not _held_out_test(test))
        kept.append(replace(task, repo=replace(task.repo, commit=commits[key]), pass_to_pass=pass_to_pass))
    return kept


def _held_out_test(test_id: str) -> bool:
    """Whether a corpus test id (`tests/test_textwrap.py::Case::test_x`) tests a held-out module."""
    return corpus_split(Path(test_id.split("::")[0]).name.removeprefix("test_")) == "eval"


def deal_levels(tasks: list[Task], levels: list[int]) -> list[Task]:
    """Each task at one of `levels`, dealt in turn in the order of a hash of its id (so every level gets its
    share, whatever the file order), the tasks kept in their order. TaskFormatError for a task whose source
    wrote no statement at the level it is dealt (mined tasks carry their commit's text only)."""
    order = sorted(range(len(tasks)), key=lambda index: _hash_share(tasks[index].id))
    dealt = {index: levels[turn % len(levels)] for turn, index in enumerate(order)}
    return [task.at_level(dealt[index]) for index, task in enumerate(tasks)]


def spread_over_files(tasks: list[Task], count: int | None) -> list[Task]:
    """The first `count` tasks taken round-robin over the files their bugs are in (all of them for None).

    Task files list mutants file by file; their first N would all sit in two or three modules, and a
    model trained on them learns those modules by heart instead of the agent's moves (5f06b1b: eval
    loss rose while train loss fell). Order within a file is kept, so the choice is deterministic.
    """
    return spread(tasks, count, (lambda task: task.bug_file,))


def spread_held_out(tasks: list[Task], count: int | None) -> list[Task]:
    """The first `count` held-out tasks taken in turn over statement level, then kind of bug (the mutation
    operator or the task source), then file: a capped evaluation reports every level and kind instead of
    the first file's first operator (the demo's first 8 held-out tasks were 5 `statement_delete`)."""
    return spread(tasks, count, (lambda task: task.level, lambda task: task.bug_kind, lambda task: task.bug_file))


def spread(tasks: list[Task], count: int | None, keys: tuple) -> list[Task]:
    """The first `count` of `tasks` (all for None) dealt round-robin over the groups of `keys[0]`, each group
    dealt in turn over `keys[1:]` the same way; order is kept within the last groups (deterministic)."""
    if not keys:
        return tasks if count is None else tasks[:count]
    groups: dict[object, list[Task]] = {}
    for task in tasks:
        groups.setdefault(keys[0](task), []).append(task)
    queues = [spread(group, None, keys[1:]) for group in groups.values()]
    chosen: list[Task] = []
    for depth in range(max((len(queue) for queue in queues), default=0)):
        chosen.extend(queue[depth] for queue in queues if depth < len(queue))
    return chosen if count is None else chosen[:count]


def _made_name(source: str) -> str:
    """Each source its own file: switching sources never mixes their tasks or resumes the wrong one."""
    if source == "mutation":
        return "all.jsonl"  # with all.repo and all.log.jsonl beside it, as the campaign names them
    return f"{source}.jsonl" if source in SOURCES else "from-file.jsonl"


def _source_hash(source: str, repo: str) -> str:
    """What the source reads, hashed: mined repositories by HEAD and manifest (mining pins refs into them)."""
    if source not in SOURCES:
        return hash_path(Path(source))
    if source == "history":
        from apprentice.tasks.history.git import check_history

        return check_history(Path(repo))
    if source == "package":
        from apprentice.tasks.packages.manifest import read_manifest

        return hash_value(read_manifest(Path(repo)).to_json())
    if repo == STDLIB:  # the embedded corpus: its module list is what it lays out
        from apprentice.tasks.corpus import CORPUS_MODULES

        return hash_value({"repo": STDLIB, "modules": list(CORPUS_MODULES)})
    return hash_path(Path(repo))


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


def tasks_inputs(config: RunConfig, target: str) -> dict[str, str]:
    """What the tasks step's output depends on, hashed: the source, what it reads, the `tasks` settings."""
    section = config.tasks
    repo = section.repos.get(target, "")
    return {"source": section.source, "repo": _source_hash(section.source, repo),
            "settings": hash_value(section.model_dump(mode="json"))}


def trajectory_inputs(config: RunConfig, train_tasks: Path) -> dict[str, str]:
    """What the SFT data depends on, hashed: the training tasks, the data gates, the `sft_data` settings."""
    settings = {"gates": config.gates.data.model_dump(mode="json"), "sft_data": config.sft_data.model_dump(mode="json")}
    return {"tasks": hash_path(train_tasks), "settings": hash_value(settings)}


def preference_inputs(config: RunConfig, train_tasks: Path, sft_adapter: Path) -> dict[str, str]:
    """What the preference pairs depend on, hashed: the training tasks, the SFT adapter, `preference_data`."""
    return {"tasks": hash_path(train_tasks), "adapter": hash_path(sft_adapter),
            "settings": hash_value(config.preference_data.model_dump(mode="json"))}


def make_trajectories(config: RunConfig, target: str, train_tasks: Path) -> DataFile:
    """Gold and template trajectories of the training tasks, replayed green, checked by the SPEC §6 gates.

    The first round has no self-generated data yet: gold (the direct path to the known fix) and
    template (another real path to it: list or search first, or a failing test run first).
    """
    from apprentice.data.gold import GoldShape
    from apprentice.data.quality import check_trajectories
    from apprentice.data.trajectories import gold_trajectories
    from apprentice.grading.grade import GradeMemo

    directory = config.run.data_dir(target)
    out = directory / "sft.jsonl"
    inputs = trajectory_inputs(config, train_tasks)
    if is_done(directory / "sft", inputs):
        return DataFile(out, _read_detail(directory / "sft"), skipped=True)
    section = config.sft_data
    tasks = spread_over_files(read_tasks(train_tasks),
                              section.tasks)
    shape = GoldShape.from_section(section)
    memo = GradeMemo()
    gold, gold_report = gold_trajectories(tasks, prompts="sft", gate=config.gates.data, shape=shape,
                                          workers=section.workers, memo=memo)
    template, template_report = gold_trajectories(tasks if section.template else [], template=True, prompts="sft",
                                                  gate=config.gates.data, shape=shape, workers=section.workers,
                                                  memo=memo)
    kept = gold + template
    quality = check_trajectories(kept, config.gates.data)
    if not quality.passed:
        raise DataError(f"{target} SFT trajectories fail the quality gates:\n{quality.text()}")
    atomic_write_text(out, "".join(trajectory.to_json() + "\n" for trajectory in kept))
    levels = Counter(task.level for task in tasks)
    detail = (f"{gold_report.kept}/{gold_report.attempts} gold + {template_report.kept}/{template_report.attempts} "
              f"template trajectories replayed green ({memo.runs} graded runs, {memo.reused} reused) from "
              f"{len({task.bug_file for task in tasks})} modules, levels "
              f"{', '.join(f'L{level} {count}' for level, count in sorted(levels.items()))}; quality gates pass")
    reports = {"gold": gold_report.to_dict(), "template": template_report.to_dict()}
    _finish(directory / "sft", inputs, {"reports": reports, "quality": quality.to_dict(), "detail": detail})
    return DataFile(out, detail)


def make_preferences(config: RunConfig, target: str, train_tasks: Path, base_dir: Path, sft_adapter: Path) -> DataFile:
    """Preference pairs: the gold fix against episodes sampled from the SFT adapter, ranked by execution."""
    from apprentice.agent.backends import LocalBackend
    from apprentice.agent.loop import LoopConfig
    from apprentice.data.candidates import preferences_for_tasks

    directory = config.run.data_dir(target, config.round)
    out = directory / "preference.jsonl"
    inputs = preference_inputs(config, train_tasks, sft_adapter)
    if is_done(directory / "preference", inputs):
        return DataFile(out, _read_detail(directory / "preference"), skipped=True)
    section = config.preference_data
    tasks = spread_over_files(read_tasks(train_tasks),
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
