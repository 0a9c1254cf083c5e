"""What becomes of held and deferred mail over time: fixed and resent, deferred to the next morning, expired."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import (
    RECIPIENT,
    SENDER,
    START,
    Clock,
    ProxyFactory,
    RecordingUpstream,
    RunningProxy,
    broken,
    crlf,
    events,
    exchange,
    fixed,
    held_id,
    null_sender_mail,
    parse,
    relayed,
    settle,
    store_of,
)
from proxy.store import SqliteStore

OPS = "ops@example.com"
ALL_STAFF = "all-staff@example.com"
PLATFORM = {"senders": ["*@example.com"], "timezone": "Europe/Berlin", "same_day": "defer"}
BROADCAST = {"lists": [ALL_STAFF]}

FIRST_NOTICE = crlf(
    "From: Ops Desk <ops@example.com>\n"
    f"To: {ALL_STAFF}\n"
    "Subject: [oops] Login outage this morning\n"
    "Date: Tue, 02 Mar 2027 10:00:00 +0100\n"
    "Message-ID: <outage-1@example.com>\n"
    "\n"
    "Hello all,\n"
    "\n"
    "Between 08:10 and 09:05 today nobody could log in to the intranet. The login service rejected valid\n"
    "passwords after a configuration change. Logins work again since 09:05. We will send the next update\n"
    "tomorrow at 10:00.\n"
    "\n"
    "Ops Desk\n"
)
SAME_DAY_FOLLOW_UP = crlf(
    "From: Ops Desk <ops@example.com>\n"
    f"To: {ALL_STAFF}\n"
    "Subject: Re: [oops] Login outage this morning\n"
    "Date: Tue, 02 Mar 2027 15:00:00 +0100\n"
    "Message-ID: <outage-2@example.com>\n"
    "In-Reply-To: <outage-1@example.com>\n"
    "References: <outage-1@example.com>\n"
    "\n"
    "Hello all,\n"
    "\n"
    "Our recommended fix: roll back the configuration change and add an automatic check before every release.\n"
    "\n"
    "Ops Desk\n"
)


# -- fixed and resent -----------------------------------------------------------------------------------


REWRITE_IN_THREAD = crlf(
    f"From: Alice <{SENDER}>\n"
    f"To: Carol <{RECIPIENT}>\n"
    "Subject: Your invoice for February\n"
    "Message-ID: <inv-3@example.com>\n"
    "In-Reply-To: <inv-1@example.com>\n"
    "\n"
    "Hi Carol,\n"
    "\n"
    "the corrected invoice for February is attached. It replaces the one from yesterday.\n"
    "\n"
    "Alice\n"
)


@pytest.mark.parametrize("resend", [fixed(), REWRITE_IN_THREAD], ids=["same-subject", "same-thread-not-oops"])
async def test_passing_resend_closes_the_held_original_as_fixed(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, resend: bytes) -> None:
    clock = Clock(START)
    proxy = await make_proxy(upstream=upstream.url, clock=clock)
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    assert SENDER in proxy.server.holds
    clock.advance(hours=2, minutes=5)
    result = await exchange(proxy.port, SENDER, [RECIPIENT], resend)
    assert result.data is not None and result.data[0] == 250 and b"held" not in result.data[1]
    await settle(proxy)

    [delivered] = relayed(upstream)
    assert delivered.content.endswith(resend)  # the resend went out; the held original did not
    held = await store_of(proxy).get_held(identifier)
    assert held is not None and held.status == "fixed" and held.closed == clock.moment
    [fix] = [e for e in await events(proxy) if e.verdict == "fixed"]
    assert fix.time_to_fix_seconds == 2 * 3600 + 5 * 60 and "non-apology" in fix.rules
    assert SENDER not in proxy.server.holds  # no open hold left: this sender's mail is ordinary again
    await settle(proxy)
    assert len(relayed(upstream)) == 1


async def test_unrelated_mail_from_the_same_sender_leaves_the_hold_alone(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    other = fixed(subject="Lunch on Friday?", message_id="<lunch@example.com>")
    assert (await exchange(proxy.port, SENDER, [RECIPIENT], other)).data[0] == 250  # type: ignore[index]
    await settle(proxy)
    assert (await store_of(proxy).get_held(identifier)).status == "held"  # type: ignore[union-attr]


# -- defer ------------------------------------------------------------------------------------------------


async def start_platform_proxy(make_proxy: ProxyFactory, upstream: RecordingUpstream, clock: Clock,
                               store: Path) -> RunningProxy:
    return await make_proxy(upstream=upstream.url, clock=clock, teams={"platform": PLATFORM},
                            sections={"broadcast": BROADCAST, "store": {"path": str(store)}})


async def test_same_day_solution_follow_up_is_deferred_to_the_next_working_morning_across_a_restart(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, tmp_path: Path) -> None:
    clock = Clock(START)  # Tuesday 14:00 UTC, 15:00 in Berlin
    store_path = tmp_path / "shared" / "oopsguard.db"
    proxy = await start_platform_proxy(make_proxy, upstream, clock, store_path)

    first = await exchange(proxy.port, OPS, [ALL_STAFF], FIRST_NOTICE)
    assert first.data is not None and first.data[0] == 250 and b"held" not in first.data[1]
    # The first notice's thread is remembered; the follow-up looks it up and the same-day rule fires.
    result = await exchange(proxy.port, OPS, [ALL_STAFF], SAME_DAY_FOLLOW_UP)
    assert result.data is not None and result.data[0] == 250
    assert result.data_text.startswith("2.0.0 deferred until Wed 03 Mar 2027 09:00 Europe/Berlin: ")
    identifier = result.data_text.rsplit(" ", 1)[1]
    await settle(proxy)
    store = store_of(proxy)
    assert await store.thread_first_notice(["<outage-1@example.com>"]) == datetime(2027, 3, 2, 9, tzinfo=timezone.utc)
    held = await store.get_held(identifier)
    assert held is not None and held.status == "deferred"
    assert held.due == datetime(2027, 3, 3, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin (CET)
    assert [m.content for m in relayed(upstream)] == [upstream.received[0].content]  # the first notice only
    [notice_mail] = null_sender_mail(upstream)
    notice = parse(notice_mail.content)
    assert notice_mail.rcpt_tos == (OPS,) and notice["X-Oopsguard-Notice"] == "deferred"
    assert "Wed 03 Mar 2027 09:00" in notice.get_content()
    assert [e.verdict for e in await events(proxy)] == ["delivered", "deferred"]

    # A restart in between loses nothing: a new server on the same store relays it when due.
    await proxy.server.stop(grace=1.0)
    clock.advance(hours=17, minutes=59)  # Wednesday 07:59 UTC, 08:59 in Berlin: not yet
    later = await start_platform_proxy(make_proxy, upstream, clock, store_path)
    await settle(later)
    later.server.scheduler.wake()
    await settle(later)
    assert len(relayed(upstream)) == 1
    clock.advance(minutes=1, seconds=1)
    later.server.scheduler.wake()
    await upstream.wait_for(3)
    await settle(later)
    deferred = relayed(upstream)[-1]
    assert deferred.mail_from == OPS and deferred.rcpt_tos == (ALL_STAFF,)
    assert deferred.content == held.raw
    assert (await store_of(later).get_held(identifier)).status == "delivered"  # type: ignore[union-attr]


def test_next_working_morning_skips_the_weekend() -> None:
    from proxy.actions import next_working_morning

    friday_evening = datetime(2027, 3, 5, 20, 0, tzinfo=timezone.utc)
    assert next_working_morning(friday_evening, "Europe/Berlin") == datetime(2027, 3, 8, 8, 0, tzinfo=timezone.utc)
    # After the clocks change (last Sunday of March) 09:00 in Berlin is 07:00 UTC.
    assert next_working_morning(datetime(2027, 3, 26, 12, 0, tzinfo=timezone.utc), "Europe/Berlin") == \
        datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)
    # Late on Monday in New York is already Tuesday in UTC; the team's day counts.
    assert next_working_morning(datetime(2027, 3, 2, 3, 0, tzinfo=timezone.utc), "America/New_York") == \
        datetime(2027, 3, 2, 14, 0, tzinfo=timezone.utc)


# -- expiry -----------------------------------------------------------------------------------------------


async def test_held_message_expires_after_hold_days_with_a_notice(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, tmp_path: Path) -> None:
    clock = Clock(START)
    proxy = await make_proxy(upstream=upstream.url, clock=clock, sections={"store": {
        "path": str(tmp_path / "expiry" / "oopsguard.db"), "hold_days": 3}})
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    assert len(null_sender_mail(upstream)) == 1  # the bounce
    clock.advance(days=2, hours=23)
    proxy.server.scheduler.wake()
    await settle(proxy)
    assert (await store_of(proxy).get_held(identifier)).status == "held"  # type: ignore[union-attr]
    clock.advance(hours=1, seconds=1)
    proxy.server.scheduler.wake()
    await upstream.wait_for(2)
    notice = parse(null_sender_mail(upstream)[-1].content)
    assert notice["X-Oopsguard-Notice"] == "expired" and identifier in notice.get_content()
    held = await store_of(proxy).get_held(identifier)
    assert held is not None and held.status == "expired"
    [event] = [e for e in await events(proxy) if e.verdict == "expired"]
    assert "non-apology" in event.rules
    assert relayed(upstream) == []


# -- a bounce lost in a crash -------------------------------------------------------------------------------


async def test_bounce_missed_by_a_crash_is_sent_at_the_next_start(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, tmp_path: Path) -> None:
    store_path = tmp_path / "crashed" / "oopsguard.db"
    raw = b"Received: from client.test (127.0.0.1)\r\n" + broken()
    finding = {"rule": "non-apology", "severity": "block", "line": 3, "column": 1, "excerpt": "sorry if",
               "message": "why", "suggestion": "fix"}
    with SqliteStore(store_path) as crashed:  # stored and acknowledged, then the process died
        crashed.hold("0123456789ab", "default", SENDER, [RECIPIENT], [], "[oops] wrong invoice", "<inv-1@example.com>",
                     "<inv-1@example.com>", [finding], "individual", raw)
    proxy = await make_proxy(upstream=upstream.url, sections={"store": {"path": str(store_path)}})
    await settle(proxy)
    [bounce_mail] = null_sender_mail(upstream)
    assert parse(bounce_mail.content)["X-Oopsguard-Held-Id"] == "0123456789ab"
    # Only once: a second start finds it handled.
    await proxy.server.stop(grace=1.0)
    again = await make_proxy(upstream=upstream.url, sections={"store": {"path": str(store_path)}})
    await settle(again)
    assert len(null_sender_mail(upstream)) == 1
    assert SENDER in again.server.holds
