"""WebSub publishing: after a build, tell the hub which feeds changed (W3C WebSub §7).

Subscribers follow the feeds themselves, so only feeds are pinged, not archive pages or the OPML list. Pings go out
one at a time in a worker thread, off the event loop; a topic queued again before its ping is sent is pinged once.
A failed ping is logged and counted, not retried.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
import urllib.request
from collections.abc import Iterable

from syndicate import _tasks
from syndicate.groups import ARCHIVE_DIR
from syndicate.metrics import Metrics
from syndicate.responses import self_url

log = logging.getLogger("syndicate.service")  # loggers are named by role (syndicate.build spans several modules)

_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"
_FEED_SUFFIXES = (".atom", ".rss", ".json")


class HubPinger:
    """Sends ``hub`` a publish notification for every feed a build wrote, counted in ``metrics.websub_pings``."""

    def __init__(self, hub: str, feeds_url: str, metrics: Metrics) -> None:
        self.hub = hub
        self.feeds_url = feeds_url
        self.metrics = metrics
        self._urls: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def queue(self, written: Iterable[str]) -> None:
        """Ping for the feeds among ``written`` (paths of the documents a build wrote). On the event loop."""
        for path in written:
            if path.startswith(_ARCHIVE_PREFIX) or not path.endswith(_FEED_SUFFIXES):
                continue
            self._urls.add(self_url(self.feeds_url, path))
        if self._urls and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._send())

    async def _send(self) -> None:
        while self._urls:
            url = min(self._urls)
            self._urls.discard(url)
            ok = await asyncio.to_thread(publish, self.hub, url)
            self.metrics.websub_pings["ok" if ok else "error"] += 1

    async def sent(self) -> None:
        """Wait until every ping queued so far has been sent."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        await _tasks.cancel(self._task)


def publish(hub: str, topic: str) -> bool:
    """WebSub §7 publish notification: POST hub.mode=publish&hub.url=<topic> to the hub. True if it answered 2xx."""
    data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic}).encode("ascii")
    request = urllib.request.Request(
        hub, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # the configured hub, validated as http(s)
            status: int = response.status
            ok = 200 <= status < 300
    except OSError as exc:
        log.warning("WebSub ping for %s to %s failed: %s", topic, hub, exc)
        return False
    if not ok:
        log.warning("WebSub hub %s answered %s for %s", hub, status, topic)
    return ok
