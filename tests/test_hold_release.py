"""Override header, release by replying to the bounce, and the admin release, end to end over SMTP."""
from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from conftest import (
    OTHER_SENDER,
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
    held_id,
    null_sender_mail,
    parse,
    relayed,
    settle,
    store_of,
)
from proxy import replies
from proxy.release import make_token, parse_release_address, release_address

PROJECT = Path(__file__).resolve().parents[1]
REASON = "The customer asked for exactly this wording in writing"


def reply_to_bounce(release_to: str, reason: str = REASON, sender: str = SENDER) -> bytes:
    """What a mail client sends when the sender hits Reply on the bounce and writes the reason on top."""
    return crlf(
        f"From: Alice <{sender}>\n"
        f"To: {release_to}\n"
        "Subject: Re: Held for review: [oops] wrong invoice\n"
        "\n"
        f"{reason}\n"
        "\n"
        "On Tue, 2 Mar 2027, oopsguard wrote:\n"
        "> Your message \"[oops] wrong invoice\" has not been sent.\n"
    )


async def hold_and_get_release_address(proxy: RunningProxy, upstream: RecordingUpstream,
                                       message: bytes | None = None, sender: str = SENDER) -> tuple[str, str]:
    identifier = held_id(await exchange(proxy.port, sender, [RECIPIENT, "dave@example.org"],
                                        message or broken(sender=sender)))
    await settle(proxy)
    bounce = parse(null_sender_mail(upstream)[-1].content)
    assert bounce["X-Oopsguard-Held-Id"] == identifier
    return identifier, str(bounce["Reply-To"])


# -- the override header --------------------------------------------------------------------------


async def test_override_header_delivers_and_records_the_reason(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    message = broken(extra_headers=f"X-Oops-Override: {REASON}\n")
    result = await exchange(proxy.port, SENDER, [RECIPIENT], message)
    assert result.data is not None and result.data[0] == 250 and b"held" not in result.data[1]
    await settle(proxy)
    [delivered] = upstream.received
    assert delivered.mail_from == SENDER and delivered.content.endswith(message)
    assert await store_of(proxy).list_held() == []
    [event] = await events(proxy)
    assert event.verdict == "overridden" and event.override_reason == REASON and "non-apology" in event.rules


async def test_empty_override_header_is_refused_with_a_clear_reason(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    result = await exchange(proxy.port, SENDER, [RECIPIENT], broken(extra_headers="X-Oops-Override:   \n"))
    assert result.data is not None
    assert f"{result.data[0]} {result.data_text}" == replies.REPLY_OVERRIDE_NEEDS_REASON
    await settle(proxy)
    assert upstream.received == [] and await store_of(proxy).list_held() == []
    assert [e.verdict for e in await events(proxy)] == ["rejected"]


async def test_override_header_is_ignored_where_the_team_does_not_allow_it(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url,
                             teams={"strict": {"senders": ["*@example.com"], "allow_override": False}})
    identifier = held_id(await exchange(proxy.port, SENDER, [RECIPIENT],
                                        broken(extra_headers=f"X-Oops-Override: {REASON}\n")))
    await settle(proxy)
    [bounce_mail] = null_sender_mail(upstream)
    bounce = parse(bounce_mail.content)
    assert bounce["X-Oopsguard-Held-Id"] == identifier
    assert bounce["Reply-To"] is None  # no release address either: the team releases nothing unchanged
    plain = next(bounce.iter_parts()).get_body(preferencelist=("plain",))
    assert plain is not None and "switched overrides off" in " ".join(plain.get_content().split())
    assert relayed(upstream) == []


# -- release by replying to the bounce ----------------------------------------------------------------


async def test_reply_to_the_bounce_releases_the_original_with_its_envelope_once(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    first, first_address = await hold_and_get_release_address(proxy, upstream)
    second, _ = await hold_and_get_release_address(proxy, upstream, broken(message_id="<inv-9@example.com>"))
    held = await store_of(proxy).get_held(first)
    assert held is not None
    opened_before = upstream.mail_froms.count(SENDER)

    result = await exchange(proxy.port, SENDER, [first_address], reply_to_bounce(first_address))
    assert result.data is not None and (result.data[0], result.data_text) == (250, f"2.0.0 released: {first}")
    await settle(proxy)
    # The reply itself opened no upstream transaction: the only new one from the sender relayed the original.
    assert upstream.mail_froms.count(SENDER) == opened_before + 1

    [original] = relayed(upstream)
    assert original.mail_from == SENDER and original.rcpt_tos == (RECIPIENT, "dave@example.org")
    assert original.content == held.raw  # trace header and message exactly as accepted
    confirmation = parse(null_sender_mail(upstream)[-1].content)
    assert confirmation["X-Oopsguard-Notice"] == "released" and confirmation["To"] == SENDER
    assert confirmation["Auto-Submitted"] == "auto-replied" and first in confirmation.get_content()
    assert (await store_of(proxy).get_held(first)).status == "released"  # type: ignore[union-attr]
    assert (await store_of(proxy).get_held(second)).status == "held"  # type: ignore[union-attr]
    [event] = [e for e in await events(proxy) if e.verdict == "overridden"]
    assert event.override_reason == REASON and "non-apology" in event.rules

    # The same reply again releases nothing and says why.
    count = len(upstream.received)
    again = await exchange(proxy.port, SENDER, [first_address], reply_to_bounce(first_address))
    assert again.data is not None
    assert f"{again.data[0]} {again.data_text}" == replies.REPLY_RELEASE_REPLAYED.format(id=first)
    await settle(proxy)
    assert len(upstream.received) == count


async def test_reply_without_a_reason_is_refused_and_the_address_stays_usable(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    identifier, address = await hold_and_get_release_address(proxy, upstream)
    empty = await exchange(proxy.port, SENDER, [address], reply_to_bounce(address, reason=""))
    assert empty.data is not None
    assert f"{empty.data[0]} {empty.data_text}" == replies.REPLY_RELEASE_NO_REASON.format(id=identifier)
    good = await exchange(proxy.port, SENDER, [address], reply_to_bounce(address))
    assert good.data == (250, f"2.0.0 released: {identifier}".encode())


async def test_forged_and_foreign_release_addresses_release_nothing(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    identifier, address = await hold_and_get_release_address(proxy, upstream)
    domain = address.rpartition("@")[2]
    expires = proxy.server.now() + timedelta(days=14)
    other_key = make_token(b"k" * 32, identifier, SENDER, expires)
    token = parse_release_address(address)
    assert token is not None
    tampered = ("b" if token[0] != "b" else "c") + token[1:]  # another held id under the same signature
    cases = {
        release_address(other_key, domain): replies.REPLY_RELEASE_FORGED,      # signed by another key
        release_address(tampered, domain): replies.REPLY_RELEASE_FORGED,       # altered
        release_address("abcdefgh", domain): replies.REPLY_RELEASE_MALFORMED,  # not a token at all
    }
    for target, expected in cases.items():
        result = await exchange(proxy.port, SENDER, [target], reply_to_bounce(target))
        assert result.data is not None
        assert f"{result.data[0]} {result.data_text}" == replies.release_refused(expected, None), target
    # A genuine address used by somebody else (a colleague forwarding the bounce, a forged reply).
    stolen = await exchange(proxy.port, OTHER_SENDER, [address], reply_to_bounce(address, sender=OTHER_SENDER))
    assert stolen.data is not None
    assert f"{stolen.data[0]} {stolen.data_text}" == replies.REPLY_RELEASE_WRONG_SENDER.format(id=identifier)
    await settle(proxy)
    assert relayed(upstream) == []
    assert (await store_of(proxy).get_held(identifier)).status == "held"  # type: ignore[union-attr]
    # None of that used the token up: the real sender still can.
    good = await exchange(proxy.port, SENDER, [address], reply_to_bounce(address))
    assert good.data == (250, f"2.0.0 released: {identifier}".encode())


async def test_a_token_only_releases_its_own_message(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    alice_held, alice_address = await hold_and_get_release_address(proxy, upstream)
    bob_held, bob_address = await hold_and_get_release_address(proxy, upstream, sender=OTHER_SENDER)
    # Alice replying to Bob's bounce: Bob's token is bound to Bob.
    result = await exchange(proxy.port, SENDER, [bob_address], reply_to_bounce(bob_address))
    assert result.data is not None
    assert f"{result.data[0]} {result.data_text}" == replies.REPLY_RELEASE_WRONG_SENDER.format(id=bob_held)
    mine = await exchange(proxy.port, SENDER, [alice_address], reply_to_bounce(alice_address))
    assert mine.data == (250, f"2.0.0 released: {alice_held}".encode())
    await settle(proxy)
    assert [m.mail_from for m in relayed(upstream)] == [SENDER]
    assert (await store_of(proxy).get_held(bob_held)).status == "held"  # type: ignore[union-attr]


async def test_expired_release_address_is_refused(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    clock = Clock(START)
    proxy = await make_proxy(upstream=upstream.url, clock=clock)
    identifier, address = await hold_and_get_release_address(proxy, upstream)
    clock.advance(days=14, seconds=1)  # the default hold_days is 14: the token expired with the hold
    result = await exchange(proxy.port, SENDER, [address], reply_to_bounce(address))
    assert result.data is not None
    assert f"{result.data[0]} {result.data_text}" == replies.REPLY_RELEASE_EXPIRED.format(id=identifier)
    await settle(proxy)
    assert relayed(upstream) == []


async def test_release_address_must_be_the_only_recipient(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    first, first_address = await hold_and_get_release_address(proxy, upstream, broken(message_id="<inv-7@example.com>"))
    second, second_address = await hold_and_get_release_address(proxy, upstream)

    # Two release addresses at once: the second is deferred to a transaction of its own (452), the first works.
    two = await exchange(proxy.port, SENDER, [second_address, first_address], reply_to_bounce(second_address))
    assert f"{two.rcpts[1][0]} {two.rcpts[1][1].decode()}" == replies.REPLY_RELEASE_ONE_AT_A_TIME
    assert two.data == (250, f"2.0.0 released: {second}".encode())
    await settle(proxy)

    # A release address among ordinary recipients is refused, whichever comes first.
    normal_first = await exchange(proxy.port, SENDER, [RECIPIENT, first_address], reply_to_bounce(first_address))
    assert normal_first.rcpts[0][0] == 250
    assert f"{normal_first.rcpts[1][0]} {normal_first.rcpts[1][1].decode()}" == replies.REPLY_RELEASE_SEPARATELY
    assert (await store_of(proxy).get_held(first)).status == "held"  # type: ignore[union-attr]
    release_first = await exchange(proxy.port, SENDER, [first_address, RECIPIENT], reply_to_bounce(first_address))
    assert release_first.rcpts[0][0] == 250
    assert f"{release_first.rcpts[1][0]} {release_first.rcpts[1][1].decode()}" == replies.REPLY_RELEASE_SEPARATELY
    assert release_first.data == (250, f"2.0.0 released: {first}".encode())
    await settle(proxy)
    # Released originals go to their own recipients; the mixed transaction went to its ordinary recipient only.
    both = (RECIPIENT, "dave@example.org")
    assert [m.rcpt_tos for m in relayed(upstream)] == [both, (RECIPIENT,), both]
    assert b"Subject: Re: Held for review" in relayed(upstream)[1].content


async def test_admin_release_from_the_command_line_is_relayed_by_the_running_proxy(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    proxy = await make_proxy(upstream=upstream.url)
    identifier, _ = await hold_and_get_release_address(proxy, upstream)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy.cli", "held", "release", identifier, "--reason", "approved by the team lead",
        "--config", str(proxy.config_dir), cwd=PROJECT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert f"released {identifier}" in out.decode()
    # No wake-up crosses the process boundary: the worker's periodic look at the outbox finds it.
    await upstream.wait_for(2, timeout=15)
    [original] = relayed(upstream)
    assert original.mail_from == SENDER and original.rcpt_tos == (RECIPIENT, "dave@example.org")
    held = await store_of(proxy).get_held(identifier)
    assert held is not None and held.status == "released" and original.content == held.raw
    [event] = [e for e in await events(proxy) if e.verdict == "overridden"]
    assert event.override_reason == "approved by the team lead"
