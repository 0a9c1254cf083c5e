"""Acting on decisions off the SMTP handler: hold, defer, release by reply, fixes, bounces, notices and events."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Sequence
from zoneinfo import ZoneInfo

import regex

from checks.dates import add_working_days
from checks.message import decode_header_value, parse_message
from proxy import replies
from proxy.bounce import (
    build_bounce,
    build_notice,
    clean_header_text,
    deferred_notice_text,
    expiry_notice_text,
    mail_options_for,
    original_headers,
    release_confirmation_text,
    should_bounce,
)
from proxy.config import Config, TeamFile
from proxy.events import (
    VERDICT_DEFERRED,
    VERDICT_EXPIRED,
    VERDICT_FIXED,
    VERDICT_HELD,
    VERDICT_OVERRIDDEN,
    VERDICT_REJECTED,
    Event,
)
from proxy.pipeline import Decision
from proxy.release import (
    REASON_BAD_SIGNATURE,
    REASON_EXPIRED,
    REASON_WRONG_SENDER,
    make_token,
    release_address,
    release_reason_from_reply,
    verify_token,
)
from proxy.store import AsyncStore, HeldMessage, Outgoing

if TYPE_CHECKING:
    from proxy.server import GuardServer

log = logging.getLogger("oopsguard.actions")

NULL_SENDER = "<>"
DEFER_HOUR = time(9, 0)
# Thread keys looked at in a References header: the root and the most recent ones are what matter.
MAX_REFERENCES = 20
_MESSAGE_ID = regex.compile(r"<[^<>\s]{1,250}>")

_REFUSALS = {
    REASON_BAD_SIGNATURE: replies.REPLY_RELEASE_FORGED,
    REASON_EXPIRED: replies.REPLY_RELEASE_EXPIRED,
    REASON_WRONG_SENDER: replies.REPLY_RELEASE_WRONG_SENDER,
}


@dataclass(frozen=True)
class Submission:
    """One message as the client handed it over: our id, the envelope, and the bytes to relay (trace included)."""

    message_id: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    mail_options: tuple[str, ...]  # only what relaying needs again: SMTPUTF8, BODY=8BITMIME
    data: bytes                    # trace header + the message exactly as received


@dataclass(frozen=True)
class MessageKeys:
    """What ties a message to others: subject and thread ids."""

    subject: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]

    @property
    def thread_root(self) -> str:
        return (self.references[0] if self.references else "") or self.in_reply_to or self.message_id

    @property
    def thread_keys(self) -> tuple[str, ...]:
        return tuple(key for key in (self.message_id, self.in_reply_to, *self.references) if key)


def message_ids(value: str) -> tuple[str, ...]:
    """The <id> tokens of a Message-ID, In-Reply-To or References value (root and newest kept when long)."""
    found = _MESSAGE_ID.findall(value or "")
    if len(found) > MAX_REFERENCES:
        found = found[:1] + found[-(MAX_REFERENCES - 1):]
    return tuple(found)


def keys_from_headers(raw: bytes) -> MessageKeys:
    """Subject and thread ids from a header-only parse (for messages the full check never parsed)."""
    headers = original_headers(raw)
    message_id = message_ids(str(headers.get("Message-ID", "")))
    in_reply_to = message_ids(str(headers.get("In-Reply-To", "")))
    return MessageKeys(
        subject=decode_header_value(headers.get("Subject", "")),
        message_id=message_id[0] if message_id else "",
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=message_ids(str(headers.get("References", ""))),
    )


def keys_for(decision: Decision, data: bytes) -> MessageKeys:
    report = decision.report
    if report is None:
        return keys_from_headers(data)
    parsed = report.parsed
    message_id = message_ids(parsed.message_id)
    references = message_ids(" ".join(parsed.references))
    return MessageKeys(parsed.subject, message_id[0] if message_id else parsed.message_id.strip(),
                       parsed.in_reply_to, references)


def next_working_morning(now: datetime, timezone_name: str) -> datetime:
    """09:00 on the next working day (Monday to Friday) in the team's time zone, as UTC."""
    zone = ZoneInfo(timezone_name)
    day = add_working_days(now.astimezone(zone).date(), 1)
    return datetime.combine(day, DEFER_HOUR, tzinfo=zone).astimezone(timezone.utc)


def local_time_text(moment: datetime, timezone_name: str) -> str:
    """A due time as the sender reads it, e.g. "Wed 03 Mar 2027 09:00 Europe/Berlin" (ASCII for SMTP replies)."""
    local = moment.astimezone(ZoneInfo(timezone_name))
    return f"{local:%a %d %b %Y %H:%M} {timezone_name}"


def smtp_options(smtputf8: bool, mail_options: Sequence[str]) -> tuple[str, ...]:
    """The MAIL parameters a later relay must repeat (SIZE is recomputed by the client library)."""
    options = ["SMTPUTF8"] if smtputf8 else []
    if any(option.upper() == "BODY=8BITMIME" for option in mail_options):
        options.append("BODY=8BITMIME")
    return tuple(options)


def rules_of(findings: Sequence[dict[str, object]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(f.get("rule", "")) for f in findings if f.get("rule")))


class OpenHolds:
    """Lower-cased envelope senders with messages held for review, so only their mail pays a store lookup.

    Loaded at start, added to on every hold, and replaced from the store after in-process closes and
    periodically (an administrator's `held release` or `drop` runs in another process). A sender added
    while a refresh is reading the store is kept: a stale entry costs one lookup, a missing one a lost fix.
    """

    def __init__(self) -> None:
        self.senders: set[str] = set()
        self._added_during_refresh: set[str] | None = None

    def __contains__(self, sender: object) -> bool:
        return isinstance(sender, str) and bool(self.senders) and sender.lower() in self.senders

    def add(self, sender: str) -> None:
        key = sender.lower()
        self.senders.add(key)
        if self._added_during_refresh is not None:
            self._added_during_refresh.add(key)

    async def refresh(self, store: AsyncStore) -> None:
        added: set[str] = set()
        self._added_during_refresh = added
        try:
            fresh = await store.open_hold_senders()
        finally:
            self._added_during_refresh = None
        self.senders = set(fresh) | added


class Actions:
    """The async side of the pipeline for one GuardServer: everything after decide, and the release replies."""

    def __init__(self, server: "GuardServer") -> None:
        self.server = server

    @property
    def config(self) -> Config:
        return self.server.config

    @property
    def store(self) -> AsyncStore:
        store = self.server.store
        assert store is not None, "the store is opened in GuardServer.start()"
        return store

    # -- record ------------------------------------------------------------------------------------

    def record(self, decision: Decision, verdict: str, now: datetime | None = None) -> None:
        """The decision's event, plus the thread's first notice when this is one (fire and forget)."""
        moment = now or self.server.now()
        self.server.metrics.observe_decision(verdict, decision.team, decision.rules)
        report = decision.report
        classification = report.classification if report is not None else None
        self.server.recorder.event(Event(
            time=moment, team=decision.team, verdict=verdict, rules=decision.rules,
            audience=classification.audience.value if classification is not None else "",
            oops=bool(classification is not None and classification.is_oops),
            override_reason=decision.override_reason or "",
        ))
        if (report is not None and classification is not None and classification.is_oops
                and not classification.follow_up and verdict != VERDICT_REJECTED):
            message_id = message_ids(report.parsed.message_id)
            if message_id:
                first = report.parsed.date or moment
                if first.tzinfo is None:
                    first = first.replace(tzinfo=timezone.utc)
                self.server.recorder.thread(message_id[0], decision.team, first)

    async def first_notice(self, thread_keys: list[str]) -> datetime | None:
        """When the thread's first oops notice went out, for the same-day-solution rule on follow-ups."""
        if not thread_keys:
            return None
        pending = self.server.recorder.pending_first_notice(thread_keys)
        stored = await self.store.thread_first_notice(thread_keys)
        known = [moment for moment in (pending, stored) if moment is not None]
        return min(known) if known else None

    # -- deliver -----------------------------------------------------------------------------------

    def delivered(self, decision: Decision, verdict: str, mail_from: str, message_id: str, data: bytes) -> None:
        """After the upstream accepted a message: record it, and see whether it fixes one held earlier.

        The hot path of ordinary mail: an event appended to the recorder, a set lookup, nothing else.
        """
        now = self.server.now()
        self.record(decision, verdict, now)
        if mail_from in self.server.holds:
            self.server.spawn(self._settle_earlier_holds(decision, mail_from, message_id, data, now,
                                                         overridden=verdict == VERDICT_OVERRIDDEN))

    async def _settle_earlier_holds(self, decision: Decision, mail_from: str, message_id: str, data: bytes,
                                    now: datetime, overridden: bool) -> None:
        """A passing resend closes the held original as fixed; an overriding resend makes it superfluous."""
        try:
            keys = keys_for(decision, data)
            candidates = await self.store.find_fix_candidates(mail_from, keys.thread_keys, keys.subject)
            for held in candidates:
                if overridden:
                    await self.store.close_held_with(
                        held.id, "dropped", f"superseded by {message_id}, sent with an override", now)
                    continue
                event = Event(time=now, team=held.team, verdict=VERDICT_FIXED, rules=rules_of(held.findings),
                              audience=held.audience, oops=True,
                              time_to_fix_seconds=max((now - held.created).total_seconds(), 0.0))
                if await self.store.close_held_with(held.id, "fixed", f"corrected and resent as {message_id}",
                                                    now, event=event):
                    # Its findings were counted when it was held: a later verdict on it counts the message only.
                    self.server.metrics.observe_decision(VERDICT_FIXED, held.team)
                    log.info("id=%s team=%s verdict=fixed by=%s", held.id, held.team, message_id)
            if candidates:
                await self.server.holds.refresh(self.store)
        except Exception as error:
            log.error("id=%s fix check failed: %s: %s", message_id, type(error).__name__, error)

    # -- hold and defer ----------------------------------------------------------------------------

    async def hold(self, decision: Decision, submission: Submission, team: TeamFile,
                   override_ignored: bool = False) -> str:
        """Store the message durably (committed and synced), then answer; the bounce follows in the background."""
        held = await self._store_message(decision, submission, kind="hold", due=None)
        self.server.holds.add(submission.mail_from)
        self.record(decision, VERDICT_HELD, held.created)
        text = decision.report.parsed.text if decision.report is not None else None
        self.server.spawn(self.notify(held, text, override_ignored))
        return replies.held(held.id)

    async def defer(self, decision: Decision, submission: Submission, team: TeamFile) -> str:
        """Store the message to relay at 09:00 on the next working day in the team's time zone."""
        due = next_working_morning(self.server.now(), team.timezone)
        held = await self._store_message(decision, submission, kind="defer", due=due)
        self.record(decision, VERDICT_DEFERRED, held.created)
        self.server.spawn(self.notify(held))
        return replies.deferred(held.id, local_time_text(due, team.timezone))

    async def _store_message(self, decision: Decision, submission: Submission, kind: str,
                             due: datetime | None) -> HeldMessage:
        keys = keys_for(decision, submission.data)
        report = decision.report
        audience = report.classification.audience.value if report is not None else ""
        findings = tuple(finding.to_json() for finding in decision.findings)
        now = self.server.now()
        await self.store.hold(submission.message_id, decision.team, submission.mail_from, submission.rcpt_tos,
                              submission.mail_options, keys.subject, keys.thread_root, keys.message_id, findings,
                              audience, submission.data, kind=kind, due=due, now=now)
        return HeldMessage(
            id=submission.message_id, created=now, status="held" if kind == "hold" else "deferred", kind=kind,
            team=decision.team, mail_from=submission.mail_from, rcpt_tos=submission.rcpt_tos,
            mail_options=submission.mail_options, subject=keys.subject, thread_key=keys.thread_root,
            message_id=keys.message_id, findings=findings, audience=audience, raw=submission.data, due=due,
            closed=None, close_reason="",
        )

    # -- bounces and notices -----------------------------------------------------------------------

    async def notify(self, held: HeldMessage, text: str | None = None, override_ignored: bool = False) -> None:
        """Queue the bounce (held) or the notice (deferred) and mark it done in one transaction; never raises."""
        try:
            if held.kind == "hold":
                outgoing = await self._bounce(held, text, override_ignored)
            else:
                outgoing = await self._deferred_notice(held)
            if await self.store.queue_notice(held.id, outgoing, self.server.now()) and outgoing:
                self.server.outbox.wake()
        except Exception as error:  # the message itself is safe in the store; the recovery pass retries
            log.error("id=%s cannot queue the %s: %s: %s", held.id, "bounce" if held.kind == "hold" else "notice",
                      type(error).__name__, error)

    async def _may_answer(self, held: HeldMessage, what: str) -> bool:
        """RFC 3834 loop guards, then the per-sender daily cap."""
        if not should_bounce(held.raw, held.mail_from):
            log.info("id=%s no %s: null sender, automatic or list mail", held.id, what)
            return False
        cap = self.config.proxy.bounces_per_sender_per_day
        day = self.server.now().date().isoformat()
        if not await self.store.count_bounce(held.mail_from, day, cap):
            log.warning("id=%s no %s: the sender reached today's cap of %d", held.id, what, cap)
            return False
        return True

    async def _bounce(self, held: HeldMessage, text: str | None, override_ignored: bool) -> list[Outgoing]:
        if not await self._may_answer(held, "bounce"):
            return []
        config = self.config
        team = config.team(held.team)
        if text is None:
            text = (await asyncio.to_thread(parse_message, held.raw)).text
        hold_days = config.main.store.hold_days
        expires = held.created + timedelta(days=hold_days)
        address = None
        if team.allow_override:
            local, domain = self.server.release_base
            token = make_token(self.server.release_key, held.id, held.mail_from, expires)
            address = release_address(token, domain, local)
        # Rendering the report and attaching a large original takes a while: off the event loop.
        bounce = await asyncio.to_thread(
            build_bounce, held.id, held.raw, held.mail_from, held.rcpt_tos, held.findings, text,
            config.proxy.hostname, config.proxy.bounce_from, address, team.allow_override, self.server.now(),
            release_expires=expires if address else None, hold_days=hold_days, arrival=held.created,
            override_ignored=override_ignored)
        return [Outgoing("bounce", NULL_SENDER, (held.mail_from,), bounce, mail_options_for(bounce))]

    def _notice(self, kind: str, held: HeldMessage, subject: str, text: str) -> Outgoing:
        proxy = self.config.proxy
        data = build_notice(kind, held.mail_from, subject, text, proxy.bounce_from, proxy.hostname,
                            held.message_id or None, self.server.now())
        return Outgoing("notice", NULL_SENDER, (held.mail_from,), data, mail_options_for(data))

    async def _deferred_notice(self, held: HeldMessage) -> list[Outgoing]:
        if held.due is None or not await self._may_answer(held, "notice"):
            return []
        team = self.config.team(held.team)
        subject = clean_header_text(held.subject)
        text = deferred_notice_text(subject, held.id, local_time_text(held.due, team.timezone))
        return [self._notice("deferred", held, f"Scheduled for the next working day: {subject}", text)]

    def expiry_notice(self, held: HeldMessage) -> list[Outgoing]:
        if not should_bounce(held.raw, held.mail_from):
            return []
        subject = clean_header_text(held.subject)
        text = expiry_notice_text(subject, held.id, self.config.main.store.hold_days)
        return [self._notice("expired", held, f"Held message deleted: {subject}", text)]

    async def recover_notices(self) -> None:
        """Bounces and notices lost between a 250 and the outbox (the process stopped in between)."""
        for held in await self.store.unnotified_held():
            log.info("id=%s queueing the %s missed before the last stop", held.id,
                     "bounce" if held.kind == "hold" else "notice")
            await self.notify(held)

    # -- release by reply --------------------------------------------------------------------------

    async def release_by_reply(self, token: str, replier: str, raw: bytes, message_id: str) -> str:
        """A reply to a bounce's release address: verify, take the reason, release once, confirm."""
        now = self.server.now()
        verdict = verify_token(self.server.release_key, token, replier, now)
        if not verdict.ok:
            log.info("id=%s release refused: %s", message_id, verdict.reason)
            template = _REFUSALS.get(verdict.reason, replies.REPLY_RELEASE_MALFORMED)
            return replies.release_refused(template, verdict.held_id)
        held_id = verdict.held_id or ""
        reason = await asyncio.to_thread(release_reason_from_reply, raw)
        if not reason:
            return replies.release_refused(replies.REPLY_RELEASE_NO_REASON, held_id)
        held = await self.store.get_held(held_id)
        if held is None or held.kind != "hold":
            return replies.release_refused(replies.REPLY_RELEASE_NOT_HELD, held_id)
        if not self.config.team(held.team).allow_override:
            return replies.release_refused(replies.REPLY_RELEASE_NOT_ALLOWED, held_id)
        # Single use: a second reply with the same address is a replay, whatever became of the message.
        if not await self.store.use_token(verdict.token_id, now):
            log.info("id=%s release refused: token replayed", held_id)
            return replies.release_refused(replies.REPLY_RELEASE_REPLAYED, held_id)
        if held.status != "held":
            return replies.release_refused(replies.REPLY_RELEASE_NOT_HELD, held_id)
        subject = clean_header_text(held.subject)
        confirmation = self._notice("released", held, f"Released: {subject}",
                                    release_confirmation_text(subject, held.id, reason))
        event = Event(time=now, team=held.team, verdict=VERDICT_OVERRIDDEN, rules=rules_of(held.findings),
                      audience=held.audience, oops=True, override_reason=reason)
        outbox_id = await self.store.release_held(held.id, f"reply: {reason}", now, event=event,
                                                  outgoing=[confirmation])
        if outbox_id is None:  # released, fixed or expired between the lookup and now
            return replies.release_refused(replies.REPLY_RELEASE_NOT_HELD, held_id)
        self.server.metrics.observe_decision(VERDICT_OVERRIDDEN, held.team)
        log.info("id=%s team=%s verdict=overridden by reply", held.id, held.team)
        self.server.outbox.wake()
        self.server.spawn(self.server.holds.refresh(self.store))
        return replies.released(held.id)

    # -- expiry (called by the scheduler) ------------------------------------------------------------

    async def expire(self, held: HeldMessage, now: datetime) -> bool:
        event = Event(time=now, team=held.team, verdict=VERDICT_EXPIRED, rules=rules_of(held.findings),
                      audience=held.audience, oops=True)
        days = self.config.main.store.hold_days
        closed = await self.store.close_held_with(held.id, "expired", f"not fixed or released within {days} days",
                                                  now, event=event, outgoing=self.expiry_notice(held))
        if closed:
            self.server.metrics.observe_decision(VERDICT_EXPIRED, held.team)
            log.info("id=%s team=%s verdict=expired", held.id, held.team)
        return closed
