"""Brotli for large feeds after the swap, made only for the feeds clients read.

A rebuild prepares large feeds without brotli (``snapshot.EAGER_BROTLI_BYTES``), so that a new post is served without
waiting for it. :class:`Completer` adds the pending encodings afterwards, in a background task, to the feeds some
client has asked for (``want``), from the first request on: a large site's many tag feeds are rarely read, and
brotli for every changed one after each rebuild took as much CPU as the rebuild itself, leaving less for requests
and the next build. Until then clients that accept brotli get gzip.
"""

from __future__ import annotations

import asyncio

from syndicate import _tasks
from syndicate.responses import Resource, ResourceKey
from syndicate.snapshot import Snapshot


class Completer:
    """Completes the pending encodings of the served feeds clients read, one at a time, in a worker thread.

    The service tells it of every swap (``swapped``), in the same step on the event loop as the swap itself, so its
    snapshot is always the one served; completed resources are installed into it.
    """

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        # Paths of feeds clients have asked for: their pending encodings are completed after every rebuild. Only
        # paths of served feeds are kept.
        self._wanted: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def want(self, resource: Resource) -> None:
        """A client asked for the feed ``resource`` (in any encoding): its pending encodings are made now, and after
        every later rebuild that changes it. On the event loop, once per request: a set lookup."""
        path = resource.path
        if path not in self._wanted:
            snapshot = self._snapshot
            if snapshot is None or snapshot.resources.get(path) is not resource:
                return  # not a served feed (an archive page, a query feed) or no longer the served version
            self._wanted.add(path)
        if resource.pending:
            self._schedule()

    def swapped(self, snapshot: Snapshot) -> None:
        """``snapshot`` is served now: complete what is pending in the feeds clients want."""
        self._snapshot = snapshot
        self._wanted.intersection_update(snapshot.resources)  # feeds that went away
        self._schedule()

    def _schedule(self) -> None:
        if not self._wanted:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._complete_pending())

    async def _complete_pending(self) -> None:
        done: dict[ResourceKey, Resource] = {}
        while True:
            snapshot = self._snapshot
            wanted = self._wanted
            todo = (
                [r for r in snapshot.resources.values() if r.pending and r.path in wanted]
                if snapshot is not None
                else []
            )
            if not todo:
                return
            for resource in todo:
                key = (resource.path, resource.digest)
                complete = done.get(key)
                if complete is None:
                    complete = done[key] = await asyncio.to_thread(resource.complete)
                # Install into whatever is served now (perhaps a newer build that kept these bytes).
                current = self._snapshot
                served = _served_as(current, complete)
                if current is not None and served is not None and served.pending:
                    current.resources[resource.path] = complete

    async def compressed(self) -> None:
        """Wait until every wanted feed has all its encodings."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        await _tasks.cancel(self._task)


def _served_as(snapshot: Snapshot | None, resource: Resource) -> Resource | None:
    """What ``snapshot`` serves at ``resource``'s path if it is the same bytes with the same stamp (a newer build may
    have kept them), whatever encodings it has gained meanwhile; else None."""
    served = snapshot.resources.get(resource.path) if snapshot is not None else None
    if served is not None and served.digest == resource.digest and served.stamp == resource.stamp:
        return served
    return None
