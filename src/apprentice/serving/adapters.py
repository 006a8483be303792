"""The resident adapter pool: one base in memory, every production adapter loaded beside it.

Each adapter version is a named PEFT adapter on one `PeftModel` (the version is the PEFT name,
since versions are never reused); a request leases a target or version, then runs on the model
with that adapter set. Switching is `set_adapter` (about a millisecond on the embedded base),
never a base reload. One model serves, so generation is serialised by a lock; PEFT's mixed-batch
`adapter_names` is not used because it does not cover the `target_parameters` expert LoRA of
gpt-oss bases.

Hot reload: `sync()` compares `Registry.generation()` with the last one seen; on a change it
loads newly promoted versions first, then swaps the target -> version mapping in one assignment,
and unloads a version only once no lease holds it. An adapter that cannot be loaded (unreadable
weights, another base, no config) is refused with its reason and the others are still served.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from safetensors import SafetensorError, safe_open

from apprentice.artifacts import hash_path
from apprentice.errors import ServingError, StageError
from apprentice.stages.result import check_adapter_base

# PEFT 0.21 calls a transformers method deprecated in 5.x on every adapter load; the warning is theirs.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

T = TypeVar("T")
WEIGHTS_FILE = "adapter_model.safetensors"
# Errors PEFT raises while reading or injecting an adapter whose files passed the checks below
# (shape mismatch, unknown target module, truncated tensor data): the adapter is refused.
_LOAD_ERRORS = (OSError, ValueError, RuntimeError, KeyError, SafetensorError)


@dataclass(frozen=True)
class Refusal:
    """An adapter version the pool would not load, and why."""

    version: str
    target: str
    path: str
    reason: str


@dataclass(frozen=True)
class PoolStatus:
    """What /health shows: the base, the resident adapters, the refused ones, the registry generation."""

    base: str
    base_hash: str
    targets: dict[str, str]  # target -> its resident production version
    resident: dict[str, str]  # version -> adapter path
    on_demand: tuple[str, ...]  # named non-production versions loaded for a request
    refused: tuple[Refusal, ...]
    generation: int | None


class AdapterPool:
    """One base model plus every production adapter of `registry`, kept current by `sync()`."""

    def __init__(self, registry, base_dir: Path, base_hash: str | None = None, max_on_demand: int = 4,
                 model: Any = None, tokenizer: Any = None):
        from apprentice.base.load import load_base

        if max_on_demand < 0:
            raise ServingError(f"max_on_demand {max_on_demand} must be >= 0")
        self.registry, self.base_dir, self.max_on_demand = registry, Path(base_dir), max_on_demand
        if model is None or tokenizer is None:
            model, tokenizer = load_base(self.base_dir)
        self.base_hash = base_hash or hash_path(self.base_dir)
        self.base_model, self.tokenizer = model, tokenizer
        self.model = None  # the PeftModel, created with the first adapter that loads
        self._lora_layers: list = []  # its LoRA layers, found once per load or unload
        self._active: str | None = None  # the adapter set on them, None when unknown
        self._model_lock = threading.Lock()  # one model: one generation or injection at a time
        self._sync_lock = threading.Lock()  # one reload at a time
        self._state_lock = threading.Lock()  # the maps below; never held while the model works
        self._targets: dict[str, str] = {}
        self._records: dict[str, Any] = {}  # version -> AdapterRecord of every resident version
        self._leases: Counter[str] = Counter()
        self._on_demand: OrderedDict[str, None] = OrderedDict()
        self._refused: dict[str, Refusal] = {}
        self._generation: int | None = None
        self.sync()

    def sync(self) -> bool:
        """Reload from the registry when its generation moved; True when a reload happened."""
        if self.registry.generation() == self._generation:
            return False
        with self._sync_lock:
            generation = self.registry.generation()
            if generation == self._generation:
                return False
            production = self.registry.production()
            targets = {target: record.version for target, record in production.items() if self._ensure_loaded(record)}
            with self._state_lock:
                self._targets = targets  # one assignment: a lease sees the old mapping or the new one
                self._generation = generation
                # A refusal stays on /health while its version is production; a rollback clears it.
                wanted = {record.version for record in production.values()}
                self._refused = {v: refusal for v, refusal in self._refused.items() if v in wanted}
            self._unload_idle()
            return True

    def load_named(self, record) -> str:
        """Make a named (maybe non-production) version resident; its version, or ServingError if refused."""
        with self._sync_lock:
            if not self._ensure_loaded(record):
                raise ServingError(f"adapter {record.version} was refused: {self._refused[record.version].reason}")
            with self._state_lock:
                self._on_demand[record.version] = None
                self._on_demand.move_to_end(record.version)
                while len(self._on_demand) > self.max_on_demand:
                    self._on_demand.popitem(last=False)
            self._unload_idle()
        return record.version

    @contextmanager
    def lease(self, name: str) -> Iterator[str]:
        """Hold a target's production version (or a resident version) so it stays loaded; yields the version."""
        with self._state_lock:
            version = self._targets.get(name, name)
            if version not in self._records:
                raise ServingError(f"no resident adapter for {name!r} (served: {', '.join(self._served())})")
            self._leases[version] += 1
            if version in self._on_demand:
                self._on_demand.move_to_end(version)
        try:
            yield version
        finally:
            with self._state_lock:
                self._leases[version] -= 1
            # A reload in progress unloads idle versions itself at its end: never wait for it here.
            if self._sync_lock.acquire(blocking=False):
                try:
                    self._unload_idle()
                finally:
                    self._sync_lock.release()

    def run(self, version: str, work: Callable[[Any, Any], T]) -> T:
        """Call `work(model, tokenizer)` with `version` active; the caller holds a lease on it."""
        with self._model_lock:
            self._activate(version)
            return work(self.model, self.tokenizer)

    def _activate(self, version: str) -> None:
        """Make `version` the active adapter (caller holds the model lock); nothing to do when it already is.

        PEFT's `PeftModel.set_adapter` walks every module and toggles `requires_grad` of every
        adapter's weights; serving trains nothing, so the LoRA layers found at load time are switched
        directly (in inference mode), unless an adapter also carries full modules (`modules_to_save`).
        """
        if version == self._active:
            return
        if any(config.modules_to_save for config in self.model.peft_config.values()):
            self.model.set_adapter(version)
        else:
            for layer in self._lora_layers:
                layer.set_adapter(version, inference_mode=True)
            self.model.base_model.active_adapter = version
        self._active = version

    def target_version(self, target: str) -> str | None:
        """The resident production version serving `target`, or None."""
        return self._targets.get(target)

    def refusal(self, version: str) -> Refusal | None:
        """Why `version` was refused, or None when it was not."""
        return self._refused.get(version)

    def served_names(self) -> list[str]:
        """Every name a request may give: the targets, then the resident versions."""
        with self._state_lock:
            return self._served()

    def status(self) -> PoolStatus:
        """A snapshot for /health."""
        with self._state_lock:
            return PoolStatus(
                base=str(self.base_dir), base_hash=self.base_hash, targets=dict(self._targets),
                resident={version: record.path for version, record in self._records.items()},
                on_demand=tuple(self._on_demand), refused=tuple(self._refused.values()),
                generation=self._generation,
            )

    def _served(self) -> list[str]:
        return sorted(self._targets) + sorted(self._records)

    def _ensure_loaded(self, record) -> bool:
        """Load `record` unless resident; False (and a Refusal recorded) when it cannot be."""
        if record.version in self._records:
            return True
        try:
            self._check_files(record)
            self._inject(record)
        except (ServingError, StageError) as error:
            with self._state_lock:
                self._refused[record.version] = Refusal(record.version, record.target, record.path, str(error))
            return False
        with self._state_lock:
            self._refused.pop(record.version, None)
            self._records[record.version] = record
        return True

    def _check_files(self, record) -> None:
        """Refuse before touching the model: wrong base, missing config, unreadable weights."""
        path = Path(record.path)
        check_adapter_base(path, self.base_hash)
        if record.base_hash and record.base_hash != self.base_hash:
            raise ServingError(f"registry records {record.version} on base {record.base_hash[:19]}..., not on the "
                               f"served base {self.base_hash[:19]}...; serve the base it was trained on")
        try:
            json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
            with safe_open(str(path / WEIGHTS_FILE), framework="pt") as weights:
                weights.keys()
        except (OSError, json.JSONDecodeError, SafetensorError) as error:
            raise ServingError(f"adapter {record.version} at '{path}' is unreadable ({error}); "
                               "re-export it from its stage directory") from error

    def _inject(self, record) -> None:
        from peft import PeftModel

        with self._model_lock:
            try:
                if self.model is None:
                    self.model = PeftModel.from_pretrained(self.base_model, record.path, adapter_name=record.version)
                    self.model.eval()
                else:
                    self.model.load_adapter(record.path, adapter_name=record.version)
            except _LOAD_ERRORS as error:
                if self.model is not None and record.version in self.model.peft_config:
                    self.model.delete_adapter(record.version)
                raise ServingError(f"PEFT could not load {record.version} from '{record.path}': {error}") from error
            finally:
                self._find_layers()

    def _unload_idle(self) -> None:
        """Unload versions no target or on-demand slot needs and no lease holds (caller holds the sync lock)."""
        with self._state_lock:
            needed = set(self._targets.values()) | set(self._on_demand)
            idle = [v for v in self._records if v not in needed and self._leases[v] == 0]
            # PEFT keeps at least one adapter on a PeftModel: the last one stays resident.
            idle = idle[: max(len(self._records) - 1, 0)]
            for version in idle:
                del self._records[version]
        for version in idle:
            with self._model_lock:
                if self._active in (None, version):
                    # PEFT warns when the active adapter (or one it may be) is deleted: move to one that stays.
                    self._activate(next(v for v in self.model.peft_config if v != version))
                self.model.delete_adapter(version)
                self._find_layers()

    def _find_layers(self) -> None:
        """Re-find the LoRA layers after a load or unload (caller holds the model lock)."""
        from peft.tuners.tuners_utils import BaseTunerLayer

        self._active = None  # PEFT moves the active adapter itself when it deletes the active one
        if self.model is not None:
            self._lora_layers = [module for module in self.model.modules() if isinstance(module, BaseTunerLayer)]
