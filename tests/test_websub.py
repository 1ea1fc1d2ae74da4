"""WebSub publishing: the hub is told about every feed a build wrote, once per topic; archive pages and OPML are not."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import httpx
import pytest

from _serving import DEADLINE, SITE_CONFIG, free_port, running_server, wait_until
from syndicate.config import Settings
from syndicate.metrics import Metrics
from syndicate.service import FeedService
from syndicate.websub import JOURNAL, Delivery, HubPinger

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
        # Queued twice before the first ping goes out: one ping per topic.
        pinger.queue(["all.rss", "archive/all/1.atom", "index.opml", "tags/x.json"])
        pinger.queue(["all.atom", "all.rss", "archive/tags/x/2.rss"])
        await sent(pinger)

    asyncio.run(scenario())
    assert sorted(topics(received)) == [f"{FEEDS_URL}/all.atom", f"{FEEDS_URL}/all.rss", f"{FEEDS_URL}/tags/x.json"]
    # Both names hubs read the topic from: hub.url (PubSubHubbub 0.4) and hub.topic (flask-websub and others).
    assert all(r["hub.topic"] == r["hub.url"] for r in received)
    assert metrics.websub_pings == {"ok": 3, "error": 0, "retry": 0}


QUICK = Delivery(attempts=3, first_delay=0.01, max_delay=0.02, timeout=5)


def test_failed_pings_are_retried_then_given_up_and_the_rest_still_sent(
    failing_hub: tuple[str, list[dict[str, list[str]]]], caplog: pytest.LogCaptureFixture
) -> None:
    hub_url, received = failing_hub
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{unused.getsockname()[1]}/hub"  # nothing listens there once the socket is closed
    answering, refusing = Metrics(), Metrics()

    async def scenario() -> None:
        for pinger in (
            HubPinger(hub_url, FEEDS_URL, answering, delivery=QUICK),
            HubPinger(closed, FEEDS_URL, refusing, delivery=QUICK),
        ):
            pinger.queue(["all.atom", "all.rss"])
            await sent(pinger)

    asyncio.run(scenario())
    # The hub answered 503 each time: each topic tried three times in all.
    assert sorted(topics(received)) == [f"{FEEDS_URL}/all.atom"] * 3 + [f"{FEEDS_URL}/all.rss"] * 3
    assert answering.websub_pings == {"ok": 0, "error": 2, "retry": 4}
    assert refusing.websub_pings == {"ok": 0, "error": 2, "retry": 4}
    given_up = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "failed" in r.getMessage()]
    assert len(given_up) == 4 and sum("HTTP 503" in f and "after 3 attempts" in f for f in given_up) == 2


@contextmanager
def scripted_hub(answer: Callable[[str, int], int]) -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A hub whose status for a topic's n-th ping (from 1) is ``answer(topic, n)``."""
    received: list[dict[str, list[str]]] = []
    lock = threading.Lock()

    class Scripted(_Hub):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            with lock:
                received.append(form)
                n = sum(1 for r in received if r["hub.topic"] == form["hub.topic"])
            self.send_response(answer(form["hub.topic"][0], n))
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_ping_that_fails_for_a_while_gets_through_and_a_refusal_is_not_retried() -> None:
    def answer(topic: str, n: int) -> int:
        if topic.endswith("all.atom"):
            return 503 if n <= 2 else 202  # down for two tries, then back
        return 400  # this hub refuses the topic: asking again will not change that

    metrics = Metrics()
    with scripted_hub(answer) as (hub_url, received):

        async def scenario() -> None:
            pinger = HubPinger(hub_url, FEEDS_URL, metrics, delivery=QUICK)
            pinger.queue(["all.atom", "all.rss"])
            await sent(pinger)

        asyncio.run(scenario())
        assert sorted(topics(received)) == [f"{FEEDS_URL}/all.atom"] * 3 + [f"{FEEDS_URL}/all.rss"]
    assert metrics.websub_pings == {"ok": 1, "error": 1, "retry": 2}


def test_pings_go_out_concurrently_and_a_slow_hub_does_not_hold_the_others() -> None:
    """Three pings must be at the hub at once for any of them to be answered: sent one at a time, none would be."""
    barrier = threading.Barrier(3, timeout=10)

    def answer(topic: str, n: int) -> int:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return 500
        return 204

    metrics = Metrics()
    with scripted_hub(answer) as (hub_url, received):

        async def scenario() -> None:
            pinger = HubPinger(hub_url, FEEDS_URL, metrics, delivery=Delivery(concurrency=3, attempts=1))
            pinger.queue(["a.atom", "b.atom", "c.atom"])
            await sent(pinger)

        asyncio.run(scenario())
        assert len(received) == 3
    assert metrics.websub_pings == {"ok": 3, "error": 0, "retry": 0}


def test_a_topic_changed_while_its_ping_is_on_the_way_is_pinged_again() -> None:
    arrived, release = threading.Event(), threading.Event()

    def answer(topic: str, n: int) -> int:
        if n == 1:
            arrived.set()
            release.wait(10)
        return 204

    metrics = Metrics()
    with scripted_hub(answer) as (hub_url, received):

        async def scenario() -> None:
            pinger = HubPinger(hub_url, FEEDS_URL, metrics)
            pinger.queue(["all.atom"])
            await asyncio.to_thread(arrived.wait, 10)  # the first ping is at the hub, not answered yet
            pinger.queue(["all.atom"])  # a second build changed it: the hub must fetch it again
            pinger.queue(["all.atom"])  # and a third, before the second ping went: one more ping covers both
            release.set()
            await sent(pinger)

        asyncio.run(scenario())
        assert topics(received) == [f"{FEEDS_URL}/all.atom"] * 2
    assert metrics.websub_pings["ok"] == 2


def test_pings_lost_to_a_restart_are_sent_by_the_next_process(
    tmp_path: Path, hub: tuple[str, list[dict[str, list[str]]]]
) -> None:
    hub_url, received = hub
    journal = tmp_path / JOURNAL
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{unused.getsockname()[1]}/hub"
    first = Metrics()

    async def before_restart() -> None:
        # The hub is down: the first attempt fails and the retry waits a minute; the process stops before it.
        pinger = HubPinger(down, FEEDS_URL, first, journal=journal, delivery=Delivery(first_delay=60))
        pinger.queue(["all.atom", "tags/x.rss", "archive/all/1.atom"])
        while first.websub_pings["retry"] < 2:
            await asyncio.sleep(0.01)
        await pinger.stop()

    asyncio.run(before_restart())
    saved = json.loads(journal.read_text(encoding="utf-8"))
    assert saved["topics"] == [f"{FEEDS_URL}/all.atom", f"{FEEDS_URL}/tags/x.rss"]
    after = Metrics()

    async def after_restart() -> None:
        pinger = HubPinger(hub_url, FEEDS_URL, after, journal=journal)
        pinger.resume()
        await sent(pinger)
        await asyncio.sleep(0)  # the journal is written at the end of the loop's turn

    asyncio.run(after_restart())
    assert sorted(topics(received)) == [f"{FEEDS_URL}/all.atom", f"{FEEDS_URL}/tags/x.rss"]
    assert after.websub_pings["ok"] == 2
    assert not journal.exists()  # all sent: nothing left for the next start


def test_an_unreadable_journal_or_another_sites_topics_are_not_sent(
    tmp_path: Path, hub: tuple[str, list[dict[str, list[str]]]], caplog: pytest.LogCaptureFixture
) -> None:
    hub_url, received = hub
    journal = tmp_path / JOURNAL

    async def resume() -> None:
        pinger = HubPinger(hub_url, FEEDS_URL, Metrics(), journal=journal)
        pinger.resume()
        await sent(pinger)

    journal.write_text("{not json")
    asyncio.run(resume())
    assert "cannot read the WebSub journal" in caplog.text
    journal.write_text(json.dumps({"topics": ["https://elsewhere.example/feeds/all.atom", 7]}))
    asyncio.run(resume())
    assert received == []


def test_stop_ends_the_pings_in_flight(hub: tuple[str, list[dict[str, list[str]]]]) -> None:
    hub_url, _ = hub
    pinger = HubPinger(hub_url, FEEDS_URL, Metrics())

    async def scenario() -> None:
        pinger.queue([f"tags/t{n}.atom" for n in range(100)])
        await pinger.stop()
        await pinger.sent()  # returns at once: nothing left running

    asyncio.run(scenario())


@contextmanager
def real_hub(tmp_path: Path) -> Iterator[str]:
    """flask-websub's hub (tests/_websub_hub.py) in a process of its own on 127.0.0.1: its endpoint URL."""
    with (tmp_path / "hub.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("_websub_hub.py")), str(tmp_path / "hub.sqlite3")],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()  # the hub prints its port once it listens
        if not port.isdigit():
            pytest.fail("the hub did not start:\n" + (tmp_path / "hub.log").read_text(errors="replace"))
        yield f"http://127.0.0.1:{port}/hub"
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)
        if process.stdout is not None:
            process.stdout.close()


@dataclass
class Subscriber:
    """What a subscriber's callback received: the hub's verifications of intent and its content deliveries."""

    url: str
    verified: list[dict[str, list[str]]]
    delivered: list[tuple[dict[str, str], bytes]]


@contextmanager
def subscriber_callback() -> Iterator[Subscriber]:
    """A WebSub subscriber's callback (W3C WebSub §5.3, §7) on a free local port."""
    subscriber = Subscriber("", [], [])

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the hub verifies our intent: echo its challenge
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            subscriber.verified.append(query)
            challenge = query.get("hub.challenge", [""])[0].encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(challenge)))
            self.end_headers()
            self.wfile.write(challenge)

        def do_POST(self) -> None:  # a content distribution: the topic's new bytes
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            subscriber.delivered.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    subscriber.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield subscriber
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.server
def test_a_real_hub_delivers_a_new_post_to_a_subscriber(tmp_path: Path) -> None:
    """flask-websub's hub: a subscriber subscribes to the site's feed there; a post written into the posts directory
    of a running `syndicate serve` reaches the subscriber's callback through the hub, which fetched the feed (and
    checked its Link header names the hub and the topic, as flask-websub does) after our publish ping."""
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_posts" / "2024-05-01-opening.md").write_text(
        '---\ntitle: "Ferry timetable for the summer"\ndate: 2024-05-01 08:00:00 +0800\n---\nBoats run hourly.\n'
    )
    port = free_port()
    with real_hub(tmp_path) as hub_url, subscriber_callback() as subscriber:
        (site / "syndicate.toml").write_text(
            SITE_CONFIG.replace("https://news.example.net", f"http://127.0.0.1:{port}")
            + f'hub = "{hub_url}"\ncache = "off"\n',
            encoding="utf-8",
        )
        with running_server(site, port=port) as server:
            topic = f"{server.url}/feeds/all.atom"
            feed = httpx.get(topic, timeout=DEADLINE)
            assert feed.headers["link"] == f'<{hub_url}>; rel="hub", <{topic}>; rel="self"'
            answer = httpx.post(
                hub_url,
                data={"hub.mode": "subscribe", "hub.topic": topic, "hub.callback": subscriber.url},
                timeout=DEADLINE,
            )
            assert answer.status_code == 202, answer.text
            wait_until(lambda: bool(subscriber.verified), "the hub to verify the subscription")
            assert subscriber.verified[0]["hub.topic"] == [topic] and subscriber.verified[0]["hub.mode"] == [
                "subscribe"
            ]

            (site / "_posts" / "2024-05-02-bridge.md").write_text(
                '---\ntitle: "Harbour bridge reopens after repairs"\ndate: 2024-05-02 09:30:00 +0800\n---\n'
                "Traffic returned to the bridge this morning.\n",
                encoding="utf-8",
            )
            wait_until(
                lambda: any(b"Harbour bridge reopens" in body for _, body in subscriber.delivered),
                "the hub to deliver the new post to the subscriber",
            )
            headers, body = next((h, b) for h, b in subscriber.delivered if b"Harbour bridge reopens" in b)
            assert 'rel="hub"' in headers["link"] and f"<{topic}>" in headers["link"]
            parsed = feedparser.parse(body)
            assert parsed.bozo == 0
            assert [e.title for e in parsed.entries] == [
                "Harbour bridge reopens after repairs",
                "Ferry timetable for the summer",
            ]
            metrics = httpx.get(f"{server.url}/metrics", timeout=DEADLINE).text
            assert 'syndicate_websub_pings_total{result="ok"}' in metrics
