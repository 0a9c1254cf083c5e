"""The SQLite store: migrations, held messages, outbox bookkeeping, bounce cap, tokens and the async facade."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from proxy.events import VERDICT_OVERRIDDEN, Event
from proxy.store import MIGRATIONS, AsyncStore, SqliteStore, Store, normalise_subject

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
RAW = b"From: dana@platform.example.com\r\nSubject: [oops] Deploy\r\n\r\nBody\r\n"
FINDINGS = [{"rule": "blame-names", "severity": "block", "line": 1, "column": 5, "excerpt": "Priya",
             "message": "why", "suggestion": "fix"}]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "state" / "oopsguard.db")
    yield opened
    opened.close()


def hold(store: SqliteStore, held_id: str, **overrides: object) -> None:
    values: dict[str, object] = dict(
        team="platform", mail_from="dana@platform.example.com", rcpt_tos=["platform-all@example.com"],
        mail_options=["SMTPUTF8"], subject="[oops] Deploy broke login", thread_key="<root@x>",
        message_id=f"<{held_id}@x>", findings=FINDINGS, audience="broadcast", raw=RAW, now=NOW)
    values.update(overrides)
    store.hold(held_id, **values)  # type: ignore[arg-type]


def test_migrates_from_empty_to_latest(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SqliteStore(path) as opened:
        assert opened.schema_version == len(MIGRATIONS)
    with sqlite3.connect(path) as raw_db:
        tables = {row[0] for row in raw_db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        outbox_columns = {row[1] for row in raw_db.execute("PRAGMA table_info(outbox)")}
        journal = raw_db.execute("PRAGMA journal_mode").fetchone()[0]
    raw_db.close()
    assert {"held", "outbox", "threads", "events", "digests", "bounce_counts", "used_tokens"} <= tables
    assert {"mail_options", "failed"} <= outbox_columns
    assert journal == "wal"


def test_upgrades_a_version_1_database_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    raw_db = sqlite3.connect(path)
    raw_db.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    raw_db.execute("INSERT INTO outbox (created, kind, mail_from, rcpt_tos, raw, next_try) VALUES (0, 'bounce', '',"
                   " '[\"a@x\"]', x'00', 0)")
    raw_db.commit()
    raw_db.close()
    with SqliteStore(path) as opened:
        assert opened.schema_version == len(MIGRATIONS)
        [item] = opened.due_outbox(NOW)
        assert item.mail_options == () and item.rcpt_tos == ("a@x",)


def test_reopen_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "keep.db"
    with SqliteStore(path) as first:
        hold(first, "H1")
        first.enqueue("bounce", "", ["dana@platform.example.com"], b"bounce", NOW)
    with SqliteStore(path) as second:
        held = second.get_held("H1")
        assert held is not None
        assert held.raw == RAW and held.findings == tuple(FINDINGS) and held.mail_options == ("SMTPUTF8",)
        assert held.created == NOW and held.status == "held"
        assert [item.raw for item in second.due_outbox(NOW)] == [b"bounce"]


def test_hold_get_list_and_close_compare_and_set(store: SqliteStore) -> None:
    hold(store, "H1")
    hold(store, "D1", kind="defer", due=NOW + timedelta(hours=20))
    assert store.get_held("missing") is None
    assert [h.id for h in store.list_held()] == ["H1", "D1"]
    assert store.get_held("D1").status == "deferred"  # type: ignore[union-attr]
    assert store.close_held("H1", "released", "because", NOW) is True
    assert store.close_held("H1", "released", "again", NOW) is False  # a second release must not happen
    assert store.close_held("H1", "dropped", "late drop", NOW) is False
    closed = store.get_held("H1")
    assert closed is not None and closed.status == "released" and closed.close_reason == "because"
    assert [h.id for h in store.list_held()] == ["D1"]
    assert [h.id for h in store.list_held(None)] == ["H1", "D1"]
    with pytest.raises(ValueError):
        store.close_held("D1", "held", "not a final status", NOW)
    with pytest.raises(ValueError):
        hold(store, "D2", kind="defer")  # no due time
    with pytest.raises(sqlite3.IntegrityError):
        hold(store, "D1")


def test_concurrent_closes_let_exactly_one_win(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    with SqliteStore(path) as seed:
        hold(seed, "H1")
    stores = [SqliteStore(path) for _ in range(8)]  # separate connections, as separate processes would have
    results: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def release(opened: SqliteStore) -> None:
        barrier.wait()
        results.append(opened.release_held("H1", "admin", NOW) is not None)

    threads = [threading.Thread(target=release, args=(opened,)) for opened in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert len(stores[0].due_outbox(NOW)) == 1
    for opened in stores:
        opened.close()


def test_release_queues_original_and_records_event_atomically(store: SqliteStore) -> None:
    hold(store, "H1")
    event = Event(time=NOW, team="platform", verdict=VERDICT_OVERRIDDEN, rules=("blame-names",), oops=True,
                  override_reason="customer asked for it")
    outbox_id = store.release_held("H1", "admin: customer asked for it", NOW, event=event)
    assert outbox_id is not None
    [item] = store.due_outbox(NOW)
    assert (item.id, item.kind, item.mail_from, item.rcpt_tos, item.raw, item.mail_options) == (
        outbox_id, "release", "dana@platform.example.com", ("platform-all@example.com",), RAW, ("SMTPUTF8",))
    assert store.events("platform", NOW - timedelta(1), NOW + timedelta(1)) == [event]
    assert store.release_held("H1", "twice", NOW, event=event) is None
    assert len(store.events(None, NOW - timedelta(1), NOW + timedelta(1))) == 1  # no event for the failed retry


def test_due_deferred_and_expired(store: SqliteStore) -> None:
    hold(store, "OLD", now=NOW - timedelta(days=20))
    hold(store, "NEW", now=NOW)
    hold(store, "D-SOON", kind="defer", due=NOW + timedelta(hours=1), now=NOW - timedelta(days=30))
    hold(store, "D-LATER", kind="defer", due=NOW + timedelta(days=1))
    assert store.due_deferred(NOW) == []
    assert [h.id for h in store.due_deferred(NOW + timedelta(hours=2))] == ["D-SOON"]
    assert store.next_due() == NOW + timedelta(hours=1)
    # Deferred messages are relayed when due, never expired, however old.
    assert [h.id for h in store.expired_held(NOW - timedelta(days=14))] == ["OLD"]
    assert store.release_held("D-SOON", "due", NOW, status="delivered") is not None
    assert store.get_held("D-SOON").status == "delivered"  # type: ignore[union-attr]


def test_find_fix_candidates_by_thread_and_subject(store: SqliteStore) -> None:
    hold(store, "H1", subject="[oops] Deploy broke login", thread_key="<root@x>", message_id="<h1@x>")
    hold(store, "H2", subject="Unrelated", thread_key="<other@x>", message_id="<h2@x>")
    hold(store, "H3", subject="Deploy broke login", mail_from="someone@else.example")
    hold(store, "H4", subject="", thread_key="", message_id="")
    ids = lambda found: [h.id for h in found]  # noqa: E731
    assert ids(store.find_fix_candidates("Dana@Platform.example.com", [], "Re: Fwd: deploy BROKE  login")) == ["H1"]
    assert ids(store.find_fix_candidates("dana@platform.example.com", ["<h2@x>"], "new words")) == ["H2"]
    assert ids(store.find_fix_candidates("dana@platform.example.com", ["<other@x>", ""], "x")) == ["H2"]
    assert store.find_fix_candidates("dana@platform.example.com", [""], "") == []  # empty matches nothing
    assert store.find_fix_candidates("eve@example.com", ["<root@x>"], "Deploy broke login") == []
    store.close_held("H1", "fixed", "resent", NOW)
    assert store.find_fix_candidates("dana@platform.example.com", [], "Deploy broke login") == []


def test_normalise_subject() -> None:
    assert normalise_subject("RE: AW: [OOPS] Correction: Deploy\tbroke  Login") == "deploy broke login"
    assert normalise_subject("Fwd[2]: [team-x] [oops] Stra\u00dfe") == "strasse"
    assert normalise_subject("Report: re: numbers") == "report: re: numbers"  # only leading prefixes go
    started = time.perf_counter()
    normalise_subject("re:" * 100_000)
    assert time.perf_counter() - started < 1.0


def test_outbox_retry_bookkeeping(store: SqliteStore) -> None:
    first = store.enqueue("bounce", "", ["dana@platform.example.com"], b"one", NOW)
    second = store.enqueue("notice", "", ["marcus@platform.example.com"], b"two", NOW + timedelta(seconds=1),
                           mail_options=["BODY=8BITMIME"])
    assert [i.id for i in store.due_outbox(NOW)] == [first]
    assert [i.id for i in store.due_outbox(NOW + timedelta(seconds=5), limit=1)] == [first]
    store.mark_failed(first, "451 try later", NOW + timedelta(minutes=5))
    store.mark_failed(first, "451 still later", NOW + timedelta(minutes=15))
    due = store.due_outbox(NOW + timedelta(minutes=1))
    assert [i.id for i in due] == [second] and due[0].mail_options == ("BODY=8BITMIME",)
    [retry] = [i for i in store.due_outbox(NOW + timedelta(minutes=20)) if i.id == first]
    assert retry.attempts == 2 and retry.last_error == "451 still later"
    assert retry.next_try == NOW + timedelta(minutes=15)
    store.mark_sent(first, NOW + timedelta(minutes=20))
    store.mark_failed(second, "550 no such user", None)  # permanent: never tried again
    assert store.due_outbox(NOW + timedelta(days=1)) == []
    assert store.queue_sizes()["outbox"] == 0


def test_bounce_cap_per_sender_per_day(store: SqliteStore) -> None:
    assert [store.count_bounce("dana@x.example", "2026-03-03", 3) for _ in range(5)] == [True, True, True, False, False]
    assert store.count_bounce("DANA@x.example", "2026-03-03", 3) is False  # the same sender, other case
    assert store.count_bounce("dana@x.example", "2026-03-04", 3) is True  # a new day
    assert store.count_bounce("marcus@x.example", "2026-03-03", 3) is True
    assert store.count_bounce("zero@x.example", "2026-03-03", 0) is False


def test_token_single_use(store: SqliteStore) -> None:
    assert store.use_token("tok-1", NOW) is True
    assert store.use_token("tok-1", NOW) is False
    assert store.use_token("tok-2", NOW) is True


def test_prune_forgets_closed_and_old_bookkeeping(store: SqliteStore) -> None:
    hold(store, "CLOSED")
    hold(store, "OPEN", now=NOW - timedelta(days=40))
    store.close_held("CLOSED", "dropped", "x", NOW - timedelta(days=30))
    sent = store.enqueue("bounce", "", ["a@x"], b"x", NOW - timedelta(days=30))
    store.mark_sent(sent, NOW - timedelta(days=30))
    store.count_bounce("a@x", "2026-01-01", 5)
    store.use_token("old", NOW - timedelta(days=30))
    removed = store.prune(NOW - timedelta(days=14))
    assert removed == {"held": 1, "outbox": 1, "bounce_counts": 1, "used_tokens": 1}
    assert store.get_held("CLOSED") is None and store.get_held("OPEN") is not None
    assert store.use_token("old", NOW) is True


def test_sqlite_store_satisfies_the_protocol(store: SqliteStore) -> None:
    typed: Store = store  # checked by a type checker; at runtime make sure every protocol method exists
    for name in [n for n in vars(Store) if not n.startswith("_")] + ["close"]:
        assert callable(getattr(typed, name)), name
        assert callable(getattr(AsyncStore, name)), name


async def test_async_store_runs_off_the_event_loop(tmp_path: Path) -> None:
    async_store = AsyncStore(SqliteStore(tmp_path / "async.db"))
    loop_thread = threading.get_ident()
    worker_threads: set[int] = set()
    real_use_token = async_store.store.use_token

    def slow_use_token(token_id: str, now: datetime | None = None) -> bool:
        worker_threads.add(threading.get_ident())
        time.sleep(0.3)  # a slow disk: the loop must keep running meanwhile
        return real_use_token(token_id, now)

    async_store.store.use_token = slow_use_token  # type: ignore[method-assign]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(async_store.use_token("t", NOW), async_store.use_token("t", NOW))
    finally:
        ticking.cancel()
    assert results == [True, False]
    assert ticks >= 20  # about 0.6 s of store work, the loop kept ticking throughout
    assert worker_threads and loop_thread not in worker_threads and len(worker_threads) == 1

    await async_store.hold("H1", "platform", "dana@x.example", ["all@x.example"], [], "s", "", "", FINDINGS,
                           "broadcast", RAW, now=NOW)
    held = await async_store.get_held("H1")
    assert held is not None and held.raw == RAW
    assert [h.id for h in await async_store.find_fix_candidates("dana@x.example", [], "s")] == ["H1"]
    assert await async_store.release_held("H1", "r", NOW) is not None
    assert [i.kind for i in await async_store.due_outbox(NOW)] == ["release"]
    assert await async_store.count_bounce("dana@x.example", "2026-03-03", 1) is True
    await async_store.aclose()
    with pytest.raises(RuntimeError):
        await async_store.get_held("H1")  # closed: no more work accepted
