"""Time expressions resolved against a fixed reference: Monday 2026-11-16 10:00 in Europe/Berlin."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from checks.dates import (
    add_working_days,
    find_time_expressions,
    format_day,
    local_date,
    resolve,
    working_days_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
REFERENCE = datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)  # a Monday


def at(day: int, hour: int = 17, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


RESOLVES = [
    ("in about two hours", datetime(2026, 11, 16, 12, 0, tzinfo=BERLIN)),
    ("in roughly ten days", datetime(2026, 11, 26, 10, 0, tzinfo=BERLIN)),
    ("by 30/11", datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN)),
    ("by 11/30/2026", datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN)),
    ("on 24/11/26 at 10:00", datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)),
    ("by Thursday noon", at(19, 12)),
    ("Thursday", at(19)),
    ("on thursday", at(19)),
    ("Thu 19 Nov at 9am", at(19, 9)),
    ("tomorrow", at(17)),
    ("tomorrow morning", at(17, 9)),
    ("tomorrow afternoon", at(17, 14)),
    ("tomorrow EOD", at(17, 17)),
    ("day after tomorrow", at(18)),
    ("end of day", at(16, 17)),
    ("EOD", at(16, 17)),
    ("by EOD Friday", at(20, 17)),
    ("close of business Thursday", at(19, 17)),
    ("within two days", at(18, 10)),
    ("within 48h", at(18, 10)),
    ("in a day or two", at(18, 10)),
    ("in 2 hours", at(16, 12)),
    ("in three weeks", at(7, 10, month=12)),
    ("in 10 days", at(26, 10)),
    ("two days from now", at(18, 10)),
    ("within two working days", at(18, 10)),
    ("within the hour", at(16, 11)),
    ("next week", at(23, 9)),
    ("early next week", at(23, 9)),
    ("later this week", at(20, 17)),
    ("end of the week", at(20, 17)),
    ("the week after next", at(30, 9)),
    ("next month", at(1, 9, month=12)),
    ("end of the month", at(30, 17)),
    ("on 24 November", at(24)),
    ("the 24th of November", at(24)),
    ("Nov 24", at(24)),
    ("November 24th, 2026", at(24)),
    ("2026-11-24", at(24)),
    ("2026-11-24T15:00", at(24, 15)),
    ("24.11.2026", at(24)),
    ("5 January", at(5, month=1, year=2027)),
    ("the 24th", at(24)),
    ("at 15:00", at(16, 15)),
    ("3pm", at(16, 15)),
    ("3 p.m. tomorrow", at(17, 15)),
    ("by noon", at(16, 12)),
    ("noon on 24 November", at(24, 12)),
    ("at 9:00", at(17, 9)),  # already past at 10:00, so tomorrow's
    ("tonight", at(16, 20)),
    ("this afternoon", at(16, 14)),
    ("Monday 15:00", at(16, 15)),  # later the same day
    ("Monday", at(23)),  # a weekday without a time is the next one
    ("next Monday", at(23)),
    ("Sunday", at(22)),
    ("at 15:00 CET", at(16, 15)),
    ("at 14:00 UTC", at(16, 15)),
    ("10:30 PST", at(16, 19, 30)),
    ("next update: 15:00 CET tomorrow", at(17, 15)),
    # longer horizons: fortnights, months named alone, quarters and years
    ("in a fortnight", at(30, 10)),
    ("within a fortnight", at(30, 10)),
    ("in December", at(1, 9, month=12)),
    ("in mid-December", at(15, 9, month=12)),
    ("late December", at(31, 17, month=12)),
    ("by the end of March", at(31, 17, month=3, year=2027)),
    ("early January", at(1, 9, month=1, year=2027)),
    ("in November", at(16, 9)),  # the current month: its earliest moment still ahead
    ("after the holidays on 4 January", at(4, month=1, year=2027)),
    ("end of the quarter", at(31, 17, month=12)),
    ("next quarter", at(1, 9, month=1, year=2027)),
    ("by the end of the year", at(31, 17, month=12)),
]


@pytest.mark.parametrize(("expression", "expected"), RESOLVES, ids=[e for e, _ in RESOLVES])
def test_resolves_against_monday_morning_in_berlin(expression: str, expected: datetime) -> None:
    assert resolve(expression, REFERENCE, "Europe/Berlin") == expected


NOT_TIMES = [
    "Good morning team",
    "a busy week",
    "version 1.2.3",
    "We may 3",
    "in 2026 we moved offices",
    "12:30:45",
    "I am sorry",
    "The job sat idle",
    "We need the sun to shine",
    "May I ask for a review?",  # a month only counts after a word that places something in time
    "March on with the plan",
    "The December release notes",
]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_ordinary_words_are_not_times(text: str) -> None:
    assert resolve(text, REFERENCE, "Europe/Berlin") is None


def test_spans_cover_only_the_time_words() -> None:
    text = "We will send an update by Thursday noon and the fix on Friday."
    found = find_time_expressions(text, REFERENCE, "Europe/Berlin")
    assert [text[start:end] for start, end, _ in found] == ["Thursday noon", "Friday"]
    assert [when for _, _, when in found] == [at(19, 12), at(20)]


def test_result_is_in_the_team_timezone() -> None:
    when = resolve("tomorrow at 09:00", REFERENCE, "America/New_York")
    assert when is not None
    assert when.tzinfo == ZoneInfo("America/New_York")
    # 10:00 Berlin is 04:00 in New York on the same Monday: "tomorrow" is Tuesday there too.
    assert (when.year, when.month, when.day, when.hour) == (2026, 11, 17, 9)


def test_reference_late_in_utc_is_already_the_next_day_in_berlin() -> None:
    late_monday_utc = datetime(2026, 11, 16, 23, 30, tzinfo=timezone.utc)  # 00:30 Tuesday in Berlin
    assert resolve("tomorrow", late_monday_utc, "Europe/Berlin") == at(18)
    assert resolve("tomorrow", late_monday_utc, "UTC") == datetime(2026, 11, 17, 17, 0, tzinfo=ZoneInfo("UTC"))


def test_naive_reference_is_wall_time_in_the_team_zone() -> None:
    assert resolve("Thursday noon", datetime(2026, 11, 16, 10, 0), "Europe/Berlin") == at(19, 12)


def test_unknown_timezone_falls_back_to_utc() -> None:
    when = resolve("tomorrow", REFERENCE, "Mars/Olympus_Mons")
    assert when is not None and when.utcoffset() == timezone.utc.utcoffset(None)


def test_daylight_saving_switch_is_respected() -> None:
    summer = datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN)  # Friday before clocks go forward
    when = resolve("Monday 09:00", summer, "Europe/Berlin")
    assert when == datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)
    assert when is not None and when.utcoffset() is not None and when.utcoffset().total_seconds() == 7200


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 11, 16), date(2026, 11, 18), 2),  # Monday -> Wednesday
        (date(2026, 11, 16), date(2026, 11, 19), 3),
        (date(2026, 11, 20), date(2026, 11, 24), 2),  # Friday -> Tuesday skips the weekend
        (date(2026, 11, 21), date(2026, 11, 24), 2),  # Saturday -> Tuesday
        (date(2026, 11, 16), date(2026, 11, 16), 0),
        (date(2026, 11, 16), date(2026, 11, 10), 0),
        (date(2026, 11, 16), date(2026, 12, 7), 15),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


def test_working_day_arithmetic_and_formatting() -> None:
    assert add_working_days(date(2026, 11, 20), 2) == date(2026, 11, 24)
    assert add_working_days(date(2026, 11, 16), 1) == date(2026, 11, 17)
    assert format_day(date(2026, 11, 18)) == "Wednesday 18 November"
    assert local_date(datetime(2026, 11, 16, 23, 30, tzinfo=timezone.utc), "Europe/Berlin") == date(2026, 11, 17)


def test_a_megabyte_of_digits_and_weekdays_finishes_quickly() -> None:
    import time

    text = ("Monday 12:30 in 3 days 24.11. Thursday noon " * 30_000)[:1_000_000]
    started = time.perf_counter()
    find_time_expressions(text, REFERENCE, "Europe/Berlin")
    assert time.perf_counter() - started < 2.0
