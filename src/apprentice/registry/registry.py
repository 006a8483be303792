"""The adapter registry: every adapter version with its lineage, aliases, and a history of every move.

Statuses (SPEC §8): `trained` (registered, not evaluated) -> `evaluating` (has evaluation metrics;
a candidate, or a former production version kept ready for rollback) -> `production` (exactly
the version the target's `production` alias points at) -> `retired` (final; never served, never
rolled back to). The `production` alias moves only through `promote` (gated on no regression,
or forced with a recorded reason) and `rollback`; nothing is ever deleted, every move is an event.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import yaml

from apprentice.artifacts import REPORT_FILE, atomic_write_text, hash_path
from apprentice.errors import RegistryError
from apprentice.evaluation.regression import as_json, compare, flatten, regressed
from apprentice.languages.registry import LANGUAGES
from apprentice.registry import store
from apprentice.registry.store import PRODUCTION, AdapterRecord, Event
from apprentice.stages.result import ADAPTER_ORIGIN_FILE

__all__ = ["AdapterRecord", "Event", "Registry", "register_and_maybe_promote"]

EXPORT_FILE = "adapter_registry.yaml"
# A target may not look like a version or an alias reference, or "python-v3" would be ambiguous.
_TARGET_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION_SUFFIX = re.compile(r"-v\d+$")


class Registry:
    """Adapter versions of one run (or of many, when several runs share one file) in SQLite.

    A run's own registry is opened by `RunDir(run).open_registry()`, which names its `registry.db`.
    """

    def __init__(self, path: Path) -> None:
        """Open the registry database at `path`, creating it (and its directory) if missing."""
        self.path = Path(path)
        self._connections = store.Connections(self.path)
        self._connections.get()  # open now, so a bad path fails here and not at the first call

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def close(self) -> None:
        """Close this process's database connections (the file stays; a later call reopens)."""
        self._connections.close()

    def register(self, target: str, path: str | Path, base_hash: str, data_hash: str = "", parent: str | None = None,
                 run: str = "", metrics: dict | None = None, report: str | None = None,
                 adapter_hash: str = "") -> AdapterRecord:
        """Add a new version of `target` (number = highest so far + 1, never reused); `trained`, or
        `evaluating` when `metrics` (a metrics.json or a flat {name: value}) are given."""
        _check_target(target)
        adapter_dir = Path(path).resolve()
        if not adapter_dir.exists():
            raise RegistryError(f"adapter path '{adapter_dir}' does not exist; pass the adapter/ of a finished stage")
        if not base_hash:
            raise RegistryError(f"no base hash given for '{adapter_dir}'; pass the base's sha256 (see {ADAPTER_ORIGIN_FILE})")
        snapshot = flatten(metrics) if metrics else {}
        with store.write(self._db) as db:
            if parent is not None:
                self._existing(db, parent)
            number = store.next_number(db, target)
            version = f"{target}-v{number}"
            store.insert_adapter(db, dict(
                version=version, target=target, number=number, path=str(adapter_dir), base_hash=base_hash,
                data_hash=data_hash, parent=parent, run=run, metrics=snapshot, report=report,
                status="evaluating" if snapshot else "trained", created=store.now()))
            store.append_event(db, "register", target, version, {"path": str(adapter_dir), "adapter_hash": adapter_hash})
        return self.get(version)

    def set_evaluation(self, version: str, metrics: dict, report: str | None) -> AdapterRecord:
        """Store an evaluation's metrics (metrics.json or flat) and report; `trained` becomes `evaluating`."""
        snapshot = flatten(metrics)
        with store.write(self._db) as db:
            record = self._existing(db, version)
            if record.status == "retired":
                raise RegistryError(f"{version} is retired; register the adapter again to evaluate it")
            status = "evaluating" if record.status == "trained" else record.status
            store.update_adapter(db, version, metrics=snapshot, report=report, status=status)
            store.append_event(db, "evaluate", record.target, version, {"metrics": snapshot, "report": report})
        return self.get(version)

    def promotion_check(self, version: str) -> tuple[bool, str]:
        """Whether `version` may become production without force, and why (the regressions, if any)."""
        return _gate(self._db, self.get(version))[:2]

    def promote(self, version: str, force: bool = False, reason: str = "") -> AdapterRecord:
        """Point the target's `production` alias at `version` when its metrics show no regression
        against the current production's; `force` overrides, and is recorded with `reason`."""
        with store.write(self._db) as db:
            record = self._existing(db, version)
            if record.status in ("production", "retired"):
                raise RegistryError(f"{version} is {record.status}; promote a trained or evaluating version "
                                    f"(see: apprentice registry list)")
            allowed, why, rows = _gate(db, record)
            current = store.alias_version(db, PRODUCTION, record.target)
            detail = {"from": current, "forced": force and not allowed, "reason": reason, "gate": why,
                      "regressions": as_json(rows)}
            if not allowed and not force:
                store.append_event(db, "promotion_blocked", record.target, version, detail)
            else:
                _move_production(db, record.target, current, version)
                store.append_event(db, "promote", record.target, version, detail)
        if not allowed and not force:
            raise RegistryError(f"{version} not promoted: {why}; fix the adapter, or force it with a reason "
                                f"(apprentice registry promote {version} --force --reason '...')")
        return self.get(version)

    def rollback(self, target: str) -> AdapterRecord:
        """Move `target`'s production alias back to the production version before the current one."""
        with store.write(self._db) as db:
            current = self._production_version(db, target)
            history = store.production_history(db, target)
            earlier = [v for v in reversed(history[:-1]) if v != current and store.fetch(db, v).status != "retired"]
            if not earlier:
                raise RegistryError(f"target '{target}' has no earlier production version to roll back to "
                                    f"(production: {current}; promote another version instead)")
            _move_production(db, target, current, earlier[0])
            store.append_event(db, "rollback", target, earlier[0], {"from": current})
        return self.get(earlier[0])

    def retire(self, version: str) -> AdapterRecord:
        """Mark `version` retired for good (its aliases are removed; the row and files stay)."""
        with store.write(self._db) as db:
            record = self._existing(db, version)
            if record.status == "production":
                raise RegistryError(f"{version} is the production version of '{record.target}'; "
                                    f"roll back (apprentice registry rollback {record.target}) or promote another first")
            if record.status == "retired":
                raise RegistryError(f"{version} is already retired")
            for alias in record.aliases:
                store.drop_alias(db, alias, record.target)
            store.update_adapter(db, version, status="retired")
            store.append_event(db, "retire", record.target, version, {"removed_aliases": list(record.aliases)})
        return self.get(version)

    def set_alias(self, alias: str, version: str) -> AdapterRecord:
        """Point `target@alias` at `version` (any alias but `production`, which only promote moves)."""
        if alias == PRODUCTION or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", alias):
            raise RegistryError(f"cannot set alias '{alias}': use a name of letters, digits, '._-' other than "
                                f"'production' (production moves only with promote/rollback)")
        with store.write(self._db) as db:
            record = self._existing(db, version)
            if record.status == "retired":
                raise RegistryError(f"{version} is retired; an alias may only name a live version")
            store.point_alias(db, alias, record.target, version)
            store.append_event(db, "alias", record.target, version, {"alias": alias})
        return self.get(version)

    def remove_alias(self, alias: str, target: str) -> None:
        """Remove `target@alias` (not `production`)."""
        with store.write(self._db) as db:
            known = store.aliases_of_target(db, target)
            if alias == PRODUCTION or alias not in known:
                raise RegistryError(f"cannot remove alias '{target}@{alias}' (removable aliases of '{target}': "
                                    f"{', '.join(a for a in known if a != PRODUCTION) or 'none'})")
            store.drop_alias(db, alias, target)
            store.append_event(db, "unalias", target, known[alias], {"alias": alias})

    def get(self, version: str) -> AdapterRecord:
        """The record of `version`; RegistryError naming the known versions when there is none."""
        return self._existing(self._db, version)

    def resolve(self, name: str) -> AdapterRecord:
        """`python` -> its production record; `python-v3` -> that version; `python@candidate` -> that alias."""
        with store.snapshot(self._db) as db:
            if "@" in name:
                target, alias = name.split("@", 1)
                self._check_known_target(db, target)
                version = store.alias_version(db, alias, target)
                if version is None:
                    raise RegistryError(f"unknown alias '{name}' (aliases of '{target}': "
                                        f"{', '.join(store.aliases_of_target(db, target)) or 'none'})")
                return self._existing(db, version)
            record = store.fetch(db, name)
            if record is not None:
                return record
            self._check_known_target(db, name)
            return self._existing(db, self._production_version(db, name))

    def list(self, target: str | None = None) -> list[AdapterRecord]:
        """Every version (of `target`), by target and number."""
        with store.snapshot(self._db) as db:
            return store.fetch_all(db, target)

    def events(self, target: str | None = None) -> list[Event]:
        """The history (of `target`), oldest first: registrations, promotions (forced ones with their reason), ..."""
        return store.fetch_events(self._db, target)

    def production(self) -> dict[str, AdapterRecord]:
        """target -> its production record, for every target that has one."""
        with store.snapshot(self._db) as db:
            return {record.target: record for record in store.fetch_all(db) if record.status == PRODUCTION}

    def set_default(self, target: str) -> None:
        """Make `target` the default adapter (the router's last resort); it must have a production version."""
        with store.write(self._db) as db:
            self._production_version(db, target)
            store.put_setting(db, "default_target", target)
            store.append_event(db, "default", target, None, {})

    def default_target(self) -> str | None:
        """The target set with `set_default`, else the first target ever promoted; None without production."""
        chosen = store.setting(self._db, "default_target")
        if chosen is not None:
            return chosen
        promotions = [e.target for e in store.fetch_events(self._db) if e.action == "promote"]
        return promotions[0] if promotions else None

    def generation(self) -> int:
        """A number that grows on every change; poll it to know when to reload."""
        return store.generation(self._db)

    def find_registered(self, target: str, adapter_hash: str) -> AdapterRecord | None:
        """The newest live version of `target` registered with this adapter content hash, or None."""
        matches = [e.version for e in store.fetch_events(self._db, target)
                   if e.action == "register" and adapter_hash and e.detail.get("adapter_hash") == adapter_hash]
        live = [record for record in map(self.get, reversed(matches)) if record.status != "retired"]
        return live[0] if live else None

    def export(self, path: Path, base_model: str) -> Path:
        """Write `adapter_registry.yaml` (SPEC §8) with every production adapter; returns its path."""
        adapters = {record.target: {
            "version": record.version, "path": record.path, "toolchain": toolchain(record.target),
            "eval_metrics": record.metrics, "status": record.status,
        } for record in self.production().values()}
        document = {"base_model": base_model, "default_adapter": self.default_target(), "adapters": adapters}
        atomic_write_text(Path(path), yaml.safe_dump(document, sort_keys=False, default_flow_style=None))
        return Path(path)

    def _existing(self, db: sqlite3.Connection, version: str) -> AdapterRecord:
        record = store.fetch(db, version)
        if record is None:
            known = [r.version for r in store.fetch_all(db)]
            shown = ", ".join(known[-20:]) or "none registered"
            raise RegistryError(f"unknown adapter version '{version}' (known: {shown}); see apprentice registry list")
        return record

    def _check_known_target(self, db: sqlite3.Connection, target: str) -> None:
        known = store.targets(db)
        if target not in known:
            raise RegistryError(f"unknown adapter target or version '{target}' (targets: {', '.join(known) or 'none'})")

    def _production_version(self, db: sqlite3.Connection, target: str) -> str:
        version = store.alias_version(db, PRODUCTION, target)
        if version is None:
            versions = ", ".join(f"{r.version} ({r.status})" for r in store.fetch_all(db, target)) or "none"
            raise RegistryError(f"target '{target}' has no production version (versions: {versions}); "
                                "promote one first: apprentice registry promote <version>")
        return version


def toolchain(target: str) -> list[str]:
    """The executables a language target's adapter is graded with; [] for a non-language target."""
    language = LANGUAGES.get(target)
    if language is None:
        return []
    return [tool.executable for tool in (*language.toolchain, *language.lint_tools)]


def register_and_maybe_promote(registry: Registry, target: str, adapter_dir: Path, eval_metrics_path: Path | None,
                               gates_passed: bool, run: str, data_hash: str = "", parent: str | None = None,
                               ) -> tuple[AdapterRecord, bool, str]:
    """After evaluation: register `adapter_dir` (once per content), store its metrics, and promote it
    when the gates passed and nothing regressed. Returns (record, in production, why)."""
    adapter_hash = hash_path(adapter_dir)
    record = registry.find_registered(target, adapter_hash)
    if record is None:
        record = registry.register(target, adapter_dir, read_base_hash(adapter_dir), data_hash, parent, run,
                                   adapter_hash=adapter_hash)
    if eval_metrics_path is not None:
        report_file = eval_metrics_path.parent / REPORT_FILE
        metrics, report = flatten(_read_json(eval_metrics_path)), str(report_file) if report_file.exists() else None
        if (metrics, report) != (record.metrics, record.report):  # a resumed run changes nothing, bumps nothing
            record = registry.set_evaluation(record.version, metrics, report)
    if record.status == PRODUCTION:
        return record, True, f"{record.version} is already production"
    if not gates_passed:
        return record, False, f"{record.version} not promoted: a promotion gate failed"
    allowed, why = registry.promotion_check(record.version)
    if not allowed:
        return record, False, f"{record.version} not promoted: {why}"
    return registry.promote(record.version), True, f"{record.version} promoted: {why}"


def read_base_hash(adapter_dir: Path) -> str:
    """The base hash an apprentice adapter records in its `apprentice_adapter.json`."""
    origin = Path(adapter_dir) / ADAPTER_ORIGIN_FILE
    if not origin.exists():
        raise RegistryError(f"'{adapter_dir}' has no {ADAPTER_ORIGIN_FILE}, so its base is unknown; "
                            "pass the adapter/ directory of a finished apprentice stage")
    base = _read_json(origin).get("base")
    if not base:
        raise RegistryError(f"'{origin}' names no base; retrain the adapter with apprentice")
    return base


def _gate(db: sqlite3.Connection, record: AdapterRecord) -> tuple[bool, str, list]:
    if not record.metrics:
        return False, f"{record.version} has no evaluation metrics (evaluate it first)", []
    current = store.alias_version(db, PRODUCTION, record.target)
    if current is None:
        return True, f"first production version of '{record.target}'", []
    rows = compare(record.metrics, store.fetch(db, current).metrics)
    flagged = [f"{r.metric} {r.reference} -> {r.value}" for r in rows if r.flag]
    if regressed(rows):
        return False, f"regression against {current}: {', '.join(flagged)}", rows
    return True, f"no regression against {current} ({len(rows)} metrics compared)", rows


def _move_production(db: sqlite3.Connection, target: str, current: str | None, version: str) -> None:
    # The version leaving production stays `evaluating`: evaluated, live, and a rollback target.
    if current is not None:
        store.update_adapter(db, current, status="evaluating")
    store.update_adapter(db, version, status=PRODUCTION)
    store.point_alias(db, PRODUCTION, target, version)


def _check_target(target: str) -> None:
    if not _TARGET_PATTERN.match(target) or _VERSION_SUFFIX.search(target):
        raise RegistryError(f"bad target name '{target}': use letters, digits and '._-', not ending in -v<N> "
                            "(e.g. python, rust, planner)")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise RegistryError(f"cannot read '{path}' ({error}); re-run the step that writes it") from None
