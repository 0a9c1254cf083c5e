"""Weekly digest: exact counts from a seeded store, rendering, escaping, anonymity and send-once via the CLI."""
from __future__ import annotations

import asyncio
import email
import os
import subprocess
import sys
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest

from proxy.digest import (
    RULE_TIP,
    RULE_WHY,
    build_digest_data,
    collect_digest,
    format_duration,
    last_full_week,
    parse_week,
    redact_reason,
    render_digest,
    week_bounds,
)
from proxy.config import load_config
from proxy.events import Event
from proxy.store import SqliteStore
from conftest import RecordingUpstream
from render_digest import ROSTER, SCRIPT_REASON, TEAM, WEEK, seeded_previous_weeks, seeded_week

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 16, 7, 0, tzinfo=timezone.utc)
SPEC_RULES = ("blame-names", "public-self-blame", "same-day-solution", "no-update-time", "late-update", "speculation",
              "single-option", "non-apology", "excuse", "self-focus", "deflection", "gratitude-swap",
              "incomplete-apology")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A configuration whose upstream is a maildir and whose store lives in tmp_path (absolute paths)."""
    directory = tmp_path / "config"
    (directory / "teams").mkdir(parents=True)
    (directory / "oopsguard.toml").write_text(
        "[proxy]\n"
        f'upstream = "maildir:{tmp_path / "outbox"}"\n'
        'bounce_from = "oopsguard@guard.example.com"\n'
        'hostname = "guard.example.com"\n'
        "[store]\n"
        f'path = "{tmp_path / "oopsguard.db"}"\n'
    )
    (directory / "teams" / "platform.toml").write_text(
        'senders = ["*@platform.example.com"]\n'
        'roster = ["Dana Whitfield", "Marcus Ortega"]\n'
        'leads = ["dana@platform.example.com", "lead2@platform.example.com"]\n'
        'timezone = "Europe/Berlin"\n'
    )
    (directory / "teams" / "quiet.toml").write_text('leads = ["quiet-lead@example.com"]\ntimezone = "UTC"\n')
    return directory


def seed_store(path: Path) -> None:
    with SqliteStore(path) as store:
        for event in seeded_week():
            store.record_event(event)
        for events in seeded_previous_weeks().values():
            for event in events:
                store.record_event(event)
        # Another team's events in the same week must not leak into platform's digest.
        for event in seeded_week(team="other"):
            store.record_event(event)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "proxy.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# -- weeks ----------------------------------------------------------------------------------------------------


def test_week_bounds_are_local_mondays() -> None:
    start, end = week_bounds("2026-W46", ZoneInfo("Europe/Berlin"))
    assert start == datetime(2026, 11, 8, 23, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 11, 15, 23, 0, tzinfo=timezone.utc)
    # The week of the autumn DST change is 169 hours long.
    start, end = week_bounds("2026-W43", ZoneInfo("Europe/Berlin"))
    assert (end - start).total_seconds() == 169 * 3600


def test_last_full_week_uses_team_timezone() -> None:
    # Sunday 23:30 UTC is already Monday in Berlin: the last full week there is the one that just ended.
    sunday_night = datetime(2026, 11, 15, 23, 30, tzinfo=timezone.utc)
    assert last_full_week(sunday_night, ZoneInfo("Europe/Berlin")) == "2026-W46"
    assert last_full_week(sunday_night, ZoneInfo("UTC")) == "2026-W45"


@pytest.mark.parametrize("label", ["2026-47", "2026-W7", "2025-W53", "W47", ""])
def test_bad_week_labels(label: str) -> None:
    with pytest.raises(ValueError):
        parse_week(label)


# -- the pure aggregate ---------------------------------------------------------------------------------------


def test_counts_from_seeded_store(tmp_path: Path, config_dir: Path) -> None:
    seed_store(tmp_path / "oopsguard.db")
    team = load_config(config_dir).teams["platform"]
    with SqliteStore(tmp_path / "oopsguard.db") as store:
        data = collect_digest(store, team, WEEK)
    assert (data.team, data.week) == ("platform", "2026-W46")
    assert data.checked == 53
    assert data.delivered_clean == 40
    assert data.delivered_with_warnings == 4
    assert data.held == 5 and data.rejected == 0
    assert data.fixed == 3
    assert data.overridden == 2
    assert data.deferred == 1
    assert data.would_have_been_held == 2
    assert data.expired == 0
    assert data.median_time_to_fix_seconds == 1200
    assert data.median_time_to_fix == "20 min"
    # Fixed events carry blame-names from their hold; counting them again would put blame-names first with 7.
    assert [(r.rule, r.count) for r in data.top_rules] == [
        ("speculation", 5), ("blame-names", 4), ("non-apology", 3), ("same-day-solution", 2), ("no-update-time", 1)]
    assert data.top_rules[0].why == RULE_WHY["speculation"] and data.top_rules[0].tip == RULE_TIP["speculation"]
    # W45's event at Sunday 23:59:59 local time belongs to W45, the Monday 00:00 one to W46.
    assert [(p.week, p.checked, p.held) for p in data.trend] == [
        ("2026-W42", 30, 2), ("2026-W43", 0, 0), ("2026-W44", 45, 6), ("2026-W45", 38, 4), ("2026-W46", 53, 5)]
    assert data.override_reasons == (SCRIPT_REASON, "approved by [address removed] and [name removed] after a review")


def test_no_fixes_gives_na_and_rejections_count_as_held() -> None:
    moment = datetime(2026, 11, 10, 12, tzinfo=timezone.utc)
    events = [Event(moment, "t", "rejected", ("non-apology",)), Event(moment, "t", "held", ("excuse",)),
              Event(moment, "t", "delivered")]
    data = build_digest_data(events, {}, "t", "2026-W46")
    assert (data.checked, data.held, data.rejected, data.fixed) == (3, 2, 1, 0)
    assert data.median_time_to_fix == "n/a"
    assert [p.checked for p in data.trend] == [0, 0, 0, 0, 3]


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "n/a"), (42, "42 s"), (1200, "20 min"), (2280, "38 min"), (3600, "1 h"), (9000, "2.5 h"),
    (3 * 86400, "3 days")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_redaction_of_reasons() -> None:
    reason = "Cleared with Marcus Ortega (mailto:marcus@platform.example.com) and\nwhitfield; Danaher stays"
    assert redact_reason(reason, ROSTER) == ("Cleared with [name removed] ([address removed]) and [name removed];"
                                             " Danaher stays")
    assert len(redact_reason("x" * 5000)) == 200


def test_every_spec_rule_has_a_why_and_a_tip() -> None:
    assert set(RULE_WHY) == set(SPEC_RULES) == set(RULE_TIP)
    assert all(line and "\n" not in line for line in (*RULE_WHY.values(), *RULE_TIP.values()))


# -- rendering ------------------------------------------------------------------------------------------------


def test_rendered_message(tmp_path: Path) -> None:
    data = build_digest_data(seeded_week(), seeded_previous_weeks(), TEAM, WEEK, redact_names=ROSTER)
    to = ("dana@platform.example.com",)
    raw = render_digest(data, "oopsguard@guard.example.com", to, "guard.example.com", NOW)
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")  # CRLF throughout, SMTP-ready
    message = parse(raw)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"] == "dana@platform.example.com"
    assert message["From"] == "oopsguard@guard.example.com"
    assert message["Subject"] == "oopsguard weekly digest — platform — 2026-W46"
    assert message["Message-ID"].endswith("@guard.example.com>")
    assert message["Date"] == "Mon, 16 Nov 2026 07:00:00 +0000"
    text, html = bodies(message)
    assert "20 min" in text and "20 min" in html
    assert "speculation (5)" in text
    # The reason's markup is shown as text, never executed.
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in text
    # The chart: one bar row per week, bars drawn with bgcolor + width, no scripts or images.
    for week in ("2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46"):
        assert html.count(week) >= 1 and week in text
    assert 'width="300" height="12" bgcolor="#9fb3c8"' in html  # the busiest week spans the whole scale
    assert 'width="28" height="12" bgcolor="#d9822b"' in html   # W46: 5 held of 53 at 300 px -> 28 px
    assert "<img" not in html.lower() and "<script" not in html.lower()
    # Nobody is named: no roster name, no address in either body.
    for body in (text, html):
        lowered = body.lower()
        for name in ("dana", "whitfield", "marcus", "ortega"):
            assert name not in lowered
        assert "@" not in body


def test_empty_week_is_one_line() -> None:
    data = build_digest_data([], seeded_previous_weeks(), TEAM, "2026-W47")
    message = parse(render_digest(data, "oopsguard@localhost", ("lead@example.com",), "localhost", NOW))
    text, html = bodies(message)
    assert text.strip() == "No oops mail was checked for platform in 2026-W47."
    assert "No oops mail was checked for platform in 2026-W47." in html
    assert "bgcolor" not in html and "2026-W46" not in html


# -- the command ----------------------------------------------------------------------------------------------


def maildir_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox" / "new").glob("*")) if (tmp_path / "outbox" / "new").exists() else []


def test_cli_sends_once(tmp_path: Path, config_dir: Path) -> None:
    seed_store(tmp_path / "oopsguard.db")
    args = ("digest", "--team", "platform", "--week", WEEK, "--config", str(config_dir))
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "sent to 2 recipient(s)" in first.stdout
    second = run_cli(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "digest for platform 2026-W46 already sent"
    files = maildir_files(tmp_path)
    assert len(files) == 1
    assert not list((tmp_path / "outbox" / "tmp").iterdir())
    message = parse(files[0].read_bytes())
    assert message["To"] == "dana@platform.example.com, lead2@platform.example.com"
    text, _ = bodies(message)
    assert "Checked" in text and "53" in text


def test_cli_all_teams_and_empty_team(tmp_path: Path, config_dir: Path) -> None:
    seed_store(tmp_path / "oopsguard.db")
    result = run_cli("digest", "--week", WEEK, "--config", str(config_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "team default has no digest recipients" in result.stderr
    files = maildir_files(tmp_path)
    assert len(files) == 2  # platform and quiet
    quiet = [parse(f.read_bytes()) for f in files if b"quiet-lead@" in f.read_bytes()]
    assert len(quiet) == 1
    assert bodies(quiet[0])[0].strip() == "No oops mail was checked for quiet in 2026-W46."


def test_cli_dry_run_sends_nothing(tmp_path: Path, config_dir: Path) -> None:
    seed_store(tmp_path / "oopsguard.db")
    result = run_cli("digest", "--team", "platform", "--week", WEEK, "--dry-run", "--config", str(config_dir),
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Delivered clean" in result.stdout and "speculation (5)" in result.stdout
    assert "dana@platform.example.com, lead2@platform.example.com" in result.stderr
    assert maildir_files(tmp_path) == []
    # Nothing was claimed: a real run afterwards still sends.
    real = run_cli("digest", "--team", "platform", "--week", WEEK, "--config", str(config_dir), cwd=tmp_path)
    assert real.returncode == 0 and len(maildir_files(tmp_path)) == 1


def test_cli_usage_errors(tmp_path: Path, config_dir: Path) -> None:
    unknown = run_cli("digest", "--team", "nosuch", "--config", str(config_dir), cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "oopsguard: digest: unknown team 'nosuch' (known: default, platform, quiet)"]
    bad_week = run_cli("digest", "--week", "2026-47", "--config", str(config_dir), cwd=tmp_path)
    assert bad_week.returncode == 2 and len(bad_week.stderr.strip().splitlines()) == 1


def test_cli_send_failure_unclaims(tmp_path: Path, config_dir: Path) -> None:
    seed_store(tmp_path / "oopsguard.db")
    # A maildir path under a regular file cannot be created: the send fails and the claim is released.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    main_file = config_dir / "oopsguard.toml"
    main_file.write_text(main_file.read_text().replace(str(tmp_path / "outbox"), str(blocker / "outbox")))
    failed = run_cli("digest", "--team", "platform", "--week", WEEK, "--config", str(config_dir), cwd=tmp_path)
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1 and "not sent" in failed.stderr
    with SqliteStore(tmp_path / "oopsguard.db") as store:
        assert store.claim_digest("platform", WEEK) is True  # free again for the next run


async def test_cli_smtp_upstream(tmp_path: Path, config_dir: Path, upstream: RecordingUpstream) -> None:
    """A real SMTP upstream receives exactly one digest, enveloped from bounce_from to the leads."""
    seed_store(tmp_path / "oopsguard.db")
    main_file = config_dir / "oopsguard.toml"
    main_file.write_text(main_file.read_text().replace(f'maildir:{tmp_path / "outbox"}', upstream.url))
    args = ("digest", "--team", "platform", "--week", WEEK, "--config", str(config_dir))
    first = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    second = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0 and "already sent" in second.stdout
    assert len(upstream.received) == 1
    received = upstream.received[0]
    assert received.mail_from == "oopsguard@guard.example.com"
    assert received.rcpt_tos == ("dana@platform.example.com", "lead2@platform.example.com")
    assert parse(received.content)["Auto-Submitted"] == "auto-generated"


async def test_cli_smtp_refusal_is_retried_later(tmp_path: Path, config_dir: Path,
                                                 make_upstream: Callable[..., Awaitable[RecordingUpstream]]) -> None:
    refusing = await make_upstream(data_reply="554 5.6.0 not today")
    seed_store(tmp_path / "oopsguard.db")
    main_file = config_dir / "oopsguard.toml"
    main_file.write_text(main_file.read_text().replace(f'maildir:{tmp_path / "outbox"}', refusing.url))
    args = ("digest", "--team", "platform", "--week", WEEK, "--config", str(config_dir))
    failed = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert failed.returncode == 1 and "not today" in failed.stderr
    refusing.data_reply = None
    retried = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert len(refusing.received) == 1
