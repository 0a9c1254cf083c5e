"""Resolves time expressions in mail text ("by Thursday noon", "within two days") to datetimes in a team's timezone."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Iterable, Iterator, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex

from checks.text import span_timeout

# Where a deadline names a day but no hour, people mean "by the end of that working day".
DEFAULT_DUE_TIME = time(17, 0)
# A period that starts somewhere ("next week") is read as its earliest working morning, so rules built on it err
# towards not flagging.
PERIOD_START_TIME = time(9, 0)

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "twenty-four": 24, "twenty four": 24, "forty-eight": 48, "forty eight": 48,
    "a couple of": 2, "couple of": 2, "a couple": 2, "a few": 3, "few": 3, "several": 3,
}
# Zone abbreviations people type after a clock time. The seasonal ones are fixed offsets by definition;
# the bare "ET"/"PT"/"CT" follow daylight saving, so they map to a real zone.
ZONE_ABBREVIATIONS: dict[str, tzinfo] = {
    "UTC": timezone.utc, "GMT": timezone.utc, "Z": timezone.utc,
    "CET": timezone(timedelta(hours=1)), "CEST": timezone(timedelta(hours=2)),
    "BST": timezone(timedelta(hours=1)), "EET": timezone(timedelta(hours=2)), "EEST": timezone(timedelta(hours=3)),
    "EST": timezone(timedelta(hours=-5)), "EDT": timezone(timedelta(hours=-4)),
    "CST": timezone(timedelta(hours=-6)), "CDT": timezone(timedelta(hours=-5)),
    "MST": timezone(timedelta(hours=-7)), "MDT": timezone(timedelta(hours=-6)),
    "PST": timezone(timedelta(hours=-8)), "PDT": timezone(timedelta(hours=-7)),
    "ET": ZoneInfo("America/New_York"), "CT": ZoneInfo("America/Chicago"), "PT": ZoneInfo("America/Los_Angeles"),
}
NAMED_TIMES: dict[str, time] = {
    "noon": time(12, 0), "midday": time(12, 0), "lunchtime": time(12, 0), "lunch time": time(12, 0),
    "midnight": time(23, 59), "morning": time(9, 0), "afternoon": time(14, 0), "evening": time(18, 0),
    "night": time(20, 0), "tonight": time(20, 0),
}

# Abbreviations that are also ordinary English words ("sat", "sun", "wed", "may", "mar") only count when
# capitalised; every other name is matched case-insensitively.
_WEEKDAY = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|(?-i:Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun|MON|TUE|WED|THU|FRI|SAT|SUN)(?:\.(?=\s\d))?)"
)
_MONTH = (
    r"(?:january|february|april|june|july|august|september|october|november|december"
    r"|(?:jan|feb|apr|jun|jul|aug|sept?|oct|nov|dec|(?-i:Mar))(?:\.(?=\s\d))?|(?-i:March|May|MARCH|MAY))"
)
_NUMBER = (
    r"(?:\d{1,3}|twenty[- ]four|forty[- ]eight|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|fifteen|twenty|thirty|a\s+couple(?:\s+of)?|couple\s+of|a\s+few|few|several|an|a)"
)
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|h|(?:working|business)\s+days?|days?|weeks?|fortnights?|months?|quarters?)"
_ZONE = r"(?-i:CEST|CET|UTC|GMT|BST|EEST|EET|EST|EDT|CST|CDT|MST|MDT|PST|PDT|ET|CT|PT|Z)"

# The "atoms" of a time expression, by kind, in the order they are tried; adjacent atoms ("Thursday" + "noon")
# are merged afterwards. Every quantifier is bounded or applies to a disjoint character class, so matching
# stays linear in the input.
_ATOM_PARTS: tuple[tuple[str, str], ...] = (
    ("iso", rf"""
        (?P<iso>(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}}))(?:T(?P<iso_h>\d{{2}}):(?P<iso_min>\d{{2}}))?
    """),
    ("dm", rf"""
        (?:the\s{{1,3}})?(?P<dm_d>\d{{1,2}})(?:st|nd|rd|th)?\s{{1,3}}(?:of\s{{1,3}})?(?P<dm_m>{_MONTH})
            (?:,?\s{{1,3}}(?P<dm_y>\d{{4}})(?![\d:]))?
    """),
    ("md", rf"""
        (?P<md_m>{_MONTH})\s{{1,3}}(?P<md_d>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?!\s{{0,3}}(?:am|pm|a\.m|p\.m)\b)
            (?:,?\s{{1,3}}(?P<md_y>\d{{4}})(?![\d:]))?
    """),
    ("mon", rf"""
        (?:(?P<mon_mod>(?:the\s{{1,3}})?(?:end|start|beginning|middle)\s{{1,3}}of|early|mid|late)(?:\s{{1,3}}|-))?
            (?P<mon>{_MONTH})(?:,?\s{{1,3}}(?P<mon_y>\d{{4}}))?(?!\s{{0,3}}\d)
    """),
    ("dot", rf"""
        (?P<dot_d>\d{{1,2}})\.(?P<dot_m>\d{{1,2}})\.(?P<dot_y>\d{{4}}(?![\d.]))?
    """),
    ("slash", rf"""
        (?P<sl_a>\d{{1,2}})/(?P<sl_b>\d{{1,2}})(?:/(?P<sl_y>\d{{4}}|\d{{2}}))?(?![\d/])
    """),
    ("ord", rf"""
        the\s{{1,3}}(?P<ord_d>\d{{1,2}})(?:st|nd|rd|th)
    """),
    ("wd", rf"""
        (?:(?P<wd_mod>next|this|coming|this\s{{1,3}}coming)\s{{1,3}})?(?P<wd>{_WEEKDAY})
    """),
    ("rel", rf"""
        (?P<rel>(?:the\s{{1,3}})?day\s{{1,3}}after\s{{1,3}}tomorrow|tomorrow|tmrw|today|tonight|later\s{{1,3}}today
            |this\s{{1,3}}(?:morning|afternoon|evening))
    """),
    ("per", rf"""
        (?P<per>(?P<per_mod>(?:the\s{{1,3}})?(?:end|start|beginning|middle)\s{{1,3}}of|early|late|later|mid)?
            \s{{0,3}}(?:the\s{{1,3}})?(?P<per_which>next|this|coming)?\s{{0,3}}(?P<per_unit>week|month|quarter|year)
            (?P<per_after>\s{{1,3}}after\s{{1,3}}next)?)
    """),
    ("dur", rf"""
        (?P<dur_pre>within|in|after|inside\s{{1,3}}of|(?:over|during)\s{{1,3}}the)\s{{1,3}}(?:the\s{{1,3}})?(?:next\s{{1,3}}|coming\s{{1,3}})?
            (?:(?:about|around|roughly|approximately|approx\.?|some|maybe|perhaps|another)\s{{1,3}})?
            (?:(?P<dur_day_or_two>an?\s{{1,3}}(?P<dur_single>hour|day|week)\s{{1,3}}or\s{{1,3}}two)
              |(?P<dur_the>(?<=within\s{{1,3}}the\s{{1,3}})(?:hour|day|week|fortnight))
              |(?P<dur_n>{_NUMBER})(?:\s{{0,3}}(?:or|to|-|–)\s{{0,3}}(?P<dur_hi>{_NUMBER}))?\s{{0,3}}(?P<dur_unit>{_UNIT}))
    """),
    ("later", rf"""
        (?P<later_n>{_NUMBER})\s{{0,3}}(?P<later_unit>{_UNIT})\s{{1,3}}from\s{{1,3}}now
    """),
    ("clock", rf"""
        (?P<clock>
            (?P<c_h>\d{{1,2}})(?::(?P<c_m>\d{{2}}))?\s{{0,2}}(?P<c_ampm>[ap]\.?m\.?)
          | (?P<c_h24>\d{{1,2}}):(?P<c_m24>\d{{2}})(?!:?\d)(?:\s{{0,2}}(?:h|hrs|uhr)\b)?
          | (?P<c_oc>\d{{1,2}}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s{{1,3}}o['’]clock
        )(?:\s{{0,2}}(?P<zone>{_ZONE}))?
    """),
    ("tod", rf"""
        (?P<tod>noon|midday|midnight|lunch\s?time|e\.?o\.?d\.?|c\.?o\.?b\.?|e\.?o\.?b\.?
            |close\s{{1,3}}of\s{{1,3}}(?:business|play)|end\s{{1,3}}of\s{{1,3}}(?:the\s{{1,3}})?(?:(?:business|working|work)\s{{1,3}})?day
            |(?P<weak>morning|afternoon|evening|night))
    """)
)
_ATOM_FLAGS = regex.IGNORECASE | regex.VERBOSE


def _atom_pattern(parts: tuple[tuple[str, str], ...]) -> regex.Pattern[str]:
    alternatives = "\n      |\n".join(source for _, source in parts)
    return regex.compile(r"(?<![\w:.])(?:" + "\n" + alternatives + "\n" + r")(?![\w])", _ATOM_FLAGS)


# All kinds in one alternation: what any word of a text could start.
_ATOM = _atom_pattern(_ATOM_PARTS)

# Trying the whole alternation costs a few microseconds at every position, so atoms are only tried where a word
# starts that can begin one, and only with the kinds that word can begin. A word that starts with a digit can
# begin these kinds:
_DIGIT_KINDS = frozenset({"iso", "dm", "dot", "slash", "later", "clock"})
# ... and these words (lower case) begin the kinds listed.
_NUMBER_WORDS_STARTING = (
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty"
)
_STARTING: dict[str, frozenset[str]] = {}
for _kind, _words in (
    ("dm", "the"),
    ("md", "january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec"),
    ("ord", "the"),
    ("wd", "next this coming monday tuesday wednesday thursday friday saturday sunday "
           "mon tue tues wed thu thur thurs fri sat sun"),
    ("rel", "the day tomorrow tmrw today tonight later this"),
    ("mon", "january february march april may june july august september october november december "
            "jan feb mar apr jun jul aug sep sept oct nov dec the end start beginning middle early mid late"),
    ("per", "the end start beginning middle early late later mid next this coming week month midweek midmonth "
            "earlyweek lateweek laterweek earlymonth latemonth latermonth nextweek thisweek comingweek nextmonth "
            "thismonth comingmonth"),
    ("dur", "within in after inside over during"),
    ("later", "a an couple few several " + _NUMBER_WORDS_STARTING),
    ("clock", _NUMBER_WORDS_STARTING),
    ("tod", "noon midday midnight lunch lunchtime e eo eod eob c co cob close end morning afternoon evening night"),
):
    for _word in _words.split():
        _STARTING[_word] = _STARTING.get(_word, frozenset()) | {_kind}
STARTING_WORDS: frozenset[str] = frozenset(_STARTING)
# A word as the atom lookbehind sees one: not after a word character, ":" or ".".
_WORD = regex.compile(r"(?<![\w:.])\w+")


@lru_cache(maxsize=64)
def _kinds_pattern(kinds: frozenset[str]) -> regex.Pattern[str]:
    """The atom alternation restricted to `kinds`, in the usual order."""
    return _atom_pattern(tuple(part for part in _ATOM_PARTS if part[0] in kinds))

# What may stand between two atoms that describe one moment ("Thursday at noon", "noon on 24 November").
_JOINER = regex.compile(r"[\s,]*(?:(?:at|on|by|around|about|from|before|the|of)[\s,]+){0,3}", regex.IGNORECASE)

_DATE_KINDS = frozenset({"iso", "dm", "md", "mon", "dot", "slash", "ord", "wd", "rel"})
# A month named on its own is a date only after a word that places something in time ("in December", "by March");
# "May I ask" or "March on" are not. A position inside it ("early December", "end of March") is enough by itself.
_BEFORE_MONTH = regex.compile(
    r"(?i)(?<!\w)(?:in|by|until|till|before|after|during|from|for|over|through|around|about|since|of|than)\s{1,3}(?:the\s{1,3})?$"
)
_TIME_KINDS = frozenset({"clock", "tod"})


class TimeExpression(NamedTuple):
    """A time expression found in text: character offsets and the moment it names, in the team's timezone."""

    start: int
    end: int
    when: datetime


@dataclass(frozen=True)
class _Atom:
    kind: str
    start: int
    end: int
    groups: regex.Match[str]  # indexed by group name; a group that did not take part gives None


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The zone for a team timezone name; an unknown name falls back to UTC rather than failing a check."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def localize(moment: datetime, tz: str) -> datetime:
    """`moment` as wall time in `tz`; a naive datetime is taken to be wall time there already."""
    zone_info = zone(tz)
    return moment.replace(tzinfo=zone_info) if moment.tzinfo is None else moment.astimezone(zone_info)


def local_date(moment: datetime, tz: str) -> date:
    """The calendar day `moment` falls on in `tz`."""
    return localize(moment, tz).date()


def add_working_days(day: date, count: int) -> date:
    """The date `count` working days (Monday to Friday) after `day`."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """How many working days lie after `start` up to and including `end` (0 when end is not later)."""
    if end <= start:
        return 0
    total_days = (end - start).days
    full_weeks, remainder = divmod(total_days, 7)
    count = full_weeks * 5
    for offset in range(1, remainder + 1):
        if (start + timedelta(days=offset)).weekday() < 5:
            count += 1
    return count


# calendar.day_name and month_name format a date with strftime on every lookup; the names are read once.
_DAY_NAMES: tuple[str, ...] = tuple(calendar.day_name)
_MONTH_NAMES: tuple[str, ...] = tuple(calendar.month_name)


def format_day(day: date) -> str:
    """A day as people write it in mail: "Wednesday 18 November"."""
    return f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month]}"


def _number(word: str | None) -> int | None:
    if word is None:
        return None
    cleaned = " ".join(word.lower().split())
    if cleaned.isdigit():
        return int(cleaned)
    return NUMBER_WORDS.get(cleaned)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_without_year(month: int, day: int, today: date) -> date | None:
    """A day-and-month with no year: this year, or next year when it lies well in the past (December -> January)."""
    candidate = _safe_date(today.year, month, day)
    if candidate is not None and (today - candidate).days > 60:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _atom_time(atom: _Atom) -> tuple[time, tzinfo | None] | None:
    """The clock time an atom names, with its explicit zone if one was written."""
    g = atom.groups
    if atom.kind == "clock":
        zone_info = ZONE_ABBREVIATIONS.get(g["zone"]) if g["zone"] else None
        if g["c_ampm"]:
            hour, minute = int(g["c_h"] or 0), int(g["c_m"] or 0)
            if not 1 <= hour <= 12 or minute > 59:
                return None
            hour = hour % 12 + (12 if g["c_ampm"].lower().startswith("p") else 0)
        elif g["c_h24"]:
            hour, minute = int(g["c_h24"]), int(g["c_m24"] or 0)
            if hour > 23 or minute > 59:
                return None
        else:
            hour = _number(g["c_oc"]) or 0
            minute = 0
            if not 1 <= hour <= 12:
                return None
        return time(hour, minute), zone_info
    if atom.kind == "tod":
        word = " ".join((g["tod"] or "").lower().replace(".", "").split())
        if word in NAMED_TIMES:
            return NAMED_TIMES[word], None
        return DEFAULT_DUE_TIME, None  # EOD, COB, close of business, end of (the working) day
    if atom.kind == "iso" and g["iso_h"]:
        hour, minute = int(g["iso_h"]), int(g["iso_min"] or 0)
        return (time(hour, minute), None) if hour <= 23 and minute <= 59 else None
    if atom.kind == "rel":
        word = " ".join((g["rel"] or "").lower().split())
        for key in ("morning", "afternoon", "evening"):
            if word.endswith(key):
                return NAMED_TIMES[key], None
        if word == "tonight":
            return NAMED_TIMES["tonight"], None
    return None


def _atom_date(atom: _Atom, now: datetime, clock: time | None) -> date | None:
    """The calendar day a date atom names, counted from `now` (wall time in the team zone)."""
    g, today = atom.groups, now.date()
    if atom.kind == "iso":
        return _safe_date(int(g["iso_y"] or 0), int(g["iso_m"] or 0), int(g["iso_d"] or 0))
    if atom.kind in ("dm", "md"):
        prefix = atom.kind + "_"
        month = MONTHS[(g[prefix + "m"] or "").lower().rstrip(".")]
        day_number = int(g[prefix + "d"] or 0)
        year = g[prefix + "y"]
        return _safe_date(int(year), month, day_number) if year else _date_without_year(month, day_number, today)
    if atom.kind == "dot":
        day_number, month = int(g["dot_d"] or 0), int(g["dot_m"] or 0)
        if not 1 <= month <= 12:
            return None
        year = g["dot_y"]
        return _safe_date(int(year), month, day_number) if year else _date_without_year(month, day_number, today)
    if atom.kind == "slash":
        # Day first, as the team's Europe-first defaults read it, unless that cannot be a date: 11/30.
        first, second = int(g["sl_a"] or 0), int(g["sl_b"] or 0)
        day_number, month = (second, first) if second > 12 >= first else (first, second)
        if not 1 <= month <= 12:
            return None
        year_text = g["sl_y"]
        if year_text:
            return _safe_date(int(year_text) + (2000 if len(year_text) == 2 else 0), month, day_number)
        return _date_without_year(month, day_number, today)
    if atom.kind == "ord":
        day_number = int(g["ord_d"] or 0)
        candidate = _safe_date(today.year, today.month, day_number)
        if candidate is not None and candidate >= today:
            return candidate
        following = _add_months(today.replace(day=1), 1)
        return _safe_date(following.year, following.month, day_number)
    if atom.kind == "wd":
        target = WEEKDAYS[(g["wd"] or "").lower().rstrip(".")]
        ahead = (target - today.weekday()) % 7
        if ahead == 0:
            # The same weekday as today only means today when a later hour today is named.
            same_day_later = clock is not None and clock > now.time() and not g["wd_mod"]
            ahead = 0 if same_day_later else 7
        return today + timedelta(days=ahead)
    if atom.kind == "rel":
        word = " ".join((g["rel"] or "").lower().split())
        if "day after" in word:
            return today + timedelta(days=2)
        if word.startswith("tom") or word == "tmrw":
            return today + timedelta(days=1)
        return today
    return None


def _period(atom: _Atom, now: datetime) -> datetime:
    """"next week", "end of the month" and friends, as one moment inside the period."""
    g, today = atom.groups, now.date()
    modifier = " ".join((g["per_mod"] or "").lower().split()).removeprefix("the ")
    which = (g["per_which"] or ("next" if g["per_after"] else "this")).lower()
    zone_info = now.tzinfo
    unit = (g["per_unit"] or "").lower()
    if unit in ("quarter", "year"):
        return _long_period(unit, which, modifier, bool(g["per_after"]), now)
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        if which in ("next", "coming"):
            monday += timedelta(days=7)
        if g["per_after"]:
            monday += timedelta(days=7)
        if modifier in ("end of", "late", "later"):
            friday = monday + timedelta(days=4)
            if friday < today:  # "end of the week" said at the weekend: the coming Friday
                friday += timedelta(days=7)
            return datetime.combine(friday, DEFAULT_DUE_TIME, zone_info)
        if modifier in ("middle of", "mid"):
            return datetime.combine(max(monday + timedelta(days=2), today), PERIOD_START_TIME, zone_info)
        if which == "this":
            return datetime.combine(max(monday + timedelta(days=4), today), DEFAULT_DUE_TIME, zone_info)
        return datetime.combine(monday, PERIOD_START_TIME, zone_info)
    first = today.replace(day=1)
    if which in ("next", "coming"):
        first = _add_months(first, 2 if g["per_after"] else 1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if modifier in ("end of", "late", "later"):
        return datetime.combine(last, DEFAULT_DUE_TIME, zone_info)
    if modifier in ("middle of", "mid"):
        return datetime.combine(max(first.replace(day=15), today), PERIOD_START_TIME, zone_info)
    if which == "this":
        return datetime.combine(last, DEFAULT_DUE_TIME, zone_info)
    return datetime.combine(first, PERIOD_START_TIME, zone_info)


def _long_period(unit: str, which: str, modifier: str, after_next: bool, now: datetime) -> datetime:
    """"end of the quarter", "next year": like a month, over three or twelve months."""
    today, zone_info = now.date(), now.tzinfo
    length = 3 if unit == "quarter" else 12
    first = date(today.year, 1 if length == 12 else (today.month - 1) // 3 * 3 + 1, 1)
    if which in ("next", "coming"):
        first = _add_months(first, length * (2 if after_next else 1))
    last = _add_months(first, length) - timedelta(days=1)
    if modifier in ("end of", "late", "later") or (which == "this" and not modifier):
        return datetime.combine(last, DEFAULT_DUE_TIME, zone_info)
    if modifier in ("middle of", "mid"):
        return datetime.combine(max(_add_months(first, length // 2), today), PERIOD_START_TIME, zone_info)
    return datetime.combine(max(first, today), PERIOD_START_TIME, zone_info)


def _month_alone(g: regex.Match[str], now: datetime) -> datetime:
    """"in December", "mid-January", "end of March": a moment in the next such month (this one if it is now)."""
    today, zone_info = now.date(), now.tzinfo
    month = MONTHS[(g["mon"] or "").lower().rstrip(".")]
    year = int(g["mon_y"]) if g["mon_y"] else today.year + (1 if month < today.month else 0)
    first = date(year, month, 1)
    modifier = " ".join((g["mon_mod"] or "").lower().split()).removeprefix("the ")
    if modifier in ("end of", "late"):
        day, clock = first.replace(day=calendar.monthrange(year, month)[1]), DEFAULT_DUE_TIME
    elif modifier in ("middle of", "mid"):
        day, clock = first.replace(day=15), PERIOD_START_TIME
    else:
        day, clock = first, PERIOD_START_TIME
    # The current month read from its start would lie in the past: its earliest moment still ahead is today.
    return datetime.combine(max(day, today), clock, zone_info)


def _duration(count: int, unit: str, now: datetime) -> datetime:
    unit = " ".join(unit.lower().split())
    if unit.startswith(("working", "business")):
        return datetime.combine(add_working_days(now.date(), count), now.timetz())
    if unit.startswith("min"):
        return now + timedelta(minutes=count)
    if unit.startswith("h"):
        return now + timedelta(hours=count)
    if unit.startswith("day"):
        return now + timedelta(days=count)
    if unit.startswith("week"):
        return now + timedelta(weeks=count)
    if unit.startswith("fortnight"):
        return now + timedelta(weeks=2 * count)
    months = count * 3 if unit.startswith("quarter") else count
    return datetime.combine(_add_months(now.date(), months), now.timetz())


def _resolve_group(atoms: list[_Atom], now: datetime) -> datetime | None:
    """One moment from a merged run of atoms (at most one date atom and one time atom, or a lone period/duration)."""
    first = atoms[0]
    if first.kind == "per":
        return _period(first, now)
    if first.kind == "dur":
        g = first.groups
        if g["dur_day_or_two"]:
            return _duration(2, g["dur_single"] or "day", now)
        if g["dur_the"]:
            return _duration(1, g["dur_the"], now)
        count = _number(g["dur_hi"]) or _number(g["dur_n"])
        return _duration(count, g["dur_unit"] or "day", now) if count else None
    if first.kind == "mon" and len(atoms) == 1:
        return _month_alone(first.groups, now)
    if first.kind == "later":
        count = _number(first.groups["later_n"])
        return _duration(count, first.groups["later_unit"] or "day", now) if count else None

    date_atoms = [a for a in atoms if a.kind in _DATE_KINDS]
    time_atoms = [a for a in atoms if a.kind in _TIME_KINDS or _atom_time(a) is not None]
    clock: tuple[time, tzinfo | None] | None = None
    for atom in time_atoms:
        clock = _atom_time(atom)
        if clock is not None:
            break
    # A weekday next to a calendar date ("Thu 19 Nov") is redundant: the calendar date wins.
    date_atoms.sort(key=lambda a: a.kind == "wd")
    day = _atom_date(date_atoms[0], now, clock[0] if clock else None) if date_atoms else None
    if date_atoms and day is None:
        return None
    if clock is None:
        return datetime.combine(day, DEFAULT_DUE_TIME, now.tzinfo) if day else None
    wall, explicit_zone = clock
    zone_info = explicit_zone or now.tzinfo
    if day is not None:
        return datetime.combine(day, wall, zone_info).astimezone(now.tzinfo)
    # A clock time with no day: today, or tomorrow once today's has passed.
    moment = datetime.combine(now.astimezone(zone_info).date(), wall, zone_info)
    if moment <= now:
        moment += timedelta(days=1)
    return moment.astimezone(now.tzinfo)


def word_starts(text: str) -> Iterator[tuple[int, str]]:
    """Every place an atom could start in `text`, with the word there."""
    return ((word.start(), word.group()) for word in _WORD.finditer(text, timeout=span_timeout(0, len(text))))


def _atoms(text: str, starts: Iterable[tuple[int, str]] | None = None) -> list[_Atom]:
    found: list[_Atom] = []
    taken_until = 0
    try:
        for start, first in word_starts(text) if starts is None else starts:
            if start < taken_until:
                continue
            kinds = _DIGIT_KINDS if first[0].isdigit() else _STARTING.get(first.lower())
            if kinds is None:
                continue
            # Every quantifier in an atom is bounded, so one attempt is cheap and needs no timer.
            match = _kinds_pattern(kinds).match(text, start)
            if match is None:
                continue
            kind = next(kind for kind, group in _KIND_GROUP.items() if kind in kinds and match.start(group) != -1)
            taken_until = match.end()
            if kind == "per" and not (match["per_mod"] or match["per_which"] or match["per_after"]):
                continue  # a bare "week" or "month" ("a busy week") names no moment
            if kind == "mon" and not match["mon_mod"] and not _BEFORE_MONTH.search(text, max(0, start - 20), start):
                continue  # bounded look-back of 20 characters: no timer needed
            found.append(_Atom(kind, match.start(), match.end(), match))
    except TimeoutError:
        # Text this long is not a sentence; what was found so far is all a rule can use.
        pass
    return found


_KIND_GROUP = {
    "iso": "iso", "dm": "dm_d", "md": "md_m", "mon": "mon", "dot": "dot_d", "slash": "sl_a", "ord": "ord_d", "wd": "wd",
    "rel": "rel",
    "per": "per_unit", "dur": "dur_pre", "later": "later_n", "clock": "clock", "tod": "tod",
}


def _can_join(group: list[_Atom], atom: _Atom, gap: str) -> bool:
    if group[0].kind in ("per", "dur", "later", "mon") or atom.kind in ("per", "dur", "later", "mon"):
        return False
    if len(gap) > 24 or _JOINER.fullmatch(gap) is None:  # at most 24 characters: no timer needed
        return False
    kinds = [a.kind for a in group] + [atom.kind]
    dates = [k for k in kinds if k in _DATE_KINDS and k != "rel"] + [k for k in kinds if k == "rel"]
    times = [k for k in kinds if k in _TIME_KINDS]
    non_weekday_dates = [k for k in dates if k != "wd"]
    return len(times) <= 1 and len(non_weekday_dates) <= 1 and dates.count("wd") <= 1


def find_time_expressions(
    text: str, reference: datetime, tz: str, starts: Iterable[tuple[int, str]] | None = None
) -> list[TimeExpression]:
    """Every time expression in `text`, resolved against `reference` in the team timezone `tz`.

    Meant for sentences and paragraphs; on very long input the scan stops at MATCH_TIMEOUT and
    returns what it found by then. `starts`, when the caller already knows them, are the places an
    expression may start (offset in `text` and the word there, in text order; see `word_starts` and
    STARTING_WORDS): every word that starts with a digit or is one of STARTING_WORDS.
    """
    now = localize(reference, tz)
    groups: list[list[_Atom]] = []
    for atom in _atoms(text, starts):
        if groups and _can_join(groups[-1], atom, text[groups[-1][-1].end : atom.start]):
            groups[-1].append(atom)
        else:
            groups.append([atom])
    expressions: list[TimeExpression] = []
    for group in groups:
        # "morning" or "evening" on its own is a greeting or small talk, not a time.
        if all(a.kind == "tod" and a.groups["weak"] for a in group):
            continue
        when = _resolve_group(group, now)
        if when is not None:
            expressions.append(TimeExpression(group[0].start, group[-1].end, when))
    return expressions


def resolve(expression_text: str, reference: datetime, tz: str) -> datetime | None:
    """The moment the first time expression in `expression_text` names, or None when it names none."""
    expressions = find_time_expressions(expression_text, reference, tz)
    return expressions[0].when if expressions else None
