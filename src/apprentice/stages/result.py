"""What a stage takes in and hands back, and the bookkeeping every stage shares.

A stage reads a base, maybe a parent adapter and a dataset, and writes into its own directory:
`adapter/` (or `model/` for pretraining), `metrics.json`, `gate.json`, `meta.json`, then `DONE`
last. The input hashes recorded in `meta.json` decide whether a re-run may skip it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apprentice.artifacts import (
    METRICS_FILE,
    atomic_directory,
    atomic_write_json,
    ensure_writable,
    hash_path,
    hash_value,
    is_done,
    mark_done,
    write_meta,
)
from apprentice.errors import StageError
from apprentice.gates import GateVerdict
from apprentice.stages.model_card import write_model_card

ADAPTER_DIR = "adapter"
MODEL_DIR = "model"
CHECKPOINT_DIR = "checkpoints"
GATE_FILE = "gate.json"
# Written into every adapter so it can be matched to its base wherever it is copied.
ADAPTER_ORIGIN_FILE = "apprentice_adapter.json"
# The inputs an interrupted run was started with: a checkpoint is only resumed for the same inputs.
STARTED_FILE = "started.json"


@dataclass(frozen=True)
class StageInputs:
    """Where a stage reads from and writes to. The caller (pipeline, CLI, tests) decides the paths."""

    target: str
    stage_dir: Path
    base_dir: Path
    parent_adapter: Path | None = None
    data: Path | None = None
    log_dir: Path | None = None  # where trackers write (TensorBoard event files); None: the stage dir's logs/

    @property
    def tracker_dir(self) -> Path:
        """The directory the trainers' trackers write to."""
        return self.log_dir or self.stage_dir / "logs"


@dataclass(frozen=True)
class StageResult:
    """What a stage produced: its adapter (or model), metrics, gate verdict and the hashes it was built from."""

    stage: str
    target: str
    adapter_path: Path
    metrics: dict
    gate: GateVerdict | None
    input_hashes: dict
    skipped: bool = False  # True when a finished run with the same inputs was reused


def is_main_process() -> bool:
    """Whether this process writes the stage's files: always, except ranks 1.. of a distributed launch.

    Under `accelerate launch` (or torchrun) every rank runs the stage; the Trainer keeps them in step
    and only rank 0 (RANK=0) touches the stage directory, so no two processes write one file.
    """
    return int(os.environ.get("RANK", "0")) == 0


def input_hashes(inputs: StageInputs, stage_config: dict[str, Any]) -> dict[str, str]:
    """Content hashes of everything the stage's output depends on (base, data, parent, config)."""
    for role, path in (("data", inputs.data), ("parent adapter", inputs.parent_adapter)):
        if path is not None and not path.exists():
            raise StageError(f"{role} '{path}' does not exist; build it first (the step before this stage)")
    return {
        "base": hash_path(inputs.base_dir),
        "data": hash_path(inputs.data) if inputs.data is not None else "none",
        "parent_adapter": hash_path(inputs.parent_adapter) if inputs.parent_adapter is not None else "none",
        "config": hash_value(stage_config),
    }


def reuse_if_done(stage: str, inputs: StageInputs, hashes: dict[str, str], output: str) -> StageResult | None:
    """The finished result when the stage dir is DONE with these exact input hashes, else None."""
    if not is_done(inputs.stage_dir, hashes):
        return None
    metrics = read_json(inputs.stage_dir / METRICS_FILE)
    gate_file = inputs.stage_dir / GATE_FILE
    gate = GateVerdict.from_dict(read_json(gate_file)) if gate_file.exists() else None
    return StageResult(stage, inputs.target, inputs.stage_dir / output, metrics, gate, hashes, skipped=True)


def prepare_stage_dir(inputs: StageInputs, hashes: dict[str, str]) -> Path | None:
    """Create the stage dir; return the last checkpoint to resume from, when started with these inputs.

    A stage dir left by a run with other inputs (or a finished one being redone) is cleared first,
    so a stale checkpoint never leaks into a new run.
    """
    started = inputs.stage_dir / STARTED_FILE
    if not is_main_process():  # the launcher prepared the directory before starting the ranks
        return last_checkpoint(inputs.stage_dir / CHECKPOINT_DIR) if read_json(started) == hashes else None
    ensure_writable(inputs.stage_dir)
    if not started.exists() and any(inputs.stage_dir.iterdir()):
        # Never clear a directory a stage did not start: it may hold anything.
        raise StageError(f"'{inputs.stage_dir}' is not empty and is no stage directory (no {STARTED_FILE}); "
                         "pass an empty or new directory as the stage directory")
    previous = read_json(started) if started.exists() else None
    if previous != hashes or (inputs.stage_dir / "DONE").exists():
        for entry in inputs.stage_dir.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        atomic_write_json(started, hashes)
        return None
    return last_checkpoint(inputs.stage_dir / CHECKPOINT_DIR)


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The newest complete `checkpoint-N` directory under `checkpoints`, or None."""
    if not checkpoints.is_dir():
        return None
    found = [p for p in checkpoints.glob("checkpoint-*") if p.is_dir() and (p / "trainer_state.json").exists()]
    return max(found, key=lambda p: int(p.name.rsplit("-", 1)[-1]), default=None)


def finish_stage(stage: str, inputs: StageInputs, config: dict[str, Any], hashes: dict[str, str],
                 metrics: dict[str, Any], gate: GateVerdict | None, output: str) -> StageResult:
    """Write metrics.json, gate.json, meta.json, drop the checkpoints, then DONE (last)."""
    if not is_main_process():
        return StageResult(stage, inputs.target, inputs.stage_dir / output, metrics, gate, hashes)
    atomic_write_json(inputs.stage_dir / METRICS_FILE, metrics)
    if gate is not None:
        atomic_write_json(inputs.stage_dir / GATE_FILE, gate.to_dict())
    summary = {"stage": stage, "target": inputs.target, **({"gate_passed": gate.passed} if gate else {})}
    write_meta(inputs.stage_dir, {**config, **summary}, hashes, metrics)
    if (inputs.stage_dir / output).is_dir():
        write_model_card(inputs.stage_dir / output, stage, inputs.target, inputs.base_dir, hashes, metrics,
                         gate.to_dict() if gate else None, stage_chain(inputs, stage, output))
    # A finished stage is never resumed, and checkpoints of a real model weigh as much as the model.
    shutil.rmtree(inputs.stage_dir / CHECKPOINT_DIR, ignore_errors=True)
    mark_done(inputs.stage_dir)
    return StageResult(stage, inputs.target, inputs.stage_dir / output, metrics, gate, hashes)


def save_adapter(trainer, inputs: StageInputs, base_hash: str, stage: str) -> None:
    """The trained adapter (and tokenizer) into `stage_dir/adapter/`, atomically, with its base recorded."""
    if not is_main_process():
        return
    with atomic_directory(inputs.stage_dir / ADAPTER_DIR) as staging:
        trainer.model.save_pretrained(staging)
        trainer.processing_class.save_pretrained(staging)
        write_adapter_origin(staging, base_hash, stage, inputs.target, stage_chain(inputs, stage, ADAPTER_DIR))


def write_adapter_origin(adapter_dir: Path, base_hash: str, stage: str, target: str,
                         chain: list[dict[str, str]] | None = None) -> None:
    """Record which base an adapter was trained on, and the chain of stages that led to it, inside the adapter
    directory itself."""
    origin = {"base": base_hash, "stage": stage, "target": target}
    atomic_write_json(adapter_dir / ADAPTER_ORIGIN_FILE, origin | ({"chain": chain} if chain else {}))


def stage_chain(inputs: StageInputs, stage: str, output: str) -> list[dict[str, str]]:
    """[{"stage", "adapter"}, ...]: the parent adapter's chain (from its origin file), then this stage."""
    chain = []
    if inputs.parent_adapter is not None:
        origin_file = inputs.parent_adapter / ADAPTER_ORIGIN_FILE
        origin = read_json(origin_file) if origin_file.is_file() else {}
        chain = origin.get("chain") or [{"stage": origin.get("stage", "?"), "adapter": str(inputs.parent_adapter)}]
    return [*chain, {"stage": stage, "adapter": str(inputs.stage_dir / output)}]


def check_adapter_base(adapter_dir: Path, base_hash: str) -> None:
    """StageError when `adapter_dir` was trained on another base than the one hashed `base_hash`."""
    origin_file = adapter_dir / ADAPTER_ORIGIN_FILE
    if not (adapter_dir / "adapter_config.json").exists():
        raise StageError(f"'{adapter_dir}' is not a LoRA adapter (no adapter_config.json); pass the adapter/ of a finished stage")
    if not origin_file.exists():
        raise StageError(f"adapter '{adapter_dir}' has no {ADAPTER_ORIGIN_FILE}, so its base is unknown; "
                         "retrain it with apprentice or pass the adapter/ of a finished stage")
    trained_on = read_json(origin_file).get("base")
    if trained_on != base_hash:
        raise StageError(f"adapter '{adapter_dir}' was trained on base {str(trained_on)[:19]}..., not on this base "
                         f"{base_hash[:19]}... (hash mismatch); use the base it was trained on or retrain the adapter")


def read_json(path: Path) -> Any:
    """Parse a JSON file; StageError naming it when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise StageError(f"cannot read '{path}' ({error}); delete the stage directory and re-run") from None


def headline_number(metrics: dict[str, Any], key: str) -> str:
    """`metrics[key]` to 3 significant digits for a stage's headline; "n/a" when absent or None."""
    value = metrics.get(key)
    return "n/a" if value is None else f"{value:.3g}"
