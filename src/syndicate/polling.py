"""How often a feed is worth polling, from how often it actually changed: RSS ``<ttl>``, ``sy:updatePeriod`` and
``sy:updateFrequency``, and the HTTP ``Cache-Control: max-age`` of its documents.

The interval is the median gap between the publication dates of the feed's newest posts, bounded by the
``poll_min`` and ``poll_max`` settings. It comes from post dates only, never from the clock, so the same posts give
the same documents and headers (the bytes stay deterministic). A feed with fewer than two posts has no gap to go by
and gets ``poll_max``; so does an RFC 5005 archive page, whose entries never change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median_low

from syndicate.config import Settings
from syndicate.groups import Groups

# How many of a feed's newest posts the interval is taken from: enough that one odd gap (a holiday, a burst of
# corrections) does not decide it, few enough that a feed's current pace counts more than its history.
SAMPLE = 10
# A cache keeps a feed for a tenth of its polling interval at most, so a post published right after a cache fetched
# the feed is seen by a reader polling at that interval at most a tenth of it later.
CACHE_SHARE = 10
_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class Schedule:
    """A feed's polling interval and how each format and HTTP say it."""

    seconds: int

    @property
    def ttl(self) -> int:
        """RSS 2.0 ``<ttl>``: minutes (rounded up, at least one)."""
        return max(1, -(-self.seconds // _MINUTE))

    @property
    def update_period(self) -> str:
        """RSS syndication module ``sy:updatePeriod``: the unit ``sy:updateFrequency`` counts updates in."""
        if self.seconds <= _HOUR:
            return "hourly"
        if self.seconds <= _DAY:
            return "daily"
        return "weekly" if self.seconds <= 7 * _DAY else "monthly"

    @property
    def update_frequency(self) -> int:
        """``sy:updateFrequency``: updates per ``update_period`` (a positive integer, at least one)."""
        unit = {"hourly": _HOUR, "daily": _DAY, "weekly": 7 * _DAY, "monthly": 30 * _DAY}[self.update_period]
        return max(1, round(unit / self.seconds))

    def max_age(self, ceiling: int) -> int:
        """``Cache-Control: max-age``: a ``CACHE_SHARE``-th of the interval, at most ``ceiling`` (the ``max_age``
        setting)."""
        return min(ceiling, self.seconds // CACHE_SHARE)


def feed_schedules(settings: Settings, groups: Groups) -> dict[str, Schedule]:
    """Each feed's schedule by its subscription document's path without suffix (``FeedInfo.base``), from the posts
    its subscription document lists (the newest ``limit``), as that document's head has it."""
    count = min(SAMPLE, settings.limit)
    return {g.feed.base: schedule_of(settings, [post.date for post in g.posts[:count]]) for g in groups.members}


def max_age_of(schedules: Mapping[str, Schedule], path: str, ceiling: int) -> int:
    """The Cache-Control max-age of the document at ``path``: its feed's (``feed_schedules``) for a subscription
    document, else ``ceiling`` (the ``max_age`` setting). The server and a published bucket send the same."""
    schedule = schedules.get(path.rpartition(".")[0])
    return schedule.max_age(ceiling) if schedule is not None else ceiling


def schedule_of(settings: Settings, dates: Sequence[datetime], *, archive: bool = False) -> Schedule:
    """The schedule of a feed whose newest posts were published at ``dates`` (newest first; only the first
    ``SAMPLE`` count). ``archive``: an archive page, which does not change."""
    low, high = settings.poll_min * _MINUTE, settings.poll_max * _MINUTE
    sample = dates[:SAMPLE]
    if archive or len(sample) < 2:
        return Schedule(high)
    # Absolute gaps: posts are newest first, but a post's date may be edited to sort before an older one's.
    gaps = [abs(int((newer - older).total_seconds())) for newer, older in zip(sample, sample[1:], strict=False)]
    return Schedule(min(high, max(low, median_low(gaps))))
