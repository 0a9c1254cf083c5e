"""HTML mail bodies to readable plain text in linear time: scripts dropped, blocks on lines, quotes marked."""
from __future__ import annotations

import functools
import html
import re
from bisect import bisect_left, bisect_right
from heapq import heappop, heappush
from itertools import accumulate, compress, count, repeat
from operator import add

import regex

try:  # one Rust pass (SIMD prefilter) finds every tracking word; bytes.find() per word is the fallback
    import ahocorasick_rs as _ahocorasick
except ImportError:  # pragma: no cover
    _ahocorasick = None

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog dir div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main menu nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
_VOID_TAGS = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_RAW_TEXT_TAGS = frozenset({"script", "style", "title", "template", "xml", "textarea", "noscript"})
_RAW_TEXT_END = {name: regex.compile(r"</" + name + r"\b", regex.IGNORECASE) for name in _RAW_TEXT_TAGS}
# The stdlib engine: these run once per tag or text run, where call overhead is most of the cost.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_.-]*)([^>]*)>")
_ATTR = re.compile(r"""\b(class|id)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_SPACE_RUN = re.compile("[ \t\n\r\f\v\u00a0\u200b]+")
# Containers after which everything is the quoted original (Outlook, Yahoo, Apple's forwarded section).
_STOP_MARKERS = ("divrplyfwdmsg", "appendonsend", "yahoo_quoted", "olk_src_body_section")
_SIGNATURE_MARKERS = ("signature",)  # gmail_signature, moz-signature, OWA "Signature", Outlook mobile
_QUOTE_MARKERS = ("gmail_quote", "moz-cite-prefix")


class _HtmlText:
    """A linear-time HTML-to-text converter.

    html.parser is not used: on this Python it goes quadratic on unterminated tags
    ("<a <a <a ..."), which a hostile message can exploit. Quoted blocks are rendered with
    "> " prefixes and signature blocks after a "-- " line, so the plain-text rules that strip
    quotes and signatures handle HTML mail the same way.
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.pre_depth = 0
        # Open elements we track: (tag name, kind) where kind is "quote" or "signature".
        self.tracked: list[tuple[str, str, int]] = []
        self.open_counts: dict[str, int] = {}
        self.stopped = False
        self.nbsp_only = False  # the current block held only a no-break space: Outlook's blank line
        self.has_text = False  # the current line holds something besides white space

    def newline(self, force: bool = False) -> None:
        """End the current line; a forced break (<br>) also records an empty line."""
        line = "".join(self.current).strip() if self.has_text else ""
        self.current = []
        self.nbsp_only = False
        self.has_text = False
        prefix = "> " if self.quote_depth else ""  # one marker is enough; nesting depth is not kept
        if line:
            self.lines.append(prefix + line)
        elif force:
            self.lines.append(prefix.rstrip())

    def preformatted(self, text: str) -> None:
        """Text inside <pre>: its own line breaks are kept, each one a line of the output."""
        for index, part in enumerate(text.replace("\r\n", "\n").split("\n")):
            if index:
                self.newline(force=True)
            part = part.replace("\u00a0", " ")
            self.current.append(part)
            if not self.has_text and part.strip():
                self.has_text = True

    def block_break(self) -> None:
        if self.has_text:
            self.newline()
        elif self.nbsp_only:
            self.newline(force=True)

    def data(self, text: str) -> None:
        if self.stopped or not text:
            return
        if "&" in text:
            text = html.unescape(text)
        if "\u00a0" in text and not text.strip():
            self.nbsp_only = True
        if self.pre_depth:
            self.preformatted(text)
        else:
            text = _SPACE_RUN.sub(" ", text)
            self.current.append(text)
            if not self.has_text and text != " " and text.strip():
                self.has_text = True

    def start(self, name: str, attrs: str, self_closing: bool) -> None:
        marks = ""
        if "=" in attrs:
            marks = " ".join(m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(attrs)).lower()
        if marks and any(marker in marks for marker in _STOP_MARKERS):
            self.block_break()
            self.stopped = True
            return
        if name == "br":
            self.newline(force=True)
            return
        if name in _BLOCK_TAGS:
            self.block_break()
        if self_closing or name in _VOID_TAGS:
            return
        self.open_counts[name] = self.open_counts.get(name, 0) + 1
        if name == "pre":
            self.pre_depth += 1
        kind = ""
        if name == "blockquote" or (marks and any(marker in marks for marker in _QUOTE_MARKERS) and name != "div"):
            kind = "quote"
        elif marks and any(marker in marks for marker in _SIGNATURE_MARKERS):
            kind = "signature"
        if kind == "quote":
            self.quote_depth += 1
            self.tracked.append((name, kind, self.open_counts[name]))
        elif kind == "signature" and not any(k == "signature" for _, k, _ in self.tracked):
            self.block_break()
            self.lines.append("-- ")
            self.tracked.append((name, kind, self.open_counts[name]))

    def end(self, name: str) -> None:
        if name in _BLOCK_TAGS:
            self.block_break()
        count = self.open_counts.get(name, 0)
        if count <= 0:
            return
        # Close the tracked element this tag ends, and any tracked element left unclosed inside it.
        for position in range(len(self.tracked) - 1, -1, -1):
            tracked_name, _, tracked_count = self.tracked[position]
            if tracked_name == name and tracked_count == count:
                for _, kind, _ in self.tracked[position:]:
                    if kind == "quote":
                        self.quote_depth = max(0, self.quote_depth - 1)
                del self.tracked[position:]
                break
        self.open_counts[name] = count - 1
        if name == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)

    def finish(self) -> str:
        self.block_break()
        lines: list[str] = []
        for line in self.lines:
            if line.strip() or (lines and lines[-1].strip()):
                lines.append(line.rstrip() if line.strip() else "")
        return "\n".join(lines).strip("\n")


# One token at a time: a comment, a declaration or processing instruction, or a tag (text is what lies
# between). A tag is everything from "<name" to the next ">", as browsers cut it.
_HTML_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<[!?][^>]*(?:>|\Z)|<(/?)([A-Za-z][A-Za-z0-9:_.-]*)([^>]*)>", re.DOTALL)
# Tags that change the text's lines; with no quote, signature or stop marker anywhere in the markup, the
# others (span, font, a, b, img...) change nothing and are skipped without a method call.
_LINE_TAGS = _BLOCK_TAGS | _RAW_TEXT_TAGS | {"br", "pre"}
_TRACKING_WORDS = ("blockquote",) + _STOP_MARKERS + _SIGNATURE_MARKERS + _QUOTE_MARKERS
# The words again as bytes, looked for in the markup's UTF-8 bytes with ASCII letters lowered (_lowered).
_TRACKING_BYTES = tuple(word.encode() for word in _TRACKING_WORDS)
# Start tags of pre and the raw-text elements, looked for in the same bytes: "<pre/>" and "<script/>"
# open nothing, and only markup where one may be written so has those tags' attributes read.
_SPECIAL_STARTS = tuple(b"<" + name.encode() for name in ["pre"] + sorted(_RAW_TEXT_TAGS))
# str.lower() turns the Kelvin sign into "k", and no other non-ASCII character into an ASCII letter that
# can sit inside one of the words (U+0130 becomes "i" and a combining dot), so the byte form maps it by
# hand and then holds a word exactly when markup.lower() does.
_KELVIN_UTF8 = "\u212a".encode()
# Bytes after a tag's "/" that str.rstrip() may remove: ASCII white space and, loosely, any byte of a
# UTF-8 sequence (a stricter look follows).
_TRAILING_SPACE_BYTES = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f" + bytes(range(0x80, 0x100))
if _ahocorasick is not None:
    # A leftmost-first automaton scans with a SIMD prefilter (about 5 GB/s; bytes.find() runs about 3 GB/s
    # per word), and still reports a match wherever a word is.
    _WORD_SEARCH = _ahocorasick.BytesAhoCorasick(list(_TRACKING_BYTES), matchkind=_ahocorasick.MATCHKIND_LEFTMOST_FIRST)
    _SPECIAL_SEARCH = _ahocorasick.BytesAhoCorasick(
        list(_SPECIAL_STARTS), matchkind=_ahocorasick.MATCHKIND_LEFTMOST_FIRST
    )
    # The marker words in a tracked body's lowered attributes.
    _MARKER_SEARCH = _ahocorasick.BytesAhoCorasick(
        [word.encode() for word in _STOP_MARKERS + _SIGNATURE_MARKERS + _QUOTE_MARKERS],
        matchkind=_ahocorasick.MATCHKIND_LEFTMOST_FIRST,
    )
else:  # pragma: no cover - the same answers from bytes.find() and a regex
    _WORD_SEARCH = _SPECIAL_SEARCH = _MARKER_SEARCH = None
# The fallback's way to find the special start tags.
_SPECIAL_START = re.compile(b"|".join(_SPECIAL_STARTS))
# More special start tags than this: their attributes are read without looking first.
_SPECIAL_LOOKS = 64


def _lowered(markup: str) -> bytes:
    """The markup's UTF-8 bytes with ASCII letters lowered: a tracking word is in it iff in markup.lower().

    bytes.lower() only touches ASCII and runs at memory speed, where str.lower() maps every character.
    """
    lowered = markup.encode("utf-8", "surrogatepass").lower()
    if not markup.isascii():
        lowered = lowered.replace(_KELVIN_UTF8, b"k")
    return lowered


def _has_tracking_word(lowered: bytes) -> bool:
    """Whether the lowered markup holds a quote, signature or stop marker word."""
    if _WORD_SEARCH is not None:
        return bool(_WORD_SEARCH.find_matches_as_indexes(lowered))
    return any(word in lowered for word in _TRACKING_BYTES)


def _may_close_itself(lowered: bytes) -> bool:
    """Whether a start tag of pre or a raw-text element may end in "/" (and so open nothing): a loose test,
    true for every such tag (and some others, in comments too), false for most markup."""
    if _SPECIAL_SEARCH is not None:
        found = _SPECIAL_SEARCH.find_matches_as_indexes(lowered)
        if len(found) > _SPECIAL_LOOKS:
            return True
        ends = [end for _, _, end in found]
    else:  # pragma: no cover
        ends = []
        for match in _SPECIAL_START.finditer(lowered):
            if len(ends) == _SPECIAL_LOOKS:
                return True
            ends.append(match.end())
    # Such a tag closes itself when the bytes before the next ">" end in "/" once white space is stripped
    # (UTF-8 spaces loosely as any byte >= 0x80). Tags that share a ">" share the answer, so it is read once.
    close = -1
    for end in ends:
        if close < end:
            close = lowered.find(b">", end)
            if close == -1:
                return False
            if lowered[end:close].rstrip(_TRAILING_SPACE_BYTES).endswith(b"/"):
                return True
    return False


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: scripts dropped, blocks on their own lines, quotes marked with '> '."""
    lowered = _lowered(markup)
    every_tag = _has_tracking_word(lowered)
    if "\x00" in markup:
        return _html_to_text_by_token(markup, every_tag)
    if every_tag:
        return _tracked_html_to_text(markup)
    return _untracked_html_to_text(markup, lowered)


def _html_to_text_by_token(markup: str, every_tag: bool) -> str:
    """html_to_text one token at a time (the original loop): for markup with a NUL, which the streams cannot hold."""
    out = _HtmlText()
    # Past the last '>' no tag can end; bounding the search there keeps "<a <a <a ..." linear.
    search_end = markup.rfind(">") + 1
    position = 0  # where the text not yet handed to `out` starts
    skip_to = 0  # inside a raw-text element (script, style): tokens before this are its content
    pending: list[str] = []  # text since the last tag that mattered
    for token in _HTML_TOKEN.finditer(markup, 0, search_end):
        start = token.start()
        if start < skip_to:
            continue
        if start > position:
            pending.append(markup[position:start])
        position = token.end()
        name = token.group(2)
        if name is None:
            continue  # a comment or declaration
        if not every_tag and name not in _LINE_TAGS:
            name = name.lower()
            if name not in _LINE_TAGS:
                continue
        name = name.lower()
        if pending:
            out.data("".join(pending))
            pending = []
            if out.stopped:
                break
        attrs = token.group(3)
        if token.group(1):
            out.end(name)
            continue
        self_closing = attrs.rstrip().endswith("/")
        out.start(name, attrs, self_closing)
        if out.stopped:
            break
        if name in _RAW_TEXT_TAGS and not self_closing:
            # Raw-text elements: skip to their end tag without reading the content.
            found = _RAW_TEXT_END[name].search(markup, position)
            out.end(name)
            if found is None:
                position = skip_to = len(markup)
                break
            close = markup.find(">", found.end())
            position = skip_to = len(markup) if close == -1 else close + 1
    if not out.stopped:
        pending.append(markup[position:])
        out.data("".join(pending))
    return out.finish()



# --------------------------------------------------------------------------------------------- streams
#
# Both paths below cut the markup into text and tags with one C-level split, turn each tag into a short
# code by a C-level dict lookup (map(dict.get, ...)), and join text and codes into a "stream". The stream
# is turned into lines by whole-string and C-level list operations; only tags that can change quoting or
# stop the text (few) get Python code of their own. A code is NUL and one control character (a raw-text
# code has one letter more): markup with a NUL takes the token loop, so every NUL in a stream starts a
# code. Tests for a code look for its control character alone, which str.find() does at memchr speed;
# markup may hold that character itself, which only costs a pass that changes nothing.

_CODE_BLOCK = "\x00\x01"  # a block tag, start or end: ends a line that holds text
_CODE_BR = "\x00\x02"  # <br>: always ends a line, an empty one too
_CODE_FLUSH = "\x00\x03"  # ends a text run and nothing else
_CODE_PRE_OPEN = "\x00\x04"  # a block break, then <pre> text
_CODE_PRE_CLOSE = "\x00\x05"  # a block break, then the end of a <pre> opened before
_RAW_OPEN = "\x00\x06"  # + a letter naming the raw-text element (untracked streams)
_RAW_CLOSE = "\x00\x07"  # + the same letter
_CODE_QUOTE_OPEN = "\x00\x08"  # quote depth + 1 (tracked streams)
_CODE_QUOTE_CLOSE = "\x00\x0e"  # quote depth - 1, not below 0
_CODE_SIGNATURE = "\x00\x0f"  # the "-- " line before a signature
# In _render_stream only: b and r codes inside a quote, and the end of the "-- " line.
_CODE_QUOTED_BLOCK = "\x00\x11"
_CODE_QUOTED_BR = "\x00\x12"
_CODE_SIGNATURE_LINE = "\x00\x13"
_RAW_LETTERS = dict(zip(sorted(_RAW_TEXT_TAGS), "abcdefg"))


def _case_variants(word: str) -> list[str]:
    """Every ASCII upper/lower-case spelling of a tag name (a dict lookup in C cannot lower its key)."""
    spellings = [""]
    for char in word:
        cases = dict.fromkeys((char.lower(), char.upper()))  # one entry for a digit or "-"
        spellings = [prefix + variant for prefix in spellings for variant in cases]
    return spellings


def _spelled(codes: dict[str, tuple[str, str]]) -> dict[str | None, str]:
    """{name: (start code, end code)} for every spelling of each name and its "/"-prefixed end tag."""
    spelled: dict[str | None, str] = {}
    for name, (opening, closing) in codes.items():
        for spelling in _case_variants(name):
            spelled[spelling] = opening
            spelled["/" + spelling] = closing
    return spelled


_NAMES_WITH_CODES = {name: (_CODE_BLOCK, _CODE_BLOCK) for name in _BLOCK_TAGS} | {
    "br": (_CODE_BR, _CODE_FLUSH), "pre": (_CODE_PRE_OPEN, _CODE_PRE_CLOSE),
}
# Untracked streams: line tags only (other tags and comments: ""); about 9,000 keys.
_LINE_CODES = _spelled(
    _NAMES_WITH_CODES
    | {name: (_RAW_OPEN + letter, _RAW_CLOSE + letter) for name, letter in _RAW_LETTERS.items()}
)
# Start tags whose code depends on their attributes: "<pre/>" and "<script/>" open nothing.
_ATTRIBUTE_CODES = frozenset([_CODE_PRE_OPEN] + [_RAW_OPEN + letter for letter in _RAW_LETTERS.values()])
# Tracked streams: every tag ends a text run (other tags: _CODE_FLUSH; comments, the None name: ""). The
# tags with these placeholder codes are read by _tracked_tags: blockquote, start tags of pre and raw text.
_SPECIAL_RAW = "\x00\x7f"
_SPECIAL_QUOTE_OPEN = "\x00\x7e"
_SPECIAL_QUOTE_CLOSE = "\x00\x7d"
_SPECIAL_PRE = "\x00\x7c"
_SPECIALS = frozenset({_SPECIAL_RAW, _SPECIAL_QUOTE_OPEN, _SPECIAL_QUOTE_CLOSE, _SPECIAL_PRE})
_TRACKED_CODES = _spelled(
    _NAMES_WITH_CODES
    | {"pre": (_SPECIAL_PRE, _CODE_PRE_CLOSE), "blockquote": (_SPECIAL_QUOTE_OPEN, _SPECIAL_QUOTE_CLOSE)}
    | {name: (_SPECIAL_RAW, _CODE_FLUSH) for name in _RAW_TEXT_TAGS}
)
_TRACKED_CODES[None] = ""
# None (the name of a comment) as "", for str.lower() and str.join() in C.
_NONE_AS_EMPTY: dict[str | None, str] = {None: ""}

# _HTML_TOKEN cut the same way with fewer groups: the tag name with its "/" (None for a comment or
# declaration), and the attributes. The comment alternative is unrolled ("[^-]*" runs in C) instead of
# a lazy ".*?": it ends at the same first "-->", or at the end.
_COMMENT_OR_DECLARATION = r"<!--[^-]*+(?:-(?!->)[^-]*+)*+(?:-->|\Z)|<[!?][^>]*+(?:>|\Z)"
_LINE_SPLIT = re.compile(r"<(/?[A-Za-z][A-Za-z0-9:_.-]*+)[^>]*+>|" + _COMMENT_OR_DECLARATION)
_LINE_SPLIT_ATTRS = re.compile(_COMMENT_OR_DECLARATION + r"|<(/?[A-Za-z][A-Za-z0-9:_.-]*+)([^>]*+)>")
# Tracked bodies: the name (None for a comment or declaration), then the rest of the token (the
# attributes and ">", or what follows "<" in a comment or declaration), so that a token's length is known.
_TAG_SPLIT = re.compile(
    r"<(/?[A-Za-z][A-Za-z0-9:_.-]*+)?"
    r"((?(1)[^>]*+>|(?:!--[^-]*+(?:-(?!->)[^-]*+)*+(?:-->|\Z)|[!?][^>]*+(?:>|\Z))))"
)
# A raw-text element from its start code to its end code, or to the end when it is never closed.
_RAW_ELEMENT = re.compile(
    "|".join(
        f"{_RAW_OPEN}{letter}[^\x00]*+(?:\x00(?!\x07{letter})[^\x00]*+)*+(?:{_RAW_CLOSE}{letter}|\\Z)"
        for letter in _RAW_LETTERS.values()
    )
)
_RAW_CLOSE_CODE = re.compile(_RAW_CLOSE + "[a-g]")
_QUOTE_DEPTH_CODE = re.compile("\x00([\x08\x0e])")
# A gap: a line-ending code with the block and flush codes that follow it and the ASCII white space
# between and after them; a <br> (or the end of the "-- " line) always starts a gap of its own. Between
# two gaps lies one piece: the text (runs split by flush codes) from one line end to the next. The group
# is the gap's first code character, a one-character string. (\s with re.ASCII is tested as a category
# in the regex engine, faster than a character class.)
_GAP = re.compile(r"\x00([\x01\x02\x11\x12\x13])(?:\s*+\x00[\x01\x03\x11])*+\s*+", re.ASCII)
_PIECE_SEPARATOR = "\x04"  # between pieces once they are joined: a stream holding it takes the machine
# The separator before a blank piece (white space, zero-width spaces and flush codes) one of whose runs is
# only white space with a no-break space in it (Outlook's blank paragraph). The first look-ahead checks the
# piece is blank; the second finds such a run from a run start. Possessive, so each run is read twice at most.
_NBSP_PIECE = re.compile(
    r"\x04(?=(?:[\s\u200b]|\x00\x03)*+(?:\x04|\Z))"
    r"(?=(?:[\s\u200b]*+\x00\x03)*?[^\S\u00a0]*+\u00a0\s*+(?:\x00|\x04|\Z))"
)
_NBSP_MARK = "\n"  # put at the start of such a piece (no piece holds a newline by then); kept by the strip
# Every character str.isspace() accepts (what str.strip() removes), and the same without the newline, which
# pieces are stripped of.
_WHITE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_BUT_NEWLINE = _WHITE_SPACE.replace("\n", "")
# A blank piece's stripped text (empty, or the mark) and the code character after it: "" is an empty
# line, ">" one inside a quote, _NO_LINE none. A blank piece ended by a block code is no line; ended by a
# <br>, or holding a no-break-space run, it is an empty line.
_NO_LINE = "\x00"
_BLANK_PIECE_LINES = {
    "\x01": _NO_LINE, "\x02": "", "\x11": _NO_LINE, "\x12": ">",
    _NBSP_MARK + "\x01": "", _NBSP_MARK + "\x02": "", _NBSP_MARK + "\x11": ">", _NBSP_MARK + "\x12": ">",
}
_QUOTE_PREFIX = {"\x11": "> ", "\x12": "> "}
_BLANK_BY_CODE = {"\x01": _NO_LINE, "\x02": "", "\x13": ""}  # ("\x13" ends the never blank "-- ")
_SPACE_RUNS = re.compile("  ++")
_BLANK_LINES = re.compile("\n\n\n++")


def _render_stream(stream: str) -> str:
    """Lines of a stream with no <pre> (and no \\x04), by whole-string and C-level list operations.

    What _HtmlText does, restated per piece (the text between two gaps): a piece with text is one line,
    its runs' collapsed text stripped (and "> " before it inside a quote). A blank piece is an empty line
    (">" inside a quote) when the gap after it starts with a <br> or when it held a run of only white
    space and no-break spaces (Outlook's blank paragraph), and no line otherwise. The codes after the
    first in a gap meet a blank piece, so they add nothing (a <br> starts a gap of its own). Runs of empty
    lines collapse into one at the end, as in _HtmlText.finish().
    """
    quoted = "\x08" in stream or "\x0e" in stream
    # The start and the end of the markup end lines like block tags (the end inside any quote left open).
    end = _CODE_BLOCK
    if quoted:
        stream, depth = _quoted(stream)
        if depth:
            end = _CODE_QUOTED_BLOCK
    if "\x0f" in stream:
        stream = stream.replace(_CODE_SIGNATURE, "-- " + _CODE_SIGNATURE_LINE)
    parts = _GAP.split(_CODE_BLOCK + stream + end)  # [piece, code, piece, code, ..., piece]
    text = _PIECE_SEPARATOR.join(parts[0::2])
    if "&" in text:
        # No entity name that resolves holds a control character, so one unescape of all pieces equals
        # one per run. "&nbsp;" is always a whole entity and its replacement never starts or completes
        # another one, so the commonest entity is replaced in C first.
        text = text.replace("&nbsp;", "\u00a0")
        if "&" in text:
            text = html.unescape(text)
    # _SPACE_RUN collapses these to a space as it does runs of spaces, so they can be spaces already.
    text = _spaced(text)
    if "\u00a0" in text:
        text = _NBSP_PIECE.sub(_PIECE_SEPARATOR + _NBSP_MARK, text).replace("\u00a0", " ")
    if "\u200b" in text:
        text = text.replace("\u200b", " ")
    # The rest of _SPACE_RUN.sub(" ", run) for every run: separators and codes are not white space. White
    # space that _SPACE_RUN leaves alone stays, and str.strip() removes it at the ends as _HtmlText does.
    text = _collapsed_spaces(text)
    if "\x03" in text:
        text = text.replace(_CODE_FLUSH, "")  # a piece's runs join, each already collapsed
    pieces = list(map(str.strip, text.split(_PIECE_SEPARATOR), repeat(_SPACE_BUT_NEWLINE)))
    codes = parts[1::2]
    if quoted:
        # Text pieces are lines ("> " before them inside a quote); blank ones are looked up by their text
        # and the code after them.
        lines = map(str.__add__, map(_QUOTE_PREFIX.get, codes, repeat("")), pieces)
        lines = map(_BLANK_PIECE_LINES.get, map(str.__add__, pieces, codes), lines)
    else:
        # max() keeps a text piece (it sorts after "" and _NO_LINE) and the mark "\n" (an empty line: the
        # newlines collapse below); an empty piece becomes what the code after it makes of it.
        lines = map(max, pieces, map(_BLANK_BY_CODE.__getitem__, codes))
    return _collapsed_blank_lines("\n".join(filter(_NO_LINE.__ne__, lines)))


def _spaced(text: str) -> str:
    """The text with tabs, newlines, carriage returns, form feeds and vertical tabs made spaces."""
    for space in "\t\n\r\f\v":
        if space in text:
            text = text.replace(space, " ")
    return text


def _collapsed_spaces(text: str) -> str:
    """Every run of two or more spaces made one, for text that starts and ends with no space.

    str.split("  ") cuts each such run into empty parts and at most one leading space of the part after
    it, which lstrip() drops: joining the non-empty parts with spaces gives the collapsed text, in C.
    """
    if "  " not in text:
        return text
    return " ".join(filter(None, map(str.lstrip, text.split("  "), repeat(" "))))


def _collapsed_blank_lines(text: str) -> str:
    """Runs of empty lines made one, and no empty line first or last (_HtmlText.finish())."""
    return _BLANK_LINES.sub("\n\n", text).strip("\n")



def _quoted(stream: str) -> tuple[str, int]:
    """The stream with its quote depth codes dropped and the b and r codes inside a quote marked so; the
    depth at the end."""
    parts = _QUOTE_DEPTH_CODE.split(stream)  # [text, depth code, text, ...]: few
    depth = 0
    for index in range(1, len(parts), 2):
        depth = depth + 1 if parts[index] == "\x08" else max(0, depth - 1)
        parts[index] = ""
        if depth and ("\x01" in parts[index + 1] or "\x02" in parts[index + 1]):
            parts[index + 1] = (
                parts[index + 1].replace(_CODE_BLOCK, _CODE_QUOTED_BLOCK).replace(_CODE_BR, _CODE_QUOTED_BR)
            )
    return "".join(parts), depth



def _render_stream_with_pre(stream: str) -> str:
    """Lines of any stream: _HtmlText fed one run and one code at a time (the way for <pre>).

    The runs are unescaped, and collapsed for use outside <pre>, all at once first (no entity and no
    white-space run reaches across the separator), so that per run only the line bookkeeping is left.
    """
    out = _HtmlText()
    chunks = stream.split("\x00")  # [run, code character + run, code character + run, ...]
    raw = "\x00".join([chunks[0]] + [chunk[1:] for chunk in chunks[1:]])
    if "&" in raw:
        raw = raw.replace("&nbsp;", "\u00a0")
        if "&" in raw:
            raw = html.unescape(raw)
    runs = raw.split("\x00")
    collapsed = raw
    for space in "\t\n\r\f\v\u00a0\u200b":
        if space in collapsed:
            collapsed = collapsed.replace(space, " ")
    collapsed_runs = _SPACE_RUNS.sub(" ", collapsed).split("\x00")
    pre_open = 0
    for index, chunk in enumerate(chunks):
        if index:
            code = chunk[0]
            if code == "\x01":
                out.block_break()
            elif code == "\x02":
                out.newline(force=True)
            elif code == "\x04":
                out.block_break()
                pre_open += 1
                out.pre_depth += 1
            elif code == "\x05":
                out.block_break()
                if pre_open:
                    pre_open -= 1
                    out.pre_depth = max(0, out.pre_depth - 1)
            elif code == "\x08":
                out.quote_depth += 1
            elif code == "\x0e":
                out.quote_depth = max(0, out.quote_depth - 1)
            elif code == "\x0f":
                out.lines.append("-- ")
        text = runs[index]
        if not text:
            continue
        # What _HtmlText.data() does with the unescaped run.
        if "\u00a0" in text and not text.strip():
            out.nbsp_only = True
        if out.pre_depth:
            out.preformatted(text)
        else:
            text = collapsed_runs[index]
            out.current.append(text)
            if not out.has_text and text != " " and text.strip():
                out.has_text = True
    return out.finish()


# ------------------------------------------------------------------------------ markup without markers
#
# With no quote, signature or stop marker in the markup only the line tags (blocks, br, pre, raw-text
# elements) shape the text, and every other tag, comment and declaration just disappears: a text run goes
# from one line tag to the next, across the others.


def _untracked_html_to_text(markup: str, lowered: bytes) -> str:
    """html_to_text for markup with no quote, signature or stop marker and no NUL (most HTML mail)."""
    search_end = markup.rfind(">") + 1  # past the last '>' no tag can end
    if _may_close_itself(lowered):
        stream = _line_stream_with_attributes(markup, search_end)
    else:
        parts = _LINE_SPLIT.split(markup[:search_end])  # [text, name, text, name, ..., text]
        parts[-1] += markup[search_end:]
        parts[1::2] = map(_LINE_CODES.get, parts[1::2], repeat(""))
        stream = "".join(parts)
    if "\x06" in stream:
        # A raw-text element ends the text run before it; its content and end tag are dropped.
        stream = _RAW_ELEMENT.sub(_CODE_FLUSH, stream)
    if "\x07" in stream:
        stream = _RAW_CLOSE_CODE.sub(_CODE_FLUSH, stream)  # with no element open: ends a run only
    if "\x04" in stream:  # a pre start tag (or the character in the text): the machine
        return _render_stream_with_pre(stream)
    if "\x05" in stream:
        stream = stream.replace(_CODE_PRE_CLOSE, _CODE_BLOCK)  # with no pre open: a block end like any other
    return _render_stream(stream)


def _line_stream_with_attributes(markup: str, search_end: int) -> str:
    """The untracked stream, reading the attributes of pre and raw-text start tags ("<pre/>" opens nothing)."""
    parts = _LINE_SPLIT_ATTRS.split(markup[:search_end])  # [text, name, attributes, text, ...]
    parts[-1] += markup[search_end:]
    codes = list(map(_LINE_CODES.get, parts[1::3], repeat("")))
    attributes = parts[2::3]
    specials = list(compress(count(), map(_ATTRIBUTE_CODES.__contains__, codes)))
    closing = map(str.endswith, map(str.rstrip, map(attributes.__getitem__, specials)), repeat("/"))
    for index in compress(specials, closing):
        codes[index] = _CODE_BLOCK if codes[index] == _CODE_PRE_OPEN else _CODE_FLUSH
    parts[1::3] = codes
    del parts[2::3]
    return "".join(parts)


# --------------------------------------------------------------------------------- markup with markers
#
# With a marker word somewhere, every tag ends a text run (comments do not), and a raw-text element is
# skipped to the first "</name" in the markup, wherever it stands. Tags get their codes from
# _TRACKED_CODES; _tracked_tags then reads, in order, the few that can change more than that: blockquote,
# tags whose attributes hold a marker word, every tag with the name of one of those (their open counts
# decide which end tag closes a quote or signature), and start tags of pre and raw-text elements.


def _tracked_html_to_text(markup: str) -> str:
    """html_to_text for markup with a quote, signature or stop marker word somewhere (and no NUL)."""
    search_end = markup.rfind(">") + 1  # past the last '>' no tag can end
    parts = _TAG_SPLIT.split(markup[:search_end])  # [text, name, rest, text, name, rest, ..., text]
    parts[-1] += markup[search_end:]
    texts = parts[0::3]
    names = parts[1::3]
    rests = parts[2::3]
    del parts[2::3]  # [text, name, text, name, ..., text]
    codes = list(map(_TRACKED_CODES.get, names, repeat(_CODE_FLUSH)))
    tokens = _Tokens(markup, texts, names, rests)
    cuts = _tracked_tags(tokens, codes)
    if cuts is None:  # an end tag with none of its name open: read the watched tags one by one
        codes = list(map(_TRACKED_CODES.get, names, repeat(_CODE_FLUSH)))
        tokens.rewind()
        cuts = _tracked_tags_in_order(tokens, codes)
    parts[1::2] = codes
    stream = _cut(parts, cuts)
    if "\x04" in stream:  # a pre start tag (or the character in the text): the machine
        return _render_stream_with_pre(stream)
    if "\x05" in stream:
        stream = stream.replace(_CODE_PRE_CLOSE, _CODE_BLOCK)
    return _render_stream(stream)


def _cut(parts: list[str], cuts: list[tuple[int, int, str | None]]) -> str:
    """The joined [text, code, text, code, ..., text] list with the cuts made (raw-text elements skipped,
    the stop): from after the code of token `start` to before the code of token `end`, `text` instead."""
    if not cuts:
        return "".join(parts)
    chunks = []
    kept = 0  # the first part not yet joined
    for start, end, text in cuts:
        chunks.append("".join(parts[kept:2 * start + 2]))
        if text is not None:
            chunks.append(text)
        kept = 2 * end + 1
    chunks.append("".join(parts[kept:]))
    return "".join(chunks)


class _Tokens:
    """The tokens of a tracked body: names (None for a comment or declaration) and the rest of each token
    (a tag's attributes and its ">", or a comment's text after "<"), the texts before them, the tags with
    a marker word in their attributes, and where tokens start in the markup (summed from the last token
    asked about: asked in increasing order, every length is added once).
    """

    def __init__(self, markup: str, texts: list[str], names: list[str | None], rests: list[str]) -> None:
        self.markup = markup
        self.texts = texts
        self.names = names
        self.rests = rests
        self.count = len(names)
        self.marked = _marked_tags(names, rests)
        self.index = 0
        self.position = len(texts[0])  # where token 0 starts

    def rewind(self) -> None:
        """Start asking about positions from token 0 again."""
        self.index = 0
        self.position = len(self.texts[0])

    def attributes(self, index: int) -> str:
        return self.rests[index][:-1]

    def self_closing(self, index: int) -> bool:
        # The rest is the attributes and ">" (which the attributes never hold): strip both, then look.
        return self.rests[index].rstrip(_SPACE_AND_GT).endswith("/")

    def length(self, index: int) -> int:
        return 1 + len(self.names[index] or "") + len(self.rests[index])

    def start(self, index: int) -> int:
        """Where a token starts (index at least the last one asked about)."""
        if index > self.index:
            names = self.names[self.index:index]
            self.position += (
                len(names) + sum(map(len, filter(None, names))) + sum(map(len, self.rests[self.index:index]))
                + sum(map(len, self.texts[self.index + 1:index + 1]))
            )
            self.index = index
        return self.position

    def first_at(self, target: int, low: int) -> int:
        """The first token from `low` on that starts at `target` or later (self.count if none)."""
        if low >= self.count:
            return self.count
        index = low
        position = self.start(low)
        for _ in range(64):  # a raw-text element usually holds a few tokens: step over them
            if position >= target or index >= self.count:
                break
            position += self.length(index) + len(self.texts[index + 1])
            index += 1
        else:  # a long one: sum the lengths of the rest in C
            names = self.names[index:]
            steps = map(
                (1).__add__,
                map(add, map(add, map(len, self.rests[index:]), map(len, map(_NONE_AS_EMPTY.get, names, names))),
                    map(len, self.texts[index + 1:])),
            )
            starts = list(accumulate(steps, initial=position))
            found = bisect_left(starts, target)
            index, position = index + found, starts[min(found, len(starts) - 1)]
        if index < self.count:
            self.index, self.position = index, position
        return min(index, self.count)

    def skip_raw_text(self, index: int, name: str) -> tuple[int, str] | None:
        """A raw-text element from start tag `index`: its end tag is searched for in the markup from the
        end of the start tag; every token that starts before that end tag's ">" is skipped, and the text
        from there to the next token follows. (first token after, that text); None if never closed."""
        markup = self.markup
        found = _RAW_TEXT_END[name].search(markup, self.start(index) + self.length(index))
        close = markup.find(">", found.end()) if found is not None else -1
        if close == -1:
            return None
        following = self.first_at(close + 1, index + 1)
        return following, markup[close + 1:self.start(following) if following < self.count else len(markup)]


def _tracked_tags(tokens: _Tokens, codes: list[str]) -> list[tuple[int, int, str | None]] | None:
    """Give the tags that can change quoting, the signature line, pre or the end their codes.

    Does what _HtmlText.start() and end() do to those tags, reading in Python only the tags that can stop
    the text, skip raw text or open a quote or signature. Which end tag closes such an element follows
    from the open count of its name, a running sum over all tags of that name made in C. Returns the cuts
    to make in the token list, in order: (token, up to token, text put in place of what lies between) for
    a skipped raw-text element, or for the stop (text None, up to the end); None when some end tag meets
    no open element of its name (the count stays at zero there, which a plain sum does not do).
    """
    names = tokens.names
    raw_opens: list[int] = []
    quote_opens: list[int] = []
    quote_closes: list[int] = []
    pre_opens: list[int] = []
    kinds = {_SPECIAL_RAW: raw_opens, _SPECIAL_QUOTE_OPEN: quote_opens, _SPECIAL_QUOTE_CLOSE: quote_closes,
             _SPECIAL_PRE: pre_opens}
    for index in compress(count(), map(_SPECIALS.__contains__, codes)):
        kinds[codes[index]].append(index)
    marks: dict[int, str] = {}
    known: dict[str, str] = {}  # attributes to marks: mail repeats the same attributes on many tags
    for index in tokens.marked:
        attrs = tokens.attributes(index)
        if "=" in attrs and names[index][0] != "/":
            found = known.get(attrs)
            if found is None:
                found = known[attrs] = _marks(attrs)
            marks[index] = found
    # What each distinct marks string holds (few distinct ones, however many tags carry them).
    holds = {found: _marker_kinds(found) for found in set(marks.values())}
    stops = {index for index, found in marks.items() if holds[found][0]}
    # 1. The stop and the raw-text elements, in order: they decide which tags are read at all.
    cuts: list[tuple[int, int, str | None]] = []
    skipped: list[tuple[int, int]] = []  # token ranges inside raw-text elements
    limit = tokens.count  # tokens from here on are not read
    skip_to = 0
    for index in sorted(stops.union(raw_opens)) if stops else raw_opens:
        if index < skip_to:
            continue
        if index in stops:
            codes[index] = _CODE_BLOCK
            cuts.append((index, tokens.count, None))
            limit = index
            break
        if not tokens.self_closing(index):
            skip = tokens.skip_raw_text(index, names[index].lower())
            if skip is None:
                cuts.append((index, tokens.count, ""))
                limit = index + 1
                break
            skip_to, text = skip
            cuts.append((index, skip_to, text))
            skipped.append((index + 1, skip_to))
    ranges = []  # the token ranges that are read
    begin = 0
    for first, end in skipped:
        ranges.append((begin, first))
        begin = end
    ranges.append((begin, limit))
    # 2. The special tags' own codes (a tag cut away keeps any: it is dropped).
    for index in raw_opens:
        codes[index] = _CODE_FLUSH
    for index in quote_closes:
        codes[index] = _CODE_BLOCK
    for index in quote_opens:
        codes[index] = _CODE_BLOCK
    for index in pre_opens:
        codes[index] = _CODE_BLOCK if tokens.self_closing(index) else _CODE_PRE_OPEN
    if not marks:
        # Only blockquotes are tracked, each one quote deeper: the depth is the count of open ones.
        _quote_blockquotes(tokens, codes, quote_opens, quote_closes, ranges)
        return cuts
    # The start tags that may open a tracked element.
    opening = [index for index in quote_opens if not tokens.self_closing(index)]
    opening.extend(index for index in marks if names[index].lower() != "blockquote")
    opening = [index for index in sorted(set(opening)) if _is_read(index, ranges)]
    # 3. Open counts of the names those may track: a running sum over the read tags of each name.
    watched = frozenset(
        name for name in map(str.lower, map(names.__getitem__, opening))
        if name not in _RAW_TEXT_TAGS and name not in _VOID_TAGS and name != "br"
    )
    counts = _open_counts(watched, tokens, ranges) if watched else {}
    if counts is None:
        return None
    # 4. The tracked elements, opened and closed in order (an element also closes with one around it).
    stack: list[list[str]] = []
    closes: list[tuple[int, int, list[str]]] = []  # a heap: (end tag, order, element)
    for number, index in enumerate(opening):
        while closes and closes[0][0] < index:
            _close_tracked(heappop(closes), stack, codes)
        name = names[index].lower()
        if name == "br" or name in _VOID_TAGS or tokens.self_closing(index):
            continue
        _, quote_marks, signature_marks = holds.get(marks.get(index, ""), _NO_MARKER_KINDS)
        if name == "blockquote" or (quote_marks and name != "div"):
            element = [name, "quote"]
            codes[index] += _CODE_QUOTE_OPEN
        elif signature_marks and not any(entry[1] == "signature" for entry in stack):
            element = [name, "signature"]
            codes[index] += _CODE_BLOCK + _CODE_SIGNATURE
        else:
            continue
        if name in _RAW_TEXT_TAGS:
            # A raw-text start tag is ended right away: the element opens and closes at once.
            if element[1] == "quote":
                codes[index] += _CODE_QUOTE_CLOSE
            continue
        stack.append(element)
        close = counts[name].close_of(index)
        if close is not None:
            heappush(closes, (close, number, element))
    while closes and closes[0][0] < limit:
        _close_tracked(heappop(closes), stack, codes)
    return cuts


def _quote_blockquotes(
    tokens: _Tokens, codes: list[str], opens: list[int], closes: list[int], ranges: list[tuple[int, int]]
) -> None:
    """Quote codes when blockquotes are the only tracked elements: each start tag that is read and not
    self-closing opens one quote more; each end tag read while one is open closes one."""
    events = [(index, True) for index in opens if _is_read(index, ranges) and not tokens.self_closing(index)]
    events.extend((index, False) for index in closes if _is_read(index, ranges))
    depth = 0
    for index, opening in sorted(events):
        if opening:
            depth += 1
            codes[index] += _CODE_QUOTE_OPEN
        elif depth:
            depth -= 1
            codes[index] += _CODE_QUOTE_CLOSE


def _close_tracked(close: tuple[int, int, list[str]], stack: list[list[str]], codes: list[str]) -> None:
    """An end tag closes its tracked element and every element opened inside it, if still open."""
    index, _, element = close
    if len(element) == 3:  # closed already, with an element around it
        return
    for position in range(len(stack) - 1, -1, -1):
        if stack[position] is element:
            codes[index] += _CODE_QUOTE_CLOSE * sum(entry[1] == "quote" for entry in stack[position:])
            for entry in stack[position:]:
                entry.append("closed")
            del stack[position:]
            return


def _is_read(index: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether a token lies in one of the (sorted, disjoint) ranges of tokens that are read."""
    position = bisect_right(ranges, (index, _NO_INDEX)) - 1
    return position >= 0 and index < ranges[position][1]


_NO_INDEX = 1 << 62  # more than any token index


class _Counts:
    """A watched name's read tags (start and end, token indexes) and its open count after each."""

    def __init__(self, events: list[int], running: list[int]) -> None:
        self.events = events
        self.running = running
        self.lookups = 0
        self.matched: dict[int, int] | None = None

    def close_of(self, index: int) -> int | None:
        """The end tag that closes the element started at token `index` (None if none does): the first
        tag after it where the count falls below the count it opened with."""
        if self.matched is None:
            self.lookups += 1
            if self.lookups <= 32:  # a few: one C-level search each
                event = bisect_left(self.events, index)
                try:
                    return self.events[self.running.index(self.running[event] - 1, event + 1)]
                except ValueError:
                    return None
            # Many (each search may run to the end): pair every start with its end once, as brackets.
            self.matched = {}
            opened: list[int] = []
            previous = 0
            for event, running in zip(self.events, self.running):
                if running > previous:
                    opened.append(event)
                elif running < previous:
                    self.matched[opened.pop()] = event
                previous = running
        return self.matched.get(index)


def _open_counts(
    watched: frozenset[str], tokens: _Tokens, ranges: list[tuple[int, int]]
) -> dict[str, _Counts] | None:
    """For each watched name: its read tags (start and end) and its open count after each; None if a count
    would go below zero (an end tag with none open, which _HtmlText ignores)."""
    names = tokens.names
    spellings = _watched_spellings(watched)
    found: list[int] = []
    for begin, end in ranges:
        found.extend(compress(range(begin, end), map(spellings.__contains__, names[begin:end])))
    by_name: dict[str, list[int]] = {name: [] for name in watched}
    for index in found:
        by_name[spellings[names[index]]].append(index)
    counts: dict[str, _Counts] = {}
    for name, events in by_name.items():
        is_end = map(str.startswith, map(names.__getitem__, events), repeat("/"))
        rests = map(tokens.rests.__getitem__, events)
        self_closing = map(str.endswith, map(str.rstrip, rests, repeat(_SPACE_AND_GT)), repeat("/"))
        running = list(accumulate(map(_COUNT_STEP.__getitem__, zip(is_end, self_closing))))
        if running and min(running) < 0:
            return None
        counts[name] = _Counts(events, running)
    return counts


@functools.lru_cache(maxsize=256)
def _watched_spellings(watched: frozenset[str]) -> dict[str, str]:
    """Every spelling of the watched names' start and end tags, to the name (names of 12 letters at most
    have all spellings; a longer one only its lower and upper case)."""
    spellings: dict[str, str] = {}
    for name in watched:
        variants = _case_variants(name) if len(name) <= 12 else [name, name.upper()]
        for variant in variants:
            spellings[variant] = spellings["/" + variant] = name
    return spellings


# White space and ">": stripped from a tag's rest to see whether its attributes end in "/".
_SPACE_AND_GT = _WHITE_SPACE + ">"
# (end tag, self-closing) to the change in the open count: a start tag that closes itself opens nothing.
_COUNT_STEP = {(True, True): -1, (True, False): -1, (False, True): 0, (False, False): 1}


def _marker_kinds(marks: str) -> tuple[bool, bool, bool]:
    """Whether marks hold a stop, a quote and a signature marker."""
    return (
        any(marker in marks for marker in _STOP_MARKERS),
        any(marker in marks for marker in _QUOTE_MARKERS),
        any(marker in marks for marker in _SIGNATURE_MARKERS),
    )


_NO_MARKER_KINDS = (False, False, False)


def _marks(attrs: str) -> str:
    """The class and id values of a tag, lowered (as _HtmlText.start() reads them)."""
    return " ".join(m.group(2) or m.group(3) or m.group(4) or "" for m in _ATTR.finditer(attrs)).lower()


def _tracked_tags_in_order(tokens: _Tokens, codes: list[str]) -> list[tuple[int, int, str | None]]:
    """_tracked_tags reading every tag of a watched name in order, counting as _HtmlText does (exact in
    every case, slower). Returns the same cuts."""
    names = tokens.names
    lowered = list(map(str.lower, map(_NONE_AS_EMPTY.get, names, names)))
    marked = tokens.marked
    watched = {"blockquote"} | {lowered[index].lstrip("/") for index in marked}
    # Every tag with a watched name (start and end tags counted alike), the marked ones, and the specials.
    spellings = frozenset(watched | {"/" + name for name in watched})
    indexes = set(compress(count(), map(spellings.__contains__, lowered)))
    indexes.update(marked)
    indexes.update(compress(count(), map(_SPECIALS.__contains__, codes)))
    open_counts: dict[str, int] = {}
    tracked: list[tuple[str, str, int]] = []
    cuts: list[tuple[int, int, str | None]] = []
    skip_to = 0  # tokens before this index lie inside a skipped raw-text element
    for index in sorted(indexes):
        if index < skip_to:
            continue
        name = lowered[index]
        if name[0] == "/":
            name = name[1:]
            if codes[index] == _SPECIAL_QUOTE_CLOSE:
                codes[index] = _CODE_BLOCK
            codes[index] += _tracked_end(name, open_counts, tracked)
            continue
        attrs = tokens.attributes(index)
        self_closing = attrs.rstrip().endswith("/")
        marks = _marks(attrs) if index in marked and "=" in attrs else ""
        if marks and any(marker in marks for marker in _STOP_MARKERS):
            codes[index] = _CODE_BLOCK
            cuts.append((index, tokens.count, None))
            break
        if name == "br":
            codes[index] = _CODE_BR
            continue
        code = _CODE_BLOCK if name in _BLOCK_TAGS else _CODE_FLUSH
        if self_closing or name in _VOID_TAGS:
            codes[index] = code
            continue
        if name in watched:
            open_counts[name] = open_counts.get(name, 0) + 1
        if name == "pre":
            code = _CODE_PRE_OPEN
        if name == "blockquote" or (marks and any(marker in marks for marker in _QUOTE_MARKERS) and name != "div"):
            code += _CODE_QUOTE_OPEN
            tracked.append((name, "quote", open_counts[name]))
        elif (marks and any(marker in marks for marker in _SIGNATURE_MARKERS)
              and not any(kind == "signature" for _, kind, _ in tracked)):
            code += _CODE_BLOCK + _CODE_SIGNATURE
            tracked.append((name, "signature", open_counts[name]))
        if name in _RAW_TEXT_TAGS:
            codes[index] = code + _tracked_end(name, open_counts, tracked)
            skip = tokens.skip_raw_text(index, name)
            if skip is None:
                cuts.append((index, tokens.count, ""))
                break
            skip_to, text = skip
            cuts.append((index, skip_to, text))
            continue
        codes[index] = code
    return cuts


def _tracked_end(name: str, open_counts: dict[str, int], tracked: list[tuple[str, str, int]]) -> str:
    """_HtmlText.end() for a watched name: close the tracked element it ends; the quote codes that makes."""
    count = open_counts.get(name, 0)
    if count <= 0:
        return ""
    codes = ""
    for position in range(len(tracked) - 1, -1, -1):
        tracked_name, _, tracked_count = tracked[position]
        if tracked_name == name and tracked_count == count:
            codes = _CODE_QUOTE_CLOSE * sum(kind == "quote" for _, kind, _ in tracked[position:])
            del tracked[position:]
            break
    open_counts[name] = count - 1
    return codes


def _marked_tags(names: list[str | None], attributes: list[str]) -> set[int]:
    """The tags whose attributes hold a marker word in any case (a superset of those with marker classes).

    The attributes are joined by NULs and lowered as bytes (as _lowered does the markup), so the tag a
    match lies in is the number of NULs before it, counted in C.
    """
    joined = "\x00".join(attributes).encode("utf-8", "surrogatepass").lower()
    if _KELVIN_UTF8 in joined:
        joined = joined.replace(_KELVIN_UTF8, b"k")
    if _MARKER_SEARCH is not None:
        offsets = [start for _, start, _ in _MARKER_SEARCH.find_matches_as_indexes(joined)]
    else:  # pragma: no cover
        offsets = []
        for marker in _STOP_MARKERS + _SIGNATURE_MARKERS + _QUOTE_MARKERS:
            found = joined.find(marker.encode())
            while found != -1:
                offsets.append(found)
                found = joined.find(marker.encode(), found + 1)
        offsets.sort()
    marked: set[int] = set()
    index = previous = 0
    for offset in offsets:
        index += joined.count(b"\x00", previous, offset)
        previous = offset
        if names[index] is not None:  # not a comment
            marked.add(index)
    return marked
