"""Core value types of the checks library: messages, context, findings and the check protocol."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Mapping, Protocol, runtime_checkable


class Severity(enum.IntEnum):
    """How much a finding matters; ordered so max() gives the worst."""

    OFF = 0
    INFO = 1
    WARN = 2
    BLOCK = 3

    @classmethod
    def parse(cls, value: str) -> "Severity":
        return cls[value.strip().upper()]

    def __str__(self) -> str:
        return self.name.lower()


class Audience(str, enum.Enum):
    """Who a message goes to: many people (a list, a group) or one person / a few people."""

    BROADCAST = "broadcast"
    INDIVIDUAL = "individual"


class AppliesTo(str, enum.Enum):
    """The kinds of message a rule is meant for (SPEC section 4, "applies to")."""

    ALL = "all"
    BROADCAST = "broadcast"
    INTERNAL_BROADCAST = "internal broadcast"
    INTERNAL_BROADCAST_FIRST_NOTICE = "internal broadcast, first notice"
    INDIVIDUAL = "individual"
    INDIVIDUAL_REAL_APOLOGY = "individual, real apologies only"


@dataclass(frozen=True)
class Address:
    """One mailbox: display name (may be empty) and addr-spec (lower-cased domain)."""

    name: str
    addr: str

    @property
    def domain(self) -> str:
        return self.addr.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Span:
    """A range in the checked text: 0-based character offsets and 1-based line/column of the start."""

    start: int
    end: int
    line: int
    column: int


@dataclass(frozen=True)
class ParsedMessage:
    """What the parser made of raw bytes: headers, people, thread ids and the sender's new words.

    `text` is the human-written part that rules look at (quoted replies, forwarded
    originals and the signature removed). `signature` keeps the removed signature so
    rules can tell whose message it is; `greeting_lines` are 0-based indexes of lines
    in `text` that are salutations ("Hi Dana,"), which are never blame.
    """

    subject: str
    sender: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    date: datetime | None
    headers: Mapping[str, str]
    text: str
    signature: str = ""
    greeting_lines: frozenset[int] = frozenset()
    defects: tuple[str, ...] = ()
    # The checked part as text before quotes and signature were cut: where a follow-up's quoted first notice,
    # and when it was sent, can be read (checks.message.quoted_dates) when nothing else knows the thread.
    body: str = ""

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc + self.bcc

    @property
    def display_names(self) -> tuple[str, ...]:
        """Every non-empty display name on the message, sender first."""
        people = ((self.sender,) if self.sender else ()) + self.recipients
        return tuple(p.name for p in people if p.name)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class RuleSettings:
    """A team's settings for one rule."""

    severity: Severity | None = None  # None: the rule's default severity
    extra_phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeamContext:
    """The team facts rules need: roster names, timezone and per-rule settings."""

    name: str = "default"
    roster: tuple[str, ...] = ()
    timezone: str = "UTC"
    rules: Mapping[str, RuleSettings] = field(default_factory=dict)

    def rule(self, rule_id: str) -> RuleSettings:
        return self.rules.get(rule_id, RuleSettings())


@dataclass(frozen=True)
class Classification:
    """What kind of message this is, decided before any rule runs."""

    team: str
    is_oops: bool
    oops_reason: str  # "header", "subject", "language" or "" when not an oops
    audience: Audience
    internal: bool  # every recipient is inside the organisation (or a configured list)
    follow_up: bool  # a reply / update in an existing thread rather than the first notice
    real_apology: bool  # the new text contains an apology proper, not only a social "sorry"


@dataclass(frozen=True)
class CheckMessage:
    """Everything a rule sees: the parsed message, its classification and the team context.

    `thread_first_notice` is when the first notice of this thread was sent, when the
    caller knows it (the proxy keeps thread history; `oopsguard check` does not).
    """

    parsed: ParsedMessage
    classification: Classification
    team: TeamContext
    thread_first_notice: datetime | None = None

    @property
    def text(self) -> str:
        return self.parsed.text


@dataclass(frozen=True)
class Finding:
    """One problem found in the checked text. The fix lives in `suggestion`, never in `message`."""

    rule: str
    severity: Severity
    span: Span
    excerpt: str
    message: str
    suggestion: str

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "line": self.span.line,
            "column": self.span.column,
            "excerpt": self.excerpt,
            "message": self.message,
            "suggestion": self.suggestion,
        }


@runtime_checkable
class Check(Protocol):
    """A rule: data (id, default severity, audiences) plus a small pure function."""

    @property
    def id(self) -> str: ...

    @property
    def severity(self) -> Severity: ...

    @property
    def applies_to(self) -> AppliesTo: ...

    def run(self, message: CheckMessage) -> Iterator[Finding]: ...
