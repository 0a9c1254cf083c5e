"""The relay against real third-party SMTP clients: swaks, msmtp and Postfix smtp-source (concurrency)."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
import regex

from conftest import LOCALHOST, ProxyFactory, RecordingUpstream, RunningProxy, crlf, split_trace

pytestmark = pytest.mark.slow

SWAKS = shutil.which("swaks")
MSMTP = shutil.which("msmtp")
SMTP_SOURCE = shutil.which("smtp-source") or ("/usr/sbin/smtp-source" if Path("/usr/sbin/smtp-source").exists()
                                               else None)

MESSAGE = crlf(
    "From: Dana <dana@example.com>\n"
    "To: Marcus <marcus@example.com>\n"
    "Subject: Rack move on Thursday\n"
    "Date: Mon, 16 Nov 2026 09:30:00 +0100\n"
    "Message-ID: <rack-move-42@example.com>\n"
    "\n"
    "Hi Marcus,\n"
    "\n"
    "the rack move is still on for Thursday at ten.\n"
    ".A line that starts with a dot.\n"
    "\n"
    "Dana\n"
)


async def run(*command: str, stdin: bytes | None = None, timeout: float = 120) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(stdin), timeout)
    assert process.returncode is not None
    return process.returncode, output.decode("utf-8", "replace")


def body_of(content: bytes) -> bytes:
    return content.split(b"\r\n\r\n", 1)[1]


@pytest.mark.skipif(SWAKS is None, reason="swaks is not installed (CI installs it: apt-get install swaks)")
async def test_swaks_exchange(proxy: RunningProxy, upstream: RecordingUpstream, tmp_path: Path) -> None:
    message_file = tmp_path / "message.eml"
    message_file.write_bytes(MESSAGE[:-2])  # swaks ends DATA with CRLF "." CRLF itself
    assert SWAKS is not None
    code, output = await run(SWAKS, "--server", LOCALHOST, "--port", str(proxy.port), "--helo", "swaks.test",
                             "--from", "dana@example.com", "--to", "marcus@example.com",
                             "--data", f"@{message_file}")
    assert code == 0, output
    assert regex.search(r"<-\s+250 2\.0\.0", output), output
    got = upstream.received[0]
    assert (got.mail_from, got.rcpt_tos) == ("dana@example.com", ("marcus@example.com",))
    trace, rest = split_trace(got.content)
    assert trace.startswith(b"Received: from swaks.test (127.0.0.1)\r\n")
    assert rest == MESSAGE


@pytest.mark.skipif(MSMTP is None, reason="msmtp is not installed (CI installs it: apt-get install msmtp)")
async def test_msmtp_exchange(proxy: RunningProxy, upstream: RecordingUpstream, tmp_path: Path) -> None:
    config = tmp_path / "msmtprc"
    config.write_text(
        "defaults\n"
        "account proxy\n"
        f"host {LOCALHOST}\n"
        f"port {proxy.port}\n"
        "auth off\n"
        "tls off\n"
        "from dana@example.com\n"
        "domain msmtp.test\n"
        "account default : proxy\n", encoding="ascii")
    config.chmod(0o600)  # msmtp refuses configuration files others can read
    assert MSMTP is not None
    code, output = await run(MSMTP, "-C", str(config), "marcus@example.com", stdin=MESSAGE)
    assert code == 0, output
    got = upstream.received[0]
    assert (got.mail_from, got.rcpt_tos) == ("dana@example.com", ("marcus@example.com",))
    assert split_trace(got.content)[1] == MESSAGE


SOURCE_HEADERS = regex.compile(
    rb"From: <sender@example\.com>\r\nTo: <rcpt@example\.com>\r\nDate: [^\r\n]+\r\nMessage-Id: <([^>\r\n]+)>\r\n\r\n")


@pytest.mark.skipif(SMTP_SOURCE is None, reason="smtp-source is not installed (CI installs postfix)")
async def test_smtp_source_200_messages_over_10_sessions(
        make_upstream: object, make_proxy: ProxyFactory, upstream: RecordingUpstream) -> None:
    assert SMTP_SOURCE is not None
    source_args = ["-f", "sender@example.com", "-t", "rcpt@example.com", "-l", "4000"]
    # What smtp-source sends, captured directly: its body is the same for every message.
    direct: RecordingUpstream = await make_upstream()  # type: ignore[operator]
    code, output = await run(SMTP_SOURCE, "-m", "1", *source_args, f"{LOCALHOST}:{direct.port}")
    assert code == 0, output
    reference_body = body_of(direct.received[0].content)
    assert len(reference_body) >= 4000

    running = await make_proxy(upstream=upstream.url)
    code, output = await run(SMTP_SOURCE, "-s", "10", "-m", "200", *source_args, f"{LOCALHOST}:{running.port}")
    assert code == 0, output
    assert len(upstream.received) == 200
    message_ids = set()
    for got in upstream.received:
        assert (got.mail_from, got.rcpt_tos) == ("sender@example.com", ("rcpt@example.com",))
        trace, rest = split_trace(got.content)
        assert trace.startswith(b"Received: from ")
        headers = SOURCE_HEADERS.match(rest)
        assert headers is not None, rest[:300]
        message_ids.add(headers[1])
        assert rest[headers.end():] == reference_body
    assert len(message_ids) == 200  # every message arrived exactly once
    assert upstream.connections <= 8  # pooled: far fewer upstream connections than messages
