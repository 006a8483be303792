"""`apprentice data trajectories|preferences|check|mix`: training data files, with a report each.

The work is `apprentice.data.build`; these commands print each task's verdict as it comes and the
closing report. `data check` exits 1 when a gate fails.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from apprentice.cli.output import cli_console

if TYPE_CHECKING:
    from apprentice.agent.backends import Backend
    from apprentice.data.candidates import PreferenceReport
    from apprentice.data.gold import Built
    from apprentice.data.quality import QualityReport
    from apprentice.data.trajectories import BuildReport

data_app = typer.Typer(help="Training data: trajectories, preference pairs, quality gates, mixes.", no_args_is_help=True)
console = cli_console()


@data_app.command("trajectories")
def data_trajectories(
    tasks: Annotated[Path, typer.Argument(help="Tasks as JSON lines (e.g. from `apprentice tasks mutate`).")],
    source: Annotated[str, typer.Option(help="gold (the known fix), template (another path to it) or teacher (a model).")] = "gold",
    out: Annotated[Path, typer.Option(help="Trajectories as JSON lines (the SFT data format).")] = Path("sft.jsonl"),
    limit: Annotated[int | None, typer.Option(help="Use only the first N tasks.")] = None,
    prompts: Annotated[str, typer.Option(help="Developer-prompt pool: all, sft, ipo or grpo (SPEC §6).")] = "all",
    attempts: Annotated[int, typer.Option(help="Teacher: episodes per task; only green ones are kept.")] = 4,
    base_url: Annotated[str | None, typer.Option(help="Teacher: OpenAI-compatible endpoint, e.g. http://host:8000/v1.")] = None,
    model: Annotated[str | None, typer.Option(help="Teacher: the model name the endpoint serves.")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="Teacher: a local model directory instead of --base-url.")] = None,
    api_key_env: Annotated[str, typer.Option(help="Teacher: environment variable holding the API key.")] = "OPENAI_API_KEY",
    temperature: Annotated[float, typer.Option(help="Teacher: sampling temperature (above 0, or attempts repeat).")] = 0.7,
) -> None:
    """Build SFT trajectories in the sandbox; keep the green ones; report the share kept and why others dropped."""
    from apprentice.agent.backends import make_backend

    backend = None
    if source == "teacher":
        backend = make_backend(base_url, model, model_dir, api_key_env=api_key_env, temperature=temperature)
    trajectories_from_cli(tasks, source, out, console, limit=limit, prompts=prompts, backend=backend, attempts=attempts)


@data_app.command("preferences")
def data_preferences(
    tasks: Annotated[Path, typer.Argument(help="Tasks as JSON lines.")],
    out: Annotated[Path, typer.Option(help="Preference pairs as JSON lines (TRL prompt/chosen/rejected + why).")] = Path("preference.jsonl"),
    samples: Annotated[int, typer.Option(help="Candidates sampled from the model per task, besides the gold fix.")] = 4,
    limit: Annotated[int | None, typer.Option(help="Use only the first N tasks.")] = None,
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint to sample from.")] = None,
    model: Annotated[str | None, typer.Option(help="The model name the endpoint serves.")] = None,
    model_dir: Annotated[Path | None, typer.Option(help="A local model directory instead of --base-url.")] = None,
    api_key_env: Annotated[str, typer.Option(help="Environment variable holding the API key.")] = "OPENAI_API_KEY",
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
) -> None:
    """Grade the gold fix and sampled candidates per task; rank by execution (SPEC §6); keep clear pairs."""
    from apprentice.agent.backends import make_backend

    backend = make_backend(base_url, model, model_dir, api_key_env=api_key_env, temperature=temperature) if samples else None
    preferences_from_cli(tasks, out, console, backend=backend, samples=samples, limit=limit)


@data_app.command("check")
def data_check(
    data: Annotated[Path, typer.Argument(help="Trajectories as JSON lines.")],
    config: Annotated[Path | None, typer.Option(help="Run config whose gates.data thresholds apply (default: built-in).")] = None,
) -> None:
    """Quality gates of SPEC §6, one line per gate; exit 1 when one fails."""
    _, code = check_from_cli(data, console, config=config)
    if code:
        raise typer.Exit(code)


@data_app.command("mix")
def data_mix(
    rounds_dir: Annotated[Path, typer.Argument(help="Directory of accumulated rounds (round-<N>.jsonl).")],
    add: Annotated[list[Path], typer.Option(help="Trajectory file of the new round; repeat the flag.")],
    out: Annotated[Path, typer.Option(help="The round's training mix as JSON lines.")] = Path("train.jsonl"),
    replay_share: Annotated[float, typer.Option(help="Share of the mix replayed from earlier rounds (0.10-0.20).")] = 0.15,
    seed: Annotated[int, typer.Option(help="Sampling seed (same seed, same mix).")] = 0,
) -> None:
    """Store a new round (never replacing earlier ones) and write its mix: SPEC §6 shares plus replay."""
    mix_from_cli(rounds_dir, add, out, console, replay_share=replay_share, seed=seed)


def trajectories_from_cli(tasks_file: Path, source: str, out: Path, console: Console, *, limit: int | None = None,
                          prompts: str = "all", backend: "Backend | None" = None, attempts: int = 4) -> "BuildReport":
    """Build `source` trajectories for the tasks of `tasks_file` into `out`, printing each verdict and the report."""
    from apprentice.data.build import build_trajectories

    def progress(built: "Built") -> None:
        verdict = "kept" if built.trajectory is not None else f"dropped: {built.dropped}"
        console.print(f"{built.task_id}: {verdict}", highlight=False)

    kept, report = build_trajectories(tasks_file, source, out, limit=limit, prompts=prompts, backend=backend,
                                      attempts=attempts, on_task=progress)
    console.print(report.text(), highlight=False)
    console.print(f"{kept} trajectories written to {out}", highlight=False)
    return report


def preferences_from_cli(tasks_file: Path, out: Path, console: Console, *, backend: "Backend | None",
                         samples: int = 4, limit: int | None = None) -> "PreferenceReport":
    """Preference pairs (gold + `samples` sampled candidates per task) written to `out`, printing each and the report."""
    from apprentice.data.build import build_preferences

    def progress(task_id: str, pair, reason: str) -> None:
        console.print(f"{task_id}: {pair.why if pair is not None else 'no pair: ' + reason}", highlight=False)

    pairs, report = build_preferences(tasks_file, out, backend=backend, samples=samples, limit=limit, on_task=progress)
    console.print(report.text(), highlight=False)
    console.print(f"{pairs} pairs written to {out}", highlight=False)
    return report


def check_from_cli(data_file: Path, console: Console, *, config: Path | None = None) -> tuple["QualityReport", int]:
    """Print the quality-gate report of a trajectory file (thresholds from the run config); exit code 1 on failure."""
    from apprentice.data.build import check_data_file

    report = check_data_file(data_file, config)
    console.print(report.text(), highlight=False)
    return report, 0 if report.passed else 1


def mix_from_cli(rounds_dir: Path, add: list[Path], out: Path, console: Console, *, replay_share: float = 0.15,
                 seed: int = 0) -> int:
    """Store the trajectories of `add` as a new round, write its mix to `out`, print the report; returns the round."""
    from apprentice.data.build import add_round

    number, mixed, report = add_round(rounds_dir, add, out, replay_share=replay_share, seed=seed)
    console.print(report.text(), highlight=False)
    console.print(f"{mixed} trajectories written to {out}", highlight=False)
    return number
