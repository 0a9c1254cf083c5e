"""Durable storage (SQLite, WAL, synchronous=FULL): held messages, the outbox, threads, events and digests."""
from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

import regex

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
    # 2: case-insensitive sender lookups (fix candidates), the outbox keeps the relay options of a released
    # message (SMTPUTF8, BODY=8BITMIME) and can mark an item it gave up on (permanent failure).
    """
    CREATE INDEX held_sender_nocase ON held (lower(mail_from), status);
    ALTER TABLE outbox ADD COLUMN mail_options TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE outbox ADD COLUMN failed REAL;
    """,
    # 3: a held or deferred message remembers when its bounce or notice was queued (or found unnecessary),
    # so one lost in a crash between the 250 and the outbox is sent at the next start. Rows from before
    # this migration count as handled: nothing can tell whether theirs went out.
    """
    ALTER TABLE held ADD COLUMN notified REAL;
    UPDATE held SET notified = created;
    """,
)

# Statuses of a message still waiting in the store, and the ones it can be closed with.
OPEN_STATUSES = ("held", "deferred")
CLOSED_STATUSES = ("released", "dropped", "fixed", "expired", "delivered")
HOLD_KINDS = {"hold": "held", "defer": "deferred"}


def _ts(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values) or "NULL"


# Reply, forward and tag prefixes a resend may add or drop: "Re:", "Fwd:", "AW:", "[oops]", "Correction:".
_SUBJECT_PREFIX = regex.compile(
    r"\A\s*(?:\[[^\[\]\r\n]{0,60}\]|(?:re|fwd?|aw|wg|sv|vs|antw|tr|oops|correction)"
    r"(?:\s*\[\d{1,4}\]|\s*\(\d{1,4}\))?\s*[:\uff1a])",
    regex.IGNORECASE,
)
_MAX_SUBJECT = 1000


def normalise_subject(subject: str) -> str:
    """A subject without reply/forward prefixes and bracketed tags, whitespace collapsed and case-folded."""
    text = unicodedata.normalize("NFKC", subject[:_MAX_SUBJECT])
    # Anchored and bounded: each round removes at least one character, so this stays linear in practice.
    while True:
        match = _SUBJECT_PREFIX.match(text)
        if match is None or match.end() == 0:
            break
        text = text[match.end():]
    return " ".join(text.split()).casefold()


_HELD_COLUMNS = ("id, created, status, kind, team, mail_from, rcpt_tos, mail_options, subject, thread_key,"
                 " message_id, findings, audience, raw, due, closed, close_reason")


def _held_from_row(row: Sequence[Any]) -> HeldMessage:
    return HeldMessage(
        id=row[0], created=_dt(row[1]), status=row[2], kind=row[3], team=row[4], mail_from=row[5],
        rcpt_tos=tuple(json.loads(row[6])), mail_options=tuple(json.loads(row[7])), subject=row[8],
        thread_key=row[9], message_id=row[10], findings=tuple(json.loads(row[11])), audience=row[12],
        raw=bytes(row[13]), due=None if row[14] is None else _dt(row[14]),
        closed=None if row[15] is None else _dt(row[15]), close_reason=row[16],
    )


def _close(db: sqlite3.Connection, held_id: str, status: str, reason: str, now: datetime | None) -> bool:
    cursor = db.execute("UPDATE held SET status = ?, closed = ?, close_reason = ? WHERE id = ?"
                        " AND status IN ('held', 'deferred')", (status, _ts(now or _utcnow()), reason, held_id))
    return cursor.rowcount == 1


def _enqueue(db: sqlite3.Connection, kind: str, mail_from: str, rcpt_tos: Sequence[str], raw: bytes, now: datetime,
             mail_options: Sequence[str]) -> int:
    cursor = db.execute(
        "INSERT INTO outbox (created, kind, mail_from, rcpt_tos, raw, next_try, mail_options)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (_ts(now), kind, mail_from, json.dumps(list(rcpt_tos)), bytes(raw), _ts(now), json.dumps(list(mail_options))),
    )
    return int(cursor.lastrowid or 0)


def _insert_event(db: sqlite3.Connection, event: Event) -> None:
    db.execute(
        "INSERT INTO events (time, team, verdict, rules, audience, oops, override_reason, time_to_fix)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (_ts(event.time), event.team, event.verdict, ",".join(event.rules), event.audience,
         int(event.oops), event.override_reason, event.time_to_fix_seconds),
    )


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
    mail_options: tuple[str, ...] = ()
    last_error: str = ""
    created: datetime | None = None  # when it was queued: the sender gives up on items older than its limit


@dataclass(frozen=True)
class Outgoing:
    """A message to put into the outbox together with another change (see queue_notice, close_held_with)."""

    kind: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    mail_options: tuple[str, ...] = ()


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
            _insert_event(db, event)

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
            outbox = self._db.execute("SELECT COUNT(*) FROM outbox WHERE sent IS NULL AND failed IS NULL").fetchone()[0]
        sizes = {"held": 0, "deferred": 0, "outbox": int(outbox)}
        sizes.update({status: int(count) for status, count in held})
        return sizes

    # -- held and deferred messages -------------------------------------------------

    def hold(
        self,
        held_id: str,
        team: str,
        mail_from: str,
        rcpt_tos: Sequence[str],
        mail_options: Sequence[str],
        subject: str,
        thread_key: str,
        message_id: str,
        findings: Sequence[Mapping[str, object]],
        audience: str,
        raw: bytes,
        kind: str = "hold",
        due: datetime | None = None,
        now: datetime | None = None,
    ) -> None:
        """Keep a message for review ("hold") or for later relay ("defer"); on disk (synced) when this returns."""
        if kind not in HOLD_KINDS:
            raise ValueError(f"kind must be 'hold' or 'defer', not {kind!r}")
        if kind == "defer" and due is None:
            raise ValueError("a deferred message needs a due time")
        with self._transaction() as db:
            db.execute(
                "INSERT INTO held (id, created, status, kind, team, mail_from, rcpt_tos, mail_options, subject,"
                " thread_key, message_id, findings, audience, raw, due)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (held_id, _ts(now or _utcnow()), HOLD_KINDS[kind], kind, team, mail_from, json.dumps(list(rcpt_tos)),
                 json.dumps(list(mail_options)), subject, thread_key, message_id,
                 json.dumps([dict(finding) for finding in findings]), audience, bytes(raw),
                 None if due is None else _ts(due)),
            )

    def get_held(self, held_id: str) -> HeldMessage | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_HELD_COLUMNS} FROM held WHERE id = ?", (held_id,)).fetchone()
        return None if row is None else _held_from_row(row)

    def list_held(self, statuses: Sequence[str] | None = OPEN_STATUSES) -> list[HeldMessage]:
        """Messages in the given statuses (None: all), oldest first."""
        query = f"SELECT {_HELD_COLUMNS} FROM held"
        params: list[object] = []
        if statuses is not None:
            query += f" WHERE status IN ({_marks(statuses)})"
            params.extend(statuses)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created, rowid", params).fetchall()
        return [_held_from_row(row) for row in rows]

    def close_held(self, held_id: str, status: str, reason: str, now: datetime | None = None) -> bool:
        """Move a held or deferred message to a final status; False when it was not open (compare-and-set).

        Two releases racing (an admin and a reply, or two replies) both call this: exactly one gets True.
        """
        if status not in CLOSED_STATUSES:
            raise ValueError(f"cannot close a held message as {status!r}")
        with self._transaction() as db:
            return _close(db, held_id, status, reason, now)

    def release_held(
        self,
        held_id: str,
        reason: str,
        now: datetime | None = None,
        status: str = "released",
        event: Event | None = None,
        outbox_kind: str = "release",
        outgoing: Sequence["Outgoing"] = (),
    ) -> int | None:
        """Close an open message and queue its original for relay, in one transaction; the outbox id, or None.

        One transaction so a crash can never leave a message marked released but not queued (lost), or
        queued but still open (sent twice). Used for releases (status "released") and for deferred
        messages that are due (status "delivered", outbox_kind "deferred"); `event` is recorded in the same
        transaction. Outbox items of these kinds carry the original envelope and bytes: relay them as they are.
        """
        if status not in CLOSED_STATUSES:
            raise ValueError(f"cannot close a held message as {status!r}")
        moment = now or _utcnow()
        with self._transaction() as db:
            row = db.execute("SELECT mail_from, rcpt_tos, mail_options, raw FROM held WHERE id = ?"
                             " AND status IN ('held', 'deferred')", (held_id,)).fetchone()
            if row is None or not _close(db, held_id, status, reason, moment):
                return None
            outbox_id = _enqueue(db, outbox_kind, row[0], json.loads(row[1]), bytes(row[3]), moment,
                                 json.loads(row[2]))
            if event is not None:
                _insert_event(db, event)
            for item in outgoing:  # e.g. the confirmation to the sender, queued with the release itself
                _enqueue(db, item.kind, item.mail_from, item.rcpt_tos, item.raw, moment, item.mail_options)
            return outbox_id

    def due_deferred(self, now: datetime) -> list[HeldMessage]:
        """Deferred messages whose time has come, earliest due first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_HELD_COLUMNS} FROM held WHERE status = 'deferred' AND due <= ?"
                                    " ORDER BY due, rowid", (_ts(now),)).fetchall()
        return [_held_from_row(row) for row in rows]

    def next_due(self) -> datetime | None:
        """When the next deferred message falls due, so the relay worker can sleep until then."""
        with self._lock:
            row = self._db.execute("SELECT MIN(due) FROM held WHERE status = 'deferred'").fetchone()
        return None if row[0] is None else _dt(row[0])

    def expired_held(self, older_than: datetime) -> list[HeldMessage]:
        """Held messages created before `older_than` that nobody fixed or released.

        Deferred messages are not included: they are relayed when due, never expired.
        """
        with self._lock:
            rows = self._db.execute(f"SELECT {_HELD_COLUMNS} FROM held WHERE status = 'held' AND created < ?"
                                    " ORDER BY created, rowid", (_ts(older_than),)).fetchall()
        return [_held_from_row(row) for row in rows]

    def find_fix_candidates(
        self,
        mail_from: str,
        thread_keys: Iterable[str],
        subject: str,
        statuses: Sequence[str] = ("held",),
    ) -> list[HeldMessage]:
        """Open messages from the same sender that a new message may be the corrected resend of, oldest first.

        Same thread (their thread key or Message-ID among `thread_keys`) or the same subject once reply and
        tag prefixes are removed; an empty normalised subject never matches (it would match everything).
        """
        keys = {key for key in thread_keys if key}
        wanted_subject = normalise_subject(subject)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_HELD_COLUMNS} FROM held WHERE lower(mail_from) = ? AND status IN ({_marks(statuses)})"
                " ORDER BY created, rowid", (mail_from.strip().lower(), *statuses)).fetchall()
        candidates = []
        for row in rows:
            held = _held_from_row(row)
            same_thread = bool(keys) and (held.thread_key in keys or held.message_id in keys)
            same_subject = bool(wanted_subject) and normalise_subject(held.subject) == wanted_subject
            if same_thread or same_subject:
                candidates.append(held)
        return candidates

    # -- outbox -------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        mail_from: str,
        rcpt_tos: Sequence[str],
        raw: bytes,
        now: datetime | None = None,
        mail_options: Sequence[str] = (),
    ) -> int:
        """Queue a message the proxy must send (bounce, notice, digest, release); its outbox id."""
        with self._transaction() as db:
            return _enqueue(db, kind, mail_from, rcpt_tos, raw, now or _utcnow(), mail_options)

    def due_outbox(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Unsent items whose next try has come, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, mail_from, rcpt_tos, raw, attempts, next_try, mail_options, last_error, created"
                " FROM outbox"
                " WHERE sent IS NULL AND failed IS NULL AND next_try <= ? ORDER BY next_try, id LIMIT ?",
                (_ts(now), limit)).fetchall()
        return [
            OutboxItem(id=row[0], kind=row[1], mail_from=row[2], rcpt_tos=tuple(json.loads(row[3])), raw=bytes(row[4]),
                       attempts=row[5], next_try=_dt(row[6]), mail_options=tuple(json.loads(row[7])),
                       last_error=row[8], created=_dt(row[9]))
            for row in rows
        ]

    def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None:
        with self._transaction() as db:
            db.execute("UPDATE outbox SET sent = ? WHERE id = ?", (_ts(now or _utcnow()), outbox_id))

    def mark_failed(self, outbox_id: int, error: str, next_try: datetime | None) -> None:
        """Count a failed attempt; retry at `next_try`, or never again when it is None (permanent failure)."""
        with self._transaction() as db:
            if next_try is None:
                db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed = ? WHERE id = ?",
                           (error, _ts(_utcnow()), outbox_id))
            else:
                db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_try = ? WHERE id = ?",
                           (error, _ts(next_try), outbox_id))

    # -- bounce cap and release tokens ----------------------------------------------

    def count_bounce(self, sender: str, day: str, cap: int) -> bool:
        """Count one bounce to `sender` on `day` (YYYY-MM-DD); True while under the cap, False once it is reached."""
        key = sender.strip().lower()
        with self._transaction() as db:
            row = db.execute("SELECT count FROM bounce_counts WHERE sender = ? AND day = ?", (key, day)).fetchone()
            count = 0 if row is None else int(row[0])
            if count >= cap:
                return False
            db.execute("INSERT INTO bounce_counts (sender, day, count) VALUES (?, ?, 1)"
                       " ON CONFLICT (sender, day) DO UPDATE SET count = count + 1", (key, day))
            return True

    def use_token(self, token_id: str, now: datetime | None = None) -> bool:
        """True the first time a release token is used, False on every replay."""
        with self._transaction() as db:
            cursor = db.execute("INSERT OR IGNORE INTO used_tokens (token_id, used) VALUES (?, ?)",
                                (token_id, _ts(now or _utcnow())))
            return cursor.rowcount == 1

    # -- what the running proxy needs in batches or atomically ------------------------

    def record_events(self, events: Sequence[Event], threads: Sequence[tuple[str, str, datetime]] = ()) -> None:
        """Many events and thread first notices (key, team, time) in one transaction: one sync per batch."""
        if not events and not threads:
            return
        rows = [(_ts(e.time), e.team, e.verdict, ",".join(e.rules), e.audience, int(e.oops), e.override_reason,
                 e.time_to_fix_seconds) for e in events]
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO events (time, team, verdict, rules, audience, oops, override_reason, time_to_fix)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT OR IGNORE INTO threads (thread_key, team, first_notice) VALUES (?, ?, ?)",
                           [(key, team, _ts(first)) for key, team, first in threads if key])

    def queue_notice(self, held_id: str, outgoing: Sequence[Outgoing], now: datetime | None = None) -> bool:
        """Mark an open message's bounce or notice as handled and queue `outgoing` in the same transaction.

        False (and nothing queued) when it was handled before or is no longer open: a bounce is queued at
        most once even when the start-up recovery and the original attempt race.
        """
        moment = now or _utcnow()
        with self._transaction() as db:
            cursor = db.execute("UPDATE held SET notified = ? WHERE id = ? AND notified IS NULL"
                                " AND status IN ('held', 'deferred')", (_ts(moment), held_id))
            if cursor.rowcount != 1:
                return False
            for item in outgoing:
                _enqueue(db, item.kind, item.mail_from, item.rcpt_tos, item.raw, moment, item.mail_options)
            return True

    def unnotified_held(self) -> list[HeldMessage]:
        """Open messages whose bounce or notice was never queued (the proxy stopped in between), oldest first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_HELD_COLUMNS} FROM held WHERE notified IS NULL"
                                    " AND status IN ('held', 'deferred') ORDER BY created, rowid").fetchall()
        return [_held_from_row(row) for row in rows]

    def close_held_with(self, held_id: str, status: str, reason: str, now: datetime | None = None,
                        event: Event | None = None, outgoing: Sequence[Outgoing] = ()) -> bool:
        """close_held plus its event and notices in one transaction; False (nothing written) when not open."""
        if status not in CLOSED_STATUSES:
            raise ValueError(f"cannot close a held message as {status!r}")
        moment = now or _utcnow()
        with self._transaction() as db:
            if not _close(db, held_id, status, reason, moment):
                return False
            if event is not None:
                _insert_event(db, event)
            for item in outgoing:
                _enqueue(db, item.kind, item.mail_from, item.rcpt_tos, item.raw, moment, item.mail_options)
            return True

    def open_hold_senders(self) -> dict[str, int]:
        """How many messages each envelope sender (lower-cased) has held for review right now."""
        with self._lock:
            rows = self._db.execute("SELECT lower(mail_from), COUNT(*) FROM held WHERE status = 'held'"
                                    " GROUP BY lower(mail_from)").fetchall()
        return {str(sender): int(count) for sender, count in rows}

    # -- housekeeping -------------------------------------------------------------

    def prune(self, before: datetime, outbox_before: datetime | None = None) -> dict[str, int]:
        """Forget what is no longer needed: closed messages (their bodies), sent or abandoned outbox items, old
        bounce counts and used tokens older than `before` (pass now minus hold_days: tokens expire by then).

        `outbox_before`, when given, is the cutoff for outbox items instead (they can go sooner: nothing
        refers to a bounce once it is sent).
        """
        stamp = _ts(before)
        outbox_stamp = stamp if outbox_before is None else _ts(outbox_before)
        day = _dt(stamp).date().isoformat()
        with self._transaction() as db:
            removed = {
                "held": db.execute("DELETE FROM held WHERE status NOT IN ('held', 'deferred') AND closed < ?",
                                   (stamp,)).rowcount,
                "outbox": db.execute("DELETE FROM outbox WHERE COALESCE(sent, failed) < ?",
                                     (outbox_stamp,)).rowcount,
                "bounce_counts": db.execute("DELETE FROM bounce_counts WHERE day < ?", (day,)).rowcount,
                "used_tokens": db.execute("DELETE FROM used_tokens WHERE used < ?", (stamp,)).rowcount,
            }
        return removed


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


class Store(Protocol):
    """The storage interface the proxy and the commands use; SqliteStore is one implementation (a server
    database for multi-instance deployments would be another). Synchronous: async code goes through AsyncStore."""

    def close(self) -> None: ...

    def record_event(self, event: Event) -> None: ...

    def events(self, team: str | None, start: datetime, end: datetime) -> list[Event]: ...

    def claim_digest(self, team: str, week: str, now: datetime | None = None) -> bool: ...

    def unclaim_digest(self, team: str, week: str) -> None: ...

    def thread_first_notice(self, thread_keys: list[str]) -> datetime | None: ...

    def note_thread(self, thread_key: str, team: str, first_notice: datetime) -> None: ...

    def queue_sizes(self) -> dict[str, int]: ...

    def hold(self, held_id: str, team: str, mail_from: str, rcpt_tos: Sequence[str], mail_options: Sequence[str],
             subject: str, thread_key: str, message_id: str, findings: Sequence[Mapping[str, object]],
             audience: str, raw: bytes, kind: str = "hold", due: datetime | None = None,
             now: datetime | None = None) -> None: ...

    def get_held(self, held_id: str) -> HeldMessage | None: ...

    def list_held(self, statuses: Sequence[str] | None = OPEN_STATUSES) -> list[HeldMessage]: ...

    def close_held(self, held_id: str, status: str, reason: str, now: datetime | None = None) -> bool: ...

    def release_held(self, held_id: str, reason: str, now: datetime | None = None, status: str = "released",
                     event: Event | None = None, outbox_kind: str = "release",
                     outgoing: Sequence["Outgoing"] = ()) -> int | None: ...

    def due_deferred(self, now: datetime) -> list[HeldMessage]: ...

    def next_due(self) -> datetime | None: ...

    def expired_held(self, older_than: datetime) -> list[HeldMessage]: ...

    def find_fix_candidates(self, mail_from: str, thread_keys: Iterable[str], subject: str,
                            statuses: Sequence[str] = ("held",)) -> list[HeldMessage]: ...

    def enqueue(self, kind: str, mail_from: str, rcpt_tos: Sequence[str], raw: bytes, now: datetime | None = None,
                mail_options: Sequence[str] = ()) -> int: ...

    def due_outbox(self, now: datetime, limit: int = 100) -> list[OutboxItem]: ...

    def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None: ...

    def mark_failed(self, outbox_id: int, error: str, next_try: datetime | None) -> None: ...

    def count_bounce(self, sender: str, day: str, cap: int) -> bool: ...

    def use_token(self, token_id: str, now: datetime | None = None) -> bool: ...

    def prune(self, before: datetime, outbox_before: datetime | None = None) -> dict[str, int]: ...

    def record_events(self, events: Sequence[Event], threads: Sequence[tuple[str, str, datetime]] = ()) -> None: ...

    def queue_notice(self, held_id: str, outgoing: Sequence[Outgoing], now: datetime | None = None) -> bool: ...

    def unnotified_held(self) -> list[HeldMessage]: ...

    def close_held_with(self, held_id: str, status: str, reason: str, now: datetime | None = None,
                        event: Event | None = None, outgoing: Sequence[Outgoing] = ()) -> bool: ...

    def open_hold_senders(self) -> dict[str, int]: ...


_T = TypeVar("_T")


class AsyncStore:
    """An awaitable face for a Store: every call runs in one dedicated worker thread, never on the event loop.

    One thread, so calls run one at a time in the order they were made (SQLite serialises writers anyway,
    and a single writer thread never waits on its own lock while the loop keeps serving other sessions).
    """

    def __init__(self, store: Store, own_store: bool = True) -> None:
        self.store = store
        self._own_store = own_store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oopsguard-store")
        self._closed = False

    async def _run(self, function: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Finish queued calls, stop the worker thread and close the store when this facade owns it."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        if self._own_store:
            self.store.close()

    async def aclose(self) -> None:
        """close() without blocking the loop while queued calls finish."""
        if self._closed:
            return
        if self._own_store:
            await self._run(self.store.close)
        self._closed = True
        # The worker has nothing left to do once the close above ran, so this returns at once.
        self._executor.shutdown(wait=True)

    # -- events, digests, threads -------------------------------------------------

    async def record_event(self, event: Event) -> None:
        await self._run(self.store.record_event, event)

    async def events(self, team: str | None, start: datetime, end: datetime) -> list[Event]:
        return await self._run(self.store.events, team, start, end)

    async def claim_digest(self, team: str, week: str, now: datetime | None = None) -> bool:
        return await self._run(self.store.claim_digest, team, week, now)

    async def unclaim_digest(self, team: str, week: str) -> None:
        await self._run(self.store.unclaim_digest, team, week)

    async def thread_first_notice(self, thread_keys: list[str]) -> datetime | None:
        return await self._run(self.store.thread_first_notice, thread_keys)

    async def note_thread(self, thread_key: str, team: str, first_notice: datetime) -> None:
        await self._run(self.store.note_thread, thread_key, team, first_notice)

    async def queue_sizes(self) -> dict[str, int]:
        return await self._run(self.store.queue_sizes)

    # -- held and deferred messages -------------------------------------------------

    async def hold(self, held_id: str, team: str, mail_from: str, rcpt_tos: Sequence[str],
                   mail_options: Sequence[str], subject: str, thread_key: str, message_id: str,
                   findings: Sequence[Mapping[str, object]], audience: str, raw: bytes, kind: str = "hold",
                   due: datetime | None = None, now: datetime | None = None) -> None:
        await self._run(self.store.hold, held_id, team, mail_from, rcpt_tos, mail_options, subject, thread_key,
                        message_id, findings, audience, raw, kind=kind, due=due, now=now)

    async def get_held(self, held_id: str) -> HeldMessage | None:
        return await self._run(self.store.get_held, held_id)

    async def list_held(self, statuses: Sequence[str] | None = OPEN_STATUSES) -> list[HeldMessage]:
        return await self._run(self.store.list_held, statuses)

    async def close_held(self, held_id: str, status: str, reason: str, now: datetime | None = None) -> bool:
        return await self._run(self.store.close_held, held_id, status, reason, now)

    async def release_held(self, held_id: str, reason: str, now: datetime | None = None, status: str = "released",
                           event: Event | None = None, outbox_kind: str = "release",
                           outgoing: Sequence["Outgoing"] = ()) -> int | None:
        return await self._run(self.store.release_held, held_id, reason, now, status, event, outbox_kind,
                               list(outgoing))

    async def due_deferred(self, now: datetime) -> list[HeldMessage]:
        return await self._run(self.store.due_deferred, now)

    async def next_due(self) -> datetime | None:
        return await self._run(self.store.next_due)

    async def expired_held(self, older_than: datetime) -> list[HeldMessage]:
        return await self._run(self.store.expired_held, older_than)

    async def find_fix_candidates(self, mail_from: str, thread_keys: Iterable[str], subject: str,
                                  statuses: Sequence[str] = ("held",)) -> list[HeldMessage]:
        return await self._run(self.store.find_fix_candidates, mail_from, list(thread_keys), subject, statuses)

    # -- outbox, bounce cap, tokens, housekeeping -----------------------------------

    async def enqueue(self, kind: str, mail_from: str, rcpt_tos: Sequence[str], raw: bytes,
                      now: datetime | None = None, mail_options: Sequence[str] = ()) -> int:
        return await self._run(self.store.enqueue, kind, mail_from, rcpt_tos, raw, now, mail_options)

    async def due_outbox(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        return await self._run(self.store.due_outbox, now, limit)

    async def mark_sent(self, outbox_id: int, now: datetime | None = None) -> None:
        await self._run(self.store.mark_sent, outbox_id, now)

    async def mark_failed(self, outbox_id: int, error: str, next_try: datetime | None) -> None:
        await self._run(self.store.mark_failed, outbox_id, error, next_try)

    async def count_bounce(self, sender: str, day: str, cap: int) -> bool:
        return await self._run(self.store.count_bounce, sender, day, cap)

    async def use_token(self, token_id: str, now: datetime | None = None) -> bool:
        return await self._run(self.store.use_token, token_id, now)

    async def prune(self, before: datetime, outbox_before: datetime | None = None) -> dict[str, int]:
        return await self._run(self.store.prune, before, outbox_before)

    # -- batches and atomic steps of the running proxy --------------------------------

    async def record_events(self, events: Sequence[Event], threads: Sequence[tuple[str, str, datetime]] = ()
                            ) -> None:
        await self._run(self.store.record_events, list(events), list(threads))

    async def queue_notice(self, held_id: str, outgoing: Sequence[Outgoing], now: datetime | None = None) -> bool:
        return await self._run(self.store.queue_notice, held_id, list(outgoing), now)

    async def unnotified_held(self) -> list[HeldMessage]:
        return await self._run(self.store.unnotified_held)

    async def close_held_with(self, held_id: str, status: str, reason: str, now: datetime | None = None,
                              event: Event | None = None, outgoing: Sequence[Outgoing] = ()) -> bool:
        return await self._run(self.store.close_held_with, held_id, status, reason, now, event, list(outgoing))

    async def open_hold_senders(self) -> dict[str, int]:
        return await self._run(self.store.open_hold_senders)
