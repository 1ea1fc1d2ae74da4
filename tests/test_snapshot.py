"""Preparing a build's documents into a Snapshot: representations made before the swap, unchanged ones kept, stamps."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from conftest import Clock
from syndicate.archivefiles import ArchiveFiles
from syndicate.builder import Builder
from syndicate.cache import open_cache
from syndicate.config import Settings
from syndicate.documents import Document
from syndicate.lastmodified import restamp, seconds
from syndicate.responses import CachePolicy
from syndicate.snapshot import EAGER_BROTLI_BYTES, Preparer


def post(title: str, day: int, categories: str = "local", tags: str = "x") -> str:
    return f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'


def preparer(settings: Settings, clock: Clock) -> Preparer:
    return Preparer(settings, CachePolicy(max_age=settings.max_age, feeds_url=settings.feeds_url), clock, None)


def test_large_documents_are_prepared_without_brotli_before_a_rebuilds_swap(
    make_settings: Callable[..., Settings], clock: Clock
) -> None:
    parts = preparer(make_settings(), clock)
    large = Document("all.atom", b"<feed>" + b"x" * EAGER_BROTLI_BYTES, "a/b", None)
    prepared = parts.prepare(large)
    assert set(prepared.representations) == {"identity", "gzip"} and prepared.pending == {"br"}
    assert not parts.prepare_all(large).pending
    small = Document("all.atom", b"<feed>" + b"x" * 1000, "a/b", None)
    assert set(parts.prepare(small).representations) == {"identity", "gzip", "br"}
    parts.close()


def test_a_rebuild_keeps_what_it_did_not_change_and_stamps_what_it_did(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    for day in range(1, 6):
        write_post(f"2024-03-0{day}-p.md", post(f"P{day}", day, "local" if day % 2 else "sports"))
    settings = make_settings(limit=2, cache="off")  # archive pages too
    builder = Builder(settings)
    parts = preparer(settings, clock)
    builder.build()
    first = parts.prepare_snapshot(builder.feedset, None)
    assert first.generation == 1 and first.posts == 5
    assert first.archives and not any(path.startswith("archive/") for path in first.resources)  # prepared on request
    assert set(first.stamps) == {*first.resources, *first.archives, "index.html"}
    assert {r.last_modified_header for r in first.resources.values()} == {b"Fri, 01 May 2026 12:00:00 GMT"}
    assert not any(r.pending for r in first.resources.values())  # small documents: every encoding at once

    clock.advance(60)
    builder.build([write_post("2024-03-06-p.md", post("P6", 6, "sports"))])
    second = parts.prepare_snapshot(builder.feedset, first)
    assert second.generation == 2 and second.posts == 6
    assert second.resources["categories/local.atom"] is first.resources["categories/local.atom"]  # kept as it was
    assert second.stamps["categories/local.atom"] is first.stamps["categories/local.atom"]
    changed = second.resources["categories/sports.atom"]
    assert changed is not first.resources["categories/sports.atom"]
    assert changed.last_modified_header == b"Fri, 01 May 2026 12:01:00 GMT"
    assert second.index.last_modified_header == b"Fri, 01 May 2026 12:01:00 GMT"  # the index counts the posts
    parts.close()


def test_archive_pages_not_rendered_keep_their_stamps_unless_their_feed_changed(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    """A server's snapshot stamps each archive page it has not rendered by the page's key. It looks only at the pages
    of the feeds a build changed (and at stamps still ambiguous): the stamps come out as if it had looked at every
    page, and the Last-Modified records kept for a restart are exactly the snapshot's."""
    random.seed(17)
    for day in range(1, 15):
        write_post(f"2024-03-{day:02d}-p.md", post(f"P{day}", day, random.choice(["local", "sports", "arts"])))
    settings = make_settings(limit=2)
    cache = open_cache(settings)
    assert cache is not None
    builder = Builder(settings, cache=cache, archives=ArchiveFiles(settings.out, cache))
    parts = Preparer(settings, CachePolicy(max_age=settings.max_age, feeds_url=settings.feeds_url), clock, cache)
    builder.build()
    last = parts.prepare_snapshot(builder.feedset, None)
    for step in range(25):
        day = random.randint(1, 28)
        path = settings.posts / f"2024-03-{day:02d}-p.md"
        if path.exists() and random.random() < 0.3:
            path.unlink()
        else:
            write_post(path.name, post(f"P{day} v{step}", day, random.choice(["local", "sports", "arts", "news"])))
        clock.advance(random.choice([0, 0, 1, 30]))  # within the same second too: ambiguous stamps
        builder.build([path])
        snapshot = parts.prepare_snapshot(builder.feedset, last)
        on_request = builder.feedset.on_request
        assert on_request and set(snapshot.stamps) == {*snapshot.resources, *on_request, "index.html"}
        now = seconds(clock())
        for page, planned in on_request.items():
            before = last.stamps.get(page)
            unchanged = before is not None and before.digest == planned.key and before.valid_from == before.modified
            assert snapshot.stamps[page] == (before if unchanged else restamp(before, planned.key, now)), page
        assert cache.load_stamps() == dict(snapshot.stamps)
        last = snapshot
    parts.close()
