"""checks.htmltext: expected text for tricky HTML shapes, the shared corpora, and hostile markup in linear time."""
from __future__ import annotations

import time
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest

from checks import htmltext
from checks.htmltext import html_to_text
from checks.message import MAX_HTML_CHARS, MAX_PARSE_BYTES, _part_text, _strip_mbox_line, _walk

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

# (id, markup, expected text). The expected texts were written by hand from the conversion rules, then
# checked against the converter this module replaced (message.py before the switch).
CASES = [
    # (id, markup, expected written by hand)
    ("paragraphs", "<p>Sorry for the outage.</p><p>It is fixed.</p>", "Sorry for the outage.\nIt is fixed."),
    ("br and blank br", "one<br>two<br><br>three", "one\ntwo\n\nthree"),
    ("inline tags join", "Sor<b>ry</b> <i>all</i>", "Sorry all"),
    ("white space collapses", "<p>  a \n\t b  </p>", "a b"),
    ("outlook nbsp paragraph", "<p>a</p><p>&nbsp;</p><p>b</p>", "a\n\nb"),
    ("empty paragraph is no line", "<p>a</p><p> </p><p>b</p>", "a\nb"),
    ("nbsp character", "<div>x\u00a0y</div><div>\u00a0</div><div>z</div>", "x y\n\nz"),
    ("comment hides tags", "a<!-- <p>b</p> -->c", "ac"),
    ("unterminated comment", "a<p>b</p><!-- c <p>d</p>", "a\nb"),
    ("doctype and xml", "<!DOCTYPE html><?xml version='1.0'?><p>x</p>", "x"),
    # A declaration ends at the first ">", wherever it stands.
    ("cdata is a declaration up to its first >", "<p>a<![CDATA[ <b>hidden ]]>b</p>", "ahidden ]]>b"),
    ("script dropped", "<p>a</p><script>var s = '<p>no</p>';</script><p>b</p>", "a\nb"),
    ("style and title dropped", "<title>T</title><style>p{color:red}</style>body", "body"),
    ("unclosed script drops the rest", "a<br><script>x<p>y", "a"),
    ("self-closing script opens nothing", "a<script/>b", "ab"),
    ("script end inside a comment (no marker)", "<script><!-- </script> -->x</script>y", "y"),
    ("script end inside a comment (marker)", "<blockquote>q</blockquote><script><!-- </script> -->x", "> q\n-->x"),
    ("pre keeps spacing", "<pre>  keep   this\n  line</pre>after", "keep   this\nline\nafter"),
    ("nested pre", "<pre>a<pre> b\nc</pre>d\ne</pre>f", "a\nb\nc\nd\ne\nf"),
    ("self-closing pre", "a<pre/>b  c", "a\nb c"),
    ("entities", "a &amp; b &lt;p&gt; &bogus; &amp c &#65;", "a & b <p> &bogus; & c A"),
    ("entity split by a tag (no marker)", "&am<b></b>p;", "&"),
    ("entity split by a tag (marker)", "&am<b></b>p;<blockquote></blockquote>", "&amp;"),
    ("flush keeps both spaces", "a </br> b", "a  b"),
    ("blockquote quotes lines", "<p>new</p><blockquote>old<br><br>older</blockquote><p>end</p>",
     "new\n> old\n>\n> older\nend"),
    # The "> " prefix goes on a line when it ends: "top" ends inside the span, "q" after it.
    ("gmail_quote on a span quotes", "top<span class=gmail_quote><br>q</span>", "> top\nq"),
    ("gmail_quote on a div does not", "top<div class=gmail_quote>q</div>", "top\nq"),
    ("signature line", "<p>hi</p><div class=moz-signature>Dana</div>", "hi\n--\nDana"),
    ("stop marker ends the text", "<p>mine</p><div id=divRplyFwdMsg>From: x</div><p>theirs</p>", "mine"),
    ("uppercase tags", "<P>A<BR>B</P><SCRIPT>x</SCRIPT><DIV>C</DIV>", "A\nB\nC"),
    # A tag ends at its first ">"; the rest of the attribute is text (one run with the text before it).
    ("brackets in attributes", "<a title='<p>'>link</a> and <img alt=\"a > b\">", "'>link and b\">"),
    ("stray angle brackets", "a < b > c <3 </ d", "a < b > c <3 </ d"),
    ("no closing bracket", "<a <a <a", "<a <a <a"),
    ("text after the last tag", "<p>x</p>tail <b", "x\ntail <b"),
    ("nul in markup", "<p>a\x00b</p><p>c</p>", "a\x00b\nc"),
    ("kelvin sign makes a marker word", "<p>bloc\u212aquote</p><script><!-- </script> -->x", "bloc\u212aquote\n-->x"),
    ("zero-width space", "<p>\u200b</p><p>a\u200bb</p>", "a b"),
]


@pytest.mark.parametrize(("markup", "expected"), [pytest.param(m, e, id=i) for i, m, e in CASES])
def test_tricky_shapes(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_white_space_table_is_str_isspace() -> None:
    # Pieces are stripped with this table (less the newline): it must be exactly what str.strip() removes.
    assert htmltext._WHITE_SPACE == "".join(chr(code) for code in range(0x110000) if chr(code).isspace())


def _corpus_html_parts() -> list[tuple[str, str]]:
    parts = []
    for path in sorted(CORPORA.rglob("*")):
        if not path.is_file() or path.name in ("README.md", "SOURCE.txt", "MANIFEST.tsv"):
            continue
        message = BytesParser(policy=compat32).parsebytes(_strip_mbox_line(path.read_bytes())[:MAX_PARSE_BYTES])
        for part in _walk(message):
            if not part.is_multipart() and part.get_content_type() == "text/html":
                parts.append((str(path.relative_to(CORPORA)), _part_text(part)[:MAX_HTML_CHARS]))
    return parts


def test_shared_corpora_html_parts() -> None:
    if not CORPORA.is_dir():
        pytest.skip("../shared/corpora is not beside the checkout")
    parts = _corpus_html_parts()
    assert len(parts) > 300
    tracked = 0
    for name, markup in parts:
        text = html_to_text(markup)
        assert isinstance(text, str), name
        assert "\x00" not in text or "\x00" in markup, name
        assert not text.startswith("\n") and not text.endswith("\n") and "\n\n\n" not in text, name
        if htmltext._has_tracking_word(htmltext._lowered(markup)) and "\x00" not in markup:
            # Markup with a marker word: the original one-token-at-a-time loop is kept in the module
            # (for markup with a NUL) and must give the same text as the stream.
            tracked += 1
            assert text == htmltext._html_to_text_by_token(markup, True), name
    assert tracked > 100


HOSTILE = {
    "unterminated tags": "<a " * 70_000,
    "unterminated comments": "<!--" * 50_000,
    "bare brackets": "<" * 200_000,
    "script of end-tag starts": "<script>" + "</" * 100_000,
    "open blocks": "<div>" * 40_000 + "x",
    "nested quotes never closed": "<blockquote>" * 16_000 + "q",
    "raw text in quotes": "<blockquote><title>x</title>" * 7_000,
    "open quote spans, then blocks": "<span class=gmail_quote>a" * 4_000 + "<div></div>" * 10_000,
    "pre starts with no end": "<pre" * 50_000,
    "signature paragraphs": "<p class=gmail_signature>s</p>" * 6_000,
}


@pytest.mark.parametrize("markup", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_markup_is_linear(markup: str) -> None:
    # About 200 KB each: linear work takes milliseconds; anything quadratic takes far over the bound.
    started = time.perf_counter()
    assert isinstance(html_to_text(markup), str)
    assert time.perf_counter() - started < 1.0
