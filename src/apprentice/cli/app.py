"""The `apprentice` command line. Each command loads its config, calls one function, prints the result.

No logic lives here: a command that needs more than a few lines is missing a function elsewhere.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from apprentice.cli.eval import eval_command, report_command
from apprentice.cli.flywheel import flywheel_app
from apprentice.cli.registry import registry_app
from apprentice.cli.serve import serve_command
from apprentice.errors import ApprenticeError

app = typer.Typer(
    help="Turn a base language model into a coding agent: pretrain -> SFT -> IPO -> GRPO, graded by running code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show and validate run configs.", no_args_is_help=True)
base_app = typer.Typer(help="Build and inspect base models.", no_args_is_help=True)
tasks_app = typer.Typer(help="Make grading tasks: by mutation, from git history.", no_args_is_help=True)
package_app = typer.Typer(help="Repo packages (repo + wheels + manifest) for air-gapped machines.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(base_app, name="base")
app.add_typer(tasks_app, name="tasks")
app.add_typer(package_app, name="package")
agent_app = typer.Typer(help="Run the coding agent on a task.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")
data_app = typer.Typer(help="Training data: trajectories, preference pairs, quality gates, mixes.", no_args_is_help=True)
app.add_typer(data_app, name="data")
gates_app = typer.Typer(help="Promotion gates (SPEC §5).", no_args_is_help=True)
app.add_typer(gates_app, name="gates")
app.add_typer(registry_app, name="registry")
app.add_typer(flywheel_app, name="flywheel")

console = Console()

Overrides = Annotated[list[str] | None, typer.Argument(help="key.path=value overrides; they win over the YAML.")]


@app.command()
def run(
    config: Annotated[str | None, typer.Argument(help="Run config YAML (see examples/); defaults alone when omitted.")] = None,
    overrides: Overrides = None,
    force: Annotated[bool, typer.Option("--force", help="Go on past a failed gate; recorded in that stage's meta.json.")] = False,
    launcher: Annotated[str | None, typer.Option(
        "--launcher", help="accelerate: each training stage under `accelerate launch` (launch.config_file, "
        "launch.num_processes); local: in this process. Default: the config's launch.launcher.")] = None,
) -> None:
    """Run the whole pipeline for every configured target, resuming where it stopped."""
    from apprentice.pipeline import run as pipeline
    from apprentice.config.models import load_config, split_config_argument

    path, rest = split_config_argument(config, overrides or [])
    rest += [f"launch.launcher={launcher}"] if launcher else []
    summary = pipeline.run(load_config(path, rest), force=force)
    console.print(summary.render(), soft_wrap=True, highlight=False)


@app.command("ls")
def list_things() -> None:
    """List the stages, languages and example configs apprentice knows."""
    from apprentice.cli.ls import catalog_table

    console.print(catalog_table())


@config_app.command("show")
def config_show(
    config: Annotated[str | None, typer.Argument(help="Run config YAML; defaults alone when omitted.")] = None,
    overrides: Overrides = None,
) -> None:
    """Print the resolved config (defaults < profile < YAML < overrides) as YAML."""
    from apprentice.config.models import dump_config, load_config, split_config_argument

    print(dump_config(load_config(*split_config_argument(config, overrides or []))), end="")


@config_app.command("validate")
def config_validate(config: Annotated[Path, typer.Argument(help="Run config YAML to check.")]) -> None:
    """Check a config: YAML syntax, unknown keys, types. Exit 2 with the first problem."""
    from apprentice.config.models import load_config

    resolved = load_config(config, [])
    console.print(f"[green]ok[/green] {config}: run '{resolved.name}', targets {', '.join(resolved.targets)}")


@base_app.command("init")
def base_init(
    out: Annotated[Path, typer.Option(help="Directory to write the base model into.")] = Path("runs/base"),
    size: Annotated[str, typer.Option(help="tiny (~4M parameters) or small (~30M).")] = "tiny",
    seed: Annotated[int, typer.Option(help="Seed for the weights; same seed, same files.")] = 0,
) -> None:
    """Build the embedded miniature gpt-oss: tokenizer trained on the stdlib, Harmony template, random weights."""
    from apprentice.base.tiny import build_tiny_base

    report = build_tiny_base(out, size=size, seed=seed)
    console.print(report.render())


@base_app.command("inspect")
def base_inspect(path: Annotated[Path, typer.Argument(help="A local Hugging Face causal LM directory.")]) -> None:
    """Print a base's architecture, parameters, experts, vocabulary, chat format and LoRA targets."""
    from apprentice.base.load import inspect_base

    console.print(inspect_base(path).render())


# Commands of later subsystems register below this line, one function each.


@app.command("grade")
def grade_command(
    patch: Annotated[Path, typer.Option(help="Unified diff to grade.")],
    task: Annotated[Path | None, typer.Option(help="Task JSON (Task.to_json); a relative repo path is relative to it.")] = None,
    repo: Annotated[Path | None, typer.Option(help="Repository directory, instead of --task.")] = None,
    language: Annotated[str | None, typer.Option(help="python, rust, typescript or go (with --repo).")] = None,
    fail_to_pass: Annotated[list[str] | None, typer.Option("--fail-to-pass", help="A test id the fix must make pass; repeat the flag.")] = None,
    pass_to_pass: Annotated[list[str] | None, typer.Option("--pass-to-pass", help="A test id that must keep passing; repeat the flag.")] = None,
) -> None:
    """Grade a patch in the sandbox: apply, build, test, lint; print the Outcome as one JSON object and a summary."""
    from apprentice.cli.grade import grade_from_cli

    outcome = grade_from_cli(patch, task_file=task, repo=repo, language=language,
                             fail_to_pass=fail_to_pass, pass_to_pass=pass_to_pass)
    print(outcome.to_json())
    console.print(outcome.summary(), markup=False)


@tasks_app.command("mutate")
def tasks_mutate(
    repo: Annotated[Path, typer.Argument(help="Source tree with its tests, or `stdlib` for the embedded corpus.")],
    language: Annotated[str, typer.Option(help="python, rust, typescript or go.")] = "python",
    out: Annotated[Path, typer.Option(help="Tasks as JSON lines; <out>.log.jsonl and <out>.repo go next to it.")] = Path("tasks.jsonl"),
    max_tasks: Annotated[int | None, typer.Option("--max", help="Stop once the file holds this many tasks.")] = None,
    workers: Annotated[int, typer.Option(help="Mutants validated at once (one sandbox workspace each).")] = 2,
    max_per_function: Annotated[int, typer.Option(help="Mutants tried per function at most.")] = 10,
) -> None:
    """Mutate REPO, keep the mutants its tests catch as Tasks; Ctrl-C keeps them, rerun to resume."""
    from apprentice.cli.tasks import mutate_from_cli

    summary = mutate_from_cli(repo, language, out, max_tasks, workers, max_per_function, console)
    if summary.interrupted:
        raise typer.Exit(130)


@tasks_app.command("stats")
def tasks_stats(
    path: Annotated[Path, typer.Argument(help="A tasks JSON-lines file.")],
    min_tasks: Annotated[int | None, typer.Option(help="Override gates.data.min_tasks for this check.")] = None,
) -> None:
    """Counts, operator mix, difficulty, campaign verdicts and the data-quality gate; exit 1 if it fails."""
    from apprentice.cli.tasks import stats_from_cli

    if not stats_from_cli(path, min_tasks, console):
        raise typer.Exit(1)


@tasks_app.command("mine")
def tasks_mine(
    source: Annotated[Path, typer.Argument(help="A full git clone, or a repo package directory.")],
    language: Annotated[str, typer.Option(help="Language whose commits and tests to mine.")] = "python",
    out: Annotated[Path, typer.Option(help="Tasks JSONL (appended; resumes); <out>.stats.json goes beside it.")] = Path("tasks.jsonl"),
    max_commits: Annotated[int | None, typer.Option(help="Stop after this many commits, oldest first.")] = None,
) -> None:
    """Keep the commits whose new tests fail before the code change and pass after it, as tasks."""
    from apprentice.cli.tasks_history import mine_from_cli

    console.print(mine_from_cli(source, language, out, max_commits, console), highlight=False)


@package_app.command("build")
def package_build(
    repo: Annotated[Path, typer.Argument(help="A full (non-shallow) git clone.")],
    out: Annotated[Path, typer.Option(help="Package directory to create.")],
    find_links: Annotated[Path | None, typer.Option(help="Resolve wheels from this directory only (no index).")] = None,
) -> None:
    """Clone the repository, download its dependencies as wheels, write and validate the manifest."""
    from apprentice.cli.tasks_history import package_build_from_cli

    console.print(package_build_from_cli(repo, out, find_links), highlight=False)


@package_app.command("validate")
def package_validate(package: Annotated[Path, typer.Argument(help="A package made by `package build`.")]) -> None:
    """Check schema, files, wheel hashes, commits, offline install and a test dry run (no network)."""
    from apprentice.cli.tasks_history import package_validate_from_cli

    console.print(package_validate_from_cli(package), highlight=False)


@agent_app.command("run")
def agent_run(
    task: Annotated[Path, typer.Option(help="Task JSON (or JSONL: its first task); a relative repo path is relative to it.")],
    model: Annotated[Path, typer.Option(help="Local model directory (e.g. the embedded base from `base init`).")],
    adapter: Annotated[Path | None, typer.Option(help="PEFT adapter directory to load on top of the model.")] = None,
    max_turns: Annotated[int, typer.Option(help="Assistant turns before the episode stops.")] = 8,
    max_new_tokens: Annotated[int, typer.Option(help="Tokens generated per turn at most.")] = 512,
    temperature: Annotated[float, typer.Option(help="0 is greedy; above 0 samples.")] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Append the trajectory (one JSON line) to this file.")] = None,
    capture: Annotated[bool, typer.Option("--capture/--no-capture", help="Capture the graded episode for the flywheel.")] = True,
    capture_dir: Annotated[Path | None, typer.Option(help="Capture into DIR/interactions.jsonl (default: RUN/flywheel/ "
                                                     "of the run holding --adapter or --model).")] = None,
) -> None:
    """Play one episode of a local model on a task, showing the conversation as it happens, then the graded outcome."""
    from apprentice.cli.agent import agent_run_from_cli

    agent_run_from_cli(task, model, adapter, max_turns, console, max_new_tokens=max_new_tokens,
                       temperature=temperature, out=out, capture=capture, capture_dir=capture_dir)


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
    from apprentice.cli.data import make_backend, trajectories_from_cli

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
    from apprentice.cli.data import make_backend, preferences_from_cli

    backend = make_backend(base_url, model, model_dir, api_key_env=api_key_env, temperature=temperature) if samples else None
    preferences_from_cli(tasks, out, console, backend=backend, samples=samples, limit=limit)


@data_app.command("check")
def data_check(
    data: Annotated[Path, typer.Argument(help="Trajectories as JSON lines.")],
    config: Annotated[Path | None, typer.Option(help="Run config whose gates.data thresholds apply (default: built-in).")] = None,
) -> None:
    """Quality gates of SPEC §6, one line per gate; exit 1 when one fails."""
    from apprentice.cli.data import check_from_cli

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
    from apprentice.cli.data import mix_from_cli

    mix_from_cli(rounds_dir, add, out, console, replay_share=replay_share, seed=seed)


@gates_app.command("check")
def gates_check(stage_dir: Annotated[Path, typer.Argument(help="A stage directory: runs/<name>/stages/<target>/<stage>.")]) -> None:
    """Print each gate of a finished stage: value, threshold, verdict; exit 1 when one fails."""
    from apprentice.gates import check_stage

    verdict = check_stage(stage_dir)
    console.print(verdict.render())
    if not verdict.passed:
        raise typer.Exit(1)


app.command("eval")(eval_command)
app.command("report")(report_command)
app.command("serve")(serve_command)


def main() -> None:
    """Console-script entry point: an ApprenticeError becomes one line on stderr and exit code 2."""
    try:
        app()
    except ApprenticeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
