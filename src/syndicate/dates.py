"""Dates: reading a post's dates from its front matter and file name, and writing them as feeds carry them.

Posts give dates as Jekyll does (``2021-12-24 08:51:00 +0800``, ISO 8601, date only, a YAML timestamp, or the
``YYYY-MM-DD`` of the file name); a date without an offset is in the site's time zone. Every date read is an instant
a ``datetime`` holds in UTC (see ``_in_utc_range``), so everything downstream may convert it there.

Feeds write RFC 3339 dates (Atom, RFC 4287 §3.3; JSON Feed 1.1) and RFC 822 dates (RSS 2.0). A date whose UTC offset
is not a whole number of minutes (a zone's local mean time before it adopted standard time, e.g. New York's -04:56:02
before 1883) is written in UTC, the same instant: RFC 3339 offsets are ±hh:mm and RFC 822 ones ±hhmm, so
``isoformat()``'s -04:56:02 and ``%z``'s -045602 are invalid.

HTTP dates (Last-Modified, If-Modified-Since) are not here: they are the server's clock, not post data, and are
written and read where HTTP is (responses, lastmodified).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from email.utils import format_datetime
from typing import Any

from syndicate.jekylldates import jekyll_date, jekyll_updated

_DATE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# Front matter keys that set a post's updated time, in the order they are looked for: the jekyll-last-modified-at
# plugin's name, then common spellings.
_UPDATED_KEYS = ("last_modified_at", "updated", "modified")
_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


class DateError(ValueError):
    """A date a post cannot be published with; the message names the field and says how to fix it."""


def read_dates(
    meta: Mapping[str, Any], file_date: str | None, tz: tzinfo, *, jekyll: bool = False
) -> tuple[datetime, datetime]:
    """A post's date and updated time, from its front matter ``meta`` or else the date of its file name.

    ``file_date`` is the ``YYYY-MM-DD`` of a ``YYYY-MM-DD-slug.md`` file name, or None. The updated time is the
    first of ``_UPDATED_KEYS`` present, never earlier than the date. With ``jekyll`` (a Jekyll site), both are read
    as Jekyll and jekyll-feed read them (``jekylldates``) and are in the site's time zone ``tz``. Raises DateError.
    """
    if jekyll:
        return _read_jekyll_dates(meta, file_date, tz)
    if meta.get("date") is not None:
        when = parse_date(meta["date"], tz)
    elif file_date is not None:
        when = parse_date(file_date, tz, field="file name date")
    else:
        raise DateError("no date: add 'date:' to the front matter or name the file YYYY-MM-DD-slug.md")
    for key in _UPDATED_KEYS:
        if meta.get(key) is not None:
            return when, max(parse_date(meta[key], tz, field=key), when)
    return when, when


def _read_jekyll_dates(meta: Mapping[str, Any], file_date: str | None, tz: tzinfo) -> tuple[datetime, datetime]:
    """Jekyll's date (the front matter's, else the file name's) and jekyll-feed's updated time (``last_modified_at``
    as it is, even before the date: jekyll-feed writes it so)."""
    value, field = (meta["date"], "date") if meta.get("date") is not None else (file_date, "file name date")
    if value is None:
        raise DateError("no date: add 'date:' to the front matter or name the file YYYY-MM-DD-slug.md")
    try:
        when = _in_utc_range(jekyll_date(value, tz, field), value, field)
        updated = jekyll_updated(meta, when, tz)
    except DateError:
        raise
    except ValueError as exc:
        raise DateError(str(exc)) from None
    except OverflowError:  # shown in the site's time zone, the instant left the years 1 to 9999
        raise DateError(
            f"'{field}' is out of range: {str(value)[:60]!r} is outside the dates feeds can carry"
        ) from None
    return when, _in_utc_range(updated, meta.get("last_modified_at"), "last_modified_at")


def parse_date(value: object, tz: tzinfo, field: str = "date") -> datetime:
    """A Jekyll date (``2021-12-24 08:51:00 +0800``, ISO 8601, date only, or a YAML timestamp) as an aware datetime.

    A date without an offset is in the site's time zone ``tz``. Raises DateError for anything else, and for a date
    whose instant is outside the years 1 to 9999 in UTC (see ``_in_utc_range``).
    """
    return _in_utc_range(_parse_date(value, tz, field), value, field)


def _parse_date(value: object, tz: tzinfo, field: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if not isinstance(value, str):
        raise DateError(f"'{field}' must be a date like 2021-12-24 08:51:00 +0800, not a {type(value).__name__}")
    match = _DATE.match(value)
    if match is None:
        raise DateError(f"'{field}' is not a date: {value[:60]!r}; use a form like 2021-12-24 08:51:00 +0800")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone: tzinfo = tz
    if offset:
        if offset in ("Z", "z"):
            zone = UTC
        else:
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours > 23 or minutes > 59:
                raise DateError(f"'{field}' has an impossible time zone offset: {offset}")
            zone = _fixed_zone(offset[0] == "-", hours, minutes)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise DateError(f"'{field}' is not a valid date: {value[:60]!r} ({exc})") from None


def _in_utc_range(when: datetime, value: object, field: str) -> datetime:
    """``when``, if its instant is one a datetime holds in UTC; else DateError naming the field and the value.

    Feeds, HTTP dates and the build's ordering all convert dates to UTC, and ``datetime`` holds only years 1 to 9999:
    ``9999-12-31 23:59:59 -1200``, or ``0001-01-01`` in a zone east of UTC, is an instant it cannot hold there
    (OverflowError), and such a post would stop every build that reached it. In UTC those instants print as
    ISO 8601 in all three feed formats.
    """
    if 1 < when.year < 9999:  # a UTC offset is less than a day: only the first and last years can leave the range
        return when
    try:
        when.astimezone(UTC)
    except OverflowError:
        shown = value.isoformat() if isinstance(value, date) else str(value)[:60]
        end = "before 0001-01-01" if when.year == 1 else "after 9999-12-31"
        raise DateError(
            f"'{field}' is out of range: {shown!r} is {end} in UTC, outside the dates feeds can carry; "
            "check its year and time zone offset"
        ) from None
    return when


@functools.lru_cache(maxsize=64)
def _fixed_zone(negative: bool, hours: int, minutes: int) -> timezone:
    """A fixed UTC offset: a site's posts share a few, so each is built once."""
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if negative else delta)


def as_written(when: datetime) -> datetime:
    """``when`` as feeds write it: itself, or in UTC if its offset is not a whole number of minutes (see the top).

    Posts are dated in UTC's range (``parse_date``), so the conversion cannot overflow for them; for a datetime it
    would, ValueError, as for any other entry that cannot be written.
    """
    offset = when.utcoffset()
    if offset is None or not (offset.seconds % 60 or offset.microseconds):
        return when
    try:
        return when.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the date {when.isoformat()} is outside the years 1 to 9999 in UTC") from None


def format_rfc3339(when: datetime) -> str:
    """An Atom or JSON Feed date: ISO 8601 as RFC 3339 restricts it (an offset of hours and minutes)."""
    return as_written(when).isoformat()


def format_rfc822(when: datetime) -> bytes:
    """An RSS date: ``email.utils.format_datetime(as_written(when))`` (RFC 822, locale-independent), as ASCII bytes,
    in a fraction of its time. Not feedgen's ``formatRFC2822``, which switches the process-wide locale and writes a
    year before 1000 with fewer than four digits."""
    when = as_written(when)
    offset = when.utcoffset()
    if offset is None:
        return format_datetime(when).encode("ascii")
    minutes = offset.days * 1440 + offset.seconds // 60
    sign = b"+" if minutes >= 0 else b"-"
    hours, minutes = divmod(abs(minutes), 60)
    return b"%s, %02d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        _DAYS[when.weekday()],
        when.day,
        _MONTHS[when.month - 1],
        when.year,
        when.hour,
        when.minute,
        when.second,
        sign,
        hours,
        minutes,
    )
