"""The pure part of the pipeline: parse, classify, check and decide, returning a Decision value."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from checks.classify import FunnelResult, funnel
from checks.engine import Report, check_message
from checks.model import Check, Finding, Severity
from proxy.config import Config, TeamFile

OVERRIDE_HEADER = "X-Oops-Override"
SAME_DAY_RULE = "same-day-solution"
OVERRIDE_WITHOUT_REASON = "override header without a reason"


class Action(str, enum.Enum):
    """What the proxy does with a message."""

    DELIVER = "deliver"
    HOLD = "hold"
    DEFER = "defer"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    """The verdict on one message; `would_have` records what enforce mode would have done in audit mode."""

    action: Action
    findings: tuple[Finding, ...]
    reason: str
    team: str
    report: Report | None = None
    would_have: Action | None = None
    override_reason: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.rule for f in self.findings))

    @property
    def override_refused(self) -> bool:
        """Refused because the sender overrode a hold with an empty reason (the proxy says so, not the findings)."""
        return self.action is Action.REJECT and self.override_reason == ""


def decide(report: Report, team: TeamFile, override_reason: str | None = None) -> Decision:
    """Turn a check report into an action according to the team's mode and options (SPEC section 2, "decide").

    `override_reason` is the X-Oops-Override header's value: None when absent, "" when present but blank.
    """
    findings = report.findings
    blocking = report.blocking
    if not blocking:
        return Decision(Action.DELIVER, findings, "clean" if not findings else "warnings only", team.name, report)
    only_same_day = all(f.rule == SAME_DAY_RULE for f in blocking)
    if only_same_day and report.classification.follow_up and team.same_day == "defer":
        enforced = Action.DEFER
        reason = "same-day solution follow-up deferred to the next working day"
    else:
        enforced = Action.REJECT if team.on_block == "reject" else Action.HOLD
        reason = "blocking findings: " + ", ".join(dict.fromkeys(f.rule for f in blocking))
    if team.mode == "audit":
        return Decision(Action.DELIVER, findings, f"audit mode ({reason})", team.name, report, would_have=enforced)
    if override_reason is not None and enforced is not Action.DEFER and team.allow_override:
        if not override_reason.strip():
            # The header is there but says nothing: refuse, so the sender learns the reason is required.
            return Decision(Action.REJECT, findings, OVERRIDE_WITHOUT_REASON, team.name, report,
                            would_have=enforced, override_reason="")
        return Decision(Action.DELIVER, findings, "released by sender override", team.name, report,
                        would_have=enforced, override_reason=override_reason)
    return Decision(enforced, findings, reason, team.name, report)


def prefilter(raw: bytes, config: Config, team: TeamFile) -> Decision | FunnelResult:
    """The cheap step alone: DELIVER for certainly-ordinary mail, else the funnel's result for the full check.

    The proxy runs this inline on the event loop and sends only candidates, with what the funnel
    found, to a worker thread (evaluate's `prefiltered`).
    """
    result = funnel(raw, config.classifier_settings())
    if result.candidate:
        return result
    return Decision(Action.DELIVER, (), "not an oops", team.name)


def evaluate(
    raw: bytes,
    config: Config,
    checks: list[Check],
    team: TeamFile,
    envelope_recipients: tuple[str, ...] | None = None,
    override_reason: str | None = None,
    thread_first_notice: datetime | None = None,
    prefiltered: FunnelResult | None = None,
) -> Decision:
    """Cheap pre-filter, then the full parse/classify/check/decide for candidates only.

    `prefiltered`: the funnel's result when the caller already ran prefilter() on these bytes.
    """
    if prefiltered is None:
        outcome = prefilter(raw, config, team)
        if isinstance(outcome, Decision):
            return outcome
        prefiltered = outcome
    settings = config.classifier_settings()
    report = check_message(raw, checks, settings, team.context(), envelope_recipients, thread_first_notice,
                           prefiltered)
    return decide(report, team, override_reason)


def has_blocking(findings: tuple[Finding, ...]) -> bool:
    return any(f.severity is Severity.BLOCK for f in findings)
