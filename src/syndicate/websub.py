"""WebSub publishing: after a build, tell the hub which feeds changed.

The W3C recommendation (§4, §7) leaves publishing to hubs; the ping hubs take is a form POST of ``hub.mode=publish``
with the feed's URL, as ``hub.url`` (PubSubHubbub 0.4, WordPress's and Google's hubs) or ``hub.topic`` (flask-websub
and others), so both are sent. Subscribers follow the feeds themselves, so only feeds are pinged, not archive pages or
the OPML list.

Pings never hold up a build or its swap: they run in the background, a few at a time (``concurrency``), each in a
thread of the pinger's own. A ping that fails (no connection, a timeout, a 5xx or 429 answer) is tried again after
``first_delay`` seconds, doubling up to ``max_delay``, ``attempts`` times in all; a 4xx answer is the hub refusing
the request and is not retried. A topic queued again while its ping is on its way is pinged once more after it, so
the hub always fetches the newest bytes; queued again while it waits, it is pinged once.

The topics not yet pinged are kept in a journal (``.syndicate-websub.json`` in the output directory, which nginx does
not serve): a ping lost to a restart or a crash is sent by the next process (``resume``). A ping sent twice costs the
hub one fetch; a ping lost leaves subscribers without the post until they poll.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from syndicate.groups import ARCHIVE_DIR
from syndicate.metrics import Metrics
from syndicate.responses import self_url

log = logging.getLogger("syndicate.service")  # loggers are named by role (syndicate.build spans several modules)

JOURNAL = ".syndicate-websub.json"  # hidden: nginx's site refuses dot files in the output directory
_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"
_FEED_SUFFIXES = (".atom", ".rss", ".json")


@dataclass(frozen=True)
class Delivery:
    """How pings are sent: in parallel, with what timeout, how often and how far apart they are tried."""

    concurrency: int = 4
    timeout: float = 10.0  # seconds for one request
    attempts: int = 8  # tries in all: with the delays below, about eight minutes before a ping is given up
    first_delay: float = 2.0  # seconds before the first retry
    max_delay: float = 300.0


@dataclass(frozen=True)
class Answer:
    """What the hub made of one ping: ``ok`` (2xx), or why not and whether trying again may help."""

    ok: bool
    retry: bool = False
    problem: str = ""


class HubPinger:
    """Sends ``hub`` a publish notification for every feed a build wrote, counted in ``metrics.websub_pings``
    (``ok``, ``error``: given up, ``retry``: failed attempts tried again)."""

    def __init__(
        self,
        hub: str,
        feeds_url: str,
        metrics: Metrics,
        *,
        journal: Path | None = None,
        delivery: Delivery = Delivery(),
    ) -> None:
        self.hub = hub
        self.feeds_url = feeds_url
        self.metrics = metrics
        self.journal = journal
        self.delivery = delivery
        for result in ("ok", "error", "retry"):
            metrics.websub_pings.setdefault(result, 0)
        self._dirty: set[str] = set()  # topics changed since their last ping was sent
        self._tasks: dict[str, asyncio.Task[None]] = {}  # a task per topic not yet pinged successfully (or given up)
        self._slots: asyncio.Semaphore | None = None  # made on the event loop
        self._threads = ThreadPoolExecutor(max_workers=delivery.concurrency, thread_name_prefix="syndicate-websub")
        self._save_scheduled = False
        self._stopping = False

    def queue(self, written: Iterable[str]) -> None:
        """Ping for the feeds among ``written`` (paths of the documents a build wrote). On the event loop."""
        topics = [
            self_url(self.feeds_url, path)
            for path in written
            if not path.startswith(_ARCHIVE_PREFIX) and path.endswith(_FEED_SUFFIXES)
        ]
        self._add(topics)

    def resume(self) -> None:
        """Send the pings a previous process left in the journal. On the event loop."""
        if self.journal is None:
            return
        try:
            saved = json.loads(self.journal.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("cannot read the WebSub journal %s (%s); its pings are not sent again", self.journal, exc)
            return
        # Topics of another feeds URL (the setting changed) are not ours to ping any more.
        prefix = self.feeds_url + "/"
        topics = [t for t in saved.get("topics", []) if isinstance(t, str) and t.startswith(prefix)]
        if topics:
            log.info("sending %d WebSub pings left by the last run", len(topics))
        self._add(topics)

    def _add(self, topics: Iterable[str]) -> None:
        loop = asyncio.get_running_loop()
        added = False
        for topic in sorted(set(topics)):
            self._dirty.add(topic)
            if topic not in self._tasks:
                self._tasks[topic] = loop.create_task(self._deliver(topic))
                added = True
        if added:
            self._save_soon()

    async def _deliver(self, topic: str) -> None:
        delivery = self.delivery
        if self._slots is None:
            self._slots = asyncio.Semaphore(delivery.concurrency)
        loop = asyncio.get_running_loop()
        delay, attempt = delivery.first_delay, 0
        try:
            while topic in self._dirty:
                self._dirty.discard(topic)
                attempt += 1
                async with self._slots:
                    answer = await loop.run_in_executor(self._threads, publish, self.hub, topic, delivery.timeout)
                if answer.ok:
                    self.metrics.websub_pings["ok"] += 1
                    delay, attempt = delivery.first_delay, 0
                    continue  # changed again while this ping was on its way: ping again
                if not answer.retry or attempt >= delivery.attempts:
                    self.metrics.websub_pings["error"] += 1
                    tries = f"after {attempt} attempts" if answer.retry else "not retried"
                    log.warning("WebSub ping for %s to %s failed (%s), %s", topic, self.hub, answer.problem, tries)
                    return
                self.metrics.websub_pings["retry"] += 1
                log.info("WebSub ping for %s failed (%s); trying again in %g s", topic, answer.problem, delay)
                self._dirty.add(topic)
                await asyncio.sleep(delay)
                delay = min(delay * 2, delivery.max_delay)
        finally:
            if not self._stopping:
                self._tasks.pop(topic, None)
                self._save_soon()

    def _save_soon(self) -> None:
        """Write the journal once this turn of the event loop is over (one write for a build's many topics)."""
        if self.journal is not None and not self._save_scheduled:
            self._save_scheduled = True
            asyncio.get_running_loop().call_soon(self._save)

    def _save(self) -> None:
        self._save_scheduled = False
        if self.journal is None or self._stopping:
            return
        try:
            if not self._tasks:
                self.journal.unlink(missing_ok=True)
                return
            body = json.dumps({"hub": self.hub, "topics": sorted(self._tasks)}, ensure_ascii=False, indent=1)
            temporary = self.journal.with_name(f".{self.journal.name}.tmp")
            temporary.write_text(body, encoding="utf-8")
            os.replace(temporary, self.journal)  # whole or not at all: a crash mid-write keeps the last journal
        except OSError as exc:  # a full disk must not stop the pings themselves
            log.warning("cannot write the WebSub journal %s: %s", self.journal, exc)

    async def sent(self) -> None:
        """Wait until every ping queued so far has been sent or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        """End the pings in flight; the ones not sent stay in the journal for the next process."""
        self._save()  # what is pending now, before the tasks go
        self._stopping = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)


def publish(hub: str, topic: str, timeout: float = 10.0) -> Answer:
    """One publish notification: POST hub.mode=publish with hub.url and hub.topic set to ``topic``."""
    data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic, "hub.topic": topic}).encode("ascii")
    request = urllib.request.Request(
        hub, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # the configured hub, validated as http(s)
            status: int = response.status
    except urllib.error.HTTPError as exc:  # urllib raises for 4xx and 5xx answers
        # 5xx: the hub is in trouble; 429: it asks us to slow down. Other 4xx: it refuses this request for good.
        return Answer(False, retry=exc.code >= 500 or exc.code == 429, problem=f"HTTP {exc.code}")
    except OSError as exc:  # no connection, a reset, a timeout: the hub may be back soon
        return Answer(False, retry=True, problem=str(exc.reason if isinstance(exc, urllib.error.URLError) else exc))
    if 200 <= status < 300:
        return Answer(True)
    return Answer(False, retry=False, problem=f"HTTP {status}")
