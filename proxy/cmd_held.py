"""`oopsguard held`: list, show, release and drop held and deferred messages (SPEC section 3)."""
from __future__ import annotations

import argparse
import sys
import unicodedata
from datetime import datetime, timezone

from proxy.cli import EXIT_OK, EXIT_USAGE, load_or_exit
from proxy.events import VERDICT_OVERRIDDEN, Event
from proxy.store import OPEN_STATUSES, HeldMessage, SqliteStore

EXIT_NOT_FOUND = 1
MAX_REASON = 500


def _printable(text: object, limit: int = 200) -> str:
    # Subjects, addresses and excerpts come from senders: never let their control characters (terminal
    # escape sequences included) reach the administrator's terminal.
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") else ch for ch in str(text))
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "\u2026"


def format_age(created: datetime, now: datetime) -> str:
    seconds = max((now - created).total_seconds(), 0)
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def _rules(held: HeldMessage) -> str:
    return ",".join(dict.fromkeys(str(f.get("rule", "")) for f in held.findings if f.get("rule"))) or "-"


def _list(store: SqliteStore, include_closed: bool, now: datetime) -> int:
    rows = store.list_held(None if include_closed else OPEN_STATUSES)
    if not rows:
        print("no held messages" if not include_closed else "the store holds no messages")
        return EXIT_OK
    table = [("ID", "STATUS", "TEAM", "AGE", "RULES")]
    table += [(_printable(h.id, 40), h.status, _printable(h.team, 30), format_age(h.created, now), _rules(h))
              for h in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return EXIT_OK


def _show(held: HeldMessage, now: datetime) -> int:
    print(f"id:         {_printable(held.id)}")
    print(f"status:     {held.status}" + (f" ({_printable(held.close_reason)})" if held.close_reason else ""))
    print(f"team:       {_printable(held.team)}")
    print(f"received:   {held.created:%Y-%m-%d %H:%M:%S} UTC ({format_age(held.created, now)} ago)")
    if held.due is not None:
        print(f"due:        {held.due:%Y-%m-%d %H:%M:%S} UTC")
    if held.closed is not None:
        print(f"closed:     {held.closed:%Y-%m-%d %H:%M:%S} UTC")
    print(f"mail from:  {_printable(held.mail_from) or '<>'}")
    print(f"rcpt to:    {', '.join(_printable(r) for r in held.rcpt_tos)}")
    if held.mail_options:
        print(f"options:    {' '.join(_printable(o) for o in held.mail_options)}")
    print(f"subject:    {_printable(held.subject)}")
    print(f"audience:   {_printable(held.audience) or '-'}")
    print(f"size:       {len(held.raw)} bytes")
    print(f"findings:   {len(held.findings)}")
    for finding in held.findings:
        print()
        print(f"  line {finding.get('line', '?')}, col {finding.get('column', '?')}"
              f"  [{_printable(finding.get('severity', ''))}] {_printable(finding.get('rule', ''))}")
        print(f"    \"{_printable(finding.get('excerpt', ''))}\"")
        print(f"  why: {_printable(finding.get('message', ''), 1000)}")
        print(f"  fix: {_printable(finding.get('suggestion', ''), 1000)}")
    return EXIT_OK


def _release(store: SqliteStore, held: HeldMessage, reason: str, now: datetime) -> int:
    event = Event(
        time=now,
        team=held.team,
        verdict=VERDICT_OVERRIDDEN,
        rules=tuple(dict.fromkeys(str(f.get("rule", "")) for f in held.findings if f.get("rule"))),
        audience=held.audience,
        oops=True,
        override_reason=reason,
    )
    outbox_id = store.release_held(held.id, f"admin: {reason}", now, event=event)
    if outbox_id is None:
        # Lost a race with a reply release, a fix or the expiry sweep between the lookup and now.
        return _not_open(store.get_held(held.id) or held)
    count = len(held.rcpt_tos)
    print(f"released {held.id}: queued for {count} recipient{'s' if count != 1 else ''}"
          f" (outbox item {outbox_id}). The running proxy relays it from its outbox;"
          f" if `oopsguard serve` is not running, it goes out when the proxy starts.")
    return EXIT_OK


def _not_open(held: HeldMessage) -> int:
    print(f"oopsguard: {held.id} is no longer waiting (status: {held.status})", file=sys.stderr)
    return EXIT_NOT_FOUND


def held_command(args: argparse.Namespace) -> int:
    """Run `oopsguard held ACTION`: 0 done, 1 unknown or no longer waiting id, 2 usage or configuration problem."""
    action: str = args.held_command
    reason = ""
    if action == "release":
        reason = " ".join(str(args.reason or "").split())
        if not reason:
            print("oopsguard: a release needs a reason (--reason TEXT); it is recorded for the team", file=sys.stderr)
            return EXIT_USAGE
        if len(reason) > MAX_REASON:
            print(f"oopsguard: the reason is too long ({len(reason)} characters, at most {MAX_REASON})",
                  file=sys.stderr)
            return EXIT_USAGE
    config = load_or_exit(args.config)
    now = datetime.now(timezone.utc)
    try:
        store = SqliteStore(config.main.store.path)
    except Exception as error:  # sqlite3 errors and OSError alike: one line, never a traceback
        print(f"oopsguard: cannot open the store {config.main.store.path}: {error}", file=sys.stderr)
        return EXIT_USAGE
    with store:
        if action == "list":
            return _list(store, bool(getattr(args, "all", False)), now)
        held = store.get_held(args.id)
        if held is None:
            print(f"oopsguard: no held message with id {_printable(args.id, 80)}", file=sys.stderr)
            return EXIT_NOT_FOUND
        if action == "show":
            return _show(held, now)
        if held.status not in OPEN_STATUSES:
            return _not_open(held)
        if action == "release":
            return _release(store, held, reason, now)
        if action == "drop":
            if not store.close_held(held.id, "dropped", "dropped by an administrator", now):
                return _not_open(store.get_held(held.id) or held)
            print(f"dropped {held.id}: it will not be sent")
            return EXIT_OK
    print(f"oopsguard: unknown held action {action!r}", file=sys.stderr)
    return EXIT_USAGE
