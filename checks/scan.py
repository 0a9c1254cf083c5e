"""Bounded scanning for rules: keyword anchors found cheaply over the whole text, exact patterns only nearby.

An alternation of a few dozen phrases costs the `regex` engine 15-300 ms per megabyte, and even a single
pattern that does not start with a literal word costs about 10 ns per character, so scanning a 2 KB mail
with fifty such patterns would take a millisecond. So a text is prepared once per message (lower-cased
copy and its set of words, built in C) and shared by every rule; a rule pattern names the words any of its
matches must contain (`Anchored`), is skipped when none of them is in the word set (one C-level set
operation), and otherwise runs only in short windows around the places those words occur, with caps on
how many hits and windows it looks at; a pattern whose matches all start with one of a few words ("I",
"we" before a verb) is only tried where such a word is followed, close by, by a word it needs. Matches are
remembered per prepared text, so rules that share a pattern (apology words, remedies) pay for it once per
message. `regex` charges about 2 µs per call for a timeout, so calls over short windows go without one
(see checks.text.span_timeout).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Iterable, Iterator

import regex

from checks.text import TextIndex, phrase_pattern, span_timeout

# How many hits of one needle a rule looks at; repeated hostile text cannot make a rule slower than this.
HITS_PER_NEEDLE = 64
# Occurrences of one word an Anchored pattern is tried at; a megabyte of "I I I ..." stays bounded.
WORD_HITS = 512

_PUNCTUATION = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
# Punctuation, line breaks and tabs all become spaces: in `ScanText.spots` every word starts after b" ".
_SEPARATORS_TO_SPACE = bytes.maketrans(_PUNCTUATION + b"\t\n\r\x0b\x0c", b" " * (len(_PUNCTUATION) + 5))
_WIDE_MARKS = tuple(mark.encode() for mark in "’‘“”…–—•")

# Sentence ends: terminal punctuation (not after a one-letter word, so "a.m." and "e.g." stay inside),
# a blank line, or a line that starts a list item.
_BOUNDARY = regex.compile(
    r"(?<!(?<!\w)\w)[.!?]+(?=[\s\"'’”)\]]|$)|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t])"
)


def folded(text: str) -> str:
    """A lower-cased copy of `text` with the same length, so offsets found in it are valid in `text`."""
    # "İ" (U+0130) is the one character whose lower case is two characters long; folding it to "I" first keeps
    # every offset in place, and the anchors rules look for are ASCII anyway.
    return (text.replace("\u0130", "I") if "\u0130" in text else text).lower()


@dataclass(frozen=True, eq=False)
class Needles:
    """Words to look for: whole words (checked against a text's word set) and word-start prefixes ("apolog*")."""

    words: frozenset[bytes]
    prefixes: tuple[str, ...]

    def present(self, scan: "ScanText") -> bool:
        if not self.words.isdisjoint(scan.vocabulary):
            return True
        return bool(self.prefixes) and any(scan.has_prefix(p) for p in self.prefixes)


def needles(spec: str) -> Needles:
    """Needles from "word|word|prefix*": lower-case single words, a trailing * marks a prefix.

    The same set of words always gives the same object, so a text works out where they occur only once.
    """
    items = sorted({item.strip().lower() for item in spec.split("|") if item.strip()})
    return _needles("|".join(items))


@lru_cache(maxsize=None)
def _needles(spec: str) -> Needles:
    items = spec.split("|")
    for item in items:
        # A word set holds words split at punctuation: "didn't" is there as "didn" and "t".
        if vocabulary_words(item.rstrip("*")) != (item.rstrip("*"),):
            raise ValueError(f"needle {item!r} is not a single word")
        # Offsets are looked up in an ASCII view of the text (see ScanText.spots).
        if not item.isascii():
            raise ValueError(f"needle {item!r} is not ASCII")
    words = frozenset(item.encode() for item in items if not item.endswith("*"))
    return Needles(words, tuple(item[:-1] for item in items if item.endswith("*")))



@dataclass(frozen=True, eq=False)
class Anchored:
    """A pattern and the words any of its matches contains, with how far a match reaches around such a word.

    `anchors`: every match contains one of these words, starting at most `before` characters after the match
    start and ending at most `after` characters before the match end (lookarounds included). With `start`,
    every match begins exactly where one of the anchors begins ("I", "we" before a verb), so the pattern is
    only tried at those places instead of searched for in a window; it is at most `after` characters long and
    contains a word of the first `requires` group starting at most `before` characters (if set, else `after`)
    after its start, so it is only tried where one follows within that reach.
    `requires`: further groups of which the text must contain a word from each, or the pattern cannot match.
    """

    pattern: regex.Pattern[str]
    anchors: Needles
    requires: tuple[Needles, ...] = ()
    before: int = 80
    after: int = 120
    start: bool = False

    def possible(self, scan: "ScanText") -> bool:
        if not self.anchors.present(scan):
            return False
        for group in self.requires:
            if not group.present(scan):
                return False
        return True


def anchored(
    pattern: regex.Pattern[str], gate: str, before: int = 0, after: int = 120, start: bool = False
) -> Anchored:
    """An Anchored pattern from a gate "anchor|words & other|group & ...": the first group anchors the search.

    Windowed (start=False): `before` and `after` bound where a match lies around an anchor (`before` defaults
    to 80 there). Start-anchored: `after` bounds the match, and `before`, when given, how far after the start
    a word of the second group lies (else anywhere within `after`)."""
    if not start and not before:
        before = 80
    groups = [needles(group) for group in gate.split("&")]
    return Anchored(pattern, groups[0], tuple(groups[1:]), before, after, start)


@lru_cache(maxsize=128)
def _keyword_needles(words: tuple[str, ...]) -> Needles:
    return needles("|".join(words))


def keyword_anchored(pattern: regex.Pattern[str], keywords: tuple[str, ...], before: int, after: int) -> Anchored:
    """An Anchored pattern whose matches each contain one of `keywords` (lower-case whole words)."""
    return Anchored(pattern, _keyword_needles(keywords), (), before, after)


class AnchoredSet:
    """Anchored patterns consulted together (a rule's wording families): one C-level set intersection with a
    text's words tells which of them can match, so the absent ones cost nothing at all."""

    def __init__(self, items: Iterable[Anchored]) -> None:
        self.items: tuple[Anchored, ...] = tuple(items)
        self.words: frozenset[bytes] = frozenset().union(*(item.anchors.words for item in self.items))
        by_word: dict[bytes, list[int]] = {}
        for position, item in enumerate(self.items):
            for word in item.anchors.words:
                by_word.setdefault(word, []).append(position)
        self._by_word = by_word
        self._prefixed = tuple(position for position, item in enumerate(self.items) if item.anchors.prefixes)

    def candidates(self, scan: "ScanText") -> list[Anchored]:
        """The items whose anchors occur in the text (or may, for prefixes), in their original order; whether
        their other required words occur is left to `ScanText.matches`. Remembered per text."""
        found = scan._candidates.get(self)
        if found is None:
            positions: set[int] = set(self._prefixed)
            for word in self.words & scan.vocabulary:
                positions.update(self._by_word[word])
            found = scan._candidates[self] = [self.items[p] for p in sorted(positions)]
        return found


# A footer starts at the paragraph of its marker when that begins at most FOOTER_PARAGRAPH characters before the
# marker, else at the marker's line.
FOOTER_PARAGRAPH = 600
# Texts up to this long have their sentence boundaries listed once; longer ones are read window by window.
BOUNDARY_LIST_LIMIT = 65536
# Windows one scan looks at: a few milliseconds of pattern matching however many anchors the text holds.
MAX_WINDOWS = 300
# Characters a window reaches past a pattern's declared extent, so that a lookahead at a match's end sees the
# text that follows it (a window cut short would let "(?!\w)" pass in the middle of a word).
WINDOW_SLACK = 32
# Matches of one pattern kept per text.
MAX_MATCHES = 100


@dataclass(frozen=True, eq=False)
class ScanText:
    """A checked text prepared once for every rule: its lower-cased copy and the set of words it contains.

    Also remembers, for this text, where needles occur and which matches each Anchored pattern has, so the
    rules of one message share that work.
    """

    text: str
    lowered: str
    vocabulary: frozenset[bytes]  # UTF-8 words without punctuation; splitting bytes is about twice as fast as str
    # b" " + the lowered text with one byte per character (non-ASCII ones as "?"), punctuation and whitespace as
    # spaces, + b" ": a word occurs where b" word " does, at the same offset in `text`, found by bytes.find in C.
    spots: bytes = b""
    _prefixes: dict[str, bool] = field(default_factory=dict, repr=False)
    _hits: dict[tuple[str, bool], list[int]] = field(default_factory=dict, repr=False)
    _group_hits: dict[Needles, list[int]] = field(default_factory=dict, repr=False)
    _candidates: dict["AnchoredSet", list[Anchored]] = field(default_factory=dict, repr=False)
    _merged: dict["AnchoredSet", list[regex.Match[str]]] = field(default_factory=dict, repr=False)
    _matches: dict[Anchored, tuple[regex.Match[str], ...]] = field(default_factory=dict, repr=False)
    # Results a rule computes once per text and other rules reuse (keys start with the rule module's name).
    memo: dict[tuple[object, ...], object] = field(default_factory=dict, repr=False)

    @cached_property
    def boundaries(self) -> tuple[list[int], list[int]] | None:
        """Starts and ends of every sentence boundary (see `sentence_around`), found in one pass; None for texts
        too long to list them all (those are looked at window by window)."""
        if len(self.text) > BOUNDARY_LIST_LIMIT:
            return None
        starts: list[int] = []
        ends: list[int] = []
        try:
            for match in _BOUNDARY.finditer(self.text, timeout=span_timeout(0, len(self.text))):
                starts.append(match.start())
                ends.append(match.end())
        except TimeoutError:
            return None
        return starts, ends

    @cached_property
    def footer_start(self) -> int:
        """Where a list or newsletter footer begins ("to unsubscribe ...", "you are receiving this ..."), or the
        length of the text when it has none. A footer is boilerplate, not the sender's words, so rules ignore it.

        Only a marker in the second half of the text counts (a footer closes a message), and the footer begins
        at the start of the paragraph that holds it.
        """
        text, length = self.text, len(self.text)
        for marker in self.merged_matches(_FOOTER_MARKERS):
            if marker.start() < length // 2:
                continue
            paragraph = max(text.rfind("\n\n", 0, marker.start()), text.rfind("\n\r\n", 0, marker.start()))
            line = text.rfind("\n", 0, marker.start()) + 1
            start = paragraph + 1 if paragraph != -1 and marker.start() - paragraph <= FOOTER_PARAGRAPH else line
            while start < marker.start() and text[start].isspace():
                start += 1
            return start
        return length

    def in_footer(self, offset: int) -> bool:
        return offset >= self.footer_start

    @cached_property
    def index(self) -> TextIndex:
        """Line and column lookup for this text, shared by the rules."""
        return TextIndex(self.text)

    def has(self, word: str) -> bool:
        return word.encode() in self.vocabulary

    def has_any(self, words: Iterable[str]) -> bool:
        return any(self.has(word) for word in words)

    def has_prefix(self, prefix: str) -> bool:
        """Whether some word of the text starts with `prefix` (lower-case ASCII, no punctuation)."""
        known = self._prefixes.get(prefix)
        if known is None:
            known = self._prefixes[prefix] = (b" " + prefix.encode()) in self.spots
        return known

    def offsets(self, words: tuple[str, ...]) -> list[int]:
        """Sorted start offsets of the given lower-case ASCII words where they occur as whole words.

        One C-level set intersection picks the keywords the text contains, and only those are searched for,
        so a rule with fifty keywords stays cheap on a megabyte that contains none of them.
        """
        return self.anchor_hits(_keyword_needles(words))

    def word_hits(self, word: str, whole: bool = True) -> list[int]:
        """Offsets where the ASCII `word` occurs as a word (with whole=False: starts one), at most WORD_HITS."""
        key = (word, whole)
        hits = self._hits.get(key)
        if hits is None:
            hits = []
            needle = b" " + word.encode() + (b" " if whole else b"")
            spots = self.spots
            # spots[0] is the added space, so the space before a word at text offset k sits at spots[k].
            position = spots.find(needle)
            while position != -1 and len(hits) < WORD_HITS:
                hits.append(position)
                position = spots.find(needle, position + 1)
            self._hits[key] = hits
        return hits

    def word_hits_between(self, word: str, start: int, end: int) -> list[int]:
        """Offsets in [start, end) where the ASCII `word` occurs as a word; reads only that stretch unless the
        text's hits for `word` are known already."""
        known = self._hits.get((word, True))
        if known is not None:
            return known[bisect_left(known, start) : bisect_left(known, end)]
        hits: list[int] = []
        needle = b" " + word.encode() + b" "
        position = self.spots.find(needle, start, end + len(needle))
        while position != -1 and position < end and len(hits) < WORD_HITS:
            hits.append(position)
            position = self.spots.find(needle, position + 1, end + len(needle))
        return hits

    def anchor_hits(self, group: Needles) -> list[int]:
        """Sorted offsets of every word of `group` that the text contains (remembered per group)."""
        hits = self._group_hits.get(group)
        if hits is None:
            offsets: set[int] = set()
            for word in group.words & self.vocabulary:
                offsets.update(self.word_hits(word.decode()))
            for prefix in group.prefixes:
                if self.has_prefix(prefix):
                    offsets.update(self.word_hits(prefix, whole=False))
            hits = self._group_hits[group] = sorted(offsets)
        return hits

    def merged_matches(self, items: "AnchoredSet") -> list[regex.Match[str]]:
        """Matches of all the items of a set in text order, as one alternation of them would find them: where two
        overlap, the earlier start wins, and at the same start the earlier item. Remembered per text."""
        found = self._merged.get(items)
        if found is None:
            present = {id(item) for item in items.candidates(self)}
            ranked = sorted(
                ((match.start(), position, match)
                 for position, item in enumerate(items.items)
                 if id(item) in present
                 for match in self.matches(item)),
                key=lambda entry: (entry[0], entry[1]),
            )
            found, last_end = [], -1
            for start, _, match in ranked:
                if start >= last_end:
                    found.append(match)
                    last_end = match.end()
            self._merged[items] = found
        return found

    def matches(self, item: Anchored) -> tuple[regex.Match[str], ...]:
        """Matches of an Anchored pattern in the whole text (at most MAX_MATCHES), found at or around its anchors.

        Remembered per text. A regex timeout propagates (and nothing is remembered), so the calling rule
        ends its scan as it would on any other timeout.
        """
        found = self._matches.get(item)
        if found is not None:
            return found
        if not item.possible(self):
            self._matches[item] = ()
            return ()
        text, length, pattern = self.text, len(self.text), item.pattern
        collected: list[regex.Match[str]] = []
        last_end = -1
        if item.start:
            starts = self.anchor_hits(item.anchors)
            if item.requires and len(starts) > 1:
                # Only starts followed, within the match's reach, by a word of the first required group: "I"
                # occurs twenty times in a mail, "I" shortly before "forgot" once or twice.
                reach = item.before or item.after
                near: set[int] = set()
                for offset in self.anchor_hits(item.requires[0]):
                    near.update(starts[bisect_left(starts, offset - reach) : bisect_right(starts, offset)])
                starts = sorted(near)
            for offset in starts:
                if offset < last_end:
                    continue
                # A bounded stretch (see checks.text.span_timeout): no timer needed.
                match = pattern.match(text, offset, min(length, offset + item.after + WINDOW_SLACK))
                if match is not None:
                    collected.append(match)
                    last_end = match.end()
                    if len(collected) >= MAX_MATCHES:
                        break
        else:
            # Windows around the anchors, merged where they overlap.
            windows: list[list[int]] = []
            for offset in self.anchor_hits(item.anchors):
                low, high = max(0, offset - item.before), min(length, offset + item.after + WINDOW_SLACK)
                if windows and low <= windows[-1][1]:
                    windows[-1][1] = max(windows[-1][1], high)
                else:
                    windows.append([low, high])
            for low, high in windows[:MAX_WINDOWS]:
                for match in pattern.finditer(text, low, high, timeout=span_timeout(low, high)):
                    if match.start() >= last_end:
                        collected.append(match)
                        last_end = match.end()
                if len(collected) >= MAX_MATCHES:
                    break
        found = self._matches[item] = tuple(collected[:MAX_MATCHES])
        return found


@lru_cache(maxsize=4)
def prepare(text: str) -> ScanText:
    """The ScanText for `text`; the last few are cached because every rule of a message asks for the same one."""
    lowered = folded(text)
    # Punctuation (apostrophes and hyphens too) becomes a space before splitting, so "(maybe)", "priya's" and
    # "follow-up" yield the plain words "maybe", "priya" and "follow"; all of it runs in C.
    if lowered.isascii():
        data = lowered.encode().translate(_SEPARATORS_TO_SPACE)
        spots = b" " + data + b" "
    else:
        data = lowered.encode("utf-8", "surrogatepass").translate(_SEPARATORS_TO_SPACE)
        if b"\xe2\x80" in data:  # every wide mark below starts with these two bytes
            for mark in _WIDE_MARKS:
                data = data.replace(mark, b" ")
        # One byte per character keeps offsets; a non-ASCII character becomes "?", a separator like the others.
        spots = b" " + lowered.encode("ascii", "replace").translate(_SEPARATORS_TO_SPACE) + b" "
    return ScanText(text, lowered, frozenset(data.split()), spots)


def anchor_offsets(haystack: str, needles: Iterable[str], per_needle: int = HITS_PER_NEEDLE) -> list[int]:
    """Sorted start offsets of each needle in `haystack`, at most `per_needle` hits for each needle."""
    offsets: set[int] = set()
    for needle in needles:
        if not needle:
            continue
        position = haystack.find(needle)
        hits = 0
        while position != -1 and hits < per_needle:
            offsets.add(position)
            hits += 1
            position = haystack.find(needle, position + 1)
    return sorted(offsets)


def matches_near(
    text: str,
    pattern: regex.Pattern[str],
    offsets: Iterable[int],
    before: int = 60,
    after: int = 100,
) -> Iterator[regex.Match[str]]:
    """Matches of `pattern` that cover one of `offsets`, each searched only in a window around its offset.

    Windows end `after` characters past the anchor, so patterns must be shorter than that.
    """
    covered_until = -1
    windows = 0
    for offset in offsets:
        if offset < covered_until:
            continue
        windows += 1
        if windows > MAX_WINDOWS:
            return
        low, high = max(0, offset - before), min(len(text), offset + after)
        try:
            for match in pattern.finditer(text, low, high, overlapped=False, timeout=span_timeout(low, high)):
                if match.start() <= offset < match.end():
                    covered_until = match.end()
                    yield match
                    break
                if match.start() > offset:
                    break
        except TimeoutError:
            continue


def sentence_around(text: str, start: int, end: int, reach: int = 300, floor: int = 0) -> tuple[int, int]:
    """Start and end of the sentence holding text[start:end], looking at most `reach` characters either way
    and never before `floor` (the end of a greeting line, say)."""
    low = max(0, floor, start - reach)
    stop = min(len(text), end + reach)
    sentence_start = low
    boundaries = prepare(text).boundaries
    if boundaries is not None:
        # The last boundary between `low` and `start`, and the first between `end` and `stop`.
        starts, ends = boundaries
        before = bisect_right(ends, start) - 1
        if before >= 0 and starts[before] >= low:
            sentence_start = ends[before]
        after = bisect_left(starts, end)
        sentence_end = ends[after] if after < len(starts) and ends[after] <= stop else stop
    else:
        try:
            for match in _BOUNDARY.finditer(text, low, start, timeout=span_timeout(low, start)):
                sentence_start = match.end()
            following = _BOUNDARY.search(text, end, stop, timeout=span_timeout(end, stop))
        except TimeoutError:
            following = None
        sentence_end = following.end() if following else stop
    while sentence_start < start and text[sentence_start].isspace():
        sentence_start += 1
    while sentence_end > end and text[sentence_end - 1].isspace():
        sentence_end -= 1
    return sentence_start, sentence_end


def first_sentence(text: str, skip_lines: frozenset[int] = frozenset(), reach: int = 400) -> tuple[int, int] | None:
    """The first sentence of `text` that does not start on a skipped line (greetings); None for blank text."""
    position, line_number = 0, 0
    while position < len(text):
        line_end = text.find("\n", position)
        line_end = len(text) if line_end == -1 else line_end
        if line_number not in skip_lines and text[position:line_end].strip():
            start = position + (len(text[position:line_end]) - len(text[position:line_end].lstrip()))
            return sentence_around(text, start, start, reach, floor=position)
        position, line_number = line_end + 1, line_number + 1
        if line_number > 200:  # a text whose first 200 lines are all greetings or blank has no opening sentence
            return None
    return None


def greeting_floor(index: TextIndex, greeting_lines: frozenset[int], offset: int) -> int:
    """Where the text after the last greeting line above `offset` starts (0 when there is none), so that a
    sentence quoted in a suggestion does not begin with "Hi all,"."""
    if not greeting_lines:
        return 0
    line = index.line_of(offset)
    earlier = [greeting for greeting in greeting_lines if greeting < line]
    if not earlier:
        return 0
    following = max(earlier) + 1
    return index.line_starts[following] if following < len(index.line_starts) else len(index.text)


@lru_cache(maxsize=512)
def vocabulary_words(phrase: str) -> tuple[str, ...]:
    """The lower-case words a phrase leaves in a ScanText vocabulary (punctuation splits words there)."""
    return tuple(regex.findall(r"[^\W_]+", phrase.lower()))


@lru_cache(maxsize=256)
def _phrases_pattern(phrases: tuple[str, ...]) -> regex.Pattern[str] | None:
    return phrase_pattern(phrases)


def phrase_matches(scan: ScanText, phrases: Iterable[str]) -> list[regex.Match[str]]:
    """Matches of literal phrases (a team's extra_phrases), searched only when all their words occur in the text."""
    usable = tuple(p for p in phrases if vocabulary_words(p) and all(scan.has(w) for w in vocabulary_words(p)))
    pattern = _phrases_pattern(usable) if usable else None
    if pattern is None:
        return []
    first_words = [vocabulary_words(p)[0] for p in usable]
    return list(matches_near(scan.text, pattern, anchor_offsets(scan.lowered, first_words), before=40, after=200))


# Footers (see ScanText.footer_start): each marker wording is tried only where its first word occurs and a word
# it needs follows.
def _footer(source: str) -> regex.Pattern[str]:
    return regex.compile(r"(?i)(?<!\w)(?:" + source + r")(?!\w)")


_FOOTER_MARKERS = AnchoredSet((
    anchored(_footer(r"unsubscribe\w*"), "unsubscribe|unsubscribed|unsubscribing", after=20, start=True),
    anchored(_footer(r"(?:do\s+not|don['’]t|no\s+longer)\s+wish\s+to\s+(?:receive|be\s+removed)"), "do|don|no & wish",
             before=14, after=50, start=True),
    anchored(_footer(r"to\s+(?:be\s+removed\s+from|stop\s+receiving)"), "to & removed|stop", before=8, after=40,
             start=True),
    anchored(_footer(r"you\s+(?:are|were)\s+receiving\s+this|you\s+received\s+this\s+(?:e-?mail|message|newsletter)"),
             "you & receiving|received", before=14, after=50, start=True),
    anchored(_footer(r"this\s+(?:e-?mail|message|newsletter)\s+was\s+sent\s+to"), "this & sent", before=30, after=50,
             start=True),
    anchored(_footer(r"(?:manage|update)\s+your\s+(?:e-?mail\s+)?(?:subscription|preferences)"),
             "manage|update & subscription|preferences", before=30, after=50, start=True),
    anchored(_footer(r"opt[\s-]out"), "opt", after=20, start=True),
    anchored(_footer(r"view\s+(?:this|it)\s+(?:e-?mail\s+|message\s+)?(?:online|in\s+(?:a|your)\s+(?:web\s+)?browser)"),
             "view & online|browser", before=40, after=60, start=True),
    anchored(_footer(r"all\s+rights\s+reserved"), "all & reserved", before=12, after=30, start=True),
    anchored(_footer(r"privacy\s+policy"), "privacy & policy", before=10, after=30, start=True),
    anchored(_footer(r"listinfo"), "listinfo", after=20, start=True),
    anchored(_footer(r"remove\s+link"), "remove & link", before=8, after=20, start=True),
))
