"""When the quoted earlier mail was sent: read from attribution and Sent:/Date: lines, and used as the first notice."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from checks.message import quoted_dates

REPO = Path(__file__).resolve().parents[1]
CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("On Mon, 16 Nov 2026 at 09:05, Nomvula Dlamini wrote:", datetime(2026, 11, 16, 9, 5)),
        ("On 16 Nov 2026, at 09:05, Sam Keller <sam@platform.example.com> wrote:", datetime(2026, 11, 16, 9, 5)),
        ("On 2026-11-16 09:05, Sam wrote:", datetime(2026, 11, 16, 9, 5)),
        ("On 16/11/2026 09:05, Sam wrote:", datetime(2026, 11, 16, 9, 5)),
        ("On 11/16/2026 9:05 PM, Sam wrote:", datetime(2026, 11, 16, 21, 5)),
        ("On Monday, 16 November 2026 09:05:00 CET Sam wrote:", datetime(2026, 11, 16, 9, 5, tzinfo=CET)),
        ("On Mon, 16 Nov 2026 09:05:00 +0100, Sam wrote:", datetime(2026, 11, 16, 9, 5, tzinfo=CET)),
        ("On Tue, Nov 17, 2026 at 12:10 AM Rafael Costa <r@example.com>\nwrote:", datetime(2026, 11, 17, 0, 10)),
        ("Am 16.11.2026 um 09:05 schrieb Dana Whitfield:", datetime(2026, 11, 16, 9, 5)),
        ("> Sent: Monday, November 16, 2026 9:05 AM", datetime(2026, 11, 16, 9, 5)),
        ("Date: Mon, 16 Nov 2026 09:05:00 +0100", datetime(2026, 11, 16, 9, 5, tzinfo=CET)),
    ],
)
def test_quoted_date_shapes(line: str, expected: datetime) -> None:
    assert quoted_dates(f"New words.\n\n{line}\n> the earlier mail\n") == (expected,)


@pytest.mark.parametrize("body", [
    "We met on Monday and I wrote the plan.",  # "on ... wrote" inside a sentence, no colon
    "On the whole the rollout went well.\nSent: nothing yet",
    "On 31/02/2026 09:05, Sam wrote:\n> impossible date",
])
def test_no_date_where_none_is_given(body: str) -> None:
    assert quoted_dates(body) == ()


def test_oldest_quote_comes_first() -> None:
    body = ("Second update.\n\nOn Tue, 17 Nov 2026 at 10:00, Sam wrote:\n> First update.\n>\n"
            "> On Mon, 16 Nov 2026 at 09:05, Sam wrote:\n>> The notice.\n")
    assert quoted_dates(body)[0] == datetime(2026, 11, 16, 9, 5)


@pytest.mark.parametrize("unit", ["On the whole it went well ", "on\n", "Date: " * 20 + "\n", "On 1/1/2026 1:1 wrote:\n"])
def test_a_megabyte_of_near_attributions_is_read_in_bounded_time(unit: str) -> None:
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    started = time.perf_counter()
    found = quoted_dates(text)
    assert len(found) <= 20
    # Not a speed target (bench/ holds those): a stall here would hold up the check of a follow-up.
    assert time.perf_counter() - started < 2.0


def _follow_up(sent: str, quoted: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Sam Keller <sam.keller@platform.example.com>"
    message["To"] = "all-staff@example.com"
    message["Subject"] = "Re: [oops] Meeting room bookings wiped"
    message["Date"] = sent
    message["In-Reply-To"] = "<first@platform.example.com>"
    message["References"] = "<first@platform.example.com>"
    message.set_content(
        "Hi all,\n\nWe found the cause and have deployed a fix. All bookings are back in the calendar.\n\nSam\n\n"
        f"On {quoted}, Sam Keller wrote:\n> All bookings for next week disappeared this morning.\n"
        "> We will share a recommendation tomorrow.\n"
    )
    return bytes(message)


def _check(raw: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy.cli", "check", "--config", str(REPO / "config"), "--format", "json", "-"],
        input=raw.decode(), capture_output=True, text=True, cwd=REPO, timeout=60,
    )


def test_check_holds_a_solution_follow_up_sent_the_day_the_quoted_notice_was() -> None:
    result = _check(_follow_up("Mon, 16 Nov 2026 15:30:00 +0100", "Mon, 16 Nov 2026 at 09:05"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert '"same-day-solution"' in result.stdout


def test_check_lets_the_next_days_solution_follow_up_through() -> None:
    # 23:30 UTC on the 16th is already the 17th in the team's timezone (Europe/Berlin).
    result = _check(_follow_up("Mon, 16 Nov 2026 23:30:00 +0000", "Mon, 16 Nov 2026 at 09:05"))
    assert '"same-day-solution"' not in result.stdout, result.stdout
