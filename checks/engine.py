"""Runs the registered rules over a classified message: audience filtering, team severities, ordering."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from checks.classify import ClassifierSettings, FunnelResult, classify
from checks.dates import zone
from checks.message import parse_message, quick_body, quoted_dates
from checks.model import (
    AppliesTo,
    Audience,
    Check,
    CheckMessage,
    Classification,
    Finding,
    ParsedMessage,
    Severity,
    TeamContext,
)


def applies(check: Check, classification: Classification) -> bool:
    """Whether a rule is meant for this kind of message (SPEC section 4, "applies to")."""
    broadcast = classification.audience is Audience.BROADCAST
    scope = check.applies_to
    if scope is AppliesTo.ALL:
        return True
    if scope is AppliesTo.BROADCAST:
        return broadcast
    if scope is AppliesTo.INTERNAL_BROADCAST:
        return broadcast and classification.internal
    if scope is AppliesTo.INTERNAL_BROADCAST_FIRST_NOTICE:
        return broadcast and classification.internal and not classification.follow_up
    if scope is AppliesTo.INDIVIDUAL:
        return not broadcast
    if scope is AppliesTo.INDIVIDUAL_REAL_APOLOGY:
        return not broadcast and classification.real_apology
    return False


def run_checks(message: CheckMessage, checks: Iterable[Check]) -> list[Finding]:
    """Findings of every applicable, enabled rule, at the team's severity, in text order.

    Only oops / apology mail is checked: ordinary mail never gets a finding.
    """
    if not message.classification.is_oops:
        return []
    findings: list[Finding] = []
    for check in checks:
        configured = message.team.rule(check.id).severity
        severity = check.severity if configured is None else configured
        if severity is Severity.OFF or not applies(check, message.classification):
            continue
        for finding in check.run(message):
            findings.append(finding if finding.severity is severity else dataclasses.replace(finding, severity=severity))
    findings.sort(key=lambda f: (f.span.start, f.rule))
    return findings


@dataclass(frozen=True)
class Report:
    """The outcome of checking one message: what it is and what was found."""

    parsed: ParsedMessage
    classification: Classification
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.BLOCK)


def quoted_first_notice(parsed: ParsedMessage, tz: str) -> datetime | None:
    """When the oldest mail quoted in a follow-up was sent: the thread's first notice, as far as the text tells.

    The proxy knows the thread from its own records; `oopsguard check` and threads that began elsewhere only
    have the quote. A quote that names no zone was written in the team's local time; one dated after the
    follow-up itself is a misreading and is ignored.
    """
    for moment in quoted_dates(parsed.body):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone(tz))
        if parsed.date is None or aware <= parsed.date:
            return aware
    return None


def check_message(
    raw: bytes,
    checks: Iterable[Check],
    settings: ClassifierSettings,
    team: TeamContext,
    envelope_recipients: tuple[str, ...] | None = None,
    thread_first_notice: datetime | None = None,
    prefiltered: FunnelResult | None = None,
) -> Report:
    """Parse, classify and check one raw message.

    `prefiltered` is funnel()'s result for the same bytes when the caller ran it: its quick body and
    language verdict are reused instead of being found a second time.
    """
    body = prefiltered.body if prefiltered is not None and prefiltered.body is not None else quick_body(raw)
    parsed = parse_message(raw, body)  # body None (odd MIME): the full parse finds the text
    language = prefiltered.language if prefiltered is not None else None
    classification = classify(parsed, settings, team.name, envelope_recipients, language)
    if thread_first_notice is None and classification.follow_up:
        thread_first_notice = quoted_first_notice(parsed, team.timezone or "UTC")
    message = CheckMessage(parsed, classification, team, thread_first_notice)
    return Report(parsed, classification, tuple(run_checks(message, checks)))
