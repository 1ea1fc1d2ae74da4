"""Dates whose offsets RFC 3339 and RFC 822 cannot write as they are, and how feeds write them: test_dates checks the
writers, test_feeds the documents."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")

# (date, as RFC 3339 writes it, as RFC 822 writes it)
WRITTEN_DATES = [
    # New York's local mean time, -04:56:02, before 1883; Shanghai's, +08:05:43, before 1901
    (datetime(1, 1, 1, tzinfo=NEW_YORK), "0001-01-01T04:56:02+00:00", "Mon, 01 Jan 0001 04:56:02 +0000"),
    (datetime(1900, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")), "1899-12-31T15:54:17+00:00",
     "Sun, 31 Dec 1899 15:54:17 +0000"),
    (datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1, microseconds=5))), "2023-12-31T22:59:59.999995+00:00",
     "Sun, 31 Dec 2023 22:59:59 +0000"),
    # whole minutes stay as they are, New York's own offset too
    (datetime(2024, 1, 1, tzinfo=NEW_YORK), "2024-01-01T00:00:00-05:00", "Mon, 01 Jan 2024 00:00:00 -0500"),
]  # fmt: skip
