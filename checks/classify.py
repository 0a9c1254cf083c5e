"""Classification: is this an oops/apology, who is the audience, is it a first notice or a follow-up."""
from __future__ import annotations

import binascii
import fnmatch
import itertools
import re
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import regex

from checks.message import MAX_TEXT_BYTES, WIDE_CHARSET_MARKERS, decode_header_value
from checks.model import Audience, Classification, ParsedMessage
from checks.text import MATCH_TIMEOUT

try:  # A Rust Aho-Corasick automaton scans ~4x faster than any single Python regex over many literals.
    import ahocorasick_rs as _ahocorasick
except ImportError:  # pragma: no cover - the pure-regex fallback gives the same answers, only slower
    _ahocorasick = None


@dataclass(frozen=True)
class ClassifierSettings:
    """The [detect] and [broadcast] configuration, as plain data."""

    tag_headers: tuple[str, ...] = ("X-Oops",)
    subject_tags: tuple[str, ...] = ("[oops]", "oops:", "correction:")
    auto: bool = True
    broadcast_lists: tuple[str, ...] = ()
    min_recipients: int = 5
    internal_domains: tuple[str, ...] = ()  # empty: the sender's domain and its subdomains


# ================================================================================== anchors
#
# The prefilter and the language detector share one vocabulary of anchors. The detector
# only looks at text that contains an anchor (checked with the very function the prefilter
# uses), so "the prefilter said no" implies "the detector would have said no" as long as
# an anchor in the decoded text is also in the raw bytes (or in the decoded base64 and
# quoted-printable parts the prefilter also scans).

# Whitespace as it can appear between two words in raw mail: spaces, folded lines, HTML
# tags and no-break-space entities, quoted-printable soft breaks, UTF-8 no-break spaces.
_SEP = rb"(?:\s|&nbsp;|&#160;|&#xa0;|\xc2\xa0|<[^<>]{0,200}>|=\r?\n)+"
_WORD = rb"[a-z0-9'-]+"


def _before(words: bytes, between: int = 1) -> re.Pattern[bytes]:
    """Guard: one of `words` ends right before the anchor, with up to `between` other words in between."""
    return re.compile(rb"(?:^|[^a-z])(?:" + words + rb")(?:" + _SEP + _WORD + rb"){0,%d}" % between + _SEP + rb"\Z")


def _after(pattern: bytes) -> re.Pattern[bytes]:
    """Guard: the anchor is followed by `pattern`."""
    return re.compile(pattern.replace(b"SEP", _SEP))


@dataclass(frozen=True)
class _Anchor:
    word: bytes
    left_boundary: bool = True
    right_boundary: bool = False
    before: re.Pattern[bytes] | None = None
    after: re.Pattern[bytes] | None = None
    suffix: re.Pattern[bytes] | None = None  # must match right after the anchor (word endings)


_OUR_VERBS = (
    rb"sent|send|gave|given|quoted|listed|included|attached|linked|published|posted|announced|stated|said|mentioned|"
    rb"wrote|charged|billed|shipped|delivered|e-?mailed|mailed|provided|reported|printed|displayed|showed|shown|put|"
    rb"entered|typed|picked|chose|selected|deployed|pushed|merged|released|scheduled|booked|assigned|labell?ed|named|"
    rb"invited|added|contained|was|were|been|got|out"
)
_ANCHORS: tuple[_Anchor, ...] = (
    _Anchor(b"sorry"),
    _Anchor(b"apolog"),
    _Anchor(b"regret"),
    _Anchor(b"forgive"),
    _Anchor(b"mistake"),
    _Anchor(b"oops", left_boundary=False, before=re.compile(rb"(?:^|[^a-z])(?:wh)?\Z")),  # oops, whoops
    _Anchor(b"bad", right_boundary=True, before=_before(rb"my|our", 0)),
    _Anchor(b"fault", before=_before(rb"my|our|own|at|the", 0)),
    _Anchor(
        b"mess",
        before=_before(rb"made|make|makes|making", 2),
        after=_after(rb"(?:ed|ing)?(?:-|SEP)?up"),
        suffix=re.compile(rb"(?:ed|ing|es)?(?![a-z])"),  # not "message"
    ),
    _Anchor(b"screw", after=_after(rb"(?:ed|ing|s)?(?:-|SEP)?up")),
    _Anchor(b"goof", after=_after(rb"(?:ed|ing|s|-?ups?)?(?![a-z])")),
    _Anchor(b"botch"),
    _Anchor(b"bungl"),
    _Anchor(b"blunder"),
    _Anchor(b"snafu"),
    _Anchor(b"slip", after=_after(rb"(?:ped)?(?:-|SEP)?up")),
    _Anchor(b"ball", right_boundary=True, before=_before(rb"drop|dropped|dropping|drops", 1)),
    _Anchor(b"mix", after=_after(rb"(?:ed|ing)?(?:-|SEP)?up")),
    _Anchor(b"blame"),
    _Anchor(b"accident"),  # accidental(ly), also the misspelling "accidently"
    _Anchor(b"inadvertent"),
    _Anchor(b"unintention"),
    _Anchor(b"unintended"),
    _Anchor(b"erroneous"),
    _Anchor(b"prematur"),
    _Anchor(b"incorrect"),
    _Anchor(b"inaccura"),
    _Anchor(b"wrong", before=_before(_OUR_VERBS, 5)),
    _Anchor(
        b"error",
        before=_before(rb"in|my|our|human|clerical|some|several|made|make|making|mistakes|had|has|contained", 1),
        after=_after(rb"s?SEP(?:on|in)SEP(?:my|our)SEP(?:part|side|end)|s?SEP(?:was|were|is)SEP(?:mine|ours)"),
    ),
    _Anchor(b"disregard"),
    _Anchor(b"ignore", before=_before(rb"please|pls|plz|kindly|can|may|should|just", 1)),
    _Anchor(b"outage"),
    _Anchor(b"incident"),
    _Anchor(b"downtime"),
    _Anchor(b"disruption"),
    _Anchor(b"interruption"),
    _Anchor(b"breach"),
    _Anchor(b"inconvenien"),
    _Anchor(b"forgot"),
    _Anchor(b"correction"),
    _Anchor(b"errat", after=_after(rb"(?:a|um)(?![a-z])")),  # errata, erratum
    _Anchor(b"typo"),
    _Anchor(b"oversight"),
    _Anchor(b"misprint"),
    _Anchor(b"misstat"),
    _Anchor(b"mislabel"),
    _Anchor(
        b"responsib",
        before=re.compile(
            rb"(?:^|[^a-z])(?:take|takes|taking|took|accept|accepts|accepting|accepted|assume|assumes|assuming|"
            rb"assumed|bear|own|owning|shoulder|shouldered)(?:" + _SEP + rb"(?:full|complete|total|sole|all|the|"
            rb"personal|100%|our|my))*" + _SEP + rb"\Z"
        ),
    ),
)

# Literals the prefilter needs besides the anchors: where encoded text parts start, and charsets
# whose text no byte scan can read.
_CTE = b"content-transfer-encoding"
_QP = b"quoted-printable"
_EXTRA_LITERALS: tuple[bytes, ...] = (_CTE, _QP) + WIDE_CHARSET_MARKERS
_LITERALS: tuple[bytes, ...] = tuple(a.word for a in _ANCHORS) + _EXTRA_LITERALS
_ANCHOR_COUNT = len(_ANCHORS)
_WIDE_INDEXES = frozenset(range(_ANCHOR_COUNT + 2, len(_LITERALS)))
_CHUNK = 1 << 20  # scan in 1 MB chunks so a hit early in a huge message ends the scan early
_OVERLAP = max(len(word) for word in _LITERALS)
_MAX_GUARD_CHECKS = 20_000  # past this many failed guards, give up and say "maybe" (never a wrong "no")

if _ahocorasick is not None:
    # Leftmost-longest, non-overlapping: much faster than overlapping search. No literal is a
    # prefix of another, and any two that could overlap would need a letter before the second,
    # which its word-boundary check rejects anyway.
    _AUTOMATON = _ahocorasick.BytesAhoCorasick(list(_LITERALS), matchkind=_ahocorasick.MATCHKIND_LEFTMOST_LONGEST)

    def _literal_hits(data: bytes) -> list[tuple[int, int, int]]:
        return _AUTOMATON.find_matches_as_indexes(data)

else:  # pragma: no cover
    _FALLBACK = re.compile(b"|".join(re.escape(w) for w in sorted(_LITERALS, key=len, reverse=True)))
    _FALLBACK_INDEX = {word: index for index, word in enumerate(_LITERALS)}

    def _literal_hits(data: bytes) -> list[tuple[int, int, int]]:
        return [(_FALLBACK_INDEX[m.group()], m.start(), m.end()) for m in _FALLBACK.finditer(data)]


def _is_letter(byte: int) -> bool:
    return 97 <= byte <= 122 or 65 <= byte <= 90


_SEP_LAST = frozenset(b" \t\r\n>;\xa0")  # bytes a separator can end with


_TAG_BEFORE = re.compile(rb"<[a-z/!][^<>@]*>\s*\Z")


def _tag_ends_before(data: bytes, start: int) -> bool:
    """Whether an HTML tag (of any length up to 400 bytes) ends right before `start`."""
    opening = data.rfind(b"<", max(0, start - 400), start)
    return opening != -1 and _TAG_BEFORE.match(data, opening, start) is not None


def _anchor_ok(anchor: _Anchor, data: bytes, start: int, end: int) -> bool:
    """Word boundaries hold, and when the anchor has guards, at least one of them does.

    Guards look at most 80 bytes around the anchor. An HTML tag longer than that between two
    words would hide the guard word, so a tag right next to the anchor counts as a pass: on
    raw bytes the answer may only err towards "maybe".
    """
    if anchor.left_boundary and start > 0 and _is_letter(data[start - 1]):
        return False
    if anchor.right_boundary and end < len(data) and _is_letter(data[end]):
        return False
    if anchor.suffix is not None and not anchor.suffix.match(data, end, min(len(data), end + 8)):
        return False
    if anchor.before is None and anchor.after is None:
        return True
    if anchor.before is not None and (start == 0 or data[start - 1] in _SEP_LAST or anchor.word == b"oops"):
        window_start = max(0, start - 80)
        if anchor.before.search(data, window_start, start):
            return True
        if data[window_start:start].rstrip(b" \t\r\n").endswith(b">") and _tag_ends_before(data, start):
            return True
    if anchor.after is not None and end < len(data):
        window_end = min(len(data), end + 80)
        if anchor.after.match(data, end, window_end):
            return True
        if re.match(rb"s?\s*<[a-z/!]", data[end:window_end]):
            return True
    return False


def _scan(lowered: bytes) -> Iterator[tuple[int, int]]:
    """(literal index, start) of every literal hit; anchors only where their boundaries and guards hold.

    Yields (-1, -1) once when too many guards failed: callers must then treat the text as a candidate.
    """
    failed = 0
    length = len(lowered)
    for chunk_start in range(0, max(length, 1), _CHUNK):
        chunk_end = min(length, chunk_start + _CHUNK)
        data = lowered[chunk_start: chunk_end + _OVERLAP] if length > _CHUNK else lowered
        for index, start, end in _literal_hits(data):
            start += chunk_start
            if start >= chunk_end:
                continue  # belongs to the next chunk
            if index < _ANCHOR_COUNT:
                if not _anchor_ok(_ANCHORS[index], lowered, start, end + chunk_start):
                    failed += 1
                    if failed > _MAX_GUARD_CHECKS:
                        yield -1, -1
                        return
                    continue
            yield index, start


def anchor_offsets(lowered: bytes) -> Iterator[int]:
    """Byte offsets of anchors in ASCII-lowercased bytes (-1 means: too many to check, assume some)."""
    for index, start in _scan(lowered):
        if index < _ANCHOR_COUNT:
            yield start


def has_anchor(lowered: bytes) -> bool:
    return next(anchor_offsets(lowered), None) is not None


# =============================================================================== prefilter


def _first_blank_line(data: bytes, start: int = 0) -> tuple[int, int]:
    """Position of the first empty line at or after `start` (LF or CRLF) and where the text after it begins."""
    lf = data.find(b"\n\n", start)
    crlf = data.find(b"\n\r\n", start, len(data) if lf == -1 else lf + 3)
    if crlf != -1:
        return crlf, crlf + 3
    if lf != -1:
        return lf, lf + 2
    return len(data), len(data)


def _header_end(raw: bytes) -> int:
    end, _ = _first_blank_line(raw)
    return min(end + 1, len(raw))


def _header_value_at(data: bytes, colon: int, limit: int) -> bytes:
    """A header value from just after its colon, continuation lines included."""
    end = colon
    while True:
        newline = data.find(b"\n", end, limit)
        if newline == -1:
            return data[colon + 1: limit]
        if newline + 1 < limit and data[newline + 1: newline + 2] in (b" ", b"\t"):
            end = newline + 1
            continue
        return data[colon + 1: newline]


def _header_values(raw: bytes, lowered: bytes, header_end: int, name: str) -> Iterator[str]:
    """Every value of header `name` in the header block, as the parser would hand it to decode_header_value."""
    needle = b"\n" + name.strip().lower().encode("ascii", "ignore") + b":"
    position = 0 if lowered.startswith(needle[1:]) else lowered.find(needle, 0, header_end)
    while position != -1 and position < header_end:
        colon = lowered.find(b":", position)
        value = _header_value_at(raw, colon, header_end)
        yield value.decode("ascii", "surrogateescape")
        position = lowered.find(needle, colon, header_end)


_TRUE_VALUE = regex.compile(r"^\s*(?:yes|1|true)\b", regex.IGNORECASE)


def tag_value_is_set(value: str) -> bool:
    """A tag header value that marks the message as an oops (yes / 1 / true)."""
    return bool(_TRUE_VALUE.match(decode_header_value(value)))


def subject_has_tag(subject: str, tags: Iterable[str]) -> bool:
    lowered = subject.lower()
    return any(tag.strip().lower() in lowered for tag in tags if tag.strip())


_B64_DELETE = bytes(b for b in range(256) if not (chr(b).isascii() and (chr(b).isalnum() or chr(b) in "+/")))
_UU_ENCODINGS = (b"x-uuencode", b"uuencode", b"uue", b"x-uue")


def _block_bounds(lowered: bytes, position: int) -> tuple[int, int, int]:
    """Start and end of the header block around `position`, and where the body after it starts."""
    start = max(lowered.rfind(b"\n\n", 0, position), lowered.rfind(b"\n--", 0, position), 0)
    end, body = _first_blank_line(lowered, position)
    return start, end, body


def _base64_text(raw: bytes, lowered: bytes, cte_position: int) -> bytes | None:
    """Decoded bytes of the base64 text part whose headers hold this Content-Transfer-Encoding (None: not text)."""
    start, end, body = _block_bounds(lowered, cte_position)
    content_type = lowered.find(b"content-type", start, end)
    if content_type != -1:
        colon = lowered.find(b":", content_type, end)
        value = _header_value_at(lowered, colon, end).strip() if colon != -1 else b""
        if value and not value.startswith(b"text/"):
            return None
    stop = lowered.find(b"\n--", body)
    stop = len(raw) if stop == -1 else stop
    stop = min(stop, body + MAX_TEXT_BYTES * 4 // 3 + 8)
    data = raw[body:stop].translate(None, _B64_DELETE)
    data = data[: len(data) - 1] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    return binascii.a2b_base64(data)


def _language_candidate(raw: bytes, lowered: bytes) -> bool:
    """Whether apology/mistake vocabulary could be in the text: raw bytes, then decoded encoded parts.

    Anchors in the header block count too: a malformed header block can end, for the parser,
    before the first blank line, and then those lines are body text.
    """
    encoded_parts: list[int] = []
    quoted_printable = False
    for index, start in _scan(lowered):
        if index < 0 or index in _WIDE_INDEXES:
            return True  # too much to check, or a charset that hides words from a byte scan
        if index < _ANCHOR_COUNT:
            return True
        elif _LITERALS[index] == _CTE:
            encoded_parts.append(start)
        else:
            quoted_printable = True
    for position in encoded_parts:
        colon = lowered.find(b":", position, position + 40)
        if colon == -1:
            continue
        encoding = _header_value_at(lowered, colon, len(lowered)).strip()
        if encoding in _UU_ENCODINGS:
            return True
        if encoding != b"base64":
            continue
        try:
            decoded = _base64_text(raw, lowered, position)
        except (binascii.Error, ValueError):
            return True
        if decoded and has_anchor(decoded.lower()):
            return True
    if quoted_printable:
        if has_anchor(binascii.a2b_qp(raw).lower()):
            return True
    return False


def might_be_oops(raw: bytes, settings: ClassifierSettings) -> bool:
    """Cheap pre-filter on raw bytes: False means certainly not an oops, so no full parse is needed."""
    raw = bytes(raw)
    lowered = raw.lower()
    header_end = _header_end(raw)
    for name in settings.tag_headers:
        if any(tag_value_is_set(value) for value in _header_values(raw, lowered, header_end, name)):
            return True
    if settings.subject_tags:
        for value in _header_values(raw, lowered, header_end, "subject"):
            if subject_has_tag(decode_header_value(value), settings.subject_tags):
                return True
    if not settings.auto:
        return False
    return _language_candidate(raw, lowered)


# ========================================================================= language detector

_I = regex.IGNORECASE
_FIRST_PERSON = (
    r"(?:\bI\b|\bwe\b|\bI'm\b|\bwe're\b|\bI've\b|\bwe've\b|\bI'd\b|\bwe'd\b|\bthe\s+team\b|\bsomeone\s+(?:on|in|from)\s+our\b|"
    r"\bour\s+(?:[\w-]+\s+){0,2}?(?:team|system|systems|process|script|tool|service|bot|job|pipeline|automation|vendor|"
    r"provider|release|deploy|deployment|change|update|migration|code|config|configuration|mailer|mailing|newsletter|"
    r"website|site|app|server|database|platform|staff|colleague|engineer|engineers|department|office|people|side)\b)"
)
_ADVERBS = r"(?:accidentally|accidently|accidentially|mistakenly|erroneously|inadvertently|unintentionally|unintendedly|prematurely)"
_COMM = (
    r"(?:e-?mails?|newsletters?|notices?|notifications?|announcements?|invitations?|invites?|reminders?|invoices?|"
    r"mailings?|campaigns?|blasts?|memos?|bulletins?|statements?|bills?|letters?|alerts?|messages?|mails?|posts?|"
    r"updates?|links?|calendar\s+invites?|note|notes)"
)
_COMM_RARE = (
    r"(?:e-?mail|newsletter|notice|announcement|invitation|invite|reminder|invoice|mailing|campaign|blast|memo|"
    r"bulletin|calendar\s+invite)(?!\s+address)"
)
_BAD_THING = r"(?:wrong|incorrect|erroneous|inaccurate)"
# An apology proper. Whether it is a passing social one is decided from its context below.
_APOLOGY = regex.compile(
    r"\bsorry\b|\bapolog(?:y|ies|ise|ize|ised|ized|ising|izing|ises|izes|etic(?:ally)?)\b|"
    r"\bregrets?\b|\bregrettably\b|\bforgive\s+(?:me|us)\b",
    _I,
)
_SOCIAL_AFTER = regex.compile(
    r"^(?:"
    r"\s+(?:to\s+(?:have\s+to\s+|keep\s+|be\s+)?(?:bother|bothering|trouble|disturb|interrupt|intrude|impose|pester|nag|"
    r"hassle|chase|bug|hear|learn|read|see\s+(?:you|him|her|them)\s+(?:go|leave)|say\s+goodbye|ask|butt\s+in|jump\s+in|"
    r"chime\s+in|barge\s+in|spam|cross-?post|repeat\s+myself|bring\s+up|get\s+your\s+hopes\s+up|disappoint|revive|resurrect|dig\s+up|necro|a\s+pain|annoying|a\s+bother|that\s+guy|the\s+bearer))\b"
    r"|\s+for\s+(?:the\s+|my\s+|this\s+|a\s+|such\s+a\s+)?(?:(?:very|rather|really|so|extremely|super)\s+)?"
    r"(?:late|slow|delayed|belated|tardy)\s+(?:reply|response|answer|feedback|follow-?up|note|e-?mail|message|"
    r"replies|responses|one)\b"
    r"|\s+for\s+(?:the\s+|my\s+)?(?:delay|delays|slowness|tardiness)(?:\s+(?:in|on)\s+(?:my\s+)?(?:reply|replying|"
    r"response|responding|answer|answering|getting\s+back|following\s+up|writing\s+back|coming\s+back)\b|"
    r"\s*(?:[,.;!:)\u2014\u2013-]|$))"
    r"|\s+for\s+not\s+(?:\w+\s+)?(?:replying|responding|answering|getting\s+back|writing|being\s+in\s+touch|"
    r"following\s+up|coming\s+back)\b"
    r"|\s+for\s+(?:taking\s+(?:so\s+)?(?:long|a\s+while|forever|ages)|being\s+(?:slow|late))\s+(?:to|in)\s+"
    r"(?:reply|respond|answer|get|getting|write|replying|responding)\b"
    r"|\s+for\s+(?:the\s+|this\s+|my\s+|a\s+)?(?:(?:very|rather|somewhat)\s+)?(?:long|lengthy|longish|wordy|rambling|"
    r"long-winded|massive|huge)\s+(?:e-?mail|mail|message|post|note|reply|rant|write-?up|thread|response|read|quotes?|"
    r"quoting|paste|log|output|list|digression)\b"
    r"|\s+for\s+being\s+(?:(?:so|a\s+bit|a\s+little|such\s+a)\s+)?(?:dense|thick|slow|stupid|dumb|a\s+pain|pedantic|picky|"
    r"nit-?picky|that\s+guy|persistent|annoying|difficult|blunt|vague|unclear|pushy|impatient)\b"
    r"|[\s,]*but\s+I\s+(?:couldn't|could\s+not|can't|cannot)\s+resist\b"
    r"|\s*,?\s*(?:I|we)(?:'ve|\s+have)?\s+(?:double[- ]?booked|overbooked|got\s+double[- ]?booked)\b"
    r"|\s+(?:for|about)\s+(?:the\s+)?double\s+(?:e-?mail|mail|message|send|sending)s?\b"
    r"|\s*,\s*(?:no|not)\b"
    r"|[\s,]*but\s+if\s+you\b"
    r"|\s+if\s+(?:my|I|this|that|the)\s+(?:[\w'-]+\s+){0,3}?(?:was|were|is|are|wasn't|weren't|sound(?:s|ed)?|seem(?:s|ed)?)"
    r"\s+(?:(?:a\s+bit|too|very|so|rather|a\s+little)\s+)?(?:unclear|confusing|not\s+clear|vague|terse|harsh|rude|blunt|"
    r"curt|short)\b"
    r"|\s+if\s+I(?:'ve|\s+have)?\s+(?:misrepresented|misquoted|misunderstood|misread|mischaracteri[sz]ed|paraphrased|"
    r"oversimplified|left\s+(?:anyone|anything|someone|something)\s+out|missed\s+(?:anyone|anything|someone|something))\b"
    r"|\s+(?:voor\s+de\s+(?:late|trage)|für\s+die\s+späte|pour\s+le\s+retard)\b"
    r"|\s+(?:for|about)\s+(?:the\s+|any\s+|all\s+the\s+|this\s+|my\s+)?(?:noise|spam|cross-?post(?:s|ing)?|"
    r"double[- ]?post(?:s|ing)?|duplicates?|duplicate\s+(?:post|e-?mail|message|mail)s?|re-?post(?:s|ing)?|"
    r"off[- ]topic|OT|newbie|n00b|noob|beginner|basic|dumb|stupid|silly|naive|simple|obvious|trivial)\b"
    r"|\s+(?:for|about)\s+(?:your|the|their|his|her)\s+loss\b"
    r"|\s+about\s+(?:your|the|their|his|her)\s+(?:news|situation|illness|mother|father|mom|dad|diagnosis)\b"
    r"|\s+(?:for|about)\s+(?:asking|the\s+questions?|my\s+(?:ignorance|english|bad\s+english|poor\s+english|french|"
    r"german|lack\s+of\s+knowledge)|bothering|the\s+bother|interrupting|the\s+interruption|the\s+intrusion|intruding|"
    r"hijacking|jumping\s+in|butting\s+in|chiming\s+in|(?:the\s+)?(?:short|late|last[- ]minute)\s+notice|"
    r"the\s+(?:direct|private|off-list)\s+(?:e-?mail|mail|message|reply)|(?:any\s+|the\s+|my\s+)?typos(?!\s+in\b)|"
    r"(?:the\s+)?formatting|(?:the\s+)?brevity|the\s+(?:short|brief|quick|terse)\s+(?:reply|note|answer|message|"
    r"response|e-?mail)|top-?posting|the\s+top-?post|not\s+being\s+(?:more\s+)?clear|being\s+unclear)\b"
    r"|\s+if\s+(?:this|it|that|my\s+question)\s+(?:is|was|has\s+been|sounds|seems|appears)\s+"
    r"(?:(?:a|an|the|too|very|really|so|already|pretty|rather|kind\s+of|somewhat)\s+){0,3}(?:\w+\s+)?(?:question|"
    r"asked|posted|discussed|covered|answered|obvious|off[- ]topic|OT|wrong\s+(?:list|place|forum|group)|silly|dumb|"
    r"stupid|basic|trivial|naive|noob|newbie|repeat|duplicate|long|unclear|confusing|wrong|misleading|incorrect|"
    r"inaccurate|old\s+news|known)\b"
    r"|\s+if\s+I\s+(?:missed|overlooked|misunderstood|misread)\s+(?:something|it|this|that|the|your|an?)\b"
    r"|\s+if\s+I'?m\s+(?:missing|asking)\b"
    r"|[\s,!.\u2014\u2013-]*(?:(?:I|we)\s+)?(?:can't|cannot|can\s+not|won't|will\s+not|couldn't|could\s+not|am\s+not\s+able\s+to|"
    r"won't\s+be\s+able\s+to|will\s+not\s+be\s+able\s+to|wasn't\s+able\s+to)\s+(?:make\s+it|attend|come|join|be\s+there|"
    r"make\s+the|participate|be\s+at|reproduce|replicate|help|answer|say|tell|comment|find|see|access|open)\b"
    r"|[\s,!.\u2014\u2013-]*(?:(?:a|one|another|one\s+more|just\s+a|quick|a\s+quick|silly|dumb|stupid|basic|newbie|noob|"
    r"naive)\s+){1,2}(?:\w+\s+)?question"
    r"|\s*,?\s*I'?m\s+(?:out\s+of\s+(?:the\s+)?office|away|on\s+(?:leave|holiday|vacation)|travell?ing|"
    r"not\s+available|unavailable)\b"
    r"|\s+(?:that\s+)?you(?:'re|\s+are|\s+were|'ve\s+been|\s+have\s+been)\s+(?:feeling|not\s+feeling|sick|ill|unwell|"
    r"going\s+through|having\s+a\s+(?:hard|rough|tough))\b"
    r"|\s*,?\s*(?:what|who|where|which|when|how|come\s+again|pardon|say\s+again|I\s+(?:don't|do\s+not|didn't|did\s+not)\s+"
    r"(?:follow|understand|get|catch|see|know)|I\s+missed\s+that|I'm\s+(?:not\s+sure|confused|lost)|not\s+sure|"
    r"no\s+idea|I\s+have\s+no\s+(?:idea|clue|experience)|can't\s+help|I\s+can't\s+help|I\s+wasn't\s+(?:more\s+)?clear|"
    r"I\s+was\s+not\s+(?:more\s+)?clear)\b"
    r"|\s*\?"
    r"|\s+(?:I|we)\s+missed\s+(?:your|the|a)\s+(?:call|message|e-?mail|mail|text|meeting|party)\b"
    r"|\s+(?:state|sight|excuse|lot|tale|affair|spectacle|sods?)\b"
    r"|\s+to\s+be\s+(?:OT|off[- ]topic)\b|[^.!?\n]{0,80}\boff[- ]topic\b"
    r"|\s+(?:for|about)\s+(?:the\s+)?(?:dupe|dup|replying\s+to\s+(?:my\s+own|myself)|answering\s+my\s+own)"
    r"|\s+if\s+(?:you\s+)?(?:(?:do\s+not|don't|can't|cannot|could\s+not|couldn't)\s+understand|my\s+english)"
    r"|\s+if\s+(?:I|this|it)\s+(?:sound|sounds|seem|seems|come\s+across|came\s+across)\b"
    r"|\s+not\s+to\s+be\s+(?:able|of\s+more)\b"
    r"|\s*,?\s*(?:this|it)\s+(?:hasn't|has\s+not|doesn't|does\s+not|isn't|is\s+not)\b[^.!?\n]{0,40}?"
    r"(?:to\s+do\s+with|related|relevant|topic)"
    r"|\s*,?\s*I'?m\s+having\s+(?:a\s+hard\s+time|trouble|difficulty|difficulties)\b)",
    _I,
)
_FORMAL_NEWS = regex.compile(r"^\s+to\s+(?:inform|announce|advise|say|tell|report|let\s+you\s+know)\b", _I)
_LEADING_FILLER = regex.compile(
    r"^(?:\s+in\s+advance|\s+to\s+(?:[\w'-]+\s+){0,3}?(?=for\b)|\s*,\s*(?:all|everyone|folks|guys|team|again)\s*,?)+",
    _I,
)
_SOCIAL_BEFORE = regex.compile(
    r"(?:\b(?:feel|feels|felt|feeling)\s+(?:(?:so|really|very|kind\s+of|a\s+bit|a\s+little)\s+)?"
    r"|\b(?:no\s+need\s+to|don't|do\s+not|never|nothing\s+to|no\s+reason\s+to|needn't|not|no)\s+(?:be\s+)?(?:\w+\s+)?"
    r"|\bno[,.!]\s*"
    r"|\b(?:no\s+idea|not\s+sure|(?:don't|do\s+not)\s+know|can't\s+help|no\s+clue)[,.!]?\s*"
    r"|\b(?:he|she|they|someone|somebody|the\s+customer|the\s+client)\s+(?:\w+\s+)?"
    r"|\b(?:accept(?:ed|ing)?\s+(?:your|his|her|their)|(?:got|received|demanded|want|wanted)\s+(?:an?|your|his|her|their)"
    r"|(?:still\s+)?waiting\s+for\s+(?:an?|your|his|her|their))\s+)\Z",
    _I,
)

_SENT_VERBS = (
    r"(?:sent|delivered|e-?mailed|mailed|published|posted|issued|distributed|shared|forwarded|charged|billed|released|"
    r"deployed|pushed|shipped|deleted|removed|cancell?ed|announced|scheduled|disabled|closed|terminated|suspended|"
    r"blocked|refunded|duplicated|revoked|invited|added|subscribed|unsubscribed|copied|cc'd|bcc'd|included|attached|"
    r"overwritten|wiped|exposed|leaked|dropped|reset|triggered|processed|merged)"
)
_IN_ERROR = r"(?:in\s+error|by\s+(?:mistake|accident)|" + _ADVERBS + r")"
_ERROR_END = r"(?=\s*(?:[.,;:!)\u2014\u2013-]|$|\s+(?:on|in|was|is|and|that|which|when|there)\b))"

# Mistake language: a first-person or organisational actor with a mistake verb, a mistake noun
# owned by us, or a correction of something we sent. Each pattern contains an anchor word.
_MISTAKE_PATTERNS: tuple[regex.Pattern[str], ...] = tuple(
    regex.compile(pattern, _I)
    for pattern in (
        r"(?<!kernel\s{1,3})\b(?:w?hoops|oopsie|oops)\b(?![\d_-])",
        r"\b(?:my|our)\s+bad(?=\s*(?:[.,;:!)\u2014\u2013-]|$))",  # "my bad" as an admission, not "my bad English"
        r"\b(?:my|our)\s+(?:own\s+|big\s+|huge\s+|terrible\s+|stupid\s+|silly\s+)?"
        r"(?:fault|mistakes?|blunder|oversight|screw-?up|mess-?up|slip-?up|goof|mix-?up|typos?)\b(?!\s+tolerance)",
        r"\b(?:my|our)\s+(?:own\s+|big\s+|huge\s+|terrible\s+|stupid\s+|silly\s+)?errors?" + _ERROR_END,
        _FIRST_PERSON + r"\s+(?:have\s+|had\s+|just\s+|also\s+|clearly\s+|obviously\s+|really\s+){0,2}made\s+(?!the\s+(?:[\w-]+\s+)?"
        r"mistake\s+of\b)(?:(?:a|an|some|several|two|three|few|one|the|same|this|that|another|serious|big|huge|major|"
        r"minor|small|real|bad|terrible|costly|silly|stupid|[\w-]+)\s+){0,3}?(?:mistakes?|errors?|blunders?)\b"
        + _ERROR_END,
        r"\b(?:mistakes?|errors?)\s+(?:were|was|have\s+been|had\s+been|has\s+been)\s+made\b",
        r"\b(?:was|were|been|got|is|are)\s+(?:[\w'-]+\s+){0,2}?" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?" + _IN_ERROR + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,1}?" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?" + _IN_ERROR + r"\b",
        r"\b" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?(?:in\s+error|by\s+(?:mistake|accident))\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?" + _ADVERBS + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,3}?(?:sent|gave|given|quoted|listed|included|attached|linked|published|posted|"
        r"announced|stated|said|mentioned|wrote|charged|billed|shipped|delivered|e-?mailed|mailed|provided|reported|"
        r"printed|displayed|showed|shown|put|entered|typed|picked|chose|selected|deployed|pushed|merged|released|"
        r"scheduled|booked|assigned|labell?ed|named|invited|added)\s+(?:(?:you|out|it|them|your|the|a|an|some|with|us|"
        r"everyone|all\s+of\s+you|to)\s+){0,3}" + _BAD_THING + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:sent|e-?mailed|mailed|delivered|shipped|forwarded|posted|invited|"
        r"billed|charged)\s+(?:[\w'-]+\s+){0,4}?to\s+(?:the\s+)?" + _BAD_THING + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?got\s+(?:[\w'-]+\s+){1,3}?wrong\b",
        r"\b(?:went\s+out|gone\s+out|was\s+sent|were\s+sent|been\s+sent|got\s+sent)\s+(?:[\w'-]+\s+){0,4}?" + _BAD_THING + r"\b",
        r"\b(?:previous|last|earlier|prior|yesterday's|today's|this\s+morning's|our|my|recent|above|original)\s+"
        + _COMM + r"\s+(?:[\w'-]+\s+){0,8}?(?:" + _BAD_THING + r"|in\s+error|an?\s+(?:[\w-]+\s+)?(?:error|mistake|typo)|"
        r"mistakes|errors|typos?|incorrectly|wrongly)\b",
        r"\b(?:the|this|that)\s+" + _COMM_RARE + r"\s+(?:[\w'-]+\s+){0,8}?(?:" + _BAD_THING + r"|in\s+error|"
        r"an?\s+(?:[\w-]+\s+)?(?:error|mistake|typo)|mistakes|errors|typos?|incorrectly|wrongly)\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:incorrectly|wrongly|erroneously)\s+(?:\w+\s+)?\w+ed\b",
        r"(?:\bplease|\bpls|\bplz|\bkindly|\bjust|^|[.!?]\s+|\n)\s*(?:[\w']+\s+)?disregard\s+(?:the|my|our|this|that|"
        r"these|those|previous|last|earlier|prior|above|it)\b",
        r"\b(?:please|pls|plz|kindly|you\s+(?:can|may|should)|just)\s+(?:[\w']+\s+)?ignore\s+(?:(?:the|my|our|this|that|"
        r"these|those)\s+)?(?:previous|last|earlier|prior|above|first|original|yesterday's|today's|this\s+morning's|"
        r"other)\s+(?:e-?mails?|messages?|mails?|posts?|notes?|invites?|invitations?|reminders?|notices?|newsletters?|"
        r"announcements?|links?|updates?|one)\b",
        r"\b(?:outage|incident|downtime|disruption|breach|interruption)s?\b\s+(?:[\w'-]+\s+){0,6}?(?:caused\s+by|"
        r"due\s+to|resulted\s+from|was\s+the\s+result\s+of|because\s+of|triggered\s+by|stemmed\s+from|"
        r"traced\s+(?:back\s+)?to|came\s+from|was\s+our|were\s+our)\b",
        r"\b(?:caused|causing|triggered|led\s+to|resulted\s+in|introduced)\s+(?:an?\s+|the\s+|some\s+|"
        r"(?:\d+|several|two|three)[\w-]*\s+)?(?:[\w-]+[\s-]+){0,3}?(?:outages?|incidents?|downtime|disruptions?|"
        r"breach(?:es)?|interruptions?)\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:had|experienced|suffered)\s+(?:an?\s+|the\s+|some\s+)?(?:[\w-]+\s+){0,2}?"
        r"(?:outages?|incidents?|downtime|disruptions?|breach(?:es)?|interruptions?)\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:messed|screwed|goofed|botched|bungled|dropped\s+the\s+ball|"
        r"slipped\s+up|mixed\s+up|mix\s+up|mess\s+up|messing\s+up|screw\s+up|screwing\s+up)\b",
        r"\bdropped\s+the\s+ball\b",
        r"\b(?:our|my|this|that)\s+(?:[\w-]+\s+)?(?:mix-?up|screw-?up|mess-?up|slip-?up|blunder|goof|snafu|botch)\b",
        r"\b(?:an|our|my)\s+(?:[\w-]+\s+)?oversight\s+(?:on\s+(?:our|my)\s+part|by\s+(?:us|me|our))\b",
        r"\boversight\s+on\s+(?:our|my)\s+part\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:made|make)\s+(?:a|such\s+a|quite\s+a|a\s+real|a\s+big|a\s+huge)\s+mess\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:take|takes|taking|took|accept|accepts|accepting|accepted|assume|"
        r"assumes|assumed|bear|own|shoulder)\s+(?:(?:full|complete|total|sole|all|the|personal|100%|our|my)\s+){0,2}"
        r"(?:blame|responsibility)\b(?!\s+for\s+(?:your|their|his|her)\b)",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:is|was|are|were|am|'m|'re)\s+(?:(?:entirely|completely|fully|partly|"
        r"partially|solely|squarely|totally|100%)\s+)?(?:to\s+blame|at\s+fault)\b",
        r"\b(?:the\s+)?blame\s+(?:is|lies|rests|was|lay)\s+(?:(?:entirely|squarely|solely|fully)\s+)?(?:with|on)\s+"
        r"(?:me|us|our)\b",
        r"\bblame\s+(?:it|this|that)\s+on\s+(?:me|us|our)\b",
        r"\b(?:the\s+)?(?:fault|mistake|error)\s+(?:is|was|lies|lay|rests)\s+(?:(?:entirely|all|completely|squarely)\s+)?"
        r"(?:mine|ours|with\s+(?:me|us|our)|on\s+(?:me|us|our))\b",
        r"(?:\bI\b|\bwe\b|(?-i:\b[A-Z][a-z]+\b)|\bsomeone\b|\bsomebody\b|\bthe\s+team\b|\bour\s+\w+)\s+(?:[\w']+\s+)?"
        # Not the everyday resend notes: "forgot to attach the file", "forgot to reply to all".
        r"forgot\s+(?:to\s+(?!mention|say|ask|add\s+that|tell\s+you|thank|(?:also\s+)?attach|include\s+the\s+attachment|"
        r"[\"']?(?:reply|cc|copy|bcc)\b)|about\b)",
        r"(?:^|\n)\s*(?:correction|erratum|errata|corrigendum)\s*[:!\u2014\u2013-]",
        r"\b(?:a|one|quick|small|minor|slight|important|brief)\s+correction\s+(?:to|on|regarding|re|about|:)",
        r"\bcorrection\s+(?:to|on|regarding|re|about)\s+(?:my|our|yesterday's|this\s+morning's|today's|the\s+previous|"
        r"the\s+last|the\s+earlier|previous|last|earlier)\b",
        r"\b(?:a|the|one|small)\s+typo\s+in\s+(?:my|our|the|yesterday's|today's|this|that|previous|last|earlier)\b",
        r"\bfor\s+(?:the|any|all\s+the|this|our|all\s+of\s+the)\s+inconvenience\b",
        r"\binconvenience\s+(?:this|it|that)\s+(?:may\s+have\s+|might\s+have\s+|has\s+|have\s+)?caused\b",
        r"\b(?:misprint(?:ed)?|misstat(?:ed|ement)|mislabell?ed)\b",
    )
)
# One pass over a window instead of one per pattern.
_MISTAKE_ANY = regex.compile("|".join(f"(?:{p.pattern})" for p in _MISTAKE_PATTERNS), _I)

# Sentences that only sound like a mistake: legal disclaimers and "if you ..." hypotheticals.
_NOT_OURS = regex.compile(
    r"^\s*(?:if\s+(?:you|I|we)|in\s+case\s+you|should\s+you)\b|\bintended\s+recipient|\bnot\s+the\s+(?:intended|named)\b|"
    r"\b(?:received|receive|receiving)\s+this\s+(?:e-?mail|message|communication|transmission)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:in\s+error|by\s+mistake)|\bconfidential",
    _I,
)

_HYPOTHETICAL = regex.compile(r"^\s*(?:if\s+you|in\s+case\s+you|should\s+you)\b", _I)

# Whether an apology word is the sender's own apology, judged from the words before and after it.
_ADVERB_RUN = r"(?:(?:so|very|really|truly|deeply|terribly|awfully|extremely|sincerely|genuinely|incredibly|most|quite|" \
    r"a\s+bit|a\s+little|just|also|both|all|again|profoundly|profusely|humbly|unreservedly|do|would\s+like\s+to|" \
    r"want\s+to|wish\s+to|must|have\s+to|need\s+to|should|can\s+only|'d\s+like\s+to)\s+){0,3}"
_SPEAKER_BEFORE = regex.compile(
    r"(?:\b(?:I|we)(?:'m|'re|\s+am|\s+are|\s+was|\s+were|\s+feel|\s+felt|\s+remain|'d|\s+would)?\s+" + _ADVERB_RUN +
    r"|(?:^|[.!?:;]|\n[ \t]*\n|[,.!?:;)][ \t]*\n|\s--?|\*)\s*(?:(?:so|very|really|truly|deeply|terribly|again|oh|ah|oops|whoops|and|but|also|ok|"
    r"okay|yes|um|hmm|doh|once\s+again|many|sincere|sincerest|deepest|humble|humblest|profuse|my|our|please\s+accept\s+"
    r"(?:my|our)|heartfelt|(?:my|our)\s+(?:sincere|sincerest|deepest|humble|humblest|profuse|heartfelt|honest|full|"
    r"unreserved)|apologies)[,!.]?\s+){0,3}"
    r"|\b(?:my|our|sincere|sincerest|deepest|humble|humblest|profuse|many|heartfelt|unreserved|genuine|honest|an)\s+"
    r"(?:of\s+)?"
    r"|\bplease\s+accept\s+(?:(?:my|our|this|these)\s+)?(?:[\w-]+\s+){0,2}"
    r"|\bowe\s+(?:you|everyone|all\s+of\s+you|them|the\s+team)\s+(?:an?\s+)?(?:[\w-]+\s+)?)\Z",
    _I,
)
_APOLOGY_AFTER = regex.compile(
    r"^\s*(?:for|about|that|if|to\s+(?:all|everyone|you|those|anyone)|again|all)\b|^\s*[,;]?\s*but\b|"
    r"^\s*(?:[.!]|$)",  # closing a sentence: "We broke the build, sorry."
    _I,
)
_QUOTE_OPEN = ('"', "\u201c", "\u2018", "\u00ab")
_QUOTE_CLOSE = ('"', "\u201d", "\u2019", "\u00bb")

_MAX_WINDOWS = 200
_TIME_BUDGET = 0.25  # seconds per message; adversarial text stops being read, never stalls the relay
_WINDOW = 240


@dataclass(frozen=True)
class LanguageVerdict:
    """What the language detector found in the new text."""

    oops: bool
    real_apology: bool


def _search(pattern: regex.Pattern[str], text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    try:
        return pattern.search(text, pos, len(text) if endpos is None else endpos, timeout=MATCH_TIMEOUT)
    except TimeoutError:
        return None


def _is_social(text: str, start: int, end: int, word: str) -> bool:
    """A passing courtesy ("sorry to bother you") rather than an apology for something that went wrong."""
    after = text[end: end + 200]
    if word[:6].lower() == "regret" and _search(_FORMAL_NEWS, after):
        return True  # "we regret to inform you": delivering news, not owning a mistake
    filler = _search(_LEADING_FILLER, after)
    if filler:
        after = after[filler.end():]
    if _search(_SOCIAL_AFTER, after):
        return True
    return _search(_SOCIAL_BEFORE, text[max(0, start - 60): start]) is not None


def _inside_quotation(text: str, start: int) -> bool:
    """Whether a position sits inside quotation marks opened earlier on the same line (reported speech)."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 300): start]
    opened = sum(before.count(mark) for mark in _QUOTE_OPEN if mark != '"')
    closed = sum(before.count(mark) for mark in _QUOTE_CLOSE if mark != '"')
    return opened > closed or before.count('"') % 2 == 1


def _is_own_apology(text: str, start: int, end: int, word: str) -> bool:
    """The sender apologising ("I'm sorry that", "Apologies for", "we regret"), not a sorry state or someone else."""
    if _inside_quotation(text, start) or _is_social(text, start, end, word):
        return False
    if _search(_HYPOTHETICAL, _sentence_of(text, start, end)):
        return False  # "If you do not wish to receive these, accept our apologies": a form letter, not an apology
    lowered = word.lower()
    if lowered.startswith("forgive"):
        return True
    if lowered == "regrettably":
        return _search(_SPEAKER_BEFORE, text[max(0, start - 80): start]) is not None and text[end: end + 1] == ","
    if _search(_SPEAKER_BEFORE, text[max(0, start - 80): start]):
        return True
    return lowered.startswith(("sorry", "apolog")) and _search(_APOLOGY_AFTER, text[end: end + 40]) is not None


def _sentence_of(text: str, start: int, end: int) -> str:
    """The sentence (bounded to a few hundred characters) around text[start:end]."""
    left = text[max(0, start - 300): start]
    cut = max(left.rfind(". "), left.rfind("! "), left.rfind("? "), left.rfind("\n\n"), left.rfind(".\n"))
    sentence_start = max(0, start - 300) + (cut + 2 if cut != -1 else 0)
    right = text[end: end + 300]
    stops = [i for i in (right.find(". "), right.find("! "), right.find("? "), right.find("\n\n")) if i != -1]
    sentence_end = end + (min(stops) + 1 if stops else len(right))
    return text[sentence_start:sentence_end]


def _char_offsets(text: str, data: bytes, byte_offsets: Iterable[int]) -> Iterator[int]:
    """Map byte offsets in text's UTF-8 encoding back to character offsets (offsets must be ascending)."""
    if len(data) == len(text):
        yield from byte_offsets
        return
    previous_byte, previous_char = 0, 0
    for offset in byte_offsets:
        previous_char += len(data[previous_byte:offset].decode("utf-8", "surrogatepass"))
        previous_byte = offset
        yield previous_char


def _mistake_in(text: str, start: int, end: int) -> bool:
    """Whether any mistake pattern matches in text[start:end] outside quotations, disclaimers and hypotheticals."""
    try:
        for match in _MISTAKE_ANY.finditer(text, start, end, timeout=MATCH_TIMEOUT):
            if _inside_quotation(text, match.start()):
                continue
            if _search(_NOT_OURS, _sentence_of(text, match.start(), match.end())):
                continue
            return True
    except TimeoutError:
        return False
    return False


def detect_language(text: str) -> LanguageVerdict:
    """Apology or mistake language in the sender's new words, social "sorry"s excepted."""
    data = text.encode("utf-8", "surrogatepass").lower()
    # Anchors come in text order; windows past _MAX_WINDOWS are never looked at, so stop collecting early.
    offsets = sorted(itertools.islice(anchor_offsets(data), _MAX_WINDOWS * 20))
    if not offsets:
        return LanguageVerdict(False, False)
    # Curly apostrophes are common in mail; the patterns are written with straight ones (same length).
    text = text.replace("\u2019", "'")
    if offsets[0] == -1:
        positions: Iterable[int] = range(0, len(text), _WINDOW)
    else:
        positions = _char_offsets(text, data, offsets)
    oops = apology = False
    covered_until = -1
    windows = 0
    deadline = time.monotonic() + _TIME_BUDGET
    for position in positions:
        if position < covered_until:
            continue
        windows += 1
        if windows > _MAX_WINDOWS or time.monotonic() > deadline:
            break
        start, end = max(0, position - _WINDOW), min(len(text), position + _WINDOW)
        covered_until = end - 60
        try:
            for match in _APOLOGY.finditer(text, start, end, timeout=MATCH_TIMEOUT):
                if _is_own_apology(text, match.start(), match.end(), match.group()):
                    oops = apology = True
                    break
        except TimeoutError:
            pass
        if not oops:
            oops = _mistake_in(text, start, end)
        if apology:
            break
    return LanguageVerdict(oops, apology)


# ============================================================================ classification

_REPLY_PREFIX = regex.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)*(?:re|aw|sv|vs|fwd?|fw|wg|tr|rv|antw|odp|res|ynt|回复|答复|转发)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    _I,
)
_FOLLOW_UP_WORDS = regex.compile(
    r"\b(?:updated?|updates|follow[- ]?ups?|followup|resolved|post[- ]?mortem|postmortem|fix|fixed|fixes|"
    r"root\s+cause|resolution|all\s+clear)\b",
    _I,
)


def _domain_matches(domain: str, pattern: str) -> bool:
    pattern = pattern.strip().lower()
    if pattern.startswith("*."):
        # "*.example.com" covers example.com itself and every subdomain.
        return domain == pattern[2:] or fnmatch.fnmatchcase(domain, pattern)
    return fnmatch.fnmatchcase(domain, pattern)


def _is_list(address: str, lists: tuple[str, ...]) -> bool:
    lowered = address.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern.strip().lower()) for pattern in lists if pattern.strip())


def _recipient_addresses(parsed: ParsedMessage, envelope: tuple[str, ...] | None) -> list[str]:
    addresses = list(envelope) if envelope is not None else [a.addr for a in parsed.recipients]
    seen: dict[str, None] = {}
    for address in addresses:
        cleaned = address.strip().strip("<>").lower()
        if cleaned:
            seen[cleaned] = None
    return list(seen)


def _is_internal(recipients: list[str], parsed: ParsedMessage, settings: ClassifierSettings) -> bool:
    if not recipients:
        return False
    patterns: tuple[str, ...] = tuple(p for p in settings.internal_domains if p.strip())
    if not patterns:
        if parsed.sender is None or not parsed.sender.domain:
            return False
        patterns = ("*." + parsed.sender.domain,)
    for address in recipients:
        if _is_list(address, settings.broadcast_lists):
            continue
        domain = address.rpartition("@")[2]
        if not any(_domain_matches(domain, pattern) for pattern in patterns):
            return False
    return True


def _is_follow_up(parsed: ParsedMessage) -> bool:
    if parsed.in_reply_to or parsed.references:
        return True
    subject = parsed.subject
    return bool(_search(_REPLY_PREFIX, subject) or _search(_FOLLOW_UP_WORDS, subject))


def oops_reason(parsed: ParsedMessage, settings: ClassifierSettings) -> tuple[str, LanguageVerdict]:
    """Why this is an oops ("header", "subject", "language" or ""), and the language verdict."""
    language = detect_language(parsed.text) if parsed.text else LanguageVerdict(False, False)
    for name in settings.tag_headers:
        value = parsed.headers.get(name.strip().lower())
        if value is not None and tag_value_is_set(value):
            return "header", language
    if subject_has_tag(parsed.subject, settings.subject_tags):
        return "subject", language
    if settings.auto and language.oops:
        return "language", language
    return "", language


def classify(
    parsed: ParsedMessage,
    settings: ClassifierSettings,
    team: str,
    envelope_recipients: tuple[str, ...] | None = None,
) -> Classification:
    """Classify a parsed message; envelope recipients (proxy) win over To+Cc+Bcc (check)."""
    reason, language = oops_reason(parsed, settings)
    recipients = _recipient_addresses(parsed, envelope_recipients)
    precedence = parsed.header("precedence").strip().lower()
    broadcast = (
        any(_is_list(address, settings.broadcast_lists) for address in recipients)
        or bool(parsed.header("list-id"))
        or precedence in ("list", "bulk")
        or len(recipients) >= settings.min_recipients
    )
    return Classification(
        team=team,
        is_oops=bool(reason),
        oops_reason=reason,
        audience=Audience.BROADCAST if broadcast else Audience.INDIVIDUAL,
        internal=_is_internal(recipients, parsed, settings),
        follow_up=_is_follow_up(parsed),
        real_apology=language.real_apology,
    )


__all__ = [
    "ClassifierSettings",
    "LanguageVerdict",
    "classify",
    "detect_language",
    "has_anchor",
    "might_be_oops",
    "oops_reason",
]
