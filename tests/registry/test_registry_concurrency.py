"""Many processes registering, promoting and rolling back on one registry file at once.

Each call runs in its own OS process (forked), all released together by a barrier, so the SQLite
locking (WAL + BEGIN IMMEDIATE) is what keeps version numbers unique and the production alias sane.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
from collections import Counter
from pathlib import Path

from apprentice.errors import RegistryError
from apprentice.registry.registry import Registry

TARGETS = ("python", "rust", "typescript", "go")
# The only refusals a healthy registry may answer these calls with.
EXPECTED_REFUSALS = ("not promoted", "no earlier production version", "has no production version")


def _worker(index: int, db: str, adapter: str, barrier, results) -> None:
    """One process: its calls' outcome goes to `results`; a crash is reported there too, then re-raised."""
    barrier.wait()
    try:
        results.put(_calls(index, Path(db), adapter))
    except Exception as error:  # report it so the parent fails at once instead of waiting on the queue
        results.put((index, None, f"crashed: {error!r}"))
        raise


def _calls(index: int, db: Path, adapter: str) -> tuple[int, str, str]:
    """Open the shared file, register a version, then promote it (some forced) or roll back."""
    rng = random.Random(index)
    target = TARGETS[index % len(TARGETS)]
    metrics = {"test_pass_rate": rng.uniform(0.3, 0.9), "tool_call_format_accuracy": rng.choice((0.9, 0.95))}
    registry = Registry(db)
    record = registry.register(target, adapter, "sha256:base", run=f"worker-{index}", metrics=metrics)
    outcome = "promoted"
    try:
        if index % 9 == 8:
            registry.rollback(target)
            outcome = "rolled back"
        else:
            registry.promote(record.version, force=index % 5 == 0, reason=f"forced by worker {index}")
    except RegistryError as error:
        outcome = str(error)
    registry.close()
    return index, record.version, outcome


def _hammer(tmp_path: Path, processes: int) -> tuple[Path, list[tuple[int, str, str]]]:
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(processes), context.Queue()
    db = tmp_path / "shared" / "registry.db"  # created by whichever process gets there first
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    workers = [context.Process(target=_worker, args=(i, str(db), str(adapter), barrier, results))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * processes
    return db, collected


def _check_consistent(db: Path, collected: list[tuple[int, str, str]], processes: int) -> None:
    versions = [version for _, version, _ in collected]
    assert len(versions) == processes and len(set(versions)) == processes, Counter(versions).most_common(3)
    for _, _, outcome in collected:
        assert outcome in ("promoted", "rolled back") or any(r in outcome for r in EXPECTED_REFUSALS), outcome

    registry = Registry(db)
    records = registry.list()
    assert sorted(r.version for r in records) == sorted(versions)
    for target in TARGETS:
        numbers = [r.number for r in registry.list(target)]
        assert numbers == list(range(1, len(numbers) + 1)), f"{target}: {numbers}"
        in_production = [r.version for r in registry.list(target) if r.status == "production"]
        assert len(in_production) == 1, f"{target}: {in_production}"
        assert registry.resolve(target).version == in_production[0]
        moves = [e for e in registry.events(target) if e.action in ("promote", "rollback")]
        assert moves[-1].version == in_production[0]  # the alias is where the last recorded move put it

    raw = sqlite3.connect(db)
    production_rows = raw.execute("SELECT target, COUNT(*) FROM aliases WHERE alias = 'production' GROUP BY target")
    assert dict(production_rows.fetchall()) == dict.fromkeys(TARGETS, 1)
    dangling = raw.execute("SELECT COUNT(*) FROM aliases LEFT JOIN adapters USING (version) "
                           "WHERE adapters.version IS NULL").fetchone()[0]
    assert dangling == 0
    assert raw.execute("SELECT COUNT(*) FROM events WHERE action = 'register'").fetchone()[0] == processes
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_hundred_processes_never_share_a_version_nor_break_the_production_alias(tmp_path):
    db, collected = _hammer(tmp_path, 100)
    _check_consistent(db, collected, 100)
    # The workers' forced promotions are all in the history, each with its reason.
    forced = [e for e in Registry(db).events() if e.action == "promote" and e.detail["forced"]]
    assert all(e.detail["reason"].startswith("forced by worker") for e in forced)
