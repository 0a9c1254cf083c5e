"""The SMTP service: an aiosmtpd server in the running loop, a thin handler, the pipeline, and the relay."""
from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import logging
import secrets
import signal
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import format_datetime, parseaddr
from typing import Any, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from checks.model import Check
from proxy import replies
from proxy.config import Config
from proxy.events import VERDICT_AUDIT, VERDICT_DELIVERED, VERDICT_OVERRIDDEN, VERDICT_REJECTED
from proxy.pipeline import OVERRIDE_HEADER, Action, Decision, evaluate, prefilter
from proxy.relay import MaildirRelay, Relay, Reply, SmtpRelay, Transaction, make_relay

log = logging.getLogger("oopsguard.proxy")

# Messages up to this size are pre-filtered on the event loop (a fraction of a millisecond); larger ones,
# and every candidate for the full check, go to a worker thread so no session waits on another's message.
INLINE_PREFILTER_LIMIT = 256 * 1024
CHECK_WORKERS = 4
# Header fields are looked for in at most this much of the message: bounds the cost of a hostile header block.
HEADER_SCAN_LIMIT = 256 * 1024
# After shutdown starts, a session with no transaction open for this long is told 421 and closed.
DRAIN_IDLE = 1.0
DEFAULT_GRACE = 30.0
SERVER_IDENT = "oopsguard ESMTP"

Evaluator = Callable[..., Decision]


def new_message_id() -> str:
    """A short random id for one message, shown in the trace header, the logs and the replies."""
    return secrets.token_hex(6)


def _printable(text: str, limit: int = 255) -> str:
    """Client-supplied text made safe for a header comment: printable ASCII without parentheses."""
    cleaned = "".join(ch for ch in text if "!" <= ch <= "~" and ch not in "()\\")
    return cleaned[:limit] or "unknown"


def trace_header(helo: str | None, client_ip: str, hostname: str, protocol: str, message_id: str,
                 now: datetime | None = None) -> bytes:
    """The one header the proxy adds (RFC 5321 4.4 Received, folded like the common MTAs fold it)."""
    moment = format_datetime(now or datetime.now(timezone.utc))
    return (f"Received: from {_printable(helo or '')} ({_printable(client_ip)})\r\n"
            f"\tby {hostname} (oopsguard) with {protocol} id {message_id};\r\n"
            f"\t{moment}\r\n").encode("ascii")


def header_fields(raw: bytes, wanted: frozenset[bytes]) -> dict[bytes, str]:
    """The first occurrence of each wanted header (lower-case names), unfolded; a cheap scan, not a parse."""
    head = raw[:HEADER_SCAN_LIMIT]
    ends = [index for index in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if index != -1]
    head = head[:min(ends)] if ends else head
    found: dict[bytes, str] = {}
    current: bytes | None = None
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                found[current] += " " + line.strip().decode("utf-8", "replace")
            continue
        current = None
        name, colon, value = line.partition(b":")
        key = name.strip().lower()
        if colon and key in wanted and key not in found:
            found[key] = value.strip().decode("utf-8", "replace")
            current = key
    return found


_FROM = b"from"
_OVERRIDE = OVERRIDE_HEADER.lower().encode("ascii")
_WANTED_HEADERS = frozenset({_FROM, _OVERRIDE})


class GuardEnvelope(Envelope):
    """aiosmtpd's envelope plus the upstream transaction opened for it."""

    def __init__(self) -> None:
        super().__init__()
        self.upstream: Transaction | None = None


class GuardSMTP(SMTP):
    """aiosmtpd's protocol with the proxy's access control, precise size reply and graceful shutdown."""

    def __init__(self, handler: "GuardHandler", guard: "GuardServer", **kwargs: Any) -> None:
        self.guard = guard
        self.client_allowed = False
        self.last_reply = 0.0
        self._mail_pending = False
        self.pending_abort: asyncio.Task[None] | None = None
        super().__init__(handler, **kwargs)

    # --- connection bookkeeping ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            assert self.session is not None
            self.client_allowed = self.guard.client_allowed(self.session.peer)
            self.last_reply = self.loop.time()
            self.guard.sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._abandon_transaction()
        self.guard.sessions.discard(self)
        super().connection_lost(error)

    def _create_envelope(self) -> GuardEnvelope:
        return GuardEnvelope()

    def _set_post_data_state(self) -> None:
        # Called on RSET, HELO/EHLO, after DATA (also after a refused, too big DATA): whatever transaction the
        # old envelope still holds upstream must be cancelled, or the pooled connection would stay stuck.
        self._abandon_transaction()
        super()._set_post_data_state()

    def _abandon_transaction(self) -> None:
        envelope = self.envelope
        if isinstance(envelope, GuardEnvelope) and envelope.upstream is not None:
            transaction, envelope.upstream = envelope.upstream, None
            if transaction.open:
                # Cannot await here (aiosmtpd calls this synchronously); the next MAIL waits for it instead,
                # so the reset connection is back in the pool and gets reused.
                self.pending_abort = self.guard.spawn(transaction.abort())

    @property
    def in_transaction(self) -> bool:
        """MAIL FROM given (or being relayed) and the message not yet answered."""
        envelope = self.envelope
        return self._mail_pending or (envelope is not None and envelope.mail_from is not None)

    def shut_down(self, force: bool = False) -> None:
        """Tell the client the service is going away (RFC 5321 3.8) and close; `force` drops unsent output."""
        transport = self.transport
        if transport is None:
            return
        if force:
            transport.abort()  # type: ignore[attr-defined]
        elif not transport.is_closing():
            transport.write(replies.REPLY_SHUTTING_DOWN.encode("ascii") + b"\r\n")  # type: ignore[attr-defined]
            transport.close()

    async def push(self, status: str | bytes) -> None:
        # aiosmtpd words its size refusals itself (at MAIL SIZE= and at DATA); give the standard status code.
        if isinstance(status, str) and status.startswith("552 Error"):
            status = replies.REPLY_TOO_BIG
        self.last_reply = self.loop.time()
        await super().push(status)

    # --- commands that outsiders and a draining server refuse ---------------------------------------

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if not self.client_allowed:
            await self.push(replies.REPLY_NOT_ALLOWED)
            return
        if self.guard.draining:
            await self.push(replies.REPLY_SHUTTING_DOWN)
            if self.transport is not None:
                self.transport.close()
            return
        self._mail_pending = True
        try:
            await super().smtp_MAIL(arg)
        finally:
            self._mail_pending = False

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        if not self.client_allowed:
            await self.push(replies.REPLY_NOT_ALLOWED)
            return
        await super().smtp_RCPT(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if not self.client_allowed:
            await self.push(replies.REPLY_NOT_ALLOWED)
            return
        await super().smtp_DATA(arg)

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str) -> None:
        if not self.client_allowed:
            await self.push(replies.REPLY_NOT_ALLOWED)
            return
        await super().smtp_VRFY(arg)


class GuardHandler:
    """The aiosmtpd hooks: envelope mirrored upstream as it arrives, then check, decide and act at DATA."""

    def __init__(self, guard: "GuardServer") -> None:
        self.guard = guard

    async def handle_MAIL(self, server: GuardSMTP, session: Session, envelope: GuardEnvelope, address: str,
                          mail_options: list[str]) -> str:
        if server.pending_abort is not None:
            pending, server.pending_abort = server.pending_abort, None
            await pending
        smtputf8 = envelope.smtp_utf8
        if not smtputf8 and not address.isascii():
            return replies.REPLY_NEEDS_SMTPUTF8
        reply, transaction = await self.guard.relay.begin(
            address, smtputf8=smtputf8, eight_bit="BODY=8BITMIME" in mail_options)
        if transaction is not None:
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            envelope.upstream = transaction
        return reply.line()

    async def handle_RCPT(self, server: GuardSMTP, session: Session, envelope: GuardEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.guard.config.proxy.max_recipients:
            return replies.REPLY_TOO_MANY_RCPTS
        if not envelope.smtp_utf8 and not address.isascii():
            return replies.REPLY_NEEDS_SMTPUTF8
        transaction = envelope.upstream
        if transaction is None:
            return replies.REPLY_UPSTREAM_LOST
        # Forwarded as the client sends it, so a recipient the upstream refuses is refused now, with its code.
        reply = await transaction.add_recipient(address)
        if reply.ok:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply.line()

    async def handle_DATA(self, server: GuardSMTP, session: Session, envelope: GuardEnvelope) -> str:
        started = time.perf_counter()
        message_id = new_message_id()
        raw = envelope.original_content or b""
        team_name = "-"
        try:
            headers = header_fields(raw, _WANTED_HEADERS)
            team = self.guard.config.team_for(None, envelope.mail_from, parseaddr(headers.get(_FROM, ""))[1])
            team_name = team.name
            override = headers.get(_OVERRIDE, "").strip() or None
            decision = await self.guard.decide(raw, team, tuple(envelope.rcpt_tos), override)
        except Exception as error:
            # One bad message must not end the session or lose mail: temporary failure, the client keeps it.
            frames = " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                                for frame in reversed(traceback.extract_tb(error.__traceback__)))
            log.error("id=%s team=%s verdict=error check failed: %s at %s", message_id, team_name,
                      type(error).__name__, frames)
            await self._abort(envelope)
            return replies.REPLY_CHECK_FAILED
        reply, verdict = await self.act(decision, server, session, envelope, message_id, raw)
        log.info("id=%s team=%s verdict=%s rules=%s upstream=%s ms=%.1f", message_id, decision.team, verdict,
                 ",".join(decision.rules) or "-", reply[:3] if verdict != VERDICT_REJECTED else "-",
                 (time.perf_counter() - started) * 1000)
        return reply

    async def act(self, decision: Decision, server: GuardSMTP, session: Session, envelope: GuardEnvelope,
                  message_id: str, raw: bytes) -> tuple[str, str]:
        """Carry out a decision; returns the SMTP reply and the verdict for the log."""
        if decision.action is Action.DELIVER:
            transaction = envelope.upstream
            envelope.upstream = None
            if transaction is None:
                return replies.REPLY_UPSTREAM_LOST, VERDICT_DELIVERED
            protocol = ("UTF8SMTP" if envelope.smtp_utf8 else "ESMTP") if session.extended_smtp else "SMTP"
            peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
            trace = trace_header(session.host_name, peer, self.guard.config.proxy.hostname, protocol, message_id)
            answer: Reply = await transaction.send(trace + raw)
            if decision.override_reason is not None:
                verdict = VERDICT_OVERRIDDEN
            elif decision.would_have is not None:
                verdict = VERDICT_AUDIT
            else:
                verdict = VERDICT_DELIVERED
            return answer.line(), verdict
        # HOLD and DEFER: this is where the store (proxy/store.py) will keep the message durably and answer
        # replies.held(id) / replies.deferred(id, when). Until it is wired in, they are refused like
        # on_block = "reject": nothing may be acknowledged that was neither relayed nor durably stored.
        await self._abort(envelope)
        return replies.rejection(decision.findings, message_id, deferred_only=decision.action is Action.DEFER), \
            VERDICT_REJECTED

    async def _abort(self, envelope: GuardEnvelope) -> None:
        transaction, envelope.upstream = envelope.upstream, None
        if transaction is not None:
            await transaction.abort()


class GuardServer:
    """The proxy service: listening socket, sessions, worker threads for checks, and the upstream relay."""

    def __init__(self, config: Config, *, checks: list[Check] | None = None, relay: Relay | None = None,
                 evaluator: Evaluator = evaluate) -> None:
        self.config = config
        if checks is None:
            from checks.registry import default_registry

            checks = list(default_registry())
        self.checks = checks
        self.relay: Relay = relay if relay is not None else make_relay(config)
        self.evaluator = evaluator
        self.sessions: set[GuardSMTP] = set()
        self.draining = False
        self.checks_in_progress = 0  # full checks running in worker threads right now
        self._networks = [ipaddress.ip_network(network, strict=False) for network in config.proxy.allowed_clients]
        self._handler = GuardHandler(self)
        self._executor = ThreadPoolExecutor(max_workers=CHECK_WORKERS, thread_name_prefix="oopsguard-check")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def client_allowed(self, peer: Any) -> bool:
        if not isinstance(peer, tuple) or not peer:
            return False
        try:
            address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self._networks)

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run a background coroutine, keeping a reference so it is neither collected nor forgotten at stop."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def decide(self, raw: bytes, team: Any, recipients: tuple[str, ...], override: str | None) -> Decision:
        """Pre-filter inline when cheap; otherwise (candidates, big messages) run the pipeline in a worker thread."""
        if len(raw) <= INLINE_PREFILTER_LIMIT and self.evaluator is evaluate:
            ordinary = prefilter(raw, self.config, team)
            if ordinary is not None:
                return ordinary
        work = functools.partial(self.evaluator, raw, self.config, self.checks, team,
                                 envelope_recipients=recipients, override_reason=override)
        self.checks_in_progress += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self.checks_in_progress -= 1

    def _make_protocol(self) -> GuardSMTP:
        proxy = self.config.proxy
        return GuardSMTP(
            self._handler,
            self,
            hostname=proxy.hostname,
            ident=SERVER_IDENT,
            data_size_limit=proxy.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            loop=asyncio.get_running_loop(),
        )

    async def start(self) -> tuple[str, int]:
        """Listen on `proxy.listen` (port 0 picks a free port); returns the address actually bound."""
        if isinstance(self.relay, MaildirRelay):
            self.relay.ensure()
        host, _, port = self.config.proxy.listen.rpartition(":")
        self._server = await asyncio.get_running_loop().create_server(
            self._make_protocol, host=host.strip("[]"), port=int(port))
        bound = self._server.sockets[0].getsockname()
        return bound[0], bound[1]

    async def stop(self, grace: float = DEFAULT_GRACE) -> None:
        """Stop accepting, let transactions in flight finish (up to `grace` seconds), then close everything."""
        self.draining = True
        if self._server is not None:
            self._server.close()
        log.info("stopped listening; finishing %d sessions in flight (up to %.0f s)", len(self.sessions), grace)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.sessions and loop.time() < deadline:
            now = loop.time()
            for session in list(self.sessions):
                if not session.in_transaction and now - session.last_reply >= DRAIN_IDLE:
                    session.shut_down()
            await asyncio.sleep(0.05)
        if self.sessions:
            log.warning("closing %d sessions still open after %.0f s", len(self.sessions), grace)
        for session in list(self.sessions):
            session.shut_down()
        closing_deadline = loop.time() + 2.0
        while self.sessions:  # connection_lost runs once the 421 is flushed; a client that reads nothing is cut
            if loop.time() > closing_deadline:
                for session in list(self.sessions):
                    session.shut_down(force=True)
            await asyncio.sleep(0.01)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        await self.relay.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        await asyncio.sleep(0)

    @property
    def upstream_connections_opened(self) -> int:
        return self.relay.connections_opened if isinstance(self.relay, SmtpRelay) else 0


def _configure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every peer, sender and recipient at INFO: keep addresses out of the log.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


async def _serve(config: Config, grace: float) -> int:
    server = GuardServer(config)
    host, port = await server.start()
    log.info("listening on %s:%d (upstream %s)", f"[{host}]" if ":" in host else host, port, server.relay.address)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(grace)
    log.info("stopped")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """`oopsguard serve`: run until SIGTERM/SIGINT, then drain and exit 0."""
    from proxy.cli import load_or_exit

    config = load_or_exit(args.config)
    _configure_logging()
    try:
        import uvloop  # the faster event loop: about 1.3x the relay throughput of asyncio's own loop here
    except ImportError:
        return asyncio.run(_serve(config, DEFAULT_GRACE))
    return uvloop.run(_serve(config, DEFAULT_GRACE))
