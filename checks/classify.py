"""Classification: is this an oops/apology, who is the audience, is it a first notice or a follow-up."""
from __future__ import annotations

import dataclasses

import binascii
import fnmatch
import itertools
import re
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import regex

from checks.message import (
    MAX_TEXT_BYTES,
    WIDE_CHARSET_MARKERS,
    QuickBody,
    TextLayout,
    TextRegion,
    chosen_region,
    decode_base64_text,
    decode_header_value,
    quick_body_or_none,
    text_regions,
)
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
# only looks at text around an anchor (found with the very function the prefilter uses),
# so "stage 1 said no" implies "the detector would have said no" as long as an anchor in
# the new text is also in the raw bytes (or in the decoded base64 and quoted-printable
# parts stage 1 also scans). A guard's words may stand on both sides of a quoted passage
# that the new text drops; guards are then also tried with the passage taken out.

# Whitespace as it can appear between two words in raw mail: spaces, folded lines, HTML
# tags and no-break-space entities, quoted-printable soft breaks, UTF-8 no-break spaces.
_SEP = rb"(?:\s|&nbsp;|&#160;|&#xa0;|\xc2\xa0|<[^<>]{0,200}>|=\r?\n)+"
# A word between guard words; an apostrophe may come as a curly quote or an HTML entity in raw mail.
_WORD = rb"(?:[a-z0-9'-]|\xe2\x80\x99|&#?[a-z0-9]{1,7};)+"


# The same separator and word read backwards, for guards matched from the anchor towards the left.
_SEP_REVERSED = rb"(?:\s|;psbn&|;061#&|;0ax#&|\xa0\xc2|>[^<>]{0,200}<|\n\r?=)+"
_WORD_REVERSED = rb"(?:[a-z0-9'-]|\x99\x80\xe2|;[a-z0-9]{1,7}#?&)+"
# Guard pattern -> the same pattern for the reversed window (see _reverse_words and _anchor_ok).
_REVERSED_BEFORE: dict[re.Pattern[bytes], re.Pattern[bytes]] = {}


def _reverse_words(words: bytes) -> bytes:
    """An alternation of words, each word spelled backwards; words may only hold letters, '-' and 'x?' optionals."""
    reversed_words = []
    for word in words.split(b"|"):
        tokens: list[bytes] = []
        for byte in word:
            char = bytes([byte])
            if char == b"?":
                tokens[-1] += char  # "e-?mailed": the optional applies to the byte before
            elif char.isalpha() or char == b"-":
                tokens.append(char)
            else:
                raise ValueError(f"guard word {word!r} is not a plain word")
        reversed_words.append(b"".join(reversed(tokens)))
    return b"|".join(reversed_words)


def _before(words: bytes, between: int = 1) -> re.Pattern[bytes]:
    """Guard: one of `words` ends right before the anchor, with up to `between` other words in between.

    A search for a pattern that must end at the anchor tries every start in the window; the reversed
    pattern, matched once from the anchor leftwards on the reversed window, answers the same question.
    """
    pattern = re.compile(rb"(?:^|[^a-z])(?:" + words + rb")(?:" + _SEP + _WORD + rb"){0,%d}" % between + _SEP + rb"\Z")
    _REVERSED_BEFORE[pattern] = re.compile(
        _SEP_REVERSED + rb"(?:" + _WORD_REVERSED + _SEP_REVERSED + rb"){0,%d}" % between
        + rb"(?:" + _reverse_words(words) + rb")[^a-z]"
    )
    return pattern


def _before_holds(pattern: re.Pattern[bytes], data: bytes, window_start: int, start: int) -> bool:
    """Whether a before-guard matches data[i:start] for some i >= window_start (a search ending at the anchor)."""
    reversed_pattern = _REVERSED_BEFORE.get(pattern)
    if reversed_pattern is None:
        return pattern.search(data, window_start, start) is not None
    # At the start of the data, '^' stands where a non-letter would: a NUL plays that part in the reversed window.
    window = data[window_start:start][::-1] + (b"\x00" if window_start == 0 else b"")
    return reversed_pattern.match(window) is not None


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
    rb"invited|added|contained|was|were|been|got|out|told|promised|set|used|configured|made|gave|ordered|packed|"
    rb"marked|filed|registered|uploaded|imported|copied|pasted|applied|calculated|entered"
)
_BY_US = _after(rb"SEPbySEP(?:me|us|our)(?![a-z])")  # "configured by our team"
_ANCHORS: tuple[_Anchor, ...] = (
    _Anchor(b"sorry"),
    _Anchor(b"apolog"),
    _Anchor(b"regret"),
    _Anchor(b"forgive"),
    _Anchor(b"excuse", right_boundary=True, after=_after(rb"SEP(?:us|me)(?![a-z])")),  # "excuse us for the error"
    _Anchor(b"mistake"),
    _Anchor(b"oops", left_boundary=False, before=re.compile(rb"(?:^|[^a-z])(?:wh)?\Z")),  # oops, whoops
    _Anchor(b"bad", right_boundary=True, before=_before(rb"my|our", 0)),
    _Anchor(b"fault", before=_before(rb"my|our|own|at|the", 1)),  # "my fault", "my typing fault"
    _Anchor(b"culpa", before=_before(rb"mea", 0)),
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
    _Anchor(
        b"wrong",
        before=_before(_OUR_VERBS, 5),
        # "we wrongly charged", "the wrong file was attached"
        after=_after(rb"ly(?![a-z])|(?:SEP" + _WORD + rb"){1,4}SEP(?:was|were|got|has|have|had)SEP"),
    ),
    _Anchor(
        b"error",
        before=_before(rb"in|my|our|human|clerical|some|several|made|make|making|mistakes|had|has|contained", 1),
        after=_after(rb"s?SEP(?:on|in)SEP(?:my|our)SEP(?:part|side|end)|s?SEP(?:was|were|is)SEP(?:mine|ours)|"
                     rb"s?SEP(?:were|was|have|has|had)SEP(?:beenSEP)?made(?![a-z])"),
    ),
    _Anchor(b"disregard"),
    _Anchor(b"ignore", before=_before(rb"please|pls|plz|kindly|can|may|should|just", 1),
            after=_after(rb"SEP(?:the|my|our|this|that)SEP(?:" + _WORD + rb"SEP){0,2}(?:e-?mails?|messages?|mails?|"
                         rb"invites?|invitations?|reminders?|notices?|alerts?)(?![a-z])")),
    _Anchor(b"outage"),
    _Anchor(b"incident"),
    _Anchor(b"downtime"),
    _Anchor(b"disruption"),
    _Anchor(b"interruption"),
    # Incident notices that name no mistake: "the VPN was unavailable", "the portal went down", "data loss",
    # "customers were double-charged".
    _Anchor(b"unavailable", before=_before(rb"was|were|been|became", 1)),
    _Anchor(b"down", right_boundary=True, before=_before(rb"went|was|were|been", 1)),
    _Anchor(b"offline", before=_before(rb"went|was|were|been", 1)),
    _Anchor(b"loss", before=_before(rb"data", 0)),
    _Anchor(b"double", after=_after(rb"(?:-|SEP)?(?:charg|bill)")),
    _Anchor(b"duplicate", after=_after(rb"SEP(?:charg|bill|payment|transaction)")),
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
    # Service-desk deflection (SPEC section 4, `deflection`): a reply that answers a problem with policy,
    # "nothing we can do", doubt or another agent is the mail the guard exists for, apology or not.
    _Anchor(
        b"polic",
        suffix=re.compile(rb"(?:y|ies)(?![a-z])"),
        before=re.compile(
            rb"(?:^|[^a-z])(?:our|company|store|bank|airline|against|per|s|is|standard|strict)"  # s: it's, that's
            rb"(?:" + _SEP + rb"(?!privacy|cookie|data|acceptable|fair|usage|return|returns|refund|travel|expense)"
            + _WORD + rb"){0,1}" + _SEP + rb"\Z"
        ),
        after=_after(rb"(?:y|ies)SEP(?:doesn't|does|won't|will|wouldn't|can't|cannot|don't|do)SEP"),
    ),
    _Anchor(b"nothing", after=_after(
        rb"(?:SEP(?:more|else|further|that|really|much))*SEP(?:i|we|anyone|anybody|one|that|they)SEP")),
    _Anchor(b"anything", before=_before(rb"do", 0)),
    _Anchor(b"hands", right_boundary=True, before=_before(rb"my|our", 0)),
    _Anchor(b"never", right_boundary=True, after=_after(
        rb"SEP(?:heard|seen|come|encountered|happened|had|been)(?![a-z])")),
    _Anchor(b"first", right_boundary=True, before=_before(
        rb"you|re|youre|are", 1)),  # re: you're, however its apostrophe is written
    _Anchor(b"department", right_boundary=True, before=_before(rb"my|our", 0)),
    _Anchor(b"agent", before=_before(rb"other|previous|last|earlier|another|different|first", 1)),
    _Anchor(b"representative", before=_before(rb"other|previous|last|earlier|another|different|first", 1)),
    _Anchor(b"whoever", after=_after(rb"SEP(?:told|promised|gave|quoted|said)(?![a-z])")),
    # Thanks standing in for an apology ("thanks for bearing with us while we sorted out your delivery").
    _Anchor(b"patien", before=_before(rb"thank|thanks|thx|appreciate|grateful|value|for|being|s", 6)),
    _Anchor(b"waiting", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|grateful|for|s", 5)),
    _Anchor(b"bearing", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|grateful|for|s", 5)),
    _Anchor(b"understanding", right_boundary=True,
            before=_before(rb"thank|thanks|thx|appreciate|grateful|value|for|s", 6)),
    # "Thanks for hanging in there", "sticking with us", "putting up with the back-and-forth".
    _Anchor(b"hanging", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|for", 2)),
    _Anchor(b"sticking", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|for", 2)),
    _Anchor(b"putting", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|for", 2)),
    _Anchor(b"giving", right_boundary=True, before=_before(rb"thank|thanks|thx|appreciate|for", 2)),
    # First-person admissions with no apology word: "I should have checked", "I failed to tell you".
    _Anchor(b"should", after=_after(
        rb"(?:n(?:[^a-z\s]{1,8}|&[a-z0-9#]{1,7};)t|nt|SEPnot)?SEPhave(?![a-z])|(?:[^a-z\s]{1,8}|&[a-z0-9#]{1,7};)ve(?![a-z])")),
    _Anchor(b"overlook", after=_after(rb"ed(?![a-z])")),
    _Anchor(b"failed", right_boundary=True, before=_before(rb"i|we|completely|totally|simply|just", 0)),
    _Anchor(b"missed", right_boundary=True, after=_after(
        rb"SEP(?:(?:the|your|our|a|my|an|its)SEP)?(?:" + _WORD + rb"SEP)?(?:deadline|cut|due|renewal|payment|filing|"
        rb"submission|handover|hand|meeting|call|appointment|interview|1:1|one|session|catch|date|bug|issue|"
        rb"problem|error|regression|step|check)|SEPit(?![a-z])")),
    # A change or step of ours that did the damage: "a firewall rule we pushed blocked traffic", "the migration I
    # merged set the wrong default", "configured by our team", "which our team owns and did not renew".
    _Anchor(b"pushed", right_boundary=True, before=_before(rb"we|i|team|me|us", 2), after=_BY_US),
    _Anchor(b"deployed", right_boundary=True, before=_before(rb"we|i|team|me|us|by", 2), after=_BY_US),
    _Anchor(b"merged", right_boundary=True, before=_before(rb"we|i|team|me|us", 2), after=_BY_US),
    _Anchor(b"shipped", right_boundary=True, before=_before(rb"we|i|team|me|us", 2), after=_BY_US),
    _Anchor(b"lowered", right_boundary=True, before=_before(rb"we|i|team", 2)),
    _Anchor(b"configured", right_boundary=True, before=_before(rb"we|i|team|me|us", 2), after=_BY_US),
    _Anchor(b"prepared", right_boundary=True, before=_before(rb"we|i|team", 2), after=_BY_US),
    _Anchor(b"renew", before=_before(rb"not|t|never|forgot|failed", 2)),  # t: didn't
    _Anchor(b"broke", right_boundary=True, before=_before(rb"we|i|team|release|change|update|deploy|migration|patch", 3)),
    _Anchor(b"triggered", right_boundary=True, before=_before(rb"we|i", 1)),
    _Anchor(b"made", right_boundary=True, before=_before(rb"team|we|i", 1)),
    _Anchor(b"misspoke", right_boundary=True),
    _Anchor(b"misinform"),
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
_CHUNK = 1 << 16  # scan in 64 KB chunks: every hit in a chunk is listed, and the first one often ends the scan
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


_TAG_AFTER = re.compile(rb"s?\s*<[a-z/!]")
_TAG_BEFORE = re.compile(rb"<[a-z/!][^<>@]*>\s*\Z")


def _tag_ends_before(data: bytes, start: int) -> bool:
    """Whether an HTML tag (of any length up to 400 bytes) ends right before `start`."""
    opening = data.rfind(b"<", max(0, start - 400), start)
    return opening != -1 and _TAG_BEFORE.match(data, opening, start) is not None


def _anchor_ok(anchor: _Anchor, data: bytes, start: int, end: int, quotes: bool = True) -> bool:
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
        if _before_holds(anchor.before, data, window_start, start):
            return True
        if data[window_start:start].rstrip(b" \t\r\n").endswith(b">") and _tag_ends_before(data, start):
            return True
        if quotes and _quote_inside(data, max(0, start - _UNQUOTED_REACH), start):
            unquoted = _without_quotes(data[max(0, start - _UNQUOTED_REACH): start])[-80:]
            if anchor.before.search(unquoted):
                return True
    if anchor.after is not None and end < len(data):
        window_end = min(len(data), end + 80)
        if anchor.after.match(data, end, window_end):
            return True
        if _TAG_AFTER.match(data, end, window_end):
            return True
        if quotes and _quote_inside(data, end, min(len(data), end + _UNQUOTED_REACH)):
            unquoted = _without_quotes(data[end: end + _UNQUOTED_REACH])[:80]
            if anchor.after.match(unquoted):
                return True
    return False


# A guard's words can sit on either side of a quoted passage: the new text drops the passage and
# joins them. The guard is then also tried on the window as the new text will read it.
_UNQUOTED_REACH = 600
_QUOTED_LINES = re.compile(rb"\n[ \t]*[>|][^\n]*(?=\n)")
_QUOTED_BLOCK = re.compile(rb"<blockquote\b.*?(?:</blockquote>|\Z)", re.DOTALL)


def _quote_inside(data: bytes, start: int, end: int) -> bool:
    return data.find(b"\n>", start, end) != -1 or data.find(b"\n|", start, end) != -1 or (
        data.find(b"blockquote", start, end) != -1)


def _without_quotes(window: bytes) -> bytes:
    return _QUOTED_BLOCK.sub(b" ", _QUOTED_LINES.sub(b"\n", window))


def _scan(lowered: bytes) -> Iterator[tuple[int, int]]:
    """(literal index, start) of every literal hit; anchors only where their boundaries and guards hold.

    Yields (-1, -1) once when too many guards failed: callers must then treat the text as a candidate.
    """
    failed = 0
    length = len(lowered)
    quotes: bool | None = None
    for chunk_start in range(0, max(length, 1), _CHUNK):
        chunk_end = min(length, chunk_start + _CHUNK)
        data = lowered[chunk_start: chunk_end + _OVERLAP] if length > _CHUNK else lowered
        for index, start, end in _literal_hits(data):
            start += chunk_start
            if start >= chunk_end:
                continue  # belongs to the next chunk
            if index < _ANCHOR_COUNT:
                anchor = _ANCHORS[index]
                if quotes is None and (anchor.before is not None or anchor.after is not None):
                    # Whether any quoted passage exists at all: most text has none, and then no guard
                    # needs to be retried with one taken out.
                    quotes = _quote_inside(lowered, 0, length)
                if not _anchor_ok(anchor, lowered, start, end + chunk_start, bool(quotes)):
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
    return next(anchor_offsets(lowered), None) is not None or has_ownership_idiom(lowered)


# "That's on me", "this one is on us": two short words, so no single anchor can carry them (a tag or an
# entity may stand between them in raw mail). A separate byte pattern finds them: "on", a separator,
# "me" or "us", and right before it a word ending in "s" (is, was, that's, one's), "ll" (all) or "ly"
# (entirely). The detector's pattern (_OWNERSHIP_IDIOM) only ever matches text this pattern matches.
_ON_ME = re.compile(rb"on" + _SEP + rb"(?:me|us)(?![a-z])")
_ON_ME_BEFORE = re.compile(rb"(?:s|ll|ly)" + _SEP + rb"\Z")
_MAX_IDIOM_CHECKS = 2_000


def ownership_idiom_offsets(lowered: bytes) -> Iterator[int]:
    """Byte offsets of "... on me/us" candidates in ASCII-lowercased bytes (a cheap superset of the idiom)."""
    if b"on" not in lowered:
        return
    failed = 0
    for match in _ON_ME.finditer(lowered):
        start = match.start()
        if start > 0 and _is_letter(lowered[start - 1]):
            continue
        window_start = max(0, start - 80)
        if _ON_ME_BEFORE.search(lowered, window_start, start) or (
            lowered[window_start:start].rstrip(b" \t\r\n").endswith(b">") and _tag_ends_before(lowered, start)
        ):
            yield start
            continue
        failed += 1
        if failed > _MAX_IDIOM_CHECKS:
            yield -1  # too many to check: say "maybe", never a wrong "no"
            return


def has_ownership_idiom(lowered: bytes) -> bool:
    return next(ownership_idiom_offsets(lowered), None) is not None


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
    return decode_base64_text(raw[body: len(raw) if stop == -1 else stop])


_PLAIN_TYPES = (b"text/plain",)
_PLAIN_ENCODINGS = (b"7bit", b"8bit", b"binary")


def _is_plain_single_part(raw: bytes, lowered: bytes, header_end: int) -> bool:
    """A message whose body is one text/plain part sent as is: its raw lines are the parser's lines.

    Every Content-Type and Content-Transfer-Encoding field in the header block must say so; the
    parser's own header block can only be shorter, which leaves the defaults (also plain).
    """
    for value in _header_values(raw, lowered, header_end, "content-type"):
        if not value.strip().lower().encode("ascii", "replace").startswith(_PLAIN_TYPES):
            return False
    for value in _header_values(raw, lowered, header_end, "content-transfer-encoding"):
        if value.strip().lower().encode("ascii", "replace") not in _PLAIN_ENCODINGS:
            return False
    return True


def _on_quote_line(data: bytes, position: int) -> bool:
    """Whether the raw line holding `position` is a '>' or '|' quote line (dropped from the new text)."""
    line = data[data.rfind(b"\n", 0, position) + 1: position].lstrip(b" \t\x0b\x0c")
    return line[:1] in (b">", b"|")


def _unquoted_anchor(lowered: bytes) -> bool:
    """Whether plain text has an anchor outside '>' quote lines (the new text is a subset of those lines)."""
    for index, start in _scan(lowered):
        if index < 0 or (index < _ANCHOR_COUNT and not _on_quote_line(lowered, start)):
            return True
    return has_ownership_idiom(lowered)


_IDENTITY_ENCODINGS = (b"", b"7bit", b"8bit", b"binary")


def _region_bytes(raw: bytes, region: TextRegion) -> bytes | None:
    """A text region's bytes after transfer decoding, as _part_bytes decodes them; None: a scan cannot tell."""
    body = raw[region.start: region.end]
    if region.encoding == b"base64":
        try:
            return decode_base64_text(body)
        except (binascii.Error, ValueError):
            return None
    if region.encoding == b"quoted-printable":
        return binascii.a2b_qp(body[: MAX_TEXT_BYTES * 3])[:MAX_TEXT_BYTES]
    if region.encoding in _UU_ENCODINGS:
        return None
    return body


def _region_candidate(raw: bytes, region: TextRegion) -> bool:
    """Whether one text part could hold apology/mistake vocabulary that reaches the new text."""
    if any(marker in region.content_type_field for marker in WIDE_CHARSET_MARKERS):
        return True  # a charset that hides words from a byte scan
    data = _region_bytes(raw, region)
    if data is None:
        return True
    lowered = data.lower()
    # Quote lines ('>' first) never reach the new text of a plain part. Skipped only where the byte
    # lines are surely the text's lines: sent as is, no bare CR (decoding adds a line break there) and
    # no escape byte (ISO-2022 can make '>' half of a character).
    quote_lines_known = (
        region.content_type == b"text/plain" and region.encoding in _IDENTITY_ENCODINGS
        and b"\x1b" not in data and data.count(b"\r") == data.count(b"\r\n")
    )
    for index, start in _scan(lowered):
        if index < 0:
            return True
        if index < _ANCHOR_COUNT and not (quote_lines_known and _on_quote_line(lowered, start)):
            return True
    return has_ownership_idiom(lowered)


def _language_candidate(raw: bytes, layout: TextLayout | None) -> bool:
    """Whether apology/mistake vocabulary could be in the text.

    When the quick MIME split knows where the text parts are, only the (decoded) body of the part
    the parser will check is scanned: headers, attachments and the HTML twin of a plain part never
    become the new text. Otherwise every byte counts.
    """
    if layout is None:
        return _raw_language_candidate(raw, raw.lower())
    region = chosen_region(layout)
    return region is not None and _region_candidate(layout.raw, region)


def _raw_language_candidate(raw: bytes, lowered: bytes) -> bool:
    """Whether apology/mistake vocabulary could be anywhere in the raw bytes, then in decoded encoded parts.

    Anchors in the header block count too: a malformed header block can end, for the parser,
    before the first blank line, and then those lines are body text. In a plain single-part
    message, anchors on '>' quote lines are skipped: those lines never reach the new text.
    """
    encoded_parts: list[int] = []
    quoted_printable = False
    header_end = -1
    plain = False
    for index, start in _scan(lowered):
        if index < 0 or index in _WIDE_INDEXES:
            return True  # too much to check, or a charset that hides words from a byte scan
        if index < _ANCHOR_COUNT:
            if header_end == -1:
                header_end = _header_end(raw)
                plain = _is_plain_single_part(raw, lowered, header_end)
            if plain and start >= header_end and _on_quote_line(lowered, start):
                continue
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
    return has_ownership_idiom(lowered)  # anywhere, quote lines too: on raw bytes the answer may err to "maybe"


# Stage 2 runs inline (the proxy calls the prefilter on its event loop): past this much body text the
# message goes to the full check instead, which runs in a worker thread.
STAGE2_MAX_CHARS = 128 * 1024
STAGE2_TIME_BUDGET = 0.05  # seconds of detector time inline; past it the message goes to the full check


@dataclass(frozen=True)
class FunnelResult:
    """Where the funnel settled a message, with what stage 2 learned on the way (None when it did not run)."""

    stage: int
    body: QuickBody | None = None
    language: LanguageVerdict | None = None

    @property
    def candidate(self) -> bool:
        return self.stage == 3


_STAGE_1 = FunnelResult(1)
_STAGE_3 = FunnelResult(3)


def funnel(raw: bytes, settings: ClassifierSettings) -> FunnelResult:
    """Where the cheap funnel settles a message: 1 or 2 = certainly not an oops, 3 = needs the full check.

    Stage 1 works on the raw bytes: a tag header, a subject tag, or an anchor word (also inside
    base64 and quoted-printable text parts). Most mail has none and stops here.
    Stage 2, for anchor hits only: the body part parse_message would check, found by a quick MIME
    split (checks.message.quick_body), turned into the sender's new words by the same code the full
    parse runs, and the language detector classify() uses run over them. Same text, same detector:
    stage 2 says "no" exactly when classify() would, without the full parse.
    Stage 3 is the caller's: parse, classify and check. The quick body and the verdict of stage 2 go
    with the result, so the full check need not find them again.
    """
    raw = bytes(raw)
    header_end = _header_end(raw)
    lowered = raw[:header_end].lower()  # only the header block is searched by name here
    for name in settings.tag_headers:
        if any(tag_value_is_set(value) for value in _header_values(raw, lowered, header_end, name)):
            return _STAGE_3
    if settings.subject_tags:
        for value in _header_values(raw, lowered, header_end, "subject"):
            if subject_has_tag(decode_header_value(value), settings.subject_tags):
                return _STAGE_3
    if not settings.auto:
        return _STAGE_1
    layout = text_regions(raw)
    if not _language_candidate(raw, layout):
        return _STAGE_1
    body = quick_body_or_none(layout)
    if body is None or len(body.part_text) > STAGE2_MAX_CHARS:
        return _STAGE_3  # a MIME tree the quick split does not reproduce, or too much to read inline
    if not body.is_html and not _unquoted_anchor(body.part_text.encode("utf-8", "surrogatepass").lower()):
        return FunnelResult(2, body)  # the chosen plain part has anchors only on '>' lines (or none): nothing to detect
    # The same fields classify() reads (the first of each name, as the parsed headers keep it).
    first_values = ((name, next(_header_values(raw, lowered, header_end, name), None)) for name in _DISCUSSION_NAMES)
    discussion = any(value is not None and _discussion_value(name, value) for name, value in first_values)
    verdict = detect_language(body.new_text(), STAGE2_TIME_BUDGET, discussion)
    return FunnelResult(3 if verdict.oops or verdict.truncated else 2, body, verdict)



def funnel_stage(raw: bytes, settings: ClassifierSettings) -> int:
    """The stage at which funnel() settles a message (see there)."""
    return funnel(raw, settings).stage


def might_be_oops(raw: bytes, settings: ClassifierSettings) -> bool:
    """The cheap funnel in front of the full parse: False means certainly not an oops (see funnel)."""
    return funnel(raw, settings).candidate


# ========================================================================= language detector
#
# What counts (SPEC section 2, "classify"). The product checks apologies and oops notices:
# mail in which the sender owns a mistake that reached other people. The detector finds
#   - statements: a mistake owned by the sender or the organisation ("we sent the invoices to
#     the wrong customers", "my fault", "Correction: ..."), or an apology that says what it is
#     for ("sorry for the outage", "apologies to everyone who got it twice");
#   - markers: interjections and bare apologies ("Oops,", "My bad.", "Sorry!", "sorry about
#     that") that say something went wrong without saying what.
# and weighs them with two vocabularies:
#   - impact: outages, money, customers, data or mail reaching the wrong people, meetings and
#     deadlines, people offended or inconvenienced;
#   - housekeeping: a typo, a link, an attachment, a graph, the wording of one's own post, a reply
#     meant for another thread, a confusing sentence.
# A statement counts, except on a discussion list (List-Id, Precedence: list) when its own sentence
# is housekeeping and no impact word is near: list members tidy up their posts all day, and that
# is not what the rules are for. In direct mail and team notices the same slip is owned like any
# other. A marker counts with impact words, a counted statement, or words saying what went wrong
# ("instead of", "wrong", "took so long") near it. The shapes of a non-apology ("sorry if", "sorry
# you feel") always count. Social courtesies ("sorry for the late reply", "sorry if this is a silly
# question") and prospective notices ("apologies for any inconvenience this may cause") are not
# apologies for a mistake at all.
#
# Cost: the text is scanned once with the anchor automaton the prefilter uses; each pattern
# family runs only in a window around its own anchors, so ordinary text costs a few
# microseconds per kilobyte and no anchor means no pattern runs at all.

_I = regex.IGNORECASE
_FIRST_PERSON = (
    r"(?:\bI\b|\bwe\b|\bI'm\b|\bwe're\b|\bI've\b|\bwe've\b|\bI'd\b|\bwe'd\b|\bthe\s+team\b|\bsomeone\s+(?:on|in|from)\s+our\b|"
    r"\bour\s+(?:[\w-]+\s+){0,2}?(?:team|system|systems|process|script|tool|service|bot|job|pipeline|automation|vendor|"
    r"provider|release|deploy|deployment|change|update|migration|code|config|configuration|mailer|mailing|newsletter|"
    r"website|site|app|server|database|platform|staff|colleague|engineer|engineers|department|office|people|side)\b)"
)
_ADVERBS_IN_ERROR = (
    r"(?:accidentally|accidently|accidentially|mistakenly|erroneously|inadvertently|unintentionally|unintendedly)"
)
# "prematurely" only counts with a first-person actor: "they were added prematurely" is an opinion.
_ADVERBS = r"(?:" + _ADVERBS_IN_ERROR + r"|prematurely)"
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
# An apology word. Whether it is the sender's own apology, and not a social one, is decided from its context.
_APOLOGY = regex.compile(
    r"\bsorry\b|\bapolog(?:y|ies|ise|ize|ised|ized|ising|izing|ises|izes|etic(?:ally)?)\b|"
    r"\bregrets?\b|\bregrettably\b|\bforgive\s+(?:me|us)\b|\bexcuse\s+(?:me|us)(?=\s+for\b)",
    _I,
)
_SOCIAL_AFTER = regex.compile(
    r"^(?:"
    r"\s+for\s+(?:disturbing|bothering|interrupting|troubling|the\s+disturbance|the\s+interruption)\b|"
    r"\s+(?:for|about)\s+(?:my|this|the|a)\s+(?:\w+\s+)?(?:question|questions|request|enquiry|inquiry|directness|bluntness)\b|"
    r"\s+(?:to\s+(?:have\s+to\s+|keep\s+|be\s+)?(?:bother|bothering|trouble|disturb|interrupt|intrude|impose|pester|nag|"
    r"hassle|chase|bug|hear|learn|read|see\s+(?:you|him|her|them)\s+(?:go|leave)|say\s+goodbye|ask|butt\s+in|jump\s+in|"
    r"chime\s+in|barge\s+in|spam|cross-?post|repeat\s+myself|bring\s+up|get\s+your\s+hopes\s+up|disappoint|revive|resurrect|dig\s+up|necro|a\s+pain|annoying|a\s+bother|that\s+guy|the\s+bearer))\b"
    # Said before anything happened: a planned change, not a mistake being owned.
    r"|\s+in\s+advance\b"
    r"|\s+for\s+(?:the|any|all\s+the|all)\s+(?:inconvenience|disruption|trouble|interruption)s?\s+(?:(?:this|that|it|which|"
    r"these|the\s+[\w-]+|our\s+[\w-]+)\s+)?(?:may|might|will|could|would|is\s+going\s+to|are\s+going\s+to)\s+(?!have\b)"
    r"|\s+for\s+(?:the|any|all\s+the)\s+(?:inconvenience|disruption|interruption)s?\s+(?:during|caused\s+by|due\s+to)\s+"
    r"(?:the\s+|our\s+|this\s+)?(?:planned|scheduled|upcoming|routine|regular)\b"
    r"|\s+for\s+(?:the\s+|this\s+|my\s+|a\s+|such\s+a\s+)?(?:(?:very|rather|really|so|extremely|super)\s+)?"
    r"(?:late|slow|delayed|belated|tardy)\s+(?:reply|response|answer|feedback|follow-?up|note|e-?mail|message|"
    r"replies|responses|one)\b"
    r"|\s+for\s+(?:the\s+|my\s+)?(?:delay|delays|slowness|tardiness)(?:\s+(?:in|on)\s+(?:my\s+)?(?:reply|replying|"
    r"response|responding|answer|answering|getting\s+back|following\s+up|writing\s+back|coming\s+back)\b|"
    r"\s*(?:[,.;!:)\u2014\u2013-]|$))"
    r"|\s+for\s+not\s+(?:\w+\s+)?(?:replying|responding|answering|getting\s+back|writing|being\s+in\s+touch|"
    r"following\s+up|coming\s+back)\b(?!\s+(?:to|with)\s+(?:the|our|a|an|their|his|her)\s+(?!e-?mail|mail|message|"
    r"question|post|thread|list)[\w-])"
    r"|\s+for\s+(?:taking\s+(?:so\s+)?(?:long|a\s+while|forever|ages)|being\s+(?:slow|late))\s+(?:to|in)\s+"
    r"(?:reply|respond|answer|get|getting|write|replying|responding)\b"
    r"|\s+for\s+(?:the\s+)?length\s+of\s+(?:this|my|the)\b"
    r"|\s+for\s+(?:the\s+|this\s+|my\s+|a\s+)?(?:(?:very|rather|somewhat)\s+)?(?:long|lengthy|longish|wordy|rambling|"
    r"long-winded|massive|huge)\s+(?:e-?mail|mail|message|post|note|reply|rant|write-?up|thread|response|read|quotes?|"
    r"quoting|paste|log|output|list|digression)\b"
    # Brevity is about the message, not a mistake: "sorry for such brief instructions".
    r"|\s+for\s+(?:the\s+|this\s+|my\s+|a\s+|such\s+(?:a\s+)?|these\s+)?(?:(?:very|rather|so|somewhat)\s+)?(?:brief|short|"
    r"terse|quick|sketchy|rough|hasty|incomplete|cryptic|curt)\s+(?:[\w-]+\s+)?(?:reply|replies|note|answer|message|"
    r"response|e-?mail|mail|instructions?|explanation|description|summary|version|post|comment)\b"
    r"|\s+for\s+wasting\s+(?:your|everyone's|everybody's|people's|the\s+list's|anyone's)\s+(?:time|bandwidth)\b"
    r"|\s+for\s+being\s+(?:(?:so|a\s+bit|a\s+little|such\s+a)\s+)?(?:dense|thick|slow|stupid|dumb|a\s+pain|pedantic|picky|"
    r"nit-?picky|that\s+guy|persistent|annoying|difficult|blunt|vague|unclear|pushy|impatient)\b"
    r"|[\s,]*but\s+I\s+(?:couldn't|could\s+not|can't|cannot)\s+resist\b"
    # "Sorry, I've double-booked myself", not "sorry we double-booked your appointment".
    r"|\s*,?\s*(?:I|we)(?:'ve|\s+have)?\s+(?:double[- ]?booked|overbooked|got\s+double[- ]?booked)"
    r"(?=\s*(?:[,.;:!)\u2014\u2013-]|$|(?:myself|ourselves|so|and|then|that\s+(?:day|time|slot))\b))"
    r"|\s+(?:for|about)\s+(?:the\s+)?double\s+(?:e-?mail|mail|message|send|sending)s?\b"
    r"|\s*,\s*(?:no|not)\b"
    r"|[\s,]*but\s+if\s+you\b"
    r"|\s+if\s+(?:my|I|this|that|the)\s+(?:[\w'-]+\s+){0,3}?(?:was|were|is|are|wasn't|weren't|sound(?:s|ed)?|seem(?:s|ed)?)"
    r"\s+(?:(?:a\s+bit|too|very|so|rather|a\s+little)\s+)?(?:unclear|confusing|not\s+clear|vague|terse|harsh|rude|blunt|"
    r"curt|short)\b"
    r"|\s+if\s+I(?:'ve|\s+have)?\s+(?:misrepresented|misquoted|misunderstood|misread|mischaracteri[sz]ed|paraphrased|"
    r"oversimplified|left\s+(?:anyone|anything|someone|something)\s+out|missed\s+(?:anyone|anything|someone|something))\b"
    r"|\s+(?:voor\s+de\s+(?:late|trage)|für\s+die\s+späte|pour\s+le\s+retard)\b"
    r"|\s+(?:for|about)\s+(?:the\s+|any\s+|all\s+the\s+|this\s+|my\s+)?(?:noise(?!\s+(?:on|from|at|in|last|during|"
    r"yesterday|this|overnight|outside|of|coming|made|upstairs|next|late|early))|spam|cross-?post(?:s|ing)?|"
    r"double[- ]?post(?:s|ing)?|duplicates?(?=\s*(?:[,.;:!)\u2014\u2013-]|$))|duplicate\s+(?:post|e-?mail|message|mail)s?"
    r"(?!\s+(?:this|yesterday|last|from\s+us|we|you|on|that|which|earlier|overnight|today))|"
    r"re-?post(?:s|ing)?|"
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
    r"make\s+the|participate|be\s+at|reproduce|replicate|help|answer|say|tell|comment|find|see|access|open|"
    r"be\s+(?:of\s+)?(?:more|much|any(?:\s+more)?)\s+help(?:ful)?|make\s+(?:(?:it\s+)?(?:on\s+)?(?:this|next|that)\s+)?"
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|tonight|then|that\s+(?:time|date|day)))\b"
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
    # "Sorry for the trouble, and thanks for all your help": a courtesy to the people who helped.
    r"|[^.!?\n]{0,120}\bthank(?:s|\s+you)\s+(?:(?:so|very)\s+much\s+|again\s+|a\s+lot\s+)?(?:for\s+)?(?:all\s+)?"
    r"(?:your|the)\s+(?:kind\s+|great\s+)?(?:help|assistance|advice|support|suggestions?|answers?|input|time|replies)\b"
    r"|\s+(?:for|about)\s+(?:the\s+)?(?:dupe|dup|replying\s+to\s+(?:my\s+own|myself)|answering\s+my\s+own)\b"
    r"|\s+if\s+(?:you\s+)?(?:(?:do\s+not|don't|can't|cannot|could\s+not|couldn't)\s+understand|my\s+english)"
    r"|\s+if\s+(?:I|this|it)\s+(?:sound|sounds|seem|seems|come\s+across|came\s+across)\b"
    r"|\s+not\s+to\s+be\s+(?:able|of\s+more)\b"
    r"|\s*,?\s*(?:this|it)\s+(?:hasn't|has\s+not|doesn't|does\s+not|isn't|is\s+not)\b[^.!?\n]{0,40}?"
    r"(?:to\s+do\s+with|related|relevant|topic)"
    r"|\s*,?\s*I'?m\s+having\s+(?:a\s+hard\s+time|trouble|difficulty|difficulties)\b)",
    _I,
)
_FORMAL_NEWS = regex.compile(
    r"^\s+to\s+(?:inform|announce|advise|say|tell|report|let\s+you\s+know)\b"
    # news of something unavailable, not a mistake owned: "we regret that all places are now taken"
    r"|^\s+(?:that\s+)?(?:all\s+(?:places|seats|tickets|rooms|spots|slots)|we\s+(?:cannot|can't|are\s+unable|will\s+not|won't|"
    r"must\s+(?:decline|cancel))|it\s+(?:is|was)\s+not\s+possible|your\s+(?:application|request|offer)\s+(?:was|has\s+been)\s+"
    r"(?:unsuccessful|declined|rejected|not)|there\s+(?:are|is)\s+no\s+(?:places|seats|rooms|vacancies|availability))",
    _I,
)
_RSVP_REGRETS = regex.compile(r"^regrets\s+(?:from\s+(?:me|us)|for\s+(?:tonight|tomorrow|thursday|the\s+\w+)|,|:)", _I)
_LEADING_FILLER = regex.compile(
    r"^(?:\s+to\s+(?:[\w'-]+\s+){0,3}?(?=for\b)|\s*,\s*(?:all|everyone|folks|guys|team|again)\s*,?)+",
    _I,
)
_SOCIAL_BEFORE = regex.compile(
    r"(?:\b(?:feel|feels|felt|feeling)\s+(?:(?:so|really|very|kind\s+of|a\s+bit|a\s+little)\s+)?"
    r"|\b(?:no\s+need\s+to|don't|do\s+not|never|nothing\s+to|no\s+reason\s+to|needn't|not|no)\s+(?:be\s+)?(?:\w+\s+)?"
    r"|\bno[,.!]\s*"
    r"|\b(?:no\s+idea|not\s+sure|(?:don't|do\s+not)\s+know|can't\s+help|no\s+clue)[,.!]?\s*"
    r"|\b(?:he|she|they|someone|somebody|the\s+customer|the\s+client)\s+(?:\w+\s+)?"
    # Someone else's apology: "never having to say you're sorry".
    r"|\byou(?:'re|\s+are|\s+were|'ll\s+be|'d\s+be|\s+will\s+be|\s+would\s+be|\s+feel|\s+felt)\s+(?:(?:so|very|really|truly)\s+)?"
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
_IN_ERROR_PASSIVE = r"(?:in\s+error|by\s+(?:mistake|accident)|" + _ADVERBS_IN_ERROR + r")"
_IN_ERROR = r"(?:in\s+error|by\s+(?:mistake|accident)|" + _ADVERBS + r")"
# What may follow "made a mistake": not "made error handling better".
_ERROR_END = (
    r"(?=\s*(?:[.,;:!)\u2014\u2013-]|$|\s+(?:on|in|was|is|and|that|which|when|there|with|for|about|regarding|by|at|"
    r"during|while|again|too|today|yesterday|this|last|here|so|but|as|when|of)\b))"
)
_INCIDENT = r"(?:outages?|incidents?|downtime|disruptions?|breach(?:es)?|interruptions?)"


@dataclass(frozen=True)
class _Family:
    """Mistake patterns that share anchors; they run only in windows around those anchors.

    `marker` families say that something went wrong without saying what ("oops", "my bad").
    `needs_owner` families are impersonal ("the outage was caused by"): their sentence must name us.
    `prospective` families are dropped when the words around them announce planned work.
    """

    name: str
    anchors: tuple[bytes, ...]
    pattern: regex.Pattern[str]
    marker: bool = False
    needs_owner: bool = False
    prospective: bool = False  # can be said ahead of planned work ("sorry for the inconvenience"): checked for that
    context: regex.Pattern[str] | None = None  # must match in the sentence or its neighbours for a match to count
    incident: bool = False  # an outage or a billing/data error told as news: see _is_incident_notice


def _family(
    name: str, anchors: str, *patterns: str, marker: bool = False, needs_owner: bool = False, prospective: bool = False,
    context: regex.Pattern[str] | None = None, incident: bool = False,
) -> _Family:
    # The first-person actor is the slow part of a pattern (it is tried at every position): the
    # alternatives that start with it share one copy.
    lead = _FIRST_PERSON + r"\s+"
    personal = [p[len(lead):] for p in patterns if p.startswith(lead)]
    others = [p for p in patterns if not p.startswith(lead)]
    if personal:
        others.append(lead + "(?:" + "|".join(f"(?:{p})" for p in personal) + ")")
    compiled = regex.compile("|".join(f"(?:{p})" for p in others), _I)
    return _Family(
        name, tuple(a.encode() for a in anchors.split()), compiled, marker, needs_owner, prospective, context, incident
    )


_FAMILIES: tuple[_Family, ...] = (
    # (not an acronym: "the OOPS seminar meets in Lab 2")
    _family("mea-culpa", "culpa", r"\bmea\s+culpa\b", marker=True),
    _family("oops", "oops", r"(?<!kernel\s{1,3})\b(?:w?hoops|oopsie|oops)\b(?![\d_-])(?!(?-i:(?<=OOPS))\s+\w)", marker=True),
    # "my bad" as an admission, not "my bad English".
    _family("my-bad", "bad", r"\b(?:my|our)\s+bad(?=\s*(?:[.,;:!)\u2014\u2013-]|$))", marker=True),
    _family(
        "owned", "fault mistake blunder oversight screw mess slip goof mix typo error",
        r"\b(?:my|our)\s+(?:own\s+|big\s+|huge\s+|terrible\s+|stupid\s+|silly\s+)?"
        r"(?:fault|mistakes?|blunder|oversight|screw-?up|mess-?up|slip-?up|goof|mix-?up|typos?)\b(?!\s+tolerance)",
        # "my typing fault", "our billing error": the slip named by what it was in
        r"\b(?:my|our)\s+(?:typing|billing|booking|calculation|copy-?paste|spelling|counting|filing|data|input|entry)\s+"
        r"(?:fault|mistake|error|slip)\b",
        r"\b(?:my|our)\s+(?:own\s+|big\s+|huge\s+|terrible\s+|stupid\s+|silly\s+)?errors?" + _ERROR_END,
        r"\b(?:errors?|mistakes?|oversight|mix-?up|slip)\s+(?:on|in)\s+(?:my|our)\s+(?:part|side|end)\b",
        r"\b(?:errors?|mistakes?|oversight)\s+(?:made\s+)?by\s+(?:me|us|our\s+(?:[\w-]+\s+)?(?:team|staff|department|office|"
        r"system|side))\b",
    ),
    _family(
        "made-mistake", "mistake error blunder",
        _FIRST_PERSON + r"\s+(?:have\s+|had\s+|just\s+|also\s+|clearly\s+|obviously\s+|really\s+){0,2}made\s+(?!the\s+"
        r"(?:[\w-]+\s+)?mistake\s+of\b)(?:(?:a|an|some|several|two|three|few|one|the|same|this|that|another|serious|big|"
        r"huge|major|minor|small|real|bad|terrible|costly|silly|stupid|[\w-]+)\s+){0,3}?(?:mistakes?|errors?|blunders?)\b"
        + _ERROR_END,
        r"\b(?:mistakes?|errors?)\s+(?:were|was|have\s+been|had\s+been|has\s+been)\s+made\b",
    ),
    _family(
        "in-error", "error mistake accident inadvertent unintention unintended erroneous prematur",
        r"\b(?:was|were|been|got|is|are)\s+(?:[\w'-]+\s+){0,2}?" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?"
        + _IN_ERROR_PASSIVE + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,1}?" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?" + _IN_ERROR + r"\b",
        r"\b" + _SENT_VERBS + r"\s+(?:[\w'-]+\s+){0,4}?(?:in\s+error|by\s+(?:mistake|accident))\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?" + _ADVERBS + r"\b(?!\s+(?:discovered|found|stumbled|came\s+across|"
        r"ran\s+into|bumped\s+into|met|learned|learnt|fell\s+asleep|invented)\b)",
    ),
    _family(
        "wrong", "wrong incorrect erroneous inaccura error mistake typo",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,3}?(?:sent|gave|given|quoted|listed|included|attached|linked|published|posted|"
        r"shared|circulated|forwarded|generated|produced|created|calculated|computed|applied|used|set|configured|issued|"
        r"announced|stated|said|mentioned|wrote|charged|billed|shipped|delivered|e-?mailed|mailed|provided|reported|"
        r"printed|displayed|showed|shown|put|entered|typed|picked|chose|selected|deployed|pushed|merged|released|"
        r"scheduled|booked|assigned|labell?ed|named|invited|added|told|promised)\s+(?:(?:you|out|it|them|your|the|a|an|"
        r"some|with|us|client|customer|customers|team|board|"
        r"everyone|all\s+of\s+you|to|was|were|is|are|had|have|been|all)\s+){0,3}" + _BAD_THING + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:sent|e-?mailed|mailed|delivered|shipped|forwarded|posted|invited|"
        r"billed|charged)\s+(?:[\w'-]+\s+){0,4}?to\s+(?:the\s+)?" + _BAD_THING + r"\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?got\s+(?:[\w'-]+\s+){1,3}?wrong\b",
        r"\b(?:went\s+out|gone\s+out|(?:was|were|been|got)\s+(?:sent|shipped|delivered|mailed|e-?mailed|posted|charged|"
        r"billed|invoiced|routed|assigned|forwarded|addressed|published|printed))\s+(?:[\w'-]+\s+){0,4}?" + _BAD_THING
        + r"\b",
        r"\b(?:previous|last|earlier|prior|yesterday's|today's|this\s+morning's|our|my|recent|above|original)\s+"
        + _COMM + r"\s+(?:[\w'-]+\s+){0,8}?(?:" + _BAD_THING + r"|in\s+error|an?\s+(?:[\w-]+\s+)?(?:error|mistake|typo)|"
        r"mistakes|errors|typos?|incorrectly|wrongly)\b",
        r"\b(?:the|this|that)\s+" + _COMM_RARE + r"\s+(?:[\w'-]+\s+){0,8}?(?:" + _BAD_THING + r"|in\s+error|"
        r"an?\s+(?:[\w-]+\s+)?(?:error|mistake|typo)|mistakes|errors|typos?|incorrectly|wrongly)\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:incorrectly|wrongly|erroneously)\s+(?:\w+\s+)?\w+ed\b",
        r"\b(?:I|we)\s+(?:sent|shared|gave|circulated|published|posted|quoted|reported|presented|provided|announced|"
        r"issued|listed|calculated|forwarded|e-?mailed|mailed)\s+(?:you\s+|out\s+|everyone\s+)?(?:[\w'-]+\s+){0,4}?"
        r"(?:was|were|is|are)\s+(?:(?:all|both|partly|slightly|completely|totally|also)\s+)?" + _BAD_THING + r"\b",
        r"\b(?:the|a|an)\s+" + _BAD_THING + r"\s+(?:[\w-]+\s+){1,3}?(?:was|were|got|has\s+been|have\s+been|had\s+been)\s+"
        r"(?:\w+\s+)?(?:sent|included|attached|shared|published|posted|used|applied|charged|shipped|delivered|linked|"
        r"uploaded|deployed|printed|listed|distributed|mailed|e-?mailed|billed|quoted|given)\b",
    ),
    _family(
        "disregard", "disregard",
        r"(?:\bplease|\bpls|\bplz|\bkindly|\bjust|^|[.!?]\s+|\n)\s*(?:[\w']+\s+)?disregard\s+(?:the|my|our|this|that|"
        r"these|those|previous|last|earlier|prior|above|it)\b",
    ),
    _family(
        "ignore", "ignore",
        r"\b(?:please|pls|plz|kindly|you\s+(?:can|may|should)|just)\s+(?:[\w']+\s+)?ignore\s+(?:(?:the|my|our|this|that|"
        r"these|those)\s+)?(?:previous|last|earlier|prior|above|first|original|yesterday's|today's|this\s+morning's|"
        r"other)\s+(?:e-?mails?|messages?|mails?|posts?|notes?|invites?|invitations?|reminders?|notices?|newsletters?|"
        r"announcements?|links?|updates?|one)\b",
        # "please ignore the email I sent you a few minutes ago"
        r"\bignore\s+(?:the|my|our|this|that)\s+(?:[\w'-]+\s+){0,2}?(?:e-?mails?|messages?|mails?|invites?|invitations?|"
        r"reminders?|notices?|alerts?)\s+(?:(?:that\s+)?(?:I|we)\s+(?:just\s+)?sent|from\s+(?:me|us)|(?:sent\s+)?(?:earlier|"
        r"this\s+morning|yesterday|today|at\s+\d|from\s+\d))",
    ),
    _family(
        "incident-cause", "outage incident downtime disruption interruption breach",
        r"\b" + _INCIDENT + r"\b\s+(?:[\w'-]+\s+){0,6}?(?:caused\s+by|due\s+to|resulted\s+from|was\s+the\s+result\s+of|"
        r"because\s+of|triggered\s+by|stemmed\s+from|traced\s+(?:back\s+)?to|came\s+from|was\s+our|were\s+our)\b",
        r"\b(?:caused|causing|triggered|led\s+to|resulted\s+in|introduced)\s+(?:an?\s+|the\s+|some\s+|"
        r"(?:\d+|several|two|three)[\w-]*\s+)?(?:[\w-]+[\s-]+){0,3}?" + _INCIDENT + r"\b",
        needs_owner=True,
    ),
    _family(
        "incident-ours", "outage incident downtime disruption interruption breach",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:had|experienced|suffered)\s+(?:an?\s+|the\s+|some\s+)?(?:[\w-]+\s+){0,2}?"
        + _INCIDENT + r"\b",
    ),
    # An incident notice with no mistake word: "the VPN was unavailable after a certificate we manage expired".
    # What makes it ours is decided around the match (_is_incident_notice).
    _family(
        "incident-notice", "outage incident downtime disruption interruption unavailable down offline loss double duplicate",
        # A system that stopped working, not a person ("we were down to three") or a figure ("sales were down 5%").
        r"(?<!\b(?:I|he|she|you|we|they|numbers|sales|prices|revenues?|costs|figures|rates?|scores?|traffic|"
        r"temperatures?|stocks?|shares|usage|sign-?ups|volumes?|margins?|profits?|spend|demand|attendance|morale|"
        r"sun|tide|rain|wind)\s+)\b(?:was|were|went|been|became)\s+(?:(?:completely|partly|partially|fully|"
        r"briefly|intermittently|largely|totally|entirely|mostly)\s+)?(?:unavailable|down|offline)\b"
        r"(?!\s*(?:[\d$\u20ac\u00a3%]|(?:to|with|from(?!\s+\d)|by|on|about|around|nearly|almost|roughly|some|well|badly|"
        r"slightly|sharply|significantly|the\s+(?:list|road|street|hall|stairs|hill|corridor|pub)|"
        r"for\s+(?:maintenance|an?\s+upgrade))\b))",
        r"\b(?:outages?|incidents?|downtime|disruptions?|interruptions?|data\s+loss)\b",
        r"\b(?:double[- ]?(?:charged|billed|charges|charging|billing)|duplicate\s+(?:charges?|payments?|transactions?|"
        r"billing|bills))\b",
        incident=True,
    ),
    _family(
        "messed-up", "mess screw goof botch bungl ball slip mix blunder snafu",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:messed|screwed|goofed|botched|bungled|dropped\s+the\s+ball|"
        r"slipped\s+up|mixed\s+up|mix\s+up|mess\s+up|messing\s+up|screw\s+up|screwing\s+up)\b",
        r"\bdropped\s+the\s+ball\b",
        r"\b(?:our|my|this|that)\s+(?:[\w-]+\s+)?(?:mix-?up|screw-?up|mess-?up|slip-?up|blunder|goof|snafu|botch)\b",
        _FIRST_PERSON + r"\s+(?:[\w']+\s+){0,2}?(?:made|make)\s+(?:a|such\s+a|quite\s+a|a\s+real|a\s+big|a\s+huge)\s+mess\b",
    ),
    _family(
        "oversight", "oversight",
        r"\b(?:an|our|my)\s+(?:[\w-]+\s+)?oversight\s+(?:on\s+(?:our|my)\s+part|by\s+(?:us|me|our))\b",
        r"\boversight\s+on\s+(?:our|my)\s+part\b",
        r"\b(?:by|through|due\s+to)\s+(?:an\s+)?oversight\b",
    ),
    # Our own change or step did the damage, told as what happened. It counts only where the sentence or its
    # neighbours say what went wrong (_OUTCOME): "a firewall rule we pushed for the VPN" alone is a plan.
    _family(
        "owned-change", "pushed deployed merged shipped lowered configured prepared renew broke triggered missed made",
        r"\b(?:change|rule|setting|settings|config|configuration|migration|script|release|update|deploy|deployment|patch|"
        r"limit|job|filter|template|default|query|cron\s+job|commit|version|certificate|value|flag|mapping)\s+"
        r"(?:that\s+|which\s+)?(?:I|we|our\s+(?:[\w-]+\s+)?team|the\s+team)\s+(?:had\s+|just\s+|accidentally\s+)?"
        r"(?:made|pushed|deployed|shipped|merged|applied|ran|released|rolled\s+out|introduced|wrote|set|changed|lowered|"
        r"raised|configured|prepared|added|removed|updated|enabled|disabled)\b",
        r"\b(?:configured|deployed|prepared|set\s+up|pushed|made)\s+by\s+(?:me|us|our\s+(?:[\w-]+\s+)?team)\b",
        r"\b(?:I|we|our\s+(?:[\w-]+\s+)?team)\s+(?:[\w']+\s+){0,3}?(?:did\s+not|didn't|failed\s+to|forgot\s+to|never)\s+"
        r"(?:renew|restore|test|check|update|notice|catch|tell|inform|remove|disable|enable|back\s+up|rotate|verify|"
        r"review)\b",
        r"\b(?:I|we)\s+(?:think\s+(?:I|we)\s+)?(?:just\s+|accidentally\s+)?(?:broke|triggered|took\s+down|knocked\s+out)\s+"
        r"(?:the|our|your|it|prod|production|staging|main|master|all|a|every)\b",
        r"\b(?:I|we)\s+(?:completely\s+|totally\s+|just\s+)?missed\s+(?:it|the\s+(?:[\w-]+\s+)?(?:date|bug|issue|problem|"
        r"error|regression|step|check))\b",
        r"\b(?:the|our|yesterday's|today's|this\s+morning's|last\s+night's)\s+(?:[\w.-]+\s+){0,3}?"
        r"(?:release|update|deploy|deployment|migration|patch|change)\s+(?:\([^)]{0,40}\)\s+)?(?:broke|wiped|deleted|"
        r"took\s+down|corrupted|disabled)\b",
        context=regex.compile(
            r"\b(?:blocked|broke|broken|failed|failures?|fail|down|deleted|wiped|wrong|twice(?!\s+as)|duplicat\w*|delayed|stuck|"
            r"exposed|unavailable|unreachable|could\s+not|couldn't|rejected|lost|missing|instead\s+of|without\s+testing|"
            r"did\s+not|didn't|expired|outage|errors?|crash\w*|overwrote|overwritten|left\s+out|too\s+(?:high|low)|"
            r"in\s+time|late|disappeared|shared\s+with|not\s+(?:recorded|sent|delivered|shown)|while\s+testing|"
            r"false\s+alarm|(?:please\s+)?ignore|not\s+real|nothing\s+is\s+actually)\b",
            _I,
        ),
    ),
    _family(
        "wrong-figure", "wrong",
        r"\b(?:the\s+)?(?:[\w-]+\s+)?(?:figure|number|total|forecast|amount|date|price|rate|percentage|count|estimate|"
        r"deadline|time|address)\s+(?:of\s+[\w.,%$€£-]+\s+)?(?:in\s+(?:my|our|the)\s+[\w-]+\s+)?(?:was|were|is)\s+wrong\b",
        context=regex.compile(r"\b(?:I|we|my|our|us)\b|\bput\s+right\b|\b(?:real|correct|right)\s+(?:figure|number|"
                              r"date|amount|total)\b", _I),
    ),
    _family("misspoke", "misspoke misinform",
            r"\b(?:I|we)\s+(?:\w+\s+)?(?:misspoke|misinformed\s+(?:you|everyone|the\s+\w+))\b"),
    _family(
        "blame", "responsib blame fault mistake error",
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
    ),
    _family(
        "forgot", "forgot",
        r"(?:\bI\b|\bwe\b|(?-i:\b[A-Z][a-z]+\b)|\bsomeone\b|\bsomebody\b|\bthe\s+team\b|\bour\s+\w+)\s+(?:[\w']+\s+)?"
        # Not the everyday resend notes: "forgot to attach the file", "forgot to reply to all".
        r"forgot\s+(?:to\s+(?!mention|say|ask|add\s+that|tell\s+you|thank|(?:also\s+)?attach|include\s+the\s+attachment|"
        r"[\"']?(?:reply|cc|copy|bcc)\b)|about\b)",
    ),
    _family(
        "correction", "correction errat",
        r"(?:^|\n)\s*(?:correction|erratum|errata|corrigendum)\s*[:!\u2014\u2013-]",
        r"\b(?:a|one|quick|small|minor|slight|important|brief)\s+correction\s+(?:to|on|regarding|re|about|:)",
        r"\bcorrection\s+(?:to|on|regarding|re|about)\s+(?:my|our|yesterday's|this\s+morning's|today's|the\s+previous|"
        r"the\s+last|the\s+earlier|previous|last|earlier)\b",
    ),
    _family(
        "typo", "typo",
        r"\b(?:a|the|one|small)\s+typo\s+in\s+(?:my|our|the|yesterday's|today's|this|that|previous|last|earlier)\b",
    ),
    _family(
        "inconvenience", "inconvenien",
        # Not the prospective notice: "for any inconvenience this may cause".
        # "For any inconvenience" says nothing happened; "any inconvenience this may have caused" does.
        r"\bfor\s+(?:the|all\s+the|this|our|all\s+of\s+the)\s+inconvenience\b(?!\s+(?:(?:this|that|it|which|these)\s+)?"
        r"(?:may|might|will|could|would|is\s+going\s+to)\s+(?!have\b))",
        r"\binconvenience\s+(?:this|it|that)\s+(?:may\s+have\s+|might\s+have\s+|has\s+|have\s+)?caused\b",
        prospective=True,
    ),
    _family("misprint", "misprint misstat mislabel", r"\b(?:misprint(?:ed)?|misstat(?:ed|ement)|mislabell?ed)\b"),
    # Deflection answers someone's problem without helping: only the unmistakable phrasings count here,
    # so that a plain mention of a policy or of another team stays ordinary mail.
    _family(
        "deflection", "polic nothing anything hands never first department agent representative whoever",
        r"\b(?:that's|that\s+is|this\s+is|it's|it\s+is)\s+(?:(?:just|simply|unfortunately|strictly|sadly|standard)\s+)?"
        r"(?:our|company|the\s+company's|store|bank|airline)\s+(?:(?:company|store|standard|strict|official|internal)\s+)?"
        r"polic(?:y|ies)\b",
        r"\b(?:against|outside(?:\s+of)?|violates)\s+(?:our|company|the\s+company's)\s+(?:[\w-]+\s+)?polic(?:y|ies)\b",
        r"\b(?:per|according\s+to|as\s+per|in\s+line\s+with)\s+(?:our|company)\s+(?:[\w-]+\s+)?polic(?:y|ies)\b"
        r"[^.!?\n]{0,60}?\b(?:can't|cannot|can\s+not|won't|will\s+not|unable|not\s+able|don't|do\s+not|no\s+longer)\b",
        r"\b(?:our|company|the)\s+(?:[\w-]+\s+)?polic(?:y|ies)\s+(?:doesn't|does\s+not|won't|will\s+not|don't|do\s+not)\s+"
        r"(?:allow|let|permit)\b",
        r"\bthere(?:'s|\s+is|\s+was)\s+(?:(?:really|just|simply|unfortunately|honestly|sadly|literally)\s+)?"
        r"(?:nothing|not\s+much)\s+(?:(?:more|else|further)\s+)?(?:that\s+)?(?:I|we|anyone|anybody|our\s+team)\s+"
        r"(?:can|could|am\s+able\s+to|are\s+able\s+to)\s+do\b(?!\s+(?:\w+\s+){0,4}?(?:until|till|before|unless|once)\b)",
        r"\bnothing\s+(?:more\s+|else\s+|further\s+)?(?:I|we)\s+(?:can|could)\s+do\b"
        r"(?!\s+(?:\w+\s+){0,4}?(?:until|till|before|unless|once)\b)",
        r"\b(?:I|we)\s+(?:really\s+|simply\s+|just\s+|unfortunately\s+)?(?:can't|cannot|can\s+not|am\s+unable\s+to|"
        r"'m\s+unable\s+to|are\s+unable\s+to|'re\s+unable\s+to|am\s+not\s+able\s+to|'m\s+not\s+able\s+to)\s+do\s+"
        r"anything\s+(?:more\s+|else\s+|further\s+)?(?:about|for\s+you|to\s+help)\b"
        r"(?!\s+(?:\w+\s+){0,4}?(?:until|till|before|unless|once)\b)",
        r"\b(?:my|our)\s+hands\s+are\s+tied\b",
        r"\b(?:I|we)(?:'ve|\s+have)?\s+never\s+(?:heard\s+of|seen|come\s+across|encountered|had)\s+(?:this|that|it|such|"
        r"anything\s+like)\s+(?:happen(?:ing)?|before|problem|issue|fault|error|complaint|report|case|one|thing|"
        r"this|that|it)\b",
        r"\b(?:this|that|it)(?:'s|\s+has|\s+had)?\s+never\s+(?:happened|come\s+up|been\s+reported)\s+(?:before|to\s+anyone)\b",
        r"\byou(?:'re|\s+are)\s+the\s+(?:first|only)\s+(?:(?:one|person|customer|client|user)\s+)?(?:to|who|that)\s+"
        r"(?:has\s+|have\s+|had\s+|'s\s+)?(?:ever\s+)?(?:complain\w*|report\w*|raise[ds]?|experienc\w*)\b",
        r"\bnot\s+(?:my|our)\s+department\b(?!'s)",
        r"\b(?:the|your|an?|that)\s+(?:other|previous|last|earlier|another|different|first)\s+(?:support\s+)?"
        r"(?:agent|rep|representative|advisor|adviser|operator|colleague)\s+(?:\w+\s+){0,4}?(?:told|gave|said|promised|"
        r"informed|quoted|misinformed|shouldn't|should\s+not|was\s+wrong|got\s+it\s+wrong)\b",
        r"\bwhoever\s+(?:told|promised|gave|quoted)\s+you\b",
    ),
    # "Out of my hands" is also said of one's own affairs ("the grant panel decides now"): only to the reader.
    _family(
        "deflection-reader", "hands",
        r"\b(?:out\s+of|beyond)\s+(?:my|our)\s+hands\b",
        context=regex.compile(r"\b(?:you|your|yours)\b", _I),
    ),
    # Thanks for patience after a delay, a problem or a mix-up stands in for an apology for it. Thanks ahead of
    # planned work, or for patience with questions or a learner, is only courtesy.
    _family(
        "gratitude", "patien waiting bearing understanding hanging sticking putting giving",
        r"\b(?:thank\s+you|thanks|thx|cheers|(?:I|we)\s+(?:really\s+|truly\s+|do\s+)?(?:appreciate|value)|appreciate|grateful)"
        r"(?:\s+(?:so|very)\s+much|\s+a\s+lot|\s+again|\s+kindly|\s+all|\s+everyone|\s+both)?(?:\s+(?:so|very)\s+much)?"
        r"(?:\s+(?:again\s+)?for)?\s+(?:(?:your|all\s+your|all\s+of\s+your|the|everyone's|you)\s+)?"
        r"(?:(?:continued|ongoing|kind|great|incredible|amazing|enormous|extra|tremendous)\s+)?"
        r"(?:patience|waiting|understanding|bearing\s+with\s+(?:me|us)|being\s+(?:so\s+|very\s+)?(?:patient|understanding)|"
        r"hanging\s+(?:in\s+there|on|tight)|sticking\s+with\s+(?:me|us)|putting\s+up\s+with|"
        r"giving\s+(?:us|me)\s+(?:the\s+|some\s+|a\s+little\s+|more\s+)?time)\b",
        prospective=True,
        context=regex.compile(
            r"\b(?:delay(?:s|ed)?|late|later\s+than|problems?|issues?|mix-?ups?|outages?|errors?|glitch(?:es)?|"
            r"trouble|confusion|disruptions?|downtime|incidents?|fault|mistakes?|sort(?:ed|ing)\s+(?:out|this|it)|"
            r"fix(?:ed|ing)|resolv(?:ed|ing)|restored|back\s+(?:up|online|to\s+normal)|finally|"
            r"(?:has|have|is|are)\s+now\s+(?:been\s+)?(?:processed|fixed|resolved|sorted|restored|back|shipped|"
            r"dispatched|working|complete|completed|ready|refunded|available|live)|investigat\w+|wrong|missing|lost|"
            r"damaged|broken|failed|failure|went\s+down|was\s+down|were\s+down|took\s+longer|so\s+long|"
            r"backlog|incorrect|inaccurate|hiccups?|slip|duplicate[sd]?|corrected|correct|back-and-forth|missed|"
            r"replacement)\b",
            _I,
        ),
    ),
    # Owning a wrong step without an apology word; on a discussion list a slip in one's own post is housekeeping
    # (see _weigh).
    _family(
        "admission", "should overlook failed missed",
        r"\b(?:I|we)\s+(?:really\s+|definitely\s+|clearly\s+|obviously\s+|honestly\s+|certainly\s+)?"
        r"(?:should(?:n't|\s+not)?\s+have|should've)\s+(?:(?:double-|re-|first\s+|properly\s+)?)"
        r"(?!(?:had|been|known|guessed|figured|thought|expected|bought|eaten|drunk|stayed|gone|gotten|seen|"
        r"waited|tried|used|asked|read|said|written|looked|searched|googled|done\s+so|done\s+that)\b)"
        # a snapshot one wishes one had, not a wrong step: "I should have taken a picture"
        r"(?!(?:taken|brought|grabbed|got)\s+(?:a\s+|some\s+|more\s+)?(?:pictures?|photos?|pics?|snaps?|videos?|"
        r"umbrella|coat|jacket|snacks?)\b)"
        r"(?:[a-z]+ed|told|sent|shared|given|let|put|left|made|taken|sold|spent|paid|promised|hit|run|set|kept|"
        r"caught|spotted|flagged|warned)\b",
        r"\b(?:I|we)\s+(?:\w+\s+)?overlooked\s+(?!(?:nothing|anything|it|that|this|something)\b)(?:the|your|a|an|our|my|"
        r"some|two|three|[\w-]+)\b",
        r"\b(?:I|we)\s+(?:completely\s+|totally\s+|simply\s+|just\s+)?failed\s+to\s+(?:pass\s+on|tell|inform|notify|let|"
        r"send|forward|include|mention|check|update|follow\s+up|renew|book|pay|cancel|order|submit|file|register|approve|"
        r"review|lock|back\s+up|copy|invite|call|deliver|communicate|flag|escalate|warn|catch|spot|notice|record|log|"
        r"share|confirm|process|honou?r|meet|keep|respond\s+to\s+your|reply\s+to\s+your)\b",
        r"\b(?:I|we)\s+(?:completely\s+|totally\s+|just\s+)?missed\s+(?:(?:the|your|our|a|my|an|its)\s+)?(?:[\w-]+\s+)?"
        r"(?:deadline|cut-?off|due\s+date|renewal|payment|filing|submission|handover|hand-off)\b",
        r"\b(?:I|we)\s+(?:completely\s+|totally\s+|just\s+)?missed\s+our\s+(?:meeting|call|appointment|interview|"
        r"1:1|one-on-one|session|catch-?up)\b",
    ),
)

# Sentences that only sound like a mistake: legal disclaimers, "if you ..." form letters and hedges.
_NOT_OURS = regex.compile(
    r"^\s*(?:if\s+(?:you|I|we)|in\s+case\s+you|should\s+you|assuming|supposing|suppose|even\s+if|whether|unless)\b|"
    r"\bintended\s+recipient|\bnot\s+the\s+(?:intended|named)\b|"
    r"\b(?:received|receive|receiving)\s+this\s+(?:e-?mail|message|communication|transmission)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:in\s+error|by\s+mistake)|\bconfidential|"
    # "Please disregard this reminder if you have already paid": a form letter, not a correction.
    r"\bif\s+you(?:'ve|\s+have)?\s+(?:already|previously|recently|just)\b|"
    r"\bif\s+you\s+(?:did\s+not|didn't|do\s+not|don't)\s+(?:request|sign|subscribe|make|place|authori[sz]e|recogni[sz]e)\b|"
    # "That may or may not be my fault", "if it's my mistake", "not my fault": no admission.
    r"\b(?:may|might|could)\s+(?:or\s+(?:may|might)\s+not\s+)?(?:be|have\s+been)\s+(?:partly\s+)?(?:my|our)\s+"
    r"(?:own\s+)?(?:fault|mistake|error)|\bif\s+(?:it|this|that)(?:'s|\s+is|\s+was)\s+(?:really\s+)?(?:my|our)\b|"
    r"\b(?:not|never)\s+(?:(?:really|entirely)\s+)?(?:my|our)\s+(?:fault|mistake|error)\b",
    _I,
)

# Incident notices (family "incident-notice"). An outage, data loss or billing error told as news is an oops
# notice when our side is named in its sentence ("a certificate we manage expired") or the sentence or its
# neighbours say who was hit ("users could not sign in", "affected customers"). Not counted:
#   - announcements of planned or future work ("will be unavailable on Saturday", "scheduled maintenance");
#   - relays of someone else's outage (a provider, upstream, a named cloud) that name no part of ours:
#     passing on a status page is not owning a mistake. With our side named, it counts ("our provider").
# Our side is the organisation ("we", "our"): "I was offline at the conference" is about a person.
# "us-east-1" and "US" (the country) are not us.
_INCIDENT_OWN = regex.compile(r"\b(?:we|we've|we're|we'd|our|ours)\b|(?-i:\bus\b)(?!-)", _I)
# A bare noun ("incidents", "disruption") is often a topic, not news: with our side named, the sentence must
# also tell that it happened.
_INCIDENT_EVENT = regex.compile(
    r"\b(?:there\s+(?:was|were|has\s+been|have\s+been)|(?:we|our\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:had|has\s+had|"
    r"have\s+had|experienced|suffered|caused|saw)|occurred|happened|began|started|lasted|ended|resolved|"
    r"between\s+\d|from\s+\d{1,2}[:.]\d\d|earlier\s+today|this\s+morning|last\s+night|yesterday)\b",
    _I,
)
_INCIDENT_AFFECTED = regex.compile(
    r"\b(?:users?|customers?|clients?|members?|staff|colleagues|employees|everyone|people|subscribers|patients|"
    r"callers|visitors|students|accounts?|orders?|shoppers|guests)\s+(?:[\w-]+\s+){0,3}?(?:could\s+not|couldn't|"
    r"were\s+(?:unable|not\s+able)|was\s+(?:unable|not\s+able)|did\s+not\s+(?:get|receive)|didn't\s+(?:get|receive)|"
    r"lost|were\s+(?:affected|impacted|charged|billed|locked\s+out|logged\s+out|double[- ]?charged)|"
    r"was\s+(?:affected|impacted|charged|billed|locked\s+out|double[- ]?charged)|have\s+been\s+(?:affected|impacted|"
    r"charged|billed)|has\s+been\s+(?:affected|impacted|charged|billed))\b"
    r"|\b(?:affected|impacted)\s+(?:users?|customers?|clients?|accounts?|members?|orders?|everyone|sites?|teams?)\b"
    r"|\b(?:affecting|impacting|affected|impacted)\s+(?:all\s+|some\s+|many\s+|most\s+|\d+\s+)?(?:of\s+)?(?:our|your|the)\s+"
    r"(?:[\w-]+\s+)?(?:users?|customers?|clients?|accounts?|members?|orders?|staff|services?)\b",
    _I,
)
_INCIDENT_FUTURE = regex.compile(
    r"\b(?:will|shall|going\s+to|may(?!\s+have)|might(?!\s+have)|can|could(?!\s+not)|whether|expect(?:ed)?|planned|"
    r"scheduled|upcoming|"
    r"tomorrow|tonight|next\s+(?:week|month|weekend|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b|'ll\b",
    _I,
)
_INCIDENT_OUTSIDE = regex.compile(
    r"\b(?:upstream|third[- ]party|(?:their|the\s+vendor's|the\s+provider's|the\s+carrier's)\s+(?:side|end)|"
    r"(?:isp|aws|azure|gcp|google\s+cloud|cloudflare|github|slack|microsoft|zoom|fastly|akamai|heroku)|"
    r"(?:nationwide|region-?wide|city-?wide|power\s+cut|power\s+failure|status\s+page))\b",
    _I,
)
_INCIDENT_QUESTION = regex.compile(r"\?\s*\Z")
_INCIDENT_NOUNS = ("outage", "incident", "downtime", "disruption", "interruption", "data")


def _is_incident_notice(text: str, start: int, end: int) -> bool:
    """An outage or billing/data error we report as news, not one planned, asked about, or someone else's."""
    sentence_start, sentence_end = _sentence_bounds(text, start, end)
    sentence = text[sentence_start:sentence_end]
    if _search(_INCIDENT_FUTURE, sentence) or _search(_INCIDENT_QUESTION, sentence):
        return False
    context_start, context_end = _context_bounds(text, start, end)
    if _is_prospective(text, start, end):
        return False
    own = _search(_INCIDENT_OWN, sentence) is not None
    if own and (not text[start:end].lower().startswith(_INCIDENT_NOUNS) or _search(_INCIDENT_EVENT, sentence)):
        return True
    if _search(_INCIDENT_OUTSIDE, text, context_start, context_end):
        return False  # someone else's outage passed on
    return _search(_INCIDENT_AFFECTED, text, context_start, context_end) is not None


# "That's on me", "that one was on us", "this is entirely on me": owning a mistake in two short words. Every
# match is also a match of the prefilter's byte pattern (_ON_ME): the word before "on" ends in s, ll or ly.
# "Lunch is on me" and "this round's on us" are a treat, not an admission (_TREAT).
_OWNERSHIP_IDIOM = regex.compile(
    r"\b(?:that|this|which|that\s+one|this\s+one|that\s+part|this\s+part|that\s+last\s+bit|the\s+(?:mistake|"
    r"error|slip|miss|mix-?up|screw-?up|mess-?up|delay|outage|confusion|oversight|problem|issue|failure|"
    r"blame|fault)|it(?!\s+(?:is|was|'s)\s+(?:\w+\s+)?on\s+(?:me|us)\s+to\b))"
    r"(?:'s|\s+is|\s+was|\s+one's|\s+one\s+is|\s+one\s+was)"
    r"(?:\s+(?:all|entirely|completely|totally|squarely|fully|solely|really|honestly|definitely|absolutely|100%)){0,2}"
    r"\s+on\s+(?:me|us)\b(?!\s*(?:to|and\s+(?:you|them)|,\s*(?:not|too)\b))",
    _I,
)
_TREAT = regex.compile(
    r"\b(?:drinks?|lunch|dinner|breakfast|brunch|coffees?|beers?|pints?|rounds?|pizzas?|cakes?|treats?|snacks?|"
    r"tab|bar\s+bill|tea|ice\s+cream|donuts?|doughnuts?|bagels?|first\s+round|next\s+round|shots?)\b",
    _I,
)


_MAX_IDIOM_OFFSETS = 50


def _ownership_idiom_hits(text: str, data: bytes) -> tuple[list[_Hit], bool]:
    """ "That's on me" in the new text, looked for only where the prefilter's byte pattern sees it.

    Also says whether the search stopped early (too many candidates, or out of time).
    """
    hits: list[_Hit] = []
    offsets = list(itertools.islice(ownership_idiom_offsets(data), _MAX_IDIOM_OFFSETS + 1))
    if not offsets:
        return hits, False
    truncated = len(offsets) > _MAX_IDIOM_OFFSETS or offsets[-1] == -1
    offsets = [offset for offset in offsets[:_MAX_IDIOM_OFFSETS] if offset >= 0]
    # The idiom ends a few characters after "on" and starts at most ~80 characters before it.
    windows = _merge([(max(0, position - 100), min(len(text), position + 40))
                      for position in _char_offsets(text, data, offsets)])
    seen: set[int] = set()
    try:
        for window_start, window_end in windows:
            for match in _OWNERSHIP_IDIOM.finditer(text, window_start, window_end, timeout=MATCH_TIMEOUT):
                if match.start() in seen:
                    continue
                seen.add(match.start())
                if _inside_quotation(text, match.start()):
                    continue
                sentence_start, sentence_end = _sentence_bounds(text, match.start(), match.end())
                if _search(_NOT_OURS, text[sentence_start:sentence_end]):
                    continue
                context_start, context_end = _context_bounds(text, match.start(), match.end())
                if _search(_TREAT, text, context_start, context_end):
                    continue
                hits.append(_Hit(match.start(), match.end(), False, False))
    except TimeoutError:
        return hits, True
    return hits, truncated


_HYPOTHETICAL = regex.compile(r"^\s*(?:if\s+you|in\s+case\s+you|should\s+you)\b", _I)
_OWNER = regex.compile(r"(?-i:\bI\b)|\b(?:we|we're|we've|our|ours|us|my|me|mine|I'm|I've)\b", _I)

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
    r"|\b(?:my|our|sincere|sincerest|deepest|humble|humblest|profuse|many|heartfelt|unreserved|genuine|honest)\s+"
    r"(?:of\s+)?|(?:^|[.!?:;]\s*|\n\s*)an\s+"
    r"|\bplease\s+accept\s+(?:(?:my|our|this|these)\s+)?(?:[\w-]+\s+){0,2}"
    r"|\bowe\s+(?:you|everyone|all\s+of\s+you|them|the\s+team)\s+(?:an?\s+)?(?:[\w-]+\s+)?)\Z",
    _I,
)
_APOLOGY_AFTER = regex.compile(
    r"^\s*(?:for|about|that|if|to\s+(?:all|everyone|you|those|anyone)|again|all)\b|^\s*[,;]?\s*but\b|"
    r"^\s*[,;:\u2014\u2013-]+\s*(?:I|we)(?:'ve|\s+have)?\s+(?:just\s+|accidentally\s+|mistakenly\s+)?(?:[a-z]+ed|gave|sent|put|set|"
    r"made|took|let|left|told|broke|forgot|lost|wrote|got)\b|"
    r"^\s*(?:[.!]|$)",  # closing a sentence: "We broke the build, sorry."
    _I,
)
# An apology that says what it is for. A pronoun ("sorry about that") points elsewhere: a bare apology.
_PRONOUN_OBJECT = r"(?:that|this|it|all\s+that|all\s+this|those|these)\s*(?:[.,;:!?)\u2014\u2013-]|$)"
_APOLOGY_OBJECT = regex.compile(
    r"^\s*,?\s*(?:(?:again|once\s+again|sincerely|deeply|truly|profusely)\s+)?(?:for|about|that|regarding|over|if)\s+"
    r"(?!" + _PRONOUN_OBJECT + r")"
    r"|^\s+(?:that\s+)?(?:I|we)(?:'ve|'d|'re|\s+have|\s+had)?\s+(?!" + _PRONOUN_OBJECT + r")[\w']"
    # "Sorry the repair took three weeks", "sorry your room was not ready": what went wrong for the reader.
    r"|^\s+(?:that\s+)?(?:your|the|our|my)\s+(?:[\w'-]+\s+){0,4}?(?:came\s+back|showed|sent|gave|charged|"
    r"(?:was|were|got|has\s+been|have\s+been)\s+(?:\w+\s+)?[a-z]+(?:ed|en)|didn't|did\s+not|wasn't|was\s+not|weren't|"
    r"were\s+not|couldn't|could\s+not|hasn't|has\s+not|haven't|have\s+not|never|failed|broke|took|cut\s+out|"
    r"stopped|arrived|went\s+(?:wrong|missing|out)|got\s+(?:lost|stuck|missed)|was\s+(?:late|delayed|cancell?ed|lost|"
    r"wrong|missing|incomplete|damaged|broken)|were\s+(?:late|delayed|cancell?ed|lost|wrong|missing|damaged|broken))\b"
    # "Forgive me, I shared the draft with the client": a wrong step of ours, told right after a comma or dash.
    r"|^\s*(?:me|us)?\s*[,:;\u2014\u2013-]+\s*(?:I|we)(?:'ve|\s+have)?\s+(?:just\s+|accidentally\s+|mistakenly\s+)?"
    r"(?:shared|sent|forwarded|deleted|removed|published|posted|promised|approved|booked|charged|cancell?ed|forgot|"
    r"overlooked|missed|gave|told|lost|broke|leaked|overwrote|overwritten|mixed\s+up|messed\s+up|dropped|"
    r"didn't|did\s+not|failed\s+to|should(?:n't|\s+not)?\s+have)\s+(?!" + _PRONOUN_OBJECT + r")[\w']"
    # "Apologies to everyone who got the reminder twice": addressed to the people affected.
    r"|^\s+to\s+(?:all\s+|any\s+|those\s+|the\s+)?(?:of\s+)?(?:you|everyone|everybody|all|those|anyone|customers|clients|"
    r"readers|subscribers|users|members|people|colleagues|recipients|staff|teams?)\b(?:\s+of\s+you)?\s+"
    r"(?:who|that|whose|affected|impacted|inconvenienced|hit\s+by)\b",
    _I,
)
# "For any inconvenience" without saying what happened: said by form letters and notices of planned work.
_HEDGED_OBJECT = regex.compile(
    r"^\s*,?\s*(?:for|about)\s+any\s+(?:inconvenience|trouble|disruption|confusion|problems?|issues?|delays?)"
    r"(?!\s+(?:(?:this|that|it|which|we|I)\s+)?(?:may\s+have\s+|might\s+have\s+|has\s+|have\s+)?caused\b)",
    _I,
)
_INTERJECTION_LEAD = regex.compile(r"^[\s(\"'*]*(?:(?:oh|ah|oops|whoops|sorry|yes|yeah|yep|ok|okay|hmm|doh|right|ugh)\W{0,3}\s*)*\Z", _I)
_INTERJECTION_TAIL = regex.compile(r"^\s*(?:[,;:!.\u2014\u2013)-]|$)")
_PROSPECTIVE = regex.compile(
    r"\b(?:scheduled|planned|upcoming|routine|regular|annual|weekly|monthly|nightly)\s+(?:[\w-]+\s+)?(?:maintenance|"
    r"outage|downtime|work|works|upgrade|migration|update|window|break|shutdown)\b|\bmaintenance\s+window\b|"
    r"\bwill\s+(?:be\s+|go\s+)?(?:down|unavailable|offline|read-only|interrupted|closed|disrupted|affected)\b|"
    r"\b(?:taking|take)\s+a\s+break\b|\bexpect\s+(?:some\s+|brief\s+|short\s+)?(?:downtime|disruptions?|interruptions?|"
    r"delays?|outages?)\b",
    _I,
)
_REGRET_OBJECT = regex.compile(
    r"^\s+(?:the|any|our|my|this|that|having|sending|sharing|publishing|missing|any)\s+(?!" + _PRONOUN_OBJECT + r")[\w']",
    _I,
)
_INFLECTED_APOLOGY = frozenset({"apologized", "apologised", "apologizes", "apologises", "regrets", "regretted"})
_QUOTE_OPEN = ('"', "\u201c", "\u2018", "\u00ab")
_QUOTE_CLOSE = ('"', "\u201d", "\u2019", "\u00bb")

_WEEKDAYS_MONTHS = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|june|july|august|"
    r"september|october|november|december)"
)
_CLOCK = r"(?:\d{1,2}:\d\d|\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.))"
# Impact on other people or the organisation. Words that also name everyday technical things
# ("client", "order", "leak", "broken") are left out: they would lend weight to a mere typo fix.
_IMPACT = regex.compile(
    r"\b(?:outages?|downtime|incidents?|breach(?:es)?|disruptions?|interruptions?|inconvenien(?:ce|ced|ces)|"
    r"affected|impacted|impact\s+on|production|prod|staging|live\s+(?:site|system|environment|database|data)|"
    r"customers?|subscribers|patients|charged|charges|overcharged|double[- ]charged|billed|billing|invoices?|invoiced|"
    r"refund(?:s|ed)?|payments?|prices?|pricing|fees?|payroll|payslips?|salary|salaries|wages|tax|vat|totals?|"
    r"your\s+order|orders|shipments?|confidential|personal\s+(?:data|details|information)|passwords?|credentials|"
    r"private\s+(?:data|details|information)|customer\s+data|data\s+loss|lost\s+(?:data|work|orders|e-?mails|files|"
    r"records)|deleted|wiped|overwritten|overwrote|corrupted|leaked|exposed|distribution\s+list|whole\s+(?:company|"
    r"department|organi[sz]ation|office|firm)|all[- ]staff|wrong\s+(?:people|person|customers?|recipients?|"
    r"address(?:es)?|accounts?|department)|offended|offensive|hurt|upset|harm(?:ed)?|damaged?|deadlines?|meetings?|"
    r"appointments?|all[- ]hands|webinars?|interviews?|flights?|holidays?|rota|on[- ]call|newsletters?|"
    r"announcements?|invitations?|mailings?|campaigns?|reminders?|registration|shipping)\b"
    # Something stopped working, or we say we caused it.
    r"|\b(?:was|were|went|has\s+been|have\s+been|had\s+been)\s+(?:down|offline|unavailable|unreachable)\b"
    r"|\b(?:because\s+of|due\s+to|caused\s+by|thanks\s+to)\s+(?:a\s+|an\s+)?(?:our|my)\b"
    # A corrected time or date: people plan by it. "The review is at 15:00, not 14:00."
    r"|\bnot\s+(?:on\s+|at\s+)?(?:" + _WEEKDAYS_MONTHS + r"|" + _CLOCK + r")"
    r"|\b(?:is|are|was|starts?|begins?|moved\s+to|happens?)\s+(?:on|at)\s+(?:" + _WEEKDAYS_MONTHS + r"|" + _CLOCK + r")",
    _I,
)
# Housekeeping: the form of one's own message or a slip in a discussion.
_HOUSEKEEPING = regex.compile(
    r"\b(?:typos?|misprint(?:ed|s)?|misspell(?:ed|ing|ings|t)?|spelling|grammar|wording|phrasing|word|term|sentence|"
    r"paragraph|links?|urls?|hyperlinks?|attach(?:ed|ment|ments)?|screenshots?|graphs?|plots?|images?|diagrams?|"
    r"paste[ds]?|snippets?|replies|reply|replied|posts?|posted|posting|threads?|comments?|questions?|answers?|"
    r"answered|newsgroups?|forum|subject\s+line|formatting|flags?|options?|commands?|arguments?|parameters?|paths?|"
    r"confusion|confusing|unclear|alluded|claimed|implied|suggested|misread|misunderstood|misremembered|misquoted|"
    r"meant\s+for|meant\s+to\s+(?:say|write|type)|I\s+meant|should\s+(?:read|say|have\s+said|have\s+read)|off[- ]list|"
    r"privately|I\s+(?:\w+\s+)?(?:said|wrote|stated|mentioned|claimed|thought|assumed))\b",
    _I,
)

# Words that say something went wrong, which a bare "Sorry!" beside them owns: "I merged it into main instead of
# the branch, sorry", "that was the wrong version. Sorry about that."
_TROUBLE = regex.compile(
    r"\b(?:wrong(?:ly)?|incorrect(?:ly)?|instead\s+of|by\s+mistake|mistaken(?:ly)?|my\s+mistake|in\s+error|"
    r"accidental(?:ly)?|by\s+accident|forgot|broke|broken|mistakes?|got\s+(?:lost|stuck|deleted|dropped)|went\s+missing|"
    r"feel\s+(?:like\s+)?(?:such\s+)?(?:an?\s+)?(?:idiot|fool)|(?:I|we)(?:'m|\s+am|'re|\s+are)\s+(?:so\s+|really\s+)?"
    r"(?:embarrassed|mortified)|fixed\s+(?:now|it|that|this)|(?:it's|it\s+is|that's|all)\s+fixed|"
    r"after\s+the\s+agreed\s+(?:date|deadline|time)|(?:later|late)\s+than\s+(?:agreed|promised|planned)|past\s+the\s+deadline|"
    r"(?:I|we)\s+(?:promised|said\s+(?:I|we)(?:'d|\s+would)|told\s+you\s+(?:I|we)(?:'d|\s+would))[^.!?\n]{0,80}?(?:and|but)\s+"
    r"(?:I|we)\s+(?:didn't|did\s+not|never|forgot)|won't\s+happen\s+again|"
    r"(?:is|are|was|should\s+be)\s+[\d.,%$€£:]+\s*%?\s*,?\s*not\s+[\d.,%$€£:]+|swapped\s+the\s+(?:digits|numbers|dates|figures|order)|(?:I|we)(?:'ll|\s+will)\s+(?:double[- ]check|be\s+more\s+careful)\b[^.!?\n]{0,50}?(?:next\s+time|"
    r"in\s+future|from\s+now\s+on)|"
    r"(?:got|was|were|been)\s+(?:messed|screwed|mixed)\s+up|(?:is|was|are|were|came|arrived|went\s+out)\s+"
    r"(?:\w+\s+)?(?:late|incomplete|missing|corrupted|lost|delayed|off)|took\s+(?:so|too|far\s+too)\s+long|fell\s+through|duplicate\s+(?:e-?mails?|messages?|charges?|"
    r"invoices?|orders?|payments?|notices?)|off\s+by|(?:I|we)(?:'ve|\s+have)?\s+(?:just\s+)?"
    r"(?:realised|realized|noticed|discovered|spotted)\s+(?:that\s+)?(?:I|we|my|our|the|it)|without\s+(?:first\s+)?(?:checking|asking|telling|testing|"
    r"warning|notice|confirming|reviewing)|(?:I|we)\s+(?:missed|overlooked|misread|misspoke|misunderstood|"
    r"mixed\s+up|deleted|removed|overwrote|lost)|should(?:\s+not|n't)?\s+have|meant\s+to|was\s+meant\s+for|"
    r"(?:please\s+)?(?:ignore|disregard)\s+(?:my|the|that|this)|left\s+(?:out|off)|twice|duplicate[sd]?|"
    r"(?:didn't|did\s+not|wasn't|was\s+not|weren't|were\s+not)\s+(?:\w+\s+){0,2}?(?:included|attached|sent|updated|"
    r"recorded|saved|mentioned|added|renewed|tested|checked))\b",
    _I,
)

_WINDOW_BEFORE = 220  # the longest family pattern reaches about this far before its anchor
_WINDOW_AFTER = 260
_MAX_ANCHORS = 400  # anchors looked at per text; past this, the verdict is marked truncated
_TIME_BUDGET = 0.25  # seconds per message; adversarial text stops being read, never stalls the relay
_SHORT_SENTENCE = 60  # characters; a shorter admission is read together with what was said just before it
_SHORT_LOOKBACK = 200  # characters before a short admission (within its paragraph) read with it
_MARKER_REACH_BEFORE = 150  # characters around a bare "Sorry!" or "Oops" in which impact words support it
_MARKER_REACH_AFTER = 250
_APOLOGY_REACH_BEFORE = 400  # characters of its paragraph a bare apology may refer back to


@dataclass(frozen=True)
class LanguageVerdict:
    """What the language detector found in the new text.

    `truncated` means the detector stopped early (too many anchors or out of time): the
    prefilter then treats the message as a candidate rather than trusting a "no".
    """

    oops: bool
    real_apology: bool
    truncated: bool = False


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    marker: bool  # says that something went wrong without saying what
    apology: bool  # the sender's own apology
    hedged: bool = False  # "apologies for any inconvenience": counts only next to a stated mistake


def _search(pattern: regex.Pattern[str], text: str, pos: int = 0, endpos: int | None = None) -> regex.Match[str] | None:
    try:
        return pattern.search(text, pos, len(text) if endpos is None else endpos, timeout=MATCH_TIMEOUT)
    except TimeoutError:
        return None


def _is_social(text: str, start: int, end: int, word: str) -> bool:
    """A passing courtesy ("sorry to bother you") rather than an apology for something that went wrong."""
    after = text[end: end + 200]
    if word[:6].lower() == "regret" and (_search(_FORMAL_NEWS, after) or _search(_RSVP_REGRETS, text[start: end + 40])):
        return True  # "we regret to inform you", "regrets from me for Thursday": news or an RSVP, not a mistake
    filler = _search(_LEADING_FILLER, after)
    if filler:
        after = after[filler.end():]
    if _search(_SOCIAL_AFTER, after):
        return True
    return _search(_SOCIAL_BEFORE, text[max(0, start - 60): start]) is not None


def _inside_quotation(text: str, start: int) -> bool:
    """Whether a position sits inside quotation marks opened earlier on the same line (reported speech)."""
    line_start = text.rfind("\n", 0, start) + 1
    if start > line_start and text[start - 1] == "'" and (start - 1 == line_start or not text[start - 2].isalnum()):
        return True  # 'Oops! Something went wrong.' quoted with a straight single quote (not an apostrophe)
    before = text[max(line_start, start - 300): start]
    opened = sum(before.count(mark) for mark in _QUOTE_OPEN if mark != '"')
    closed = sum(before.count(mark) for mark in _QUOTE_CLOSE if mark != '"')
    return opened > closed or before.count('"') % 2 == 1


def _is_own_apology(text: str, start: int, end: int, word: str) -> bool:
    """The sender apologising ("I'm sorry that", "Apologies for", "we regret"), not a sorry state or someone else."""
    if _inside_quotation(text, start) or _is_social(text, start, end, word):
        return False
    bounds = _sentence_bounds(text, start, end)
    if _search(_HYPOTHETICAL, text[bounds[0]: bounds[1]]):
        return False  # "If you do not wish to receive these, accept our apologies": a form letter, not an apology
    lowered = word.lower()
    if lowered.startswith(("forgive", "excuse")):
        return True
    if lowered in _INFLECTED_APOLOGY:
        # "The vendor apologized", "the company regrets": only with us as the speaker.
        return _search(_SPEAKER_BEFORE, text[max(0, start - 80): start]) is not None
    if lowered == "regrettably":
        return _search(_SPEAKER_BEFORE, text[max(0, start - 80): start]) is not None and text[end: end + 1] == ","
    if _search(_SPEAKER_BEFORE, text[max(0, start - 80): start]):
        return True
    return lowered.startswith(("sorry", "apolog")) and _search(_APOLOGY_AFTER, text[end: end + 40]) is not None


def _has_object(text: str, end: int, word: str) -> bool:
    """Whether an apology says what it is for ("sorry for the outage"), rather than standing bare ("Sorry!")."""
    after = text[end: end + 120]
    if word[:6].lower() == "regret" and _search(_REGRET_OBJECT, after):
        return True
    return _search(_APOLOGY_OBJECT, after) is not None


def _is_interjection(text: str, match: regex.Match[str]) -> bool:
    """ "My mistake, the flag is -n" or "My fault." opening a sentence: an interjection, like "my bad"."""
    sentence_start = _sentence_bounds(text, match.start(), match.end())[0]
    return bool(
        _search(_INTERJECTION_LEAD, text[sentence_start: match.start()])
        and _search(_INTERJECTION_TAIL, text[match.end(): match.end() + 3])
    )


def _is_prospective(text: str, start: int, end: int) -> bool:
    """An apology around an announcement of planned work: nothing has gone wrong yet."""
    context_start, context_end = _context_bounds(text, start, end)
    return _search(_PROSPECTIVE, text, context_start, context_end) is not None


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Start and end of the sentence (bounded to a few hundred characters) around text[start:end]."""
    left_start = max(0, start - 300)
    left = text[left_start: start]
    cut = max(left.rfind(". "), left.rfind("! "), left.rfind("? "), left.rfind("\n\n"), left.rfind(".\n"),
              left.rfind("!\n"), left.rfind("?\n"))
    sentence_start = left_start + (cut + 2 if cut != -1 else 0)
    right = text[end: end + 300]
    stops = [i for i in (right.find(". "), right.find("! "), right.find("? "), right.find("\n\n"), right.find(".\n"),
                         right.find("!\n"), right.find("?\n")) if i != -1]
    sentence_end = end + (min(stops) + 1 if stops else len(right))
    return sentence_start, sentence_end


def _context_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence around text[start:end] with the one before and the one after it."""
    sentence_start, sentence_end = _sentence_bounds(text, start, end)
    before_start = _sentence_bounds(text, max(0, sentence_start - 2), max(0, sentence_start - 2))[0]
    after_end = _sentence_bounds(text, min(len(text), sentence_end + 1), min(len(text), sentence_end + 1))[1]
    return min(before_start, sentence_start), max(after_end, sentence_end)


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


_FAMILIES_BY_ANCHOR: dict[int, tuple[int, ...]] = {}


def _index_families() -> None:
    """Which families run around each anchor. An anchor that contains another family's anchor runs it too."""
    words = [anchor.word for anchor in _ANCHORS]
    for index, word in enumerate(words):
        families = tuple(
            position for position, family in enumerate(_FAMILIES)
            if any(anchor in word for anchor in family.anchors)
        )
        if families:
            _FAMILIES_BY_ANCHOR[index] = families
    for family in _FAMILIES:
        for anchor in family.anchors:
            assert anchor in words, f"family {family.name}: {anchor!r} is not a prefilter anchor"


_index_families()
_APOLOGY_ANCHORS = frozenset(index for index, anchor in enumerate(_ANCHORS)
                             if anchor.word in (b"sorry", b"apolog", b"regret", b"forgive", b"excuse"))


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    windows.sort()
    merged: list[tuple[int, int]] = []
    for start, end in windows:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _window_end(text: str, position: int) -> int:
    """A window ends at a line end where it can, so `$` in a pattern rarely matches in the middle of a line."""
    newline = text.find("\n", position, position + 200)
    return newline if newline != -1 else min(len(text), position + 200)


def _find_hits(text: str, hits_by_anchor: list[tuple[int, int]], deadline: float) -> tuple[list[_Hit], bool]:
    """Apologies and mistake statements near the anchors; also whether the search stopped early."""
    hits: list[_Hit] = []
    windows: dict[int, list[tuple[int, int]]] = {}
    apology_windows: list[tuple[int, int]] = []
    length = len(text)
    for anchor_index, position in hits_by_anchor:
        # Family patterns are words and spaces: a match never crosses a sentence end.
        sentence_start, sentence_end = _sentence_bounds(text, position, position)
        window_end = min(length, sentence_end + 2)
        if window_end > position + _WINDOW_AFTER:  # a long run without a sentence end
            window_end = _window_end(text, position + _WINDOW_AFTER)
        window = (max(0, sentence_start - 3, position - _WINDOW_BEFORE), window_end)
        if anchor_index in _APOLOGY_ANCHORS:
            apology_windows.append((max(0, position - 2), _window_end(text, min(length, position + 30))))
        for family_index in _FAMILIES_BY_ANCHOR.get(anchor_index, ()):
            windows.setdefault(family_index, []).append(window)
    try:
        for start, end in _merge(apology_windows):
            if time.monotonic() > deadline:
                return hits, True
            for match in _APOLOGY.finditer(text, start, end, timeout=MATCH_TIMEOUT):
                word = match.group()
                if _is_own_apology(text, match.start(), match.end(), word):
                    if _is_prospective(text, match.start(), match.end()):
                        continue
                    hedged = _search(_HEDGED_OBJECT, text, match.end(), min(length, match.end() + 120)) is not None
                    marker = hedged or not _has_object(text, match.end(), word)
                    hits.append(_Hit(match.start(), match.end(), marker, True, hedged))
        for family_index, family_windows in windows.items():
            family = _FAMILIES[family_index]
            for start, end in _merge(family_windows):
                if time.monotonic() > deadline:
                    return hits, True
                for match in family.pattern.finditer(text, start, end, timeout=MATCH_TIMEOUT):
                    if _inside_quotation(text, match.start()):
                        continue
                    sentence_start, sentence_end = _sentence_bounds(text, match.start(), match.end())
                    sentence = text[sentence_start:sentence_end]
                    if _search(_NOT_OURS, sentence):
                        continue
                    if family.needs_owner and not _search(_OWNER, sentence):
                        continue
                    if family.prospective and _is_prospective(text, match.start(), match.end()):
                        continue
                    if family.context is not None:
                        context_start, context_end = _context_bounds(text, match.start(), match.end())
                        if not _search(family.context, text, context_start, context_end):
                            continue
                    if family.incident and not _is_incident_notice(text, match.start(), match.end()):
                        continue
                    marker = family.marker or (family.name == "owned" and _is_interjection(text, match))
                    hits.append(_Hit(match.start(), match.end(), marker, False))
    except TimeoutError:
        return hits, True
    return hits, False


# The shapes of a non-apology (SPEC section 4, `non-apology`): an apology turned into a condition, the reader's
# feelings, a hypothetical cost or a chore handed back. They only occur in answer to something that went wrong
# for the reader, so they mark apology mail even when the slip itself reads like housekeeping.
_NON_APOLOGY_FORM = regex.compile(
    r"^\s*,?\s*(?:that\s+)?you(?:'re|\s+are|\s+were|'ve\s+been)?\s+(?:feel|felt|feeling|think|thought|"
    r"(?:so\s+|very\s+)?(?:upset|disappointed|unhappy|offended|annoyed|frustrated))\b"
    r"|^\s*,?\s*if\s+(?:I|we|my|our|this|that|the|it|anyone|you|any)\b"
    r"|^[^.!?\n]{0,60}?\b(?:any|the)\s+(?:confusion|inconvenience|trouble|upset|frustration|distress|problems?|issues?)\s+"
    r"(?:this|that|it|which|we|I)\s+(?:may|might)\s+have\s+caused\b"
    r"|^\s*[,;!.]*\s*but\s+(?:you|your\s+team)(?:'ll|\s+will|'d|\s+would|\s+need|\s+have\s+to|\s+must|\s+should)\b"
    r"|^[\s,;!.]*however\b"
    # "Sorry your laptop came back without the charger, but the intake form says ...": the apology taken back
    r"|^\s+(?:that\s+)?(?:your|the)\s+[^.!?\n]{3,80}?,\s*but\s+(?:the|your|you|it|this|that|our|we|company)\b",
    _I,
)


# "If we caused you any trouble, we apologise": the apology made conditional before it is even said.
_NON_APOLOGY_BEFORE = regex.compile(
    r"\bif\s+(?:I|we|my|our|this|that|anything|anyone|it)\b[^.!?\n]{0,80}[,;]\s*(?:then\s+)?(?:I|we)?"
    r"(?:'re|\s+are|'m|\s+am)?\s*(?:(?:do|sincerely|truly|really|very|so)\s+)?\Z",
    _I,
)


def _owned_trouble(text: str, start: int, end: int, marker: _Hit, discussion: bool) -> bool:
    """Words between start and end saying something went wrong, in a sentence that is not housekeeping (on a
    discussion list; see _weigh).

    "I gave you write access instead of read-only. Sorry!" is owning a slip; "Sorry, I attached the wrong
    graph" on a discussion list is tidying up one's own post (see _HOUSEKEEPING).
    """
    for match in _TROUBLE.finditer(text, start, end, timeout=MATCH_TIMEOUT):
        if match.start() < marker.end and marker.start < match.end():
            continue  # "My mistake," is the marker itself, not what it is about
        if not discussion:
            return True
        sentence_start, sentence_end = _sentence_bounds(text, match.start(), match.end())
        if not _search(_HOUSEKEEPING, text, sentence_start, sentence_end):
            return True
    return False


def _weigh(text: str, hits: list[_Hit], deadline: float, discussion: bool = True) -> LanguageVerdict:
    """Which hits count: statements unless they are housekeeping on a discussion list, markers only with impact or
    a stated slip near them."""
    counted: list[_Hit] = []
    demoted: list[_Hit] = []
    for hit in hits:
        if hit.apology and (_search(_NON_APOLOGY_FORM, text[hit.end: hit.end + 160])
                            or _search(_NON_APOLOGY_BEFORE, text[max(0, hit.start - 120): hit.start])):
            counted.append(hit)  # "sorry if I stepped on your toes", "sorry you feel", "sorry, but you'll need to"
            continue
        if hit.marker:
            continue
        if time.monotonic() > deadline:
            return LanguageVerdict(bool(counted), any(h.apology for h in counted), truncated=True)
        sentence_start, sentence_end = _sentence_bounds(text, hit.start, hit.end)
        if sentence_end - sentence_start < _SHORT_SENTENCE:
            # "My mistake." or "I won't repeat my error!" is about what was just said.
            paragraph = text.rfind("\n\n", max(0, sentence_start - _SHORT_LOOKBACK), sentence_start)
            sentence_start = paragraph + 2 if paragraph != -1 else max(0, sentence_start - _SHORT_LOOKBACK)
        # On a discussion list, a slip in the form of one's own post (a typo, a link, an attachment, a misread
        # question) is housekeeping unless someone was affected: list members fix their posts all day. In direct
        # mail or a team notice the same words are owning a mistake like any other.
        if discussion and _search(_HOUSEKEEPING, text, sentence_start, sentence_end):
            context_start, context_end = _context_bounds(text, hit.start, hit.end)
            if not _search(_IMPACT, text, context_start, context_end):
                if hit.apology:
                    # "I'm sorry for the confusion" is weighed like a bare "Sorry!": by what was said around it.
                    demoted.append(dataclasses.replace(hit, marker=True))
                continue
        counted.append(hit)
    for hit in [*hits, *demoted]:
        if not hit.marker or hit in counted:
            continue
        # What a bare "Sorry!" or "Oops," is about is said right before or right after it.
        context_start, context_end = _context_bounds(text, hit.start, hit.end)
        context_start = max(context_start, hit.start - _MARKER_REACH_BEFORE)
        context_end = min(context_end, hit.end + _MARKER_REACH_AFTER)
        if time.monotonic() > deadline:
            return LanguageVerdict(bool(counted), any(h.apology for h in counted), truncated=True)
        if not hit.hedged and hit.apology:
            # A bare apology closes what its paragraph told: "I attached the October draft. [...] Sorry about that."
            paragraph = text.rfind("\n\n", max(0, hit.start - _APOLOGY_REACH_BEFORE), hit.start)
            context_start = min(context_start, paragraph + 2 if paragraph != -1 else max(0, hit.start - _APOLOGY_REACH_BEFORE))
        near = any(context_start <= other.start < context_end for other in counted)
        if near or (not hit.hedged and (_search(_IMPACT, text, context_start, context_end)
                                        or _owned_trouble(text, context_start, context_end, hit, discussion))):
            counted.append(hit)
    return LanguageVerdict(bool(counted), any(hit.apology for hit in counted))


def detect_language(text: str, time_budget: float = _TIME_BUDGET, discussion: bool = True) -> LanguageVerdict:
    """Apology or mistake language in the sender's new words; social, prospective and unsupported ones excepted,
    and on a discussion list (`discussion`, see is_discussion) housekeeping too."""
    data = text.encode("utf-8", "surrogatepass").lower()
    scanned = list(itertools.islice(_scan(data), _MAX_ANCHORS + 1))
    # Curly apostrophes are common in mail; the patterns are written with straight ones (same length).
    idiom_hits, idiom_truncated = _ownership_idiom_hits(text.replace("\u2019", "'"), data)
    if not scanned and not idiom_hits:
        return LanguageVerdict(False, False, idiom_truncated)
    truncated = idiom_truncated or (bool(scanned) and (len(scanned) > _MAX_ANCHORS or scanned[-1][0] == -1))
    scanned = [hit for hit in scanned[:_MAX_ANCHORS] if hit[0] >= 0 and hit[0] < _ANCHOR_COUNT]
    if not scanned and not idiom_hits:
        return LanguageVerdict(False, False, truncated)
    text = text.replace("\u2019", "'")
    positions = _char_offsets(text, data, (start for _, start in scanned))
    hits_by_anchor = [(index, position) for (index, _), position in zip(scanned, positions)]
    deadline = time.monotonic() + time_budget
    hits, stopped = _find_hits(text, hits_by_anchor, deadline)
    hits.extend(idiom_hits)
    verdict = _weigh(text, hits, deadline + time_budget, discussion)
    return LanguageVerdict(verdict.oops, verdict.real_apology, truncated or stopped or verdict.truncated)


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


# A discussion list: the headers list software adds, or a list/bulk precedence. Its members tidy up their own
# posts ("sorry, wrong link") all the time; the detector treats such housekeeping as no oops there.
_DISCUSSION_NAMES = ("list-id", "list-post", "mailing-list", "precedence")
_DISCUSSION_PRECEDENCE = regex.compile(r"\s*(?:list|bulk|junk)\b", regex.IGNORECASE)


def _discussion_value(name: str, value: str) -> bool:
    return name != "precedence" or _DISCUSSION_PRECEDENCE.match(value) is not None


def is_discussion(headers: Mapping[str, str]) -> bool:
    """Whether a message went through a discussion list (List-Id, List-Post, Mailing-List, Precedence list/bulk)."""
    return any(name in headers and _discussion_value(name, headers[name]) for name in _DISCUSSION_NAMES)


def _is_follow_up(parsed: ParsedMessage) -> bool:
    if parsed.in_reply_to or parsed.references:
        return True
    subject = parsed.subject
    return bool(_search(_REPLY_PREFIX, subject) or _search(_FOLLOW_UP_WORDS, subject))


def oops_reason(
    parsed: ParsedMessage, settings: ClassifierSettings, language: LanguageVerdict | None = None
) -> tuple[str, LanguageVerdict]:
    """Why this is an oops ("header", "subject", "language" or ""), and the language verdict.

    `language` is a verdict already found on exactly parsed.text (the prefilter's stage 2); one
    that was cut short by its time budget is not reused.
    """
    if language is None or language.truncated:
        language = (detect_language(parsed.text, discussion=is_discussion(parsed.headers)) if parsed.text
                    else LanguageVerdict(False, False))
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
    language: LanguageVerdict | None = None,
) -> Classification:
    """Classify a parsed message; envelope recipients (proxy) win over To+Cc+Bcc (check).

    `language`: the detector's verdict on parsed.text when the caller already has it (see oops_reason).
    """
    reason, language = oops_reason(parsed, settings, language)
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
    "FunnelResult",
    "LanguageVerdict",
    "classify",
    "detect_language",
    "funnel",
    "funnel_stage",
    "has_anchor",
    "has_ownership_idiom",
    "might_be_oops",
    "oops_reason",
]
