"""Held-out means unseen: no held-out module's source or task reaches the tokenizer, pretraining, SFT,
preference or GRPO data.

The task side runs the pipeline's real steps (mutation campaign, split, gold and template trajectories)
on a corpus of four modules, two held out and two trained on, so it takes seconds, not the minutes of
the whole corpus. Held-out modules are recognised here by their file name, not by `corpus_split` or
`is_held_out`, which are what is under test.
"""

from __future__ import annotations

import functools
import itertools
import json
import subprocess
from pathlib import Path

import pytest

from apprentice.config.models import load_config
from apprentice.pipeline import data_steps
from apprentice.pipeline import run as pipeline
from apprentice.stages.result import StageResult
from apprentice.tasks import corpus
from apprentice.tasks.task import Task, read_tasks

HELD_OUT = corpus.HELD_OUT_MODULES
# Two held-out and two training modules whose tests run in a second: a campaign of 12 mutants takes ~6 s.
MODULES = ("colorsys", "fnmatch", "getopt", "heapq")
DISTINCTIVE_LINES = 8  # per held-out module: long source lines that no training file holds
TARGET = "python"


def _module_of(path: str | Path) -> str:
    """`src/textwrap.py` -> `textwrap`; a package file -> its package."""
    parts = Path(path).parts
    return parts[1].removesuffix(".py") if parts[0] == corpus.SOURCE_DIR and len(parts) > 1 else Path(path).stem


def _bug_modules(task: Task) -> set[str]:
    """Every module a task's bug diff (or its recorded fix) touches."""
    headers = [line[4:].removeprefix("a/").removeprefix("b/") for line in task.bug.splitlines()
               if line.startswith(("--- ", "+++ ")) and not line.endswith("/dev/null")]
    return {_module_of(path) for path in (*headers, *task.changed_files)}


@pytest.fixture(scope="module")
def distinctive() -> dict[str, list[str]]:
    """Per held-out module, a few long lines of its source that occur in no other stdlib file."""
    root = corpus.stdlib_dir()
    others = [path for path in corpus.stdlib_sources(include_held_out=True)
              if path.relative_to(root).parts[0].removesuffix(".py") not in HELD_OUT]
    other_text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in others)
    other_lines = {line.strip() for line in other_text.splitlines()}
    lines = {}
    for module in HELD_OUT:
        candidates = dict.fromkeys(line.strip() for line in (root / f"{module}.py").read_text().splitlines()
                                   if len(line.strip()) >= 40 and line.strip() not in other_lines)
        unique = (line for line in candidates if line not in other_text)  # not even inside a longer line
        lines[module] = list(itertools.islice(unique, DISTINCTIVE_LINES))
        assert len(lines[module]) == DISTINCTIVE_LINES, f"{module}: too few distinctive lines to check"
    return lines


def _leaks(text: str, distinctive: dict[str, list[str]]) -> list[str]:
    return [f"{module}: {line!r}" for module, lines in distinctive.items() for line in lines if line in text]


# --- the tokenizer and the pretraining corpus -----------------------------------------------------


def test_the_tokenizer_trains_on_no_held_out_file(monkeypatch):
    from apprentice.base import tiny

    class Trained(Exception):
        def __init__(self, files):
            self.files = files

    class RecordingTokenizer:  # stands in for tokenizers.Tokenizer: records what the BPE would train on
        def __init__(self, model):
            pass

        def train(self, files, trainer):
            raise Trained([Path(file) for file in files])

    monkeypatch.setattr(tiny, "Tokenizer", RecordingTokenizer)
    with pytest.raises(Trained) as trained:
        tiny.build_tokenizer(tiny.SIZES["tiny"])
    files = trained.value.files
    root = corpus.stdlib_dir()
    modules = {path.relative_to(root).parts[0].removesuffix(".py") for path in files}
    assert len(files) > 100 and set(corpus.TRAIN_MODULES) <= modules  # the stdlib, not an empty list
    assert not modules & set(HELD_OUT), sorted(modules & set(HELD_OUT))


def test_the_pretraining_corpus_holds_no_held_out_file():
    from apprentice.stages.corpus_data import corpus_files

    root = corpus.stdlib_dir()
    for seed in (None, 0):
        modules = {path.relative_to(root).parts[0].removesuffix(".py") for path in corpus_files(seed)}
        assert set(corpus.TRAIN_MODULES) <= modules
        assert not modules & set(HELD_OUT), sorted(modules & set(HELD_OUT))


class _ByteTokenizer:
    """UTF-8 bytes as token ids, 256 the separator: lossless, so the decoded stream is exactly the text
    `token_stream` assembled (copy exercises included), at a fraction of the BPE's cost."""

    pad_token_id = 256
    eos_token_id = 256

    def __call__(self, text, add_special_tokens=False):
        class Encoded:
            input_ids = list(text.encode("utf-8"))
        return Encoded()

    @staticmethod
    def decode(ids: list[int]) -> str:
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def test_the_pretraining_stream_holds_no_held_out_source(distinctive):
    from apprentice.base.pretrained import RECIPE
    from apprentice.stages.corpus_data import corpus_files, token_stream

    # The shipped base's recipe reads the whole corpus (~7M tokens), copy exercises included.
    stream = token_stream(_ByteTokenizer(), corpus_files(0), needed=10**10, copy_fraction=RECIPE["copy_fraction"])
    text = _ByteTokenizer.decode(stream)
    assert '{"quote": ' in text and "def bisect_right(" in text  # copy exercises and a training module are there
    assert not _leaks(text, distinctive), _leaks(text, distinctive)[:5]


# --- tasks, SFT trajectories, preference pairs, GRPO ----------------------------------------------


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    """(config, TaskSplit): the tasks step run for real on a four-module corpus, then its SFT data step."""
    assert set(MODULES) & set(HELD_OUT) and set(MODULES) - set(HELD_OUT) <= set(corpus.TRAIN_MODULES)
    overrides = [f"runs_dir={tmp_path_factory.mktemp('runs')}", "name=held-out", "tasks.max_tasks=12",
                 "tasks.max_per_function=1", "gates.data.min_tasks=1", "sft_data.tasks=6", "eval.enabled=false"]
    config = load_config(None, overrides)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(corpus, "build_corpus_repo", functools.partial(corpus.build_corpus_repo, modules=MODULES))
        split = data_steps.make_tasks(config, TARGET)
        data_steps.make_trajectories(config, TARGET, split.train)
    assert split.counts["train"] >= 2 and split.counts["eval"] >= 2, split.counts  # both sides to check
    return config, split


def test_the_train_file_holds_no_held_out_task_and_the_eval_file_only_those(pipeline_run):
    config, split = pipeline_run
    made = read_tasks(config.run.tasks_dir(TARGET) / "all.jsonl")
    train, held_out = read_tasks(split.train), read_tasks(split.eval)
    assert not [task.id for task in train if _bug_modules(task) & set(HELD_OUT)]
    assert not [task.id for task in held_out if not _bug_modules(task) <= set(HELD_OUT)]
    dropped = {task.id for task in made} - {task.id for task in train + held_out}
    # Only a training mutant that no test but a held-out module's catches is dropped (its statement would name that test).
    assert all(any(_module_of(test.split("::")[0]).removeprefix("test_") in HELD_OUT for test in task.fail_to_pass)
               for task in made if task.id in dropped), dropped
    assert {task.id for task in held_out} == {task.id for task in made if _bug_modules(task) & set(HELD_OUT)}




def test_sft_trajectories_hold_no_held_out_task_path_or_source(pipeline_run, distinctive):
    from apprentice.agent.trajectory import Trajectory

    config, split = pipeline_run
    train_ids = {task.id for task in read_tasks(split.train)}
    eval_ids = {task.id for task in read_tasks(split.eval)}
    lines = (config.run.data_dir(TARGET) / "sft.jsonl").read_text().splitlines()
    trajectories = [Trajectory.from_json(line) for line in lines if line.strip()]
    assert trajectories and {t.task_id for t in trajectories} <= train_ids
    for trajectory in trajectories:
        for message in trajectory.messages:
            text = json.dumps(message)
            named = [module for module in HELD_OUT if f"{module}.py" in text] + [i for i in eval_ids if i in text]
            assert not named, f"{trajectory.task_id} {message['role']} names {named}"
            assert not _leaks(message.get("content") or "", distinctive), trajectory.task_id


def test_a_training_task_repository_holds_no_held_out_module(pipeline_run):
    _, split = pipeline_run
    for task in read_tasks(split.train):
        listed = subprocess.run(["git", "-C", task.repo.path, "ls-tree", "-r", "--name-only", task.repo.commit],
                                capture_output=True, text=True, check=True).stdout.split()
        assert not {_module_of(path) for path in listed if path.startswith("src/")} & set(HELD_OUT), task.id


def test_a_task_file_of_corpus_mutants_is_split_by_module(pipeline_run, tmp_path):
    config, _ = pipeline_run
    made = config.run.tasks_dir(TARGET) / "all.jsonl"
    again = load_config(None, [f"runs_dir={tmp_path}", "name=from-file", f"tasks.source={made}", "gates.data.min_tasks=1"])
    split = data_steps.make_tasks(again, TARGET)
    assert not [task.id for task in read_tasks(split.train) if _bug_modules(task) & set(HELD_OUT)]


def test_preference_candidates_are_sampled_on_training_tasks_only(pipeline_run, monkeypatch, tmp_path):
    from apprentice.agent import backends
    from apprentice.data import candidates

    class Sampled(Exception):
        def __init__(self, tasks):
            self.tasks = tasks

    def record(tasks, backend, **_):
        raise Sampled(list(tasks))

    config, split = pipeline_run
    monkeypatch.setattr(backends, "LocalBackend", lambda *args, **kwargs: None)  # no model: the tasks are the point
    monkeypatch.setattr(candidates, "preferences_for_tasks", record)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(Sampled) as sampled:
        data_steps.make_preferences(config, TARGET, split.train, tmp_path / "base", adapter)
    tasks = sampled.value.tasks
    assert tasks and {task.id for task in tasks} <= {task.id for task in read_tasks(split.train)}
    assert not [task.id for task in tasks if _bug_modules(task) & set(HELD_OUT)]


def test_the_chain_hands_the_train_split_to_every_data_step_and_to_grpo(pipeline_run, monkeypatch, tmp_path):
    from apprentice.stages import launch

    config, split = pipeline_run
    seen: dict[str, Path] = {}
    stages: dict[str, object] = {}
    real_trajectories = data_steps.make_trajectories

    def trajectories(config, target, train_tasks):
        seen["sft data"] = train_tasks
        return real_trajectories(config, target, train_tasks)  # reused: the fixture made it

    def preferences(config, target, train_tasks, base_dir, sft_adapter):
        seen["preference data"] = train_tasks
        return data_steps.DataFile(tmp_path / "preference.jsonl", "recorded")

    class RecordingStage:  # every training stage: record its StageInputs, pass its gate
        def __init__(self, name):
            self.name = name

        def run(self, config, inputs):
            stages[self.name] = inputs
            return StageResult(self.name, inputs.target, inputs.stage_dir / "adapter", {}, None, {})

    monkeypatch.setattr(data_steps, "make_trajectories", trajectories)
    monkeypatch.setattr(data_steps, "make_preferences", preferences)
    monkeypatch.setattr(launch, "stage_module", RecordingStage)
    summary = pipeline.RunSummary(config.run_dir)
    pipeline.run_target(config, TARGET, tmp_path / "base", summary, force=False)
    assert list(stages) == ["sft", "preference", "grpo"], summary.render()
    assert seen == {"sft data": split.train, "preference data": split.train}
    assert stages["sft"].data == config.run.data_dir(TARGET) / "sft.jsonl"
    assert stages["preference"].data == tmp_path / "preference.jsonl"
    assert stages["grpo"].data == split.train != split.eval
    grpo_tasks = read_tasks(stages["grpo"].data)
    assert grpo_tasks and not [task.id for task in grpo_tasks if _bug_modules(task) & set(HELD_OUT)]
