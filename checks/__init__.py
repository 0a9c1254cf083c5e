"""oopsguard checks library: pure, synchronous rules for apology and oops mail (no I/O, no asyncio)."""
from checks.model import (
    Address,
    AppliesTo,
    Audience,
    Check,
    CheckMessage,
    Classification,
    Finding,
    ParsedMessage,
    RuleSettings,
    Severity,
    Span,
    TeamContext,
)

__all__ = [
    "Address",
    "AppliesTo",
    "Audience",
    "Check",
    "CheckMessage",
    "Classification",
    "Finding",
    "ParsedMessage",
    "RuleSettings",
    "Severity",
    "Span",
    "TeamContext",
]
