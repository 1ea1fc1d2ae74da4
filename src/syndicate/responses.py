"""Pre-rendered HTTP representations of documents and the conditional-request rules that serve them.

Everything that can be computed once per document is computed before it is served: the gzip and brotli
bodies, the strong ETag of each encoding, the header lists of the 200 and the 304. The request path is then
a few dict lookups and byte comparisons (issue 4 benchmarks the hot path against a bare app).

A resource may be prepared with some encodings left ``pending`` (brotli for a large feed, so a new post is
served without waiting for it) and completed later by :meth:`Resource.complete`; until then clients that
accept brotli get gzip. Compression levels are fixed here, so the bytes of each encoding, and with them
the strong ETags, are the same for the same document across rebuilds and restarts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

import brotli

from syndicate.documents import Document
from syndicate.groups import ARCHIVE_DIR
from syndicate.gzipfiles import GZIP_TAG, gzip_bytes
from syndicate.lastmodified import Stamp

if TYPE_CHECKING:
    from syndicate.config import Settings

Header = tuple[bytes, bytes]  # (lower-case name, value), as ASGI sends them
Headers = list[Header]
# What identifies a prepared resource: the same bytes (digest) at the same path.
ResourceKey = tuple[str, str]  # (path, digest)

IDENTITY = "identity"
GZIP = "gzip"
BROTLI = "br"
# Preference when a client accepts several codings with equal weight: brotli is smallest.
_PREFERENCE = (BROTLI, GZIP, IDENTITY)
_ETAG_SUFFIX = {IDENTITY: "", GZIP: GZIP_TAG, BROTLI: "-br"}
ENCODINGS = (GZIP, BROTLI)
_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"
# gzip's level is gzipfiles.GZIP_LEVEL (the .gz files beside documents are the same bytes). Chosen by measurement on
# large feeds (figures in docs/benchmarks.md): brotli 5 is a little larger than quality 9 and much faster, which
# keeps a rebuild's swap short.
# Changing it changes the bytes behind an unchanged strong ETag: treat it as a release note.
BROTLI_QUALITY = 5

# RFC 9110 §15.4.5: a 304 carries the fields a 200 would have sent among Content-Location, Date, ETag,
# Vary, Cache-Control and Expires, and SHOULD NOT carry other representation metadata. (Date is added by
# the server.) Link is kept so a client that only ever sees 304s still learns the WebSub hub.
_NOT_MODIFIED_FIELDS = frozenset({b"cache-control", b"content-location", b"etag", b"expires", b"vary", b"link"})


@dataclass(frozen=True)
class Representation:
    """One encoding of one document, ready to send: body, 200 headers, 304 headers."""

    encoding: str
    body: bytes
    etag: bytes  # quoted strong entity tag, e.g. b'"0123abcd-gz"'
    headers: Headers  # for 200 (and HEAD): includes Content-Length
    not_modified_headers: Headers  # for 304


@dataclass(frozen=True)
class Resource:
    """All representations of one document, plus what conditional requests compare against."""

    path: str
    digest: str
    media_type: str
    last_modified: datetime | None  # whole seconds, UTC
    last_modified_header: bytes  # b"" when unknown
    representations: Mapping[str, Representation]
    common_headers: tuple[Header, ...] = ()  # every representation's headers but ETag and length
    pending: frozenset[str] = frozenset()  # encodings not compressed yet; see complete()
    stamp: Stamp | None = None  # where last_modified comes from (see lastmodified)
    # The earliest If-Modified-Since that validates these bytes: last_modified, or later when other bytes were served
    # with a Last-Modified at or after it (two changes within one second). None: no Last-Modified.
    valid_from: datetime | None = None

    def select(self, accept_encoding: bytes) -> Representation:
        """The client's most preferred representation we have (gzip for a brotli client while brotli is pending)."""
        representations = self.representations
        for coding in acceptable_encodings(accept_encoding):
            representation = representations.get(coding)
            if representation is not None:
                return representation
        return representations[IDENTITY]

    def held(self, if_none_match: bytes, accept_encoding: bytes, selected: Representation) -> Representation | None:
        """The representation other than ``selected`` that an If-None-Match names and the client accepts (None: none).

        Every encoding of these bytes is current: a client that holds one (gzip, say, from before brotli was made)
        and still accepts its encoding is served that one, which it need not download again (RFC 9110 §12.1: the
        server chooses among the representations the client accepts; §13.1.2: the 304 is for the representation
        selected, and carries its ETag, §15.4.5, so that a cache freshens the response it holds, RFC 9111 §4.3.4).
        """
        representations = self.representations
        for coding in acceptable_encodings(accept_encoding):
            representation = representations.get(coding)
            if (
                representation is not None
                and representation is not selected
                and _etag_listed(if_none_match, representation.etag)
            ):
                return representation
        return None

    @property
    def size(self) -> int:
        """Bytes held by all representations (bounds caches of prepared resources)."""
        return sum(len(r.body) for r in self.representations.values())

    def complete(self) -> Resource:
        """This resource with its pending encodings compressed (CPU-bound: call it off the event loop)."""
        if not self.pending:
            return self
        body = self.representations[IDENTITY].body
        representations = dict(self.representations)
        for encoding in sorted(self.pending):
            compressed = _compress(body, encoding)
            if compressed is not None:
                representations[encoding] = _representation(encoding, compressed, self.digest, self.common_headers)
        return replace(self, representations=representations, pending=frozenset())


@dataclass(frozen=True)
class CachePolicy:
    """Response headers every feed shares; built from settings once (so no default of its own for max-age).

    The one place Cache-Control is decided: the server sends it, and ``publish`` gives objects in a bucket the same.
    """

    max_age: int
    hub: str = ""
    feeds_url: str = ""
    archive_max_age: int | None = None  # RFC 5005 archive pages; None: as max_age

    @classmethod
    def from_settings(cls, settings: Settings) -> CachePolicy:
        return cls(
            max_age=settings.max_age,
            hub=settings.hub,
            feeds_url=settings.feeds_url,
            archive_max_age=settings.archive_max_age,
        )

    @property
    def cache_control(self) -> bytes:
        return _cache_control(self.max_age)

    def cache_control_for(self, path: str, max_age: int | None = None) -> bytes:
        """Cache-Control of the document at ``path``, which may be cached ``max_age`` seconds (at most the policy's;
        None: the policy's). A full archive page (RFC 5005 §4) changes only when one of its old posts is edited or
        removed, so it may be kept longer than the feeds that are polled for news."""
        if self.archive_max_age is not None and path.startswith(_ARCHIVE_PREFIX):
            return _cache_control(self.archive_max_age)
        return self.cache_control if max_age is None else _cache_control(min(max_age, self.max_age))


def _cache_control(max_age: int) -> bytes:
    # stale-while-revalidate (RFC 5861): a cache may serve the old feed while it revalidates; feeds are polled, so a
    # little staleness is better than a burst of origin hits when max-age expires.
    return f"public, max-age={max_age}, stale-while-revalidate={max_age}".encode("ascii")


def http_date(moment: datetime) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: bytes) -> datetime | None:
    """An HTTP date (RFC 9110 §5.6.7, any of its three formats) in UTC, or None when it is not one we can use.

    §13.1.3: a recipient ignores a conditional date that is not a valid HTTP-date. ``parsedate_to_datetime`` raises
    ValueError for most garbage, OverflowError for a huge year or offset, and a valid date with an offset can lie past
    9999-12-31 in UTC; all of these are None, so a client's header can never fail a request.
    """
    try:
        moment = parsedate_to_datetime(value.decode("latin-1"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def self_url(feeds_url: str, path: str) -> str:
    return f"{feeds_url}/{quote(path, safe='/')}"


def build_resource(
    document: Document,
    policy: CachePolicy,
    *,
    stamp: Stamp | None = None,
    encodings: Iterable[str] = ENCODINGS,
    extra_headers: Iterable[Header] = (),
    max_age: int | None = None,
    vary: bytes = b"Accept-Encoding",
    gzipped: bytes | None = None,
) -> Resource:
    """Prepare the representations of ``document``: identity and ``encodings`` now, the others pending.

    ``stamp`` gives Last-Modified: when these bytes were published at this path (see ``lastmodified``); without one
    there is no Last-Modified. ``max_age``: how long this document may be cached (``polling``; None: the policy's
    longest). ``vary``: the request headers the representation depends on (RFC 9110 §12.5.5). ``gzipped``: the gzip
    representation made earlier (by this function, for the same bytes; kept in the parse cache across restarts),
    used instead of compressing again. Deterministic: same bytes, stamp and max-age in, same bytes, headers and ETags
    out.
    """
    last_modified: datetime | None = None
    valid_from: datetime | None = None
    last_modified_header = b""
    if stamp is not None:
        last_modified, valid_from = stamp.last_modified, stamp.validated_from
        last_modified_header = http_date(last_modified).encode("ascii")
    common: Headers = [
        (b"content-type", document.media_type.encode("ascii")),
        (b"cache-control", policy.cache_control_for(document.path, max_age)),
        (b"vary", vary),
        (b"x-content-type-options", b"nosniff"),
    ]
    if last_modified_header:
        common.append((b"last-modified", last_modified_header))
    if policy.hub and policy.feeds_url:
        # WebSub §4: discovery via Link headers naming the hub and the topic (self) URL.
        link = f'<{policy.hub}>; rel="hub", <{self_url(policy.feeds_url, document.path)}>; rel="self"'
        common.append((b"link", link.encode("utf-8")))
    common.extend(extra_headers)

    body = document.body  # read once: a lazily loaded document fetches its bytes on each access
    now = set(encodings)
    representations = {IDENTITY: _representation(IDENTITY, body, document.digest, common)}
    for encoding in ENCODINGS:
        if encoding not in now:
            continue
        compressed = gzipped if encoding == GZIP and gzipped is not None else _compress(body, encoding)
        if compressed is not None:
            representations[encoding] = _representation(encoding, compressed, document.digest, common)
    return Resource(
        path=document.path,
        digest=document.digest,
        media_type=document.media_type,
        last_modified=last_modified,
        last_modified_header=last_modified_header,
        representations=representations,
        common_headers=tuple(common),
        pending=frozenset(ENCODINGS) - now,
        stamp=stamp,
        valid_from=valid_from,
    )


def _compress(body: bytes, encoding: str) -> bytes | None:
    """``body`` in ``encoding``, or None when that would not make it smaller."""
    if encoding == GZIP:
        compressed = gzip_bytes(body)
    else:
        compressed = brotli.compress(body, quality=BROTLI_QUALITY)
    return compressed if len(compressed) < len(body) else None


def _representation(encoding: str, body: bytes, digest: str, common: Iterable[Header]) -> Representation:
    # Strong validators differ per content coding (RFC 9110 §8.8.3.3): the bytes differ.
    etag = f'"{digest}{_ETAG_SUFFIX[encoding]}"'.encode("ascii")
    headers = [*common, (b"etag", etag), (b"content-length", str(len(body)).encode("ascii"))]
    if encoding != IDENTITY:
        headers.append((b"content-encoding", encoding.encode("ascii")))
    not_modified = [(name, value) for name, value in headers if name in _NOT_MODIFIED_FIELDS]
    return Representation(encoding, body, etag, headers, not_modified)


class ResourceCache:
    """A least-recently-used set of prepared resources, bounded by the bytes they hold.

    Keyed by path and digest, so an entry stays valid across builds for as long as the document's bytes do.
    Not thread-safe: used from the event loop only.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[ResourceKey, Resource] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, path: str, digest: str) -> Resource | None:
        resource = self._entries.get((path, digest))
        if resource is not None:
            self._entries.move_to_end((path, digest))
        return resource

    def put(self, resource: Resource, identity: str = "") -> None:
        """Keep ``resource``, found by its path and ``identity`` (default: its digest; an archive page made on request
        is found by its plan key, known before its bytes are)."""
        key = (resource.path, identity or resource.digest)
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size
        if resource.size > self.max_bytes:
            return  # larger than the whole cache: served, not kept
        self._entries[key] = resource
        self.bytes += resource.size
        while self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def retain(self, keep: Callable[[str, str], bool]) -> None:
        """Drop the entries for which ``keep(path, identity)`` is false."""
        for key in [k for k in self._entries if not keep(*k)]:
            self.bytes -= self._entries.pop(key).size


_negotiated: dict[bytes, tuple[str, ...]] = {}
_NEGOTIATION_CACHE_SIZE = 256


def negotiate_encoding(accept_encoding: bytes) -> str:
    """Pick a content coding from an Accept-Encoding value (RFC 9110 §12.5.3)."""
    return acceptable_encodings(accept_encoding)[0]


def acceptable_encodings(accept_encoding: bytes) -> tuple[str, ...]:
    """Codings the client accepts, most preferred first, ending in identity; memoised per header value."""
    ranking = _negotiated.get(accept_encoding)
    if ranking is None:
        ranking = _rank_accept_encoding(accept_encoding)
        if len(accept_encoding) > 200:
            return ranking  # real browsers and readers send short values; do not keep odd ones
        if len(_negotiated) >= _NEGOTIATION_CACHE_SIZE:
            _negotiated.clear()  # bounded: clients cannot grow it without limit
        _negotiated[accept_encoding] = ranking
    return ranking


def _rank_accept_encoding(value: bytes) -> tuple[str, ...]:
    if not value:
        return (IDENTITY,)
    weights: dict[str, float] = {}
    for item in value.decode("latin-1").split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, raw = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(raw.strip())
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    star = weights.get("*")
    accepted: list[tuple[float, int, str]] = []
    for order, coding in enumerate(_PREFERENCE):
        accept: float | None = weights.get(coding)
        if accept is None and coding != IDENTITY:
            accept = star
        if accept is None and coding == IDENTITY:
            # identity is acceptable unless excluded explicitly or via "*;q=0" (§12.5.3).
            accept = 0.001 if star is None or star > 0 else 0.0
        if accept is not None and accept > 0:
            accepted.append((-accept, order, coding))
    ranking = tuple(coding for _, _, coding in sorted(accepted))
    # identity last in any case: with "identity;q=0" and no coding we have, sending it beats a 406 that would
    # leave a feed reader with nothing (§12.5.3 allows either).
    return ranking if IDENTITY in ranking else (*ranking, IDENTITY)


def is_not_modified(
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
    etag: bytes,
    last_modified: datetime | None,
    last_modified_header: bytes,
    valid_from: datetime | None = None,
) -> bool:
    """RFC 9110 §13.1.2/§13.1.3 for GET and HEAD: answer 304 when the client's copy is current.

    If-None-Match takes precedence: when present, If-Modified-Since is ignored (§13.1.3). If-None-Match
    uses the weak comparison (§8.8.3.2), so ``W/"x"`` matches ``"x"``.

    If-Modified-Since gives 304 when the representation has not changed since that date: ``last_modified`` is at or
    before it. ``valid_from`` (default: ``last_modified``) is the earliest date that shows it: a Last-Modified
    shared with other bytes served in the same second does not (§8.8.2.2: a date validator is only as good as
    the origin's knowledge that nothing else changed within that second).
    """
    if if_none_match is not None:
        if if_none_match == etag:
            return True
        return _etag_listed(if_none_match, etag)
    if if_modified_since is not None and last_modified is not None:
        threshold = last_modified if valid_from is None else valid_from
        if if_modified_since == last_modified_header and threshold == last_modified:
            return True
        since = parse_http_date(if_modified_since)
        return since is not None and threshold <= since  # §13.1.3: an invalid date is ignored
    return False


def _etag_listed(header: bytes, etag: bytes) -> bool:
    opaque = etag.removeprefix(b"W/")
    for candidate in header.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == opaque:
            return True
    return False
