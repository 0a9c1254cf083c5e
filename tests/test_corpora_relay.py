"""Real mail from the shared corpora, sent over SMTP through the in-process proxy to a recording upstream."""
from __future__ import annotations

import asyncio
import queue
import smtplib
import socket
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import regex

from conftest import LOCALHOST, RecordingUpstream, RunningProxy, crlf, send, split_trace

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
HAM_FOLDERS = {"spamassassin-ham": 1200, "usrp-users-list": 300}
EDGE_FOLDERS = {"mikel-mail-fixtures": 103, "mime4j-testmsgs": 80}
NOT_MESSAGES = {"MANIFEST.tsv", "SOURCE.txt"}
SENDER = "corpus-sender@example.com"
RECIPIENT = "corpus-recipient@example.org"
SESSIONS = 4  # concurrent client sessions: enough to overlap network waits and checks on 2 cores
CLIENT_TIMEOUT = 20.0  # a stall shows up as a timeout instead of hanging the run
TRACE = regex.compile(rb"Received: from \S+ \([0-9.]+\)\r\n\tby \S+ \(oopsguard\) with (?:E?SMTP|UTF8SMTP) "
                      rb"id [0-9a-f]{12};\r\n\t[^\r\n]+\r\n")
HELD = regex.compile(r"2\.0\.0 held for review: [0-9a-f]{12}")
ENHANCED_STATUS = regex.compile(r"[45]\.\d{1,3}\.\d{1,3}(?: |$)")

@dataclass(frozen=True)
class Corpus:
    """One message as the client puts it on the wire, and what the upstream must receive behind the trace."""

    folder: str
    name: str
    wire: bytes
    mail_options: tuple[str, ...]

    @property
    def expected(self) -> bytes:
        # smtplib ends the data with CRLF when the message does not; aiosmtpd keeps that line ending.
        return self.wire if self.wire.endswith(b"\r\n") else self.wire + b"\r\n"


@dataclass(frozen=True)
class Outcome:
    """What the proxy answered for one message; status is delivered, held, refused, dropped or timeout."""

    message: Corpus
    status: str
    code: int
    text: str

    def describe(self) -> str:
        return f"{self.message.folder}/{self.message.name}: {self.status} {self.code} {self.text[:160]!r}"


def strip_mbox_line(raw: bytes) -> bytes:
    """Drop a leading mbox `From ` separator line, which is not part of the message."""
    if raw.startswith(b"From "):
        newline = raw.find(b"\n")
        return raw[newline + 1:] if newline != -1 else b""
    return raw


def options_for(wire: bytes) -> tuple[str, ...]:
    """BODY=8BITMIME for any 8-bit byte; SMTPUTF8 as well when the header section carries UTF-8 (RFC 6532)."""
    if wire.isascii():
        return ()
    end = wire.find(b"\r\n\r\n")
    head = wire if end == -1 else wire[:end]
    if not head.isascii():
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            return ("BODY=8BITMIME",)  # legacy 8-bit charset in headers: not UTF-8, so SMTPUTF8 would be a lie
        return ("BODY=8BITMIME", "SMTPUTF8")
    return ("BODY=8BITMIME",)


def load_message(folder: str, name: str) -> Corpus:
    wire = crlf(strip_mbox_line((CORPORA / folder / name).read_bytes()))
    return Corpus(folder, name, wire, options_for(wire))


def load_folder(folder: str, expected_count: int) -> list[Corpus]:
    """Every message of a corpus folder, as the client puts it on the wire."""
    directory = CORPORA / folder
    if not directory.is_dir():
        pytest.skip(f"shared corpus {directory} is not available")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.name not in NOT_MESSAGES)
    assert len(files) == expected_count, f"{folder}: expected {expected_count} messages, found {len(files)}"
    names = (str(path.relative_to(directory)) for path in files)
    return [load_message(folder, name) for name in names]


class RecordingSMTP(smtplib.SMTP):
    """smtplib's client, keeping the DATA reply that sendmail() does not return (a hold is a 250 too)."""

    last_data: tuple[int, bytes] | None = None

    def data(self, msg: bytes) -> tuple[int, bytes]:  # type: ignore[override]
        self.last_data = reply = super().data(msg)
        return reply


def connect(port: int) -> RecordingSMTP:
    client = RecordingSMTP(LOCALHOST, port, timeout=CLIENT_TIMEOUT)
    client.ehlo("corpus-client.test")
    return client


def send_one(client: RecordingSMTP, message: Corpus) -> Outcome:
    client.last_data = None
    try:
        client.sendmail(SENDER, [RECIPIENT], message.wire, mail_options=list(message.mail_options))
    except smtplib.SMTPResponseException as refused:  # MAIL or DATA refused; sendmail has reset the transaction
        return Outcome(message, "refused", refused.smtp_code, refused.smtp_error.decode("utf-8", "replace"))
    except smtplib.SMTPRecipientsRefused as refused:
        code, text = refused.recipients[RECIPIENT]
        return Outcome(message, "refused", code, text.decode("utf-8", "replace"))
    assert client.last_data is not None
    code, text = client.last_data[0], client.last_data[1].decode("utf-8", "replace")
    return Outcome(message, "held" if HELD.fullmatch(text) else "delivered", code, text)


def session_worker(port: int, work: "queue.Queue[Corpus]", outcomes: list[Outcome]) -> None:
    """One client session working through the shared queue; a lost connection is recorded and replaced."""
    client: RecordingSMTP | None = None
    try:
        while True:
            try:
                message = work.get_nowait()
            except queue.Empty:
                return
            try:
                if client is None:
                    client = connect(port)
                outcomes.append(send_one(client, message))
            except (socket.timeout, TimeoutError) as error:
                outcomes.append(Outcome(message, "timeout", 0, repr(error)))
                client = _discard(client)
            except (smtplib.SMTPServerDisconnected, ConnectionError) as error:
                outcomes.append(Outcome(message, "dropped", 0, repr(error)))
                client = _discard(client)
    finally:
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _discard(client: RecordingSMTP | None) -> None:
    if client is not None:
        client.close()
    return None


async def relay_all(port: int, messages: list[Corpus]) -> list[Outcome]:
    work: "queue.Queue[Corpus]" = queue.Queue()
    for message in messages:
        work.put(message)
    outcomes: list[Outcome] = []  # list.append is atomic under the GIL, so the worker threads share it
    await asyncio.gather(*(asyncio.to_thread(session_worker, port, work, outcomes) for _ in range(SESSIONS)))
    assert len(outcomes) == len(messages)
    return outcomes


def unmatched_deliveries(outcomes: list[Outcome], upstream: RecordingUpstream) -> tuple[list[str], list[str]]:
    """Pair what the upstream got with what was delivered: (altered or lost deliveries, bad or unexpected arrivals)."""
    arrived: Counter[bytes] = Counter()
    bad_arrivals = []
    for got in upstream.received:
        trace, rest = split_trace(got.content)
        if not TRACE.fullmatch(trace):
            bad_arrivals.append(f"first header is not the proxy's trace: {trace[:120]!r}")
        arrived[rest] += 1
    altered = []
    for outcome in outcomes:
        if outcome.status != "delivered":
            continue
        if arrived[outcome.message.expected] > 0:
            arrived[outcome.message.expected] -= 1
        else:
            altered.append(f"{outcome.message.folder}/{outcome.message.name}: delivered (250) but the upstream "
                           f"did not get the client's bytes unchanged")
    bad_arrivals.extend(f"unexpected arrival of {len(rest)} bytes: {rest[:80]!r}"
                        for rest, count in arrived.items() for _ in range(count))
    return altered, bad_arrivals


def tally(folder: str, outcomes: list[Outcome]) -> str:
    counts = Counter(outcome.status for outcome in outcomes)
    codes = Counter(outcome.code for outcome in outcomes if outcome.status == "refused")
    code_text = ", ".join(f"{code}x{count}" for code, count in sorted(codes.items())) or "-"
    line = (f"{folder}: {len(outcomes)} sent, {counts['delivered']} delivered, {counts['held']} held, "
            f"{counts['refused']} refused (codes {code_text}), {counts['dropped']} dropped, "
            f"{counts['timeout']} timed out")
    print(line)
    return line


@pytest.mark.parametrize("folder", sorted(HAM_FOLDERS))
async def test_ham_is_relayed_byte_for_byte_and_nothing_is_held(
        folder: str, proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    messages = load_folder(folder, HAM_FOLDERS[folder])
    outcomes = await relay_all(proxy.port, messages)
    summary = tally(folder, outcomes)
    not_delivered = [outcome.describe() for outcome in outcomes if outcome.status != "delivered"]
    assert not_delivered == [], summary + "\n" + "\n".join(not_delivered)
    assert all(outcome.code == 250 for outcome in outcomes), summary
    altered, bad_arrivals = unmatched_deliveries(outcomes, upstream)
    assert altered == [] and bad_arrivals == [], summary + "\n" + "\n".join(altered + bad_arrivals)
    assert len(upstream.received) == len(messages), summary


@pytest.mark.parametrize("folder", sorted(EDGE_FOLDERS))
async def test_mime_edge_cases_are_delivered_unchanged_or_answered_precisely(
        folder: str, proxy: RunningProxy, upstream: RecordingUpstream) -> None:
    messages = load_folder(folder, EDGE_FOLDERS[folder])
    outcomes = await relay_all(proxy.port, messages)
    summary = tally(folder, outcomes)
    vague = [outcome.describe() for outcome in outcomes
             if outcome.status in ("dropped", "timeout")
             or (outcome.status == "refused" and not (400 <= outcome.code < 600
                                                      and ENHANCED_STATUS.match(outcome.text)))]
    assert vague == [], summary + "\nno precise SMTP answer:\n" + "\n".join(vague)
    altered, bad_arrivals = unmatched_deliveries(outcomes, upstream)
    assert altered == [] and bad_arrivals == [], summary + "\n" + "\n".join(altered + bad_arrivals)
    delivered = sum(outcome.status == "delivered" for outcome in outcomes)
    assert len(upstream.received) == delivered, summary
    # Still answering afterwards: a clean message goes straight through.
    clean = crlf(f"From: <{SENDER}>\nTo: <{RECIPIENT}>\nSubject: after the edge cases\n\nStill here.\n")
    assert await asyncio.wait_for(send(proxy.port, SENDER, [RECIPIENT], clean), CLIENT_TIMEOUT) == {}
    assert split_trace(upstream.received[-1].content)[1] == clean, summary
