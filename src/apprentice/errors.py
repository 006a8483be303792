"""One exception family per failure kind. Each message names the bad value and the fix.

The CLI turns any `ApprenticeError` into one line on stderr and exit code 2; anything else is a
bug in apprentice and keeps its traceback.
"""


class ApprenticeError(Exception):
    """Base of every error apprentice raises on purpose (bad input, missing tool, failed gate)."""

    exit_code = 2


class ConfigError(ApprenticeError):
    """A config file or override that cannot be read or does not validate."""


class BaseModelError(ApprenticeError):
    """A base model directory that is missing or is not a causal language model."""


class RunDirError(ApprenticeError):
    """A run directory or artifact that cannot be written or read."""


class ExpertLoraError(ApprenticeError):
    """A LoRA config that leaves a mixture-of-experts model's expert weights without adapters."""


class UnknownNameError(ApprenticeError):
    """A name (language, stage, target) that is not registered."""


class TaskFormatError(ApprenticeError):
    """A task record (JSON line) with unknown, missing or mistyped fields."""


class GradingInputError(ApprenticeError):
    """A grading request that cannot start: missing repository, patch file or test ids."""


class SandboxError(ApprenticeError):
    """A sandbox that cannot be set up (missing workspace, failed namespace or cgroup setup)."""


class MutationError(ApprenticeError):
    """A mutation request that cannot run: bad cap, a file outside the repository, bad tier counts."""


class CommitMiningError(ApprenticeError):
    """A history that cannot be mined: not a git repository, a shallow clone, a failing git call."""


class PackageError(ApprenticeError):
    """A repo package that cannot be built or does not validate (schema, hashes, wheels, files)."""


class CorpusError(ApprenticeError):
    """An embedded corpus that cannot be laid out: a module or its tests missing, a taken directory."""


class ValidationError(ApprenticeError):
    """A mutation campaign that cannot validate: no tests, a clean suite that does not run, a bad output file."""


class TrajectoryFormatError(ApprenticeError):
    """A trajectory record (JSON line) with unknown, missing or mistyped fields."""


class WorkspaceBoundaryError(ApprenticeError):
    """A tool path that resolves outside the agent's workspace (`..`, absolute, or a symlink escape)."""


class BackendError(ApprenticeError):
    """A model backend that cannot answer: a missing model directory, an unreachable server, no API key."""


class DataError(ApprenticeError):
    """A dataset that cannot be built or read: a bad source name, an empty input, invalid mix shares."""


class StageError(ApprenticeError):
    """A training stage that cannot run: empty data, a base without a chat template, an adapter from another base, OOM."""


class GateError(ApprenticeError):
    """A promotion gate that failed (or cannot be checked): the chain of that target stops here."""


class ChatFormatError(ApprenticeError):
    """A tokenizer whose chat template apprentice cannot render tool calls for or parse completions of."""


class RegistryError(ApprenticeError):
    """An adapter registry request that cannot be done: an unknown version, a blocked promotion, no rollback target."""


class EvaluationError(ApprenticeError):
    """An evaluation that cannot run: no tasks, a missing adapter or repository, an endpoint down, a stamp mismatch."""


class ServingError(ApprenticeError):
    """A router that cannot serve: no base, an adapter refused, an unknown model name, a public address without a key."""


class ProbeError(ApprenticeError):
    """A general-capability probe that cannot be built or graded: no module source, no items, a sandbox failure."""


class DetectionInputError(ApprenticeError):
    """A chat request language detection cannot read: messages that are not dicts, content of an unknown shape."""


class FlywheelError(ApprenticeError):
    """Flywheel data that cannot be captured or curated: no interactions, a round already curated, a bad replay share."""
