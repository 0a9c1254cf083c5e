"""Shared fixtures (a recording aiosmtpd upstream, a running proxy, both on 127.0.0.1 port 0) and hold-test helpers."""
from __future__ import annotations

import asyncio
import email
import email.policy
import re
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import pytest
import regex
from aiosmtpd.smtp import SMTP, Envelope, Session

from proxy.config import load_config
from proxy.server import GuardServer
from proxy.store import AsyncStore

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
LOCALHOST = "127.0.0.1"
_LINE_END = re.compile(rb"\r\n|\n|\r(?!\n)")  # a fixed pattern over test data, linear: `re` is fine here


@dataclass(frozen=True)
class Received:
    """One message as the upstream got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]
    content: bytes


class LongLineSMTP(SMTP):
    """An upstream that, like common MTAs, takes lines longer than RFC 5321's 1000 octets."""

    line_length_limit = 1024 * 1024


@dataclass
class RecordingUpstream:
    """A real aiosmtpd server that records every message and connection, and refuses what it is told to."""

    smtputf8: bool = True
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> full reply, e.g. "550 5.1.1 ..."
    data_reply: str | None = None  # answer to every DATA instead of accepting, e.g. "554 5.6.0 no"
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    mail_froms: list[str] = field(default_factory=list)  # every MAIL FROM, also of transactions reset before DATA
    noops: int = 0
    port: int = 0
    message_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _protocols: list[SMTP] = field(default_factory=list)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        self.mail_froms.append(address)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_NOOP(self, server: SMTP, session: Session, envelope: Envelope, arg: str) -> str:
        self.noops += 1
        return "250 2.0.0 OK"

    def drop_connections(self) -> None:
        """Close every client connection, as an upstream that restarts or times out idle clients does."""
        for protocol in self._protocols:
            if protocol.transport is not None:
                protocol.transport.close()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        assert envelope.mail_from is not None and isinstance(envelope.original_content, bytes)
        self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), tuple(envelope.mail_options),
                                      envelope.original_content))
        self.message_arrived.set()
        return "250 2.0.0 Ok: queued"

    def _protocol(self) -> SMTP:
        self.connections += 1
        protocol = LongLineSMTP(self, hostname="upstream.test", enable_SMTPUTF8=self.smtputf8, decode_data=False,
                        data_size_limit=None, loop=asyncio.get_running_loop())
        self._protocols.append(protocol)
        return protocol

    async def start(self, port: int = 0) -> int:
        """Listen on `port` (0: a free one); starting again on the old port brings a stopped upstream back."""
        self._server = await asyncio.get_running_loop().create_server(self._protocol, host=LOCALHOST, port=port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    @property
    def url(self) -> str:
        return f"smtp://{LOCALHOST}:{self.port}"

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        """Wait until at least `count` messages arrived."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.message_arrived.clear()
                await self.message_arrived.wait()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.drop_connections()
        for _ in range(5):  # let connection_lost and the cancelled session tasks run
            await asyncio.sleep(0)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(directory: Path, proxy: dict[str, Any] | None = None,
                 teams: dict[str, dict[str, Any]] | None = None, **sections: dict[str, Any]) -> Path:
    """Write `oopsguard.toml` (a [proxy] table plus any other tables) and `teams/NAME.toml` files."""
    directory.mkdir(parents=True, exist_ok=True)
    tables = {"proxy": proxy or {}, **sections}
    lines: list[str] = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        lines.append("")
    (directory / "oopsguard.toml").write_text("\n".join(lines), encoding="utf-8")
    (directory / "teams").mkdir(exist_ok=True)
    for name, settings in (teams or {}).items():
        body = "\n".join(f"{key} = {toml_value(value)}" for key, value in settings.items() if not isinstance(value, dict))
        (directory / "teams" / f"{name}.toml").write_text(body + "\n", encoding="utf-8")
    return directory


@dataclass
class RunningProxy:
    server: GuardServer
    host: str
    port: int
    config_dir: Path


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def upstream() -> AsyncIterator[RecordingUpstream]:
    recorder = RecordingUpstream()
    await recorder.start()
    yield recorder
    await recorder.stop()


@pytest.fixture
async def make_upstream() -> AsyncIterator[Callable[..., Awaitable[RecordingUpstream]]]:
    """Start further recording upstreams with options (smtputf8=False, refuse_recipients=..., data_reply=...)."""
    started: list[RecordingUpstream] = []

    async def factory(**options: Any) -> RecordingUpstream:
        recorder = RecordingUpstream(**options)
        await recorder.start()
        started.append(recorder)
        return recorder

    yield factory
    for recorder in started:
        await recorder.stop()


@pytest.fixture
async def make_proxy(tmp_path: Path) -> AsyncIterator[ProxyFactory]:
    """Start GuardServers on port 0 with a tmp config dir; keyword arguments become [proxy] settings."""
    running: list[GuardServer] = []
    counter = 0

    async def factory(*, checks: list[Any] | None = None, evaluator: Any = None,
                      sections: dict[str, dict[str, Any]] | None = None,
                      teams: dict[str, dict[str, Any]] | None = None,
                      clock: Callable[[], Any] | None = None, **proxy: Any) -> RunningProxy:
        nonlocal counter
        counter += 1
        settings = {"listen": f"{LOCALHOST}:0", "allowed_clients": ["127.0.0.1/32"], **proxy}
        sections = dict(sections or {})
        # Each proxy gets its own store in tmp_path unless the test names one (to restart on the same store).
        sections.setdefault("store", {"path": str(tmp_path / f"store{counter}" / "oopsguard.db")})
        directory = write_config(tmp_path / f"config{counter}", settings, teams, **sections)
        config = load_config(directory)
        extra: dict[str, Any] = {} if evaluator is None else {"evaluator": evaluator}
        if clock is not None:
            extra["clock"] = clock
        server = GuardServer(config, checks=checks, **extra)
        host, port = await server.start()
        running.append(server)
        return RunningProxy(server, host, port, directory)

    yield factory
    for server in running:
        await server.stop(grace=2.0)


@pytest.fixture
async def proxy(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> RunningProxy:
    """A proxy in front of the default recording upstream."""
    return await make_proxy(upstream=upstream.url)


def split_trace(content: bytes) -> tuple[bytes, bytes]:
    """Split off the first header field (with its folded continuation lines): the proxy's trace header."""
    end = content.index(b"\r\n") + 2
    while content[end:end + 1] in (b" ", b"\t"):
        end = content.index(b"\r\n", end) + 2
    return content[:end], content[end:]


def crlf(text: str | bytes) -> bytes:
    """A message with CRLF line endings, as an SMTP client puts it on the wire."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return _LINE_END.sub(b"\r\n", data)


def smtp_send(port: int, sender: str, recipients: Iterable[str], message: bytes, *,
              mail_options: Iterable[str] = (), source_address: tuple[str, int] | None = None,
              host: str = LOCALHOST) -> dict[str, tuple[int, bytes]]:
    """Blocking smtplib delivery (call through asyncio.to_thread); returns the refused recipients."""
    with smtplib.SMTP(host, port, source_address=source_address, timeout=30) as client:
        return client.sendmail(sender, list(recipients), message, mail_options=list(mail_options))


async def send(port: int, sender: str, recipients: Iterable[str], message: bytes,
               **options: Any) -> dict[str, tuple[int, bytes]]:
    return await asyncio.to_thread(smtp_send, port, sender, list(recipients), message, **options)


class Clock:
    """A settable clock for GuardServer(clock=...): tests move time instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@dataclass(frozen=True)
class Exchange:
    """The replies of one SMTP transaction: MAIL, each RCPT, and DATA (None when DATA was not reached)."""

    mail: tuple[int, bytes]
    rcpts: tuple[tuple[int, bytes], ...]
    data: tuple[int, bytes] | None

    @property
    def data_text(self) -> str:
        assert self.data is not None, self
        return self.data[1].decode("utf-8", "replace")


def smtp_exchange(port: int, sender: str, recipients: Iterable[str], message: bytes, *,
                  mail_options: Iterable[str] = (), host: str = LOCALHOST) -> Exchange:
    """One transaction with every reply kept (blocking: call through asyncio.to_thread)."""
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.ehlo("client.test")
        mail = client.mail(sender, list(mail_options))
        rcpts = tuple(client.rcpt(recipient) for recipient in recipients) if mail[0] == 250 else ()
        data = client.data(message) if any(code in (250, 251) for code, _ in rcpts) else None
        return Exchange(mail, rcpts, data)


async def exchange(port: int, sender: str, recipients: Iterable[str], message: bytes,
                   **options: Any) -> Exchange:
    return await asyncio.to_thread(smtp_exchange, port, sender, list(recipients), message, **options)


# --- the end-to-end hold tests (test_hold_*.py) -------------------------------------------------------

SENDER = "alice@example.com"
OTHER_SENDER = "bob@example.net"
RECIPIENT = "carol@example.org"
# Tuesday 2 March 2027, 14:00 UTC: a working day, so "the next working day" is Wednesday.
START = datetime(2027, 3, 2, 14, 0, tzinfo=timezone.utc)
HELD_REPLY = regex.compile(r"2\.0\.0 held for review: ([0-9a-f]{12})")


def broken(subject: str = "[oops] wrong invoice", message_id: str = "<inv-1@example.com>",
           extra_headers: str = "", line: str = "We are sorry if you were inconvenienced by the wrong invoice we sent.",
           sender: str = SENDER) -> bytes:
    """An apology with a conditional "sorry if": the non-apology rule (block, every audience) holds it."""
    return crlf(
        f"From: Alice <{sender}>\n"
        f"To: Carol <{RECIPIENT}>\n"
        f"Subject: {subject}\n"
        f"Message-ID: {message_id}\n"
        f"Date: Tue, 02 Mar 2027 14:00:00 +0000\n"
        f"{extra_headers}"
        "\n"
        "Hi Carol,\n"
        "\n"
        f"{line}\n"
        "\n"
        "Alice\n"
    )


def fixed(subject: str = "[oops] wrong invoice", message_id: str = "<inv-2@example.com>") -> bytes:
    """The corrected apology: owns the mistake, names the impact, makes amends and commits; nothing to hold."""
    return crlf(
        f"From: Alice <{SENDER}>\n"
        f"To: Carol <{RECIPIENT}>\n"
        f"Subject: {subject}\n"
        f"Message-ID: {message_id}\n"
        "Date: Tue, 02 Mar 2027 15:00:00 +0000\n"
        "\n"
        "Hi Carol,\n"
        "\n"
        "I am sorry that we sent you the wrong invoice yesterday. That was our mistake, and it cost you time.\n"
        "The corrected invoice is attached, and we have credited ten percent of the amount to your account.\n"
        "From now on, a second person checks every invoice before it goes out, so this will not happen again.\n"
        "\n"
        "Alice\n"
    )


def held_id(result: Exchange) -> str:
    assert result.data is not None and result.data[0] == 250, result
    match = HELD_REPLY.fullmatch(result.data_text)
    assert match is not None, result.data_text
    return match[1]


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def store_of(proxy: RunningProxy) -> AsyncStore:
    store = proxy.server.store
    assert store is not None
    return store


def null_sender_mail(upstream: RecordingUpstream) -> list[Any]:
    """What the proxy itself sent upstream (bounces and notices): envelope sender <>."""
    return [item for item in upstream.received if item.mail_from == "<>"]


def relayed(upstream: RecordingUpstream) -> list[Any]:
    return [item for item in upstream.received if item.mail_from != "<>"]


async def settle(proxy: RunningProxy, rounds: int = 2) -> None:
    """Let bounce building, the event batch and the outbox run to the end."""
    for _ in range(rounds):
        await proxy.server.settle()
        await asyncio.sleep(0)


async def events(proxy: RunningProxy) -> list[Any]:
    await proxy.server.recorder.flush()
    return await store_of(proxy).events(None, datetime(2000, 1, 1, tzinfo=timezone.utc),
                                        datetime(2100, 1, 1, tzinfo=timezone.utc))
