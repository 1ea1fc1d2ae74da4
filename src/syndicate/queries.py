"""Query feeds: the newest posts with all of some names (categories, tags, publications, authors: the feed kinds of
groups.FEED_KINDS), rendered on request and cached per build.

A query feed is stamped like a served path (Last-Modified, see ``lastmodified``), by what the query asks, whichever
build answers it. Both the answers and the stamps are bounded: a client cannot grow memory by asking new questions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from syndicate.lastmodified import Stamp, restamp, seconds
from syndicate.responses import CachePolicy, Resource, build_resource

if TYPE_CHECKING:
    from syndicate.builder import Builder

# Answers kept per build, bounded in bytes (all encodings counted) and in number: a client asking many distinct
# questions of a site with long posts cannot grow memory by more than this.
CACHE_BYTES = 32 * 1024 * 1024
_CACHE_SIZE = 256
_STAMPS = 4096  # Last-Modified records of query feeds (one forgotten is stamped anew: a full response)


class _Query(NamedTuple):
    """What a query feed asks for: posts with all these names of each kind, the newest ``limit``, as ``fmt``."""

    terms: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, its names sorted), by kind, without kinds not asked
    limit: int
    fmt: str


class QueryFeeds:
    """Answers query feeds from the posts of the builder ``builder()`` gives (made by the first build), prepared by
    ``policy``, stamped by ``clock``."""

    def __init__(self, builder: Callable[[], Builder], policy: CachePolicy, clock: Callable[[], datetime]) -> None:
        self.builder = builder
        self.policy = policy
        self.clock = clock
        self._generation = 0  # the served snapshot's (see swapped)
        self._cache: dict[tuple[int, _Query], Resource] = {}  # by (snapshot generation, query), oldest first
        self._cache_bytes = 0
        self._stamps: dict[_Query, Stamp] = {}
        # One query feed is rendered at a time: questions nobody asked before cost CPU (their posts' content is
        # rendered), and anonymous clients asking many at once must not take the cores the server's feeds and builds
        # need. The others wait their turn; an answer kept meanwhile is served without waiting.
        self._rendering = asyncio.Semaphore(1)

    def swapped(self, generation: int) -> None:
        """A new build is served: answer from it. (An answer still being made from the old one is not kept.)"""
        self._generation = generation
        self._cache = {}
        self._cache_bytes = 0

    async def query(self, terms: Mapping[str, Sequence[str]], limit: int, fmt: str) -> Resource:
        """An on-demand intersection feed (``terms``: a kind's name to names), cached per build (bounded)."""
        asked = tuple(sorted((kind, tuple(sorted(names))) for kind, names in terms.items() if names))
        query = _Query(asked, limit, fmt)
        key = (self._generation, query)
        cached = self._cache.get(key)
        if cached is not None:
            return cached

        async with self._rendering:
            cached = self._cache.get(key)  # answered while this request waited
            if cached is not None:
                return cached
            document = await asyncio.to_thread(self.builder().query, terms=dict(query.terms), limit=limit, fmt=fmt)
            # On the event loop, so requests for the same query see one record.
            stamp = self._stamps.pop(query, None)
            stamp = self._stamps[query] = restamp(stamp, document.digest, seconds(self.clock()))
            if len(self._stamps) > _STAMPS:
                self._stamps.pop(next(iter(self._stamps)))  # the least recently asked
            resource = await asyncio.to_thread(build_resource, document, self.policy, stamp=stamp)
            if resource.size <= CACHE_BYTES and self._generation == key[0]:
                # Kept unless larger than the whole cache, or made from a build no longer served.
                while self._cache and (
                    len(self._cache) >= _CACHE_SIZE or self._cache_bytes + resource.size > CACHE_BYTES
                ):
                    self._cache_bytes -= self._cache.pop(next(iter(self._cache))).size
                self._cache[key] = resource
                self._cache_bytes += resource.size
        return resource

    @property
    def cache_bytes(self) -> int:
        """Bytes the kept answers hold (all encodings)."""
        return self._cache_bytes
