"""Publishing while serving: after every build swapped in, the bucket is brought to the new documents (publish.py).

Off the serving path: a publish runs in a worker thread, one at a time; builds that finish meanwhile leave only their
documents as the next to publish (a publish of the latest build covers every earlier one). A failed publish is logged,
counted in /metrics, shown in /readyz and /admin/status, and tried again after RETRY_FIRST seconds, doubling up to
RETRY_MAX, with the latest documents.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syndicate import _tasks
from syndicate.config import Settings
from syndicate.metrics import Metrics
from syndicate.polling import feed_schedules
from syndicate.publish import Digests, PublishError, PublishReport, Target, connect, publish
from syndicate.responses import CachePolicy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from syndicate.builder import FeedSet

log = logging.getLogger("syndicate.publish")

RETRY_FIRST = 2.0  # seconds; as a failed build's retry (service.py)
RETRY_MAX = 300.0


@dataclass(frozen=True)
class PublishState:
    """The last publish, as /readyz and /admin/status show it."""

    ok: bool | None = None  # None: none finished yet
    error: str = ""
    last_success: float = 0.0  # Unix time
    retry_in: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "last_success": self.last_success or None,
            "retry_in": self.retry_in,
        }


class AutoPublisher:
    """Publishes each build's documents to ``settings.publish_to``, one publish at a time, retrying with backoff."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.target = Target.from_settings(settings)
        self.policy = CachePolicy.from_settings(settings)
        self.concurrency = settings.publish_concurrency
        self.metrics = metrics
        self.state = PublishState()
        self._client: S3Client | None = None
        self._digests = Digests()
        self._latest: FeedSet | None = None
        self._task: asyncio.Task[None] | None = None

    def queue(self, feedset: FeedSet) -> None:
        """Publish ``feedset``'s documents (a build's, just swapped in) once the publish under way, if any, is done.
        On the event loop."""
        self._latest = feedset
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        failures = 0
        while self._latest is not None:
            feedset, self._latest = self._latest, None
            try:
                report = await asyncio.to_thread(self._publish, feedset)
            except PublishError as exc:
                failures += 1
                delay = min(RETRY_FIRST * 2 ** (failures - 1), RETRY_MAX)
                self.state = PublishState(False, str(exc), self.state.last_success, delay)
                self.metrics.publishes["error"] += 1
                log.error("publishing to %s failed; trying again in %g s: %s", self.target, delay, exc)
                if self._latest is None:
                    self._latest = feedset
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.state = PublishState(True, "", time.time(), None)
            self.metrics.publishes["ok"] += 1
            self.metrics.published_objects["uploaded"] += len(report.uploaded)
            self.metrics.published_objects["deleted"] += len(report.deleted)
            log.info("published: %s", report.summary())

    def _publish(self, feedset: FeedSet) -> PublishReport:
        if self._client is None:
            try:
                self._client = connect(self.target, self.concurrency)
            except Exception as exc:  # a malformed endpoint or AWS config file: reported like any failed publish
                raise PublishError(f"cannot make an S3 client: {exc}") from exc
        return publish(
            self._client,
            self.target,
            feedset.documents,
            self.policy,
            schedules=feed_schedules(self.settings, feedset.groups),
            concurrency=self.concurrency,
            digests=self._digests,
        )

    async def stop(self) -> None:
        await _tasks.cancel(self._task)
