"""`oopsguard check`: lint .eml files (or standard input) without sending, in text or JSON (SPEC section 3)."""
from __future__ import annotations

import argparse
import io
import json
import sys
import unicodedata
from dataclasses import dataclass
from typing import TextIO

from checks.engine import check_message
from checks.message import parse_message
from checks.model import Check, Finding
from checks.registry import default_registry
from proxy.cli import EXIT_HELD, EXIT_OK, EXIT_USAGE, load_or_exit
from proxy.config import Config
from proxy.pipeline import OVERRIDE_HEADER, Action, Decision, decide
from proxy.rulecheck import unknown_rule_problems

STDIN_NAME = "-"
# Every verdict other than deliver means the message would not go out as written.
NOT_DELIVERED = frozenset({Action.HOLD, Action.REJECT, Action.DEFER})


class UsageError(Exception):
    """A problem the user must fix before anything can be checked; each reason is printed as one line, exit 2."""

    def __init__(self, *reasons: str) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class CheckedMessage:
    """One input and the decision the proxy would take on it."""

    file: str
    decision: Decision
    oops: bool
    audience: str
    text: str


def _fail(*reasons: str) -> int:
    # One line per reason, no traceback: the add-on in a mail client shows these lines to the sender as they are.
    for reason in reasons:
        print(f"oopsguard: {reason}", file=sys.stderr)
    return EXIT_USAGE


def _read_inputs(files: list[str]) -> list[tuple[str, bytes]]:
    """Every input's bytes, read up front so an unreadable file stops the run before any verdict is printed."""
    inputs: list[tuple[str, bytes]] = []
    stdin_used = False
    for name in files:
        if name == STDIN_NAME:
            if stdin_used:
                raise UsageError("standard input ('-') can be given only once")
            stdin_used = True
            inputs.append((name, sys.stdin.buffer.read()))
            continue
        try:
            with open(name, "rb") as handle:
                inputs.append((name, handle.read()))
        except OSError as error:
            raise UsageError(f"cannot read {name}: {error.strerror or error}") from None
    return inputs


def _load_checks(config: Config) -> list[Check]:
    """The registered checks, after making sure every [rules.<id>] in the team files names one of them."""
    try:
        registry = default_registry()
    except Exception as error:  # a broken third-party plugin must not show the sender a traceback
        raise UsageError(f"cannot load checks: {type(error).__name__}: {error}") from None
    problems = unknown_rule_problems(config, registry)
    if problems:
        raise UsageError(*(f"config error: {problem}" for problem in problems))
    return list(registry)


def check_one(name: str, raw: bytes, config: Config, checks: list[Check], team_name: str | None) -> CheckedMessage:
    """Parse, classify, check and decide one message as the proxy would (From picks the team, To+Cc+Bcc the audience)."""
    parsed = parse_message(raw)
    if team_name is not None:
        team = config.teams[team_name]
    else:
        team = config.team_for(parsed.sender.addr if parsed.sender else None)
    # envelope_recipients=None: without an SMTP envelope the audience comes from To+Cc+Bcc (SPEC section 2).
    report = check_message(raw, checks, config.classifier_settings(), team.context(), envelope_recipients=None)
    # A sender override header releases held mail in the proxy, so the lint verdict honours it too.
    override = report.parsed.header(OVERRIDE_HEADER).strip() or None
    decision = decide(report, team, override)
    return CheckedMessage(
        file=name,
        decision=decision,
        oops=report.classification.is_oops,
        audience=report.classification.audience.value,
        text=report.parsed.text,
    )


def to_json(result: CheckedMessage) -> str:
    """One JSON object on one line (SPEC section 3), plus the checked text so a client can place line/column."""
    decision = result.decision
    return json.dumps(
        {
            "file": result.file,
            "team": decision.team,
            "oops": result.oops,
            "audience": result.audience,
            "verdict": decision.action.value,
            "would_have": decision.would_have.value if decision.would_have else None,
            "reason": decision.reason,
            "findings": [finding.to_json() for finding in decision.findings],
            "text": result.text,
        }
    )


def _char_width(char: str) -> int:
    """Terminal cells a character takes, so carets stay under the excerpt after CJK text or combining marks."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _display(text: str) -> str:
    # Tabs and other control characters would shift the caret line differently in every terminal.
    return "".join(" " if (char == "\t" or unicodedata.category(char) == "Cc") else char for char in text)


def caret_lines(text: str, finding: Finding) -> tuple[str, str]:
    """The finding's line of checked text and a caret line under the part of the excerpt on that line."""
    lines = text.split("\n")
    line_number = finding.span.line
    line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
    start = max(finding.span.column - 1, 0)
    line_start = finding.span.start - start
    end = min(max(finding.span.end - line_start, start + 1), max(len(line), start + 1))
    shown = _display(line.rstrip("\r"))
    lead = sum(_char_width(char) for char in shown[:start])
    marked = max(sum(_char_width(char) for char in shown[start:end]), 1)
    return shown, " " * lead + "^" * marked


def _summary(result: CheckedMessage) -> str:
    decision = result.decision
    count = len(decision.findings)
    if count:
        what = f"{count} finding" + ("" if count == 1 else "s")
    elif not result.oops:
        what = "not an oops, not checked"
    else:
        what = "no findings"
    if decision.would_have is not None and decision.override_reason is None:
        what += f"; audit mode, would {decision.would_have.value}"
    elif decision.override_reason is not None:
        what += f"; released by {OVERRIDE_HEADER}"
    return f"{result.file}: {decision.action.value} \u2014 {what} (team {decision.team}, {result.audience})"


def render_text(result: CheckedMessage, out: TextIO) -> None:
    """The human report: a header line, then each finding in place with its why and fix."""
    print(_summary(result), file=out)
    for finding in result.decision.findings:
        line, carets = caret_lines(result.text, finding)
        print(f"  line {finding.span.line}, col {finding.span.column}  [{finding.severity}] {finding.rule}", file=out)
        print(f"    {line}", file=out)
        print(f"    {carets}", file=out)
        print(f"  why: {finding.message}", file=out)
        print(f"  fix: {finding.suggestion}", file=out)


def _safe_stdout() -> TextIO:
    # Message text can hold any character; a non-UTF-8 terminal must get a replacement mark, not a crash.
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper):
        stdout.reconfigure(errors="replace")
    return stdout


def check_command(args: argparse.Namespace) -> int:
    """Run `oopsguard check`; 0 nothing would be held, 1 something would be held, 2 usage/config/input problem."""
    config = load_or_exit(args.config)
    try:
        if args.team is not None and args.team not in config.teams:
            raise UsageError(f"unknown team {args.team!r} (known: {', '.join(sorted(config.teams))})")
        checks = _load_checks(config)
        inputs = _read_inputs(list(args.files))
    except UsageError as error:
        return _fail(*error.reasons)
    out = _safe_stdout()
    held = 0
    for name, raw in inputs:
        try:
            result = check_one(name, raw, config, checks, args.team)
        except Exception as error:  # a defect in a rule: report it in one line rather than a traceback
            out.flush()
            return _fail(f"cannot check {name}: {type(error).__name__}: {error}")
        held += result.decision.action in NOT_DELIVERED
        if args.format == "json":
            print(to_json(result), file=out)
        else:
            render_text(result, out)
    if args.format != "json" and len(inputs) > 1:
        print(f"{len(inputs)} messages checked, {held} would be held", file=out)
    return EXIT_HELD if held else EXIT_OK
