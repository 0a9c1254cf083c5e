"""Signed release addresses: a reply to a bounce releases the held message, but only from its original sender."""
from __future__ import annotations

import base64
import binascii
import email
import email.policy
import email.utils
import hashlib
import hmac
import os
import secrets
import stat
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import Message
from pathlib import Path

from proxy.config import Config

KEY_BYTES = 32
DEFAULT_KEY_NAME = "release.key"
DEFAULT_LOCAL_PART = "release"
MAX_REASON = 500

# Token layout before base32: held id (UTF-8) | expiry (4 bytes, unix seconds, big-endian) | tag | sender tag.
# `tag` authenticates id and expiry; `sender_tag` binds them to the original sender. Two tags so a genuine
# token used from the wrong address is told apart from a forged one. 8 + 6 bytes keep "release+<token>"
# within the 64-octet local-part limit for ids of up to 16 characters.
_EXPIRY_BYTES = 4
_TAG_BYTES = 8
_SENDER_TAG_BYTES = 6
_TRAILER = _EXPIRY_BYTES + _TAG_BYTES + _SENDER_TAG_BYTES
_TOKEN_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
_MAX_TOKEN = 200  # ids are short; anything longer is not ours

REASON_OK = ""
REASON_MALFORMED = "malformed"
REASON_BAD_SIGNATURE = "bad signature"
REASON_EXPIRED = "expired"
REASON_WRONG_SENDER = "wrong sender"


class KeyFileError(Exception):
    """The release key file is unusable (unreadable, wrong size or readable by others)."""


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking a release token; `held_id` is set only once the token is known to be genuine."""

    ok: bool
    held_id: str | None
    reason: str
    token_id: str = ""  # the canonical token, for the store's single-use check


# -- key file -------------------------------------------------------------------------


def key_path(config: Config) -> Path:
    """`[store] key_file`, else `release.key` next to the database."""
    store = config.main.store
    if store.key_file:
        return Path(store.key_file)
    return Path(store.path).parent / DEFAULT_KEY_NAME


def _read_key(path: Path) -> bytes:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{path}: not a regular file")
        if info.st_mode & 0o077:
            # Anyone who can read the key can release any held message: refuse rather than use it.
            raise KeyFileError(f"{path}: readable by other users (mode {stat.S_IMODE(info.st_mode):04o});"
                               f" run chmod 600 {path}")
        key = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"{path}: {error.strerror or error}") from None
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: expected {KEY_BYTES} bytes, found {len(key)}")
    return key


def load_or_create_key(path: str | Path) -> bytes:
    """The release key, created on first start: 32 random bytes, mode 0600, never readable by others.

    Written to a private temporary file and hard-linked into place, so a second process starting at
    the same moment either links first or reads a complete key, never a half-written one.
    """
    target = Path(path)
    if target.exists():
        return _read_key(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask did, the owner must be able to read it back
        os.write(descriptor, secrets.token_bytes(KEY_BYTES))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    try:
        os.link(temporary, target)
    except FileExistsError:
        pass  # another process won the race; its key is the key
    except OSError:
        # A filesystem without hard links: rename cannot refuse to overwrite, so look first. Two first
        # starts racing on such a filesystem is the only case left where one key could replace another.
        if not target.exists():
            try:
                os.replace(temporary, target)
            except OSError as error:
                raise KeyFileError(f"{target}: {error.strerror or error}") from None
    finally:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
    return _read_key(target)


# -- tokens ---------------------------------------------------------------------------


def _canonical_sender(address: str) -> bytes:
    _, addr = email.utils.parseaddr(address.strip())
    return (addr or address).strip().strip("<>").lower().encode("utf-8", "surrogatepass")


def _tag(key: bytes, held_id: bytes, expiry: bytes) -> bytes:
    message = b"oopsguard/release/v1\x00" + held_id + b"\x00" + expiry
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def _sender_tag(key: bytes, held_id: bytes, sender: bytes, expiry: bytes) -> bytes:
    message = b"oopsguard/release-sender/v1\x00" + held_id + b"\x00" + sender + b"\x00" + expiry
    return hmac.new(key, message, hashlib.sha256).digest()[:_SENDER_TAG_BYTES]


def _encode(payload: bytes) -> str:
    # Base32 lower-case without padding: safe in a local part, and survives MTAs that change its case.
    return base64.b32encode(payload).decode("ascii").rstrip("=").lower()


def _decode(token: str) -> bytes | None:
    if not token or len(token) > _MAX_TOKEN or not set(token) <= _TOKEN_ALPHABET:
        return None
    try:
        return base64.b32decode(token.upper() + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError):
        return None


def make_token(key: bytes, held_id: str, original_sender: str, expires: datetime) -> str:
    """A release token for one held message, usable by its original sender until `expires`."""
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    id_bytes = held_id.encode("utf-8")
    expiry = int(expires.timestamp()).to_bytes(_EXPIRY_BYTES, "big")
    payload = (id_bytes + expiry + _tag(key, id_bytes, expiry)
               + _sender_tag(key, id_bytes, _canonical_sender(original_sender), expiry))
    return _encode(payload)


def verify_token(key: bytes, token: str, replier_address: str, now: datetime) -> VerifyResult:
    """Check a token: genuine (our key, unchanged), not expired, and used by the sender it was made for."""
    canonical = token.strip().lower()
    payload = _decode(canonical)
    if payload is None or len(payload) <= _TRAILER:
        return VerifyResult(False, None, REASON_MALFORMED)
    id_bytes = payload[:-_TRAILER]
    expiry = payload[-_TRAILER:-_TRAILER + _EXPIRY_BYTES]
    tag = payload[-_TAG_BYTES - _SENDER_TAG_BYTES:-_SENDER_TAG_BYTES]
    sender_tag = payload[-_SENDER_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(key, id_bytes, expiry)):
        return VerifyResult(False, None, REASON_BAD_SIGNATURE)
    try:
        held_id = id_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return VerifyResult(False, None, REASON_MALFORMED)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if now.timestamp() > int.from_bytes(expiry, "big"):
        return VerifyResult(False, held_id, REASON_EXPIRED, canonical)
    expected = _sender_tag(key, id_bytes, _canonical_sender(replier_address), expiry)
    if not hmac.compare_digest(sender_tag, expected):
        return VerifyResult(False, held_id, REASON_WRONG_SENDER, canonical)
    return VerifyResult(True, held_id, REASON_OK, canonical)


# -- addresses ------------------------------------------------------------------------


def release_address(token: str, domain: str, local_part: str = DEFAULT_LOCAL_PART) -> str:
    return f"{local_part}+{token}@{domain}"


def release_base(config: Config) -> tuple[str, str]:
    """(local part, domain) of release addresses: `[proxy] release_address`, else release@<bounce_from's domain>."""
    configured = config.proxy.release_address.strip()
    if configured:
        local, _, domain = configured.rpartition("@")
        if local and domain:
            return local, domain
    domain = config.proxy.bounce_from.rpartition("@")[2] or config.proxy.hostname
    return DEFAULT_LOCAL_PART, domain


def parse_release_address(address: str, local_part: str = DEFAULT_LOCAL_PART) -> str | None:
    """The token in `<local_part>+<token>@domain` (display name and angle brackets allowed), else None."""
    _, addr = email.utils.parseaddr(address.strip())
    addr = addr or address.strip().strip("<>")
    local, at, _domain = addr.rpartition("@")
    if not at:
        return None
    base, plus, token = local.partition("+")
    if not plus or base.lower() != local_part.lower():
        return None
    token = token.lower()
    return token if token and len(token) <= _MAX_TOKEN and set(token) <= _TOKEN_ALPHABET else None


# -- the reason in a release reply ------------------------------------------------------


def _clean_reason(line: str) -> str:
    # The reason is recorded and shown to team leads: no control characters, bounded length.
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in line)
    return " ".join(cleaned.split())[:MAX_REASON]


def _is_attribution(line: str) -> bool:
    # "On Tue, 3 Mar 2026, oopsguard wrote:" and the like start the quoted bounce, not the reason.
    lowered = line.lower().rstrip()
    return lowered.endswith("wrote:") or lowered.startswith("-----original message")


def _first_line(text: str) -> str:
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith(">") or line == "--" or _is_attribution(line):
            return ""  # the new text ended before any reason was written
        return _clean_reason(line)
    return ""


def _plain_text(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body: Message | None = None
    try:
        body = message.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    except (KeyError, LookupError, AttributeError):
        body = None
    if body is None:
        return ""
    try:
        return str(body.get_content())  # type: ignore[attr-defined]
    except (LookupError, ValueError, AttributeError):
        payload = body.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def release_reason_from_reply(raw: bytes) -> str:
    """The first non-empty line of the reply's new text (stripped, at most 500 characters); "" when there is none."""
    try:
        from checks.message import parse_message

        return _first_line(parse_message(raw).text)
    except Exception:  # the shared parser is optional here; the stdlib fallback below always works
        pass
    try:
        return _first_line(_plain_text(raw))
    except Exception:  # a malformed reply must not break the release path: treat it as "no reason given"
        return ""
