"""The annotated bounce: a real RFC 3464 DSN, safe HTML, no header injection, RFC 3834 loop guards."""
from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

import pytest

from proxy.bounce import (
    build_bounce,
    build_notice,
    clean_header_text,
    mail_options_for,
    quote_excerpt,
    refusal_text,
    should_bounce,
    summary_line,
    shown_findings,
)

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
SENDER = "dana@platform.example.com"
LIST = "platform-all@example.com"
TEXT = "Hi all,\nThe deploy failed because Priya forgot the migration.\nSorry if anyone was affected.\n"
ORIGINAL = (
    b"From: Dana Whitfield <dana@platform.example.com>\r\n"
    b"To: platform-all@example.com\r\n"
    b"Subject: [oops] Deploy failed\r\n"
    b"Message-ID: <orig-1@platform.example.com>\r\n"
    b"References: <root@platform.example.com>\r\n"
    b"Date: Tue, 03 Mar 2026 09:58:00 +0000\r\n"
    b"\r\n"
    + TEXT.replace("\n", "\r\n").encode()
)
FINDINGS = [
    {"rule": "non-apology", "severity": "block", "line": 3, "column": 1, "excerpt": "Sorry if",
     "message": "A conditional apology doubts that anyone was hurt.",
     "suggestion": "Sorry: the outage stopped logins for an hour."},
    {"rule": "blame-names", "severity": "block", "line": 2, "column": 27, "excerpt": "Priya forgot",
     "message": "Naming a colleague in a group mail makes them the story.",
     "suggestion": "the migration step was missed"},
    {"rule": "no-update-time", "severity": "warn", "line": 1, "column": 1, "excerpt": "Hi all,",
     "message": "Readers do not know when to expect news.", "suggestion": "Add: next update by 15:00."},
]


def bounce(raw: bytes = ORIGINAL, findings: list[dict[str, object]] = FINDINGS, text: str = TEXT,
           rcpt_tos: tuple[str, ...] = (LIST,), release: str | None = "release+abc234@example.com",
           allow_override: bool = True) -> bytes:
    return build_bounce("H7K2Q9", raw, SENDER, rcpt_tos, findings, text, "oops.example.com",
                        "oopsguard@example.com", release, allow_override, NOW,
                        release_expires=NOW + timedelta(days=14), hold_days=14)


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def human_parts(message: EmailMessage) -> tuple[str, str]:
    human = message.get_payload()[0]  # type: ignore[index]
    assert human.get_content_type() == "multipart/alternative"
    plain = human.get_body(preferencelist=("plain",))
    html = human.get_body(preferencelist=("html",))
    return plain.get_content(), html.get_content()


def test_bounce_is_an_rfc3464_report() -> None:
    data = bounce(rcpt_tos=(LIST, "marcus@example.com"), findings=[FINDINGS[0], FINDINGS[2]])
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")  # CRLF only: ready for SMTP
    message = parse(data)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    parts = message.get_payload()
    assert [p.get_content_type() for p in parts] == ["multipart/alternative", "message/delivery-status",
                                                       "message/rfc822"]
    per_message, *recipients = parts[1].get_payload()
    assert per_message["Reporting-MTA"] == "dns; oops.example.com"
    assert per_message["Arrival-Date"]
    assert [r["Final-Recipient"] for r in recipients] == [f"rfc822; {LIST}", "rfc822; marcus@example.com"]
    for block in recipients:
        assert block["Action"] == "failed"
        assert block["Status"] == "5.7.1"
        assert block["Diagnostic-Code"].startswith("smtp; 550 5.7.1 held for review: H7K2Q9")
        assert "non-apology" in block["Diagnostic-Code"]  # the blocking rules, when they fit on the line


def test_original_is_attached_byte_for_byte() -> None:
    data = bounce()
    assert ORIGINAL in data
    attached = parse(data).get_payload()[2].get_payload()[0]
    assert attached["Message-ID"] == "<orig-1@platform.example.com>"
    assert attached.get_content().replace("\r\n", "\n") == TEXT


def test_original_with_bare_line_feeds_is_attached_with_crlf() -> None:
    data = bounce(raw=ORIGINAL.replace(b"\r\n", b"\n"))
    assert data.count(b"\n") == data.count(b"\r\n")
    assert ORIGINAL in data


def test_huge_original_is_summarised_by_its_headers() -> None:
    body = (b"x" * 998 + b"\r\n") * 10_600  # just over 10 MB
    data = bounce(raw=ORIGINAL + body)
    assert len(data) < 1_000_000
    part = parse(data).get_payload()[2]
    assert part.get_content_type() == "text/rfc822-headers"
    assert b"Message-ID: <orig-1@platform.example.com>" in data and b"x" * 998 not in data


def test_headers_thread_and_mark_the_bounce_as_automatic() -> None:
    message = parse(bounce())
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<orig-1@platform.example.com>"
    assert message["References"].split() == ["<root@platform.example.com>", "<orig-1@platform.example.com>"]
    assert message["Reply-To"] == "release+abc234@example.com"
    assert message["To"] == SENDER
    assert message["From"].addresses[0].addr_spec == "oopsguard@example.com"
    assert message["Subject"] == "Held for review: [oops] Deploy failed"
    assert message["Message-ID"].endswith("@oops.example.com>")
    assert message["Date"].datetime == NOW


def test_no_reply_to_without_release_address_and_no_override_text() -> None:
    message = parse(bounce(release=None, allow_override=False))
    assert message["Reply-To"] is None
    plain, html = human_parts(message)
    assert "X-Oops-Override" not in plain and "X-Oops-Override" not in html
    assert "first line of your reply" not in plain
    assert "does not allow" in plain


def test_human_part_shows_each_finding_in_place() -> None:
    plain, html = human_parts(parse(bounce()))
    assert plain.startswith("2 things to change before this goes to platform-all@example.com")
    lines = plain.splitlines()
    quoted = lines.index("      The deploy failed because Priya forgot the migration.")
    assert lines[quoted + 1] == "      " + " " * 26 + "^" * len("Priya forgot")
    assert plain.index("non-apology") < plain.index("no-update-time")  # blocking findings first
    assert "Line 2" in plain and "Why it matters: Naming a colleague" in plain
    assert "Try instead:    the migration step was missed" in plain
    assert "X-Oops-Override: <your reason>" in plain
    assert "dana@platform.example.com" in plain and "17 March 2026" in plain
    assert '<mark style="background: #ffe08a; color: #1f2328; font-weight: bold;">Priya forgot</mark>' in html
    assert "X-Oops-Override: &lt;your reason&gt;" in html


def test_summary_pluralises_and_names_the_audience() -> None:
    one = shown_findings(FINDINGS[:1], TEXT)
    assert summary_line(one, [LIST]) == "1 thing to change before this goes to platform-all@example.com"
    assert summary_line(one, [LIST, "b@x", "c@x"]) == "1 thing to change before this goes to 3 recipients"
    assert summary_line(one, [LIST, "b@x"], recipients_label=LIST).endswith(f"goes to {LIST}")
    everything = shown_findings(FINDINGS, TEXT)
    assert summary_line(everything, [LIST]).endswith("(and 1 suggestion worth a look)")


def test_script_in_the_body_is_escaped_in_html_and_plain_in_text() -> None:
    text = "We are sorry if <script>alert(1)</script> broke anything.\n"
    raw = ORIGINAL.split(b"\r\n\r\n")[0] + b"\r\n\r\n" + text.encode().replace(b"\n", b"\r\n")
    findings = [{"rule": "non-apology", "severity": "block", "line": 1, "column": 8,
                 "excerpt": "sorry if <script>alert(1)</script>", "message": "<b>why</b>", "suggestion": "<i>fix</i>"}]
    plain, html = human_parts(parse(bounce(raw=raw, findings=findings, text=text)))
    assert "<script>" not in html and "<b>why</b>" not in html and "<i>fix</i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;why&lt;/b&gt;" in html
    assert "<script>alert(1)</script>" in plain and "&lt;" not in plain  # text is not HTML-escaped


def test_encoded_crlf_in_subject_cannot_inject_a_header() -> None:
    raw = ORIGINAL.replace(b"Subject: [oops] Deploy failed",
                           b"Subject: =?utf-8?q?Oops=0D=0ABcc:_victim@evil.example?=")
    data = bounce(raw=raw)
    headers = data.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in headers.split(b"\r\n"))
    message = parse(data)
    assert message["Bcc"] is None
    assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
    assert message["Subject"] == "Held for review: Oops Bcc: victim@evil.example"


def test_non_ascii_subject_is_re_encoded() -> None:
    raw = ORIGINAL.replace(b"Subject: [oops] Deploy failed",
                           b"Subject: =?utf-8?b?w5xiZXJ3ZWlzdW5nIGZlaGxnZXNjaGxhZ2Vu?=")
    data = bounce(raw=raw)
    assert data.split(b"\r\n\r\n", 1)[0].isascii()
    assert parse(data)["Subject"] == "Held for review: \u00dcberweisung fehlgeschlagen"


def test_eight_bit_original_is_declared() -> None:
    raw = ORIGINAL.replace(b"Priya forgot", "Jos\u00e9 forgot".encode())
    data = bounce(raw=raw)
    assert raw in data
    assert mail_options_for(data) == ("BODY=8BITMIME",)
    assert mail_options_for(bounce()) == ()


def test_quote_windows_long_lines_and_tolerates_wrong_positions() -> None:
    line = "a" * 500 + " Priya forgot " + "b" * 500
    quote = quote_excerpt(line, 1, 502, "Priya forgot")
    assert quote is not None and quote.marked == "Priya forgot" and len(quote.line) < 120
    assert quote.before.startswith("\u2026") and quote.after.endswith("\u2026")
    moved = quote_excerpt("x\nsee Priya forgot\n", 2, 40, "Priya forgot")
    assert moved is not None and moved.marked == "Priya forgot"
    assert quote_excerpt("x\n", 9, 1, "Priya") is None


@pytest.mark.parametrize("headers, mail_from", [
    (b"Subject: x\r\n\r\n", ""),
    (b"Subject: x\r\n\r\n", "<>"),
    (b"Auto-Submitted: auto-generated\r\n\r\n", SENDER),
    (b"Auto-Submitted: auto-replied (vacation)\r\n\r\n", SENDER),
    (b"Precedence: bulk\r\n\r\n", SENDER),
    (b"Precedence: LIST\r\n\r\n", SENDER),
    (b"Precedence: junk\r\n\r\n", SENDER),
    (b"X-No-Ack: yes\r\n\r\n", SENDER),
    (b"List-Id: <platform.example.com>\r\n\r\n", SENDER),
    (b"List-Unsubscribe: <mailto:x@example.com>\r\n\r\n", SENDER),
    (b"Subject: x\r\n\r\n", "MAILER-DAEMON@example.com"),
    (b"X-Auto-Response-Suppress: All\r\n\r\n", SENDER),
])
def test_should_bounce_refuses_automatic_and_list_mail(headers: bytes, mail_from: str) -> None:
    assert should_bounce(headers, mail_from) is False


def test_should_bounce_accepts_ordinary_mail() -> None:
    assert should_bounce(ORIGINAL, SENDER) is True
    assert should_bounce(b"Auto-Submitted: no\r\nPrecedence: first-class\r\n\r\n", SENDER) is True
    assert should_bounce({"Subject": "x"}, SENDER) is True


def test_bounce_refuses_a_null_sender() -> None:
    with pytest.raises(ValueError):
        build_bounce("H", ORIGINAL, "<>", [LIST], FINDINGS, TEXT, "h", "b@x", None, False, NOW)


def test_notice_is_a_short_automatic_reply() -> None:
    data = build_notice("release-refused", SENDER, "Release refused: =?utf-8?q?a=0D=0ABcc:_x@evil?=",
                        refusal_text("wrong sender", "H7K2Q9"), "oopsguard@example.com", "oops.example.com",
                        "<bounce-1@oops.example.com>", NOW)
    message = parse(data)
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == "<bounce-1@oops.example.com>"
    assert message["Bcc"] is None and message["Subject"] == "Release refused: a Bcc: x@evil"
    assert message.get_content_type() == "text/plain"
    assert "different address" in message.get_content()


def test_clean_header_text_drops_control_characters() -> None:
    assert clean_header_text("a\x1b[31mred\x00\u2028b") == "a [31mred b"
    assert len(clean_header_text("x" * 1000)) == 200
