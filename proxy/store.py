"""Durable storage (SQLite, WAL, synchronous=FULL): held messages, the outbox, threads, events and digests."""
from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from proxy.events import Event

# Each migration moves the schema from version N-1 to N; applied in order inside one transaction each.
MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE held (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,              -- unix time
        status TEXT NOT NULL,               -- held | deferred | released | dropped | fixed | expired | delivered
        kind TEXT NOT NULL DEFAULT 'hold',  -- hold | defer
        team TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt_tos TEXT NOT NULL,             -- JSON list
        mail_options TEXT NOT NULL DEFAULT '[]',  -- JSON list (SMTPUTF8, BODY=8BITMIME)
        subject TEXT NOT NULL DEFAULT '',
        thread_key TEXT NOT NULL DEFAULT '',
        message_id TEXT NOT NULL DEFAULT '',
        findings TEXT NOT NULL DEFAULT '[]',  -- JSON list of finding dicts
        audience TEXT NOT NULL DEFAULT '',
        raw BLOB NOT NULL,
        due REAL,                           -- defer: when to relay (unix time)
        closed REAL,                        -- when it left the held state
        close_reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX held_status ON held (status, created);
    CREATE INDEX held_sender ON held (mail_from, status);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created REAL NOT NULL,
        kind TEXT NOT NULL,                 -- bounce | notice | digest | release
        mail_from TEXT NOT NULL,
        rcpt_tos TEXT NOT NULL,             -- JSON list
        raw BLOB NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_try REAL NOT NULL,
        last_error TEXT NOT NULL DEFAULT '',
        sent REAL
    );
    CREATE INDEX outbox_due ON outbox (sent, next_try);
    CREATE TABLE threads (
        thread_key TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        first_notice REAL NOT NULL          -- unix time of the thread's first oops notice
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        team TEXT NOT NULL,
        verdict TEXT NOT NULL,
        rules TEXT NOT NULL DEFAULT '',     -- comma-separated rule ids
        audience TEXT NOT NULL DEFAULT '',
        oops INTEGER NOT NULL DEFAULT 0,
        override_reason TEXT NOT NULL DEFAULT '',
        time_to_fix REAL
    );
    CREATE INDEX events_time ON events (team, time);
    CREATE TABLE digests (
        team TEXT NOT NULL,
        week TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (team, week)
    );
    CREATE TABLE bounce_counts (
        sender TEXT NOT NULL,
        day TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (sender, day)
    );
    CREATE TABLE used_tokens (
        token_id TEXT PRIMARY KEY,
        used REAL NOT NULL
    );
    """,
)


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=timezone.utc)


@dataclass(frozen=True)
class HeldMessage:
    """A message kept in the store: held for review or deferred, and what became of it."""

    id: str
    created: datetime
    status: str
    kind: str
    team: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    subject: str
    thread_key: str
    message_id: str
    findings: tuple[dict[str, object], ...]
    audience: str
    raw: bytes
    due: datetime | None
    closed: datetime | None
    close_reason: str


@dataclass(frozen=True)
class OutboxItem:
    """A message the proxy itself must send (bounce, notice, digest), retried with backoff."""

    id: int
    kind: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    attempts: int
    next_try: datetime


class SqliteStore:
    """The SQLite store. Synchronous and thread-safe (one connection behind a lock); the proxy calls it off the event loop."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we answer 250 for a held message.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._migrate()

    # -- plumbing -----------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "SqliteStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            version = self.schema_version
            for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in script.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={target}")
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise

    def _transaction(self) -> "_Transaction":
        return _Transaction(self)

    # -- events -------------------------------------------------------------------

    def record_event(self, event: Event) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (time, team, verdict, rules, audience, oops, override_reason, time_to_fix)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_ts(event.time), event.team, event.verdict, ",".join(event.rules), event.audience,
                 int(event.oops), event.override_reason, event.time_to_fix_seconds),
            )

    def events(self, team: str | None, start: datetime, end: datetime) -> list[Event]:
        """Events with start <= time < end, oldest first; team None means every team."""
        query = ("SELECT time, team, verdict, rules, audience, oops, override_reason, time_to_fix FROM events"
                 " WHERE time >= ? AND time < ?")
        params: list[object] = [_ts(start), _ts(end)]
        if team is not None:
            query += " AND team = ?"
            params.append(team)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY time, id", params).fetchall()
        return [
            Event(time=_dt(row[0]), team=row[1], verdict=row[2], rules=tuple(r for r in row[3].split(",") if r),
                  audience=row[4], oops=bool(row[5]), override_reason=row[6], time_to_fix_seconds=row[7])
            for row in rows
        ]

    def claim_digest(self, team: str, week: str, now: datetime | None = None) -> bool:
        """True the first time a team's digest for a week is claimed, False afterwards (idempotent sending)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO digests (team, week, created) VALUES (?, ?, ?)",
                (team, week, _ts(now or datetime.now(timezone.utc))),
            )
            return cursor.rowcount == 1

    def unclaim_digest(self, team: str, week: str) -> None:
        """Forget a claim whose digest could not be handed to the outbox, so a later run tries again."""
        with self._transaction() as db:
            db.execute("DELETE FROM digests WHERE team = ? AND week = ?", (team, week))

    # -- threads ------------------------------------------------------------------

    def thread_first_notice(self, thread_keys: list[str]) -> datetime | None:
        """The earliest recorded first notice among a message's thread keys (Message-ID, In-Reply-To, References)."""
        keys = [k for k in thread_keys if k]
        if not keys:
            return None
        marks = ",".join("?" for _ in keys)
        with self._lock:
            row = self._db.execute(f"SELECT MIN(first_notice) FROM threads WHERE thread_key IN ({marks})", keys).fetchone()
        return None if row[0] is None else _dt(row[0])

    def note_thread(self, thread_key: str, team: str, first_notice: datetime) -> None:
        """Remember when a thread's first oops notice went out (the first call wins)."""
        if not thread_key:
            return
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO threads (thread_key, team, first_notice) VALUES (?, ?, ?)",
                       (thread_key, team, _ts(first_notice)))

    # -- queue sizes --------------------------------------------------------------

    def queue_sizes(self) -> dict[str, int]:
        with self._lock:
            held = self._db.execute("SELECT status, COUNT(*) FROM held WHERE status IN ('held', 'deferred')"
                                    " GROUP BY status").fetchall()
            outbox = self._db.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL").fetchone()[0]
        sizes = {"held": 0, "deferred": 0, "outbox": int(outbox)}
        sizes.update({status: int(count) for status, count in held})
        return sizes


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the store lock; ROLLBACK on any error."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        self._store._db.execute("BEGIN IMMEDIATE")
        return self._store._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._store._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._store._lock.release()


def iter_json_list(value: str) -> Iterator[object]:
    yield from json.loads(value or "[]")
