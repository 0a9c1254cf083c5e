"""Bounded scanning for rules: literal anchors found with str.find over the whole text, exact patterns only nearby.

An alternation of a few dozen phrases costs the `regex` engine 15-40 ms per megabyte, which is too slow for
1 MB of hostile text; `str.find` on a lower-cased copy costs well under a millisecond per needle. So rules
look for cheap literal anchors first and run their real patterns in a short window around each hit, with a
cap on how many hits they look at.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import regex

from checks.text import MATCH_TIMEOUT

# How many hits of one needle a rule looks at; repeated hostile text cannot make a rule slower than this.
HITS_PER_NEEDLE = 64

_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}

# Sentence ends: terminal punctuation (not after a one-letter word, so "a.m." and "e.g." stay inside),
# a blank line, or a line that starts a list item.
_BOUNDARY = regex.compile(
    r"(?<!(?<!\w)\w)[.!?]+(?=[\s\"'’”)\]]|$)|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t])"
)


def folded(text: str) -> str:
    """A lower-cased copy of `text` with the same length, so offsets found in it are valid in `text`."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters (such as "İ") grow when lower-cased; the anchors are ASCII, so ASCII folding is enough.
    return text.translate(_ASCII_LOWER)


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
    for offset in offsets:
        if offset < covered_until:
            continue
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


def sentence_around(text: str, start: int, end: int, reach: int = 300) -> tuple[int, int]:
    """Start and end of the sentence holding text[start:end], looking at most `reach` characters either way."""
    low = max(0, start - reach)
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
            return sentence_around(text, start, start, reach)
        position, line_number = line_end + 1, line_number + 1
        if line_number > 200:  # a text whose first 200 lines are all greetings or blank has no opening sentence
            return None
    return None


def words_between(text: str, start: int, end: int) -> str:
    """The text between two offsets, in either order, whitespace collapsed and lower-cased."""
    low, high = (start, end) if start <= end else (end, start)
    return " ".join(text[low:high].lower().split())
