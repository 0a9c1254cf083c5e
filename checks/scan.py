"""Bounded scanning for rules: keyword anchors found cheaply over the whole text, exact patterns only nearby.

An alternation of a few dozen phrases costs the `regex` engine 15-300 ms per megabyte, far too slow for
1 MB of hostile text, and even `str.find` costs about half a millisecond per needle per megabyte. So a text
is prepared once (lower-cased copy and its set of words, built in C), rules look up their keywords in the
set, search only for the keywords that occur, and run their real patterns in a short window around each
hit, with caps on how many hits and windows they look at.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

import regex

from checks.text import MATCH_TIMEOUT, TextIndex, phrase_pattern

# How many hits of one needle a rule looks at; repeated hostile text cannot make a rule slower than this.
HITS_PER_NEEDLE = 64

_PUNCTUATION_TO_SPACE = bytes.maketrans(
    b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", b" " * len(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
)
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


@dataclass(frozen=True)
class ScanText:
    """A checked text prepared once for every rule: its lower-cased copy and the set of words it contains."""

    text: str
    lowered: str
    vocabulary: frozenset[bytes]  # UTF-8 words without punctuation; splitting bytes is about twice as fast as str

    def has(self, word: str) -> bool:
        return word.encode() in self.vocabulary

    def has_any(self, words: Iterable[str]) -> bool:
        return any(self.has(word) for word in words)

    def offsets(self, words: Iterable[str], per_needle: int = HITS_PER_NEEDLE) -> list[int]:
        """Start offsets of the given lower-case words, searched only when the text contains them.

        Checking the word set first means an absent keyword costs a set lookup, not a pass over the text;
        so a rule with fifty keywords stays cheap on a megabyte that contains none of them.
        """
        return anchor_offsets(self.lowered, [w for w in words if self.has(w)], per_needle)


@lru_cache(maxsize=1)
def prepare(text: str) -> ScanText:
    """The ScanText for `text`; the last one is cached because every rule of a message asks for the same one."""
    lowered = folded(text)
    # Punctuation (apostrophes and hyphens too) becomes a space before splitting, so "(maybe)", "priya's" and
    # "follow-up" yield the plain words "maybe", "priya" and "follow"; all of it runs in C.
    data = lowered.encode("utf-8", "surrogatepass").translate(_PUNCTUATION_TO_SPACE)
    if b"\xe2\x80" in data:  # every wide mark below starts with these two bytes
        for mark in _WIDE_MARKS:
            data = data.replace(mark, b" ")
    return ScanText(text, lowered, frozenset(data.split()))


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


# Windows one scan looks at: a few milliseconds of pattern matching however many anchors the text holds.
MAX_WINDOWS = 300


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
            for match in pattern.finditer(text, low, high, overlapped=False, timeout=MATCH_TIMEOUT):
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
    sentence_start = low
    try:
        for match in _BOUNDARY.finditer(text, low, start, timeout=MATCH_TIMEOUT):
            sentence_start = match.end()
        following = _BOUNDARY.search(text, end, min(len(text), end + reach), timeout=MATCH_TIMEOUT)
    except TimeoutError:
        following = None
    sentence_end = following.end() if following else min(len(text), end + reach)
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


def vocabulary_words(phrase: str) -> list[str]:
    """The lower-case words a phrase leaves in a ScanText vocabulary (punctuation splits words there)."""
    return regex.findall(r"[^\W_]+", phrase.lower())


def phrase_matches(scan: ScanText, phrases: Iterable[str]) -> list[regex.Match[str]]:
    """Matches of literal phrases (a team's extra_phrases), searched only when all their words occur in the text."""
    usable = [p for p in phrases if vocabulary_words(p) and all(scan.has(w) for w in vocabulary_words(p))]
    pattern = phrase_pattern(usable)
    if pattern is None:
        return []
    needles = [vocabulary_words(p)[0] for p in usable]
    return list(matches_near(scan.text, pattern, anchor_offsets(scan.lowered, needles), before=40, after=200))
