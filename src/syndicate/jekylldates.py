"""Dates as Jekyll 4.3 reads them, for a Jekyll site (``--site``): the instant and the site-local time it shows.

Jekyll (``Document#merge_date!``, ``Utils.parse_date``) turns a post's ``date`` into text (``to_s``) and reads it with
Ruby's ``Time.parse(text).localtime``, with the process's time zone set to the site's ``timezone``. So:

- an unquoted YAML timestamp (``date: 2021-12-08 12:15:34``) is a YAML 1.1 timestamp, UTC when it has no offset;
  Ruby writes it back as ``2021-12-08 12:15:34 UTC`` (``Time#to_s`` drops a fraction of a second), so it stays that
  instant: on a site in Asia/Shanghai it is 20:15:34+08:00;
- quoted text (``date: "2021-12-08 12:15:34"``), a date only (quoted or not: YAML's date is written back as
  ``2021-12-08``) and the file name's date are read in the site's time zone;
- the front matter's date replaces the file name's (``Document#modify_date`` only fills a missing one), so the URL's
  ``:year/:month/:day`` are those of the front matter's date even when it falls on another day than the file name;
- every date is then shown in the site's time zone (``localtime``): the permalink's date parts and jekyll-feed's
  ``<published>`` use the site-local time whatever offset the date was written with.

``last_modified_at`` is not read by Jekyll but by jekyll-feed's template (``post.last_modified_at | default:
post.date | date_to_xmlschema``): Liquid's ``Utils.to_date`` takes a YAML time or date as it is, digits as seconds
since the epoch, and other text through ``Time.parse``; empty or false means the post's date.

Ruby's ``Time.parse`` accepts nearly any text with a date in it, filling what is missing from the current time. Read
here (and checked against Ruby by tests/test_jekylldates.py) are:

- ISO 8601 and Jekyll's own form: ``2021-12-08``, ``2021-1-5``, ``2021-12-08 12:15[:34[.5]]``, ``2021-12-08T12:15:34``,
  each with an optional offset ``Z``, ``+08``, ``+0800`` or ``+08:00``; a day past the month's end rolls over into the
  next month as Ruby's does (``2021-02-30`` is March 2nd);
- with a month name (``Jan``, ``January``, any case), in either order, with or without a weekday and commas:
  ``Jan 5 2021 10:00``, ``5 January 2021``, ``January 5, 2021 10:00 AM``, ``Tue, 05 Jan 2021 10:00:00 GMT``;
- a year first with ``/`` or ``.``: ``2021/01/05``, ``2021.1.5 10:00``; and ``20210105``;
- after a time, an offset or one of the zone names Ruby knows (``UTC UT GMT Z EST EDT CST CDT MST MDT PST PDT``; CST
  is the US's, as in Ruby); an offset or name that does not follow the time directly is ignored, as Ruby ignores it:
  ``2023-01-29 18:30:22 2023 -0800`` and ``Sun Jan 29 18:30:22 2023 -0800`` are in the site's time zone.

Each function raises ValueError with a sentence naming the field (``dates.read_dates`` makes it a DateError).

Refused, with a message (Jekyll would take them, but how is not worth copying): text without a year (Ruby takes the
current year, so the post would move every January), numeric dates that do not start with the year (``01/05/2021``
is May 1st to Ruby), other zone names (Ruby reads ``JST`` as the site's zone), ``now``/``today``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from dateutil import parser as dateutil_parser

from syndicate.frontmatter import YamlTimestamp

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# Ruby's Time::ZoneOffset (time.rb), in hours: the names Time.parse turns into an offset.
_RUBY_ZONES = {"UTC": 0, "Z": 0, "UT": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
               "PST": -8, "PDT": -7}  # fmt: skip
_MONTH_NAME = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b\.?", re.IGNORECASE)
_YEAR_FIRST = re.compile(r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{8})(?![\d/.])")
# A time, then a year, then a zone: Ruby's Date._parse takes a zone only right after the time, so this one is ignored
# (and the year, when the text had one before, is the same year written twice).
_ZONE_AFTER_YEAR = re.compile(r"(\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?\s+)(\d{4})\s+(?:[-+]\d{2}:?\d{2}|[A-Za-z]{1,5})\s*$")
_HAS_TIME = re.compile(r"\d:\d")
_OFFSET = re.compile(r"[-+]\d{2}:?\d{2}\b")
_LEADING_YEAR = re.compile(r"^\s*\d{4}\b")
_ZONE_NAME = re.compile(r"(?<![A-Za-z])([A-Za-z]{1,5})\s*$")
_DIGITS = re.compile(r"^\s*\d+\s*$")
_MERIDIEM = frozenset({"AM", "PM", "A", "P"})
# Two defaults differing in every part Ruby would take from the current time: a part that differs was missing.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 1))


def jekyll_date(value: object, tz: tzinfo, field: str = "date") -> datetime:
    """A post's ``date`` (or the file name's date) as Jekyll reads it, in the site's time zone ``tz``."""
    if isinstance(value, YamlTimestamp):
        # YAML 1.1: a time without an offset is UTC; a date (a Ruby Date, written back as 2021-12-08) is local.
        when = _iso(value, UTC if _HAS_TIME.search(value) else tz, field)
        return when.replace(microsecond=0).astimezone(tz)  # Time#to_s drops the fraction
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # to_s: 20210105 is a date to Ruby
    if not isinstance(value, str):
        raise ValueError(f"'{field}' must be a date like 2021-12-24 08:51:00 +0800, not a {type(value).__name__}")
    return parse_ruby_time(value, tz, field)


def jekyll_updated(meta: Mapping[str, Any], when: datetime, tz: tzinfo) -> datetime:
    """jekyll-feed's ``<updated>``: ``last_modified_at`` through Liquid's ``to_date``, or else the post's date."""
    value = meta.get("last_modified_at")
    if value is None or value is False or value == "":
        return when  # Liquid's ``default`` filter
    field = "last_modified_at"
    if isinstance(value, YamlTimestamp):
        # A Ruby Time (its fraction kept here), or a Date, whose to_time is local midnight.
        return _iso(value, UTC if _HAS_TIME.search(value) else tz, field).astimezone(tz)
    if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, str) and _DIGITS.match(value):
        try:
            return datetime.fromtimestamp(int(value), tz)  # Time.at: seconds since the epoch
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"'{field}' is out of range: {str(value)[:60]!r} seconds since 1970") from None
    if isinstance(value, str) and value.strip().lower() in ("now", "today"):
        raise ValueError(f"'{field}' is {value!r}, which Jekyll reads as the time of each build; write the date")
    if isinstance(value, bool | float):
        raise ValueError(f"'{field}' must be a date like 2021-12-24 08:51:00 +0800, not a {type(value).__name__}")
    return jekyll_date(value, tz, field)


def parse_ruby_time(text: str, tz: tzinfo, field: str = "date") -> datetime:
    """``Time.parse(text).localtime`` with the process's zone ``tz``, for the forms in this module's docstring."""
    if _ISO.match(text):
        return _iso(text, tz, field).astimezone(tz)
    return _lenient(text, tz, field).astimezone(tz)


def _iso(text: str, tz: tzinfo, field: str) -> datetime:
    """An ISO 8601 date (``_ISO``); no offset means ``tz``. A day past the month's end rolls over, as in Ruby."""
    match = _ISO.match(text)
    if match is None:
        raise ValueError(f"'{field}' is not a date: {text[:60]!r}; use a form like 2021-12-24 08:51:00 +0800")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    zone: tzinfo = tz
    if offset:
        if offset in ("Z", "z"):
            zone = UTC
        else:
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:] or 0)
            if hours > 23 or minutes > 59:
                raise ValueError(f"'{field}' has an impossible time zone offset: {offset}")
            delta = timedelta(hours=hours, minutes=minutes)
            zone = timezone(-delta if offset[0] == "-" else delta)
    try:
        if not 1 <= int(day) <= 31:
            raise ValueError("day is out of range")
        first = datetime(int(year), int(month), 1, int(hour or 0), int(minute or 0), int(second or 0),
                         int((fraction or "0")[:6].ljust(6, "0")))  # fmt: skip
        naive = first + timedelta(days=int(day) - 1)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"'{field}' is not a valid date: {text[:60]!r} ({exc})") from None
    return naive.replace(tzinfo=zone)


def _ruby_zone(name: str | None, offset: int | None) -> int | None:
    """dateutil's ``tzinfos``: an offset as written, or a name of Ruby's table, in seconds east of UTC."""
    if name is None:
        return offset
    return _RUBY_ZONES[name.upper()] * 3600


def _lenient(text: str, tz: tzinfo, field: str) -> datetime:
    shown = text[:60]
    if not (_MONTH_NAME.search(text) or _YEAR_FIRST.match(text)):
        raise ValueError(
            f"'{field}' is not a date syndicate reads as Jekyll does: {shown!r}; "
            "write it as 2021-12-24 08:51:00 +0800 (a numeric date must start with the year)"
        )
    if len(_OFFSET.findall(text)) > 1:
        raise ValueError(f"'{field}' has more than one time zone offset: {shown!r}; keep the one after the time")
    ignored_zone = _ZONE_AFTER_YEAR.search(text)
    if ignored_zone is not None:
        year_again = _LEADING_YEAR.match(text) is not None
        text = text[: ignored_zone.start()] + ignored_zone.group(1) + ("" if year_again else ignored_zone.group(2))
    name = _ZONE_NAME.search(text)
    if name is not None and name.group(1).upper() not in _RUBY_ZONES and name.group(1).upper() not in _MERIDIEM:
        if not _MONTH_NAME.fullmatch(name.group(1)):
            raise ValueError(
                f"'{field}' names a time zone Jekyll does not know: {shown!r} (Ruby reads it as the site's own "
                "time zone); write an offset such as +0900"
            )
    try:
        first, second = (dateutil_parser.parse(text, default=default, tzinfos=_ruby_zone) for default in _DEFAULTS)
    except (ValueError, OverflowError, KeyError):
        raise ValueError(f"'{field}' is not a date: {shown!r}; use a form like 2021-12-24 08:51:00 +0800") from None
    if first.year != second.year or first.month != second.month:
        raise ValueError(
            f"'{field}' has no year or month: {shown!r}; Jekyll would take them from the day of the build, so write "
            "the whole date"
        )
    parsed: datetime = first if first.tzinfo is not None else first.replace(tzinfo=tz)
    return parsed
