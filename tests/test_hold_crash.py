"""SIGKILL in the middle of a run of holds: every message answered "held" is in the store, bytes intact."""
from __future__ import annotations

import asyncio
import email
import random
import signal
import smtplib
import socket
import sys
import threading
import time
from pathlib import Path

import regex

from conftest import LOCALHOST, RECIPIENT, SENDER, broken, split_trace, write_config
from proxy.store import SqliteStore

PROJECT = Path(__file__).resolve().parents[1]
CLIENTS = 4
MESSAGES_PER_CLIENT = 30  # 120 held messages in all
KILL_AFTER = 50           # acknowledged holds before the SIGKILL
TRACE = regex.compile(rb"Received: from client\.test \(127\.0\.0\.1\)\r\n\tby \S+ \(oopsguard\) with ESMTP id "
                      rb"(?P<id>[0-9a-f]{12});\r\n\t[^\r\n]+\r\n")


def port_outside_the_ephemeral_range() -> int:
    """A free port the restarted proxy can have again: while it is down, no outgoing connection (ours or any
    other process's) may be handed that port as its local end, which a port from bind(0) cannot promise."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(100):
        candidate = random.randrange(max(low // 2, 1024), low)
        with socket.socket() as probe:
            try:
                probe.bind((LOCALHOST, candidate))
            except OSError:
                continue
            return candidate
    raise AssertionError("no free port below the ephemeral range")


def wait_until_listening(port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((LOCALHOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise AssertionError(f"the proxy is not listening on {port}:\n{tail}")


class Run:
    """Bookkeeping shared by the client threads: which message was answered "held" with which id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acknowledged: dict[str, bytes] = {}
        self.enough = threading.Event()
        self.killed = threading.Event()
        self.back = threading.Event()
        self.failures = 0

    def ack(self, held_id: str, message: bytes) -> None:
        with self.lock:
            assert held_id not in self.acknowledged
            self.acknowledged[held_id] = message
            if len(self.acknowledged) >= KILL_AFTER:
                self.enough.set()


def client(run: Run, number: int, port: int) -> None:
    """Sends its messages one after another; when the proxy dies, waits for it and retries the unanswered one."""
    pending = [broken(message_id=f"<crash-{number}-{index}@example.com>") for index in range(MESSAGES_PER_CLIENT)]
    while pending:
        try:
            with smtplib.SMTP(LOCALHOST, port, timeout=30) as session:
                session.ehlo("client.test")
                while pending:
                    message = pending[0]
                    assert session.mail(SENDER)[0] == 250
                    assert session.rcpt(RECIPIENT)[0] == 250
                    code, text = session.data(message)
                    assert code == 250 and text.startswith(b"2.0.0 held for review: "), (code, text)
                    run.ack(text.decode().rsplit(" ", 1)[1], message)
                    pending.pop(0)
        except (smtplib.SMTPException, OSError):
            # No answer, so not acknowledged: a real client keeps the message and tries again later.
            with run.lock:
                run.failures += 1
            run.killed.wait(30)
            run.back.wait(60)


async def start_proxy(config: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as stderr:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "proxy.cli", "serve", "--config", str(config), cwd=PROJECT,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=stderr)


async def test_sigkill_mid_run_loses_no_acknowledged_hold(tmp_path: Path) -> None:
    port = port_outside_the_ephemeral_range()
    store_path = tmp_path / "var" / "oopsguard.db"
    maildir = tmp_path / "maildir"
    config = write_config(tmp_path / "config", {
        "listen": f"{LOCALHOST}:{port}", "upstream": f"maildir:{maildir}", "allowed_clients": ["127.0.0.1/32"],
        "bounces_per_sender_per_day": 1000}, store={"path": str(store_path)})
    run = Run()
    log = tmp_path / "proxy.log"
    process = await start_proxy(config, log)
    try:
        await asyncio.to_thread(wait_until_listening, port, log)
        clients = asyncio.gather(*(asyncio.to_thread(client, run, number, port) for number in range(CLIENTS)))
        assert await asyncio.to_thread(run.enough.wait, 120), "the proxy never acknowledged enough holds"
        process.send_signal(signal.SIGKILL)  # in the middle of four sessions' transactions
        assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL
        with run.lock:
            before_kill = dict(run.acknowledged)
        run.killed.set()

        process = await start_proxy(config, log)
        await asyncio.to_thread(wait_until_listening, port, log)
        run.back.set()
        await asyncio.wait_for(clients, 180)

        # Every message was acknowledged in the end (the unanswered ones were sent again).
        assert len(run.acknowledged) >= CLIENTS * MESSAGES_PER_CLIENT
        assert KILL_AFTER <= len(before_kill) < CLIENTS * MESSAGES_PER_CLIENT
        assert run.failures >= 1  # the kill really did cut sessions off

        # The restarted proxy sends every bounce, including those the kill cut off before the outbox.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with SqliteStore(store_path) as watching:
                if watching.queue_sizes()["outbox"] == 0 and not watching.unnotified_held():
                    break
            await asyncio.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    with SqliteStore(store_path) as store:
        for held_id, message in run.acknowledged.items():
            held = store.get_held(held_id)
            assert held is not None, f"{held_id} was acknowledged but is not in the store"
            assert held.status == "held" and held.mail_from == SENDER and held.rcpt_tos == (RECIPIENT,)
            trace, rest = split_trace(held.raw)
            assert rest == message, held_id  # the raw bytes exactly as sent
            match = TRACE.fullmatch(trace)
            assert match is not None and match["id"].decode() == held_id
        stored = {held.id for held in store.list_held()}
    # Unacknowledged messages may be stored too (committed just before the kill), never the other way round.
    assert set(run.acknowledged) <= stored
    bounced = {email.message_from_bytes(path.read_bytes())["X-Oopsguard-Held-Id"] for path in (maildir / "new").iterdir()}
    assert stored <= bounced  # nothing lost: every held message got its bounce, before or after the restart
