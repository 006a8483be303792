"""The run config: pydantic models that the YAML mirrors key for key.

Precedence: defaults < the profile's defaults < YAML < `key.path=value` overrides. Unknown keys
are errors that name the key's path and the nearest valid key; a wrong type names the key, the
value and what was expected. The *real* profile holds the SPEC §2 values for gpt-oss-20b-class
models; the *tiny* profile scales them for the embedded miniature gpt-oss on a 2-core CPU.
"""

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from apprentice.artifacts import RunDir
from apprentice.config.errors import describe_validation_error
from apprentice.errors import ConfigError
from apprentice.languages.registry import language_names
from apprentice.tasks.sources import SOURCES, source_problem
from apprentice.tasks.task import STATEMENT_LEVELS

LANGUAGES = language_names()


class Section(BaseModel):
    """A config section: unknown keys rejected, values immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseSection(Section):
    path: Path | None = Field(None, description="Local Hugging Face causal LM directory; empty: the embedded miniature gpt-oss.")
    size: Literal["tiny", "small"] = Field("tiny", description="Embedded base only: tiny ~4M parameters, small ~33M.")
    seed: int = Field(0, description="Embedded base only: weight seed (same seed, same files).")
    shipped: bool = Field(False, description="Embedded base only: start from the pretrained miniature shipped with "
                          "apprentice (built by `apprentice base pretrain`, checked against its sha256 record).")


class LoraSection(Section):
    rank: int = Field(128, gt=0, description="Higher: more capacity, more memory.")
    alpha: int = Field(256, gt=0, description="Scale = alpha / rank; 2x rank is the usual choice.")
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    quantize_4bit: bool = Field(True, description="QLoRA when CUDA is present; ignored on CPU.")
    train_embeddings: bool = Field(
        False, description="Also train embed_tokens and lm_head: needed when the chat format's special tokens are "
        "new to the base (the embedded miniature never saw Harmony tokens in pretraining).")


class PretrainSection(Section):
    enabled: bool = True
    context_lengths: list[int] = Field([512, 1024, 2048], description="Context-length curriculum, shortest first.")
    steps_per_length: int = Field(1000, gt=0)
    learning_rate: float = Field(1e-4, gt=0)
    batch_size: int = Field(8, gt=0)
    max_blocks_per_length: int | None = Field(None, gt=0, description="Cap on corpus blocks per length; empty: the whole corpus.")
    save_steps: int = Field(200, gt=0, description="Checkpoint every N steps: a killed run resumes from the last one.")
    copy_fraction: float = Field(0.0, ge=0.0, le=1.0, description="Share of the corpus's stretches of lines followed by "
                                 "a JSON quote of some of them: teaches a small model to copy from its context.")
    seed: int = Field(0, description="Order of the corpus files and choice of the copy exercises.")

    @field_validator("context_lengths")
    @classmethod
    def _increasing(cls, lengths: list[int]) -> list[int]:
        if not lengths or lengths != sorted(set(lengths)):
            raise ValueError(f"must be a non-empty, strictly increasing list of lengths (got {lengths})")
        return lengths


class SftSection(Section):
    epochs: float = Field(2, gt=0)
    learning_rate: float = Field(3e-5, gt=0)
    batch_size: int = Field(1, gt=0)
    grad_accum: int = Field(4, gt=0)
    packing: bool = True
    optimizer: str = Field("adamw_8bit", description="adamw_8bit needs bitsandbytes (GPU); adamw_torch on CPU.")
    max_seq_length: int = Field(32768, gt=0)
    packing_strategy: Literal["bfd", "wrapped"] = Field("bfd", description="bfd keeps each trajectory whole inside a block.")
    max_steps: int | None = Field(None, gt=0, description="Stop after N optimizer steps (smoke runs); empty: epochs decide.")
    eval_share: float = Field(0.1, gt=0, lt=1, description="Trajectories held out for eval loss and format accuracy.")
    eval_points: int = Field(5, ge=2, description="Eval-loss measurements over training; the SFT gate needs a trend.")
    format_samples: int = Field(50, gt=0, description="Held-out assistant turns generated to measure tool-call format accuracy.")
    format_max_new_tokens: int = Field(256, gt=0, description="Enough for one tool call or a short answer.")
    save_steps: int = Field(200, gt=0, description="Checkpoint every N steps: a killed run resumes from the last one.")
    backend: Literal["transformers", "unsloth"] = Field("transformers", description="unsloth: faster kernels on CUDA (pip install unsloth).")


class PreferenceSection(Section):
    loss: Literal["ipo", "dpo"] = "ipo"
    epochs: float = Field(1, gt=0, description="IPO collapses with more than one epoch.")
    learning_rate: float = Field(5e-7, gt=0)
    batch_size: int = Field(1, gt=0)
    grad_accum: int = Field(16, gt=0)
    beta: float = Field(0.1, gt=0, description="KL strength toward the SFT reference.")
    max_length: int = Field(32768, gt=0, description="Prompt + completion tokens; longer pairs are cut at the end, prompts alone this long dropped.")
    max_steps: int | None = Field(None, gt=0, description="Stop after N optimizer steps (smoke runs); empty: epochs decide.")
    save_steps: int = Field(200, gt=0, description="Checkpoint every N steps: a killed run resumes from the last one.")
    train_embeddings: bool = Field(
        False, description="Also update the embed_tokens/lm_head copies SFT trained (lora.train_embeddings); off: "
        "they stay as SFT left them and only the LoRA matrices move.")


class SftDataSection(Section):
    tasks: int | None = Field(None, gt=0, description="Training tasks turned into trajectories (N, spread over files); empty: all.")
    template: bool = Field(True, description="Add template trajectories (another real path to the fix) to the gold ones.")
    read_whole_lines: int = Field(150, gt=0, description="Gold reads a file this short whole, a longer one around the fix.")
    read_margin: int = Field(20, ge=0, description="Lines gold reads on each side of the fix.")
    max_output_chars: int = Field(4000, gt=0, description="Tool results in gold episodes are cut to this (as the agent loop does).")
    workers: int = Field(2, gt=0, description="Episodes built at once, one sandbox workspace each.")
    brief_thinking: bool = Field(False, description="Gold thinking without recited test names or code (for miniatures).")
    read_end: bool = Field(True, description="Gold's read_file names its last line; false: the first only, the output cut ends the read.")
    template_paths: list[Literal["explore", "retry", "search", "test_first"]] = Field(
        ["explore", "retry", "search", "test_first"], min_length=1,
        description="Template paths drawn per task: list_files, a wrong first edit and its recovery, search, or tests first.")


class PreferenceDataSection(Section):
    tasks: int = Field(500, gt=0, description="Training tasks to sample candidates on (N, spread over files).")
    samples: int = Field(4, gt=0, description="Episodes sampled from the SFT adapter per task, besides the gold fix.")
    temperature: float = Field(0.8, gt=0, description="Sampling temperature: distinct candidates to rank.")
    max_new_tokens: int = Field(1024, gt=0)
    max_turns: int = Field(6, gt=0)


class CurriculumPhase(Section):
    until_step: int = Field(gt=0)
    max_seq_length: int = Field(gt=0)
    tasks: Literal["single-file", "multi-file", "module", "repository"]
    tool_pattern: Literal["single", "chain", "conditional", "planning"]
    reasoning_effort: Literal["low", "medium", "high"]
    levels: list[int] | None = Field(None, min_length=1, description="Statement levels (SPEC §10) this phase poses "
                                     "its tasks at, dealt in turn by a hash of the task id; empty: each task's own.")

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, levels: list[int] | None) -> list[int] | None:
        unknown = [level for level in levels or [] if level not in STATEMENT_LEVELS]
        if unknown or (levels is not None and len(set(levels)) != len(levels)):
            raise ValueError(f"levels {levels} must be distinct values of {list(STATEMENT_LEVELS)}, "
                             "e.g. [0] for early phases, [1, 2] for later ones")
        return levels


class GrpoSection(Section):
    steps: int = Field(5000, gt=0)
    learning_rate: float = Field(1e-6, gt=0)
    batch_size: int = Field(1, gt=0)
    grad_accum: int = Field(8, gt=0)
    generations: int = Field(4, ge=2, description="Completions per prompt; GRPO needs at least 2 to compare.")
    temperature: float = Field(0.7, gt=0)
    probe_tasks: int = Field(16, ge=0, description="Level-0 training tasks the starting adapter's pass@k "
                             "(k = generations) is measured on before the first step; 0: no probe.")
    curriculum: list[CurriculumPhase] = Field(default_factory=lambda: [CurriculumPhase(**p) for p in _REAL_CURRICULUM])

    @model_validator(mode="after")
    def _curriculum_covers_steps(self) -> "GrpoSection":
        ends = [phase.until_step for phase in self.curriculum]
        if ends != sorted(ends) or not ends or ends[-1] < self.steps:
            raise ValueError(f"curriculum until_step values {ends} must increase and reach steps={self.steps}")
        return self


_REAL_CURRICULUM = [  # SPEC §3
    {"until_step": 1000, "max_seq_length": 4096, "tasks": "single-file", "tool_pattern": "single", "reasoning_effort": "low"},
    {"until_step": 2000, "max_seq_length": 8192, "tasks": "multi-file", "tool_pattern": "chain", "reasoning_effort": "medium"},
    {"until_step": 3500, "max_seq_length": 16384, "tasks": "module", "tool_pattern": "conditional", "reasoning_effort": "high"},
    {"until_step": 5000, "max_seq_length": 32768, "tasks": "repository", "tool_pattern": "planning", "reasoning_effort": "high"},
]


class SftGate(Section):
    max_final_loss: float = 0.5
    min_format_accuracy: float = Field(0.95, ge=0, le=1)
    eval_loss_window: float = Field(0.2, gt=0, le=1, description="Eval loss must fall over this last share of training.")


class PreferenceGate(Section):
    kl_warn: float = 0.3
    kl_abort: float = 0.5
    min_chosen_win_rate: float = Field(0.8, ge=0, le=1)
    max_chosen_logp_drop: float = Field(5.0, gt=0, description="Collapse: chosen log-prob per pair falling more than this many nats.")


class GrpoGate(Section):
    min_mean_reward: float = 0.3
    min_reward_std: float = 0.01
    min_max_reward: float = 0.7
    window_steps: int = Field(500, gt=0, description="Mean reward over the last N steps (or the last 20%, if fewer).")


class DataGate(Section):
    min_tasks: int = Field(3000, ge=0, description="Validated tasks per language before training.")
    max_duplicate_pairs: int = 0
    min_multi_tool_share: float = Field(0.8, ge=0, le=1)
    min_average_turns: float = 3.0
    min_valid_format: float = Field(1.0, ge=0, le=1)
    # Per-trajectory requirements (SPEC §6); every trajectory of a checked dataset must meet them.
    min_turns: int = Field(3, ge=1, description="Assistant turns per trajectory, at least.")
    max_turns: int = Field(7, ge=1, description="Assistant turns per trajectory, at most.")
    min_thinking_blocks: int = Field(1, ge=0, description="Assistant turns with a thinking block, at least.")
    min_tool_calls: int = Field(2, ge=0, description="Tool calls per trajectory, at least.")

    @model_validator(mode="after")
    def _turn_range(self) -> "DataGate":
        if self.min_turns > self.max_turns:
            raise ValueError(f"min_turns={self.min_turns} is above max_turns={self.max_turns}; lower min_turns "
                             f"or raise max_turns")
        return self


class TasksSection(Section):
    # mutation: any repository with tests yields thousands of tasks; history needs real fix commits.
    source: str = Field("mutation", description="How tasks are made: mutation, history (git commits), package "
                        "(a repo package), or a path to a tasks .jsonl (see tasks/sources.py).")
    repos: dict[str, str] = Field(
        {"python": "stdlib"},
        description="Target -> repository with tests to mutate; `stdlib`: the embedded standard-library corpus.",
    )
    max_tasks: int = Field(3000, gt=0, description="Validated tasks to keep per target (SPEC §6: >= 3,000 for real runs).")
    workers: int = Field(2, gt=0, description="Mutants validated at once, one sandbox workspace each.")
    max_per_function: int = Field(10, gt=0, description="Cap on mutants per function: no single function dominates.")
    eval_share: float = Field(0.1, gt=0, lt=1, description="Held-out share for repos without a module split (the stdlib has one).")
    # [1] keeps today's statements; mixing in 0 gives the miniature tasks it can locate (SPEC §10).
    levels: list[int] = Field([1], min_length=1, description="Statement levels (SPEC §10) dealt to the tasks in "
                              "turn by a hash of their id: 0 names file, line and kind of change; 1 file and "
                              "function; 2 only the failing tests.")

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, levels: list[int]) -> list[int]:
        unknown = [level for level in levels if level not in STATEMENT_LEVELS]
        if unknown or len(set(levels)) != len(levels):
            raise ValueError(f"levels {levels} must be distinct values of {list(STATEMENT_LEVELS)}, e.g. [0, 1]")
        return levels

    @field_validator("source")
    @classmethod
    def _known_source(cls, source: str) -> str:
        problem = source_problem(source)
        if problem is not None:
            raise ValueError(problem)
        return source


class LaunchSection(Section):
    launcher: Literal["local", "accelerate"] = Field(
        "local", description="local: stages train in this process; accelerate: each training stage under `accelerate launch`.")
    config_file: Path | None = Field(None, description="accelerate config (examples/accelerate/*.yaml); empty: accelerate's default.")
    num_processes: int | None = Field(None, gt=0, description="Processes (GPUs) per training stage; empty: from the accelerate config.")


class LoggingSection(Section):
    report_to: Literal["tensorboard", "wandb", "mlflow", "trackio", "none"] = Field(
        "tensorboard", description="Where training curves and evaluation metrics go, through transformers' own "
        "integrations: TensorBoard event files under runs/<name>/logs/<target>/<stage>/, or W&B, MLflow, "
        "trackio (their usual environment variables), or none.")


# What `eval.versions` may name, in chain order: the learning signal compares each with the one before it.
CHAIN_ORDER = ("base", "sft", "preference", "grpo")


class EvalSection(Section):
    enabled: bool = Field(True, description="Evaluate on the held-out tasks after GRPO (and the base once), then register.")
    versions: list[Literal["base", "sft", "preference", "grpo"]] = Field(
        ["base", "grpo"], min_length=1,
        description="What to evaluate: the base alone and/or stages' adapters (run in chain order; with two or "
                    "more, the run compares each with the one before: eval/<target>/signal.json).")
    max_tasks: int | None = Field(None, gt=0, description="Held-out tasks to evaluate, taken in turn over level, kind of bug and file; empty: all.")
    attempts: int = Field(1, gt=0, description="Attempts per task (k of pass@k); the first is greedy.")
    workers: int = Field(4, gt=0, description="Episodes at once: a local model decodes their greedy turns in one batch "
                         "per round (2.0-2.2x faster on the demo's 4 tasks), and grading overlaps generation.")
    max_turns: int = Field(8, gt=0)
    max_new_tokens: int = Field(1024, gt=0)


class GatesSection(Section):
    data: DataGate = DataGate()
    sft: SftGate = SftGate()
    preference: PreferenceGate = PreferenceGate()
    grpo: GrpoGate = GrpoGate()


class RunConfig(Section):
    name: str = Field("demo", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Run directory name under runs_dir.")
    runs_dir: Path = Path("runs")
    profile: Literal["tiny", "learn", "real"] = Field(
        "tiny", description="Default values: tiny (embedded base, CPU, the demo), learn (the miniature at a scale where "
        "the curriculum is measured, examples/learn.yaml) or real (SPEC §2).")
    round: int = Field(1, gt=0, description="Flywheel round: 2+ trains on `apprentice flywheel curate` data, "
                                            "from the production adapter, into stages/<target>/round-<n>/.")
    targets: list[str] = Field(["python"], min_length=1, description=f"Adapter targets: languages ({', '.join(LANGUAGES)}).")
    base: BaseSection = BaseSection()
    lora: LoraSection = LoraSection()
    pretrain: PretrainSection = PretrainSection()
    sft: SftSection = SftSection()
    sft_data: SftDataSection = SftDataSection()
    preference: PreferenceSection = PreferenceSection()
    preference_data: PreferenceDataSection = PreferenceDataSection()
    grpo: GrpoSection = GrpoSection()
    tasks: TasksSection = TasksSection()
    eval: EvalSection = EvalSection()
    gates: GatesSection = GatesSection()
    launch: LaunchSection = LaunchSection()
    logging: LoggingSection = LoggingSection()

    @field_validator("targets")
    @classmethod
    def _known_targets(cls, targets: list[str]) -> list[str]:
        unknown = [t for t in targets if t not in LANGUAGES]
        if unknown:
            raise ValueError(f"unknown target '{unknown[0]}' (known: {', '.join(LANGUAGES)})")
        return targets

    @model_validator(mode="after")
    def _every_target_has_tasks(self) -> "RunConfig":
        if self.tasks.source not in SOURCES:  # a task file: no repository is mutated or mined
            return self
        missing = [target for target in self.targets if target not in self.tasks.repos]
        if missing:
            raise ValueError(f"target '{missing[0]}' has no task repository; set tasks.repos.{missing[0]}="
                             "<a repository with tests> (only python has the embedded `stdlib` corpus)")
        corpus = [target for target in self.targets if self.tasks.repos[target] == "stdlib"]
        if corpus and self.tasks.source != "mutation":
            raise ValueError(f"tasks.source={self.tasks.source} needs a git repository, but tasks.repos.{corpus[0]} "
                             f"is `stdlib` (no history); set tasks.repos.{corpus[0]}=<a git clone with tests>")
        return self

    @property
    def run_dir(self) -> Path:
        """`runs_dir/name`: where every artifact of this run lives."""
        return self.runs_dir / self.name

    @property
    def run(self) -> RunDir:
        """The paths of `run_dir`: stages, data, eval, base POINTER, registry (see `RunDir`)."""
        return RunDir(self.run_dir)


def load_config(path: Path | None, overrides: list[str]) -> RunConfig:
    """Resolve a run config: defaults < profile < YAML file < `key.path=value` overrides."""
    data = read_yaml(path) if path is not None else {}
    for override in overrides:
        set_dotted(data, *parse_override(override))
    profile = data.get("profile", RunConfig.model_fields["profile"].default)
    merged = deep_merge(profile_defaults(profile), data)
    try:
        return RunConfig.model_validate(merged)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error, RunConfig, source=str(path or "overrides"))) from None


def split_config_argument(first: str | None, rest: list[str]) -> tuple[Path | None, list[str]]:
    """For `run` / `config show [CONFIG] [overrides]`: a first argument with `=` that is no file is an override."""
    if first is None:
        return None, rest
    if "=" in first and not Path(first).exists():
        return None, [first, *rest]
    return Path(first), rest


def dump_config(config: RunConfig) -> str:
    """The config as YAML, in field order, loadable again by `load_config`."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from `path`; ConfigError naming the file (and line) otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' does not exist; see examples/ for ready configs") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file '{path}': {error}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"'{path}' is not valid YAML{where}: {problem}; fix the syntax there") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"'{path}' must hold a mapping of keys (like `name: demo`), not a {type(data).__name__}")
    return data


def parse_override(override: str) -> tuple[list[str], Any]:
    """`sft.learning_rate=1e-4` -> (["sft", "learning_rate"], 1e-4); values are read as YAML scalars."""
    key, sep, raw = override.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override '{override}' is not key.path=value (e.g. sft.learning_rate=1e-4)")
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def set_dotted(data: dict[str, Any], keys: list[str], value: Any) -> None:
    """Set `data[k1][k2]...[kn] = value`, creating mappings on the way."""
    for key in keys[:-1]:
        child = data.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override '{'.'.join(keys)}': '{key}' holds a value, not a section")
        data = child
    data[keys[-1]] = value


def deep_merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """`high` over `low`, merging nested mappings key by key."""
    merged = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def profile_defaults(profile: Any) -> dict[str, Any]:
    """The defaults a profile sets over the field defaults (the real profile is the field defaults)."""
    from apprentice.config.profiles import PROFILES

    return PROFILES.get(profile, {}) if isinstance(profile, str) else {}
