"""The annotated bounce (an RFC 3464 DSN with each finding in place) and the short notices the proxy sends."""
from __future__ import annotations

import email.errors
import email.header
import email.policy
import email.utils
import secrets
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage, Message, MIMEPart
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from typing import Iterable, Mapping, Sequence

import jinja2
import regex

from proxy import rendering
from proxy.pipeline import OVERRIDE_HEADER

# Originals above this size are summarised by their headers (text/rfc822-headers) rather than attached whole.
MAX_ATTACHED_ORIGINAL = 10 * 1024 * 1024
MAX_SUBJECT = 200
MAX_FINDINGS_SHOWN = 50
# A quoted line is cut to a window around the excerpt so one enormous line cannot flood the report.
QUOTE_CONTEXT = 40
MAX_MARKED = 80
ELLIPSIS = "\u2026"
STATUS = "5.7.1"

SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}
SEVERITY_LABEL = {"block": "must change", "warn": "worth changing", "info": "for your information"}

# RFC 3834 loop guards: mail that must never get an automatic answer.
_NO_REPLY_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_NO_REPLY_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_MESSAGE_ID = regex.compile(r"<[^<>\s]{1,250}>")
_LINE_BREAKS = regex.compile(rb"\r\n|\r|\n")
_HOSTNAME_JUNK = regex.compile(r"[^A-Za-z0-9.\-]")

def template_environment() -> jinja2.Environment:
    return rendering.template_environment(fill=fill)


def fill(text: str, width: int = 72, first: str = "", rest: str = "") -> str:
    """Wrap one paragraph of plain text for the text part (URLs and addresses are never split)."""
    return textwrap.fill(str(text), width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


# -- small text helpers -----------------------------------------------------------------


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def clean_header_text(value: str, limit: int = MAX_SUBJECT) -> str:
    """Header text safe to reuse in a new header: RFC 2047 decoded, no control or line-break characters, bounded.

    An encoded "=0D=0A" in the original subject decodes to CR LF; removing every control character here is
    what stops it from starting a new header line in the bounce.
    """
    try:
        decoded = str(email.header.make_header(email.header.decode_header(value)))
    except (LookupError, ValueError, UnicodeError, email.errors.HeaderParseError):
        decoded = value
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in decoded)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + ELLIPSIS


def _display(text: str) -> str:
    # Tabs and control characters would shift the caret line differently in every mail client.
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs") else ch for ch in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(ch) for ch in text)


def _message_id(value: str | None) -> str:
    match = _MESSAGE_ID.search(value or "")
    return match.group(0) if match else ""


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def format_time(moment: datetime) -> str:
    moment = _utc(moment).astimezone(timezone.utc)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def header_block(raw: bytes) -> bytes:
    """The original's header section (up to the first empty line), without parsing the body."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return raw[: end + len(separator)]
    return raw


def original_headers(raw: bytes) -> Message:
    # Header-only parse with compat32: cheap, and it never raises on malformed headers.
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_block(raw))


def _crlf(raw: bytes) -> bytes:
    # SMTP carries CRLF lines only; a bare CR or LF inside the attached original would be mangled on the way.
    pairs = raw.count(b"\r\n")
    if raw.count(b"\r") == pairs and raw.count(b"\n") == pairs:
        return raw
    return _LINE_BREAKS.sub(b"\r\n", raw)


# -- RFC 3834 loop guards ---------------------------------------------------------------


def should_bounce(headers: bytes | Message | Mapping[str, str], mail_from: str) -> bool:
    """False for mail that must not get an automatic answer: null sender, auto-submitted, bulk or list mail."""
    sender = mail_from.strip().strip("<>").strip()
    if not sender:
        return False
    local = sender.rpartition("@")[0].lower()
    if local in _NO_REPLY_LOCAL_PARTS or local.startswith("owner-") or local.endswith("-request"):
        return False
    if isinstance(headers, (bytes, bytearray)):
        headers = original_headers(bytes(headers))
    items = [(str(name).lower(), str(value)) for name, value in headers.items()]
    for name, value in items:
        lowered = value.strip().lower()
        if name == "auto-submitted":
            keyword = lowered.split(";", 1)[0].split("(", 1)[0].strip()
            if keyword != "no":
                return False
        elif name == "precedence" and lowered in _NO_REPLY_PRECEDENCE:
            return False
        elif name == "x-no-ack" or name.startswith("list-"):
            return False
        elif name == "x-auto-response-suppress" and any(
                token.strip() in ("all", "dr", "autoreply") for token in lowered.split(",")):
            return False
    return True


# -- findings in place ------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    """One line of the checked text split around the excerpt (already cut to a window and made printable)."""

    before: str
    marked: str
    after: str

    @property
    def line(self) -> str:
        return self.before + self.marked + self.after

    @property
    def carets(self) -> str:
        return " " * _width(self.before) + "^" * max(_width(self.marked), 1)


def quote_excerpt(text: str, line: int, column: int, excerpt: str) -> Quote | None:
    """The finding's line with the excerpt located on it; None when the line cannot be found in `text`."""
    lines = text.split("\n")
    if not 0 < line <= len(lines):
        return None
    current = lines[line - 1].rstrip("\r")
    first = excerpt.split("\n", 1)[0].rstrip("\r")
    start = column - 1
    if not (first and current.startswith(first, max(start, 0))):
        found = current.find(first) if first else -1
        if found == -1 and not 0 <= start < len(current):
            return None
        start = found if found != -1 else start
    start = max(start, 0)
    end = min(start + max(len(first), 1), len(current))
    marked = current[start:end]
    if len(marked) > MAX_MARKED:
        marked = marked[:MAX_MARKED] + ELLIPSIS  # the rest of a very long excerpt is left out
    window_start = max(start - QUOTE_CONTEXT, 0)
    window_end = min(end + QUOTE_CONTEXT, len(current))
    before = (ELLIPSIS if window_start else "") + current[window_start:start]
    after = current[end:window_end] + (ELLIPSIS if window_end < len(current) else "")
    return Quote(_display(before), _display(marked), _display(after))


@dataclass(frozen=True)
class ShownFinding:
    """A finding as the bounce shows it."""

    number: int
    rule: str
    severity: str
    label: str
    line: int
    column: int
    excerpt: str
    message: str
    suggestion: str
    quote: Quote | None


def _finding_dict(finding: object) -> dict[str, object]:
    to_json = getattr(finding, "to_json", None)
    return dict(to_json()) if callable(to_json) else dict(finding)  # type: ignore[call-overload]


def _as_int(value: object, default: int = 0) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return default


def shown_findings(findings: Iterable[object], text: str) -> list[ShownFinding]:
    """Blocking findings first, then by position; each with its line quoted when it can be placed."""
    items = [_finding_dict(finding) for finding in findings]
    items.sort(key=lambda f: (SEVERITY_ORDER.get(str(f.get("severity", "")), 3),
                              _as_int(f.get("line")), _as_int(f.get("column"))))
    shown = []
    for number, item in enumerate(items, start=1):
        severity = str(item.get("severity", ""))
        line, column = _as_int(item.get("line")), _as_int(item.get("column"), 1)
        excerpt = str(item.get("excerpt", ""))
        shown.append(ShownFinding(
            number=number, rule=str(item.get("rule", "")), severity=severity,
            label=SEVERITY_LABEL.get(severity, severity), line=line, column=column,
            excerpt=_display(excerpt.replace("\n", " ")), message=str(item.get("message", "")),
            suggestion=str(item.get("suggestion", "")), quote=quote_excerpt(text, line, column, excerpt),
        ))
    return shown


def describe_recipients(rcpt_tos: Sequence[str]) -> str:
    """The one recipient (usually the list) by address, or how many there are."""
    unique = list(dict.fromkeys(addr.strip().strip("<>") for addr in rcpt_tos if addr.strip()))
    if len(unique) == 1:
        return clean_header_text(unique[0], 120)
    return plural(len(unique), "recipient")


def summary_line(findings: Sequence[ShownFinding], rcpt_tos: Sequence[str], recipients_label: str | None = None) -> str:
    """The headline, e.g. "2 things to change before this goes to <list>".

    `recipients_label` names the audience (say, the broadcast list among several recipients) instead of
    the single address or the count.
    """
    blocking = sum(1 for f in findings if f.severity == "block")
    others = len(findings) - blocking
    target = clean_header_text(recipients_label, 120) if recipients_label else describe_recipients(rcpt_tos)
    if blocking:
        line = f"{plural(blocking, 'thing')} to change before this goes to {target}"
        if others:
            line += f" (and {plural(others, 'suggestion')} worth a look)"
        return line
    return f"{plural(len(findings), 'thing')} to look at before this goes to {target}"


# -- the DSN ----------------------------------------------------------------------------


def _domain(hostname: str) -> str:
    # Never let make_msgid fall back to getfqdn(): that may block on DNS.
    return _HOSTNAME_JUNK.sub("", hostname) or "localhost"


def _policy_for(*addresses: str) -> EmailPolicy:
    # Non-ASCII addresses can only be written with SMTPUTF8; everything else stays plain 7-bit SMTP.
    needs_utf8 = any(not address.isascii() for address in addresses)
    return email.policy.SMTPUTF8 if needs_utf8 else email.policy.SMTP


def _safe_address(address: str) -> str:
    return "".join(ch for ch in address.strip().strip("<>") if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))


def _thread_headers(message: EmailMessage, original: Message) -> None:
    original_id = _message_id(original.get("Message-ID"))
    if not original_id:
        return
    references = _MESSAGE_ID.findall(str(original.get("References", "")))[-10:]
    message["In-Reply-To"] = original_id
    message["References"] = " ".join([*[ref for ref in references if ref != original_id], original_id])


def _delivery_status(policy: EmailPolicy, held_id: str, rcpt_tos: Sequence[str], rules: Sequence[str],
                     hostname: str, arrival: datetime) -> Message:
    status = Message(policy=policy)
    status["Content-Type"] = "message/delivery-status"
    per_message = Message(policy=policy)
    per_message["Reporting-MTA"] = f"dns; {_HOSTNAME_JUNK.sub('', hostname) or 'localhost'}"
    per_message["X-Oopsguard-Held-Id"] = clean_header_text(held_id, 100)
    per_message["Arrival-Date"] = email.utils.format_datetime(_utc(arrival))
    blocks = [per_message]
    diagnostic = f"smtp; 550 {STATUS} held for review: {clean_header_text(held_id, 100)}"
    with_rules = f"{diagnostic} ({', '.join(rules)})"
    # Only when the field still fits on one line: a folded Diagnostic-Code reads back with a stray leading space.
    if rules and len("Diagnostic-Code: ") + len(with_rules) <= 78:
        diagnostic = with_rules
    for recipient in dict.fromkeys(_safe_address(r) for r in rcpt_tos if r.strip()):
        block = Message(policy=policy)
        block["Final-Recipient"] = f"{'rfc822' if recipient.isascii() else 'utf-8'}; {recipient}"
        block["Action"] = "failed"
        block["Status"] = STATUS
        block["Diagnostic-Code"] = diagnostic
        blocks.append(block)
    status.set_payload(blocks)
    return status


def _original_part(raw: bytes, placeholder: str) -> MIMEPart:
    part = MIMEPart()
    if len(raw) > MAX_ATTACHED_ORIGINAL:
        part["Content-Type"] = "text/rfc822-headers"
        part["Content-Description"] = "headers of the held message (too large to attach whole)"
        body = header_block(raw)
    else:
        part["Content-Type"] = "message/rfc822"
        part["Content-Description"] = "the held message, unchanged"
        body = raw
    if not body.isascii():
        part["Content-Transfer-Encoding"] = "8bit"
    # The body is spliced in after serialisation (see build_bounce), so it goes out byte for byte.
    part.set_payload(placeholder)
    return part


def build_bounce(
    held_id: str,
    raw: bytes,
    mail_from: str,
    rcpt_tos: Sequence[str],
    findings: Iterable[object],
    text: str,
    hostname: str,
    bounce_from: str,
    release_address: str | None,
    allow_override: bool,
    now: datetime,
    *,
    release_expires: datetime | None = None,
    hold_days: int | None = None,
    arrival: datetime | None = None,
    recipients_label: str | None = None,
    override_ignored: bool = False,
) -> bytes:
    """The annotated bounce for a held message: multipart/report (human report, delivery-status, original).

    `override_ignored`: the message carried an override header that the team does not honour; say so.
    """
    if not mail_from.strip().strip("<>"):
        raise ValueError("a bounce needs a sender to go back to (null sender given)")
    original = original_headers(raw)
    subject = clean_header_text(str(original.get("Subject", "")))
    shown = shown_findings(findings, text)
    rules = list(dict.fromkeys(f.rule for f in shown if f.severity == "block")) or list(
        dict.fromkeys(f.rule for f in shown))
    sender = _safe_address(mail_from)
    context = {
        "summary": summary_line(shown, rcpt_tos, recipients_label),
        "subject": subject or "(no subject)",
        "held_id": held_id,
        "sender": sender,
        "findings": shown[:MAX_FINDINGS_SHOWN],
        "more_findings": max(len(shown) - MAX_FINDINGS_SHOWN, 0),
        "blocking": sum(1 for f in shown if f.severity == "block"),
        "release_address": release_address or "",
        "release_until": format_time(release_expires) if release_expires else "",
        "allow_override": allow_override,
        "override_header": OVERRIDE_HEADER,
        "hold_days": hold_days or 0,
        "original_attached": len(raw) <= MAX_ATTACHED_ORIGINAL,
        "override_ignored": override_ignored,
    }
    environment = template_environment()
    plain = environment.get_template("bounce.txt.j2").render(context)
    html = environment.get_template("bounce.html.j2").render(context)

    policy = _policy_for(sender, bounce_from)
    human = MIMEPart(policy=policy)
    human.set_content(plain, subtype="plain", charset="utf-8", cte="quoted-printable")
    human.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")

    normalised = _crlf(raw)
    boundary, placeholder = _unused_token(normalised, "oopsguard-report"), _unused_token(normalised, "original")
    message = EmailMessage(policy=policy)
    message["From"] = email.utils.formataddr(("oopsguard", bounce_from))
    message["To"] = sender
    message["Subject"] = f"Held for review: {subject or '(no subject)'}"
    message["Date"] = email.utils.format_datetime(_utc(now))
    message["Message-ID"] = email.utils.make_msgid("oopsguard.bounce", domain=_domain(hostname))
    _thread_headers(message, original)
    if release_address:
        message["Reply-To"] = release_address
    message["Auto-Submitted"] = "auto-replied"
    message["X-Oopsguard-Held-Id"] = clean_header_text(held_id, 100)
    message["MIME-Version"] = "1.0"
    if not normalised.isascii():
        message["Content-Transfer-Encoding"] = "8bit"  # the attached original carries 8-bit data
    message["Content-Type"] = f'multipart/report; report-type=delivery-status; boundary="{boundary}"'
    message.preamble = "This is a delivery status report in MIME format."
    message.set_payload([
        human,
        _delivery_status(policy, held_id, rcpt_tos, rules, hostname, arrival or now),
        _original_part(normalised, placeholder),
    ])
    rendered = message.as_bytes(policy=policy)
    attached = normalised if len(normalised) <= MAX_ATTACHED_ORIGINAL else header_block(normalised)
    return rendered.replace(placeholder.encode("ascii"), attached, 1)


def _unused_token(data: bytes, prefix: str) -> str:
    """A random marker that does not occur in `data` (boundaries must never appear inside the original)."""
    while True:
        token = f"{prefix}-{secrets.token_hex(12)}"
        if token.encode("ascii") not in data:
            return token


def mail_options_for(raw: bytes) -> tuple[str, ...]:
    """ESMTP MAIL options a generated message needs: BODY=8BITMIME for 8-bit content, SMTPUTF8 for UTF-8 headers."""
    if raw.isascii():
        return ()
    options = ["BODY=8BITMIME"]
    if not header_block(raw).isascii():
        options.append("SMTPUTF8")
    return tuple(options)


# -- short notices ----------------------------------------------------------------------


def build_notice(kind: str, to: str, subject: str, text: str, bounce_from: str, hostname: str,
                 in_reply_to: str | None, now: datetime | None = None) -> bytes:
    """A short plain-text notice (deferred, released, expired, release refused) sent as an automatic reply."""
    recipient = _safe_address(to)
    policy = _policy_for(recipient, bounce_from)
    message = EmailMessage(policy=policy)
    message["From"] = email.utils.formataddr(("oopsguard", bounce_from))
    message["To"] = recipient
    message["Subject"] = clean_header_text(subject) or "oopsguard notice"
    message["Date"] = email.utils.format_datetime(_utc(now or datetime.now(timezone.utc)))
    message["Message-ID"] = email.utils.make_msgid("oopsguard.notice", domain=_domain(hostname))
    reply_to_id = _message_id(in_reply_to)
    if reply_to_id:
        message["In-Reply-To"] = reply_to_id
        message["References"] = reply_to_id
    message["Auto-Submitted"] = "auto-replied"
    message["X-Oopsguard-Notice"] = clean_header_text(kind, 40)
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    return message.as_bytes(policy=policy)


def deferred_notice_text(subject: str, held_id: str, due_local: str) -> str:
    return (f"Your message \"{clean_header_text(subject)}\" is scheduled, not lost.\n\n"
            f"It follows up on an oops notice sent today, and your team sends such follow-ups on the next "
            f"working day so people can take in the first message before reading about the fix. It will go "
            f"out on {due_local} exactly as you wrote it.\n\n"
            f"Reference: {held_id}. An administrator can send it earlier with `oopsguard held release`.\n")


def release_confirmation_text(subject: str, held_id: str, reason: str) -> str:
    return (f"Your message \"{clean_header_text(subject)}\" has been released and is on its way to its "
            f"recipients.\n\nThe reason you gave was recorded for your team: {clean_header_text(reason, 500)}\n\n"
            f"Reference: {held_id}.\n")


def expiry_notice_text(subject: str, held_id: str, days: int) -> str:
    return (f"Your message \"{clean_header_text(subject)}\" was held for review {plural(days, 'day')} ago and "
            f"was neither corrected nor released, so the held copy has now been deleted. Nothing was sent to "
            f"its recipients.\n\nIf it still needs to go out, write it again; it will be checked as usual.\n\n"
            f"Reference: {held_id}.\n")


REFUSAL_TEXT = {
    "malformed": "The address you replied to is not a release address this proxy issued.",
    "bad signature": "The release address you replied to was not issued by this proxy or has been altered.",
    "expired": "The release address has expired, and the held copy is no longer available for release.",
    "wrong sender": "Only the person who sent the original message can release it, and this reply came "
                    "from a different address.",
    "no reason": "The first line of your reply was empty. Put the reason the message should go out as "
                 "written on the first line, above anything quoted, and reply again.",
    "not held": "The message is no longer waiting for review: it was already released, corrected, dropped "
                "or it expired.",
    "override not allowed": "Your team does not allow held messages to be released as written. Edit the "
                            "message and send it again instead.",
}


def refusal_text(reason: str, held_id: str | None = None) -> str:
    explanation = REFUSAL_TEXT.get(reason, "The release could not be carried out.")
    reference = f"\n\nReference: {held_id}." if held_id else ""
    return f"Nothing was released.\n\n{explanation}{reference}\n"
