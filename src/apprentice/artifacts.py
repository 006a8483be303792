"""The run directory: `RunDir` (every path of `runs/<name>/`), atomic writes, content hashes,
`meta.json` and DONE markers.

`RunDir` is the one place that joins run paths: other modules ask it for `stage_dir(...)`,
`eval_dir(...)`, `pointed_base()` or `open_registry()` rather than spelling `run_dir / "stages"`.

Every artifact (a base, a dataset, a stage's adapter) is a directory holding `meta.json` (the
resolved config, the hashes of its inputs, its metrics, the library versions and the project
commit) and, once complete, a `DONE` marker. A stage is skipped on resume only when its DONE
marker exists *and* the input hashes it recorded match the inputs it would read now.
"""

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apprentice.errors import RunDirError

if TYPE_CHECKING:  # the registry imports artifacts, so RunDir imports it only when called
    from apprentice.registry.registry import Registry

META_FILE = "meta.json"
DONE_FILE = "DONE"
METRICS_FILE = "metrics.json"  # a stage's curves and an evaluation's report card, each in its own directory
REPORT_FILE = "report.html"  # the run's comparison page, and an evaluation's own page in its directory
_TRACKED_LIBRARIES = ("torch", "transformers", "peft", "trl", "tokenizers", "apprentice")


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the new one, never half of one."""
    ensure_writable(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    """Write `value` as indented, key-sorted JSON, atomically."""
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary sibling directory; on success it is renamed to `target`, on failure removed.

    So a crash or a bad input never leaves a half-built artifact under the final name.
    """
    ensure_writable(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def ensure_writable(directory: Path) -> None:
    """Create `directory` if needed; raise RunDirError naming it when it cannot be written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirError(f"cannot create directory '{directory}': {error.strerror}; choose a writable path") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise RunDirError(f"directory '{directory}' is not writable; fix its permissions or choose another path")


def hash_bytes(data: bytes) -> str:
    """The sha256 of `data`, as `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_value(value: Any) -> str:
    """A stable hash of a JSON-serialisable value (key order does not matter)."""
    return hash_bytes(json.dumps(value, sort_keys=True, default=str).encode())


def hash_path(path: Path) -> str:
    """The content hash of a file, or of a directory tree (relative names and contents, sorted).

    Files named DONE or meta.json are left out of a directory's hash: they describe the content,
    they are not the content.
    """
    if path.is_file():
        return hash_bytes(path.read_bytes())
    if not path.is_dir():
        raise RunDirError(f"cannot hash '{path}': no such file or directory")
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.name not in (DONE_FILE, META_FILE)):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries that decide what a stage computes."""
    versions = {}
    for name in _TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def project_commit() -> str | None:
    """The git commit of the apprentice checkout this code runs from, or None outside a checkout."""
    source = Path(__file__).resolve().parent
    result = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def write_meta(
    artifact: Path,
    config: Mapping[str, Any],
    inputs: Mapping[str, str],
    metrics: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write `artifact/meta.json`: resolved config, input hashes, metrics, versions, commit."""
    meta = {
        "config": dict(config),
        "inputs": dict(inputs),
        "metrics": dict(metrics or {}),
        "versions": library_versions(),
        "commit": project_commit(),
    }
    atomic_write_json(artifact / META_FILE, meta)
    return meta


def read_meta(artifact: Path) -> dict[str, Any]:
    """Read `artifact/meta.json`; RunDirError naming the file when missing or not JSON."""
    path = artifact / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"'{path}' is missing; re-run the step that builds '{artifact}'") from None
    except json.JSONDecodeError as error:
        raise RunDirError(f"'{path}' is not valid JSON ({error.msg}, line {error.lineno}); delete '{artifact}' and re-run") from None


def mark_done(artifact: Path) -> None:
    """Mark an artifact complete. Written last, after everything it vouches for."""
    atomic_write_text(artifact / DONE_FILE, "")


def is_done(artifact: Path, inputs: Mapping[str, str]) -> bool:
    """Whether `artifact` is complete and was built from exactly these input hashes."""
    if not (artifact / DONE_FILE).exists() or not (artifact / META_FILE).exists():
        return False
    return read_meta(artifact).get("inputs") == dict(inputs)


PRETRAIN_STAGE = ("base", "pretrain")  # the pretrained base is a stage of the pseudo-target "base"


class RunDir:
    """Every path of a run directory `runs/<name>/`, named once: no other module joins run paths.

        run.yaml  base/ (or base/POINTER)  tasks/<target>/  data/<target>/  stages/<target>/<stage>/
        eval/<target>/<version>/  logs/<target>/<stage>/  flywheel/  registry.db  report.html

    Flywheel rounds 2+ train into `stages/<target>/round-<n>/` and evaluate into
    `eval/<target>/round-<n>-<version>/`, so round 1 stays intact.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunDir({str(self.root)!r})"

    @property
    def config_file(self) -> Path:
        """`run.yaml`: the resolved config the run was started with."""
        return self.root / "run.yaml"

    @property
    def base_dir(self) -> Path:
        """`base/`: the embedded base built here, or the directory holding the POINTER to the user's."""
        return self.root / "base"

    @property
    def base_pointer(self) -> Path:
        """`base/POINTER`: one line naming the user's base directory (absent for the embedded base)."""
        return self.base_dir / "POINTER"

    def pointed_base(self) -> Path:
        """The user's base named by `base/POINTER`, else `base/` itself (the embedded base)."""
        pointer = self.base_pointer
        return Path(pointer.read_text(encoding="utf-8").strip()) if pointer.is_file() else self.base_dir

    @property
    def pretrained_model(self) -> Path:
        """`stages/base/pretrain/model/`: the base after the pretrain stage (absent when it is skipped)."""
        return self.stage_dir(*PRETRAIN_STAGE) / "model"

    def trained_base(self) -> Path | None:
        """The base the run's adapters were trained on: the pretrained model, else the pointed or embedded
        base; None when the run has no base yet."""
        if self.pretrained_model.is_dir():
            return self.pretrained_model
        base = self.pointed_base()
        return base if self.base_pointer.is_file() or base.is_dir() else None

    def tasks_dir(self, target: str) -> Path:
        """`tasks/<target>/`: train.jsonl, eval.jsonl, stats.json."""
        return self.root / "tasks" / target

    def tasks_file(self, target: str, split: str) -> Path:
        """`tasks/<target>/<split>.jsonl` (split: train or eval)."""
        return self.tasks_dir(target) / f"{split}.jsonl"

    @property
    def data_root(self) -> Path:
        """`data/`: one folder per target."""
        return self.root / "data"

    def data_dir(self, target: str, round: int = 1) -> Path:
        """`data/<target>/`: sft.jsonl, preference.jsonl, grpo.jsonl; a flywheel round's own data (2+) under
        `data/<target>/round-<n>/`, so round 1's data stays as it was."""
        directory = self.data_root / target
        return directory if round == 1 else directory / f"round-{round}"

    def stage_dir(self, target: str, stage: str, round: int = 1) -> Path:
        """`stages/<target>/<stage>/`; flywheel rounds 2+ under `stages/<target>/round-<n>/<stage>/` so round 1
        stays intact. The pretrain stage (`stages/base/pretrain/`) is shared by every round."""
        if round == 1 or (target, stage) == PRETRAIN_STAGE:
            return self.stages_root / target / stage
        return self.stages_root / target / f"round-{round}" / stage

    def log_dir(self, target: str, stage: str, round: int = 1) -> Path:
        """`logs/<target>/<stage>/`: the trackers' files (TensorBoard event files) of one stage, or of `eval`;
        laid out as `stage_dir` is, so `tensorboard --logdir runs/<name>/logs` shows every curve of the run."""
        return self.logs_root / self.stage_dir(target, stage, round).relative_to(self.stages_root)

    @property
    def logs_root(self) -> Path:
        """`logs/`: what the trackers write (`logging.report_to`)."""
        return self.root / "logs"

    @property
    def stages_root(self) -> Path:
        """`stages/`: one folder per target (and `base/` for the pretrained model)."""
        return self.root / "stages"

    @property
    def eval_root(self) -> Path:
        """`eval/`: one folder per target."""
        return self.root / "eval"

    def eval_dir(self, target: str, version: str, round: int = 1) -> Path:
        """`eval/<target>/<version>/`: results.jsonl, metrics.json, report.html; flywheel rounds 2+ under
        `eval/<target>/round-<n>-<version>/` (the base's evaluation is shared by every round)."""
        return self.eval_root / target / _round_label(version, round)

    def signal_file(self, target: str, round: int = 1) -> Path:
        """`eval/<target>/signal.json` (`round-<n>-signal.json` in a flywheel round): the chain's learning signal."""
        return self.eval_root / target / f"{_round_label('signal', round)}.json"

    @property
    def flywheel_dir(self) -> Path:
        """`flywheel/`: interactions.jsonl and the curated rounds `round-<n>/`."""
        return self.root / "flywheel"

    def flywheel_round_dir(self, round: int) -> Path:
        """`flywheel/round-<n>/`: report.json and `<target>/{sft,train}.jsonl`."""
        return self.flywheel_dir / f"round-{round}"

    @property
    def registry_path(self) -> Path:
        """`registry.db`: the run's adapter registry (SQLite)."""
        return self.root / "registry.db"

    def open_registry(self) -> "Registry":
        """The run's `Registry` at `registry.db` (created on first use)."""
        from apprentice.registry.registry import Registry

        return Registry(self.registry_path)

    @property
    def report_file(self) -> Path:
        """`report.html`: the run's comparison page."""
        return self.root / REPORT_FILE


def _round_label(name: str, round: int) -> str:
    """`name` in round 1 and for the shared base, `round-<n>-<name>` in a later flywheel round."""
    return name if name == "base" or round == 1 else f"round-{round}-{name}"
