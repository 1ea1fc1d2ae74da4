"""Where a document's bytes live, and how they come back.

One policy for every document a build renders or finds again:

- an RFC 5005 archive page (most of a large site's documents) is staged for writing as soon as it is rendered and
  then dropped: its bytes come back from the output file when requested, and the cache keeps only their digest;
- a subscription document is held in memory when a server will answer from it (``hold``); a build that serves
  nothing (``syndicate build``) stages it and keeps it out of memory like an archive page;
- a build that writes no files keeps subscription documents' bytes in the parse cache.

A document kept out of memory is a ``Document`` whose loader (``StoredBody``) reads the output file, else the cache,
while they still hold the same digest, else renders the page again (deterministic: the same bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from syndicate.cache import ParseCache
from syndicate.config import Settings
from syndicate.documents import Document, digest_of
from syndicate.feeds import Entry, Page, render_page
from syndicate.formats import FORMATS
from syndicate.plan import Planned
from syndicate.render import render_content
from syndicate.store import Staging

PreviousDigest = Callable[[str], "str | None"]  # the digest of the file at a path as the last build left it


class StoredBody:
    """The bytes of a document kept out of memory (see the module's docstring). A small object rather than a
    closure: a large site has tens of thousands of them."""

    __slots__ = ("cache", "digest", "fmt", "key", "page", "settings", "write")

    def __init__(
        self,
        settings: Settings,
        cache: ParseCache | None,
        write: bool,
        page: Page,
        fmt: str,
        key: str,
        digest: str,
    ) -> None:
        self.settings, self.cache, self.write = settings, cache, write
        self.page, self.fmt, self.key, self.digest = page, fmt, key, digest

    def __call__(self) -> bytes:
        if self.write:
            try:
                data = (self.settings.out / f"{self.page.path}.{self.fmt}").read_bytes()
            except OSError:
                data = b""
            if data and digest_of(data) == self.digest:
                return data
        body = self.cache.get_body(self.key) if self.cache is not None else None
        if body is not None:
            return bytes(body)
        page = self.page
        if not page.archive and not self.settings.excerpt_only:
            # A subscription document carries its posts' full content (archive pages carry summaries only): from
            # the cache, else rendered again, as the build did (None where the summary stood in).
            found = self.cache.get_content(e.post.digest for e in page.entries) if self.cache is not None else {}
            entries = []
            for entry in page.entries:
                post = entry.post
                content = found[post.digest] if post.digest in found else render_content(self.settings, post)
                entries.append(Entry(post, content))
            page = replace(page, entries=tuple(entries))
        return render_page(self.settings, page, self.fmt).body


# A batch of rendered documents' bytes is handed to the cache at this many documents or bytes, whichever first:
# large enough to make few transactions, small enough not to hold a cold build's documents until the end.
_CACHE_BATCH = 500
_CACHE_BATCH_BYTES = 4 << 20


class Bodies:
    """The bytes of one build's documents: where each goes (see the module's docstring) and what the cache learns.

    ``staging`` is where the build's files are staged (None: it writes no files); ``previous`` gives the digest of
    the file at a path as the last build left it, so that only files whose bytes changed are staged.
    """

    def __init__(
        self,
        settings: Settings,
        cache: ParseCache | None,
        *,
        hold: bool,
        staging: Staging | None,
        previous: PreviousDigest,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.hold = hold
        self.staging = staging
        self.previous = previous
        self._fresh: dict[str, tuple[str, bytes]] = {}  # key -> (digest, bytes) for the cache
        self._fresh_bytes = 0
        self._known: dict[str, str] = {}  # key -> digest of documents written to the output directory

    def kept_out(self, planned: Planned, digest: str) -> Document:
        """A document whose bytes are not held: loaded on access (see StoredBody)."""
        page, fmt, key = planned
        loader = StoredBody(self.settings, self.cache, self.staging is not None, page, fmt, key, digest)
        return Document(planned.path, None, FORMATS[fmt].media_type, page.updated, digest, loader)

    def found(self, missing: list[Planned]) -> tuple[dict[str, Document], list[Planned]]:
        """The documents of ``missing`` a previous run left behind (in the cache, or as output files the cache knows
        the digest of), and those still to render."""
        if not missing or self.cache is None:
            return {}, missing
        digests = self.cache.get_digests(k for _, _, k in missing)
        bodies = self.cache.get_documents(k for page, _, k in missing if not page.archive)
        documents: dict[str, Document] = {}
        still: list[Planned] = []
        for planned in missing:
            page, fmt, key = planned
            path = planned.path
            digest = digests.get(key)
            if key in bodies:
                documents[path] = Document(path, bytes(bodies[key]), FORMATS[fmt].media_type, page.updated)
            elif digest is not None and (page.archive or not self.hold):
                documents[path] = self.kept_out(planned, digest)
            elif digest is not None and (data := self._output_file(path, digest)) is not None:
                documents[path] = Document(path, data, FORMATS[fmt].media_type, page.updated, digest)
            else:
                still.append(planned)
        return documents, still

    def _output_file(self, path: str, digest: str) -> bytes | None:
        """The bytes of the output file at ``path`` if it holds the document with ``digest`` (else None)."""
        if self.staging is None:
            return None
        try:
            data = (self.settings.out / path).read_bytes()
        except OSError:
            return None
        return data if digest_of(data) == digest else None

    def place(self, planned: Planned, doc: Document) -> Document:
        """Put a freshly rendered document where its bytes belong; the document to publish."""
        staging = self.staging
        if staging is not None and (planned.page.archive or not self.hold):
            # Staged for writing now; the bytes come back from the output file (checked by digest), and the cache
            # keeps only their digest.
            if doc.digest != self.previous(doc.path):
                staging.stage(doc.path, doc.body, doc.digest)
            self._known[planned.key] = doc.digest
            return self.kept_out(planned, doc.digest)
        if staging is not None:
            # Held, and written: the next process reads the bytes back from the output file, so the cache keeps only
            # the digest (the subscription documents' bytes were most of what a cold build wrote into the cache).
            self._known[planned.key] = doc.digest
            return doc
        if self.cache is not None:
            self._fresh[planned.key] = (doc.digest, doc.body)
            self._fresh_bytes += len(doc.body)
            if len(self._fresh) >= _CACHE_BATCH or self._fresh_bytes >= _CACHE_BATCH_BYTES:
                self.flush()
        if planned.page.archive or not self.hold:
            return self.kept_out(planned, doc.digest)  # not written: loaded from the cache (or rendered) on access
        return doc

    def adopt(self, planned: Planned, digest: str) -> Document:
        """A document another process rendered and staged (or found unchanged): known by its digest."""
        self._known[planned.key] = digest
        return self.kept_out(planned, digest)

    def flush(self) -> None:
        """Hand the bytes rendered so far to the cache."""
        if self.cache is not None and self._fresh:
            self.cache.put_documents(self._fresh)
        self._fresh, self._fresh_bytes = {}, 0

    def finish(self) -> None:
        """Hand the cache everything it is to keep of this build's documents."""
        self.flush()
        if self.cache is not None:
            self.cache.put_digests(self._known)
