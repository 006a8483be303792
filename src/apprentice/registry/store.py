"""The SQLite layer under the adapter registry: schema, locked transactions, rows to records.

One database file per registry (`runs/<name>/registry.db` by default). WAL lets readers (the
router polling `generation`) go on while a writer holds the lock; every write runs inside
`BEGIN IMMEDIATE`, so two processes never read the same "next version number" and both write it.
Nothing is ever deleted from `adapters` or `events`; only `aliases` rows move.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apprentice.artifacts import ensure_writable
from apprentice.errors import RegistryError

STATUSES = ("trained", "evaluating", "production", "retired")
PRODUCTION = "production"
# How long a writer waits for another process's lock before giving up; promotions are milliseconds.
BUSY_TIMEOUT_MS = 60_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS adapters (
    version TEXT PRIMARY KEY, target TEXT NOT NULL, number INTEGER NOT NULL, path TEXT NOT NULL,
    base_hash TEXT NOT NULL, data_hash TEXT NOT NULL, parent TEXT, run TEXT NOT NULL,
    metrics TEXT NOT NULL, report TEXT, status TEXT NOT NULL, created TEXT NOT NULL,
    UNIQUE (target, number));
CREATE TABLE IF NOT EXISTS aliases (
    alias TEXT NOT NULL, target TEXT NOT NULL, version TEXT NOT NULL REFERENCES adapters (version),
    PRIMARY KEY (alias, target));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, version TEXT, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class AdapterRecord:
    """One registered adapter version and where it stands (status, aliases pointing at it)."""

    target: str
    version: str  # f"{target}-v{number}"
    number: int
    path: str  # adapter directory, absolute
    base_hash: str
    data_hash: str
    parent: str | None
    run: str
    metrics: dict  # flat {metric name: value} from the evaluation's metrics.json
    report: str | None
    status: str  # one of STATUSES
    aliases: tuple[str, ...]
    created: str


@dataclass(frozen=True)
class Event:
    """One line of the registry's history; `detail` carries reasons, forced flags, regressions."""

    id: int
    time: str
    action: str  # register, evaluate, promote, promotion_blocked, rollback, retire, alias, unalias, default
    target: str
    version: str | None
    detail: dict


def now() -> str:
    """The current UTC time as ISO 8601 (seconds)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the registry database at `path`, in WAL mode, schema in place.

    Processes opening a new file at once race to switch it to WAL. SQLite answers the losers "database is
    locked" at once, without waiting on its busy timeout (escalating a read lock there could deadlock), so
    the open is retried, with jitter, for as long as that timeout.
    """
    ensure_writable(path.parent)
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return _open(path)
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise _unopenable(path, error) from None
            time.sleep(random.uniform(0.005, 0.05))
        except sqlite3.DatabaseError as error:
            raise _unopenable(path, error) from None


def _open(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                 check_same_thread=False)  # Connections gives each thread its own
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        with write(connection):
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
    except BaseException:
        connection.close()
        raise
    return connection


def _unopenable(path: Path, error: sqlite3.DatabaseError) -> RegistryError:
    return RegistryError(f"cannot open registry '{path}' ({error}); pass a registry .db file apprentice created, "
                         "or a new path")


class Connections:
    """One connection per process and thread to one registry file.

    SQLite then does all the locking (a router's worker threads, forked evaluators), and no
    transaction is ever shared between two callers; a forked child never reuses its parent's.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._open: dict[tuple[int, int], sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        key = (os.getpid(), threading.get_ident())
        with self._lock:
            if key not in self._open:
                self._open[key] = connect(self.path)
            return self._open[key]

    def close(self) -> None:
        """Close the connections this process opened; forget the others (a parent's, after fork)."""
        with self._lock:
            for (pid, _), connection in self._open.items():
                if pid == os.getpid():
                    connection.close()
            self._open.clear()


@contextmanager
def write(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction holding the database's write lock from its first statement on."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction: every query inside sees the same committed state (WAL snapshot)."""
    connection.execute("BEGIN DEFERRED")
    try:
        yield connection
    finally:
        connection.execute("COMMIT")  # nothing was written: ending the read is all this does


def next_number(connection: sqlite3.Connection, target: str) -> int:
    """The next unused version number of `target` (rows are never deleted, so never reused)."""
    row = connection.execute("SELECT COALESCE(MAX(number), 0) FROM adapters WHERE target = ?", (target,)).fetchone()
    return row[0] + 1


def insert_adapter(connection: sqlite3.Connection, fields: dict[str, Any]) -> None:
    """Insert one adapters row; `fields` holds every column, metrics as a dict."""
    row = {**fields, "metrics": json.dumps(fields["metrics"], sort_keys=True)}
    columns = ", ".join(row)
    connection.execute(f"INSERT INTO adapters ({columns}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))


def update_adapter(connection: sqlite3.Connection, version: str, **fields: Any) -> None:
    """Set some columns of one adapters row (status, metrics, report)."""
    if "metrics" in fields:
        fields["metrics"] = json.dumps(fields["metrics"], sort_keys=True)
    assignments = ", ".join(f"{column} = ?" for column in fields)
    connection.execute(f"UPDATE adapters SET {assignments} WHERE version = ?", (*fields.values(), version))


def fetch(connection: sqlite3.Connection, version: str) -> AdapterRecord | None:
    """The record of `version`, or None when it is not registered."""
    row = connection.execute("SELECT * FROM adapters WHERE version = ?", (version,)).fetchone()
    return None if row is None else _record(connection, row)


def fetch_all(connection: sqlite3.Connection, target: str | None = None) -> list[AdapterRecord]:
    """Every record (of `target` when given), by target then version number."""
    where, arguments = ("WHERE target = ?", (target,)) if target is not None else ("", ())
    rows = connection.execute(f"SELECT * FROM adapters {where} ORDER BY target, number", arguments).fetchall()
    return [_record(connection, row) for row in rows]


def targets(connection: sqlite3.Connection) -> list[str]:
    """Every target with at least one registered version, sorted."""
    return [row[0] for row in connection.execute("SELECT DISTINCT target FROM adapters ORDER BY target")]


def alias_version(connection: sqlite3.Connection, alias: str, target: str) -> str | None:
    """The version `target@alias` points at, or None."""
    row = connection.execute("SELECT version FROM aliases WHERE alias = ? AND target = ?", (alias, target)).fetchone()
    return None if row is None else row[0]


def aliases_of_target(connection: sqlite3.Connection, target: str) -> dict[str, str]:
    """alias -> version for every alias of `target`."""
    rows = connection.execute("SELECT alias, version FROM aliases WHERE target = ? ORDER BY alias", (target,))
    return {row[0]: row[1] for row in rows}


def point_alias(connection: sqlite3.Connection, alias: str, target: str, version: str) -> None:
    """Make `target@alias` point at `version` (creating the alias if needed)."""
    connection.execute("INSERT INTO aliases (alias, target, version) VALUES (?, ?, ?) "
                       "ON CONFLICT (alias, target) DO UPDATE SET version = excluded.version", (alias, target, version))


def drop_alias(connection: sqlite3.Connection, alias: str, target: str) -> None:
    """Remove `target@alias` (an alias is a pointer: the version it named stays)."""
    connection.execute("DELETE FROM aliases WHERE alias = ? AND target = ?", (alias, target))


def append_event(connection: sqlite3.Connection, action: str, target: str, version: str | None, detail: dict) -> None:
    """Add one line to the history (never updated, never deleted)."""
    connection.execute("INSERT INTO events (time, action, target, version, detail) VALUES (?, ?, ?, ?, ?)",
                       (now(), action, target, version, json.dumps(detail, sort_keys=True, default=str)))


def fetch_events(connection: sqlite3.Connection, target: str | None = None) -> list[Event]:
    """The history (of `target` when given), oldest first."""
    where, arguments = ("WHERE target = ?", (target,)) if target is not None else ("", ())
    rows = connection.execute(f"SELECT * FROM events {where} ORDER BY id", arguments).fetchall()
    return [Event(row["id"], row["time"], row["action"], row["target"], row["version"], json.loads(row["detail"]))
            for row in rows]


def production_history(connection: sqlite3.Connection, target: str) -> list[str]:
    """The versions that held `target`'s production alias, as a stack: a promotion pushes, a rollback pops.

    Replayed from the events, so `rollback` twice walks back two promotions instead of
    swinging between the last two versions.
    """
    stack: list[str] = []
    for event in fetch_events(connection, target):
        if event.action == "promote":
            stack.append(event.version)
        elif event.action == "rollback":
            while stack and stack[-1] != event.version:
                stack.pop()
    return stack


def generation(connection: sqlite3.Connection) -> int:
    """The id of the newest event: every change writes one, so it only ever grows."""
    return connection.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]


def setting(connection: sqlite3.Connection, key: str) -> str | None:
    """A registry-wide setting (e.g. the default target), or None."""
    row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def put_setting(connection: sqlite3.Connection, key: str, value: str) -> None:
    """Set a registry-wide setting."""
    connection.execute("INSERT INTO settings (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))


def _record(connection: sqlite3.Connection, row: sqlite3.Row) -> AdapterRecord:
    aliases = tuple(alias for (alias,) in connection.execute(
        "SELECT alias FROM aliases WHERE version = ? ORDER BY alias", (row["version"],)))
    return AdapterRecord(
        target=row["target"], version=row["version"], number=row["number"], path=row["path"],
        base_hash=row["base_hash"], data_hash=row["data_hash"], parent=row["parent"], run=row["run"],
        metrics=json.loads(row["metrics"]), report=row["report"], status=row["status"], aliases=aliases,
        created=row["created"])
