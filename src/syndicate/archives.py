"""RFC 5005 archive pages, made on their first request and kept in a cache bounded in bytes.

Archive pages are most of a large site's documents and rarely read. A server's builds do not render them: a snapshot
holds their plans (``Snapshot.on_request``, each with its key), and the first request renders the page (off the event
loop), writes it to the output directory (``archivefiles.py``: nginx serves it from there next time) and keeps it
prepared. A build that did render them (a builder without ``archives``) leaves them as documents
(``Snapshot.archives``), prepared on request the same way. Preparing them all at each swap would delay it, and
keeping them all prepared would make memory grow with every page. The cache is least-recently-used and keyed by path
and key (or digest), so a page a rebuild did not change stays prepared; one whose key changed is dropped at the swap.

A page is prepared with identity and gzip; brotli is made in the background when it is asked for again. A full
archive page changes only when one of its posts is edited or deleted, so archive pages are served with a long max-age
(the ``archive_max_age`` setting, CachePolicy.cache_control_for); their validators tell a client that revalidates
whether it has them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from syndicate import _tasks
from syndicate.archivefiles import ArchiveFiles
from syndicate.config import Settings
from syndicate.documents import Document
from syndicate.lastmodified import Stamp
from syndicate.metrics import Metrics
from syndicate.responses import GZIP, CachePolicy, Resource, ResourceCache, build_resource
from syndicate.snapshot import Snapshot

if TYPE_CHECKING:
    from syndicate.plan import Planned

log = logging.getLogger("syndicate.archives")

ARCHIVE_CACHE_BYTES = 32 * 1024 * 1024  # prepared archive pages kept in memory (all encodings counted)


class ArchivePages:
    """Serves a snapshot's resources, preparing its archive pages on request into ``cache``."""

    def __init__(
        self,
        cache: ResourceCache,
        policy: CachePolicy,
        metrics: Metrics,
        settings: Settings | None = None,
        files: ArchiveFiles | None = None,
    ) -> None:
        """``settings``: what pages made on request are rendered with; ``files``: where they are written (None:
        kept in memory only)."""
        self.cache = cache
        self.policy = policy
        self.metrics = metrics
        self.settings = settings
        self.files = files
        self._tasks: dict[tuple[str, str, Stamp | None], asyncio.Task[Resource]] = {}
        self._completing: dict[tuple[str, str, Stamp | None], asyncio.Task[None]] = {}

    async def resource(self, snapshot: Snapshot, path: str) -> Resource | None:
        """The prepared resource for ``path`` in ``snapshot``; archive pages are prepared on first request."""
        resource = snapshot.resources.get(path)
        if resource is not None:
            return resource
        made = snapshot.archives.get(path)
        document: Document | Planned
        if made is not None:
            document, identity = made, made.digest
        else:
            planned = snapshot.on_request.get(path)
            if planned is None:
                return None
            document, identity = planned, planned.key
        stamp = snapshot.stamps.get(path)
        cached = self.cache.get(path, identity)
        key = (path, identity, stamp)
        if cached is not None and cached.stamp == stamp:
            if cached.pending and key not in self._completing:
                self._complete_later(key, cached)
            return cached
        task = self._tasks.get(key)
        if task is None:
            # One preparation per page however many clients ask at once; shielded so a client that gives up
            # does not cancel it for the others.
            task = asyncio.get_running_loop().create_task(self._prepare(key, document, stamp, snapshot.texts))
            self._tasks[key] = task
        return await asyncio.shield(task)

    def _complete_later(self, key: tuple[str, str, Stamp | None], resource: Resource) -> None:
        """A page asked for again: its brotli is made in the background, for the requests after this one."""

        async def complete() -> None:
            try:
                done = await asyncio.to_thread(resource.complete)
            finally:
                self._completing.pop(key, None)
            if self.cache.get(resource.path, key[1]) is resource:  # still the one kept (not evicted, not replaced)
                self.cache.put(done, key[1])
                self.metrics.archive_cache_bytes = self.cache.bytes

        self._completing[key] = asyncio.get_running_loop().create_task(complete())

    async def _prepare(
        self, key: tuple[str, str, Stamp | None], document: Document | Planned, stamp: Stamp | None, texts: object
    ) -> Resource:
        """``texts``: the summary store generation the page's posts read (Snapshot.texts), held until it is made,
        even when every request for it has gone and its snapshot with them."""
        try:
            # Rendering, writing, loading the body from the output file or the cache, compressing: off the event loop.
            resource = await asyncio.to_thread(self._make, document, stamp)
        finally:
            self._tasks.pop(key, None)
        self.cache.put(resource, key[1])
        self.metrics.archive_prepared += 1
        self.metrics.archive_cache_bytes = self.cache.bytes
        return resource

    def _make(self, document: Document | Planned, stamp: Stamp | None) -> Resource:
        """Worker thread: the page's representations; a page made on request is rendered and written first."""
        # Identity and gzip now; brotli, which took most of a first request's time (docs/benchmarks.md), when the
        # page is asked for again (most archive pages are read once, by a reader catching up or a crawler).
        if isinstance(document, Document):
            return build_resource(document, self.policy, stamp=stamp, encodings=(GZIP,))
        assert self.settings is not None, "pages made on request need the settings to render them"
        from syndicate.feeds import render_page  # the build's writers, loaded by the first build (which this follows)

        page = render_page(self.settings, document.page, document.fmt)
        if self.files is not None:
            try:
                self.files.write(page.path, document.key, page.body, page.digest)
            except OSError as exc:
                # Served from memory all the same; the next request after the cache lets it go tries again.
                log.warning("cannot write archive page %s: %s", page.path, exc.strerror or exc)
        return build_resource(page, self.policy, stamp=stamp, encodings=(GZIP,))

    def swapped(self, snapshot: Snapshot) -> None:
        """A new snapshot is served: pages whose key (or digest) changed leave the cache."""
        on_request, archives = snapshot.on_request, snapshot.archives

        def current(path: str, identity: str) -> bool:
            key = on_request.key_of(path)
            if key is not None:
                return key == identity
            document = archives.get(path)
            return document is not None and document.digest == identity

        self.cache.retain(current)
        self.metrics.archive_cache_bytes = self.cache.bytes

    async def stop(self) -> None:
        for task in [*self._tasks.values(), *self._completing.values()]:  # cancelled ones remove themselves
            await _tasks.cancel(task)
