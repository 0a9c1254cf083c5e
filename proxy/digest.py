"""The weekly team digest (SPEC section 6): aggregate a week's events, render text + HTML mail, send it once."""
from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time as clock_time, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence
from zoneinfo import ZoneInfo

import jinja2

from proxy import rendering
from proxy.config import Config, TeamFile
from proxy.relay import ensure_maildir, write_maildir as relay_write_maildir
from proxy.events import (
    VERDICT_AUDIT,
    VERDICT_DEFERRED,
    VERDICT_DELIVERED,
    VERDICT_EXPIRED,
    VERDICT_FIXED,
    VERDICT_HELD,
    VERDICT_OVERRIDDEN,
    VERDICT_REJECTED,
    Event,
)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

TREND_WEEKS = 5          # this week and the four before it
TOP_RULES = 5
MAX_REASONS = 10         # a digest lists at most this many override reasons; the rest are counted
MAX_REASON_CHARS = 200

# Bar colours of the HTML chart; chosen to stay distinguishable for the common colour-vision deficiencies.
CHECKED_COLOUR = "#9fb3c8"
HELD_COLOUR = "#d9822b"
CHART_WIDTH_PX = 300

# Why each rule of SPEC section 4 matters, one line each, in the product's own words. A check that exposes a
# `summary` string wins over this table (third-party checks can explain themselves).
RULE_WHY: dict[str, str] = {
    "blame-names": "Naming a person in a group notice turns a fact report into a public verdict on someone.",
    "public-self-blame": "Taking the blame personally in front of everyone shifts attention from the facts; own it in private.",
    "same-day-solution": "Readers need a moment to absorb what went wrong before a fix is put to them.",
    "no-update-time": "Without a time for the next update, people chase the sender or assume the worst.",
    "late-update": "An update promised more than two days out lets the issue go stale and the momentum fade.",
    "speculation": "Guesses and dramatic wording spread faster than facts and are hard to take back.",
    "single-option": "One take-it-or-leave-it request for budget or people invites resistance instead of a decision.",
    "non-apology": "A conditional or passive apology reads as a refusal to own the mistake.",
    "excuse": "Circumstances offered right after an apology cancel it out for the reader.",
    "self-focus": "An apology that dwells on the sender's own troubles leaves the affected person unheard.",
    "deflection": "Policy talk and hand-offs tell the customer nobody will act on their problem.",
    "gratitude-swap": "Thanking someone for their patience is not the same as saying sorry for wasting it.",
    "incomplete-apology": "An apology lands only with ownership, the impact named, amends and a promise for next time.",
}

# A generic one-line rewrite tip per rule; held messages carry the specific suggestion for each finding.
RULE_TIP: dict[str, str] = {
    "blame-names": "Describe the step that failed (\"the export ran against the wrong list\") instead of who ran it.",
    "public-self-blame": "Write \"the report went out with old figures\" and say sorry to those affected one to one.",
    "same-day-solution": "Close with \"we will send a recommended fix by Thursday noon\" and send it then.",
    "no-update-time": "Add a line such as \"next update: tomorrow 10:00 CET\".",
    "late-update": "Promise the next update within two days, even if it is only a status check.",
    "speculation": "Keep to what is known and say when the rest will be confirmed.",
    "single-option": "Offer a high, a medium and a low cost option, each with its risk, and name the one you recommend.",
    "non-apology": "Replace \"sorry if this caused any inconvenience\" with \"we are sorry we sent you the wrong invoice\".",
    "excuse": "Keep the apology, drop the \"but\", and move the explanation after what you are doing about it.",
    "self-focus": "Swap the sender's hard week for what the reader lost and what will make it right.",
    "deflection": "Say what you will do today and by when, even when the usual process does not cover it.",
    "gratitude-swap": "Start with \"sorry for the wait\", then thank them if you still want to.",
    "incomplete-apology": "Add the missing part: what you got wrong, how it affected them, the fix and what changes next time.",
}
UNKNOWN_RULE_WHY = "A rule supplied by a third-party check."
UNKNOWN_RULE_TIP = "See the suggestion in the held message's report."

# Verdicts whose rules were found when the message was checked. Fixed and expired events follow up an
# earlier hold whose rules were already counted, so counting them again would inflate the top rules.
RULE_COUNTED_VERDICTS = frozenset({VERDICT_DELIVERED, VERDICT_HELD, VERDICT_REJECTED, VERDICT_DEFERRED,
                                   VERDICT_OVERRIDDEN, VERDICT_AUDIT})
# "Held" in the digest means stopped by a blocking rule: held in the store or refused in the SMTP reply.
STOPPED_VERDICTS = frozenset({VERDICT_HELD, VERDICT_REJECTED})

WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")
# Deliberately simple (no nested quantifiers, so linear): anything shaped like local@domain goes.
ADDRESS_PATTERN = re.compile(r"(?:mailto:)?[^\s<>()\[\]@,;:\"']+@[^\s<>()\[\]@,;:\"']+")
ADDRESS_PLACEHOLDER = "[address removed]"
NAME_PLACEHOLDER = "[name removed]"


# -- weeks -------------------------------------------------------------------------------------------------


def parse_week(label: str) -> date:
    """The Monday of an ISO week label such as 2026-W47; ValueError with a plain reason when it is not one."""
    match = WEEK_PATTERN.fullmatch(label.strip())
    if not match:
        raise ValueError(f"{label!r} is not an ISO week such as 2026-W47")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"{label!r} does not exist (week number out of range for that year)") from None


def week_label(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def week_bounds(label: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 local time, as UTC instants (a DST week is 167 or 169 hours)."""
    monday = parse_week(label)
    start = datetime.combine(monday, clock_time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(days=7), clock_time(0), tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def previous_weeks(label: str, how_many: int) -> list[str]:
    """The `how_many` week labels before `label`, oldest first."""
    monday = parse_week(label)
    return [week_label(monday - timedelta(weeks=back)) for back in range(how_many, 0, -1)]


def last_full_week(now: datetime, zone: ZoneInfo) -> str:
    """The ISO week that ended most recently in the team's time zone (the week before the current one)."""
    today = now.astimezone(zone).date()
    return week_label(today - timedelta(days=today.weekday() + 7))


def describe_week(label: str) -> str:
    monday = parse_week(label)
    sunday = monday + timedelta(days=6)
    return f"Mon {monday.day} {monday:%b} to Sun {sunday.day} {sunday:%b %Y}"


# -- the pure part -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleCount:
    """One of the week's most frequent rules: how many events mentioned it, why it matters, how to fix it."""

    rule: str
    count: int
    why: str
    tip: str


@dataclass(frozen=True)
class WeekPoint:
    """One week of the trend."""

    week: str
    checked: int
    held: int


@dataclass(frozen=True)
class DigestData:
    """Everything a digest shows. Aggregates only: team, rule ids and counts, never a person.

    checked: every recorded decision (each is an event).
    delivered_clean: relayed with no blocking finding (verdict delivered); `delivered_with_warnings` of them
        carried warn/info findings.
    held: stopped by a blocking rule (held in the store, or `rejected` of them refused in the SMTP reply).
    would_have_been_held: audit mode deliveries that enforce mode would have stopped.
    """

    team: str
    week: str
    checked: int
    oops: int
    delivered_clean: int
    delivered_with_warnings: int
    held: int
    rejected: int
    fixed: int
    overridden: int
    override_reasons: tuple[str, ...]
    more_reasons: int
    deferred: int
    expired: int
    would_have_been_held: int
    top_rules: tuple[RuleCount, ...]
    trend: tuple[WeekPoint, ...]           # oldest first; the last point is this week
    median_time_to_fix_seconds: float | None

    @property
    def empty(self) -> bool:
        return self.checked == 0

    @property
    def median_time_to_fix(self) -> str:
        return format_duration(self.median_time_to_fix_seconds)

    @property
    def week_range(self) -> str:
        return describe_week(self.week)


def format_duration(seconds: float | None) -> str:
    """Human-friendly duration: "45 s", "38 min", "2.5 h", "3.2 days"; "n/a" when unknown."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return f"{round(seconds)} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{_one_decimal(seconds / 3600)} h"
    return f"{_one_decimal(seconds / 86400)} days"


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Full names and each of their parts (first or last name alone also identifies someone in a team)."""
    parts: set[str] = set()
    for name in names:
        cleaned = " ".join(name.split())
        if cleaned:
            parts.add(cleaned)
            parts.update(part for part in cleaned.split(" ") if len(part) >= 2)
    if not parts:
        return None
    # Longest first so "Dana Whitfield" is replaced whole rather than in two pieces.
    alternatives = "|".join(re.escape(part) for part in sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def redact_reason(reason: str, names: Iterable[str] = ()) -> str:
    """One line, no addresses, no roster names, bounded length: override reasons are free text from senders."""
    text = " ".join(reason[: MAX_REASON_CHARS * 5].split())
    text = ADDRESS_PATTERN.sub(ADDRESS_PLACEHOLDER, text)
    pattern = _name_pattern(names)
    if pattern is not None:
        text = pattern.sub(NAME_PLACEHOLDER, text)
    if len(text) > MAX_REASON_CHARS:
        text = text[: MAX_REASON_CHARS - 1].rstrip() + "…"
    return text


def rule_explanations(load_plugins: bool = True) -> dict[str, str]:
    """RULE_WHY, overridden by any registered check that explains itself with a `summary` string."""
    explanations = dict(RULE_WHY)
    try:
        from checks.registry import default_registry

        registry = default_registry(load_plugins=load_plugins)
    except Exception:  # a broken plugin must not stop the weekly digest; the built-in lines still apply
        return explanations
    for check in registry:
        summary = getattr(check, "summary", None)
        if isinstance(summary, str) and summary.strip():
            explanations[check.id] = " ".join(summary.split())
    return explanations


def _rule_order(rule_id: str) -> tuple[int, str]:
    # Ties are broken by the order of SPEC section 4, then by id, so the digest is deterministic.
    order = list(RULE_WHY)
    return (order.index(rule_id) if rule_id in RULE_WHY else len(order), rule_id)


def _top_rules(events: Sequence[Event], why: Mapping[str, str]) -> tuple[RuleCount, ...]:
    counts: Counter[str] = Counter()
    for event in events:
        if event.verdict in RULE_COUNTED_VERDICTS:
            counts.update(set(event.rules))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _rule_order(item[0])))[:TOP_RULES]
    return tuple(
        RuleCount(rule, hits, why.get(rule, UNKNOWN_RULE_WHY), RULE_TIP.get(rule, UNKNOWN_RULE_TIP))
        for rule, hits in ranked
    )


def _week_point(week: str, events: Sequence[Event]) -> WeekPoint:
    return WeekPoint(week, len(events), sum(1 for e in events if e.verdict in STOPPED_VERDICTS))


def build_digest_data(
    events_this_week: Sequence[Event],
    events_previous_four_weeks_by_week: Mapping[str, Sequence[Event]],
    team: str,
    week: str,
    *,
    redact_names: Iterable[str] = (),
    why: Mapping[str, str] | None = None,
) -> DigestData:
    """Aggregate one team's week. Previous weeks are keyed by ISO week label (missing weeks count as empty)."""
    by_verdict = Counter(event.verdict for event in events_this_week)
    delivered = [e for e in events_this_week if e.verdict == VERDICT_DELIVERED]
    overrides = [e for e in events_this_week if e.verdict == VERDICT_OVERRIDDEN]
    names = tuple(redact_names)
    reasons = [redact_reason(e.override_reason, names) for e in overrides if e.override_reason.strip()]
    fix_times = [e.time_to_fix_seconds for e in events_this_week
                 if e.verdict == VERDICT_FIXED and e.time_to_fix_seconds is not None]
    trend_weeks = previous_weeks(week, TREND_WEEKS - 1)
    trend = tuple(_week_point(label, events_previous_four_weeks_by_week.get(label, ())) for label in trend_weeks)
    trend += (_week_point(week, events_this_week),)
    return DigestData(
        team=team,
        week=week,
        checked=len(events_this_week),
        oops=sum(1 for e in events_this_week if e.oops),
        delivered_clean=len(delivered),
        delivered_with_warnings=sum(1 for e in delivered if e.rules),
        held=sum(by_verdict[v] for v in STOPPED_VERDICTS),
        rejected=by_verdict[VERDICT_REJECTED],
        fixed=by_verdict[VERDICT_FIXED],
        overridden=len(overrides),
        override_reasons=tuple(reasons[:MAX_REASONS]),
        more_reasons=max(0, len(reasons) - MAX_REASONS),
        deferred=by_verdict[VERDICT_DEFERRED],
        expired=by_verdict[VERDICT_EXPIRED],
        would_have_been_held=by_verdict[VERDICT_AUDIT],
        top_rules=_top_rules(events_this_week, RULE_WHY if why is None else why),
        trend=trend,
        median_time_to_fix_seconds=statistics.median(fix_times) if fix_times else None,
    )


# -- rendering ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartRow:
    """One week of the HTML bar chart, already scaled to pixels."""

    week: str
    checked: int
    held: int
    checked_px: int
    held_px: int
    current: bool


def chart_rows(trend: Sequence[WeekPoint], width_px: int = CHART_WIDTH_PX) -> list[ChartRow]:
    """Both bars share one scale (the busiest week), so a held bar is honestly small next to its checked bar."""
    scale = max((point.checked for point in trend), default=0) or 1

    def pixels(value: int) -> int:
        # A non-zero count always gets a visible sliver.
        return 0 if value <= 0 else max(2, round(value / scale * width_px))

    return [ChartRow(p.week, p.checked, p.held, pixels(p.checked), min(pixels(p.held), width_px),
                     index == len(trend) - 1) for index, p in enumerate(trend)]


def text_bar(point: WeekPoint, scale: int, width: int = 30) -> str:
    """A stacked ASCII bar: '#' for held, '-' for the rest of what was checked."""
    if scale <= 0:
        return ""
    checked = round(point.checked / scale * width)
    held = min(checked, round(point.held / scale * width)) if point.held else 0
    if point.held and held == 0:
        held = 1
    checked = max(checked, held, 1 if point.checked else 0)
    return "#" * held + "-" * (checked - held)


def template_environment() -> jinja2.Environment:
    return rendering.template_environment(text_bar=text_bar, rstrip=str.rstrip)


def empty_line(data: DigestData) -> str:
    return f"No oops mail was checked for {data.team} in {data.week}."


def digest_subject(data: DigestData) -> str:
    return f"oopsguard weekly digest — {data.team} — {data.week}"


def render_parts(data: DigestData) -> tuple[str, str]:
    """The text and HTML bodies."""
    environment = template_environment()
    context = {
        "data": data,
        "empty_line": empty_line(data),
        "subject": digest_subject(data),
        "rows": chart_rows(data.trend),
        "chart_width": CHART_WIDTH_PX,
        "scale": max((p.checked for p in data.trend), default=0),
        "checked_colour": CHECKED_COLOUR,
        "held_colour": HELD_COLOUR,
    }
    text = environment.get_template("digest.txt.j2").render(context)
    html = environment.get_template("digest.html.j2").render(context)
    return text, html


def render_digest(data: DigestData, bounce_from: str, to: Sequence[str], hostname: str, now: datetime) -> bytes:
    """One multipart/alternative message (text/plain + text/html), CRLF line ends, ready for SMTP."""
    text, html = render_parts(data)
    message = EmailMessage(policy=SMTP)
    message["From"] = bounce_from
    message["To"] = ", ".join(to)
    message["Subject"] = digest_subject(data)
    message["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=timezone.utc))
    message["Message-ID"] = make_msgid("digest", domain=hostname)
    # RFC 3834: tells vacation responders and the proxy's own bounce logic that no one typed this.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_bytes(policy=SMTP)


# -- sending -----------------------------------------------------------------------------------------------


class SendError(Exception):
    """The digest could not be handed to the upstream; the message is a one-line reason."""


def write_maildir(directory: str | Path, raw: bytes) -> Path:
    """Deliver into a maildir with the relay's durable writer (tmp/, fsync, rename into new/, fsync the directory)."""
    root = Path(directory)
    ensure_maildir(root)
    return root / "new" / relay_write_maildir(root, raw)


def _split_host_port(rest: str) -> tuple[str, int]:
    host, _, port = rest.strip("/").rpartition(":")
    return host.strip("[]"), int(port)


async def _send_smtp(upstream: str, mail_from: str, recipients: Sequence[str], raw: bytes,
                     local_hostname: str, timeout: float) -> None:
    import aiosmtplib

    scheme, _, rest = upstream.partition("://")
    host, port = _split_host_port(rest)
    await aiosmtplib.send(
        raw,
        sender=mail_from,
        recipients=list(recipients),
        hostname=host,
        port=port,
        local_hostname=local_hostname,
        use_tls=scheme == "smtps",
        # Plain smtp:// means plain: no opportunistic upgrade that could fail on a self-signed certificate.
        start_tls=scheme == "smtp+starttls",
        timeout=timeout,
    )


def send_upstream(config: Config, recipients: Sequence[str], raw: bytes) -> str:
    """Hand a message the proxy wrote itself to the configured upstream; returns where it went."""
    proxy = config.main.proxy
    upstream = proxy.upstream
    try:
        if upstream.startswith("maildir:"):
            return str(write_maildir(upstream.removeprefix("maildir:"), raw))
        asyncio.run(_send_smtp(upstream, proxy.bounce_from, recipients, raw, proxy.hostname, proxy.upstream_timeout))
        return upstream
    except Exception as error:  # every failure becomes one line for the operator; the claim is undone
        reason = " ".join(str(error).split()) or type(error).__name__
        raise SendError(f"{upstream}: {reason}") from error


# -- the command -------------------------------------------------------------------------------------------


class DigestStore(Protocol):
    """The part of proxy.store.SqliteStore the digest uses."""

    def events(self, team: str | None, start: datetime, end: datetime) -> list[Event]: ...

    def claim_digest(self, team: str, week: str, now: datetime | None = None) -> bool: ...

    def unclaim_digest(self, team: str, week: str) -> None: ...


def _events_by_week(store: DigestStore, team: str, weeks: Sequence[str], zone: ZoneInfo) -> dict[str, list[Event]]:
    # One query per week keeps the week boundaries in local time exact across DST changes.
    return {label: store.events(team, *week_bounds(label, zone)) for label in weeks}


def collect_digest(store: DigestStore, team: TeamFile, week: str, why: Mapping[str, str] | None = None) -> DigestData:
    """Read a team's week and the four before it from the store and aggregate them."""
    zone = ZoneInfo(team.timezone)
    weeks = previous_weeks(week, TREND_WEEKS - 1) + [week]
    by_week = _events_by_week(store, team.name, weeks, zone)
    this_week = by_week.pop(week)
    return build_digest_data(this_week, by_week, team.name, week, redact_names=team.roster, why=why)


class _EmptyStore:
    """Stands in for a store that does not exist yet: a dry run must not create one, and never claims."""

    def events(self, team: str | None, start: datetime, end: datetime) -> list[Event]:
        return []

    def claim_digest(self, team: str, week: str, now: datetime | None = None) -> bool:
        raise RuntimeError("a dry run never claims a digest")

    def unclaim_digest(self, team: str, week: str) -> None:
        raise RuntimeError("a dry run never claims a digest")


def digest_command(args: argparse.Namespace) -> int:
    """`oopsguard digest [--team NAME] [--week YYYY-Www] [--dry-run]`: one digest per team per week."""
    from proxy.cli import load_or_exit
    from proxy.store import SqliteStore

    config = load_or_exit(args.config)
    if args.team is not None and args.team not in config.teams:
        known = ", ".join(sorted(config.teams))
        print(f"oopsguard: digest: unknown team {args.team!r} (known: {known})", file=sys.stderr)
        return EXIT_USAGE
    if args.week is not None:
        try:
            parse_week(args.week)
        except ValueError as error:
            print(f"oopsguard: digest: --week: {error}", file=sys.stderr)
            return EXIT_USAGE
    teams = [config.teams[args.team]] if args.team else [config.teams[name] for name in sorted(config.teams)]
    now = datetime.now(timezone.utc)
    why = rule_explanations()
    store_path = Path(config.main.store.path)
    if args.dry_run and not store_path.exists():
        return _run(config, teams, args, now, why, _EmptyStore())
    store = SqliteStore(store_path)
    try:
        return _run(config, teams, args, now, why, store)
    finally:
        store.close()


def _run(config: Config, teams: Sequence[TeamFile], args: argparse.Namespace, now: datetime,
         why: Mapping[str, str], store: DigestStore) -> int:
    status = EXIT_OK
    for team in teams:
        week = args.week or last_full_week(now, ZoneInfo(team.timezone))
        recipients = team.digest_recipients
        if not recipients:
            print(f"oopsguard: digest: team {team.name} has no digest recipients (set digest.to or leads); skipped",
                  file=sys.stderr)
            continue
        data = collect_digest(store, team, week, why)
        if args.dry_run:
            text, _ = render_parts(data)
            sys.stdout.write(text)
            print(f"oopsguard: digest: dry run, {team.name} {week} would go to: {', '.join(recipients)}",
                  file=sys.stderr)
            continue
        raw = render_digest(data, config.main.proxy.bounce_from, recipients, config.main.proxy.hostname, now)
        if not store.claim_digest(team.name, week, now):
            print(f"digest for {team.name} {week} already sent")
            continue
        try:
            destination = send_upstream(config, recipients, raw)
        except SendError as error:
            store.unclaim_digest(team.name, week)
            print(f"oopsguard: digest: {team.name} {week} not sent: {error}", file=sys.stderr)
            status = EXIT_FAILED
            continue
        print(f"digest for {team.name} {week} sent to {len(recipients)} recipient(s) via {destination}")
    return status
