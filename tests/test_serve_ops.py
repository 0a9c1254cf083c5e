"""Operations of the running proxy: sd_notify states and watchdog, SIGHUP reload of team files with a session
in flight, metrics after real traffic, and store pruning by the scheduler."""
from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import sqlite3
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import regex

from conftest import (
    LOCALHOST,
    RECIPIENT,
    START,
    Clock,
    ProxyFactory,
    RecordingUpstream,
    broken,
    crlf,
    events,
    exchange,
    held_id,
    null_sender_mail,
    relayed,
    send,
    settle,
    split_trace,
    store_of,
    write_config,
)
from proxy.scheduler import OUTBOX_KEEP
from proxy.sdnotify import Notifier

PROJECT = Path(__file__).resolve().parents[1]
WATCHDOG_USEC = 200_000  # pings every 0.1 s

PLAIN = crlf(
    "From: Dave <dave@platform.example.com>\n"
    "To: Bob <bob@example.com>\n"
    "Subject: Rota for next week\n"
    "Message-ID: <rota-1@platform.example.com>\n"
    "\n"
    "Hi Bob,\n"
    "\n"
    "the rota for next week is in the shared folder.\n"
    "\n"
    "Dave\n"
)


# -- a child `oopsguard serve` and its notify socket ---------------------------------------------------------


class NotifySocket:
    """The supervisor's end of sd_notify: a real AF_UNIX datagram socket, read all the time (as systemd does:
    the kernel queues only a few datagrams); remembers every state it got."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.socket.setblocking(False)
        self.received: list[dict[str, str]] = []
        self._queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(self.socket, 4096)
            state = dict(line.split("=", 1) for line in data.decode().split("\n"))
            self.received.append(state)
            self._queue.put_nowait(state)

    async def next(self, timeout: float = 30.0) -> dict[str, str]:
        return await asyncio.wait_for(self._queue.get(), timeout)

    async def next_state(self, timeout: float = 30.0) -> dict[str, str]:
        """The next datagram that is not a watchdog ping."""
        async with asyncio.timeout(timeout):
            while True:
                state = await self.next()
                if state != {"WATCHDOG": "1"}:
                    return state

    @property
    def pings(self) -> int:
        return sum(state == {"WATCHDOG": "1"} for state in self.received)

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)
        self.socket.close()


@dataclass
class Child:
    """`python -m proxy.cli serve` as systemd would run it; its stderr (the log) is read continuously."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _more: asyncio.Event = field(default_factory=asyncio.Event)
    _pump: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, config: Path, env: dict[str, str], *, own_watchdog_pid: bool = False) -> "Child":
        command = [sys.executable, "-m", "proxy.cli", "serve", "--config", str(config)]
        if own_watchdog_pid:
            # systemd sets WATCHDOG_PID to the service's own pid: exec keeps the shell's pid for Python.
            command = ["/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$@"', "sh", *command]
        process = await asyncio.create_subprocess_exec(
            *command, cwd=PROJECT, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        child = cls(process)
        child._pump = asyncio.create_task(child._read())
        return child

    async def _read(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.lines.append(line.decode("utf-8", "replace"))
            self._more.set()
        self._more.set()

    async def wait_log(self, needle: str, after: int = 0, timeout: float = 30.0) -> str:
        """The first log line from index `after` on that contains `needle`."""
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines[after:]:
                    if needle in line:
                        return line
                if self._pump is not None and self._pump.done():
                    raise AssertionError(f"{needle!r} never logged:\n" + "".join(self.lines))
                self._more.clear()
                await self._more.wait()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def finish(self, timeout: float = 30.0) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._pump is not None:
            await self._pump
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._pump is not None:
            await self._pump


def serve_env(notify: NotifySocket) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NOTIFY_SOCKET": str(notify.path),
           "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    env.pop("WATCHDOG_PID", None)
    return env


@pytest.fixture
async def notify(tmp_path: Path) -> AsyncIterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify")
    yield listener
    await listener.close()


def base_config(directory: Path, upstream: RecordingUpstream, tmp_path: Path) -> Path:
    return write_config(directory, {"listen": f"{LOCALHOST}:0", "upstream": upstream.url,
                                    "allowed_clients": ["127.0.0.1/32"]},
                        store={"path": str(tmp_path / "var" / "oopsguard.db")})


def listening_port(status: str) -> int:
    match = regex.search(r"listening on 127\.0\.0\.1:(\d+)", status)
    assert match is not None, status
    return int(match[1])


# -- 1. sd_notify -------------------------------------------------------------------------------------------


async def test_serve_tells_systemd_ready_reloading_stopping_and_pings_the_watchdog(
        upstream: RecordingUpstream, notify: NotifySocket, tmp_path: Path) -> None:
    config = base_config(tmp_path / "config", upstream, tmp_path)
    child = await Child.start(config, serve_env(notify), own_watchdog_pid=True)
    try:
        ready = await notify.next_state()
        assert ready["READY"] == "1", ready
        port = listening_port(ready["STATUS"])
        assert f"upstream {upstream.url}" in ready["STATUS"]
        socket.create_connection((LOCALHOST, port), timeout=5).close()  # READY came once it was listening

        # WATCHDOG_USEC=200000: a ping every 0.1 s from the event loop.
        async with asyncio.timeout(10):
            while notify.pings < 4:
                await notify.next()

        child.process.send_signal(signal.SIGHUP)
        reloading = await notify.next_state()
        after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        assert reloading["RELOADING"] == "1" and 0 < int(reloading["MONOTONIC_USEC"]) <= after, reloading
        ready_again = await notify.next_state()
        assert ready_again["READY"] == "1" and "refused" not in ready_again["STATUS"], ready_again
        await child.wait_log("configuration reloaded")

        pings_before = notify.pings
        async with asyncio.timeout(10):  # still pinging after the reload
            while notify.pings < pings_before + 2:
                await notify.next()

        child.process.send_signal(signal.SIGTERM)
        stopping = await notify.next_state()
        assert stopping["STOPPING"] == "1", stopping
        assert await child.finish() == 0, child.log
    finally:
        await child.kill()
    assert [next(iter(state)) for state in notify.received if state != {"WATCHDOG": "1"}] == \
        ["READY", "RELOADING", "READY", "STOPPING"]


async def test_watchdog_meant_for_another_process_is_not_pinged(
        upstream: RecordingUpstream, notify: NotifySocket, tmp_path: Path) -> None:
    config = base_config(tmp_path / "config", upstream, tmp_path)
    env = {**serve_env(notify), "WATCHDOG_PID": "1"}  # armed for some other process (inherited variable)
    child = await Child.start(config, env)
    try:
        assert (await notify.next_state())["READY"] == "1"
        with pytest.raises(TimeoutError):
            await notify.next(timeout=0.6)  # six ping intervals
        child.process.send_signal(signal.SIGTERM)
        assert (await notify.next_state())["STOPPING"] == "1"
        assert await child.finish() == 0, child.log
    finally:
        await child.kill()
    assert notify.pings == 0


# -- 2. reload --------------------------------------------------------------------------------------------


PLATFORM_TEAM = 'name = "platform"\nsenders = ["*@platform.example.com"]\n'
NON_APOLOGY_OFF = '\n[rules.non-apology]\nseverity = "off"\n'
SUPPORT_TEAM = 'senders = ["*@support.example.com"]\non_block = "reject"\n'
# Would turn non-apology back on, but one key is wrong: the whole file (and reload) must be refused.
INVALID_PLATFORM_TEAM = PLATFORM_TEAM + 'mode = "loud"\n\n[rules.non-apology]\nseverity = "block"\n'

ALICE = "alice@platform.example.com"
SUPPORT = "sam@support.example.com"
HELD = regex.compile(r"2\.0\.0 held for review: [0-9a-f]{12}")


def apology(sender: str, number: int) -> bytes:
    """broken(): held by non-apology (block, every audience) unless the team turned that rule off."""
    return broken(sender=sender, message_id=f"<apology-{number}@example.com>",
                  subject=f"[oops] wrong invoice {number}")


async def test_sighup_applies_changed_and_new_team_files_without_dropping_a_session_in_flight(
        upstream: RecordingUpstream, notify: NotifySocket, tmp_path: Path) -> None:
    config = base_config(tmp_path / "config", upstream, tmp_path)
    platform_file = config / "teams" / "platform.toml"
    platform_file.write_text(PLATFORM_TEAM, encoding="utf-8")
    child = await Child.start(config, serve_env(notify))
    client: smtplib.SMTP | None = None
    try:
        port = listening_port((await notify.next_state())["STATUS"])

        # Old configuration: both senders' apologies are held (the support sender has no team yet).
        first = await exchange(port, ALICE, [RECIPIENT], apology(ALICE, 1))
        assert first.data is not None and HELD.fullmatch(first.data_text), first
        support_before = await exchange(port, SUPPORT, [RECIPIENT], apology(SUPPORT, 2))
        assert support_before.data is not None and HELD.fullmatch(support_before.data_text), support_before

        # A session in flight: MAIL and RCPT given, DATA not yet.
        client = await asyncio.to_thread(smtplib.SMTP, LOCALHOST, port, timeout=30)
        await asyncio.to_thread(client.ehlo, "client.test")
        assert (await asyncio.to_thread(client.mail, "dave@platform.example.com"))[0] == 250
        assert (await asyncio.to_thread(client.rcpt, "bob@example.com"))[0] == 250

        platform_file.write_text(PLATFORM_TEAM + NON_APOLOGY_OFF, encoding="utf-8")
        (config / "teams" / "support.toml").write_text(SUPPORT_TEAM, encoding="utf-8")
        mark = len(child.lines)
        child.process.send_signal(signal.SIGHUP)
        assert (await notify.next_state())["RELOADING"] == "1"
        assert "refused" not in (await notify.next_state())["STATUS"]
        assert "(3 teams," in await child.wait_log("configuration reloaded", after=mark)

        # The session in flight goes on: its message is relayed, unchanged.
        code, _ = await asyncio.to_thread(client.data, PLAIN)
        assert code == 250
        await asyncio.to_thread(client.quit)
        client = None
        assert [item.mail_from for item in relayed(upstream)] == ["dave@platform.example.com"]
        assert split_trace(relayed(upstream)[0].content)[1] == PLAIN

        # New messages are judged by the new files: platform's non-apology is off, support refuses outright.
        second = await exchange(port, ALICE, [RECIPIENT], apology(ALICE, 3))
        assert second.data is not None and second.data[0] == 250 and not HELD.fullmatch(second.data_text), second
        assert relayed(upstream)[-1].mail_from == ALICE
        with pytest.raises(smtplib.SMTPDataError) as rejected:
            await send(port, SUPPORT, [RECIPIENT], apology(SUPPORT, 4))
        assert rejected.value.smtp_code == 550 and b"[non-apology]" in rejected.value.smtp_error

        # An invalid file: logged as file: key: reason, and the running configuration stays in force.
        platform_file.write_text(INVALID_PLATFORM_TEAM, encoding="utf-8")
        mark = len(child.lines)
        child.process.send_signal(signal.SIGHUP)
        assert (await notify.next_state())["RELOADING"] == "1"
        ready = await notify.next_state()
        assert ready["READY"] == "1" and "last reload refused" in ready["STATUS"], ready
        refused = await child.wait_log("reload refused", after=mark)
        assert f"{platform_file}: mode: " in refused and "'enforce' or 'audit'" in refused, refused
        assert "Traceback" not in child.log
        third = await exchange(port, ALICE, [RECIPIENT], apology(ALICE, 5))
        assert third.data is not None and third.data[0] == 250 and not HELD.fullmatch(third.data_text), third
        assert relayed(upstream)[-1].mail_from == ALICE and len(relayed(upstream)) == 3

        child.process.send_signal(signal.SIGTERM)
        assert await child.finish() == 0, child.log
    finally:
        if client is not None:
            client.close()
        await child.kill()


async def test_reload_refuses_an_unknown_rule_id_and_keeps_the_running_configuration(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, caplog: pytest.LogCaptureFixture) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    before = proxy.server.config
    (proxy.config_dir / "teams" / "platform.toml").write_text(
        PLATFORM_TEAM + '\n[rules.no-such-rule]\nseverity = "off"\n', encoding="utf-8")
    assert await proxy.server.reload_from_disk() is False
    assert proxy.server.config is before
    problem = f"{proxy.config_dir / 'teams' / 'platform.toml'}: rules.no-such-rule: unknown rule id"
    assert any(problem in record.getMessage() for record in caplog.records), caplog.text
    # Fixed, the same file goes through.
    (proxy.config_dir / "teams" / "platform.toml").write_text(PLATFORM_TEAM + NON_APOLOGY_OFF, encoding="utf-8")
    assert await proxy.server.reload_from_disk() is True
    assert proxy.server.config.team("platform").rules["non-apology"].severity == "off"


# -- 3. metrics -------------------------------------------------------------------------------------------


def scrape(port: int) -> dict[str, float]:
    """The samples of a real scrape of /metrics, by name with labels as written."""
    with urllib.request.urlopen(f"http://{LOCALHOST}:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def with_prefix(samples: dict[str, float], prefix: str) -> dict[str, float]:
    return {name: value for name, value in samples.items() if name.startswith(prefix)}


async def test_metrics_after_clean_held_and_upstream_down_traffic(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url, sections={"metrics": {"listen": f"{LOCALHOST}:0"}})
    address = proxy.server.metrics_address
    assert address is not None
    sender = "alice@example.com"

    clean = await exchange(proxy.port, sender, ["bob@example.com"], PLAIN)
    assert clean.data is not None and clean.data[0] == 250
    held = held_id(await exchange(proxy.port, sender, [RECIPIENT], broken()))
    await settle(proxy)  # the bounce goes out through the outbox
    assert len(null_sender_mail(upstream)) == 1
    await proxy.server.queue_gauges.run_once()

    await upstream.stop()  # the upstream goes away: the next message is refused for now at MAIL
    # (from a sender with nothing held: alice's MAIL would wait for the first recipient to go upstream)
    down = await exchange(proxy.port, "dave@example.com", ["bob@example.com"], PLAIN)
    assert down.mail[0] == 451 and down.mail[1].startswith(b"4.4.1"), down

    samples = await asyncio.to_thread(scrape, address[1])
    assert with_prefix(samples, "oopsguard_messages_total") == {
        'oopsguard_messages_total{team="default",verdict="delivered"}': 1.0,
        'oopsguard_messages_total{team="default",verdict="held"}': 1.0,
    }
    # Findings by rule: exactly the rules recorded for the held message (the clean one has none).
    [held_event] = [event for event in await events(proxy) if event.verdict == "held"]
    assert "non-apology" in held_event.rules
    assert with_prefix(samples, "oopsguard_findings_total") == {
        f'oopsguard_findings_total{{rule="{rule}"}}': 1.0 for rule in held_event.rules}
    assert with_prefix(samples, "oopsguard_upstream_errors_total") == {
        'oopsguard_upstream_errors_total{kind="refused"}': 1.0}
    assert samples["oopsguard_bounces_sent_total"] == 1.0
    assert samples["oopsguard_relay_seconds_count"] == 1.0  # the clean message; a hold relays nothing
    assert 0 < samples["oopsguard_relay_seconds_sum"] < 5
    assert samples['oopsguard_relay_seconds_bucket{le="+Inf"}'] == 1.0
    assert samples["oopsguard_held_messages"] == 1.0
    assert samples["oopsguard_deferred_messages"] == 0.0
    assert samples["oopsguard_outbox_messages"] == 0.0
    assert (await store_of(proxy).get_held(held)) is not None


async def test_upstream_errors_are_counted_by_kind(make_proxy: ProxyFactory, make_upstream: Any) -> None:
    refusing = await make_upstream(data_reply="554 5.6.0 Content refused by policy")
    busy = await make_upstream(data_reply="452 4.3.1 Insufficient system storage")
    silent_writers: list[asyncio.StreamWriter] = []

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent_writers.append(writer)

    silent = await asyncio.start_server(say_nothing, LOCALHOST, 0)
    try:
        expected = {
            refusing.url: ({"5xx": 1.0}, 554),
            busy.url: ({"4xx": 1.0}, 452),
            f"smtp://{LOCALHOST}:{silent.sockets[0].getsockname()[1]}": ({"timeout": 1.0}, 451),
        }
        for url, (kinds, code) in expected.items():
            proxy = await make_proxy(upstream=url, upstream_timeout=0.5)
            result = await exchange(proxy.port, "alice@example.com", ["bob@example.com"], PLAIN)
            assert code in (result.mail[0], result.data[0] if result.data else 0), result
            text = proxy.server.metrics.exposition().decode()
            counted = {match[1]: float(match[2]) for match in
                       regex.finditer(r'oopsguard_upstream_errors_total\{kind="(\w+)"\} (\S+)', text)}
            assert counted == kinds, (url, text)
            assert "oopsguard_messages_total{" not in text  # refused upstream: not delivered, nothing recorded
    finally:
        for writer in silent_writers:
            writer.close()
        silent.close()
        await silent.wait_closed()


async def test_metrics_endpoint_follows_a_reload(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    assert proxy.server.metrics_address is None  # off unless [metrics] listen is set
    write_config(proxy.config_dir, {"listen": f"{LOCALHOST}:0", "upstream": upstream.url,
                                    "allowed_clients": ["127.0.0.1/32"]},
                 store={"path": str(proxy.server.config.main.store.path)}, metrics={"listen": f"{LOCALHOST}:0"})
    assert await proxy.server.reload_from_disk()
    await settle(proxy)
    address = proxy.server.metrics_address
    assert address is not None
    assert "oopsguard_held_messages" in await asyncio.to_thread(scrape, address[1])


# -- 4. pruning -------------------------------------------------------------------------------------------


def outbox_rows(database: Path) -> int:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        connection.close()


async def test_scheduler_prunes_closed_holds_and_sent_outbox_items_daily(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, tmp_path: Path) -> None:
    clock = Clock(START)
    database = tmp_path / "prune" / "oopsguard.db"
    proxy = await make_proxy(upstream=upstream.url, clock=clock,
                             sections={"store": {"path": str(database), "hold_days": 10}})
    store = store_of(proxy)
    scheduler = proxy.server.scheduler
    kept = held_id(await exchange(proxy.port, "alice@example.com", [RECIPIENT], broken()))
    dropped = held_id(await exchange(proxy.port, "bob@example.net", [RECIPIENT],
                                     broken(sender="bob@example.net", message_id="<inv-9@example.net>")))
    await settle(proxy)
    assert len(null_sender_mail(upstream)) == 2 and outbox_rows(database) == 2  # two bounces, sent at START
    assert await store.close_held(dropped, "dropped", "by test", clock.moment)
    await scheduler.run_once()
    assert scheduler.last_prune == START

    # A week and a day later: the sent bounces go; the closed hold (kept 2 x hold_days) stays.
    clock.advance(days=OUTBOX_KEEP.days + 1)
    await scheduler.run_once()
    assert scheduler.last_prune == clock.moment
    assert outbox_rows(database) == 0
    assert (await store.get_held(dropped)) is not None

    # Past twice hold_days: the closed hold goes. The open one expired on the way and was only just closed.
    clock.advance(days=2 * 10 + 1 - (OUTBOX_KEEP.days + 1))
    await scheduler.run_once()
    await settle(proxy)
    assert await store.get_held(dropped) is None
    survivor = await store.get_held(kept)
    assert survivor is not None and survivor.status == "expired"

    # Not again on the same day.
    clock.advance(hours=23)
    marked = scheduler.last_prune
    await scheduler.run_once()
    assert scheduler.last_prune == marked


def _ping_many(notifier: Notifier, count: int) -> list[bool]:
    return [notifier.watchdog() for _ in range(count)]


async def test_a_supervisor_that_reads_nothing_never_blocks_the_notifier(tmp_path: Path) -> None:
    # The kernel queues only net.unix.max_dgram_qlen datagrams (often 10): a blocking send would then wait
    # for the reader, freezing the proxy's event loop, which sends its watchdog pings from the loop.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "busy"))
    try:
        with Notifier(str(tmp_path / "busy")) as notifier:
            try:
                sent = await asyncio.wait_for(asyncio.to_thread(_ping_many, notifier, 200), 5)
            except TimeoutError:
                listener.close()  # unblocks the stuck send so the test can end
                raise AssertionError("a full supervisor queue blocked the sender") from None
        assert sent[0] is True and sent[-1] is False
    finally:
        listener.close()
