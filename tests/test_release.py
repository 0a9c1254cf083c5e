"""Signed release tokens and addresses, the key file, and the reason taken from a release reply."""
from __future__ import annotations

import base64
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from proxy.config import load_config
from proxy.release import (
    KeyFileError,
    key_path,
    load_or_create_key,
    make_token,
    parse_release_address,
    release_address,
    release_base,
    release_reason_from_reply,
    verify_token,
)

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
EXPIRES = NOW + timedelta(days=14)
KEY = bytes(range(32))
SENDER = "dana@platform.example.com"


def test_round_trip_through_the_release_address() -> None:
    token = make_token(KEY, "H7K2Q9XW4M3A8BCD", SENDER, EXPIRES)
    address = release_address(token, "example.com")
    local = address.split("@")[0]
    assert len(local) <= 64  # RFC 5321 local-part limit
    assert token.isalnum() and token == token.lower()
    assert parse_release_address(f"oopsguard <{address}>") == token
    assert parse_release_address(address.upper()) == token  # an MTA that upper-cases the local part
    result = verify_token(KEY, parse_release_address(address) or "", "Dana <DANA@Platform.Example.com>", NOW)
    assert (result.ok, result.held_id, result.reason) == (True, "H7K2Q9XW4M3A8BCD", "")
    assert result.token_id == token


def test_parse_release_address_rejects_other_addresses() -> None:
    assert parse_release_address("dana@example.com") is None
    assert parse_release_address("release@example.com") is None
    assert parse_release_address("other+abc@example.com") is None
    assert parse_release_address("release+not-base32!@example.com") is None
    assert parse_release_address("oops-release+abcd@example.com", local_part="oops-release") == "abcd"


def test_forged_signature_is_refused() -> None:
    token = make_token(KEY, "H1", SENDER, EXPIRES)
    payload = bytearray(base64.b32decode(token.upper() + "=" * (-len(token) % 8)))
    payload[-8] ^= 0x01  # flip one bit of the signature
    forged = base64.b32encode(bytes(payload)).decode().rstrip("=").lower()
    assert verify_token(KEY, forged, SENDER, NOW).reason == "bad signature"
    # A token made with someone else's key is just as foreign.
    assert verify_token(b"\x00" * 32, token, SENDER, NOW).reason == "bad signature"


def test_token_cannot_be_moved_to_another_held_message() -> None:
    token = make_token(KEY, "H1", SENDER, EXPIRES)
    payload = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    moved = base64.b32encode(b"H2" + payload[2:]).decode().rstrip("=").lower()
    result = verify_token(KEY, moved, SENDER, NOW)
    assert (result.ok, result.held_id, result.reason) == (False, None, "bad signature")


def test_later_expiry_cannot_be_forged() -> None:
    token = make_token(KEY, "H1", SENDER, NOW - timedelta(seconds=1))
    payload = bytearray(base64.b32decode(token.upper() + "=" * (-len(token) % 8)))
    payload[2:6] = int((NOW + timedelta(days=1)).timestamp()).to_bytes(4, "big")
    stretched = base64.b32encode(bytes(payload)).decode().rstrip("=").lower()
    assert verify_token(KEY, stretched, SENDER, NOW).reason == "bad signature"


def test_expired_token_is_refused() -> None:
    token = make_token(KEY, "H1", SENDER, EXPIRES)
    assert verify_token(KEY, token, SENDER, EXPIRES).ok is True  # still valid at the very second
    late = verify_token(KEY, token, SENDER, EXPIRES + timedelta(seconds=1))
    assert (late.ok, late.held_id, late.reason) == (False, "H1", "expired")


def test_reply_from_another_address_is_refused() -> None:
    token = make_token(KEY, "H1", SENDER, EXPIRES)
    result = verify_token(KEY, token, "marcus@platform.example.com", NOW)
    assert (result.ok, result.reason) == (False, "wrong sender")
    assert verify_token(KEY, token, "", NOW).reason == "wrong sender"


@pytest.mark.parametrize("token", ["", "a", "!!!!", "abc", "a" * 500, "0189", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"])
def test_malformed_tokens(token: str) -> None:
    result = verify_token(KEY, token, SENDER, NOW)
    assert result.ok is False and result.reason in ("malformed", "bad signature") and result.held_id is None
    if len(token) < 30:
        assert result.reason == "malformed"


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "release.key"
    old_umask = os.umask(0o022)
    try:
        first = load_or_create_key(path)
    finally:
        os.umask(old_umask)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == first  # the second start reuses the key
    assert [p.name for p in path.parent.iterdir()] == ["release.key"]  # no temporary file left behind
    other = load_or_create_key(tmp_path / "other.key")
    assert other != first


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "release.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_or_create_key(path)


def test_key_file_of_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "release.key"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(descriptor, b"short")
    os.close(descriptor)
    with pytest.raises(KeyFileError, match="expected 32 bytes"):
        load_or_create_key(path)


def test_key_path_and_release_base_follow_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "oopsguard.toml").write_text('[store]\npath = "state/og.db"\n'
                                             '[proxy]\nbounce_from = "og@corp.example"\n')
    config = load_config(tmp_path)
    assert key_path(config) == Path("state/release.key")
    assert release_base(config) == ("release", "corp.example")
    (tmp_path / "oopsguard.toml").write_text('[store]\nkey_file = "/etc/og/key"\n'
                                             '[proxy]\nrelease_address = "oops-release@mail.corp.example"\n')
    config = load_config(tmp_path)
    assert key_path(config) == Path("/etc/og/key")
    assert release_base(config) == ("oops-release", "mail.corp.example")


def reply(body: str, content_type: str = "text/plain") -> bytes:
    return (f"From: dana@platform.example.com\r\nTo: release+abc@example.com\r\nSubject: Re: Held for review\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\r\n{body}").encode()


def test_release_reason_is_the_first_line_of_new_text() -> None:
    raw = reply("\r\n  The customer asked for this exact wording.  \r\nSecond line\r\n\r\n"
                "On Tue, 3 Mar 2026, oopsguard wrote:\r\n> 2 things to change\r\n")
    assert release_reason_from_reply(raw) == "The customer asked for this exact wording."


def test_release_reason_is_empty_when_only_quoted_text() -> None:
    assert release_reason_from_reply(reply("On Tue, 3 Mar 2026, oopsguard wrote:\r\n> text\r\n")) == ""
    assert release_reason_from_reply(reply("> quoted only\r\n")) == ""
    assert release_reason_from_reply(reply("\r\n\r\n")) == ""
    assert release_reason_from_reply(reply("iVBORw0KGgo=\r\n", content_type="image/png")) == ""
    assert isinstance(release_reason_from_reply(b"\xff\xfe\x00 not a message"), str)  # never raises


def test_release_reason_is_capped_and_cleaned() -> None:
    raw = reply("x" * 2000 + "\x1b[2J\r\n")
    reason = release_reason_from_reply(raw)
    assert len(reason) == 500 and "\x1b" not in reason


def test_release_reason_from_multipart_reply() -> None:
    body = ("--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n"
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Legal approved the wording =E2=80=94 send it.\r\n--b--\r\n")
    raw = reply(body, content_type='multipart/alternative; boundary="b"')
    raw = raw.replace(b"; charset=utf-8\r\n\r\n--b", b"\r\n\r\n--b", 1)
    assert release_reason_from_reply(raw) == "Legal approved the wording \u2014 send it."
