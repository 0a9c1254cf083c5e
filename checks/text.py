"""Text helpers shared by rules: offsets to line/column, sentence bounds and findings built from matches."""
from __future__ import annotations

import bisect
from itertools import accumulate
from dataclasses import dataclass
from functools import cached_property

import regex

from checks.model import Finding, Severity, Span

# Every rule pattern runs with this timeout (seconds) so adversarial input cannot stall a check.
MATCH_TIMEOUT = 0.05
# `regex` charges about 2 µs for every call, and for every match an iterator yields, that carries a timeout:
# more than matching a sentence costs. Rule patterns are linear (every repetition is bounded or runs over
# characters the rest of the pattern cannot start with), so a call over a short stretch of text cannot stall;
# only calls over more than BOUNDED_SPAN characters carry MATCH_TIMEOUT.
BOUNDED_SPAN = 4096


def span_timeout(start: int, end: int) -> float | None:
    """The timeout for a match call over text[start:end]: none for a short stretch, MATCH_TIMEOUT otherwise."""
    return None if end - start <= BOUNDED_SPAN else MATCH_TIMEOUT

_SENTENCE_END = regex.compile(r"[.!?](?=\s|$)|\n\s*\n")


@dataclass(frozen=True)
class TextIndex:
    """Maps character offsets in a checked text to 1-based line and column."""

    text: str

    @cached_property
    def line_starts(self) -> list[int]:
        # Each line starts one character after the previous one ends; summed in C, not in a Python loop.
        return list(accumulate(map((1).__add__, map(len, self.text.split("\n")[:-1])), initial=0))

    def span(self, start: int, end: int) -> Span:
        line_index = bisect.bisect_right(self.line_starts, start) - 1
        return Span(start=start, end=end, line=line_index + 1, column=start - self.line_starts[line_index] + 1)

    def line_of(self, offset: int) -> int:
        """0-based line index of an offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_text(self, line_number: int) -> str:
        """The text of a 1-based line, without its newline."""
        start = self.line_starts[line_number - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]

    def sentence_bounds(self, offset: int) -> tuple[int, int]:
        """Start and end offsets of the sentence that contains `offset`."""
        start = 0
        for match in _SENTENCE_END.finditer(self.text, 0, offset, timeout=span_timeout(0, offset)):
            start = match.end()
        following = _SENTENCE_END.search(self.text, offset, timeout=span_timeout(offset, len(self.text)))
        end = following.end() if following else len(self.text)
        while start < end and self.text[start].isspace():
            start += 1
        return start, end


def excerpt_of(text: str, start: int, end: int, limit: int = 120) -> str:
    """The matched words on one line, whitespace collapsed, cut to `limit` characters."""
    excerpt = " ".join(text[start:end].split())
    return excerpt if len(excerpt) <= limit else excerpt[: limit - 1] + "…"


def make_finding(
    index: TextIndex,
    rule: str,
    severity: Severity,
    start: int,
    end: int,
    message: str,
    suggestion: str,
) -> Finding:
    """A finding for text[start:end] with its line/column resolved."""
    return Finding(
        rule=rule,
        severity=severity,
        span=index.span(start, end),
        excerpt=excerpt_of(index.text, start, end),
        message=message,
        suggestion=suggestion,
    )


def phrase_pattern(phrases: tuple[str, ...] | list[str]) -> regex.Pattern[str] | None:
    """A case-insensitive pattern matching any of the literal phrases, whitespace-tolerant (also across line breaks)."""
    cleaned = [p.strip() for p in phrases if p.strip()]
    if not cleaned:
        return None
    parts = [r"\s+".join(regex.escape(word) for word in phrase.split()) for phrase in cleaned]
    return regex.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", regex.IGNORECASE | regex.V1)
