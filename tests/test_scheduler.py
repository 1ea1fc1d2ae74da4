"""The scheduled full rescan: runs on its interval, reports its next run, coalesces with builds in progress."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicate.config import Settings
from syndicate.scheduler import create_scheduler
from syndicate.service import FeedService


def test_no_scheduler_when_disabled(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(rescan_minutes=0)
    assert create_scheduler(settings, FeedService(settings)) is None


def test_rescan_picks_up_files_without_any_watcher(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", 'title: "A"\ndate: 2024-03-01 08:00:00 +0800\ncategories: local')
    settings = make_settings(rescan_minutes=0.01, watch=False)  # every 0.6 s

    async def scenario() -> None:
        service = FeedService(settings)
        scheduler = create_scheduler(settings, service)
        assert scheduler is not None
        await service.start(wait=30)
        assert service.snapshot is not None and service.snapshot.posts == 1
        scheduler.start()
        try:
            next_run = service.next_scheduled
            assert next_run is not None and next_run > datetime.now(UTC)
            assert service.status()["next_scheduled_run"] == next_run.isoformat()
            write_post("2024-03-02-b.md", 'title: "B"\ndate: 2024-03-02 08:00:00 +0800\ncategories: local')
            end = time.monotonic() + 30
            while service.snapshot.posts != 2:
                if time.monotonic() > end:
                    pytest.fail("the scheduled rescan never picked up the new post")
                await asyncio.sleep(0.05)
            assert service.last_outcome is not None and service.last_outcome.report is not None
            assert service.last_outcome.report.full  # a rescan, not an incremental build
        finally:
            scheduler.stop()
        assert service.next_scheduled is None
        await service.stop()

    asyncio.run(scenario())
