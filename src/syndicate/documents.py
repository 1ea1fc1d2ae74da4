"""The unit the builder produces and the server serves: one output file's bytes and metadata, and its URL.

Media types are the formats' (formats.FORMATS; OPML's is opml.MEDIA_TYPE).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from syndicate.config import Settings


def feed_url(settings: Settings, path: str, fmt: str, query: str = "") -> str:
    """Absolute URL of an output document (``path`` without its suffix); non-ASCII slugs are percent-encoded (ids and
    links must be URIs). ``query``: a query feed's canonical query string, e.g. ``tag=a&limit=5``."""
    url = f"{settings.feeds_url}/{quote(path, safe='/')}.{fmt}"
    return f"{url}?{query}" if query else url


def digest_of(body: bytes) -> str:
    """A document's identity: the hash of its bytes (ETag, manifest, cache), 128 bits of SHA-256.

    SHA-256 rather than BLAKE2b: OpenSSL's SHA-256 runs on the CPU's SHA instructions (x86 SHA-NI, Armv8 SHA2), faster
    than BLAKE2b where they exist, and a cold build hashes every document and post file (figures in docs/benchmarks.md).
    """
    return hashlib.sha256(body).hexdigest()[:32]


class Document:
    """One output file: ``path`` is relative to the output directory, POSIX separators, e.g. ``tags/ai.rss``.

    ``body`` is either held or, for documents that are rarely read (RFC 5005 archive pages of a large site), loaded
    on each access by ``load`` (from the parse cache), so a build of 100k posts does not keep every page's bytes in
    memory. ``digest`` identifies the bytes either way; documents are equal when path, bytes and metadata are.
    """

    __slots__ = ("_body", "_load", "digest", "media_type", "path", "updated")

    def __init__(
        self,
        path: str,
        body: bytes | None,
        media_type: str,
        updated: datetime | None,
        digest: str = "",
        load: Callable[[], bytes] | None = None,
    ) -> None:
        if body is None and (load is None or not digest):
            raise ValueError("a document without its body needs a loader and a digest")
        self.path = path
        self._body = body
        self._load = load
        self.media_type = media_type
        # Newest entry's updated time (None for documents without entries). Not the HTTP Last-Modified: that is when
        # the service published these bytes at this path (see lastmodified), whatever dates the entries carry.
        self.updated = updated
        self.digest = digest or digest_of(body or b"")

    @property
    def body(self) -> bytes:
        if self._body is not None:
            return self._body
        assert self._load is not None
        return self._load()

    @property
    def loaded(self) -> bool:
        """Whether the bytes are held in memory (False: each access loads them)."""
        return self._body is not None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.path, self.digest, self.media_type, self.updated) == (
            other.path,
            other.digest,
            other.media_type,
            other.updated,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.digest))

    def __repr__(self) -> str:
        return f"Document({self.path!r}, digest={self.digest!r})"
