"""Atom and RSS entries' text as libxml2 escapes it, for entries written as bytes rather than through lxml.

Entries are written directly rather than through feedgen's FeedEntry and lxml, which was one of a cold build's largest
costs (docs/benchmarks.md). The bytes are exactly those feedgen 1.0.0 + lxml wrote (tests/test_feeds.py checks that
against FeedEntry for random posts), element order included, so escaping is libxml2's: in text &, <, > and CR (a parser
would turn a raw CR into LF); in attributes also ", and TAB, LF and CR as character references (a parser would turn them
into spaces). Non-ASCII is written as UTF-8. The work is done on UTF-8 bytes, where replacing is several times faster
than in Chinese text.
"""

from __future__ import annotations

from functools import lru_cache

_XML_BYTES = bytes(b for b in range(256) if b >= 0x20 or b in b"\t\n\r")  # all but the C0 controls XML forbids
_NOT_XML = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"  # lxml's


def check_entry(entry: bytes) -> bytes:
    """The entry, refused if lxml refused one of its strings for a control character other than TAB, LF and CR (not
    XML 1.0 characters, §2.2). Escaping adds none, so checking the finished entry checks every string in it."""
    if entry.translate(None, _XML_BYTES):
        raise ValueError(_NOT_XML)
    return entry


# escape_text and escape_attribute refuse U+FFFE and U+FFFF as lxml does (not XML characters either; far cheaper to
# find in a str than in UTF-8), and a lone surrogate fails to encode, a ValueError as it is with lxml.


def escape_text(value: str) -> bytes:
    """``value`` as element text, UTF-8."""
    if "\ufffe" in value or "\uffff" in value:
        raise ValueError(_NOT_XML)
    return (
        value.encode("utf-8")
        .replace(b"&", b"&amp;")
        .replace(b"<", b"&lt;")
        .replace(b">", b"&gt;")
        .replace(b"\r", b"&#13;")
    )


def escape_attribute(value: str) -> bytes:
    """``value`` as a double-quoted attribute value, UTF-8."""
    # Text escaping (which already wrote CR as &#13;), plus what an attribute value also needs.
    return escape_text(value).replace(b'"', b"&quot;").replace(b"\t", b"&#9;").replace(b"\n", b"&#10;")


# Posts share a few authors, publications (names and sites) and category and tag names, so each is escaped once
# (cached), not once a post.
escape_name = lru_cache(maxsize=4096)(escape_text)
escape_name_attribute = lru_cache(maxsize=4096)(escape_attribute)


MEDIA_NS = b"http://search.yahoo.com/mrss/"


def media_image(url: str) -> bytes:
    """A post's ``image`` as Media RSS elements (as jekyll-feed writes them, the namespace declared in place so the
    feed's head stays the same for posts with and without one); Atom and RSS entries carry it alike."""
    href = escape_attribute(url)
    return b'<media:thumbnail xmlns:media="%s" url="%s"/><media:content xmlns:media="%s" medium="image" url="%s"/>' % (
        MEDIA_NS,
        href,
        MEDIA_NS,
        href,
    )
