"""The periodic full rescan: a safety net for file events the watcher missed (network file systems, overflows).

APScheduler 3.x runs the job on the event loop; the job only *requests* a build, so a rescan that comes due
while a build runs coalesces into the pending follow-up instead of running twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from syndicate.config import Settings
from syndicate.service import FeedService

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("syndicate.scheduler")

JOB_ID = "rescan"


class RescanScheduler:
    def __init__(self, settings: Settings, service: FeedService) -> None:
        self.interval = timedelta(minutes=settings.rescan_minutes)
        self.service = service
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        # Imported here: a server without rescans (rescan_minutes = 0) never loads APScheduler.
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._rescan,
            "interval",
            seconds=self.interval.total_seconds(),
            id=JOB_ID,
            max_instances=1,  # one run at a time ...
            coalesce=True,  # ... and missed runs (e.g. after a suspend) collapse into one
            misfire_grace_time=None,
        )
        scheduler.start()
        self._scheduler = scheduler
        self._update_next()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        self.service.next_scheduled = None

    async def _rescan(self) -> None:
        log.debug("scheduled rescan")
        self.service.request_build(None, reason="schedule")
        self._update_next()

    def _update_next(self) -> None:
        job = self._scheduler.get_job(JOB_ID) if self._scheduler is not None else None
        next_run: datetime | None = getattr(job, "next_run_time", None)
        if next_run is not None and next_run <= datetime.now(UTC):
            next_run = next_run + self.interval  # called from the job itself, before APScheduler advances it
        self.service.next_scheduled = next_run


def create_scheduler(settings: Settings, service: FeedService) -> RescanScheduler | None:
    """The rescan scheduler, or None when ``rescan_minutes`` is 0."""
    if settings.rescan_minutes <= 0:
        return None
    return RescanScheduler(settings, service)
