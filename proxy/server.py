"""The SMTP service: an aiosmtpd server in the running loop, a thin handler, the pipeline, and the relay."""
from __future__ import annotations

import argparse
import asyncio
import functools
import ipaddress
import logging
import re
import secrets
import signal
import sqlite3
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import format_datetime, parseaddr
from typing import Any, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session, _AuthMechAttr, login_always_fail, syntax

from checks.model import Check
from checks.registry import Registry
from proxy import replies
from proxy.actions import Actions, OpenHolds, Submission, message_ids, smtp_options
from proxy.config import DEFAULT_TEAM, Config, ConfigError, TeamFile, load_config
from proxy.events import (
    VERDICT_AUDIT,
    VERDICT_DEFERRED,
    VERDICT_DELIVERED,
    VERDICT_HELD,
    VERDICT_OVERRIDDEN,
    VERDICT_REJECTED,
)
from proxy.metrics import Metrics, start_metrics_server
from proxy.pipeline import OVERRIDE_HEADER, Action, Decision, evaluate, prefilter
from proxy.recorder import Recorder
from proxy.relay import MaildirRelay, Relay, Reply, SmtpRelay, Transaction, make_relay
from proxy.release import KeyFileError, key_path, load_or_create_key, parse_release_address, release_base
from proxy.rulecheck import unknown_rule_problems
from proxy.scheduler import OutboxWorker, QueueGauges, Scheduler
from proxy.sdnotify import Notifier, watchdog_interval, watchdog_loop
from proxy.store import AsyncStore, SqliteStore

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


_date_cache: tuple[int, str] = (0, "")


def _date_now() -> str:
    """The current time as an RFC 5322 date, formatted once per second rather than once per message."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, format_datetime(datetime.fromtimestamp(second, timezone.utc)))
    return _date_cache[1]


def trace_header(helo: str | None, client_ip: str, hostname: str, protocol: str, message_id: str,
                 now: datetime | None = None) -> bytes:
    """The one header the proxy adds (RFC 5321 4.4 Received, folded like the common MTAs fold it)."""
    moment = format_datetime(now) if now is not None else _date_now()
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


# <local@domain> where both sides are dot-atoms: what RFC 5322 parsing would return unchanged. Linear: the
# character classes exclude the dots that separate their repetitions.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_PATH = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")

_FROM = b"from"
_OVERRIDE = OVERRIDE_HEADER.lower().encode("ascii")
_IN_REPLY_TO = b"in-reply-to"
_REFERENCES = b"references"
_WANTED_HEADERS = frozenset({_FROM, _OVERRIDE, _IN_REPLY_TO, _REFERENCES})


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class GuardEnvelope(Envelope):
    """aiosmtpd's envelope plus the upstream transaction opened for it, or the release token it carries."""

    def __init__(self) -> None:
        super().__init__()
        self.upstream: Transaction | None = None
        # MAIL accepted without opening the upstream yet (the sender has held mail and may be replying to
        # a bounce): the upstream transaction is opened at the first ordinary recipient.
        self.lazy_upstream = False
        # A reply to a bounce's release address: handled here at DATA, never relayed.
        self.release_token: str | None = None


class _InitRecipe:
    """What aiosmtpd's SMTP.__init__ works out by introspection, learned once per (protocol, handler) class pair.

    SMTP.__init__ runs inspect.getmembers() over the protocol and the handler for every connection, about
    0.2 ms: a sixth of the proxy's whole per-message cost. The answer only depends on the classes, so
    GuardSMTP computes it once and then sets up each new connection directly. The first fast set-up is
    compared with a real one; any difference (a newer aiosmtpd) switches back to SMTP.__init__ for good.
    """

    def __init__(self, sample: SMTP) -> None:
        self.auth = [(name, mechanism.method.__name__, mechanism.is_builtin)
                     for name, mechanism in sample._auth_methods.items()]
        self.hooks = list(sample._handle_hooks)
        self.commands = list(sample._smtp_methods)
        self.ehlo_hook_ver = sample._ehlo_hook_ver
        self.attributes = frozenset(vars(sample))
        self.verified = False
        self.usable = True


_RECIPES: dict[tuple[type, type], _InitRecipe] = {}


class GuardSMTP(SMTP):
    """aiosmtpd's protocol with the proxy's access control, precise size reply and graceful shutdown."""

    # RFC 5321 caps lines at 1000 octets, but real mail breaks that (9 of the 1,500 shared ham messages do) and a
    # relay that refuses them loses ordinary mail; accept long lines, bounded here and by max_message_size.
    line_length_limit = 1024 * 1024

    def __init__(self, handler: "GuardHandler", guard: "GuardServer", **kwargs: Any) -> None:
        self.guard = guard
        self.client_allowed = False
        self.last_reply = 0.0
        self._mail_pending = False
        self.pending_abort: asyncio.Task[None] | None = None
        key = (type(self), type(handler))
        recipe = _RECIPES.get(key)
        if recipe is None or not recipe.usable:
            super().__init__(handler, **kwargs)
            if recipe is None:
                _RECIPES[key] = _InitRecipe(self)
            return
        self._fast_init(handler, recipe, **kwargs)
        if not recipe.verified:
            recipe.verified = True
            if frozenset(vars(self)) != recipe.attributes:
                log.warning("aiosmtpd's SMTP set-up changed: using its own (slower) __init__")
                recipe.usable = False
                super().__init__(handler, **kwargs)

    def _fast_init(self, handler: "GuardHandler", recipe: _InitRecipe, *, hostname: str, ident: str,
                   data_size_limit: int, enable_SMTPUTF8: bool, decode_data: bool,
                   loop: asyncio.AbstractEventLoop, timeout: float = 300) -> None:
        """SMTP.__init__ for the options the proxy uses (no TLS, AUTH, PROXY protocol or call limits)."""
        self.__ident__ = ident
        self.loop = loop
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=loop, limit=self.line_length_limit),
            client_connected_cb=self._cb_client_connected, loop=loop)
        self.event_handler = handler
        self.data_size_limit = data_size_limit
        self.enable_SMTPUTF8 = enable_SMTPUTF8
        self._decode_data = decode_data
        self.command_size_limits.clear()
        self.hostname = hostname
        self.tls_context = None
        self.require_starttls = None
        self._timeout_duration = timeout
        self._timeout_handle = None
        self._tls_handshake_okay = True
        self._tls_protocol = None
        self._original_transport = None
        self.session = None
        self.envelope = None
        self.transport = None
        self._handler_coroutine = None
        self._auth_require_tls = True
        self._proxy_timeout = None
        self._authenticator = None
        self._auth_callback = login_always_fail
        self._auth_required = False
        self._auth_methods = {name: _AuthMechAttr(getattr(self if builtin else handler, attribute), builtin)
                              for name, attribute, builtin in recipe.auth}
        self._handle_hooks = {hook: getattr(handler, "handle_" + hook) for hook in recipe.hooks}
        self._ehlo_hook_ver = recipe.ehlo_hook_ver
        self._smtp_methods = {command: getattr(self, "smtp_" + command) for command in recipe.commands}
        self._enforce_call_limit = False

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
        elif isinstance(status, str) and status.startswith("500 Line too long"):
            status = replies.REPLY_LINE_TOO_LONG
        self.last_reply = self.loop.time()
        await super().push(status)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # aiosmtpd parses every MAIL/RCPT path with the email package's full RFC 5322 parser (~40 us each).
        # A plain <dot-atom@domain> means the same to both, so take it directly; anything else goes the long way.
        if arg and not self.local_part_limit:
            match = _SIMPLE_PATH.match(arg)
            # A comment after the path is CFWS the real parser would swallow: leave that case to it.
            if match is not None and "(" not in arg[match.end():]:
                return match[1], arg[match.end():].lstrip(" \t")
        return super()._getaddr(arg)

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
        if address in self.guard.holds:
            # This sender has mail held for review, so this may be a release reply, which must not open an
            # upstream transaction: decide at the first recipient. Everyone else keeps the mirrored MAIL.
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            envelope.lazy_upstream = True
            return replies.REPLY_MAIL_OK
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
        token = self.guard.release_token_of(address)
        if token is not None or envelope.release_token is not None:
            return await self._release_recipient(envelope, address, token)
        transaction = envelope.upstream
        if transaction is None:
            if not envelope.lazy_upstream or envelope.mail_from is None:
                return replies.REPLY_UPSTREAM_LOST
            reply, transaction = await self.guard.relay.begin(
                envelope.mail_from, smtputf8=envelope.smtp_utf8, eight_bit="BODY=8BITMIME" in envelope.mail_options)
            if transaction is None:
                return reply.line()
            envelope.upstream, envelope.lazy_upstream = transaction, False
        # Forwarded as the client sends it, so a recipient the upstream refuses is refused now, with its code.
        reply = await transaction.add_recipient(address)
        if reply.ok:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        return reply.line()

    async def _release_recipient(self, envelope: GuardEnvelope, address: str, token: str | None) -> str:
        """A release address is the only recipient of its transaction, and nothing of it goes upstream."""
        if token is None or (envelope.rcpt_tos and envelope.release_token is None):
            return replies.REPLY_RELEASE_SEPARATELY  # mixing a release reply with ordinary recipients
        if envelope.release_token is not None:
            return replies.REPLY_RELEASE_ONE_AT_A_TIME
        transaction, envelope.upstream, envelope.lazy_upstream = envelope.upstream, None, False
        if transaction is not None:
            await transaction.abort()
        envelope.release_token = token
        envelope.rcpt_tos.append(address)
        return replies.REPLY_RCPT_OK

    async def handle_DATA(self, server: GuardSMTP, session: Session, envelope: GuardEnvelope) -> str:
        started = time.perf_counter()
        message_id = new_message_id()
        raw = envelope.original_content or b""
        if envelope.release_token is not None:
            return await self._release(envelope, raw, message_id, started)
        team_name = "-"
        config = self.guard.config
        try:
            # Team by envelope sender first; the From header is looked at only when that finds no team
            # (same answer as team_for(None, sender, from), without scanning headers for most mail).
            team = config.team_for(None, envelope.mail_from)
            headers: dict[bytes, str] | None = None
            if team.name == DEFAULT_TEAM and self.guard.teams_have_senders:
                headers = header_fields(raw, _WANTED_HEADERS)
                team = config.team_for(None, envelope.mail_from, parseaddr(headers.get(_FROM, ""))[1])
            team_name = team.name
            # The configuration of this message throughout, even if a reload lands while it is being checked.
            decision = await self.guard.decide(raw, team, tuple(envelope.rcpt_tos), headers, config)
        except Exception as error:
            # One bad message must not end the session or lose mail: temporary failure, the client keeps it.
            _log_failure(message_id, team_name, "check failed", error)
            await self._abort(envelope)
            return replies.REPLY_CHECK_FAILED
        try:
            reply, verdict = await self.act(decision, team, session, envelope, message_id, raw)
        except Exception as error:
            _log_failure(message_id, team_name, "delivery failed", error)
            await self._abort(envelope)
            return replies.REPLY_LOCAL_ERROR
        log.info("id=%s team=%s verdict=%s rules=%s upstream=%s ms=%.1f", message_id, decision.team, verdict,
                 ",".join(decision.rules) or "-", reply[:3] if verdict != VERDICT_REJECTED else "-",
                 (time.perf_counter() - started) * 1000)
        return reply

    def _trace(self, session: Session, envelope: GuardEnvelope, message_id: str) -> bytes:
        protocol = ("UTF8SMTP" if envelope.smtp_utf8 else "ESMTP") if session.extended_smtp else "SMTP"
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        return trace_header(session.host_name, peer, self.guard.trace_hostname, protocol, message_id)

    async def act(self, decision: Decision, team: TeamFile, session: Session, envelope: GuardEnvelope,
                  message_id: str, raw: bytes) -> tuple[str, str]:
        """Carry out a decision; returns the SMTP reply and the verdict for the log."""
        actions = self.guard.actions
        if decision.action is Action.DELIVER:
            transaction = envelope.upstream
            envelope.upstream = None
            if transaction is None:
                return replies.REPLY_UPSTREAM_LOST, VERDICT_DELIVERED
            data = self._trace(session, envelope, message_id) + raw
            relay_started = time.perf_counter()
            answer: Reply = await transaction.send(data)
            self.guard.metrics.observe_relay(time.perf_counter() - relay_started)
            if decision.override_reason is not None:
                verdict = VERDICT_OVERRIDDEN
            elif decision.would_have is not None:
                verdict = VERDICT_AUDIT
            else:
                verdict = VERDICT_DELIVERED
            if answer.ok:  # recorded once it really went out; a 4xx is retried by the client and decided again
                actions.delivered(decision, verdict, envelope.mail_from or "<>", message_id, data)
            return answer.line(), verdict
        await self._abort(envelope)
        if decision.action is Action.REJECT:
            actions.record(decision, VERDICT_REJECTED)
            if decision.override_refused:
                return replies.REPLY_OVERRIDE_NEEDS_REASON, VERDICT_REJECTED
            return replies.rejection(decision.findings, message_id), VERDICT_REJECTED
        submission = self._submission(envelope, message_id, self._trace(session, envelope, message_id) + raw)
        if decision.action is Action.DEFER:
            return await actions.defer(decision, submission, team), VERDICT_DEFERRED
        # An override the team does not honour is ignored; the bounce says so.
        ignored = not team.allow_override and _OVERRIDE in header_fields(raw, frozenset({_OVERRIDE}))
        return await actions.hold(decision, submission, team, override_ignored=ignored), VERDICT_HELD

    @staticmethod
    def _submission(envelope: GuardEnvelope, message_id: str, data: bytes) -> Submission:
        return Submission(message_id, envelope.mail_from or "<>", tuple(envelope.rcpt_tos),
                          smtp_options(envelope.smtp_utf8, envelope.mail_options), data)

    async def _release(self, envelope: GuardEnvelope, raw: bytes, message_id: str, started: float) -> str:
        """DATA of a release reply: verified and carried out by Actions; nothing is relayed from here."""
        assert envelope.release_token is not None
        try:
            reply = await self.guard.actions.release_by_reply(envelope.release_token, envelope.mail_from or "",
                                                              raw, message_id)
        except Exception as error:
            _log_failure(message_id, "-", "release failed", error)
            return replies.REPLY_LOCAL_ERROR
        log.info("id=%s team=- verdict=release-reply reply=%s ms=%.1f", message_id, reply[:3],
                 (time.perf_counter() - started) * 1000)
        return reply

    async def _abort(self, envelope: GuardEnvelope) -> None:
        transaction, envelope.upstream = envelope.upstream, None
        if transaction is not None:
            await transaction.abort()

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default answer to a bug is a permanent 500, which would make clients bounce good mail.
        _log_failure("-", "-", "session error", error)
        return replies.REPLY_LOCAL_ERROR


def _log_failure(message_id: str, team: str, what: str, error: BaseException) -> None:
    """Log an unexpected error with the message id and where it happened; never the message or addresses."""
    frames = " < ".join(f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                        for frame in reversed(traceback.extract_tb(error.__traceback__)))
    log.error("id=%s team=%s verdict=error %s: %s at %s", message_id, team, what, type(error).__name__, frames)


class GuardServer:
    """The proxy service: listening socket, sessions, worker threads for checks, and the upstream relay."""

    def __init__(self, config: Config, *, checks: list[Check] | None = None, relay: Relay | None = None,
                 evaluator: Evaluator = evaluate, clock: Callable[[], datetime] | None = None) -> None:
        self.config = config
        # The clock of every time-dependent step (hold times, due times, expiry, token expiry, retries):
        # tests replace it to move time forward.
        self.now: Callable[[], datetime] = clock or _utcnow
        self.store: AsyncStore | None = None  # opened by start()
        self.release_key = b""
        self.release_base: tuple[str, str] = ("", "")
        self._release_prefix = ""
        self._release_suffix = ""
        self.holds = OpenHolds()
        self.recorder = Recorder()
        # Always counted (a dict lookup and an increment per message); served only when [metrics] listen is set.
        self.metrics = Metrics()
        self.metrics_server: asyncio.Server | None = None
        self.actions = Actions(self)
        self.outbox = OutboxWorker(self)
        self.scheduler = Scheduler(self)
        self.queue_gauges = QueueGauges(self)
        if checks is None:
            from checks.registry import default_registry

            checks = list(default_registry())
        self.checks = checks
        self.relay: Relay = relay if relay is not None else make_relay(config)
        self.relay.on_failure = self.metrics.upstream_error
        self.evaluator = evaluator
        self.sessions: set[GuardSMTP] = set()
        self.draining = False
        self.stopped = False
        self.checks_in_progress = 0  # full checks running in worker threads right now
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._allowed_cache: dict[str, bool] = {}
        self.teams_have_senders = False
        self.trace_hostname = ""
        self._derive(config)
        self._handler = GuardHandler(self)
        self._executor = ThreadPoolExecutor(max_workers=CHECK_WORKERS, thread_name_prefix="oopsguard-check")
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reload_lock: asyncio.Lock | None = None  # made in the running loop, at the first reload
        self.address: tuple[str, int] = ("", 0)  # where the SMTP service listens, once started

    def _derive(self, config: Config) -> None:
        """Values worked out once per configuration rather than once per connection or message."""
        self._networks = [ipaddress.ip_network(network, strict=False) for network in config.proxy.allowed_clients]
        self._allowed_cache = {}
        self.teams_have_senders = any(team.senders for team in config.teams.values())
        self.trace_hostname = _printable(config.proxy.hostname)
        self.release_base = release_base(config)
        local, domain = self.release_base
        self._release_prefix = local.lower() + "+"
        self._release_suffix = "@" + domain.lower()

    def release_token_of(self, address: str) -> str | None:
        """The token when `address` is one of our release addresses, else None (cheap for every other address)."""
        lowered = address.lower()
        if not (lowered.endswith(self._release_suffix) and lowered.startswith(self._release_prefix)):
            return None
        return parse_release_address(address, self.release_base[0])

    def reload(self, config: Config) -> None:
        """Apply a new configuration (SIGHUP) to new sessions and messages without dropping connections.

        Everything reads `self.config` when it needs it (team lookup, classifier settings, team rule
        severities, bounce and release settings, hold_days, limits for new sessions), so replacing it here
        and re-deriving the cached values is the whole switch. A message whose DATA is being checked keeps
        the configuration it started with.
        """
        old = self.config
        if config.proxy.listen != old.proxy.listen:
            log.warning("proxy.listen changed to %s: restart the service to listen there", config.proxy.listen)
        if (config.main.store.path, config.main.store.key_file) != (old.main.store.path, old.main.store.key_file):
            log.warning("store.path or store.key_file changed: restart the service to use them")
        self.config = config
        self._derive(config)
        relay_settings = ("upstream", "upstream_timeout", "upstream_connections", "hostname")
        if any(getattr(config.proxy, name) != getattr(old.proxy, name) for name in relay_settings):
            old_relay, self.relay = self.relay, make_relay(config)
            self.relay.on_failure = self.metrics.upstream_error
            if isinstance(self.relay, MaildirRelay):
                self.relay.ensure()
            # Transactions in flight keep their connections; the old pool closes each one as it comes back.
            self.spawn(old_relay.close())
        if config.main.metrics.listen != old.main.metrics.listen and self._server is not None:
            self.spawn(self._restart_metrics())
        log.info("configuration reloaded (%d teams, upstream %s)", len(config.teams), self.relay.address)

    async def reload_from_disk(self) -> bool:
        """Re-read the configuration directory and apply it; on any problem keep the running one.

        Every problem is logged as `file: key: reason`. Returns whether the new configuration is in force.
        """
        if self._reload_lock is None:
            self._reload_lock = asyncio.Lock()
        async with self._reload_lock:  # two quick SIGHUPs apply one after the other, never interleaved
            if self.draining:
                log.warning("reload ignored: the service is shutting down")
                return False
            try:
                config = await asyncio.to_thread(load_config, self.config.directory)
                problems = unknown_rule_problems(config, Registry(self.checks))
            except ConfigError as error:
                problems = error.problems
            except Exception as error:  # whatever it is, a reload must never take the running service down
                problems = [f"{self.config.directory}: (reload): {type(error).__name__}: {error}"]
            if problems:
                for problem in problems:
                    log.error("reload refused, keeping the running configuration: %s", problem)
                return False
            self.reload(config)
            return True

    async def _start_metrics(self) -> None:
        listen = self.config.main.metrics.listen
        if not listen:
            return
        host, _, port = listen.rpartition(":")
        self.metrics_server = await start_metrics_server(self.metrics, host.strip("[]"), int(port))

    async def _stop_metrics(self) -> None:
        server, self.metrics_server = self.metrics_server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _restart_metrics(self) -> None:
        """[metrics] listen changed on reload: move the endpoint (a scraper's connection in progress finishes)."""
        await self._stop_metrics()
        try:
            await self._start_metrics()
            self.queue_gauges.wake()  # the gauges were not kept while nobody could scrape them
        except OSError as error:
            log.error("metrics.listen %s: cannot listen: %s", self.config.main.metrics.listen,
                      error.strerror or error)

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where the metrics endpoint listens (None when off)."""
        if self.metrics_server is None or not self.metrics_server.sockets:
            return None
        bound = self.metrics_server.sockets[0].getsockname()
        return bound[0], bound[1]

    def client_allowed(self, peer: Any) -> bool:
        if not isinstance(peer, tuple) or not peer:
            return False
        text = str(peer[0])
        known = self._allowed_cache.get(text)
        if known is not None:
            return known
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        allowed = any(address in network for network in self._networks)
        if len(self._allowed_cache) > 10_000:  # bounded: many distinct outsiders must not grow memory
            self._allowed_cache.clear()
        self._allowed_cache[text] = allowed
        return allowed

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run a background coroutine, keeping a reference so it is neither collected nor forgotten at stop."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def decide(self, raw: bytes, team: TeamFile, recipients: tuple[str, ...],
                     headers: dict[bytes, str] | None = None, config: Config | None = None) -> Decision:
        """Pre-filter inline when cheap; otherwise (candidates, big messages) run the pipeline in a worker thread."""
        if config is None:
            config = self.config
        prefiltered = None
        if len(raw) <= INLINE_PREFILTER_LIMIT and self.evaluator is evaluate:
            outcome = prefilter(raw, config, team)
            if isinstance(outcome, Decision):
                return outcome
            prefiltered = outcome  # the worker reuses what the funnel found
        if headers is None:
            headers = header_fields(raw, _WANTED_HEADERS)
        # None when there is no override header; "" when it is there but empty (refused if it would matter).
        override = headers.get(_OVERRIDE)
        if override is not None:
            override = override.strip()
        # A follow-up: when did its thread's first oops notice go out (the same-day-solution rule needs it)?
        thread_keys = list(dict.fromkeys(message_ids(headers.get(_IN_REPLY_TO, ""))
                                         + message_ids(headers.get(_REFERENCES, ""))))
        first_notice = await self.actions.first_notice(thread_keys) if thread_keys else None
        extra = {"prefiltered": prefiltered} if prefiltered is not None else {}
        work = functools.partial(self.evaluator, raw, config, self.checks, team,
                                 envelope_recipients=recipients, override_reason=override,
                                 thread_first_notice=first_notice, **extra)
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
        """Open the store, start the workers, then listen on `proxy.listen` (port 0 picks a free port).

        Returns the address actually bound. Raises OSError, sqlite3.Error or KeyFileError when the maildir,
        the store or the release key cannot be used.
        """
        if isinstance(self.relay, MaildirRelay):
            self.relay.ensure()
        store = self.config.main.store
        self.store = AsyncStore(await asyncio.to_thread(SqliteStore, store.path))
        self.release_key = await asyncio.to_thread(load_or_create_key, key_path(self.config))
        await self.holds.refresh(self.store)
        self.recorder.start(self.store)
        self.outbox.start()
        self.scheduler.start()
        self.queue_gauges.start()
        # Before listening, so no new hold can race with it: bounces lost by a crash after their 250.
        await self.actions.recover_notices()
        await self._start_metrics()
        host, _, port = self.config.proxy.listen.rpartition(":")
        self._server = await asyncio.get_running_loop().create_server(
            self._make_protocol, host=host.strip("[]"), port=int(port))
        bound = self._server.sockets[0].getsockname()
        self.address = (bound[0], bound[1])
        return self.address

    async def settle(self) -> None:
        """Finish background work now: bounces being built, events not yet written, due outbox items.

        For tests and shutdown; the workers do the same on their own a moment later.
        """
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.recorder.flush()
        if self.store is not None:
            await self.outbox.run_once()

    async def stop(self, grace: float = DEFAULT_GRACE) -> None:
        """Stop accepting, let transactions in flight finish (up to `grace` seconds), then close everything."""
        if self.stopped:
            return
        self.stopped = True
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
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.queue_gauges.stop()
        await self.scheduler.stop()
        await self.outbox.stop()
        while self._tasks:  # what the last passes spawned
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.recorder.stop()
        if self.store is not None:
            await self.store.aclose()
        if self._server is not None:
            await self._server.wait_closed()
        await self._stop_metrics()  # last: a scrape during the drain still answers
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


def _status(server: GuardServer, address: str) -> str:
    """The one-line STATUS systemd shows for the service."""
    return f"listening on {address}, {len(server.config.teams)} teams, upstream {server.relay.address}"


async def _reload(server: GuardServer, notifier: Notifier, address: str, lock: asyncio.Lock) -> None:
    """SIGHUP: RELOADING=1, re-read the configuration, READY=1 (also when the new one was refused)."""
    async with lock:  # a second SIGHUP waits, so systemd sees RELOADING, READY, RELOADING, READY
        if server.draining:  # after STOPPING=1 there is nothing to reload and READY=1 would be wrong
            log.warning("reload ignored: the service is shutting down")
            return
        notifier.reloading()
        applied = await server.reload_from_disk()
        status = _status(server, address)
        notifier.ready(status=status if applied else f"{status}; last reload refused, see the log")


async def _serve(config: Config, grace: float) -> int:
    notifier = Notifier()
    server = GuardServer(config)
    try:
        host, port = await server.start()
    except (OSError, sqlite3.Error, KeyFileError) as error:
        # Port in use, maildir or store not writable, release key unreadable: one line, exit 2.
        print(f"oopsguard: cannot start: {error}", file=sys.stderr)
        await server.stop(0)
        notifier.close()
        return 2
    address = f"{f'[{host}]' if ':' in host else host}:{port}"
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    reload_lock = asyncio.Lock()
    loop.add_signal_handler(signal.SIGHUP, lambda: server.spawn(_reload(server, notifier, address, reload_lock)))
    # Only now say so: whoever waits for this line may signal at once (SIGHUP's default action is to exit).
    log.info("listening on %s (upstream %s)", address, server.relay.address)
    notifier.ready(status=_status(server, address))
    interval = watchdog_interval() if notifier.enabled else None
    # Pinged from the event loop itself: if the loop stalls, the pings stop and systemd restarts the service.
    watchdog = loop.create_task(watchdog_loop(notifier, interval), name="oopsguard-watchdog") if interval else None
    try:
        await stopping.wait()
        notifier.notify(STOPPING=1, STATUS=f"finishing {len(server.sessions)} sessions in flight")
        await server.stop(grace)
    finally:
        if watchdog is not None:
            watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
        notifier.close()
    log.info("stopped")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    """`oopsguard serve`: run until SIGTERM/SIGINT, then drain and exit 0."""
    from proxy.cli import EXIT_USAGE, load_or_exit
    from proxy.rulecheck import unknown_rule_problems

    config = load_or_exit(args.config)
    problems = unknown_rule_problems(config)
    for problem in problems:  # same verdict as `oopsguard config check`: a typo in a rule id is not ignored
        print(f"oopsguard: config error: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    _configure_logging()
    try:
        import uvloop  # the faster event loop: about 1.3x the relay throughput of asyncio's own loop here
    except ImportError:
        return asyncio.run(_serve(config, DEFAULT_GRACE))
    return uvloop.run(_serve(config, DEFAULT_GRACE))
