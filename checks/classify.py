"""Classification: is this an oops/apology, who is the audience, is it a first notice or a follow-up."""
from __future__ import annotations

from dataclasses import dataclass

from checks.model import Audience, Classification, ParsedMessage


@dataclass(frozen=True)
class ClassifierSettings:
    """The [detect] and [broadcast] configuration, as plain data."""

    tag_headers: tuple[str, ...] = ("X-Oops",)
    subject_tags: tuple[str, ...] = ("[oops]", "oops:", "correction:")
    auto: bool = True
    broadcast_lists: tuple[str, ...] = ()
    min_recipients: int = 5
    internal_domains: tuple[str, ...] = ()  # empty: the sender's domain and its subdomains


def might_be_oops(raw: bytes, settings: ClassifierSettings) -> bool:
    """Cheap pre-filter on raw bytes: False means certainly not an oops, so no full parse is needed."""
    raise NotImplementedError


def classify(
    parsed: ParsedMessage,
    settings: ClassifierSettings,
    team: str,
    envelope_recipients: tuple[str, ...] | None = None,
) -> Classification:
    """Classify a parsed message; envelope recipients (proxy) win over To+Cc+Bcc (check)."""
    raise NotImplementedError
