"""Seeded digest fixtures, and a script that writes a seeded digest's HTML to a file for a visual check.

Usage: python tests/render_digest.py OUT.html [--empty]
"""
from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from proxy.digest import DigestData, build_digest_data, parse_week, render_parts  # noqa: E402
from proxy.events import Event  # noqa: E402

TEAM = "platform"
WEEK = "2026-W46"
ZONE = ZoneInfo("Europe/Berlin")
ROSTER = ("Dana Whitfield", "Marcus Ortega")
SCRIPT_REASON = "customer needs the correction today <script>alert(1)</script>"
NAMED_REASON = "approved by dana@platform.example.com and Marcus after a review"


def local_time(week: str, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment in the team's time zone (day 0 = Monday of `week`), returned in UTC as the store keeps it."""
    monday = parse_week(week)
    moment = datetime(monday.year, monday.month, monday.day, hour, minute, second, tzinfo=ZONE) + timedelta(days=day)
    # Re-attach the zone after the day shift so the wall-clock time is kept across a DST change.
    moment = moment.replace(tzinfo=ZONE)
    return moment.astimezone(timezone.utc)


def _spread(week: str, index: int) -> datetime:
    # Working hours Monday to Friday, a few minutes apart, so events sort in a stable order.
    return local_time(week, index % 5, 9 + index % 8, (index * 7) % 60)


def seeded_week(team: str = TEAM, week: str = WEEK) -> list[Event]:
    """The exact week the tests assert on: 53 events.

    40 delivered (3 with speculation, 1 with no-update-time as warnings), 5 held, 3 fixed (600/1200/3600 s,
    carrying the rules of the hold they fixed, which must not be counted again), 2 overridden with reasons,
    1 deferred (same-day-solution), 2 audit. The first delivery is at Monday 00:00 local, the week's edge.
    """
    events: list[Event] = [Event(local_time(week, 0, 0, 0), team, "delivered")]
    events += [Event(_spread(week, i), team, "delivered") for i in range(1, 36)]
    events += [Event(_spread(week, 36 + i), team, "delivered", ("speculation",), "broadcast", True) for i in range(3)]
    events.append(Event(_spread(week, 39), team, "delivered", ("no-update-time",), "broadcast", True))
    held_rules = [("blame-names", "non-apology"), ("blame-names",), ("blame-names", "speculation"),
                  ("non-apology",), ("same-day-solution",)]
    events += [Event(_spread(week, 40 + i), team, "held", rules, "broadcast", True) for i, rules in enumerate(held_rules)]
    events += [Event(_spread(week, 45 + i), team, "fixed", ("blame-names",), "broadcast", True, time_to_fix_seconds=ttf)
               for i, ttf in enumerate((600.0, 3600.0, 1200.0))]
    events.append(Event(_spread(week, 48), team, "overridden", ("blame-names",), "broadcast", True, SCRIPT_REASON))
    events.append(Event(_spread(week, 49), team, "overridden", ("deflection",), "individual", True, NAMED_REASON))
    events.append(Event(_spread(week, 50), team, "deferred", ("same-day-solution",), "broadcast", True))
    events.append(Event(_spread(week, 51), team, "audit", ("non-apology",), "individual", True))
    events.append(Event(_spread(week, 52), team, "audit", ("speculation",), "broadcast", True))
    return sorted(events, key=lambda event: event.time)


def seeded_previous_weeks(team: str = TEAM) -> dict[str, list[Event]]:
    """W42: 30 checked / 2 held; W43: nothing; W44: 45 / 6; W45: 38 / 4 (one refused in the SMTP reply).

    W45's last event is at Sunday 23:59:59 local time, one second before the digest week starts.
    """
    def week_of(week: str, checked: int, held: int, rejected: int = 0) -> list[Event]:
        stopped = [Event(_spread(week, i), team, "held", ("blame-names",), "broadcast", True) for i in range(held - rejected)]
        stopped += [Event(_spread(week, held + i), team, "rejected", ("non-apology",), "individual", True)
                    for i in range(rejected)]
        clean = [Event(_spread(week, held + i), team, "delivered") for i in range(checked - held)]
        return stopped + clean

    w45 = week_of("2026-W45", 37, 4, rejected=1)
    w45.append(Event(local_time("2026-W45", 6, 23, 59, 59), team, "delivered"))
    return {"2026-W42": week_of("2026-W42", 30, 2), "2026-W44": week_of("2026-W44", 45, 6), "2026-W45": w45}


def seeded_digest() -> DigestData:
    return build_digest_data(seeded_week(), seeded_previous_weeks(), TEAM, WEEK, redact_names=ROSTER)


def write_preview(path: Path, empty: bool = False) -> Path:
    data = build_digest_data([], {}, TEAM, "2026-W47") if empty else seeded_digest()
    _, html = render_parts(data)
    path.write_text(html, encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    print(write_preview(Path(sys.argv[1]), empty="--empty" in sys.argv[2:]))
