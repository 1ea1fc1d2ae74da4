"""Representations and conditional requests (RFC 9110 §13.1), on documents built here."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import brotli
import pytest

from syndicate.documents import Document
from syndicate.lastmodified import Stamp, seconds
from syndicate.responses import (
    CachePolicy,
    ResourceCache,
    build_resource,
    http_date,
    is_not_modified,
    negotiate_encoding,
)

UPDATED = datetime(2024, 4, 13, 10, 0, 30, 123456, tzinfo=timezone(timedelta(hours=8)))
BODY = b"<feed>" + b"<entry>a post about dragon boats and tea</entry>" * 40 + b"</feed>"


def doc(body: bytes = BODY, updated: datetime | None = UPDATED) -> Document:
    return Document("tags/茶叶.atom", body, "application/atom+xml; charset=utf-8", updated)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"", "identity"),
        (b"gzip", "gzip"),
        (b"gzip, deflate, br", "br"),
        (b"br;q=0.5, gzip;q=0.8", "gzip"),
        (b"br;q=0, gzip", "gzip"),
        (b"GZIP", "gzip"),
        (b"*", "br"),
        (b"*;q=0.5, gzip;q=1", "gzip"),
        (b"gzip;q=0, br;q=0", "identity"),
        (b"deflate", "identity"),
        (b"identity", "identity"),
        (b"gzip;q=bogus, br", "br"),
        (b",,;;", "identity"),
    ],
)
def test_negotiate_encoding(header: bytes, expected: str) -> None:
    assert negotiate_encoding(header) == expected


def test_representations_decode_to_the_document_and_have_distinct_strong_etags() -> None:
    published = datetime(2024, 4, 13, 10, 0, 30, 999999, tzinfo=timezone(timedelta(hours=8)))
    stamp = Stamp(doc().digest, seconds(published), seconds(published))
    resource = build_resource(doc(), CachePolicy(max_age=120), stamp=stamp)
    reps = resource.representations
    assert set(reps) == {"identity", "gzip", "br"}
    assert reps["identity"].body == BODY
    assert gzip.decompress(reps["gzip"].body) == BODY
    assert brotli.decompress(reps["br"].body) == BODY
    etags = {r.etag for r in reps.values()}
    assert len(etags) == 3
    assert all(e.startswith(b'"') and e.endswith(b'"') and not e.startswith(b"W/") for e in etags)
    headers = dict(reps["gzip"].headers)
    assert headers[b"content-encoding"] == b"gzip"
    assert headers[b"content-length"] == str(len(reps["gzip"].body)).encode()
    assert headers[b"cache-control"] == b"public, max-age=120, stale-while-revalidate=120"
    assert headers[b"vary"] == b"Accept-Encoding"
    assert headers[b"last-modified"] == b"Sat, 13 Apr 2024 02:00:30 GMT"  # the stamp, in whole seconds, in UTC
    assert resource.last_modified == resource.valid_from == datetime(2024, 4, 13, 2, 0, 30, tzinfo=UTC)
    assert b"content-encoding" not in dict(reps["identity"].headers)


def test_last_modified_is_the_stamp_not_the_newest_entry() -> None:
    # The newest entry's date says nothing about when the bytes changed (a backdated post changes them without
    # moving it): without a stamp there is no Last-Modified at all.
    assert doc().updated is not None
    unstamped = build_resource(doc(), CachePolicy(max_age=300))
    assert unstamped.last_modified is None and unstamped.last_modified_header == b""
    assert b"last-modified" not in dict(unstamped.representations["identity"].headers)
    stamped = build_resource(doc(), CachePolicy(max_age=300), stamp=Stamp(doc().digest, 1_700_000_000, 1_700_000_001))
    assert dict(stamped.representations["gzip"].headers)[b"last-modified"] == b"Tue, 14 Nov 2023 22:13:20 GMT"
    assert stamped.valid_from == datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
    # The stamp is only a header: the bodies and ETags are the same as without it.
    for encoding, representation in stamped.representations.items():
        assert representation.body == unstamped.representations[encoding].body
        assert representation.etag == unstamped.representations[encoding].etag


def test_same_bytes_give_same_representations_across_builds() -> None:
    a = build_resource(doc(), CachePolicy(max_age=300))
    b = build_resource(doc(), CachePolicy(max_age=300))
    for encoding in a.representations:
        assert a.representations[encoding].body == b.representations[encoding].body
        assert a.representations[encoding].etag == b.representations[encoding].etag
    changed = build_resource(doc(BODY + b" "), CachePolicy(max_age=300))
    assert changed.representations["identity"].etag != a.representations["identity"].etag


def test_not_modified_headers_are_the_allowed_subset() -> None:
    resource = build_resource(
        doc(), CachePolicy(max_age=300, hub="https://hub.example.net/", feeds_url="https://x.example/feeds")
    )
    rep = resource.representations["br"]
    names = {name for name, _ in rep.not_modified_headers}
    assert names == {b"etag", b"cache-control", b"vary", b"link"}
    link = dict(rep.headers)[b"link"].decode()
    assert link == (
        '<https://hub.example.net/>; rel="hub", <https://x.example/feeds/tags/%E8%8C%B6%E5%8F%B6.atom>; rel="self"'
    )


def test_tiny_bodies_are_not_compressed() -> None:
    resource = build_resource(doc(b"{}", None), CachePolicy(max_age=300))
    assert set(resource.representations) == {"identity"}
    assert resource.select(b"gzip, br").encoding == "identity"
    assert b"last-modified" not in dict(resource.representations["identity"].headers)


ETAG = b'"abc-gz"'
LAST = datetime(2024, 4, 13, 2, 0, 30, tzinfo=UTC)
LAST_HEADER = http_date(LAST).encode()


@pytest.mark.parametrize(
    ("inm", "ims", "expected"),
    [
        (b'"abc-gz"', None, True),
        (b'W/"abc-gz"', None, True),  # weak comparison for If-None-Match (§13.1.2)
        (b'"x", "abc-gz"', None, True),
        (b"*", None, True),
        (b'"abc"', None, False),  # the identity tag does not validate the gzip representation
        (b'"abc-gz', None, False),
        (None, LAST_HEADER, True),
        (None, http_date(LAST + timedelta(days=1)).encode(), True),
        (None, http_date(LAST - timedelta(seconds=1)).encode(), False),
        (None, b"Sunday, 14-Apr-24 02:00:30 GMT", True),  # obsolete RFC 850 form is still a date
        (None, b"not a date", False),
        (b'"other"', LAST_HEADER, False),  # If-None-Match takes precedence over If-Modified-Since
        (b'"abc-gz"', b"not a date", True),
        (None, None, False),
    ],
)
def test_is_not_modified(inm: bytes | None, ims: bytes | None, expected: bool) -> None:
    assert is_not_modified(inm, ims, ETAG, LAST, LAST_HEADER) is expected


@pytest.mark.parametrize(
    ("updated", "header"),
    [
        (datetime(1, 1, 1, tzinfo=ZoneInfo("America/New_York")), b"Mon, 01 Jan 0001 04:56:02 GMT"),
        (datetime(1, 1, 1, tzinfo=UTC), b"Mon, 01 Jan 0001 00:00:00 GMT"),
        (datetime.max.replace(tzinfo=UTC), b"Fri, 31 Dec 9999 23:59:59 GMT"),
        (
            datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=23, minutes=59))),
            b"Fri, 31 Dec 9999 00:00:00 GMT",
        ),
    ],
)
def test_last_modified_at_the_ends_of_the_utc_range(updated: datetime, header: bytes) -> None:
    # dates.parse_date keeps every date in this range (a post outside it is rejected). An entry dated at either end
    # never reaches the header (Last-Modified is the publication stamp), and a stamp there still serves.
    assert build_resource(doc(updated=updated), CachePolicy(max_age=300)).last_modified_header == b""
    at = seconds(updated)
    resource = build_resource(doc(updated=updated), CachePolicy(max_age=300), stamp=Stamp(doc().digest, at, at))
    assert resource.last_modified_header == header
    assert is_not_modified(None, header, b'"x"', resource.last_modified, header)


def test_if_modified_since_needs_a_last_modified() -> None:
    assert is_not_modified(None, LAST_HEADER, ETAG, None, b"") is False


@pytest.mark.parametrize(
    ("inm", "ims", "expected"),
    [
        # Other bytes were served with this same Last-Modified (two changes in one second): the date proves nothing.
        (None, LAST_HEADER, False),
        (None, http_date(LAST).replace("GMT", "+0000").encode(), False),  # not the exact header: parsed, same answer
        (None, http_date(LAST + timedelta(seconds=1)).encode(), True),  # past every other Last-Modified
        (b'"abc-gz"', LAST_HEADER, True),  # If-None-Match decides whenever it is sent
    ],
)
def test_if_modified_since_with_a_shared_last_modified(inm: bytes | None, ims: bytes | None, expected: bool) -> None:
    assert is_not_modified(inm, ims, ETAG, LAST, LAST_HEADER, LAST + timedelta(seconds=1)) is expected


def test_pending_encodings_are_added_later_with_the_same_bytes_and_etags() -> None:
    full = build_resource(doc(), CachePolicy(max_age=300))
    partial = build_resource(doc(), CachePolicy(max_age=300), encodings=("gzip",))
    assert set(partial.representations) == {"identity", "gzip"}
    assert partial.pending == frozenset({"br"})
    # A client preferring brotli gets gzip meanwhile: its own representation, with its own ETag.
    assert partial.select(b"br, gzip").encoding == "gzip"
    complete = partial.complete()
    assert complete.pending == frozenset()
    assert complete.complete() is complete
    for encoding in ("identity", "gzip", "br"):
        assert complete.representations[encoding].body == full.representations[encoding].body
        assert complete.representations[encoding].etag == full.representations[encoding].etag
        assert complete.representations[encoding].headers == full.representations[encoding].headers
    assert partial.pending  # complete() returns a new resource; the served one is replaced, not changed


def test_resource_cache_is_least_recently_used_and_bounded_in_bytes() -> None:
    resources = [
        build_resource(
            Document(f"archive/all/{n}.atom", BODY + str(n).encode(), "application/atom+xml", None),
            CachePolicy(max_age=300),
        )
        for n in range(4)
    ]
    size = resources[0].size
    assert size > len(BODY)  # identity plus the compressed bodies
    cache = ResourceCache(max_bytes=size * 2 + size // 2)
    cache.put(resources[0])
    cache.put(resources[1])
    assert cache.get(resources[0].path, resources[0].digest) is resources[0]  # now the most recently used
    cache.put(resources[2])  # over the bound: the least recently used (1) goes
    assert cache.get(resources[1].path, resources[1].digest) is None
    assert cache.get(resources[0].path, resources[0].digest) is resources[0]
    assert len(cache) == 2 and cache.bytes <= cache.max_bytes
    assert cache.get(resources[0].path, "another digest") is None  # changed bytes are another entry
    cache.put(resources[0])  # putting again does not count twice
    assert cache.bytes == resources[0].size + resources[2].size
    tiny = ResourceCache(max_bytes=10)
    tiny.put(resources[3])  # larger than the whole cache: not kept
    assert len(tiny) == 0 and tiny.bytes == 0
