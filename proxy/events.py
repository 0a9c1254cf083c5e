"""The recorded decision event (SPEC section 2, "record"): team and rules only, never a person."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Verdicts an event can carry.
VERDICT_DELIVERED = "delivered"   # clean or warnings only, relayed
VERDICT_HELD = "held"
VERDICT_REJECTED = "rejected"     # on_block = "reject"
VERDICT_DEFERRED = "deferred"
VERDICT_OVERRIDDEN = "overridden"  # released with a reason (header override, reply release or admin release)
VERDICT_FIXED = "fixed"           # a held message superseded by a passing resend
VERDICT_AUDIT = "audit"           # audit mode: delivered, would have been held
VERDICT_EXPIRED = "expired"
VERDICTS = (VERDICT_DELIVERED, VERDICT_HELD, VERDICT_REJECTED, VERDICT_DEFERRED, VERDICT_OVERRIDDEN,
            VERDICT_FIXED, VERDICT_AUDIT, VERDICT_EXPIRED)


@dataclass(frozen=True)
class Event:
    """One recorded decision. `oops` says whether the message was checked as an oops at all."""

    time: datetime                 # timezone-aware, UTC
    team: str
    verdict: str                   # one of VERDICTS
    rules: tuple[str, ...] = ()    # rule ids of the findings (blocking first)
    audience: str = ""             # "broadcast" | "individual" | "" when not classified
    oops: bool = False
    override_reason: str = ""      # the stated reason for an override; written by the sender about the mail
    time_to_fix_seconds: float | None = None  # on VERDICT_FIXED: held -> passing resend
