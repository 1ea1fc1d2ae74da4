"""WebSub publishing: the hub is told about every feed a build wrote, once per topic; archive pages and OPML are not."""

from __future__ import annotations

import asyncio
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syndicate.config import Settings
from syndicate.metrics import Metrics
from syndicate.service import FeedService
from syndicate.websub import HubPinger

FEEDS_URL = "https://news.example.net/feeds"  # as settings hold it: no trailing slash


def post(title: str, day: int, categories: str = "local", tags: str = "x") -> str:
    return f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'


class _Hub(BaseHTTPRequestHandler):
    received: list[dict[str, list[str]]] = []
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append(urllib.parse.parse_qs(self.rfile.read(length).decode()))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_hub(status: int) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A hub on a free local port answering every publish with ``status``: its URL and the requests it received."""
    received: list[dict[str, list[str]]] = []
    handler = type("Hub", (_Hub,), {"received": received, "status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub", received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hub() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    yield from serve_hub(204)


@pytest.fixture
def failing_hub() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    yield from serve_hub(503)


def topics(received: list[dict[str, list[str]]]) -> list[str]:
    return [r["hub.url"][0] for r in received if r.get("hub.mode") == ["publish"]]


async def sent(pinger: HubPinger) -> None:
    try:
        await asyncio.wait_for(pinger.sent(), 30)  # bounded: the pinger drains its queue
    except TimeoutError:
        pytest.fail("pings did not finish")


def test_websub_publish_pings_for_changed_feeds(
    write_post: Callable[..., Path],
    make_settings: Callable[..., Settings],
    hub: tuple[str, list[dict[str, list[str]]]],
) -> None:
    hub_url, received = hub
    write_post("2024-03-01-a.md", post("A", 1, "local"))
    write_post("2024-03-02-b.md", post("B", 2, "sports"))
    service = FeedService(make_settings(hub=hub_url))

    async def settle() -> None:
        try:
            await asyncio.wait_for(service.pinged(), 30)  # bounded: the pinger drains its queue
        except TimeoutError:
            pytest.fail("pings did not finish")

    async def scenario() -> set[str]:
        assert (await service.build_now()).ok
        await settle()
        received.clear()
        c = write_post("2024-03-03-c.md", post("C", 3, "local"))
        assert (await service.build_now([c])).ok
        await settle()
        return {r["hub.url"][0] for r in received if r.get("hub.mode") == ["publish"]}

    topics = asyncio.run(scenario())
    base = "https://news.example.net/feeds/"
    assert {base + "all.atom", base + "categories/local.rss", base + "tags/x.json"} <= topics
    assert base + "categories/sports.atom" not in topics  # unchanged: no ping
    assert not any("/archive/" in t or t.endswith(".opml") for t in topics)
    assert service.metrics.websub_pings["ok"] >= 3 and service.metrics.websub_pings["error"] == 0


def test_feeds_are_pinged_once_per_topic_and_other_documents_not(hub: tuple[str, list[dict[str, list[str]]]]) -> None:
    hub_url, received = hub
    metrics = Metrics()
    pinger = HubPinger(hub_url, FEEDS_URL, metrics)

    async def scenario() -> None:
        # Queued twice before the first ping goes out: one ping per topic, in order.
        pinger.queue(["all.rss", "archive/all/1.atom", "index.opml", "tags/x.json"])
        pinger.queue(["all.atom", "all.rss", "archive/tags/x/2.rss"])
        await sent(pinger)

    asyncio.run(scenario())
    assert topics(received) == [f"{FEEDS_URL}/all.atom", f"{FEEDS_URL}/all.rss", f"{FEEDS_URL}/tags/x.json"]
    assert metrics.websub_pings == {"ok": 3, "error": 0}


def test_failed_pings_are_counted_and_the_rest_still_sent(
    failing_hub: tuple[str, list[dict[str, list[str]]]], caplog: pytest.LogCaptureFixture
) -> None:
    hub_url, received = failing_hub
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/hub"  # nothing listens there once the socket is closed
    answering, refusing = Metrics(), Metrics()

    async def scenario() -> None:
        for pinger in (HubPinger(hub_url, FEEDS_URL, answering), HubPinger(closed, FEEDS_URL, refusing)):
            pinger.queue(["all.atom", "all.rss"])
            await sent(pinger)

    asyncio.run(scenario())
    assert topics(received) == [f"{FEEDS_URL}/all.atom", f"{FEEDS_URL}/all.rss"]  # the hub said no, to both
    assert answering.websub_pings == {"ok": 0, "error": 2}
    assert refusing.websub_pings == {"ok": 0, "error": 2}
    # urllib raises for a 4xx or 5xx answer, so a refusal is logged as the failure it is, with the hub's status.
    failures = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "failed" in r.getMessage()]
    assert len(failures) == 4 and sum("503" in f for f in failures) == 2


def test_stop_ends_the_pings_in_flight(hub: tuple[str, list[dict[str, list[str]]]]) -> None:
    hub_url, _ = hub
    pinger = HubPinger(hub_url, FEEDS_URL, Metrics())

    async def scenario() -> None:
        pinger.queue([f"tags/t{n}.atom" for n in range(100)])
        await pinger.stop()
        await pinger.sent()  # returns at once: nothing left running

    asyncio.run(scenario())
