"""The digest's HTML, rendered by headless Chromium, shows the bar chart in its colours (skipped without Chromium)."""
from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from proxy.digest import CHECKED_COLOUR, HELD_COLOUR
from render_digest import write_preview

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
WIDTH, HEIGHT = 900, 1200

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


def screenshot(page: Path, out: Path, profile: Path) -> None:
    """The headless command line from shared/NOTES.md; a D-Bus complaint on stderr is expected and harmless."""
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--screenshot={out}", f"--window-size={WIDTH},{HEIGHT}",
               page.as_uri()]
    subprocess.run(command, capture_output=True, timeout=90, check=True)


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    to_left, to_up, to_up_left = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if to_left <= to_up and to_left <= to_up_left:
        return left
    return up if to_up <= to_up_left else up_left


def png_colours(path: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of RGB colours of an 8-bit RGB/RGBA non-interlaced PNG (enough for Chromium's)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, bytearray(), b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(bytes(idat))
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                up_left = previous[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, previous[i], up_left)) & 0xFF
        colours.update(zip(line[0::channels], line[1::channels], line[2::channels]))
        previous = line
    return width, height, colours


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def test_digest_html_renders_chart(tmp_path: Path) -> None:
    page = write_preview(tmp_path / "digest.html")
    out = tmp_path / "digest.png"
    screenshot(page, out, tmp_path / "profile")
    assert out.exists() and out.stat().st_size > 5 * 1024
    width, height, colours = png_colours(out)
    assert (width, height) == (WIDTH, HEIGHT)
    assert rgb(HELD_COLOUR) in colours
    assert rgb(CHECKED_COLOUR) in colours
    assert len(colours) > 50  # text antialiasing: a real page, not a blank or error screen


def test_empty_digest_has_no_chart(tmp_path: Path) -> None:
    page = write_preview(tmp_path / "empty.html", empty=True)
    out = tmp_path / "empty.png"
    screenshot(page, out, tmp_path / "profile")
    _, _, colours = png_colours(out)
    assert rgb(HELD_COLOUR) not in colours
