"""Decision events and thread first notices, written to the store in batches by one background task."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from proxy.events import Event
from proxy.store import AsyncStore

log = logging.getLogger("oopsguard.recorder")

# A batch is one transaction (one sync); under load the queue fills while the previous batch is written,
# so the batch size grows by itself. The cap keeps one transaction from holding the store thread too long.
MAX_BATCH = 2000
# Beyond this many unwritten records (the store is failing), the oldest are dropped rather than memory grown.
MAX_PENDING = 100_000
# After the first record of a batch, wait this long for more: under load one transaction then carries a few
# hundred events instead of a handful, which keeps the store thread (and its share of the GIL) out of the way.
LINGER = 0.2


class Recorder:
    """Collects events and thread notes from the hot path without waiting; one task writes them in batches.

    Ordinary mail pays an append to a list here, never a store round-trip of its own. Records not yet
    written are lost if the process is killed: they are statistics, and a held message's own durability
    never depends on them (store.hold commits before the 250, independently of this queue).
    """

    def __init__(self) -> None:
        self._store: AsyncStore | None = None
        self._events: list[Event] = []
        self._threads: list[tuple[str, str, datetime]] = []
        # Thread first notices not yet written, so a follow-up right behind its first notice still finds it.
        self._pending_threads: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def event(self, event: Event) -> None:
        self._events.append(event)
        if len(self._events) > MAX_PENDING:
            del self._events[: len(self._events) - MAX_PENDING]
        self._wake.set()

    def thread(self, thread_key: str, team: str, first_notice: datetime) -> None:
        """Remember a thread's first oops notice (the store keeps the earliest one it is told about)."""
        if not thread_key or thread_key in self._pending_threads:
            return
        self._pending_threads[thread_key] = first_notice
        self._threads.append((thread_key, team, first_notice))
        self._wake.set()

    def pending_first_notice(self, thread_keys: list[str]) -> datetime | None:
        found = [self._pending_threads[key] for key in thread_keys if key in self._pending_threads]
        return min(found) if found else None

    def start(self, store: AsyncStore) -> None:
        self._store = store
        self._task = asyncio.get_running_loop().create_task(self._run(), name="oopsguard-recorder")

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            if len(self._events) < MAX_BATCH and not self._stopping:
                await asyncio.sleep(LINGER)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything collected so far (also used at shutdown and by tests)."""
        if self._store is None:
            return
        async with self._lock:
            while self._events or self._threads:
                events, self._events = self._events[:MAX_BATCH], self._events[MAX_BATCH:]
                threads, self._threads = self._threads[:MAX_BATCH], self._threads[MAX_BATCH:]
                try:
                    await self._store.record_events(events, threads)
                except Exception as error:  # a full disk must not stop the relay: log, keep the records, retry
                    log.error("cannot record %d events: %s: %s", len(events), type(error).__name__, error)
                    self._events[:0] = events
                    self._threads[:0] = threads
                    return
                for key, _team, _when in threads:
                    self._pending_threads.pop(key, None)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()
