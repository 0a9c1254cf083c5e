"""Background workers of the running proxy: the outbox sender, the scheduler for deferred and expired mail and
store pruning, and the queue-size gauges."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable

from proxy.relay import RelayResult, deliver
from proxy.store import OutboxItem

if TYPE_CHECKING:
    from proxy.server import GuardServer

log = logging.getLogger("oopsguard.scheduler")

# The outbox is looked at this often even without a wake-up: `oopsguard held release` runs in another process.
OUTBOX_POLL = 2.0
OUTBOX_BATCH = 100
# Retry delays: 30 s, 1 min, 2 min, ... at most an hour apart; an item still unsent after two days is given up.
RETRY_FIRST = 30.0
RETRY_MAX = 3600.0
GIVE_UP_AFTER = timedelta(days=2)
# Deferred messages fall due at 09:00 and expiry is counted in days: once a minute is precise enough.
SCHEDULER_INTERVAL = 60.0
# How long shutdown waits for a pass in progress (an upstream delivery) before cancelling it.
STOP_GRACE = 10.0
# Store housekeeping runs once a day (the first time at start). Closed held messages are kept for twice the
# hold period, so `oopsguard held list --all` and a late fix still find them; sent outbox items (bounces carry
# a copy of the original) a week, long enough to look into a delivery complaint.
PRUNE_EVERY = timedelta(days=1)
OUTBOX_KEEP = timedelta(days=7)
# The held, deferred and outbox gauges are read from the store this often (one COUNT query, off the loop).
GAUGE_INTERVAL = 5.0


def retry_delay(attempts: int) -> timedelta:
    """Wait before the next try, after `attempts` earlier failed tries (0 for the first failure)."""
    return timedelta(seconds=min(RETRY_FIRST * 2 ** min(attempts, 20), RETRY_MAX))


class _Loop:
    """A background task that runs `pass_once` every `interval` seconds or when woken, one pass at a time."""

    def __init__(self, name: str, interval: float, pass_once: Callable[[], Awaitable[None]]) -> None:
        self.name = name
        self.interval = interval
        self._pass_once = pass_once
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # a pass run on demand (tests, shutdown) never overlaps the loop's own
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.passes = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"oopsguard-{self.name}")

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> None:
        async with self._lock:
            try:
                await self._pass_once()
            except Exception as error:  # a failing pass must not end the worker: log and try again later
                log.error("%s pass failed: %s: %s", self.name, type(error).__name__, error)
            self.passes += 1

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self.run_once()
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class OutboxWorker(_Loop):
    """Sends what the proxy itself must send (bounces, notices, released and due messages) with retries."""

    def __init__(self, server: "GuardServer", interval: float = OUTBOX_POLL) -> None:
        super().__init__("outbox", interval, self._send_due)
        self.server = server
        self.sent = 0

    async def _send_due(self) -> None:
        store = self.server.store
        assert store is not None
        while not self._stopping:
            items = await store.due_outbox(self.server.now(), OUTBOX_BATCH)
            for item in items:
                if self._stopping:
                    return
                if not await self._send(item):
                    return  # the upstream is unreachable: the other items wait for their next pass
            if len(items) < OUTBOX_BATCH:
                return

    async def _send(self, item: OutboxItem) -> bool:
        """One delivery attempt; False when the upstream could not be reached at all."""
        store = self.server.store
        assert store is not None
        options = {option.upper() for option in item.mail_options}
        try:
            result = await deliver(self.server.relay, item.mail_from, item.rcpt_tos, item.raw,
                                   smtputf8="SMTPUTF8" in options, eight_bit="BODY=8BITMIME" in options)
        except Exception as error:  # a bug or an odd upstream: count it as a temporary failure of this item
            log.error("outbox %d (%s): %s: %s", item.id, item.kind, type(error).__name__, error)
            await self._failed(item, f"{type(error).__name__}: {error}", permanent=False)
            return True
        if result.delivered:
            await store.mark_sent(item.id, self.server.now())
            self.sent += 1
            if item.kind == "bounce":
                self.server.metrics.bounce_sent()
            retry = [r for r, reply in result.refused.items() if reply.temporary]
            if retry:  # some recipients only refused for now: they get an item of their own
                await store.enqueue(item.kind, item.mail_from, retry, item.raw, self.server.now(), item.mail_options)
            log.info("outbox %d (%s) sent to %d recipients%s", item.id, item.kind, len(result.accepted),
                     f", {len(result.refused)} refused" if result.refused else "")
            return True
        error = _describe(result)
        await self._failed(item, error, permanent=not result.temporary_failure)
        # Connection-level trouble (no MAIL reply at all) means the next items would fail the same way.
        return not (result.reply.temporary and not result.accepted and result.reply.code == 451
                    and result.reply.text.startswith(("4.4.1", "4.4.2", "4.4.5")))

    async def _failed(self, item: OutboxItem, error: str, permanent: bool) -> None:
        store = self.server.store
        assert store is not None
        now = self.server.now()
        too_old = item.created is not None and now - item.created > GIVE_UP_AFTER
        if permanent or too_old:
            log.error("outbox %d (%s) given up after %d attempts: %s", item.id, item.kind, item.attempts + 1, error)
            await store.mark_failed(item.id, error, None)
            return
        delay = retry_delay(item.attempts)
        log.warning("outbox %d (%s) not sent (%s); next try in %d s", item.id, item.kind, error,
                    delay.total_seconds())
        await store.mark_failed(item.id, error, now + delay)


def _describe(result: RelayResult) -> str:
    """The reason an attempt failed, for the outbox's last_error and the log (no addresses)."""
    text = f"{result.reply.code} {result.reply.text}"[:200]
    others = sorted({f"{reply.code} {reply.text.split(' ', 1)[0]}" for reply in result.refused.values()
                     if reply != result.reply})
    return text + (f" (recipients: {', '.join(others)})" if others else "")


class Scheduler(_Loop):
    """Relays deferred messages when due, expires old holds, and keeps the open-holds sender set fresh."""

    def __init__(self, server: "GuardServer", interval: float = SCHEDULER_INTERVAL) -> None:
        super().__init__("scheduler", interval, self._tick)
        self.server = server
        self.last_prune: datetime | None = None

    async def _tick(self) -> None:
        server = self.server
        store = server.store
        assert store is not None
        now = server.now()
        relayed = 0
        for held in await store.due_deferred(now):
            if await store.release_held(held.id, "due", now, status="delivered", outbox_kind="deferred") is not None:
                log.info("id=%s team=%s deferred message due: queued for relay", held.id, held.team)
                relayed += 1
        if relayed:
            server.outbox.wake()
        cutoff = now - timedelta(days=server.config.main.store.hold_days)
        expired = 0
        for held in await store.expired_held(cutoff):
            expired += await server.actions.expire(held, now)
        if expired:
            server.outbox.wake()
        await server.holds.refresh(store)
        if self.last_prune is None or now - self.last_prune >= PRUNE_EVERY:
            # Marked first: a store that cannot prune is tried again tomorrow, not every minute.
            self.last_prune = now
            await self.prune(now)

    async def prune(self, now: datetime) -> dict[str, int]:
        """Delete closed held messages older than twice hold_days and outbox items sent over a week ago."""
        store = self.server.store
        assert store is not None
        hold_days = self.server.config.main.store.hold_days
        removed = await store.prune(now - timedelta(days=2 * hold_days), outbox_before=now - OUTBOX_KEEP)
        if any(removed.values()):
            log.info("store pruned: %s", ", ".join(f"{count} {what}" for what, count in removed.items() if count))
        return removed


class QueueGauges(_Loop):
    """Keeps the held, deferred and outbox gauges current from the store (the store thread does the counting)."""

    def __init__(self, server: "GuardServer", interval: float = GAUGE_INTERVAL) -> None:
        super().__init__("queue-gauges", interval, self._refresh)
        self.server = server

    async def _refresh(self) -> None:
        if self.server.metrics_server is None:
            return  # nobody can scrape them: spare the store the query
        store = self.server.store
        assert store is not None
        self.server.metrics.set_queue_sizes(await store.queue_sizes())

