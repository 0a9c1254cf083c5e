"""systemd service notifications (sd_notify protocol): READY, RELOADING, STOPPING, WATCHDOG and STATUS datagrams."""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

log = logging.getLogger("oopsguard.sdnotify")


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, the clock systemd compares MONOTONIC_USEC against."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _address(value: str) -> str | bytes:
    # A leading '@' names a socket in the abstract namespace, spelt with a NUL byte on the wire.
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class Notifier:
    """Sends state changes to $NOTIFY_SOCKET; every method is a silent no-op when not run by systemd.

    Sending never raises: a service must not fail because its supervisor went away. Close it (or use it
    as a context manager) so the datagram socket is released.
    """

    def __init__(self, socket_path: str | None = None) -> None:
        path = os.environ.get("NOTIFY_SOCKET") if socket_path is None else socket_path
        self._address: str | bytes | None = _address(path) if path else None
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, **state: object) -> bool:
        """Send KEY=value lines (keys upper-cased: notify(ready=1, status="up")); True when a datagram went out."""
        if self._address is None or not state:
            return False
        # A value may not span lines: the protocol is newline-separated.
        lines = [f"{key.upper()}={' '.join(str(value).splitlines())}" for key, value in state.items()]
        try:
            if self._socket is None:
                # Non-blocking: the receiver queues only a few datagrams (net.unix.max_dgram_qlen, often 10);
                # a blocking send to a supervisor that reads slowly would freeze the event loop it is sent from.
                self._socket = socket.socket(socket.AF_UNIX,
                                             socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
            self._socket.sendto("\n".join(lines).encode(), self._address)
        except BlockingIOError:
            log.debug("sd_notify to %r: the supervisor's queue is full, state dropped", self._address)
            return False
        except OSError as error:
            log.warning("sd_notify to %r failed: %s", self._address, error)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify(READY=1, **({"STATUS": status} if status else {}))

    def reloading(self) -> bool:
        # systemd 253+ (Type=notify-reload) wants the monotonic timestamp with RELOADING=1; older ones ignore it.
        return self.notify(RELOADING=1, MONOTONIC_USEC=monotonic_usec())

    def stopping(self) -> bool:
        return self.notify(STOPPING=1)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> "Notifier":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings: half of $WATCHDOG_USEC, or None when no watchdog is armed for us."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = os.environ.get("WATCHDOG_PID", "")
    # WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the variable must not ping.
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 2 / 1_000_000


async def watchdog_loop(notifier: Notifier, interval: float) -> None:
    """Ping the watchdog every `interval` seconds until cancelled; pings come from the loop, so a stalled
    loop stops them and systemd restarts the service."""
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)
