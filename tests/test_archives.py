"""Archive pages: prepared on their first request, once however many ask, then served from a bounded cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from syndicate.archives import ArchivePages
from syndicate.config import Settings
from syndicate.documents import Document
from syndicate.lastmodified import restamp
from syndicate.metrics import Metrics
from syndicate.responses import CachePolicy, ResourceCache, build_resource
from syndicate.service import FeedService
from syndicate.snapshot import Snapshot

POLICY = CachePolicy(max_age=60)
PAGE = Document("archive/all/1.atom", b"<feed>" + b"old entries " * 100 + b"</feed>", "application/atom+xml", None)


def post(title: str, day: int, categories: str = "local", tags: str = "x") -> str:
    return f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'


def snapshot(modified: int) -> Snapshot:
    """A snapshot serving PAGE as an archive page published at ``modified`` (seconds since the epoch)."""
    index = build_resource(Document("index.html", b"<html></html>", "text/html", None), POLICY)
    return Snapshot(
        generation=1,
        resources={"all.atom": build_resource(Document("all.atom", b"<feed/>", "application/atom+xml", None), POLICY)},
        index=index,
        feeds=(),
        rejected=(),
        posts=0,
        built_at=datetime(2026, 5, 1, tzinfo=UTC),
        archives={PAGE.path: PAGE},
        stamps={PAGE.path: restamp(None, PAGE.digest, modified)},
    )


def test_archive_pages_are_prepared_on_first_request_and_cached(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-03-0{day}-p.md", post(f"P{day}", day))
    service = FeedService(make_settings(limit=2))

    async def scenario() -> None:
        assert (await service.build_now()).ok
        snapshot = service.snapshot
        assert snapshot is not None
        assert not snapshot.archives  # a server's build renders no archive page: they are made on request
        archived = sorted(snapshot.on_request)
        assert archived and all(p.startswith("archive/") for p in archived)
        assert not (service.settings.out / "archive").exists()
        assert not any(p.startswith("archive/") for p in snapshot.resources)  # nothing prepared at the swap
        assert len(service.archive_cache) == 0
        assert snapshot.documents == len(snapshot.resources) + len(archived)
        assert archived[0] in snapshot and "archive/nope.atom" not in snapshot
        path = next(p for p in archived if p.endswith(".atom"))
        # Two clients at once: one preparation, one resource.
        first, second = await asyncio.gather(service.resource(snapshot, path), service.resource(snapshot, path))
        assert first is not None and first is second
        written = (service.settings.out / path).read_bytes()  # written as it was made, for nginx
        assert first.representations["identity"].body == written
        assert set(first.representations) == {"identity", "gzip"} and first.pending == {"br"}  # brotli: if read again
        assert len(service.archive_cache) == 1
        assert await service.resource(snapshot, path) is first  # from the cache; asked again, brotli is made
        await asyncio.gather(*service._archives._completing.values())
        complete = await service.resource(snapshot, path)
        assert complete is not None and complete is not first and not complete.pending
        assert complete.representations["br"] and complete.digest == first.digest
        assert service.metrics.archive_prepared == 1
        assert service.metrics.archive_cache_bytes == complete.size == service.archive_cache.bytes
        exposition = service.metrics.render(service.gauges)
        assert "syndicate_archive_pages_prepared_total 1\n" in exposition
        assert f"syndicate_archive_cache_bytes {complete.size}\n" in exposition
        assert await service.resource(snapshot, "archive/nope.atom") is None
        # A rebuild that does not change the page keeps its prepared resource (keyed by path and key) and its file.
        assert (await service.build_now()).ok
        assert service.snapshot is not snapshot
        assert await service.resource(service.snapshot, path) is complete
        assert (service.settings.out / path).read_bytes() == written
        await service.stop()

    asyncio.run(scenario())


def test_a_page_is_prepared_again_only_when_its_stamp_or_bytes_change() -> None:
    metrics = Metrics()
    pages = ArchivePages(ResourceCache(1024 * 1024), POLICY, metrics)
    first, restamped = snapshot(1_700_000_000), snapshot(1_800_000_000)

    async def scenario() -> None:
        assert await pages.resource(first, "all.atom") is first.resources["all.atom"]  # prepared at the swap
        assert await pages.resource(first, "archive/all/2.atom") is None
        page = await pages.resource(first, PAGE.path)
        assert page is not None and page.stamp == first.stamps[PAGE.path]
        assert await pages.resource(snapshot(1_700_000_000), PAGE.path) is page  # a rebuild that kept it
        again = await pages.resource(restamped, PAGE.path)  # same bytes, published anew: a new Last-Modified
        assert again is not None and again is not page and again.stamp == restamped.stamps[PAGE.path]

    asyncio.run(scenario())
    assert metrics.archive_prepared == 2


def test_a_page_larger_than_the_cache_is_served_but_not_kept() -> None:
    metrics = Metrics()
    pages = ArchivePages(ResourceCache(16), POLICY, metrics)
    served = snapshot(1_700_000_000)

    async def scenario() -> None:
        first = await pages.resource(served, PAGE.path)
        second = await pages.resource(served, PAGE.path)
        assert first is not None and second is not None and first is not second
        await pages.stop()

    asyncio.run(scenario())
    assert metrics.archive_prepared == 2 and metrics.archive_cache_bytes == 0 and len(pages.cache) == 0
