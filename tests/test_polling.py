"""polling: a feed's polling interval from its posts' dates, bounded by poll_min and poll_max, and what each format
and HTTP make of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndicate.config import load_settings
from syndicate.polling import SAMPLE, Schedule, schedule_of

SETTINGS = load_settings(None, {"poll_min": 15, "poll_max": 1440}, environ={})
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def newest_first(*gaps: timedelta) -> list[datetime]:
    dates = [START]
    for gap in gaps:
        dates.append(dates[-1] - gap)
    return dates


def test_the_interval_is_the_median_gap_between_the_newest_posts() -> None:
    hour = timedelta(hours=1)
    # One long silence among hourly posts does not make the feed look quiet.
    assert schedule_of(SETTINGS, newest_first(hour, hour, timedelta(days=20), hour)).seconds == 3600
    assert schedule_of(SETTINGS, newest_first(*[timedelta(hours=2)] * 30)).seconds == 7200


def test_the_interval_is_bounded_by_the_settings() -> None:
    assert schedule_of(SETTINGS, newest_first(*[timedelta(seconds=30)] * 5)).seconds == 15 * 60
    assert schedule_of(SETTINGS, newest_first(*[timedelta(days=9)] * 5)).seconds == 1440 * 60


def test_without_a_gap_to_go_by_and_for_archive_pages_the_longest_interval() -> None:
    assert schedule_of(SETTINGS, []).seconds == schedule_of(SETTINGS, [START]).seconds == 1440 * 60
    assert schedule_of(SETTINGS, newest_first(timedelta(minutes=20)), archive=True).seconds == 1440 * 60


def test_only_the_newest_posts_count() -> None:
    recent = [timedelta(minutes=30)] * (SAMPLE - 1)
    old = [timedelta(days=3)] * 50  # a feed that was quiet for months and is busy now
    assert schedule_of(SETTINGS, newest_first(*recent, *old)).seconds == 30 * 60


def test_dates_out_of_order_still_give_a_positive_interval() -> None:
    dates = [START, START + timedelta(hours=2), START + timedelta(hours=4)]
    assert schedule_of(SETTINGS, dates).seconds == 7200


def test_rss_and_http_forms_of_a_schedule() -> None:
    assert (Schedule(900).ttl, Schedule(900).update_period, Schedule(900).update_frequency) == (15, "hourly", 4)
    assert (Schedule(3600).update_period, Schedule(3600).update_frequency) == ("hourly", 1)
    assert (Schedule(6 * 3600).update_period, Schedule(6 * 3600).update_frequency) == ("daily", 4)
    assert (Schedule(86400).ttl, Schedule(86400).update_period, Schedule(86400).update_frequency) == (1440, "daily", 1)
    assert (Schedule(3 * 86400).update_period, Schedule(3 * 86400).update_frequency) == ("weekly", 2)
    assert (Schedule(20 * 86400).update_period, Schedule(20 * 86400).update_frequency) == ("monthly", 2)
    assert Schedule(61).ttl == 2  # rounded up: never asks for polls more often than the feed changes
    assert Schedule(900).max_age(300) == 90 and Schedule(86400).max_age(300) == 300
