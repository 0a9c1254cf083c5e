"""Every SMTP reply the proxy writes itself, as named constants and small builders."""
from __future__ import annotations

from typing import Iterable

from checks.model import Finding

# Greeting-phase and envelope replies.
REPLY_MAIL_OK = "250 2.1.0 Sender OK"
REPLY_RCPT_OK = "250 2.1.5 Recipient OK"
REPLY_NOT_ALLOWED = "550 5.7.1 Relaying denied: client address not allowed"
REPLY_TOO_MANY_RCPTS = "452 4.5.3 Too many recipients"
REPLY_TOO_BIG = "552 5.3.4 Message too big"
REPLY_LINE_TOO_LONG = "500 5.5.2 Line too long: a line of the message exceeds 1 MiB"
REPLY_SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
REPLY_BAD_ADDRESS = "501 5.1.7 Address contains characters that cannot be relayed"
REPLY_NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII address given without SMTPUTF8"
# The client asked for SMTPUTF8 / 8BITMIME but the upstream does not offer it: the proxy does not downgrade
# (rewriting addresses or bodies would change the message), so it refuses precisely instead.
REPLY_SMTPUTF8_UNSUPPORTED = "550 5.6.7 SMTPUTF8 mail cannot be relayed: the upstream server does not support it"
REPLY_8BITMIME_UNSUPPORTED = "550 5.6.3 8-bit mail cannot be relayed: the upstream server does not support 8BITMIME"

# Upstream trouble: all temporary, so the client keeps the message and retries.
REPLY_UPSTREAM_UNAVAILABLE = "451 4.4.1 Upstream unavailable, try again later"
REPLY_UPSTREAM_LOST = "451 4.4.2 Connection to upstream lost, try again later"
REPLY_UPSTREAM_BUSY = "451 4.4.5 All upstream connections busy, try again later"
REPLY_UPSTREAM_BAD_ANSWER = "451 4.4.0 Upstream gave an unexpected answer, try again later"
REPLY_LOCAL_STORE_FAILED = "451 4.3.0 Could not store the message, try again later"

# Checking failed for this one message (a bug or a pathological message): temporary, nothing is lost.
REPLY_CHECK_FAILED = "451 4.3.0 Temporary problem while checking the message, try again later"
REPLY_LOCAL_ERROR = "451 4.3.0 Temporary local problem, try again later"

# Outcomes of a check.
REPLY_HELD = "250 2.0.0 held for review: {id}"
REPLY_DEFERRED = "250 2.0.0 deferred until {when}: {id}"
# An override header with nothing after the colon on a message that would be held: the reason is the point
# of an override (it is recorded for the team), so an empty one is refused rather than taken as "no override".
REPLY_OVERRIDE_NEEDS_REASON = ("550 5.7.1 Not sent: the X-Oops-Override header needs a reason after the colon"
                               " (why this may go out as written); add one, or fix the message and send it again")

# Release by replying to a bounce. The release address is checked at RCPT time and the reply never goes upstream.
REPLY_RELEASED = "250 2.0.0 released: {id}"
REPLY_RELEASE_SEPARATELY = ("550 5.7.1 A release reply must go to the release address alone: send it on its own"
                            " and mail the other recipients separately")
# 452 rather than 550: RFC 5321 clients send the recipients refused this way in a later transaction.
REPLY_RELEASE_ONE_AT_A_TIME = "452 4.5.3 One release address per message, send the next release reply separately"
REPLY_RELEASE_MALFORMED = "550 5.7.1 Nothing released: this is not a release address issued by this proxy"
REPLY_RELEASE_FORGED = ("550 5.7.1 Nothing released: the release address was not signed by this proxy"
                        " or has been altered")
REPLY_RELEASE_EXPIRED = "550 5.7.1 Nothing released: the release address for {id} has expired"
REPLY_RELEASE_WRONG_SENDER = ("550 5.7.1 Nothing released: only the original sender of {id} can release it,"
                              " reply from that address")
REPLY_RELEASE_REPLAYED = "550 5.7.1 Nothing released: this release address was already used for {id}"
REPLY_RELEASE_NOT_HELD = "550 5.7.1 Nothing released: {id} is no longer waiting for review"
REPLY_RELEASE_NO_REASON = ("550 5.7.1 Nothing released: write the reason for releasing {id} on the first line"
                           " of your reply, above the quoted text")
REPLY_RELEASE_NOT_ALLOWED = ("550 5.7.1 Nothing released: your team does not allow held messages to go out"
                             " unchanged; edit {id} and send it again")

# Multi-line refusal for on_block = "reject" (and, until the store exists, for hold and defer).
REJECT_CODE = "550"
REJECT_STATUS = "5.7.1"
REJECT_INTRO = "Message {id} not sent: it breaks {count} of your team's rules for apology and oops mail"
REJECT_FINDING = "line {line} [{rule}] \"{excerpt}\": {message}"
REJECT_FIX = "-> fix: {suggestion}"
REJECT_OUTRO = "Edit the message and send it again; run `oopsguard check` on it to see every finding"
REJECT_DEFER_OUTRO = "Send this update on the next working day, or fold it into your first notice"

# An SMTP reply line may be at most 512 octets including the code and CRLF (RFC 5321 4.5.3.1.5).
MAX_REPLY_TEXT = 400
MAX_EXCERPT = 60
MAX_FINDINGS_LISTED = 20


def held(message_id: str) -> str:
    return REPLY_HELD.format(id=message_id)


def deferred(message_id: str, when: str) -> str:
    return REPLY_DEFERRED.format(id=message_id, when=when)


def released(message_id: str) -> str:
    return REPLY_RELEASED.format(id=message_id)


def release_refused(template: str, message_id: str | None) -> str:
    """One of the REPLY_RELEASE_* refusals, naming the held message when the token told us which it was."""
    return template.format(id=reply_safe(message_id or "the held message", 60))


def reply_safe(text: str, limit: int = MAX_REPLY_TEXT) -> str:
    """One line of reply text: ASCII only (the client may not speak SMTPUTF8), no control characters, bounded."""
    if len(text) <= limit and text.isascii() and text.isprintable() and "  " not in text and text == text.strip():
        return text  # the usual case (every upstream 250), without the per-character walk
    cleaned = "".join(ch if " " <= ch <= "~" else ("?" if ord(ch) > 127 else " ") for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def multiline(code: str, status: str, lines: Iterable[str]) -> str:
    """A multi-line reply: `550-5.7.1 a`, ..., `550 5.7.1 z`, joined with CRLF (aiosmtpd adds the last CRLF)."""
    texts = [reply_safe(line) for line in lines] or [""]
    out = [f"{code}-{status} {text}" for text in texts[:-1]]
    out.append(f"{code} {status} {texts[-1]}")
    return "\r\n".join(out)


def rejection(findings: Iterable[Finding], message_id: str, deferred_only: bool = False) -> str:
    """The 550 5.7.1 refusal listing each finding with its rule, line, excerpt, why and fix."""
    listed = list(findings)
    lines = [REJECT_INTRO.format(id=message_id, count=len({f.rule for f in listed}))]
    for finding in listed[:MAX_FINDINGS_LISTED]:
        lines.append(REJECT_FINDING.format(
            line=finding.span.line,
            rule=finding.rule,
            excerpt=reply_safe(finding.excerpt, MAX_EXCERPT),
            message=finding.message,
        ))
        if finding.suggestion:
            lines.append(REJECT_FIX.format(suggestion=finding.suggestion))
    if len(listed) > MAX_FINDINGS_LISTED:
        lines.append(f"... and {len(listed) - MAX_FINDINGS_LISTED} more")
    lines.append(REJECT_DEFER_OUTRO if deferred_only else REJECT_OUTRO)
    return multiline(REJECT_CODE, REJECT_STATUS, lines)


def mirror(code: int, text: str) -> str:
    """Repeat an upstream reply to our client; multi-line replies keep their lines (aiosmtplib joins them with LF)."""
    lines = [reply_safe(line) for line in text.split("\n")] or [""]
    out = [f"{code}-{line}" for line in lines[:-1]]
    out.append(f"{code} {lines[-1]}".rstrip())
    return "\r\n".join(out)
