"""Upstream delivery: a pooled aiosmtplib client that mirrors the envelope, or a durable maildir writer."""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Mapping, Protocol

import aiosmtplib
from aiosmtplib.errors import (
    SMTPConnectError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from proxy import replies
from proxy.config import Config

log = logging.getLogger("oopsguard.relay")

Scheme = Literal["smtp", "smtp+starttls", "smtps", "maildir"]

# A pooled connection unused for longer than this is checked with NOOP before it carries a message:
# upstream servers drop idle clients (Postfix after 300 s) and a dead socket is only noticed on use.
NOOP_AFTER_IDLE = 5.0
# Idle connections older than this are closed rather than kept: they would most likely be dead anyway.
MAX_IDLE = 60.0
# Closing politely (QUIT) must not delay shutdown much.
QUIT_TIMEOUT = 2.0

# Errors that mean "the connection is gone or unusable": never a verdict on the message.
_CONNECTION_ERRORS = (SMTPServerDisconnected, SMTPTimeoutError, ConnectionError, OSError, TimeoutError)

# Kinds of upstream failure handed to a relay's `on_failure` callback (the metrics' upstream error counter).
FAILURE_REFUSED = "refused"    # no connection: refused, unreachable, TLS handshake failed
FAILURE_TIMEOUT = "timeout"    # no answer in time: connecting, the greeting or a command
FAILURE_LOST = "lost"          # the connection dropped in the middle of a transaction
FAILURE_PROTOCOL = "protocol"  # an answer that fits no SMTP exchange
FAILURE_BUSY = "busy"          # every pooled connection stayed in use for upstream_timeout
FAILURE_4XX = "4xx"            # the upstream refused MAIL or DATA for now
FAILURE_5XX = "5xx"            # the upstream refused MAIL or DATA for good
FAILURE_STORE = "store"        # the maildir could not be written

FailureCallback = Callable[[str], None]


def failure_kind(error: BaseException) -> str:
    """The kind of a connection-level error, for `on_failure`."""
    if isinstance(error, (SMTPTimeoutError, TimeoutError)):
        return FAILURE_TIMEOUT
    if isinstance(error, SMTPResponseException):
        return refusal_kind(error.code)
    if isinstance(error, SMTPServerDisconnected):
        return FAILURE_LOST
    if isinstance(error, (SMTPConnectError, OSError)):
        return FAILURE_REFUSED
    return FAILURE_PROTOCOL


def refusal_kind(code: int) -> str:
    """The kind of an upstream answer that is not a success."""
    if 400 <= code < 500:
        return FAILURE_4XX
    if 500 <= code < 600:
        return FAILURE_5XX
    return FAILURE_PROTOCOL


def _ignore_failure(kind: str) -> None:
    return None


@dataclass(frozen=True)
class UpstreamAddress:
    """Where accepted mail goes: an SMTP server (plain, STARTTLS or implicit TLS) or a local maildir."""

    scheme: Scheme
    host: str = ""
    port: int = 0
    path: Path | None = None

    def __str__(self) -> str:
        if self.scheme == "maildir":
            return f"maildir:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_upstream(url: str) -> UpstreamAddress:
    """Parse `smtp://host:port`, `smtp+starttls://host:port`, `smtps://host:port` or `maildir:path`."""
    scheme, sep, rest = url.partition(":")
    if scheme == "maildir" and sep and rest:
        return UpstreamAddress("maildir", path=Path(rest))
    if scheme in ("smtp", "smtp+starttls", "smtps") and rest.startswith("//"):
        host, colon, port = rest[2:].rstrip("/").rpartition(":")
        if colon and host and port.isdigit():
            return UpstreamAddress(scheme, host=host.strip("[]"), port=int(port))  # type: ignore[arg-type]
    raise ValueError(f"not an upstream address: {url!r} (expected smtp://HOST:PORT, "
                     "smtp+starttls://HOST:PORT, smtps://HOST:PORT or maildir:PATH)")


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: the code and its text (an upstream's multi-line text keeps LF between lines)."""

    code: int
    text: str

    @classmethod
    def of(cls, line: str) -> "Reply":
        """A reply from one of the constants in proxy.replies ("451 4.4.1 ...")."""
        code, _, text = line.partition(" ")
        return cls(int(code), text)

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    def line(self) -> str:
        """The reply as the proxy writes it to its own client."""
        return replies.mirror(self.code, self.text)


@dataclass(frozen=True)
class RelayResult:
    """The outcome of relaying one message: the final answer plus each recipient the upstream refused."""

    reply: Reply
    accepted: tuple[str, ...] = ()
    refused: Mapping[str, Reply] = field(default_factory=dict)

    @property
    def delivered(self) -> bool:
        return self.reply.ok and bool(self.accepted)

    @property
    def temporary_failure(self) -> bool:
        """Nothing delivered, and trying again later may work (connection refused, timeout, 4xx)."""
        if self.delivered:
            return False
        if self.reply.temporary:
            return True
        return bool(self.refused) and all(r.temporary for r in self.refused.values())


class Transaction(Protocol):
    """One open upstream mail transaction, driven by the client's RCPT and DATA commands."""

    accepted: list[str]

    @property
    def open(self) -> bool:
        """Whether the upstream still holds this transaction (so it must be aborted if the client goes away)."""
        ...

    async def add_recipient(self, address: str) -> Reply: ...

    async def send(self, data: bytes) -> Reply: ...

    async def abort(self) -> None: ...


class Relay(Protocol):
    """An upstream: opens transactions with the client's envelope and delivers whole messages."""

    address: UpstreamAddress
    on_failure: FailureCallback

    async def begin(self, sender: str, *, smtputf8: bool = False, eight_bit: bool = False
                    ) -> tuple[Reply, Transaction | None]: ...

    async def close(self) -> None: ...


async def deliver(relay: Relay, sender: str, recipients: tuple[str, ...] | list[str], data: bytes, *,
                  smtputf8: bool = False, eight_bit: bool = False) -> RelayResult:
    """Relay a whole message in one go (used for released and deferred mail, where no client is waiting)."""
    reply, transaction = await relay.begin(sender, smtputf8=smtputf8, eight_bit=eight_bit)
    if transaction is None:
        return RelayResult(reply, (), {recipient: reply for recipient in recipients})
    refused: dict[str, Reply] = {}
    for recipient in recipients:
        answer = await transaction.add_recipient(recipient)
        if not answer.ok:
            refused[recipient] = answer
    if not transaction.accepted:
        await transaction.abort()
        first = next(iter(refused.values()), Reply.of(replies.REPLY_UPSTREAM_BAD_ANSWER))
        return RelayResult(first, (), refused)
    final = await transaction.send(data)
    return RelayResult(final, tuple(transaction.accepted), refused)


def _address_bytes(address: str) -> bytes:
    """The reverse- or forward-path exactly as the client gave it (aiosmtpd decodes with surrogateescape)."""
    if address == "<>":
        return b"<>"
    return b"<" + address.encode("utf-8", "surrogateescape") + b">"


class UpstreamUnavailable(Exception):
    """No usable upstream connection; carries the temporary reply for the client."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = Reply.of(reply)


@dataclass(eq=False)
class _Connection:
    smtp: aiosmtplib.SMTP
    last_used: float
    reused: bool = False  # taken from the pool rather than freshly connected


def _upstream_reply(code: int, text: str) -> Reply:
    """An upstream answer as our client should see it. 421 means the upstream is closing its connection to
    us, not that we close ours: pass it on as a temporary failure of this transaction."""
    if code == 421:
        return Reply(451, "4.4.2 Upstream closed the connection: " + text)
    return Reply(code, text)


class SmtpRelay:
    """SMTP upstream with a small pool of reused connections (RSET between aborted transactions, reconnect on loss)."""

    def __init__(self, address: UpstreamAddress, *, timeout: float, connections: int, local_hostname: str) -> None:
        self.address = address
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []  # most recently used last: reuse it first, let the oldest expire
        self._closed = False
        self.connections_opened = 0
        # Told the kind of every failed hand-off (set by the server to count them); never raises.
        self.on_failure: FailureCallback = _ignore_failure

    async def begin(self, sender: str, *, smtputf8: bool = False, eight_bit: bool = False
                    ) -> tuple[Reply, "SmtpTransaction | None"]:
        """Send MAIL FROM upstream; on success the returned transaction owns a pooled connection."""
        for attempt in range(2):
            try:
                connection = await self._acquire()
            except UpstreamUnavailable as error:
                return error.reply, None
            smtp = connection.smtp
            options: list[bytes] = []
            if smtputf8:
                if not smtp.supports_extension("smtputf8"):
                    self._release(connection)
                    return Reply.of(replies.REPLY_SMTPUTF8_UNSUPPORTED), None
                options.append(b"SMTPUTF8")
            if eight_bit:
                if not smtp.supports_extension("8bitmime"):
                    self._release(connection)
                    return Reply.of(replies.REPLY_8BITMIME_UNSUPPORTED), None
                options.append(b"BODY=8BITMIME")
            try:
                response = await smtp.execute_command(b"MAIL", b"FROM:" + _address_bytes(sender), *options)
            except ValueError:
                self._release(connection)
                return Reply.of(replies.REPLY_BAD_ADDRESS), None
            except _CONNECTION_ERRORS as error:
                reused = connection.reused
                self._discard(connection)
                if reused and attempt == 0:
                    continue  # the upstream closed an idle connection under us: one fresh try is safe
                self.on_failure(failure_kind(error))
                return Reply.of(replies.REPLY_UPSTREAM_LOST), None
            except SMTPResponseException:
                self._discard(connection)
                self.on_failure(FAILURE_PROTOCOL)
                return Reply.of(replies.REPLY_UPSTREAM_BAD_ANSWER), None
            except asyncio.CancelledError:
                self._discard(connection)  # the client went away mid-command: the upstream state is unknown
                raise
            reply = _upstream_reply(response.code, response.message)
            if reply.code != 250:
                self._release(connection)  # no transaction was opened, the connection stays usable
                self.on_failure(refusal_kind(reply.code))
                return reply, None
            return reply, SmtpTransaction(self, connection)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(self) -> _Connection:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError:
            self.on_failure(FAILURE_BUSY)
            raise UpstreamUnavailable(replies.REPLY_UPSTREAM_BUSY) from None
        try:
            now = time.monotonic()
            while self._idle:
                connection = self._idle.pop()
                try:
                    usable = connection.smtp.is_connected and (
                        now - connection.last_used < NOOP_AFTER_IDLE or await self._alive(connection))
                except BaseException:
                    connection.smtp.close()
                    raise
                if usable:
                    connection.reused = True
                    return connection
                connection.smtp.close()
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def _alive(self, connection: _Connection) -> bool:
        try:
            response = await connection.smtp.execute_command(b"NOOP", timeout=min(5.0, self._timeout))
        except (SMTPException, *_CONNECTION_ERRORS):
            return False
        return response.code == 250

    async def _connect(self) -> _Connection:
        smtp = aiosmtplib.SMTP(
            hostname=self.address.host,
            port=self.address.port,
            timeout=self._timeout,
            use_tls=self.address.scheme == "smtps",
            start_tls=self.address.scheme == "smtp+starttls",
            local_hostname=self._local_hostname,
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                try:
                    await smtp.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await smtp.helo()
        except (SMTPException, *_CONNECTION_ERRORS) as error:
            smtp.close()
            log.warning("upstream %s unavailable: %s", self.address, error)
            self.on_failure(failure_kind(error))
            raise UpstreamUnavailable(replies.REPLY_UPSTREAM_UNAVAILABLE) from None
        self.connections_opened += 1
        return _Connection(smtp, time.monotonic())

    def _release(self, connection: _Connection) -> None:
        """Return a connection that is outside any transaction to the pool."""
        now = time.monotonic()
        connection.last_used = now
        if self._closed or not connection.smtp.is_connected:
            connection.smtp.close()
        else:
            self._idle.append(connection)
            while self._idle and now - self._idle[0].last_used > MAX_IDLE:
                self._idle.pop(0).smtp.close()
        self._slots.release()

    def _discard(self, connection: _Connection) -> None:
        """Drop a connection whose state is unknown (lost, timed out, protocol confusion)."""
        connection.smtp.close()
        self._slots.release()

    async def close(self) -> None:
        """Close idle connections politely; transactions still open close theirs when they end."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await connection.smtp.quit(timeout=QUIT_TIMEOUT)
            except (SMTPException, *_CONNECTION_ERRORS):
                pass
            connection.smtp.close()
        await asyncio.sleep(0)  # let the transports run their close callbacks


class SmtpTransaction:
    """An upstream transaction opened by MAIL FROM; RCPT and DATA are forwarded as the client sends them."""

    def __init__(self, relay: SmtpRelay, connection: _Connection) -> None:
        self._relay = relay
        self._connection: _Connection | None = connection
        self._failure = Reply.of(replies.REPLY_UPSTREAM_LOST)
        self.accepted: list[str] = []

    @property
    def open(self) -> bool:
        return self._connection is not None

    async def add_recipient(self, address: str) -> Reply:
        connection = self._connection
        if connection is None:
            return self._failure
        try:
            response = await connection.smtp.execute_command(b"RCPT", b"TO:" + _address_bytes(address))
        except ValueError:
            return Reply.of(replies.REPLY_BAD_ADDRESS)
        except _CONNECTION_ERRORS as error:
            self._fail(replies.REPLY_UPSTREAM_LOST, failure_kind(error))
            return self._failure
        except SMTPResponseException:
            self._fail(replies.REPLY_UPSTREAM_BAD_ANSWER, FAILURE_PROTOCOL)
            return self._failure
        except asyncio.CancelledError:
            self._fail(replies.REPLY_UPSTREAM_LOST)
            raise
        reply = _upstream_reply(response.code, response.message)
        if reply.code in (250, 251):
            self.accepted.append(address)
        elif not connection.smtp.is_connected:  # 421: the upstream is closing the connection
            self._fail(replies.REPLY_UPSTREAM_LOST)
        return reply

    async def send(self, data: bytes) -> Reply:
        """DATA: the final reply of the upstream, which ends the transaction."""
        connection = self._connection
        if connection is None:
            return self._failure
        try:
            response = await connection.smtp.data(data)
        except aiosmtplib.SMTPDataError as error:
            # Refused at DATA or after the dot: mirror the upstream's answer; RSET in case 354 never came.
            self._relay.on_failure(refusal_kind(error.code))
            await self.abort()
            return _upstream_reply(error.code, error.message)
        except _CONNECTION_ERRORS as error:
            self._fail(replies.REPLY_UPSTREAM_LOST, failure_kind(error))
            return self._failure
        except SMTPResponseException:
            self._fail(replies.REPLY_UPSTREAM_BAD_ANSWER, FAILURE_PROTOCOL)
            return self._failure
        except asyncio.CancelledError:
            # Closing mid-DATA makes the upstream drop the partial message; the client retries.
            self._fail(replies.REPLY_UPSTREAM_LOST)
            raise
        self._connection = None
        self._relay._release(connection)
        return Reply(response.code, response.message)

    async def abort(self) -> None:
        """Cancel the upstream transaction (RSET) and give the connection back; idempotent."""
        connection = self._connection
        if connection is None:
            return
        self._connection = None
        try:
            response = await connection.smtp.execute_command(b"RSET", timeout=min(10.0, self._relay._timeout))
        except (SMTPException, *_CONNECTION_ERRORS, asyncio.CancelledError) as error:
            self._relay._discard(connection)
            if isinstance(error, asyncio.CancelledError):
                raise
            return
        if response.code == 250:
            self._relay._release(connection)
        else:
            self._relay._discard(connection)

    def _fail(self, reply: str, kind: str | None = None) -> None:
        connection, self._connection = self._connection, None
        self._failure = Reply.of(reply)
        if connection is not None:
            self._relay._discard(connection)
            if kind is not None:
                self._relay.on_failure(kind)


_maildir_sequence = itertools.count()
# Maildir names carry the host name with "/" and ":" escaped (they are special in maildir file names).
_MAILDIR_HOST = socket.gethostname().replace("/", "\\057").replace(":", "\\072")


def _maildir_name() -> str:
    """A unique maildir file name (time, microseconds, pid, counter, host) per the maildir conventions."""
    now = time.time()
    return f"{int(now)}.M{int(now % 1 * 1_000_000)}P{os.getpid()}Q{next(_maildir_sequence)}.{_MAILDIR_HOST}"


def ensure_maildir(path: Path) -> None:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def write_maildir(path: Path, data: bytes) -> str:
    """Write into tmp/, fsync, rename into new/ and fsync the directory: durable before the caller says 250."""
    name = _maildir_name()
    temporary = path / "tmp" / name
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.rename(temporary, path / "new" / name)
    directory = os.open(path / "new", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return name


class MaildirRelay:
    """Local maildir upstream: every recipient is accepted, the message is one file in new/."""

    def __init__(self, address: UpstreamAddress) -> None:
        assert address.path is not None
        self.address = address
        self.path = address.path
        self.on_failure: FailureCallback = _ignore_failure

    def ensure(self) -> None:
        ensure_maildir(self.path)

    async def begin(self, sender: str, *, smtputf8: bool = False, eight_bit: bool = False
                    ) -> tuple[Reply, "MaildirTransaction"]:
        return Reply.of(replies.REPLY_MAIL_OK), MaildirTransaction(self)

    async def close(self) -> None:
        return None


class MaildirTransaction:
    """Collects recipients; `send` writes the file off the event loop (fsync blocks)."""

    def __init__(self, relay: MaildirRelay) -> None:
        self._relay = relay
        self._path = relay.path
        self.accepted: list[str] = []

    @property
    def open(self) -> bool:
        return False  # nothing is held anywhere until `send` writes the file

    async def add_recipient(self, address: str) -> Reply:
        self.accepted.append(address)
        return Reply.of(replies.REPLY_RCPT_OK)

    async def send(self, data: bytes) -> Reply:
        try:
            name = await asyncio.to_thread(write_maildir, self._path, data)
        except OSError as error:
            log.error("maildir %s: cannot store message: %s", self._path, error.strerror or error)
            self._relay.on_failure(FAILURE_STORE)
            return Reply.of(replies.REPLY_LOCAL_STORE_FAILED)
        return Reply(250, f"2.0.0 Ok: stored as {name}")

    async def abort(self) -> None:
        return None


def make_relay(config: Config) -> SmtpRelay | MaildirRelay:
    """The upstream named by `proxy.upstream`."""
    address = parse_upstream(config.proxy.upstream)
    if address.scheme == "maildir":
        return MaildirRelay(address)
    return SmtpRelay(address, timeout=config.proxy.upstream_timeout,
                     connections=config.proxy.upstream_connections, local_hostname=config.proxy.hostname)
