"""The transparent relay: real smtplib clients, the in-process proxy, and a recording aiosmtpd upstream."""
from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import smtplib
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import regex
from aiosmtpd.smtp import SMTP

from checks.model import Finding, Severity, Span
import proxy.relay as relay_module
from proxy.config import load_config
from proxy.pipeline import Action, Decision, evaluate
from proxy.server import SERVER_IDENT
from conftest import (
    CORPORA,
    LOCALHOST,
    ProxyFactory,
    RecordingUpstream,
    RunningProxy,
    crlf,
    send,
    split_trace,
    write_config,
)

PROJECT = Path(__file__).resolve().parents[1]
SENDER = "alice@example.com"

PLAIN = crlf(
    "From: Alice <alice@example.com>\n"
    "To: Bob <bob@example.com>, Carol <carol@example.com>\n"
    "Subject: Quarterly numbers\n"
    "Message-ID: <q3-numbers@example.com>\n"
    "\n"
    "Hi both,\n"
    "\n"
    ".the attached sheet has the quarterly numbers; a line starting with a dot must survive.\n"
    "..and so must two dots.\n"
    "\n"
    "Alice\n"
)

TRACE = regex.compile(
    rb"Received: from (?P<helo>\S+) \((?P<ip>[0-9.]+)\)\r\n"
    rb"\tby (?P<host>\S+) \(oopsguard\) with (?P<proto>E?SMTP|UTF8SMTP) id (?P<id>[0-9a-f]{12});\r\n"
    rb"\t(?P<date>\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})\r\n")


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket() as probe:
        probe.bind((LOCALHOST, 0))
        return probe.getsockname()[1]


def assert_relayed_unchanged(received: bytes, original: bytes) -> Any:
    """The upstream got exactly the original bytes behind one well-formed trace header; returns its match."""
    trace, rest = split_trace(received)
    match = TRACE.fullmatch(trace)
    assert match is not None, trace
    assert rest == original
    return match


async def test_clean_message_is_relayed_byte_identical_with_one_trace_header(
        proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    refused = await send(proxy.port, SENDER, ["bob@example.com", "carol@example.com"], PLAIN)
    assert refused == {}
    assert len(upstream.received) == 1
    got = upstream.received[0]
    assert got.mail_from == SENDER
    assert got.rcpt_tos == ("bob@example.com", "carol@example.com")
    match = assert_relayed_unchanged(got.content, PLAIN)
    assert match["ip"] == b"127.0.0.1"
    assert match["host"] == b"oopsguard.localdomain"
    assert match["proto"] == b"ESMTP"


async def test_null_sender_and_quoted_local_part_keep_their_envelope(
        proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    def exchange() -> None:
        with smtplib.SMTP(LOCALHOST, proxy.port) as client:
            client.ehlo("client.test")
            assert client.docmd("MAIL", "FROM:<>")[0] == 250
            assert client.docmd("RCPT", 'TO:<"john doe"@example.com>')[0] == 250
            assert client.data(PLAIN)[0] == 250

    await asyncio.to_thread(exchange)
    got = upstream.received[0]
    assert got.mail_from == "<>"
    assert got.rcpt_tos == ('"john doe"@example.com',)
    assert TRACE.fullmatch(split_trace(got.content)[0])["helo"] == b"client.test"


async def test_upstream_down_gives_451_and_nothing_is_accepted(make_proxy: ProxyFactory) -> None:
    running = await make_proxy(upstream=f"smtp://{LOCALHOST}:{closed_port()}", upstream_timeout=5)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send(running.port, SENDER, ["bob@example.com"], PLAIN)
    assert refused.value.smtp_code == 451
    assert refused.value.smtp_error.startswith(b"4.4.1")


async def test_upstream_that_never_answers_times_out_with_451(make_proxy: ProxyFactory) -> None:
    silent: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, LOCALHOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        running = await make_proxy(upstream=f"smtp://{LOCALHOST}:{port}", upstream_timeout=0.5)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await send(running.port, SENDER, ["bob@example.com"], PLAIN)
        assert refused.value.smtp_code == 451
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_upstream_refusing_one_recipient_is_mirrored_per_recipient(
        make_upstream: Any, make_proxy: ProxyFactory) -> None:
    upstream = await make_upstream(refuse_recipients={"nobody@example.com": "550 5.1.1 No such user here"})
    running = await make_proxy(upstream=upstream.url)
    refused = await send(running.port, SENDER, ["bob@example.com", "nobody@example.com", "carol@example.com"],
                         PLAIN)
    assert refused == {"nobody@example.com": (550, b"5.1.1 No such user here")}
    assert len(upstream.received) == 1
    assert upstream.received[0].rcpt_tos == ("bob@example.com", "carol@example.com")
    assert_relayed_unchanged(upstream.received[0].content, PLAIN)


async def test_upstream_data_refusal_is_mirrored(make_upstream: Any, make_proxy: ProxyFactory) -> None:
    upstream = await make_upstream(data_reply="554 5.6.0 Content refused by policy")
    running = await make_proxy(upstream=upstream.url)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(running.port, SENDER, ["bob@example.com"], PLAIN)
    assert (refused.value.smtp_code, refused.value.smtp_error) == (554, b"5.6.0 Content refused by policy")


async def test_client_outside_allowed_clients_gets_550_for_every_command(
        proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    def exchange() -> list[tuple[int, bytes]]:
        with smtplib.SMTP(LOCALHOST, proxy.port, source_address=("127.0.0.2", 0)) as client:
            client.ehlo()
            return [client.mail(SENDER), client.rcpt("bob@example.com"), client.docmd("DATA"),
                    client.docmd("VRFY", "bob@example.com")]

    answers = await asyncio.to_thread(exchange)
    assert [code for code, _ in answers] == [550, 550, 550, 550]
    assert all(text.startswith(b"5.7.1") for _, text in answers)
    assert upstream.connections == 0 and upstream.received == []


async def test_oversize_message_gets_552_at_mail_and_at_data(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    running = await make_proxy(upstream=upstream.url, max_message_size=2000)
    big = PLAIN + b"filler line of text for the size limit\r\n" * 100

    # smtplib announces SIZE=..., so the refusal comes at MAIL FROM.
    with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:
        await send(running.port, SENDER, ["bob@example.com"], big)
    assert (at_mail.value.smtp_code, at_mail.value.smtp_error) == (552, b"5.3.4 Message too big")

    # Without SIZE the proxy counts the data itself; afterwards the same session still relays normally.
    def exchange() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP(LOCALHOST, running.port) as client:
            client.ehlo()
            client.mail(SENDER)
            client.rcpt("bob@example.com")
            too_big = client.data(big)
            client.mail(SENDER)
            client.rcpt("bob@example.com")
            return too_big, client.data(PLAIN)

    too_big, fine = await asyncio.to_thread(exchange)
    assert too_big == (552, b"5.3.4 Message too big")
    assert fine[0] == 250
    assert len(upstream.received) == 1
    assert_relayed_unchanged(upstream.received[0].content, PLAIN)
    assert upstream.connections == 1  # the aborted transaction was reset, not left to rot


async def test_too_many_recipients_gets_452(make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    running = await make_proxy(upstream=upstream.url, max_recipients=2)
    refused = await send(running.port, SENDER, ["a@example.com", "b@example.com", "c@example.com"], PLAIN)
    assert refused == {"c@example.com": (452, b"4.5.3 Too many recipients")}
    assert upstream.received[0].rcpt_tos == ("a@example.com", "b@example.com")


EIGHT_BIT = (
    "From: Zoë <zoe@example.com>\n"
    "To: ünicode@example.com\n"
    "Subject: Grüße aus Köln – 東京\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: 8bit\n"
    "\n"
    "Bis später, naïve café crème. Привет.\n"
).encode("utf-8").replace(b"\n", b"\r\n")


async def test_8bit_body_and_smtputf8_address_are_carried_through(
        proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    refused = await send(proxy.port, "zoë@example.com", ["ünicode@example.com"], EIGHT_BIT,
                         mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert refused == {}
    got = upstream.received[0]
    assert got.mail_from == "zoë@example.com"
    assert got.rcpt_tos == ("ünicode@example.com",)
    assert "SMTPUTF8" in got.mail_options and "BODY=8BITMIME" in got.mail_options
    match = assert_relayed_unchanged(got.content, EIGHT_BIT)
    assert match["proto"] == b"UTF8SMTP"


async def test_smtputf8_to_an_upstream_without_it_is_refused_precisely(
        make_upstream: Any, make_proxy: ProxyFactory) -> None:
    upstream = await make_upstream(smtputf8=False)
    running = await make_proxy(upstream=upstream.url)
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send(running.port, SENDER, ["ünicode@example.com"], EIGHT_BIT, mail_options=["SMTPUTF8"])
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.startswith(b"5.6.7")
    assert upstream.received == []
    # Plain 8BITMIME still goes through that upstream unchanged.
    await send(running.port, SENDER, ["bob@example.com"], EIGHT_BIT, mail_options=["BODY=8BITMIME"])
    assert_relayed_unchanged(upstream.received[0].content, EIGHT_BIT)


MALFORMED = [
    "testmsgs/malformedHeader-nocrlfcrlf.msg",
    "testmsgs/malformedHeaderStartsBody-noheader.msg",
    "testmsgs/missing-boundary.msg",
    "testmsgs/very-long-boundary.msg",
    "mimetools-testmsgs/badbound.msg",
]


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_mime_is_relayed_unchanged(
        name: str, make_upstream: Any, make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    raw = crlf((CORPORA / "mime4j-testmsgs" / name).read_bytes())
    # The same bytes sent straight to an upstream are the reference for "unchanged".
    direct = await make_upstream()
    await send(direct.port, SENDER, ["bob@example.com"], raw)
    running = await make_proxy(upstream=upstream.url)
    await send(running.port, SENDER, ["bob@example.com"], raw)
    assert_relayed_unchanged(upstream.received[0].content, direct.received[0].content)


async def test_long_lines_are_relayed_unchanged(proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    """Lines over RFC 5321's 1000 octets occur in real ordinary mail; a transparent relay passes them on."""
    raw = crlf((CORPORA / "mime4j-testmsgs" / "testmsgs" / "basic-plain-very-long-lines.msg").read_bytes())
    raw += b"" if raw.endswith(b"\r\n") else b"\r\n"  # what the client puts on the wire
    assert max(len(line) for line in raw.split(b"\r\n")) > 7000
    await send(proxy.port, SENDER, ["bob@example.com"], raw)
    assert_relayed_unchanged(upstream.received[-1].content, raw)


async def test_a_line_beyond_the_limit_gets_a_precise_refusal(proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    raw = b"Subject: one very long line\r\n\r\n" + b"x" * (2 * 1024 * 1024) + b"\r\n"
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(proxy.port, SENDER, ["bob@example.com"], raw)
    assert refused.value.smtp_code == 500 and refused.value.smtp_error.startswith(b"5.5.2 ")
    assert upstream.received == []


async def test_maildir_upstream_writes_a_byte_identical_file(make_proxy: ProxyFactory, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    running = await make_proxy(upstream=f"maildir:{outbox}")
    assert {p.name for p in outbox.iterdir()} == {"tmp", "new", "cur"}
    await send(running.port, SENDER, ["bob@example.com", "carol@example.com"], PLAIN)
    files = list((outbox / "new").iterdir())
    assert len(files) == 1 and list((outbox / "tmp").iterdir()) == []
    assert_relayed_unchanged(files[0].read_bytes(), PLAIN)


async def test_upstream_connections_are_reused(proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    for number in range(20):
        await send(proxy.port, SENDER, ["bob@example.com"], PLAIN.replace(b"Quarterly", b"Report %d" % number))
    assert len(upstream.received) == 20
    assert upstream.connections <= 2


async def test_one_log_line_per_message_without_addresses(
        proxy: RunningProxy, upstream: RecordingUpstream, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="oopsguard.proxy"):
        await send(proxy.port, SENDER, ["bob@example.com"], PLAIN)
    lines = [r.getMessage() for r in caplog.records if r.name == "oopsguard.proxy"]
    message_id = TRACE.fullmatch(split_trace(upstream.received[0].content)[0])["id"].decode()
    assert len(lines) == 1
    assert regex.fullmatch(rf"id={message_id} team=default verdict=delivered rules=- upstream=250 ms=[0-9.]+",
                           lines[0]), lines[0]
    assert "@" not in lines[0]


def _failing_evaluator(raw: bytes, *args: Any, **kwargs: Any) -> Decision:
    if b"EXPLODE" in raw:
        raise ValueError("a bug in a rule")
    return evaluate(raw, *args, **kwargs)


async def test_pipeline_error_gives_451_and_the_session_goes_on(
        make_proxy: ProxyFactory, upstream: RecordingUpstream, caplog: pytest.LogCaptureFixture) -> None:
    running = await make_proxy(upstream=upstream.url, evaluator=_failing_evaluator)
    bad = PLAIN.replace(b"Hi both", b"EXPLODE secret body words")

    def exchange() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP(LOCALHOST, running.port) as client:
            client.ehlo()
            client.mail(SENDER)
            client.rcpt("bob@example.com")
            failed = client.data(bad)
            client.mail(SENDER)
            client.rcpt("bob@example.com")
            return failed, client.data(PLAIN)

    with caplog.at_level(logging.INFO, logger="oopsguard.proxy"):
        failed, fine = await asyncio.to_thread(exchange)
    assert failed[0] == 451 and failed[1].startswith(b"4.3.0")
    assert fine[0] == 250
    assert len(upstream.received) == 1 and b"EXPLODE" not in upstream.received[0].content
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ValueError" in errors[0] and "secret" not in errors[0]
    assert upstream.connections == 1


def _holding_evaluator(raw: bytes, config: Any, checks: Any, team: Any, **kwargs: Any) -> Decision:
    finding = Finding("blame-names", Severity.BLOCK, Span(10, 30, 3, 12), "because Priya forgot",
                      "Naming a colleague as the cause makes the notice about blame.",
                      "Describe what happened to the system, not who did it.")
    # REJECT is on_block = "reject": refused in the SMTP reply (a HOLD is stored and answered 250, see test_hold_*).
    return Decision(Action.REJECT, (finding,), "blocking findings: blame-names", team.name)


async def test_blocked_message_is_refused_with_its_findings_and_never_reaches_upstream(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    running = await make_proxy(upstream=upstream.url, evaluator=_holding_evaluator)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(running.port, SENDER, ["bob@example.com"], PLAIN)
    assert refused.value.smtp_code == 550
    text = refused.value.smtp_error.decode()
    assert text.startswith("5.7.1 ")
    assert "line 3 [blame-names]" in text and '"because Priya forgot"' in text
    assert "fix: Describe what happened" in text
    assert all(line.startswith("5.7.1 ") for line in text.split("\n"))
    assert upstream.received == []


def _gated_evaluator(gate: threading.Event, started: threading.Event) -> Any:
    def gated(raw: bytes, *args: Any, **kwargs: Any) -> Decision:
        if len(raw) > 1_000_000:
            started.set()
            gate.wait(timeout=30)  # if the proxy ran this on its event loop, nothing else could happen meanwhile
        return evaluate(raw, *args, **kwargs)

    return gated


async def test_a_20_mb_message_being_checked_does_not_hold_up_another_session(
        make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    gate, started = threading.Event(), threading.Event()
    running = await make_proxy(upstream=upstream.url, evaluator=_gated_evaluator(gate, started))
    paragraph = ("I apologize for the outage this morning. We made a mistake in the rollout and "
                 "we are sorry for the trouble it caused.\n")
    big = crlf("From: Alice <alice@example.com>\nTo: all-staff@example.com\nSubject: [oops] outage\n"
               "X-Oops: yes\n\n" + paragraph * (20_000_000 // len(paragraph)))
    finished: list[str] = []
    delivered_big: list[bool] = []

    async def send_big() -> None:
        try:
            await send(running.port, SENDER, ["all-staff@example.com"], big)
            delivered_big.append(True)
        except smtplib.SMTPDataError as refused:
            # The rules may well refuse this apology: that is a decision too, which is all this test needs.
            assert refused.smtp_code == 550 and refused.smtp_error.startswith(b"5.7.1"), refused
            delivered_big.append(False)
        finished.append("big")

    big_task = asyncio.create_task(send_big())
    try:
        await asyncio.wait_for(asyncio.to_thread(started.wait, 60), 90)
        assert started.is_set() and running.server.checks_in_progress == 1
        await send(running.port, SENDER, ["bob@example.com"], PLAIN)
        finished.append("small")
    finally:
        gate.set()
        await big_task
    assert finished == ["small", "big"]
    assert len(upstream.received) == 1 + delivered_big.count(True)


async def _read_until(stream: asyncio.StreamReader, needle: str, seen: list[str], timeout: float = 30) -> str:
    async with asyncio.timeout(timeout):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("process ended early:\n" + "".join(seen))
            seen.append(line)
            if needle in line:
                return line


async def test_sighup_reloads_and_sigterm_finishes_the_message_in_flight_then_exits_0(
        upstream: RecordingUpstream, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", {"listen": f"{LOCALHOST}:0", "upstream": upstream.url,
                                                "allowed_clients": ["127.0.0.1/32"]},
                          store={"path": str(tmp_path / "var" / "oopsguard.db")})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy.cli", "serve", "--config", str(config),
        cwd=PROJECT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stderr is not None
    seen: list[str] = []
    try:
        line = await _read_until(process.stderr, "listening on", seen)
        port = int(regex.search(r"listening on 127\.0\.0\.1:(\d+)", line)[1])
        process.send_signal(signal.SIGHUP)  # systemd's reload: the service must re-read its files and go on
        await _read_until(process.stderr, "configuration reloaded", seen)
        client = await asyncio.to_thread(smtplib.SMTP, LOCALHOST, port, timeout=30)
        try:
            await asyncio.to_thread(client.ehlo)
            assert (await asyncio.to_thread(client.mail, SENDER))[0] == 250
            assert (await asyncio.to_thread(client.rcpt, "bob@example.com"))[0] == 250
            assert (await asyncio.to_thread(client.docmd, "DATA"))[0] == 354
            wire = PLAIN.replace(b"\r\n.", b"\r\n..")  # dot-stuffing, as smtplib.data() would do
            half = len(wire) // 2
            await asyncio.to_thread(client.send, wire[:half])

            process.send_signal(signal.SIGTERM)
            await _read_until(process.stderr, "stopped listening", seen)
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((LOCALHOST, port), timeout=5).close()

            await asyncio.to_thread(client.send, wire[half:] + b".\r\n")
            code, _ = await asyncio.to_thread(client.getreply)
            assert code == 250
            await asyncio.to_thread(client.docmd, "QUIT")
        finally:
            client.close()
        rest = await asyncio.wait_for(process.stderr.read(), 30)
        seen.append(rest.decode())
        assert await asyncio.wait_for(process.wait(), 30) == 0, "".join(seen)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert len(upstream.received) == 1
    assert_relayed_unchanged(upstream.received[0].content, PLAIN)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOCALHOST, port), timeout=5).close()


async def test_bad_configuration_exits_2_with_file_key_and_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", {"listen": f"{LOCALHOST}:0", "upstream": "ftp://example.com"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy.cli", "serve", "--config", str(config), cwd=PROJECT,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, errors = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    text = errors.decode()
    assert f"{config / 'oopsguard.toml'}: proxy.upstream: expected maildir:PATH" in text
    assert "Traceback" not in text


async def test_reload_applies_new_settings_to_new_sessions(
        proxy: RunningProxy, upstream: RecordingUpstream, make_upstream: Any) -> None:
    other = await make_upstream()
    directory = write_config(proxy.config_dir, {"listen": f"{LOCALHOST}:0", "upstream": other.url,
                                                "allowed_clients": ["127.0.0.1/32", "127.0.0.2/32"]})
    proxy.server.reload(load_config(directory))
    await send(proxy.port, SENDER, ["bob@example.com"], PLAIN, source_address=("127.0.0.2", 0))
    assert upstream.received == [] and len(other.received) == 1


def _attribute_summary(protocol: SMTP) -> dict[str, Any]:
    """What an SMTP instance was set up with, in comparable form (bound methods by function and owner)."""
    def comparable(value: Any) -> Any:
        if inspect.ismethod(value):
            return (value.__func__, "self" if value.__self__ is protocol else type(value.__self__))
        if isinstance(value, dict):
            return {key: comparable(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return tuple(comparable(item) for item in value)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        return type(value)

    return {name: comparable(value) for name, value in vars(protocol).items()}


async def test_cached_protocol_setup_matches_aiosmtpd(proxy: RunningProxy) -> None:
    from proxy.server import _RECIPES, GuardSMTP

    fast = proxy.server._make_protocol()
    fast = proxy.server._make_protocol()  # the first one may have been the learning, full set-up
    recipe = _RECIPES[(GuardSMTP, type(fast.event_handler))]
    assert recipe.usable and recipe.verified
    reference = GuardSMTP.__new__(GuardSMTP)
    reference.__dict__.update(guard=fast.guard, client_allowed=False, last_reply=0.0, _mail_pending=False,
                              pending_abort=None)
    SMTP.__init__(reference, fast.event_handler, hostname="oopsguard.localdomain", ident=SERVER_IDENT,
                  data_size_limit=fast.data_size_limit, enable_SMTPUTF8=True, decode_data=False,
                  loop=asyncio.get_running_loop())
    assert _attribute_summary(fast) == _attribute_summary(reference)


@pytest.mark.parametrize("argument", [
    "<a@example.com>", "<A.B+c_d@Ex-ample.COM> SIZE=100 BODY=8BITMIME", "<o'neil@x.example>",
    "<a..b@example.com>", "<.a@example.com>", "<a@example.com.>", '<"john doe"@example.com>',
    "<a@[127.0.0.1]>", "<>", "<a@example.com> (comment) SIZE=1", "<ünicode@example.com>", "a@example.com",
    "<@relay.example:a@example.com>", "<a@example.com>\tSIZE=5",
])
async def test_fast_path_parsing_agrees_with_aiosmtpd(proxy: RunningProxy, argument: str) -> None:
    protocol = proxy.server._make_protocol()
    assert protocol._getaddr(argument) == SMTP._getaddr(protocol, argument)


async def test_pooled_connection_closed_by_the_upstream_is_replaced(
        proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    await send(proxy.port, SENDER, ["bob@example.com"], PLAIN)
    upstream.drop_connections()
    await asyncio.sleep(0.05)
    await send(proxy.port, SENDER, ["bob@example.com"], PLAIN)
    assert len(upstream.received) == 2
    assert upstream.connections == 2


async def test_idle_pooled_connection_is_checked_with_noop_before_reuse(
        proxy: RunningProxy, upstream: RecordingUpstream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay_module, "NOOP_AFTER_IDLE", 0.0)
    for _ in range(3):
        await send(proxy.port, SENDER, ["bob@example.com"], PLAIN)
    assert len(upstream.received) == 3
    assert upstream.connections == 1 and upstream.noops == 2
