"""Pending encodings completed after the swap, for the served feeds clients read and no others."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from syndicate.completion import Completer
from syndicate.documents import Document
from syndicate.responses import GZIP, CachePolicy, Resource, build_resource
from syndicate.snapshot import Snapshot

POLICY = CachePolicy(max_age=60)


def pending(path: str, text: str) -> Resource:
    """A feed prepared as a rebuild prepares a large one: identity and gzip now, brotli pending."""
    body = f"<feed>{text * 200}</feed>".encode()
    return build_resource(Document(path, body, "application/atom+xml", None), POLICY, encodings=(GZIP,))


def snapshot(*resources: Resource) -> Snapshot:
    index = build_resource(Document("index.html", b"<html></html>", "text/html", None), POLICY)
    return Snapshot(
        generation=1,
        resources={r.path: r for r in resources},
        index=index,
        feeds=(),
        rejected=(),
        posts=0,
        built_at=datetime(2026, 5, 1, tzinfo=UTC),
    )


def test_only_the_served_feeds_clients_want_are_completed_and_installed() -> None:
    read, unread = pending("all.atom", "read "), pending("all.rss", "unread ")
    served = snapshot(read, unread)
    completer = Completer()

    async def scenario() -> None:
        completer.swapped(served)  # nothing wanted yet: nothing to do
        completer.want(pending("archive/all/1.atom", "page "))  # not a served feed: ignored
        completer.want(pending("all.atom", "read "))  # not the served version of that path: ignored
        await completer.compressed()
        assert served.resources["all.atom"] is read
        completer.want(read)
        await completer.compressed()

    asyncio.run(scenario())
    completed = served.resources["all.atom"]
    assert completed is not read and not completed.pending and "br" in completed.representations
    assert completed.digest == read.digest and completed.representations["gzip"] == read.representations["gzip"]
    assert served.resources["all.rss"] is unread and unread.pending == {"br"}  # nobody asked


def test_a_wanted_feed_is_completed_again_after_a_rebuild_changes_it() -> None:
    first = pending("all.atom", "one ")
    served = snapshot(pending("all.atom", "two "), pending("all.rss", "two "))
    completer = Completer()

    async def scenario() -> None:
        completer.swapped(snapshot(first))
        completer.want(first)
        await completer.compressed()
        completer.swapped(served)
        await completer.compressed()

    asyncio.run(scenario())
    assert not served.resources["all.atom"].pending  # wanted before: completed without being asked again
    assert served.resources["all.rss"].pending == {"br"}


def test_stop_ends_the_completion_in_flight() -> None:
    feed = pending("all.atom", "x ")
    completer = Completer()

    async def scenario() -> None:
        completer.swapped(snapshot(feed))
        completer.want(feed)
        await completer.stop()
        await completer.compressed()  # returns at once: nothing left running

    asyncio.run(scenario())
