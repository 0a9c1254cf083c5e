"""parse_message: headers, decoding, the sender's new words, signatures, greetings, and robustness on real corpora."""
from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timezone
from pathlib import Path

import pytest

from checks.message import (
    QuickBody,
    decode_bytes,
    decode_header_value,
    extract_new_text,
    html_to_text,
    parse_message,
    quick_body,
    text_regions,
)
from checks.model import Address, ParsedMessage

DATA = Path(__file__).resolve().parent / "data"
CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
EDGE_CORPORA = ("mikel-mail-fixtures", "mime4j-testmsgs")
HAM_CORPORA = ("spamassassin-ham", "usrp-users-list")


def parsed(name: str) -> ParsedMessage:
    return parse_message((DATA / name).read_bytes())


# file, words that must be in text, words that must not be, words that must be in the signature, greeting lines
FIXTURES = [
    (
        "parse-html-only.eml",
        ["Hi Marcus and Priya,", "wrote the wrong totals into the finance sheet", "We're sorry for the confusion",
         "shared folder & the old one", "Next update: Thursday 10:00."],
        ["var sorry", "ignored title", "color: red", "disaster", "wrote:", "Platform team", "&nbsp;", "&amp;"],
        ["Dana Whitfield", "Platform team"],
        {0},
    ),
    (
        "parse-base64.eml",
        ["We apologize: the maintenance notice went out with the wrong date.", "The window is Saturday"],
        ["Dana"],
        ["Dana"],
        {0},
    ),
    (
        "parse-quoted-printable.eml",
        ["I\u2019m sorry that your refund took three weeks.", "We misrouted the request", "sent it to\nbilling"],
        ["=E2", "mis=", "Best,"],
        ["Best,", "Dana"],
        {0},
    ),
    (
        "parse-iso-8859-1.eml",
        ["Bonjour Hélène,", "Le rapport envoyé hier contenait une erreur. Désolé."],
        ["Renée", "Équipe"],
        ["Renée Dubois", "Équipe données"],
        {0},
    ),
    (
        "parse-windows-1252.eml",
        ["We\u2019re sorry \u2013 yesterday\u2019s invoice showed the \u201cwrong\u201d VAT rate."],
        ["\x92", "\x96", "Billing Team"],
        ["Kind regards,", "The Billing Team"],
        {0},
    ),
    (
        "parse-unknown-charset.eml",
        ["Hi Jürgen,", "Oops \u2014 the link in my last message was broken."],
        ["Cheers", "From dana@"],
        ["Cheers,", "Dana"],
        {0},
    ),
    (
        "parse-reply-on-wrote.eml",
        ["That was my mistake: I pushed the config to production", "It is rolled back now."],
        ["wrote:", "Sorry to bother you", "alerts are firing", "On Tue", "<dana@"],
        [],
        {0},
    ),
    (
        "parse-outlook-reply.eml",
        ["Hi Priya,", "The numbers in the dashboard are fine now."],
        ["From:", "Sent:", "we apologize", "chart is wrong", "____"],
        ["Regards,", "Marcus Ortega", "Platform team"],
        {0},
    ),
    (
        "parse-forwarded.eml",
        ["FYI, see below. Nothing to do for now."],
        ["Forwarded", "outage", "We are sorry", "Vendor Support"],
        [],
        set(),
    ),
    (
        "parse-signature-dashes.eml",
        ["Team,", "listed an incorrect version number", "Please disregard the earlier email"],
        ["Platform lead", "+49", "Dana Whitfield"],
        ["Dana Whitfield", "Platform lead | +49 30 1234567"],
        {0},
    ),
    (
        "parse-signature-best.eml",
        ["Hey all --", "the nightly backup finished at 04:10", "Next report tomorrow."],
        ["Best,"],
        ["Best,", "Dana"],
        {0},
    ),
    (
        "parse-outlook-html.eml",
        ["Good morning everyone,", "We accidentally emailed the draft agenda to the customer list."],
        ["From:", "Draft agenda, sorry it is late", "Sent:"],
        [],
        {0},
    ),
]


@pytest.mark.parametrize(("name", "present", "absent", "signature", "greetings"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_fixture_text_signature_and_greetings(
    name: str, present: list[str], absent: list[str], signature: list[str], greetings: set[int]
) -> None:
    message = parsed(name)
    for words in present:
        assert words in message.text, f"{words!r} missing from text of {name}:\n{message.text}"
    for words in absent:
        assert words not in message.text, f"{words!r} should not be in text of {name}:\n{message.text}"
    for words in signature:
        assert words in message.signature, f"{words!r} missing from signature of {name}:\n{message.signature}"
    assert message.greeting_lines == frozenset(greetings)
    assert message.text == message.text.strip("\n") and "\r" not in message.text


def test_fixture_line_structure_is_kept() -> None:
    lines = parsed("parse-html-only.eml").text.split("\n")
    assert lines[0] == "Hi Marcus and Priya,"
    assert lines[1] == ""
    assert lines[2].startswith("The export job")
    assert lines[4] == "Next update: Thursday 10:00."


def test_headers_people_and_thread_ids() -> None:
    message = parsed("parse-reply-on-wrote.eml")
    assert message.sender == Address("Marcus Ortega", "marcus@platform.example.com")
    assert message.to == (Address("Dana Whitfield", "dana@platform.example.com"),)
    assert message.subject == "Re: production config"
    assert message.message_id == "<r1@example.com>"
    assert message.in_reply_to == "<q1@example.com>"
    assert message.references == ("<q0@example.com>", "<q1@example.com>")
    assert message.date == datetime(2026, 11, 17, 8, 41, tzinfo=timezone.utc)
    assert message.header("Content-Type") == "text/plain; charset=us-ascii"
    assert message.display_names == ("Marcus Ortega", "Dana Whitfield")


def test_encoded_words_in_subject_and_names() -> None:
    message = parsed("parse-iso-8859-1.eml")
    assert message.subject == "Rapport erroné"
    assert message.sender == Address("Renée Dubois", "renee@data.example.com")
    assert message.to[0].name == "Hélène"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=?utf-8?q?Entschuldigung_f=C3=BCr?= den Fehler", "Entschuldigung für den Fehler"),
        ("=?x-unknown?b?U29ycnk=?=", "Sorry"),
        ("=?utf-8?b?!!!not-base64?=", "=?utf-8?b?!!!not-base64?="),
        ("=?iso-8859-1?q?caf=E9?=\r\n =?iso-8859-1?q?_cr=E8me?=", "café crème"),
        ("plain\r\n folded", "plain folded"),
        ("Caf\udce9 8-bit", "Café 8-bit"),  # a raw Latin-1 byte kept as a surrogate by the parser
    ],
)
def test_decode_header_value(value: str, expected: str) -> None:
    assert decode_header_value(value) == expected


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("naïve".encode("utf-8"), "utf-8", "naïve"),
        ("naïve".encode("iso-8859-1"), "iso-8859-1", "naïve"),
        (b"it\x92s", "us-ascii", "it\u2019s"),  # Windows bytes under an ASCII label
        (b"it\x92s", "iso-8859-1", "it\u2019s"),
        ("naïve".encode("utf-8"), "iso-8859-1", "naïve"),  # UTF-8 mislabelled as Latin-1
        ("naïve".encode("utf-8"), "x-unknown", "naïve"),
        (b"caf\xe9", "x-unknown", "café"),
        (b"caf\xe9", "utf-8", "café"),  # wrong label: UTF-8 fails, Windows-1252 decodes
        (b"\x81\x8d", None, "\x81\x8d"),  # bytes undefined in Windows-1252 fall back to Latin-1
        ("日本語".encode("shift_jis"), "shift_jis", "日本語"),
        ("한국어".encode("cp949"), "ks_c_5601-1987", "한국어"),
        (b"\\x73orry", "unicode-escape", "\\x73orry"),  # escape codecs are refused
        (b"abc", "base64", "abc"),  # bytes-to-bytes codecs are not text encodings
    ],
)
def test_decode_bytes_fallbacks(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(data, charset) == expected


@pytest.mark.parametrize(
    ("body", "text", "signature"),
    [
        ("Thanks for the fix.\n\nAm 16.11.2026 um 10:00 schrieb Dana Whitfield <dana@x.de>:\n> alt\n", "Thanks for the fix.", ""),
        ("Merci.\n\nLe lun. 16 nov. 2026 à 10:00, Dana <dana@x.fr> a écrit :\n> ancien texte\n", "Merci.", ""),
        ("New words.\n\nOn Monday, Dana wrote:\nunquoted original text\nmore original\n", "New words.", ""),
        ("Short reply.\n\n-----Original Message-----\nFrom: x\nSent: y\nTo: z\nSubject: q\n\nold text", "Short reply.", ""),
        ("See below.\n\nBegin forwarded message:\n\nFrom: a\nold", "See below.", ""),
        ("Top.\n\n> quoted\n> more\n\nMiddle reply.\n> again\nEnd reply.", "Top.\n\nMiddle reply.\n\nEnd reply.", ""),
        ("Done.\n_______________________________________________\nUSRP-users mailing list\nhttps://lists.example/listinfo", "Done.", ""),
        ("All fixed now.\n\n\u2014 Dana", "All fixed now.", "\u2014 Dana"),
        ("All fixed now.\n\nThanks, Dana", "All fixed now.", "Thanks, Dana"),
        ("All fixed now.\n\nCheers,\nDana\nPlatform team\nSent from my phone", "All fixed now.", "Cheers,\nDana\nPlatform team\nSent from my phone"),
        ("Thank you for your patience,\nDana", "Thank you for your patience,\nDana", ""),
        ("Line one.\n--\nsig", "Line one.", "--\nsig"),
        ("Best,\nDana", "", "Best,\nDana"),
    ],
)
def test_extract_new_text(body: str, text: str, signature: str) -> None:
    got_text, got_signature, _ = extract_new_text(body)
    assert got_text == text
    assert got_signature == signature


@pytest.mark.parametrize(
    ("body", "greetings"),
    [
        ("Hi Dana,\n\nText.", {0}),
        ("Hello team,\nText.", {0}),
        ("Dear Marcus and Priya,\n\nText.", {0}),
        ("Hey all \u2014\n\nText.", {0}),
        ("Morning folks,\n\nText.", {0}),
        ("Dana,\n\nText.", {0}),
        ("Good morning everyone!\nText.", {0}),
        ("Hi Dana, sorry for the delay in replying.\nText.", set()),
        ("Hi Dana, the outage was caused by a bad deploy.", set()),
        ("Dana broke the build,\nText.", set()),
        ("The build is green.\nHi Dana,", set()),
        ("\n\nHi there,\nText.", {0}),
    ],
)
def test_greeting_lines(body: str, greetings: set[int]) -> None:
    assert extract_new_text(body)[2] == frozenset(greetings)


def test_html_quotes_signatures_and_pre() -> None:
    markup = (
        "<p>New&nbsp;text<br>second line</p><pre>  keep   spacing\n  here</pre>"
        "<blockquote type=cite><div>On Mon, Dana wrote:</div>old words</blockquote><p>after quote</p>"
        "<div class=moz-signature>Dana</div>"
    )
    text = html_to_text(markup)
    assert text.split("\n")[:4] == ["New text", "second line", "keep   spacing", "here"]
    assert "> old words" in text
    assert "after quote" in text
    assert text.rstrip().endswith("-- \nDana") or text.rstrip().endswith("--\nDana")
    new_text, signature, _ = extract_new_text(text)
    assert "old words" not in new_text and "after quote" in new_text and signature.endswith("Dana")


def test_html_inline_tags_and_comments() -> None:
    markup = (
        '<div>Sor<b>ry</b> for the <span style="x">outage</span><!-- <p>not a block</p> --></div>'
        '<a title="<p>">link</a><p>a &lt; b &amp; c</p><script>var sorry = "<p>";</script><p>end</p>'
    )
    assert html_to_text(markup).split("\n") == ["Sorry for the outage", '">link', "a < b & c", "end"]
    # A quote or signature marker anywhere switches on the slow path, which reads every tag: same words.
    assert html_to_text(markup + "<!-- blockquote -->") == html_to_text(markup)


def test_html_tokenizer_is_linear_on_hostile_markup() -> None:
    # html.parser goes quadratic on these; the tokenizer must finish them in one pass.
    for markup in ("<a " * 200_000, "<!--" * 100_000, "<" * 300_000, "<script>" + "</" * 200_000, "<div>" * 200_000 + "x"):
        assert isinstance(html_to_text(markup), str)


def test_mbox_line_dates_and_references() -> None:
    raw = (
        b"From someone@example.com Thu Jan  1 00:00:00 2026\n"
        b"From: a@example.com\nTo: b@EXAMPLE.com\nDate: Thu, 1 Jan 2026 10:00:00 -0000\n"
        b"References: bare-id-without-brackets\n\nHello.\n"
    )
    message = parse_message(raw)
    assert message.sender == Address("", "a@example.com")
    assert message.to == (Address("", "b@example.com"),)
    assert message.date == datetime(2026, 1, 1, 10, tzinfo=timezone.utc)
    assert message.references == ("bare-id-without-brackets",)
    assert message.text == "Hello."
    assert parse_message(b"Date: not a date\n\nx").date is None


def test_defects_are_named() -> None:
    raw = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nsorry\n"
    message = parse_message(raw)
    assert message.text == "sorry"
    assert "CloseBoundaryNotFoundDefect" in message.defects


def test_huge_message_is_capped() -> None:
    attachment = base64.encodebytes(b"\x00\x01binary" * 2_500_000)
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n"
        b"We made a mistake.\n--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n"
        + attachment + b"--XX--\n"
    )
    assert len(raw) > 20_000_000
    message = parse_message(raw)
    assert message.text == "We made a mistake."
    assert "TruncatedForParsing" in message.defects
    huge_text = parse_message(b"From: a@example.com\n\n" + b"a line of words\n" * 1_500_000)
    assert len(huge_text.text) <= 2 * 1024 * 1024


@pytest.mark.parametrize(
    "raw",
    [b"", b"\n\n\n", b"no headers at all", b"From \n", b"Content-Type: text/html\n\n<", b"\xff\xfe\x00\x01" * 100,
     b"Content-Type: multipart/alternative\n\nno boundary", b"Content-Transfer-Encoding: base64\n\n!!!!",
     b"Content-Type: text/plain; charset=\"utf-16\"\nContent-Transfer-Encoding: base64\n\n//5oAGkA"],
)
def test_garbage_never_raises(raw: bytes) -> None:
    message = parse_message(raw)
    assert isinstance(message, ParsedMessage)
    assert not any(defect.startswith("ParserError") for defect in message.defects)


def _corpus_files(folder: str) -> list[Path]:
    root = CORPORA / folder
    if not root.is_dir():
        pytest.skip(f"corpus {root} is not available")
    return [p for p in sorted(root.rglob("*")) if p.is_file() and p.name not in ("MANIFEST.tsv", "SOURCE.txt")]


def _every_message_path() -> list[Path]:
    """The .eml fixtures and every message of the shared corpora that are present."""
    paths = sorted(DATA.rglob("*.eml"))
    for folder in EDGE_CORPORA + HAM_CORPORA:
        if (CORPORA / folder).is_dir():
            paths += _corpus_files(folder)
    return paths


@pytest.mark.parametrize("folder", EDGE_CORPORA + HAM_CORPORA)
def test_corpus_parses_without_errors(folder: str) -> None:
    files = _corpus_files(folder)
    assert files
    for path in files:
        message = parse_message(path.read_bytes())
        assert isinstance(message.text, str), path
        crashes = [d for d in message.defects if d.startswith(("ParserError", "RecursionLimit"))]
        assert not crashes, f"{path}: {crashes}"


def test_bulk_footers_end_the_new_text_only_near_the_bottom() -> None:
    footer = "\n\nYou are receiving this email because you signed up.\nTo unsubscribe, click here.\nManage preferences\n"
    text, _, _ = extract_new_text("Hello all,\n\nThe release moved to Friday." + footer)
    assert text == "Hello all,\n\nThe release moved to Friday."
    # The same words at the top of a long body are a header line of the newsletter, not its footer.
    top = "To unsubscribe, click here.\n\n" + "\n".join(f"Item {n}: details of the item." for n in range(80))
    assert extract_new_text(top)[0].startswith("To unsubscribe")


def _quick_text(raw: bytes) -> str | None:
    body = quick_body(raw)
    return None if body is None else body.new_text()


def test_quick_body_matches_the_full_parse_on_every_corpus_message() -> None:
    """The prefilter's stage 2 relies on it: the quick MIME split yields exactly the parser's new text."""
    paths = _every_message_path()
    assert len(paths) > 400
    quick = 0
    for path in paths:
        raw = path.read_bytes()
        text = _quick_text(raw)
        if text is not None:
            quick += 1
            assert text == parse_message(raw).text, path
    # Only odd MIME (bare CR line ends, digests, broken boundaries) is left to the full parse.
    assert quick > len(paths) * 0.9, quick


# MIME the quick split does not reproduce exactly: the full parse takes it.
ODD_MIME = [
    b"From: a@example.com\r\nSubject: x\rbare CR\r\n\r\nbody\r\n",
    b"From: a@example.com\nContent-Type: multipart/mixed\n\nno boundary\n",
    b"From: a@example.com\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: b\n\nx\n--d--\n",
    b"From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\nthe start boundary is missing\n",
    b"Content-Type: message/rfc822\n\nFrom: b@example.com\n\ninner\n",
    b" continuation first\nFrom: a@example.com\n\nbody\n",
    b"From: a@example.com\nContent-Type: multipart/mixed; boundary*=utf-8''zz\n\n--zz\n\nx\n--zz--\n",
    b"From: a@example.com\nContent-Type: multipart/mixed; boundary=\"a\\\"b\"\n\n--a\"b\n\nx\n--a\"b--\n",
    b"From: a@example.com\nContent-Type: text\n\nthe stdlib reads this as text/plain\n",
]


@pytest.mark.parametrize("raw", ODD_MIME)
def test_quick_body_leaves_odd_mime_to_the_full_parse(raw: bytes) -> None:
    assert quick_body(raw) is None
    assert isinstance(parse_message(raw), ParsedMessage)


@pytest.mark.parametrize(
    "raw",
    [
        b"From: Dana <dana@example.com>\n\nWe are sorry.\n",
        b"From: a@example.com\nContent-Type: multipart/alternative; boundary=\"b\"\n\npreamble\n--b\n"
        b"Content-Type: text/html\n\n<p>html first</p>\n--b\n--b\nContent-Type: text/plain\n\nplain wins\n--b--\nepilogue\n",
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative;"
        b" boundary=i\n\n--i\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
        b"Caf=E9 closed, sorry.=\n\n--i--\n--o\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\n"
        b"not this\n--o--\n",
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nno close\n",
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nbody without headers\n--zz--\n",
        b"From: a@example.com\r\nContent-Type: text/plain\r\n\r\nCRLF line\r\nsecond\r\n",
        b"From: Dana Whitfield <dana@example.com>\n\nThe numbers are in.\n\nDana\n",  # the name tells the signature
        b"From : Dana Whitfield <dana@example.com>\n\nThe numbers are in.\n\nDana\n",
        b"From: a@example.com\nNot a header line\nSubject: x\n\nbody\n",  # the body starts at the odd line
        b"From: a@example.com\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        b"PHA+V2UgYXJlIHNvcnJ5IGZvciB0aGUgb3V0YWdlLjwvcD4=\n",
    ],
)
def test_quick_body_agrees_on_mime_shapes(raw: bytes) -> None:
    assert _quick_text(raw) == parse_message(raw).text


def test_ham_bodies_are_found() -> None:
    files = _corpus_files("spamassassin-ham")
    empty = [p for p in files if not parse_message(p.read_bytes()).text]
    assert len(empty) < len(files) * 0.02, empty[:5]


# ------------------------------------------------------------------------------------ text regions


def _chosen_payload(raw: bytes) -> bytes | None:
    """The chosen body part's body as sent, read from the stdlib's full parse (the reference)."""
    from email.parser import BytesParser
    from email.policy import compat32

    from checks.message import _body_part, _raw_payload, _strip_mbox_line

    part, _ = _body_part(BytesParser(policy=compat32).parsebytes(_strip_mbox_line(raw)))
    return None if part is None else _raw_payload(part, 1 << 30)


def test_text_regions_hold_the_chosen_part_on_every_corpus_message() -> None:
    """Stage 1 scans only these regions, so the part the parser picks must always be one of them."""
    paths = _every_message_path()
    assert len(paths) > 400
    located = 0
    scanned = total = 0
    for path in paths:
        raw = path.read_bytes()
        result = text_regions(raw)
        if result is None:
            continue
        located += 1
        body, regions = result.raw, result.regions
        total += len(body)
        scanned += sum(region.end - region.start for region in regions)
        payload = _chosen_payload(raw)
        if payload is not None:
            assert any(body[region.start:region.end] == payload for region in regions), path
    assert located > len(paths) * 0.95, located
    # Headers and attachments are most of the bytes of real mail; the scan skips them.
    assert scanned < total * 0.6, (scanned, total)


@pytest.mark.parametrize("raw", ODD_MIME)
def test_text_regions_leave_odd_mime_to_a_whole_scan(raw: bytes) -> None:
    assert text_regions(raw) is None


def test_text_regions_skip_headers_attachments_and_forwarded_messages() -> None:
    raw = (
        b"From: a@example.com\nSubject: sorry, wrong file\nContent-Type: multipart/mixed; boundary=\"Outer\"\n\n"
        b"preamble sorry\n--Outer\nContent-Type: multipart/alternative; boundary=Inner\n\n--Inner\n"
        b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSGVsbG8=\n--Inner\n"
        b"Content-Type: text/html\n\n<p>Hello</p>\n--Inner--\n--Outer\nContent-Type: application/pdf\n\n"
        b"sorry in a pdf\n--Outer\nContent-Type: message/rfc822\n\nFrom: b@example.com\n\nsorry, forwarded\n"
        b"--Outer--\nepilogue sorry\n"
    )
    located = text_regions(raw)
    assert located is not None
    body, regions = located.raw, located.regions
    assert [(r.content_type, r.encoding, body[r.start:r.end]) for r in regions] == [
        (b"text/plain", b"base64", b"SGVsbG8="),
        (b"text/html", b"", b"<p>Hello</p>"),
    ]
    assert _chosen_payload(raw) == b"SGVsbG8="


def test_plain_address_lists_read_as_getaddresses_reads_them() -> None:
    """The fast path for plain address headers must agree with the stdlib parser on every header it takes."""
    from email.parser import BytesHeaderParser
    from email.policy import compat32
    from email.utils import getaddresses

    from checks.message import _plain_address_pairs

    values = [
        ["J. Smith <j.smith@example.com>"], ["a@b.example, C D <c@d.example>"], ["O'Brien <o@example.ie>"],
        ["<bare@example.com>"], ["Dana  Whitfield <dana@example.com>"], ["Dr. Who. <who@example.com>"],
    ]
    paths = _every_message_path()
    for path in paths:
        headers = BytesHeaderParser(policy=compat32).parsebytes(path.read_bytes())
        for name in ("from", "to", "cc", "sender"):
            found = [str(value).replace("\r", "").replace("\n", " ") for value in headers.get_all(name, [])]
            if found:
                values.append(found)
    fast = 0
    for value in values:
        pairs = _plain_address_pairs(value)
        if pairs is not None:
            fast += 1
            assert pairs == [pair for pair in getaddresses(value) if pair[1].strip()], value
    assert fast > len(values) * 0.5, (fast, len(values))
    assert _plain_address_pairs(['"Whitfield, Dana" <dana@example.com>']) is None
    assert _plain_address_pairs(["=?utf-8?q?Dana?= <dana@example.com>"]) is None
    assert _plain_address_pairs(["team: a@example.com, b@example.com;"]) is None


def test_quick_body_finds_the_parsers_part_on_every_corpus_message() -> None:
    """Stage 2 and the check take the chosen part from the quick split: same part text, type and sender fields as
    the stdlib's full parse picks."""
    from email.parser import BytesParser
    from email.policy import compat32

    from checks.message import _body_part, _part_text, _strip_mbox_line

    paths = _every_message_path()
    quick = _quick_bodies(paths)
    for path, raw, found in quick:
        message = BytesParser(policy=compat32).parsebytes(_strip_mbox_line(raw))
        part, is_html = _body_part(message)
        assert (found.part_text, found.is_html) == (_part_text(part) if part is not None else "", is_html), path
        for name in ("from", "sender"):
            expected = [str(value) for key, value in message.raw_items() if key.strip().lower() == name] or None
            assert found.raw_headers.get(name) == expected, path
    assert len(quick) > len(paths) * 0.95, len(quick)


def test_parse_with_a_known_body_reads_the_same_headers_as_the_full_parse() -> None:
    """check_message parses only the header block when stage 2 already has the text; nothing else may change."""
    paths = _every_message_path()
    compared = _quick_bodies(paths)
    for path, raw, body in compared:
        full, quick = parse_message(raw), parse_message(raw, body)
        assert quick == dataclasses.replace(full, defects=quick.defects), path
    assert len(compared) > len(paths) * 0.9


def _quick_bodies(paths: list[Path]) -> list[tuple[Path, bytes, QuickBody]]:
    """(path, bytes, quick body) for every message the quick split reads (the others go to the full parse)."""
    found = []
    for path in paths:
        raw = path.read_bytes()
        body = quick_body(raw)
        if body is not None:
            found.append((path, raw, body))
    return found
