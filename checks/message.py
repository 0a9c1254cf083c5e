"""The message model: raw bytes to headers, people, thread ids and the sender's new words."""
from __future__ import annotations

from checks.model import ParsedMessage


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw RFC 5322 bytes; never raises on malformed input."""
    raise NotImplementedError
