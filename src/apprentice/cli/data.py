"""What `apprentice data trajectories|preferences|check|mix` do, behind their Typer commands.

The commands in `cli/app.py` only parse options and call these. Each writes its data file atomically
and prints a short report; `check_from_cli` returns the exit code (non-zero when a gate fails).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from apprentice.agent.backends import Backend, LocalBackend, OpenAIBackend
from apprentice.agent.loop import LoopConfig
from apprentice.config.models import load_config
from apprentice.data.candidates import PreferenceReport, preferences_for_tasks
from apprentice.data.gold import Built
from apprentice.data.records import read_tasks, read_trajectories, write_lines
from apprentice.data.mix import accumulate, mix_round
from apprentice.data.quality import QualityReport, check_trajectories
from apprentice.data.trajectories import BuildReport, check_source, gold_trajectories, teacher_trajectories
from apprentice.errors import DataError


def make_backend(base_url: str | None, model: str | None, model_dir: Path | None, *, api_key_env: str | None,
                 temperature: float) -> Backend:
    """An OpenAI-compatible backend (`base_url` + `model`) or a local one (`model_dir`), exactly one."""
    if (base_url is None) == (model_dir is None):
        raise DataError("give either --base-url (with --model) for an OpenAI-compatible server "
                        "or --model-dir for a local model, not both and not neither")
    if base_url is not None:
        if not model:
            raise DataError("--base-url needs --model (the model name the server serves)")
        return OpenAIBackend(base_url, model, api_key_env=api_key_env, temperature=temperature)
    return LocalBackend(model_dir, temperature=temperature)


def trajectories_from_cli(tasks_file: Path, source: str, out: Path, console: Console, *, limit: int | None = None,
                          prompts: str = "all", backend: Backend | None = None, attempts: int = 4) -> BuildReport:
    """Build `source` trajectories for the tasks of `tasks_file`, write the kept ones to `out`, print the report."""
    check_source(source)
    tasks = read_tasks(tasks_file)[:limit]
    if not tasks:
        raise DataError(f"{tasks_file} holds no tasks; make some with `apprentice tasks mutate`")

    def progress(built: Built) -> None:
        verdict = "kept" if built.trajectory is not None else f"dropped: {built.dropped}"
        console.print(f"{built.task_id}: {verdict}", highlight=False)

    if source == "teacher":
        if backend is None:
            raise DataError("--source teacher needs a backend: --base-url URL --model NAME, or --model-dir DIR")
        kept, report = teacher_trajectories(tasks, backend, attempts=attempts, prompts=prompts, on_task=progress)
    else:
        kept, report = gold_trajectories(tasks, template=source == "template", prompts=prompts, on_task=progress)
    write_lines(out, (trajectory.to_json() for trajectory in kept))
    console.print(report.text(), highlight=False)
    console.print(f"{len(kept)} trajectories written to {out}", highlight=False)
    return report


def preferences_from_cli(tasks_file: Path, out: Path, console: Console, *, backend: Backend | None,
                         samples: int = 4, limit: int | None = None) -> PreferenceReport:
    """Preference pairs (gold + `samples` sampled candidates per task) written to `out`; prints the report."""
    tasks = read_tasks(tasks_file)[:limit]
    if not tasks:
        raise DataError(f"{tasks_file} holds no tasks; make some with `apprentice tasks mutate`")

    def progress(task_id: str, pair, reason: str) -> None:
        console.print(f"{task_id}: {pair.why if pair is not None else 'no pair: ' + reason}", highlight=False)

    pairs, report = preferences_for_tasks(tasks, backend, samples=samples, config=LoopConfig(), on_task=progress)
    write_lines(out, (pair.to_json() for pair in pairs))
    console.print(report.text(), highlight=False)
    console.print(f"{len(pairs)} pairs written to {out}", highlight=False)
    return report


def check_from_cli(data_file: Path, console: Console, *, config: Path | None = None) -> tuple[QualityReport, int]:
    """The quality-gate report of a trajectory file (thresholds from the run config); exit code 1 on failure."""
    gate = load_config(config, []).gates.data
    report = check_trajectories(read_trajectories(data_file), gate)
    console.print(report.text(), highlight=False)
    return report, 0 if report.passed else 1


def mix_from_cli(rounds_dir: Path, add: list[Path], out: Path, console: Console, *, replay_share: float = 0.15,
                 seed: int = 0) -> int:
    """Store the trajectories of `add` as a new round, then write that round's mix to `out`; returns the round."""
    new = [trajectory for path in add for trajectory in read_trajectories(path)]
    number = accumulate(rounds_dir, new)
    mixed, report = mix_round(rounds_dir, number, replay_share=replay_share, seed=seed)
    write_lines(out, (trajectory.to_json() for trajectory in mixed))
    console.print(report.text(), highlight=False)
    console.print(f"{len(mixed)} trajectories written to {out}", highlight=False)
    return number
