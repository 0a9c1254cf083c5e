"""Hold and bounce end to end: a real SMTP client, the proxy in-process, a recording aiosmtpd upstream."""
from __future__ import annotations

import asyncio
from email.message import EmailMessage
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    RECIPIENT,
    SENDER,
    START,
    Clock,
    ProxyFactory,
    RecordingUpstream,
    broken,
    events,
    exchange,
    held_id,
    null_sender_mail,
    parse,
    relayed,
    settle,
    store_of,
)
from proxy.release import parse_release_address, verify_token

SECOND_RECIPIENT = "dave@example.org"


def _parts(bounce: EmailMessage) -> tuple[EmailMessage, Any, EmailMessage]:
    human, status, original = list(bounce.iter_parts())
    return human, status, original  # type: ignore[return-value]


async def test_hold_stores_the_message_and_bounces_a_dsn_instead_of_relaying(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    original = broken()
    result = await exchange(proxy.port, SENDER, [RECIPIENT, SECOND_RECIPIENT], original)
    identifier = held_id(result)

    # Durable before the 250: the store has the raw bytes (behind the trace header), envelope and findings.
    held = await store_of(proxy).get_held(identifier)
    assert held is not None and held.status == "held" and held.kind == "hold"
    assert held.raw.endswith(original) and held.raw.startswith(b"Received: from client.test")
    assert held.mail_from == SENDER and held.rcpt_tos == (RECIPIENT, SECOND_RECIPIENT)
    assert "non-apology" in {f["rule"] for f in held.findings}
    assert held.subject == "[oops] wrong invoice" and held.message_id == "<inv-1@example.com>"

    await settle(proxy)
    assert relayed(upstream) == []  # the original never went upstream
    [bounce_mail] = null_sender_mail(upstream)
    assert bounce_mail.rcpt_tos == (SENDER,)
    bounce = parse(bounce_mail.content)
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"
    assert bounce["Auto-Submitted"] == "auto-replied"
    assert bounce["In-Reply-To"] == "<inv-1@example.com>"
    assert "<inv-1@example.com>" in bounce["References"]
    assert bounce["To"] == SENDER

    human, status, attached = _parts(bounce)
    assert human.get_content_type() == "multipart/alternative"
    plain = human.get_body(preferencelist=("plain",))
    assert plain is not None and identifier in plain.get_content() and "non-apology" in plain.get_content()
    assert status.get_content_type() == "message/delivery-status"
    blocks = status.get_payload()
    recipients = [block["Final-Recipient"] for block in blocks[1:]]
    assert recipients == [f"rfc822; {RECIPIENT}", f"rfc822; {SECOND_RECIPIENT}"]
    assert all(block["Action"] == "failed" and block["Status"] == "5.7.1" for block in blocks[1:])
    assert attached.get_content_type() == "message/rfc822"
    assert held.raw in bounce_mail.content  # the original, byte for byte

    # Reply-To is this message's release address, signed for its sender.
    token = parse_release_address(bounce["Reply-To"])
    assert token is not None
    verdict = verify_token(proxy.server.release_key, token, SENDER, proxy.server.now())
    assert verdict.held_id == identifier
    assert (proxy.config_dir.parent / "store1" / "release.key").exists()

    [event] = [e for e in await events(proxy) if e.verdict == "held"]
    assert event.team == "default" and "non-apology" in event.rules and event.oops
    assert event.audience == "individual"


async def test_html_part_escapes_markup_from_the_message(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    line = "We are sorry if you were inconvenienced by <script>alert(1)</script> the wrong invoice."
    held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken(subject="[oops] <script>x</script>", line=line)))
    await settle(proxy)
    [bounce_mail] = null_sender_mail(upstream)
    human, _, _ = _parts(parse(bounce_mail.content))
    html = human.get_body(preferencelist=("html",))
    assert html is not None
    markup = html.get_content()
    assert "<script>" not in markup
    assert "&lt;script&gt;" in markup


async def test_encoded_crlf_in_the_subject_cannot_add_a_header(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    subject = "=?utf-8?q?[oops]_invoice=0D=0ABcc:_victim@evil.example?="
    held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken(subject=subject)))
    await settle(proxy)
    [bounce_mail] = null_sender_mail(upstream)
    assert bounce_mail.rcpt_tos == (SENDER,)
    bounce = parse(bounce_mail.content)
    assert bounce["Bcc"] is None
    assert "\n" not in bounce["Subject"] and "Bcc: victim@evil.example" in bounce["Subject"]
    header_block = bounce_mail.content.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in header_block


@pytest.mark.parametrize("sender, extra", [
    ("<>", ""),
    (SENDER, "Auto-Submitted: auto-replied\n"),
    (SENDER, "List-Id: <invoices.example.com>\n"),
    (SENDER, "Precedence: bulk\n"),
])
async def test_automatic_null_sender_and_list_mail_is_held_but_never_bounced(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, sender: str, extra: str) -> None:
    proxy = await make_proxy(upstream=upstream.url)

    def null_or_plain() -> Any:
        import smtplib

        with smtplib.SMTP("127.0.0.1", proxy.port, timeout=30) as client:
            client.ehlo("client.test")
            assert client.docmd("MAIL", f"FROM:{sender}" if sender == "<>" else f"FROM:<{sender}>")[0] == 250
            assert client.rcpt(RECIPIENT)[0] == 250
            return client.data(broken(extra_headers=extra))

    code, text = await asyncio.to_thread(null_or_plain)
    assert code == 250 and text.startswith(b"2.0.0 held for review: "), text
    identifier = text.decode().rsplit(" ", 1)[1]
    await settle(proxy)
    assert (await store_of(proxy).get_held(identifier)) is not None
    assert upstream.received == []  # neither the original nor a bounce
    assert (await store_of(proxy).queue_sizes())["outbox"] == 0
    assert [e.verdict for e in await events(proxy)] == ["held"]


async def test_bounces_are_capped_per_sender_per_day(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url, bounces_per_sender_per_day=2)
    identifiers = [held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken(message_id=f"<cap-{n}@example.com>")))
                   for n in range(4)]
    await settle(proxy)
    assert len(null_sender_mail(upstream)) == 2
    assert len({h.id for h in await store_of(proxy).list_held()} & set(identifiers)) == 4  # all held all the same
    # Another sender has a cap of their own.
    held_id(await exchange(proxy.port, "erin@example.com", [RECIPIENT], broken(sender="erin@example.com")))
    await settle(proxy)
    assert [m.rcpt_tos for m in null_sender_mail(upstream)][-1] == ("erin@example.com",)


async def test_bounce_waits_in_the_outbox_while_the_upstream_is_down_and_goes_out_when_it_is_back(
        make_proxy: ProxyFactory, make_upstream: Any) -> None:
    clock = Clock(START)
    upstream = await make_upstream(data_reply="451 4.3.0 Try again later")
    proxy = await make_proxy(upstream=upstream.url, clock=clock)
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    store = store_of(proxy)
    [item] = await store.due_outbox(clock.moment.replace(year=2100))
    assert item.kind == "bounce" and item.attempts == 1 and item.last_error.startswith("451")
    assert item.next_try == START.replace(second=30)  # first retry after 30 s

    # Now the upstream is gone altogether; the next try (clock past it) fails to connect and backs off further.
    port = upstream.port
    await upstream.stop()
    clock.advance(seconds=31)
    await settle(proxy)
    [item] = await store.due_outbox(clock.moment.replace(year=2100))
    assert item.attempts == 2 and item.last_error.startswith("451 4.4")
    assert (item.next_try - clock.moment).total_seconds() == 60
    assert (await store.get_held(identifier)).status == "held"  # type: ignore[union-attr]

    # Back on the same port: not before the retry time, then delivered by the worker once woken.
    upstream.data_reply = None
    await upstream.start(port)
    await settle(proxy)
    assert upstream.received == []
    clock.advance(seconds=61)
    proxy.server.outbox.wake()
    await upstream.wait_for(1)
    [bounce_mail] = upstream.received
    assert bounce_mail.mail_from == "<>" and parse(bounce_mail.content)["X-Oopsguard-Held-Id"] == identifier
    await settle(proxy)
    assert (await store.queue_sizes())["outbox"] == 0


async def test_maildir_upstream_takes_bounces_with_a_null_sender(make_proxy: ProxyFactory, tmp_path: Path) -> None:
    outbox = tmp_path / "maildir"
    proxy = await make_proxy(upstream=f"maildir:{outbox}")
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    [path] = list((outbox / "new").iterdir())
    bounce = parse(path.read_bytes())
    assert bounce["X-Oopsguard-Held-Id"] == identifier and bounce.get_content_type() == "multipart/report"
    assert (await store_of(proxy).queue_sizes())["outbox"] == 0


async def test_on_block_reject_still_refuses_with_the_findings(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url, teams={"strict": {"senders": ["*@example.com"],
                                                                       "on_block": "reject"}})
    result = await exchange(proxy.port, SENDER, [RECIPIENT], broken())
    assert result.data is not None and result.data[0] == 550
    assert "[non-apology]" in result.data_text and "fix:" in result.data_text
    await settle(proxy)
    assert upstream.received == [] and await store_of(proxy).list_held() == []
    assert [(e.verdict, e.team) for e in await events(proxy)] == [("rejected", "strict")]


async def test_bounce_refused_for_good_or_unsent_for_two_days_is_given_up(
        make_proxy: ProxyFactory, make_upstream: Any) -> None:
    clock = Clock(START)
    upstream = await make_upstream(data_reply="554 5.7.1 Mail from <> not accepted here")
    proxy = await make_proxy(upstream=upstream.url, clock=clock)
    held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    store = store_of(proxy)
    assert await store.due_outbox(clock.moment.replace(year=2100)) == []  # permanent: not retried
    assert (await store.queue_sizes())["outbox"] == 0

    upstream.data_reply = "451 4.3.0 Try again later"
    held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken(message_id="<inv-5@example.com>")))
    await settle(proxy)
    delays = []
    while True:  # retried with growing delays, at most an hour apart, until two days have passed
        items = await store.due_outbox(clock.moment.replace(year=2100))
        if not items:
            break
        [item] = items
        delays.append((item.next_try - clock.moment).total_seconds())
        clock.moment = item.next_try
        await settle(proxy)
        assert len(delays) < 100
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 3600
    assert timedelta(days=2) < clock.moment - START <= timedelta(days=2, hours=1)
    assert upstream.received == []


async def test_every_decision_is_an_event_naming_no_one(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    from conftest import crlf

    proxy = await make_proxy(upstream=upstream.url, teams={"audited": {"senders": ["*@audit.example.com"],
                                                                        "mode": "audit"}})
    plain = crlf(f"From: Alice <{SENDER}>\nTo: {RECIPIENT}\nSubject: Lunch\n\nNoon at the usual place?\n")
    assert (await exchange(proxy.port, SENDER, [RECIPIENT], plain)).data[0] == 250  # type: ignore[index]
    audited = broken(sender="frank@audit.example.com")
    assert (await exchange(proxy.port, "frank@audit.example.com", [RECIPIENT], audited)).data[0] == 250  # type: ignore[index]
    held_id(await exchange(proxy.port, SENDER, [RECIPIENT], broken()))
    await settle(proxy)
    recorded = await events(proxy)
    assert [(e.verdict, e.team, e.oops) for e in recorded] == [
        ("delivered", "default", False), ("audit", "audited", True), ("held", "default", True)]
    assert "non-apology" in recorded[1].rules and recorded[1].audience == "individual"
    assert not any("@" in str(value) for e in recorded for value in vars(e).values())
    assert len(relayed(upstream)) == 2  # the clean message and the audited one; the held one stays
