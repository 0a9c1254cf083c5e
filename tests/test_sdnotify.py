"""sd_notify: datagrams reach a real AF_UNIX socket (file path and abstract namespace); watchdog interval rules."""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Iterator

import pytest

from proxy.sdnotify import Notifier, watchdog_interval, watchdog_loop


def receive(listener: socket.socket) -> dict[str, str]:
    data = listener.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n"))


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    listener.settimeout(5)
    yield listener, str(tmp_path / "notify")
    listener.close()


@pytest.fixture
def abstract_socket() -> Iterator[tuple[socket.socket, str]]:
    name = f"oopsguard-test-{os.getpid()}-{secrets.token_hex(4)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(b"\0" + name.encode())
    listener.settimeout(5)
    yield listener, "@" + name
    listener.close()


@pytest.mark.parametrize("which", ["path_socket", "abstract_socket"])
def test_states_arrive(which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    listener, address = request.getfixturevalue(which)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    with Notifier() as notifier:
        assert notifier.enabled
        assert notifier.ready(status="listening on 127.0.0.1:10025")
        assert receive(listener) == {"READY": "1", "STATUS": "listening on 127.0.0.1:10025"}
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert notifier.reloading()
        reloading = receive(listener)
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert reloading["RELOADING"] == "1" and before <= int(reloading["MONOTONIC_USEC"]) <= after
        assert notifier.watchdog()
        assert receive(listener) == {"WATCHDOG": "1"}
        assert notifier.status("2 held\nnew line")
        assert receive(listener) == {"STATUS": "2 held new line"}
        assert notifier.stopping()
        assert receive(listener) == {"STOPPING": "1"}


def test_no_socket_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    with Notifier() as notifier:
        assert not notifier.enabled
        assert notifier.ready() is False and notifier.watchdog() is False


def test_vanished_supervisor_does_not_raise(tmp_path: Path) -> None:
    with Notifier(str(tmp_path / "gone")) as notifier:
        assert notifier.ready() is False


@pytest.mark.parametrize(("usec", "pid", "expected"), [
    ("30000000", None, 15.0), ("30000000", "self", 15.0), ("30000000", "1", None), ("", None, None),
    ("0", None, None), ("abc", None, None)])
def test_watchdog_interval(usec: str, pid: str | None, expected: float | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is None:
        monkeypatch.delenv("WATCHDOG_PID", raising=False)
    else:
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)
    assert watchdog_interval() == expected


async def test_watchdog_loop_pings(path_socket: tuple[socket.socket, str]) -> None:
    listener, address = path_socket
    listener.setblocking(False)
    with Notifier(address) as notifier:
        task = asyncio.create_task(watchdog_loop(notifier, 0.01))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    pings = 0
    while True:
        try:
            assert listener.recv(64) == b"WATCHDOG=1"
        except BlockingIOError:
            break
        pings += 1
    assert pings >= 3
