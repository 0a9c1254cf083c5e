"""Shared fixtures: a recording aiosmtpd upstream and a running proxy, both in-process on 127.0.0.1 port 0."""
from __future__ import annotations

import asyncio
import re
import smtplib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from proxy.config import load_config
from proxy.server import GuardServer

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


@dataclass
class RecordingUpstream:
    """A real aiosmtpd server that records every message and connection, and refuses what it is told to."""

    smtputf8: bool = True
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> full reply, e.g. "550 5.1.1 ..."
    data_reply: str | None = None  # answer to every DATA instead of accepting, e.g. "554 5.6.0 no"
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    noops: int = 0
    port: int = 0
    message_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _protocols: list[SMTP] = field(default_factory=list)

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
        protocol = SMTP(self, hostname="upstream.test", enable_SMTPUTF8=self.smtputf8, decode_data=False,
                        data_size_limit=None, loop=asyncio.get_running_loop())
        self._protocols.append(protocol)
        return protocol

    async def start(self) -> int:
        self._server = await asyncio.get_running_loop().create_server(self._protocol, host=LOCALHOST, port=0)
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
                      teams: dict[str, dict[str, Any]] | None = None, **proxy: Any) -> RunningProxy:
        nonlocal counter
        counter += 1
        settings = {"listen": f"{LOCALHOST}:0", "allowed_clients": ["127.0.0.1/32"], **proxy}
        directory = write_config(tmp_path / f"config{counter}", settings, teams, **(sections or {}))
        config = load_config(directory)
        extra: dict[str, Any] = {} if evaluator is None else {"evaluator": evaluator}
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
