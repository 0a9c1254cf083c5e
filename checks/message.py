"""The message model: raw bytes to headers, people, thread ids and the sender's new words."""
from __future__ import annotations

import binascii
import codecs
import dataclasses
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from typing import Iterable, Iterator

import regex

from checks.htmltext import html_to_text
from checks.model import Address, ParsedMessage

try:  # one Rust pass finds every footer, forward and "wrote" word; str.find per word is the fallback
    import ahocorasick_rs as _ahocorasick
except ImportError:  # pragma: no cover
    _ahocorasick = None

# Raw bytes handed to the MIME parser. The text we check is nearly always in the first
# few kilobytes; capping keeps a 20 MB message with attachments to a bounded parse.
MAX_PARSE_BYTES = 4 * 1024 * 1024
# Decoded bytes of the chosen text part that are checked; the rest is not read.
MAX_TEXT_BYTES = 2 * 1024 * 1024
# HTML is converted by a Python tokenizer; past this size the rest of the markup is not read.
MAX_HTML_CHARS = 1024 * 1024
# Depth and part-count limits for the MIME walk (a message can nest parts adversarially).
MAX_MIME_DEPTH = 30
MAX_MIME_PARTS = 2000

# Charset labels whose codec is not ASCII-compatible but that real mail uses. They are honoured
# only when one of these strings is literally in the part's Content-Type, because the cheap
# prefilter (checks.classify.might_be_oops) looks for exactly these strings to know that words
# may be hidden from a plain byte scan. Keep the two in step.
WIDE_CHARSET_MARKERS: tuple[bytes, ...] = (
    b"utf-16", b"utf16", b"utf_16", b"utf-32", b"utf32", b"utf_32", b"utf-7", b"utf7", b"utf_7",
)
_WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be", "utf-7"})
# Codecs never used for mail text: escape codecs can turn "\x73orry" into words that no byte scan
# sees, EBCDIC is not ASCII-compatible, and punycode is slow on long input.
_DENIED_CODECS = frozenset({
    "punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined", "mbcs", "oem",
    "cp037", "cp273", "cp424", "cp500", "cp875", "cp1026", "cp1140", "hz",
})
# Labels mail software gets wrong; mapped to the superset codec that decodes what was really sent.
_CHARSET_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030", "gb_2312-80": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949",
    "windows-949": "cp949", "x-windows-949": "cp949",
    "big5": "cp950", "x-big5": "cp950",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-8-e": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "tis-620": "cp874", "windows-874": "cp874",
    "x-mac-roman": "mac-roman", "macintosh": "mac-roman",
}
# Labels that mean "the Latin alphabet, 8-bit, who knows": decoded as UTF-8 when valid, else Windows-1252.
_LATIN_LABELS = frozenset({
    "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "646", "us", "iso-8859-1", "iso8859-1", "iso_8859-1",
    "latin1", "latin-1", "l1", "8859-1", "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252",
})

_FOLD = regex.compile(r"\r?\n|\r")
_MSG_ID = regex.compile(r"<[^<>\s]*>")
_B64_DELETE = bytes(b for b in range(256) if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/")))


# --------------------------------------------------------------------------------------------- charsets


def _codec_for(label: str | None, content_type: str = "") -> str | None:
    """The Python codec to use for a declared charset label, or None when it is unknown or refused."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(name, name)
    if name in _LATIN_LABELS:
        return "latin-family"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    canonical = info.name.replace("_", "-")
    if canonical in _DENIED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    if canonical in _WIDE_CODECS:
        lowered = content_type.lower()
        if not any(marker.decode() in name and marker.decode() in lowered for marker in WIDE_CHARSET_MARKERS):
            return None
    return info.name


def decode_bytes(data: bytes, charset: str | None, content_type: str = "") -> str:
    """Decode text in a declared charset; wrong or unknown labels fall back to UTF-8, then Windows-1252/Latin-1."""
    codec = _codec_for(charset, content_type) if charset else None
    if codec == "latin-family" or (codec is None and not data.isascii()):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")
    if codec is None:
        return data.decode("ascii")
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec not in ("utf-8", "utf-8-sig"):
        try:
            # A declared multi-byte charset with a few broken sequences is still mostly right.
            return data.decode(codec, errors="replace")
        except (LookupError, ValueError):
            pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


# ----------------------------------------------------------------------------------------------- headers


def _unsurrogate(value: str) -> str:
    """Header text parsed from bytes keeps 8-bit bytes as surrogates: decode them as UTF-8 or Windows-1252."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", "surrogateescape"), None)


def decode_header_value(value: object) -> str:
    """Unfold a raw header value and decode RFC 2047 words, tolerating bad charsets and bad encodings."""
    if value is None:
        return ""
    text = _unsurrogate(str(value))
    text = _FOLD.sub("", text)
    if "=?" in text:
        try:
            pieces = decode_header(text)
        except Exception:  # HeaderParseError, binascii.Error and friends on broken encoded words
            pieces = [(text, None)]
        decoded = []
        for chunk, charset in pieces:
            if isinstance(chunk, bytes):
                decoded.append(decode_bytes(chunk, charset))
            else:
                decoded.append(chunk)
        text = "".join(decoded)
    return text.strip()


def _address(name: str, addr: str) -> Address:
    local, at, domain = addr.strip().rpartition("@")
    addr = f"{local}@{domain.lower()}" if at else addr.strip()
    return Address(name=decode_header_value(name), addr=addr)


# Address lists in their plainest form: "Name Words <local@domain>" or "local@domain", comma-separated, with
# no quotes, comments, groups, encoded words or obsolete routes. getaddresses() (a character-by-character
# parser) reads these exactly as the pattern does, and they are nearly all real headers; anything else
# goes to getaddresses(). tests/test_message.py compares the two on every corpus header.
_PLAIN_ADDRESS = re.compile(
    r"[ \t]*(?:([A-Za-z0-9'_+-]+(?:\.[A-Za-z0-9'_+-]+)*\.?(?: [A-Za-z0-9'_+-]+(?:\.[A-Za-z0-9'_+-]+)*\.?)*)[ \t]*<"
    r"([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r"|<([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r"|([A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*))[ \t]*\Z"
)


def _plain_address_pairs(values: list[str]) -> list[tuple[str, str]] | None:
    """getaddresses(values) for plain address lists; None when any value needs the real parser."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        for piece in value.split(","):
            if not piece.strip(" \t"):
                continue
            match = _PLAIN_ADDRESS.match(piece)
            if match is None:
                return None
            name, named_addr, bracketed, bare = match.groups()
            pairs.append((name, named_addr) if named_addr else ("", bracketed or bare))
    return pairs


def _addresses(raw_values: Iterable[str]) -> tuple[Address, ...]:
    values = [_FOLD.sub(" ", _unsurrogate(value)) for value in raw_values]
    if not values:
        return ()
    try:
        pairs = _plain_address_pairs(values)
        if pairs is None:
            pairs = getaddresses(values)
    except Exception:  # getaddresses has crashed on hostile input in past Python releases
        return ()
    return tuple(_address(name, addr) for name, addr in pairs if addr and addr.strip())


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except Exception:  # TypeError, ValueError, IndexError, OverflowError on junk dates
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _first_id(value: str) -> str:
    match = _MSG_ID.search(value)
    return match.group(0) if match else value.strip()


# ------------------------------------------------------------------------------------------------- MIME


def _walk(message: Message) -> Iterator[Message]:
    """Parts in document order, not descending into attached messages (a forwarded original is not new words)."""
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack and seen < MAX_MIME_PARTS:
        part, depth = stack.pop()
        seen += 1
        yield part
        if part is not message and part.get_content_maintype() == "message":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and depth < MAX_MIME_DEPTH:
            stack.extend((child, depth + 1) for child in reversed(payload) if isinstance(child, Message))


def _is_attachment(part: Message, top: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).strip().lower()
    if disposition.startswith("attachment"):
        return True
    if part is top:
        return False
    try:
        return bool(part.get_param("filename", header="content-disposition") or part.get_param("name"))
    except Exception:
        return False


def _raw_payload(part: Message, limit: int) -> bytes:
    """The first `limit` characters of a leaf part's body as the bytes that were sent.

    get_payload() without decode re-decodes 8-bit bodies with the declared charset and
    replaces what it cannot, so the stored payload (8-bit bytes kept as surrogates) is read.
    """
    payload = getattr(part, "_payload", None)
    if not isinstance(payload, str):
        return b""
    return payload[:limit].encode("utf-8", "surrogateescape")


def decode_base64_text(encoded: bytes) -> bytes:
    """A base64 body as mail clients write it, at most MAX_TEXT_BYTES decoded: stray characters are dropped and
    missing padding added. Raises binascii.Error (or ValueError) when it still cannot be read."""
    data = encoded[: MAX_TEXT_BYTES * 4 // 3 + 8].translate(None, _B64_DELETE)
    data = data[: len(data) - 1] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    return binascii.a2b_base64(data)[:MAX_TEXT_BYTES]


def _part_bytes(part: Message) -> bytes:
    """The decoded body of one leaf part, at most MAX_TEXT_BYTES of it."""
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    if encoding == "base64":
        try:
            return decode_base64_text(_raw_payload(part, MAX_TEXT_BYTES * 4 // 3 + 8))
        except (binascii.Error, ValueError):
            return b""
    if encoding == "quoted-printable":
        return binascii.a2b_qp(_raw_payload(part, MAX_TEXT_BYTES * 3))[:MAX_TEXT_BYTES]
    if encoding in ("x-uuencode", "uuencode", "uue", "x-uue"):
        try:
            decoded = part.get_payload(decode=True)
        except Exception:
            return b""
        return decoded[:MAX_TEXT_BYTES] if isinstance(decoded, bytes) else b""
    # 7bit, 8bit, binary and bogus values: the bytes as sent.
    return _raw_payload(part, MAX_TEXT_BYTES)


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = decode_bytes(_part_bytes(part), charset, str(part.get("content-type", "")))
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


# ------------------------------------------------------------------------------------------ HTML to text

# The converter lives in checks.htmltext; parse_message and the quick path reach it through this name.


# ----------------------------------------------------------------------- quotes, signature and greetings

_FORWARD_PHRASES = (
    r"(?:original\s+message|forwarded\s+message|forwarded\s+by|ursprüngliche\s+nachricht|"
    r"weitergeleitete\s+nachricht|message\s+d'origine|message\s+transféré|mensaje\s+original|"
    r"mensaje\s+reenviado|messaggio\s+originale|messaggio\s+inoltrato|oorspronkelijk\s+bericht|"
    r"doorgestuurd\s+bericht|originalmeddelande|vidarebefordrat\s+meddelande)"
)
_FORWARD_MARKER = regex.compile(
    r"^\s*[-_*=]{2,}\s*" + _FORWARD_PHRASES + r".{0,120}$|"
    r"^\s*" + _FORWARD_PHRASES + r"\s*(?:[-_*=]{2,}.{0,120}|:)\s*$|"
    r"^\s*begin\s+forwarded\s+message\s*:?\s*$",
    regex.IGNORECASE,
)
_HEADER_FROM = regex.compile(
    r"^\s*[*>]*\s*(?:from|von|de|da|van|från|fra|od|от|发件人|寄件者|寄件人|差出人|보낸\s*사람)\s*\*?\s*[:：]\s*\*?\s*\S",
    regex.IGNORECASE,
)
_HEADER_SENT = regex.compile(
    r"^\s*\*?\s*(?:sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden|skickat|sendt|wysłano|отправлено|"
    r"to|an|à|a|para|aan|till|til|do|кому|subject|betreff|objet|asunto|oggetto|onderwerp|ämne|emne|temat|тема|"
    r"cc|发送时间|发送日期|日期|收件人|抄送|主题|傳送時間|收件者|副本|主旨|送信日時|宛先|件名|받는\s*사람|보낸\s*날짜|날짜|제목)\s*\*?\s*[:：]",
    regex.IGNORECASE,
)
_SEPARATOR = regex.compile(r"^\s*(?:_{8,}|-{8,}|={8,})\s*$")
_LIST_FOOTER = regex.compile(
    r"mailing\s+list|mailman|listinfo|unsubscribe|list-request|@lists\.|list\s+archive|"
    r"you\s+received\s+this\s+message\s+because|sponsored\s+by|yahoo!?\s+groups|egroups",
    regex.IGNORECASE,
)
# Footers that list and bulk-mail software append below the sender's words (Google Groups, Yahoo Groups,
# Mailman, newsletter tools). Their boilerplate ("if you received this in error", "sorry for any
# inconvenience") is not the sender's words.
_FOOTER_WORDS = ("receiv", "unsubscribe", "yahoo", "subscri", "preferences", "opt out", "opt-out", "was sent to")
_FORWARD_WORDS = (
    "original", "forward", "ursprüngliche", "weitergeleitet", "origine", "transféré", "reenviado", "inoltrato",
    "oorspronkelijk", "doorgestuurd", "meddelande",
)
_GROUPS_FOOTER = regex.compile(
    r"^\s*(?:you\s+received\s+this\s+(?:message|email)\s+because\s+you\s+are\s+subscribed|"
    r"to\s+unsubscribe\s+from\s+this\s+(?:group|list)|your\s+use\s+of\s+yahoo!?\s+groups\s+is\s+subject)",
    regex.IGNORECASE,
)
# Bulk-mail footers; they end the sender's words only near the bottom, below some text of the sender's own.
_FOOTER_MAX_LINES = 30
_BULK_FOOTER = regex.compile(
    r"^\W{0,4}(?:to\s+unsubscribe\b|unsubscribe\s*(?:here|now|below)?\s*[:.|]|click\s+here\s+to\s+unsubscribe|"
    r"(?:you(?:'re|\s+are)\s+receiving|you\s+(?:have\s+)?received)\s+this\s+(?:(?:e-?mail|message|newsletter|mailing|"
    r"notification|communication)\s+)?(?:[\w-]+\s+){0,3}?because|you(?:'re|\s+are)\s+(?:currently\s+)?subscribed\s+to\b|"
    r"this\s+(?:e-?mail|message|newsletter|mailing)\s+was\s+sent\s+to\b|"
    r"if\s+you\s+(?:no\s+longer\s+)?(?:wish|want|would\s+(?:like|prefer))\s+(?:not\s+)?to\s+(?:stop\s+)?"
    r"(?:receiv|unsubscribe|be\s+removed|opt[- ]out)|to\s+(?:stop|opt[- ]out\s+of)\s+receiving\b|"
    r"(?:manage|update|change)\s+(?:your\s+)?(?:e-?mail\s+|subscription\s+|notification\s+)?(?:preferences|"
    r"subscription)\b)",
    regex.IGNORECASE,
)
_ON_START = regex.compile(
    r"^\s*(?:on|am|le|el|il|op|em|w\s+dniu|den|på|dne|в)\b", regex.IGNORECASE
)
_WROTE_END = regex.compile(
    r"(?:wrote|writes|said|schrieb|schreibt|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu|napisał|skrev|"
    r"kirjoitti|пишет|написал|написала|napsal)\s*\*?\s*:?\s*$|"
    # German, Dutch and Nordic clients put the name after the verb: "Am ... schrieb Dana <d@x>:"
    r"(?:schrieb|schreef|skrev|napisał|napsal|kirjoitti)\s+[^\n]{1,160}:\s*$",
    regex.IGNORECASE,
)
_WROTE_WORDS = ("wrote", "writes", "said", "schrieb", "écrit", "escribió", "scritto", "schreef", "escreveu", "napisa",
                "skrev", "kirjoitti", "пишет", "написа", "napsal")
_VALEDICTION = (
    r"(?:best|best\s+regards|best\s+wishes|kind\s+regards|kindest\s+regards|warm\s+regards|warmest\s+regards|"
    r"warmly|regards|many\s+thanks|thanks|thanks\s+again|thanks\s+so\s+much|thanks\s+a\s+lot|"
    r"thanks\s+in\s+advance|thank\s+you|thank\s+you\s+again|thank\s+you\s+so\s+much|thank\s+you\s+in\s+advance|"
    r"thx|tia|ty|cheers|sincerely|sincerely\s+yours|yours\s+sincerely|yours\s+truly|yours|respectfully|"
    r"all\s+the\s+best|take\s+care|talk\s+soon|speak\s+soon|with\s+thanks|with\s+gratitude|best,?\s+again|"
    r"br|rgds|kr|viele\s+grüße|mit\s+freundlichen\s+grüßen|beste\s+grüße|grüße|gruß|lg|mfg|cordialement|"
    r"bien\s+à\s+vous|saludos|un\s+saludo|atentamente|cordiali\s+saluti|saluti|met\s+vriendelijke\s+groet|"
    r"groeten|hälsningar|mvh|ciao|love|hugs|peace|onward|onwards|stay\s+safe|more\s+soon)"
)
_NAME = r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"
_VALEDICTION_LINE = regex.compile(
    r"^\s*(?i:" + _VALEDICTION + r")\s*(?:[,.!—–-]+\s*)*$|"
    r"^\s*(?i:" + _VALEDICTION + r")\s*[,—–-]+\s*" + _NAME + r"\s*$"
)
_DASH_NAME = regex.compile(r"^\s*(?:—|–|-{1,2}|~)\s*" + _NAME + r"\s*$")
_DEVICE_LINE = regex.compile(
    r"^\s*(?:sent\s+from\s+my\s+\S.{0,40}|sent\s+from\s+(?:mail|outlook|yahoo|gmail|proton\s*mail)\b.{0,40}|"
    r"get\s+outlook\s+for\s+\S+.{0,20}|sent\s+(?:via|with)\s+\S.{0,40})$",
    regex.IGNORECASE,
)
_GREETING_WORD = regex.compile(
    r"^(?:hi|hello|hey|heya|hiya|howdy|dear|greetings|good\s+(?:morning|afternoon|evening|day)|morning|"
    r"afternoon|evening|hallo|hola|bonjour|salut|ciao|moin|servus|hej|yo)\b",
    regex.IGNORECASE,
)
_REPEATED_GREETING = regex.compile(
    r",\s*(?:hi|hello|hey|morning|good\s+morning|afternoon|evening|and)\s+(?=\w)", regex.IGNORECASE
)
_GROUP_WORDS = frozenset(
    "all team everyone everybody folks colleagues friends guys y'all yall people both there crew gang customers "
    "clients members subscribers users partners teammates list readers".split()
)
_GREETING_TAIL_WORDS = _GROUP_WORDS | {"and", "&", "again", "you", "of", "the", "dear", "my", "our", "to"}
_WORD_SPLIT = regex.compile(r"[\s,&/]+")
_NAME_WORD = regex.compile(r"^[A-Z][\w.'’-]*$")


_ON_WORDS = frozenset({"on", "am", "le", "el", "il", "op", "em", "w", "den", "på", "dne", "в"})
_LINE_WORD_LISTS = (_FOOTER_WORDS, _FORWARD_WORDS, _WROTE_WORDS)
_LINE_WORD_KINDS = [kind for kind, words in enumerate(_LINE_WORD_LISTS) for _ in words]
_LINE_WORDS = (
    _ahocorasick.AhoCorasick([word for words in _LINE_WORD_LISTS for word in words])
    if _ahocorasick is not None else None
)
def _maybe_attribution(stripped: str) -> bool:
    """A cheap superset of the lines _is_attribution accepts (almost no line is one): ends with a colon
    or a "wrote" word, or starts with an "On" word."""
    if stripped[-1] in ":：":
        return True
    tail = stripped.rstrip(" \t*:")
    if tail[-12:].lower().endswith(_WROTE_WORDS):
        return True
    head = tail[:6].lower().split(None, 1)
    return bool(head) and head[0] in _ON_WORDS


def _is_attribution(lines: list[str], index: int) -> tuple[int, bool]:
    """Whether lines[index] starts a reply attribution; returns (lines it spans, strong "On ... wrote:" form)."""
    line = lines[index]
    if len(line) > 400:
        return 0, False
    lowered = line.lower()
    tail = lowered.rstrip(" \t*:")
    # Cheap tests first: almost no line is an attribution, and this runs on every line of every body.
    if not (lowered.rstrip().endswith((":", "：")) or tail.endswith(_WROTE_WORDS) or tail.split(None, 1)[:1] and
            tail.split(None, 1)[0] in _ON_WORDS):
        return 0, False
    joined = line
    span = 1
    if not any(word in lowered for word in _WROTE_WORDS):
        if index + 1 < len(lines) and _ON_START.match(line) and len(lines[index + 1]) < 200:
            nxt = lines[index + 1].lower()
            if any(word in nxt for word in _WROTE_WORDS):
                joined, span = line + " " + lines[index + 1], 2
            else:
                return 0, False
        else:
            return 0, False
    if not _WROTE_END.search(joined, timeout=0.05):
        return 0, False
    # "On Monday the CEO said:" may introduce the sender's own words; only "wrote" forms end the new text.
    strong = bool(_ON_START.match(joined)) and not joined.rstrip(" :*\t").lower().endswith("said")
    return span, strong


def _is_quote_line(line: str) -> bool:
    """A quoted line: '>' quotes, and the '| ' style some clients use."""
    return line.lstrip().startswith((">", "|"))


def _next_nonblank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _word_positions(whole: str) -> list[tuple[int, int]]:
    """(word kind, position) of every footer, forward and "wrote" word in `whole`, in text order."""
    if _LINE_WORDS is not None:
        return sorted((_LINE_WORD_KINDS[index], start) for index, start, _ in _LINE_WORDS.find_matches_as_indexes(whole, overlapping=True))
    positions = []
    for kind, words in enumerate((_FOOTER_WORDS, _FORWARD_WORDS, _WROTE_WORDS)):
        for word in words:
            position = whole.find(word)
            while position != -1:
                positions.append((kind, position))
                position = whole.find(word, position + 1)
    return positions


def _lines_with(whole: str) -> tuple[set[int], set[int], set[int]]:
    """Indexes of the lines of `whole` (lines joined by newlines) holding footer, forward and "wrote" words."""
    found: tuple[set[int], set[int], set[int]] = (set(), set(), set())
    line, previous = 0, 0
    for kind, position in sorted(_word_positions(whole), key=lambda item: item[1]):
        line += whole.count("\n", previous, position)
        previous = position
        found[kind].add(line)
    return found


# First letters after which a line may be a forwarded header block ("From:", "Von:", "发件人:").
_FROM_HEADS = frozenset("fvdoо发寄差보")
# First two letters of a line that may start an "On ... wrote:" attribution.
_ON_HEADS = frozenset({"on", "am", "le", "el", "il", "op", "em", "de", "dn", "på"})


def _cut_quoted(lines: list[str]) -> list[str]:
    """Drop forwarded originals, Outlook header blocks, list footers, attributions and '>' quotes."""
    out: list[str] = []
    in_quote = False
    index = 0
    # Footer, forward and "wrote" words are rare: find the lines holding them once, not line by line.
    whole = "\n".join(lines).lower()
    footer_lines, forward_lines, wrote_lines = _lines_with(whole)
    own_text = False  # a line of the sender's own words has been kept
    count = len(lines)
    while index < count:
        line = lines[index]
        stripped = line.strip()
        if not stripped:
            if not in_quote:
                out.append("")
            index += 1
            continue
        first = stripped[0]
        if first in ">|":  # _is_quote_line
            if not in_quote and out and out[-1].strip():
                out.append("")
            in_quote = True
            index += 1
            continue
        in_quote = False
        if index in footer_lines and (
            _GROUPS_FOOTER.match(line, timeout=0.05)
            or (own_text and _near_end(lines, index) and _BULK_FOOTER.match(stripped, timeout=0.05))
        ):
            break
        forward = index in forward_lines and bool(_FORWARD_MARKER.match(line, timeout=0.05))
        header_block = (
            not forward
            and (":" in stripped or "：" in stripped)
            and stripped.lstrip("*>").lstrip()[:1].lower() in _FROM_HEADS
            and _HEADER_FROM.match(line)
            and _looks_like_header_block(lines, index)
        )
        if forward or header_block:
            if _inline_reply_follows(out, lines, index, line):
                # Outlook Express style: the original's header block on top, the reply interleaved with '>' quotes.
                index = _skip_header_block(lines, index + (1 if forward else 0))
                continue
            if out and _SEPARATOR.match(out[-1]):
                out.pop()
            break
        if first in "_-=" and _SEPARATOR.match(line):
            following = " ".join(lines[index + 1: index + 7])
            start = _next_nonblank(lines, index + 1)
            if (start < len(lines) and _HEADER_FROM.match(lines[start]) and _looks_like_header_block(lines, start)) or (
                _LIST_FOOTER.search(following, timeout=0.05)
            ):
                break
        if (
            (stripped[-1] in ":：" or index in wrote_lines or stripped[:2].lower() in _ON_HEADS or stripped[0] in "wWвВ")
            and _maybe_attribution(stripped)
        ):
            span, strong = _is_attribution(lines, index)
            if span:
                after = _next_nonblank(lines, index + span)
                if after < len(lines) and _is_quote_line(lines[after]):
                    index += span
                    continue
                if strong:
                    break
        out.append(line)
        own_text = True
        index += 1
    return out


def _near_end(lines: list[str], index: int) -> bool:
    """A footer sits at the bottom: in the second half of the body, or within its last lines."""
    return index >= len(lines) // 2 or len(lines) - index <= _FOOTER_MAX_LINES


def _inline_reply_follows(out: list[str], lines: list[str], index: int, line: str) -> bool:
    """An "Original Message" block with nothing new above it and '>' quotes below: the reply is inline."""
    if any(previous.strip() and not _SEPARATOR.match(previous) for previous in out):
        return False
    if "forward" in line.lower() or "weitergeleitet" in line.lower():
        return False
    return any(_is_quote_line(following) for following in lines[index + 1: index + 200])


def _skip_header_block(lines: list[str], index: int) -> int:
    """Index of the first line after a From:/Sent:/To:/Subject: block (it ends at a blank or '>' line)."""
    while index < len(lines) and lines[index].strip() and not _is_quote_line(lines[index]):
        index += 1
    return index


def _looks_like_header_block(lines: list[str], index: int) -> bool:
    """A "From:" line followed within a few lines by Sent:/Date:/To:/Subject: lines (Outlook, Apple, Gmail forwards)."""
    found = 0
    for line in lines[index + 1: index + 7]:
        if _HEADER_SENT.match(line):
            found += 1
    return found >= 2 or (found >= 1 and index + 1 < len(lines) and bool(_HEADER_SENT.match(lines[index + 1])))


def _split_signature(lines: list[str], sender_words: frozenset[str]) -> tuple[list[str], list[str]]:
    """Split the body from the signature: a "-- " line, a closing like "Best,\\nDana", a "— Dana" line."""
    signature: list[str] = []
    for index, line in enumerate(lines):
        if line.rstrip("\r") in ("-- ", "--"):
            signature = lines[index:]
            lines = lines[:index]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    tail = nonblank[-7:]
    # Device footers ("Sent from my phone") are never the sender's words.
    while tail and _DEVICE_LINE.match(lines[tail[-1]]):
        cut = tail.pop()
        signature = lines[cut:] + signature
        lines = lines[:cut]
    start = None
    for position, line_index in enumerate(tail):
        line = lines[line_index]
        after = tail[position + 1:]
        if len(after) > 4 or len(line) > 60:
            continue
        if not all(_short_signature_line(lines[i]) for i in after):
            continue
        if _VALEDICTION_LINE.match(line) or (not after and _DASH_NAME.match(line)):
            start = line_index
            break
    if start is None and tail:
        last = lines[tail[-1]].strip()
        words = [w for w in _WORD_SPLIT.split(last) if w]
        previous_blank = tail[-1] > 0 and not lines[tail[-1] - 1].strip()
        if (
            previous_blank
            and 1 <= len(words) <= 3
            and all(_NAME_WORD.match(w) for w in words)
            and any(w.lower().strip(".") in sender_words for w in words)
        ):
            start = tail[-1]
    if start is not None:
        signature = lines[start:] + signature
        lines = lines[:start]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines, signature


def _short_signature_line(line: str) -> bool:
    """Name, title, company or phone lines: short, and not a sentence."""
    stripped = line.strip()
    words = len(stripped.split())
    if len(stripped) > 72 or words > 9 or stripped.endswith("?"):
        return False
    return not (stripped.endswith((".", "!")) and words > 3)


def _greeting_lines(lines: list[str]) -> frozenset[int]:
    found: set[int] = set()
    checked = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if checked >= 2:
            break
        checked += 1
        if _is_greeting(line, first=checked == 1):
            found.add(index)
        elif checked == 1:
            break
    return frozenset(found)


_COMMA_THEN_LOWER = regex.compile(r",\s*[a-z]")
_SALUTATION_WORD = regex.compile(r"[^\W\d_][\w.'’-]*")


def _is_greeting(line: str, first: bool) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 80 or stripped[-1] in ".?;":
        return False
    ends_with_mark = stripped[-1] in ",:!—–-"
    core = stripped.rstrip(" ,:!—–-")
    match = _GREETING_WORD.match(core)
    if match:
        # "Morning Marcus, morning all" and "Hey Priya, hey all" greet twice on one line.
        tail = _REPEATED_GREETING.sub(" ", core[match.end():])
        # "Hi Dana, sorry for the delay" is a greeting followed by a sentence, not a salutation line.
        if _COMMA_THEN_LOWER.search(tail):
            return False
        words = [w for w in _WORD_SPLIT.split(tail) if w]
        if len(words) > 6:
            return False
        if ends_with_mark:
            # "Hello platform folks," - any short run of words closed by a comma or dash is a salutation.
            return all(_SALUTATION_WORD.fullmatch(w) for w in words)
        if len(words) > 3:
            return False
        return all(_NAME_WORD.match(w) or w.lower() in _GREETING_TAIL_WORDS or w.lower().endswith("team") for w in words)
    if not first or not ends_with_mark:
        return False
    words = [w for w in _WORD_SPLIT.split(core) if w]
    if not 1 <= len(words) <= 5:
        return False
    return all(_NAME_WORD.match(w) or w.lower() in ("and", "&") or w.lower() in _GROUP_WORDS for w in words) and (
        _NAME_WORD.match(words[0]) is not None or words[0].lower() in _GROUP_WORDS
    )


def extract_new_text(body: str, sender_words: frozenset[str] = frozenset()) -> tuple[str, str, frozenset[int]]:
    """The sender's new words, the signature and the greeting line indexes of a plain-text body."""
    # Trailing blanks are invisible, except in the "-- " signature delimiter.
    lines = [line if line == "-- " else line.rstrip() for line in body.split("\n")]
    lines = _cut_quoted(lines)
    lines, signature = _split_signature(lines, sender_words)
    while lines and not lines[0].strip():
        lines.pop(0)
    text = "\n".join(lines).rstrip()
    lines = text.split("\n") if text else []
    signature_text = "\n".join(line.rstrip() for line in signature).strip("\n")
    return text, signature_text, _greeting_lines(lines)


# ---------------------------------------------------------------------------------- quoted mail dates

_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january", "januar", "janvier"), ("feb", "february", "februar", "fevrier", "février"),
     ("mar", "march", "märz", "maerz", "mars"), ("apr", "april", "avril"), ("may", "mai"),
     ("jun", "june", "juni", "juin"), ("jul", "july", "juli", "juillet"), ("aug", "august", "aout", "août"),
     ("sep", "sept", "september", "septembre"), ("oct", "october", "oktober", "octobre"),
     ("nov", "november", "novembre"), ("dec", "december", "dezember", "décembre")), start=1) for name in names}
_MONTH_NAME = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
# Where a quoted mail says when it was sent: an attribution line, or a Sent:/Date: line of a header block.
_QUOTED_DATE_LINE = regex.compile(
    r"^[ \t>]*(?:(?:on|am|le|el|il|op|em)\s+(?P<attribution>[^\n]{6,160}?(?:\n[ \t>]*[^\n]{0,120}?)?)"
    r"(?:wrote|writes|schrieb|a\s+écrit|escribió|ha\s+scritto|schreef|escreveu)(?:\s+[^\n:]{1,80})?\s*:"
    r"|(?:sent|date|gesendet|datum|envoyé|enviado)\s*:\s*(?P<field>[^\n]{6,100}))",
    regex.IGNORECASE | regex.MULTILINE,
)
_DATE_IN_LINE = regex.compile(
    r"\b(?:(?P<day>\d{1,2})(?:st|nd|rd|th)?\.?\s+" + _MONTH_NAME + r",?\s+(?P<year>\d{4})"
    r"|" + _MONTH_NAME.replace("month", "month2") + r"\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year2>\d{4})"
    r"|(?P<iso_year>\d{4})-(?P<iso_month>\d{1,2})-(?P<iso_day>\d{1,2})"
    r"|(?P<num_a>\d{1,2})[./](?P<num_b>\d{1,2})[./](?P<num_year>\d{4}))\b",
    regex.IGNORECASE,
)
_TIME_IN_LINE = regex.compile(
    r"\b(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::\d{2})?\s*(?P<half>[ap]\.?m\.?)?"
    r"(?:\s*(?:(?P<offset>[+-]\d{2}:?\d{2})|\(?(?P<zone>UTC|GMT|CET|CEST|BST|EST|EDT|PST|PDT)\)?))?",
    regex.IGNORECASE,
)
_ZONE_HOURS = {"UTC": 0, "GMT": 0, "CET": 1, "CEST": 2, "BST": 1, "EST": -5, "EDT": -4, "PST": -8, "PDT": -7}
_MAX_QUOTED_DATES = 20


def _quoted_date(words: str) -> datetime | None:
    """The moment an attribution or Sent:/Date: value names; naive when it names no zone."""
    found = _DATE_IN_LINE.search(words, timeout=0.05)
    if found is None:
        try:
            return parsedate_to_datetime(words.strip())  # other RFC 5322 shapes
        except (TypeError, ValueError, IndexError):
            return None
    if found.group("year"):
        day, month, year = int(found.group("day")), _MONTHS[found.group("month").lower()], int(found.group("year"))
    elif found.group("year2"):
        day, month, year = int(found.group("day2")), _MONTHS[found.group("month2").lower()], int(found.group("year2"))
    elif found.group("iso_year"):
        day, month, year = int(found.group("iso_day")), int(found.group("iso_month")), int(found.group("iso_year"))
    else:
        first, second, year = int(found.group("num_a")), int(found.group("num_b")), int(found.group("num_year"))
        # Day first, as most of the world writes it, unless that cannot be: 11/16/2026.
        day, month = (second, first) if second > 12 else (first, second)
    clock = _TIME_IN_LINE.search(words, found.end(), timeout=0.05) or _TIME_IN_LINE.search(words, 0, found.start(),
                                                                                           timeout=0.05)
    hour = minute = 0
    zone: timezone | None = None
    if clock is not None:
        hour, minute = int(clock.group("hour")), int(clock.group("minute"))
        half = (clock.group("half") or "").lower().replace(".", "")
        hour = hour % 12 + 12 if half == "pm" else (0 if half == "am" and hour == 12 else hour)
        if clock.group("offset"):
            digits = clock.group("offset").replace(":", "")
            sign = -1 if digits[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5])))
        elif clock.group("zone"):
            zone = timezone(timedelta(hours=_ZONE_HOURS[clock.group("zone").upper()]))
    try:
        return datetime(year, month, day, hour, minute, tzinfo=zone)
    except ValueError:
        return None


_QUOTED_DATE_WORDS = ("wrote", "writes", "schrieb", "écrit", "escribió", "scritto", "schreef", "escreveu", "Sent:", "Date:",
                      "SENT:", "DATE:", "Gesendet:", "Datum:", "Envoyé", "Enviado:")


def quoted_dates(body: str) -> tuple[datetime, ...]:
    """When the mails quoted in a body were sent ("On Mon, 16 Nov 2026 at 09:05, Dana wrote:", "Sent: ..." lines),
    oldest first; naive when the quote names no zone (then it is the team's local time)."""
    if not any(word in body for word in _QUOTED_DATE_WORDS):
        return ()  # no attribution or header-block word at all: most mail, found at C speed
    found: list[datetime] = []
    try:
        for line in _QUOTED_DATE_LINE.finditer(body, timeout=0.05):
            moment = _quoted_date(line.group("attribution") or line.group("field") or "")
            if moment is not None:
                found.append(moment)
            if len(found) >= _MAX_QUOTED_DATES:
                break
    except TimeoutError:
        pass
    # Aware and naive moments cannot be compared: order by the wall-clock reading, which is what a day check needs.
    return tuple(sorted(found, key=lambda moment: moment.replace(tzinfo=None)))


# --------------------------------------------------------------------------------------------- parsing


def _strip_mbox_line(raw: bytes) -> bytes:
    if raw.startswith(b"From "):
        end = raw.find(b"\n")
        return b"" if end == -1 else raw[end + 1:]
    return raw


def _body_part(message: Message) -> tuple[Message | None, bool]:
    """The first non-attachment text/plain part, else the first text/html part; and whether it is HTML."""
    html_part = None
    for part in _walk(message):
        if part.is_multipart() or _is_attachment(part, message):
            continue
        if part is not message and part.get_content_maintype() == "message":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            return part, False
        if content_type == "text/html" and html_part is None:
            html_part = part
    return html_part, html_part is not None


def _body_text(part: Message | None, is_html: bool) -> str:
    """The chosen part's text: decoded, and HTML turned into text."""
    body = _part_text(part) if part is not None else ""
    return html_to_text(body[:MAX_HTML_CHARS]) if is_html else body


def _sender(raw_headers: dict[str, list[str]]) -> Address | None:
    senders = _addresses(raw_headers.get("from", [])) or _addresses(raw_headers.get("sender", []))
    return senders[0] if senders else None


def _sender_words(sender: Address | None) -> frozenset[str]:
    """Words of the sender's name and mailbox, which tell a signature's name line from the text."""
    if sender is None:
        return frozenset()
    parts = [w.lower().strip(".") for w in _WORD_SPLIT.split(sender.name) if w]
    parts += [w for w in regex.split(r"[._+-]", sender.addr.partition("@")[0].lower()) if len(w) > 1]
    return frozenset(parts)


def _defect_names(message: Message) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for part in _walk(message):
        for defect in getattr(part, "defects", ()):
            names[type(defect).__name__] = None
    return tuple(names)


def _empty(defects: tuple[str, ...]) -> ParsedMessage:
    return ParsedMessage(
        subject="", sender=None, to=(), cc=(), bcc=(), message_id="", in_reply_to="", references=(),
        date=None, headers={}, text="", defects=defects,
    )


def parse_message(raw: bytes, body: QuickBody | None = None) -> ParsedMessage:
    """Parse raw RFC 5322 bytes; never raises on malformed input.

    `body` is quick_body() of the same bytes when the caller has it (the prefilter's stage 2, or the
    check engine): the text is then taken from it and only the header block is parsed, so `defects`
    names header defects only.
    """
    try:
        return _parse(raw, body)
    except RecursionError:
        return _empty(("RecursionLimit",))
    except Exception as error:  # the parser must never take the relay down; the caller logs defects
        return _empty((f"ParserError:{type(error).__name__}",))


def _parse(raw: bytes, body: QuickBody | None = None) -> ParsedMessage:
    extra: list[str] = []
    raw = _strip_mbox_line(bytes(raw))
    if len(raw) > MAX_PARSE_BYTES:
        raw = raw[:MAX_PARSE_BYTES]
        extra.append("TruncatedForParsing")
    if body is not None:
        # The text is known: only the header block is parsed, and it ends at the first empty line at the latest
        # (the parser reads every line of the message otherwise, body included, even when told headers only).
        message = BytesHeaderParser(policy=compat32).parsebytes(raw[:_blank_line_start(raw, 0, len(raw))])
    else:
        message = BytesParser(policy=compat32).parsebytes(raw)

    raw_headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        raw_headers.setdefault(str(name).strip().lower(), []).append(str(value))
    headers = {name: decode_header_value(values[0]) for name, values in raw_headers.items()}

    sender = _sender(raw_headers)
    to = _addresses(raw_headers.get("to", []))
    cc = _addresses(raw_headers.get("cc", []))
    bcc = _addresses(raw_headers.get("bcc", []))

    if body is not None:
        text, signature, greetings = body.extracted
        body_text = body.body_text
    else:
        part, is_html = _body_part(message)
        body_text = _body_text(part, is_html)
        text, signature, greetings = extract_new_text(body_text, _sender_words(sender))

    references = tuple(_MSG_ID.findall(headers.get("references", ""))) or tuple(headers.get("references", "").split())
    return ParsedMessage(
        subject=headers.get("subject", ""),
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        message_id=headers.get("message-id", "").strip(),
        in_reply_to=_first_id(headers.get("in-reply-to", "")),
        references=references,
        date=_date(headers.get("date", "")),
        headers=headers,
        text=text,
        signature=signature,
        greeting_lines=greetings,
        defects=_defect_names(message) + tuple(extra),
        body=body_text,
    )


# ------------------------------------------------------------------------------------ the quick path
#
# The prefilter needs to know where the sender's words are far more often than the full parse is
# needed, and feedparser costs most of a parse. text_regions splits the MIME tree with byte searches
# that follow feedparser's rules (header lines, boundary lines, the line end before a boundary) and
# returns where every text/plain and text/html leaf part's body lies; chosen_region picks the one
# parse_message checks, and stdlib Message objects carry its fields, so charset and transfer decoding
# are the very code parse_message runs. Whatever the split is not sure about (bare CR line ends, odd
# headers or parameters, a missing boundary, digests, nested messages at the top, deep trees) returns
# None and the caller parses fully. tests/test_message.py checks on every corpus message that the
# quick part and text equal the full parse's.

_QUICK_MAX_PARTS = 100
_QUICK_MAX_DEPTH = 8


class _Unsure(Exception):
    """The quick split met something it does not reproduce exactly."""


_HEADER_RUN_BYTES = re.compile(rb"(?:(?:From |[\041-\071\073-\176]*:|[\t ])[^\n]*(?:\n|\Z))*")
_EMPTY_LINE = re.compile(rb"\n\r?\n")
_HEADER_LINE_START = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
_TOKEN = rb"[A-Za-z0-9!#$%&'*+.^_`{|}~-]+"
_CONTENT_TYPE_VALUE = re.compile(rb"[ \t\r\n]*(" + _TOKEN + rb"/" + _TOKEN + rb")[ \t\r\n]*(?:;(.*))?\Z", re.DOTALL)
# Parameters as plain `name=token` or `name="quoted"` without escapes; anything fancier (RFC 2231
# continuations, backslashes, stray words) is left to the full parse.
_PARAMETER = re.compile(rb"[ \t\r\n]*(" + _TOKEN + rb")[ \t\r\n]*=[ \t\r\n]*(?:\"([^\"\\\r\n]*)\"|(" + _TOKEN + rb"))"
                        rb"[ \t\r\n]*(?:;|\Z)")
_REGION_TYPES = (b"text/plain", b"text/html")


@dataclass(frozen=True)
class TextRegion:
    """Where one text leaf part's body lies in the raw bytes, with how it is encoded."""

    start: int
    end: int
    content_type: bytes  # lowercased type/subtype
    encoding: bytes  # lowercased Content-Transfer-Encoding value, b"" when absent
    content_type_field: bytes  # the whole lowered Content-Type value (its charset matters to the caller)
    depth: int = 0  # 0: the message itself is this text part
    fields: tuple[tuple[bytes, bytes], ...] = ()  # the part's MIME fields as sent (name lowered, value raw)


# A line inside a header block that feedparser's headerRE refuses: not a continuation, not an envelope
# line, and its name is not followed by a colon. Searching for one is much faster than matching the run.
_NOT_A_HEADER_LINE = re.compile(rb"\n(?![ \t]|From )[\041-\071\073-\176]*[^:\041-\071\073-\176]")
_REGION_FIELD_NAMES = (b"content-type", b"content-transfer-encoding", b"content-disposition")


def _blank_line_start(raw: bytes, start: int, end: int) -> int:
    """Where the first empty line (LF or CRLF) at or after `start` begins; `end` when there is none."""
    if raw.startswith((b"\n", b"\r\n"), start, end):
        return start
    found = _EMPTY_LINE.search(raw, start, end)  # one pass; two find() calls would each read to the end
    return end if found is None else found.start() + 1


def _header_run_end(raw: bytes, start: int, end: int) -> int:
    """Where feedparser's run of header lines starting at `start` ends (at most `end`)."""
    blank = _blank_line_start(raw, start, end)
    if blank == start:
        return start
    first_line_ok = _HEADER_LINE_START.match(raw, start, end) is not None
    # With no empty line, the last line has no line end for the search to stop at: match exactly then.
    if blank < end and first_line_ok and _NOT_A_HEADER_LINE.search(raw, start, blank) is None:
        return blank
    run = _HEADER_RUN_BYTES.match(raw, start, end)  # an odd line ends the run early: find it exactly
    return run.end() if run else start


def _field_end(data: bytes, value_start: int, block_end: int) -> int:
    """Where a header field's value ends: it runs on over continuation lines, up to the line end before the next field."""
    line_end = value_start
    while True:
        newline = data.find(b"\n", line_end, block_end)
        if newline == -1 or newline + 1 >= block_end or data[newline + 1] not in b" \t":
            return block_end if newline == -1 else newline
        line_end = newline + 1


def _region_fields(raw: bytes, start: int, end: int) -> tuple[dict[bytes, bytes], int, int]:
    """The first value of each MIME field of a header block, where its body starts and where the block ends."""
    block_end = _header_run_end(raw, start, end)
    if block_end > start and raw[start] in b" \t":
        raise _Unsure("continuation line first")
    if raw.startswith((b"From ", b":"), start, block_end) or raw.find(b"\nFrom ", start, block_end) != -1 or (
            raw.find(b"\n:", start, block_end) != -1):
        raise _Unsure("envelope or nameless header line")
    if raw.startswith(b"\n", block_end):
        body_start = block_end + 1
    elif raw.startswith(b"\r\n", block_end):
        body_start = block_end + 2
    else:
        body_start = block_end
    fields: dict[bytes, bytes] = {}
    lowered = raw[start:block_end].lower()
    for name in _REGION_FIELD_NAMES:
        # Message.get() matches the field name exactly (case aside) and returns the first such field.
        position = 0 if lowered.startswith(name + b":") else lowered.find(b"\n" + name + b":")
        if position == -1:
            continue
        value_start = lowered.find(b":", position) + 1
        value_end = _field_end(lowered, value_start, len(lowered))
        fields[name] = raw[start + value_start: start + value_end]  # case kept: a boundary is case-sensitive
    return fields, min(body_start, end), block_end


def _content_type(value: bytes | None) -> tuple[bytes, bytes | None]:
    """(type/subtype, boundary) as email.message would read them; _Unsure for values it might read otherwise."""
    if value is None:
        return b"text/plain", None
    match = _CONTENT_TYPE_VALUE.match(value)
    if match is None:
        raise _Unsure("content type the stdlib might read differently")
    boundary = None
    parameters = match.group(2) or b""
    position = 0
    while parameters[position:].strip(b" \t\r\n;"):
        parameter = _PARAMETER.match(parameters, position)
        if parameter is None or parameter.end() == position:
            raise _Unsure("parameters the stdlib might read differently")
        if parameter.group(1).lower() == b"boundary" and boundary is None:
            boundary = parameter.group(2) if parameter.group(2) is not None else parameter.group(3)
        position = parameter.end()
    return match.group(1).lower(), boundary


def _regions(raw: bytes, start: int, end: int, depth: int, boundaries: tuple[bytes, ...], found: list[TextRegion],
             count: list[int], top_header_end: list[int]) -> None:
    count[0] += 1
    if count[0] > _QUICK_MAX_PARTS or depth > _QUICK_MAX_DEPTH:
        raise _Unsure("too many parts")
    fields, body_start, header_end = _region_fields(raw, start, end)
    if depth == 0:
        top_header_end.append(header_end)
    content_type, boundary = _content_type(fields.get(b"content-type"))
    maintype = content_type.partition(b"/")[0]
    if maintype == b"message":
        if depth == 0:
            raise _Unsure("a message/* message")
        return  # a forwarded original is not the sender's words
    if maintype != b"multipart":
        if content_type in _REGION_TYPES:
            encoding = fields.get(b"content-transfer-encoding", b"").strip().lower()
            found.append(TextRegion(body_start, end, content_type, encoding, fields.get(b"content-type", b"").lower(),
                                    depth, tuple(fields.items())))
        return
    if not boundary or boundary in boundaries or content_type == b"multipart/digest" or boundary != boundary.rstrip():
        raise _Unsure("multipart without a usable boundary")
    if boundary[:1] in (b'"', b"<"):
        raise _Unsure("a boundary the stdlib unquotes again")
    separator = b"--" + boundary
    lines: list[tuple[int, int, bool]] = []
    position = raw.find(separator, body_start, end)
    while position != -1:
        if position == body_start or raw[position - 1] == 10:
            newline = raw.find(b"\n", position, end)
            line_end = end if newline == -1 else newline + 1
            rest = raw[position + len(separator): line_end].rstrip(b"\r\n")
            if rest.startswith(b"--") and not rest[2:].strip(b" \t"):
                lines.append((position, line_end, True))
            elif not rest.strip(b" \t"):
                lines.append((position, line_end, False))
        position = raw.find(separator, position + len(separator), end)
    if not lines:
        raise _Unsure("start boundary not found")
    index = 0
    while index < len(lines) and not lines[index][2]:
        part_start = lines[index][1]
        index += 1
        while index < len(lines) and lines[index][0] == part_start:
            part_start = lines[index][1]
            index += 1
        part_end = lines[index][0] if index < len(lines) else end
        before = len(found)
        _regions(raw, part_start, part_end, depth + 1, boundaries + (boundary,), found, count, top_header_end)
        if len(found) > before and found[-1].end == part_end and part_end > found[-1].start:
            # The line end before a boundary belongs to the boundary.
            region = found[-1]
            cut = 2 if raw[region.start: part_end].endswith(b"\r\n") else 1 if raw[part_end - 1] == 10 else 0
            found[-1] = dataclasses.replace(region, end=part_end - cut)


@dataclass(frozen=True)
class TextLayout:
    """Where the text parts of a message lie: the raw bytes (mbox line dropped), the end of the top header
    block, and every text/plain or text/html leaf part in document order."""

    raw: bytes
    header_end: int
    regions: tuple[TextRegion, ...]


def text_regions(raw: bytes) -> TextLayout | None:
    """Where each text/plain or text/html body lies in the message.

    None when the quick split is not sure (bare CR line ends, odd headers or parameters, digests,
    missing boundaries, deep trees): the caller must then treat every byte as possible text.
    """
    raw = _strip_mbox_line(bytes(raw))
    if len(raw) > MAX_PARSE_BYTES or (b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")):
        return None
    found: list[TextRegion] = []
    top: list[int] = []
    try:
        _regions(raw, 0, len(raw), 0, (), found, [0], top)
    except (_Unsure, RecursionError):
        return None
    return TextLayout(raw, top[0], tuple(found))


@dataclass(frozen=True)
class QuickBody:
    """The chosen text part of a message, found without the full MIME parse."""

    part_text: str  # decoded, before any HTML conversion
    is_html: bool
    raw_headers: dict[str, list[str]]

    @functools.cached_property
    def body_text(self) -> str:
        """The part as text (HTML turned into text), before quotes and signature are cut."""
        return html_to_text(self.part_text[:MAX_HTML_CHARS]) if self.is_html else self.part_text

    @functools.cached_property
    def extracted(self) -> tuple[str, str, frozenset[int]]:
        """Exactly extract_new_text's answer in parse_message for the same raw bytes: text, signature, greetings."""
        return extract_new_text(self.body_text, _sender_words(_sender(self.raw_headers)))

    def new_text(self) -> str:
        """Exactly parse_message(raw).text for the same raw bytes."""
        return self.extracted[0]


_SENDER_FIELD = re.compile(rb"(?:from|sender)[ \t]*:", re.IGNORECASE)
_REGION_FIELD_TITLES = {b"content-type": "Content-Type", b"content-transfer-encoding": "Content-Transfer-Encoding",
                        b"content-disposition": "Content-Disposition"}


def _field_value(raw_value: bytes) -> str:
    """A field value as compat32 stores it (header_source_parse): blanks after the colon and the line end dropped."""
    return raw_value.decode("ascii", "surrogateescape").lstrip(" \t").rstrip("\r\n")


def quick_body_from_layout(layout: TextLayout) -> QuickBody:
    """quick_body() for a message text_regions() already split: the same part, text and sender fields."""
    raw, block_end = layout.raw, layout.header_end
    raw_headers: dict[str, list[str]] = {}
    lowered = raw[:block_end].lower()
    starts = [0] if lowered.startswith((b"from", b"sender")) else []
    for head in (b"\nfrom", b"\nsender"):
        position = lowered.find(head)
        while position != -1:
            starts.append(position + 1)
            position = lowered.find(head, position + 1)
    for start in sorted(starts):
        found = _SENDER_FIELD.match(raw, start, block_end)
        if found is None:
            continue  # "Fromage: ..." or "Sender-Id: ...", another field
        name = raw[found.start(): found.end() - 1].decode("ascii").strip().lower()
        value_end = _field_end(raw, found.end(), block_end)
        raw_headers.setdefault(name, []).append(_field_value(raw[found.end(): value_end]))
    region = chosen_region(layout)
    if region is None:
        return QuickBody("", False, raw_headers)
    part = _region_message(region)
    part.set_payload(raw[region.start: region.end].decode("ascii", "surrogateescape"))
    return QuickBody(_part_text(part), region.content_type == b"text/html", raw_headers)


def _region_message(region: TextRegion) -> Message:
    """A Message carrying a text part's MIME fields, for the stdlib helpers that read them."""
    part = Message()
    for name, value in region.fields:
        part.set_raw(_REGION_FIELD_TITLES[name], _field_value(value))
    return part


def _region_is_attachment(region: TextRegion) -> bool:
    """_is_attachment for a text part of the layout."""
    if b"name" not in region.content_type_field and not any(name == b"content-disposition" for name, _ in region.fields):
        return False  # neither a disposition nor a name parameter: nothing can make it an attachment
    part = _region_message(region)
    return _is_attachment(part, part if region.depth == 0 else Message())


def chosen_region(layout: TextLayout) -> TextRegion | None:
    """The text part parse_message checks (see _body_part): the first non-attachment text/plain part, else the
    first text/html one."""
    html_region = None
    for region in layout.regions:
        if _region_is_attachment(region):
            continue
        if region.content_type == b"text/plain":
            return region
        if html_region is None:
            html_region = region
    return html_region


def quick_body(raw: bytes) -> QuickBody | None:
    """The body part parse_message would check, from the quick MIME split; None when only a full parse will do."""
    return quick_body_or_none(text_regions(raw))


def quick_body_or_none(layout: TextLayout | None) -> QuickBody | None:
    """quick_body_from_layout, or None (the full parse decides) when there is no layout or a field defeats it."""
    if layout is None:
        return None
    try:
        return quick_body_from_layout(layout)
    except Exception:  # a field the stdlib helpers choke on: the full parse decides what to make of it
        return None
