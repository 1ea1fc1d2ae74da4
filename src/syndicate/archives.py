"""RFC 5005 archive pages, prepared on their first request and kept in a cache bounded in bytes.

Archive pages are most of a large site's documents and rarely read, so a snapshot holds them as documents
(``Snapshot.archives``) rather than prepared representations; preparing them all at each swap would delay it, and
keeping them all prepared would make memory grow with every page. The cache is least-recently-used and keyed by
path and digest, so a page a rebuild did not change stays prepared.
"""

from __future__ import annotations

import asyncio

from syndicate import _tasks
from syndicate.documents import Document
from syndicate.lastmodified import Stamp
from syndicate.metrics import Metrics
from syndicate.responses import CachePolicy, Resource, ResourceCache, build_resource
from syndicate.snapshot import Snapshot

ARCHIVE_CACHE_BYTES = 32 * 1024 * 1024  # prepared archive pages kept in memory (all encodings counted)


class ArchivePages:
    """Serves a snapshot's resources, preparing its archive pages on request into ``cache``."""

    def __init__(self, cache: ResourceCache, policy: CachePolicy, metrics: Metrics) -> None:
        self.cache = cache
        self.policy = policy
        self.metrics = metrics
        self._tasks: dict[tuple[str, str, Stamp | None], asyncio.Task[Resource]] = {}

    async def resource(self, snapshot: Snapshot, path: str) -> Resource | None:
        """The prepared resource for ``path`` in ``snapshot``; archive pages are prepared on first request."""
        resource = snapshot.resources.get(path)
        if resource is not None:
            return resource
        document = snapshot.archives.get(path)
        if document is None:
            return None
        stamp = snapshot.stamps.get(path)
        cached = self.cache.get(path, document.digest)
        if cached is not None and cached.stamp == stamp:
            return cached
        key = (path, document.digest, stamp)
        task = self._tasks.get(key)
        if task is None:
            # One preparation per page however many clients ask at once; shielded so a client that gives up
            # does not cancel it for the others.
            task = asyncio.get_running_loop().create_task(self._prepare(document, stamp))
            self._tasks[key] = task
        return await asyncio.shield(task)

    async def _prepare(self, document: Document, stamp: Stamp | None) -> Resource:
        try:
            # The body may be loaded from the parse cache: file I/O and compression, off the event loop.
            resource = await asyncio.to_thread(build_resource, document, self.policy, stamp=stamp)
        finally:
            self._tasks.pop((document.path, document.digest, stamp), None)
        self.cache.put(resource)
        self.metrics.archive_prepared += 1
        self.metrics.archive_cache_bytes = self.cache.bytes
        return resource

    async def stop(self) -> None:
        for task in list(self._tasks.values()):  # a cancelled preparation removes itself from _tasks
            await _tasks.cancel(task)
