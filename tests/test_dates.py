from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _dates import WRITTEN_DATES
from conftest import post_text
from syndicate.attribution import compile_patterns
from syndicate.config import Settings
from syndicate.dates import DateError, as_written, format_rfc822, format_rfc3339, parse_date, read_dates
from syndicate.posts import Post, Rejection, parse_post

CST = timezone(timedelta(hours=8))
NEW_YORK = ZoneInfo("America/New_York")


def parse(settings: Settings, text: str, name: str = "2024-03-05-sample.md") -> Post | Rejection:
    return parse_post(text.encode("utf-8"), name, settings, compile_patterns(settings.attribution_patterns), "d1")


# Reading: front matter and file names (through parse_post, which turns a DateError into its post's Rejection).


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-12-24 08:51:00 +0800", datetime(2021, 12, 24, 8, 51, tzinfo=CST)),
        ("2021-12-24T08:51:00+08:00", datetime(2021, 12, 24, 8, 51, tzinfo=CST)),
        ("2021-12-24T00:51:00Z", datetime(2021, 12, 24, 0, 51, tzinfo=UTC)),
        ("2021-12-24 08:51", datetime(2021, 12, 24, 8, 51, tzinfo=CST)),  # site time zone
        ("2021-12-24", datetime(2021, 12, 24, tzinfo=CST)),
        (
            "2021-12-24 08:51:00.250 -0530",
            datetime(2021, 12, 24, 8, 51, 0, 250000, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_jekyll_date_forms(value: str, expected: datetime, make_settings: Callable[..., Settings]) -> None:
    assert parse_date(value, make_settings().tz) == expected


def test_yaml_timestamp_and_filename_date(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    post = parse(settings, post_text("title: T\ndate: 2022-01-02 03:04:05"))
    assert isinstance(post, Post) and post.date == datetime(2022, 1, 2, 3, 4, 5, tzinfo=settings.tz)
    post = parse(settings, post_text("title: T"), name="2020-05-06-no-date.md")
    assert isinstance(post, Post) and post.date == datetime(2020, 5, 6, tzinfo=settings.tz)
    assert post.slug == "no-date"


def test_last_modified_at_sets_updated(make_settings: Callable[..., Settings]) -> None:
    post = parse(make_settings(), post_text("title: T\ndate: 2024-01-01 10:00:00 +0800\nlast_modified_at: 2024-02-01"))
    assert isinstance(post, Post)
    assert post.updated == datetime(2024, 2, 1, tzinfo=CST) and post.date < post.updated


# datetime holds years 1 to 9999; a date near either end with an offset can be a UTC instant outside them, which no
# feed can write (converting it raised OverflowError in the server, for every feed). Such a date costs its post only.
@pytest.mark.parametrize(
    ("front", "timezone", "field", "shown"),
    [
        ("date: 2024-02-01 10:00:00 +0800\nlast_modified_at: 9999-12-31 23:59:59 -1200", "UTC", "last_modified_at",
         "9999-12-31 23:59:59 -1200"),
        ("date: 2024-02-01\nupdated: 9999-12-31T20:00:00-05:00", "UTC", "updated", "9999-12-31T20:00:00-05:00"),
        ("date: 2024-02-01\nmodified: 9999-12-31 23:00", "America/New_York", "modified", "9999-12-31 23:00"),
        ("date: 0001-01-01", "Asia/Shanghai", "date", "0001-01-01"),
        ("date: 0001-01-01 00:00:00 +0100", "UTC", "date", "0001-01-01 00:00:00 +0100"),
        ("date: 0001-01-01 07:59 +0800\nlast_modified_at: 2024-01-01", "UTC", "date", "0001-01-01 07:59 +0800"),
    ],
)  # fmt: skip
def test_a_date_outside_the_utc_range_rejects_its_post_naming_field_and_value(
    front: str, timezone: str, field: str, shown: str, make_settings: Callable[..., Settings]
) -> None:
    result = parse(make_settings(timezone=timezone), post_text(f"title: T\n{front}"), name="post.md")
    assert isinstance(result, Rejection), result
    assert f"'{field}'" in result.reason and repr(shown) in result.reason, result.reason
    assert "UTC" in result.reason


def test_a_file_name_date_outside_the_utc_range_rejects_its_post(make_settings: Callable[..., Settings]) -> None:
    result = parse(make_settings(timezone="Asia/Shanghai"), post_text("title: T"), name="0001-01-01-first.md")
    assert isinstance(result, Rejection) and "'file name date'" in result.reason and "'0001-01-01'" in result.reason


@pytest.mark.parametrize(
    ("front", "timezone", "utc"),
    [
        ("date: 0001-01-01", "UTC", datetime(1, 1, 1, tzinfo=UTC)),
        ("date: 0001-01-01", "America/New_York", datetime(1, 1, 1, 4, 56, 2, tzinfo=UTC)),
        ("date: 0001-01-01 08:00 +0800", "UTC", datetime(1, 1, 1, tzinfo=UTC)),
        ("date: 9999-12-31 23:59:59.999999 Z", "UTC", datetime.max.replace(tzinfo=UTC)),
        ("date: 9999-12-31", "Asia/Shanghai", datetime(9999, 12, 30, 16, tzinfo=UTC)),
        ("date: 2024-01-01\nupdated: 9999-12-31 23:59:59 +0100", "UTC", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_dates_at_the_ends_of_the_utc_range_are_kept(
    front: str, timezone: str, utc: datetime, make_settings: Callable[..., Settings]
) -> None:
    post = parse(make_settings(timezone=timezone), post_text(f"title: T\n{front}"))
    assert isinstance(post, Post), post
    assert post.date == utc


@pytest.mark.parametrize(
    ("meta", "file_date", "expected"),
    [
        ({"date": "2024-01-01 10:00 +0800"}, "2020-05-06", (datetime(2024, 1, 1, 10, tzinfo=CST),) * 2),
        ({}, "2020-05-06", (datetime(2020, 5, 6, tzinfo=CST),) * 2),
        # the first updated key present counts, and an updated time before the date is the date
        ({"date": "2024-01-01", "modified": "2024-03-01", "updated": "2024-02-01"}, None,
         (datetime(2024, 1, 1, tzinfo=CST), datetime(2024, 2, 1, tzinfo=CST))),
        ({"date": "2024-01-01", "last_modified_at": "2023-01-01", "updated": "2024-02-01"}, None,
         (datetime(2024, 1, 1, tzinfo=CST),) * 2),
        ({"date": date(2024, 1, 1), "updated": None, "modified": datetime(2024, 1, 2, tzinfo=UTC)}, None,
         (datetime(2024, 1, 1, tzinfo=CST), datetime(2024, 1, 2, tzinfo=UTC))),
    ],
)  # fmt: skip
def test_read_dates_takes_the_front_matter_then_the_file_name(
    meta: dict[str, object], file_date: str | None, expected: tuple[datetime, datetime]
) -> None:
    assert read_dates(meta, file_date, CST) == expected


@pytest.mark.parametrize(
    ("meta", "file_date", "message"),
    [
        ({}, None, "no date: add 'date:'"),
        ({"date": "2024-01-01", "updated": "soon"}, None, "'updated' is not a date: 'soon'"),
        ({}, "2024-02-30", "'file name date' is not a valid date"),
        ({"date": "2024-01-01 10:00 +2400"}, None, "'date' has an impossible time zone offset: +2400"),
    ],
)
def test_a_date_that_cannot_be_read_is_a_date_error_saying_why(
    meta: dict[str, object], file_date: str | None, message: str
) -> None:
    with pytest.raises(DateError, match=re.escape(message)):
        read_dates(meta, file_date, CST)


# Writing: RFC 3339 (Atom, JSON Feed) and RFC 822 (RSS). tests/test_feeds.py checks the same dates in documents.


@pytest.mark.parametrize(
    ("when", "rfc3339", "rfc822"),
    [
        *WRITTEN_DATES,
        (datetime(2024, 1, 1, 8, tzinfo=CST), "2024-01-01T08:00:00+08:00", "Mon, 01 Jan 2024 08:00:00 +0800"),
    ],
)
def test_an_offset_in_seconds_is_written_in_utc(when: datetime, rfc3339: str, rfc822: str) -> None:
    # RFC 3339 (RFC 4287 §3.3, JSON Feed 1.1) offsets are ±hh:mm, RFC 822's ±hhmm: -04:56:02 fits neither.
    assert format_rfc3339(when) == rfc3339
    assert format_rfc822(when) == rfc822.encode("ascii")
    assert as_written(when) == when  # the same instant


def test_a_date_that_cannot_be_written_in_utc_is_a_value_error() -> None:
    when = datetime(1, 1, 1, tzinfo=timezone(timedelta(seconds=30)))
    for write in (as_written, format_rfc3339, format_rfc822):
        with pytest.raises(ValueError, match="outside the years 1 to 9999"):
            write(when)


offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))


@settings(max_examples=500, deadline=None)
@given(when=st.datetimes(timezones=st.one_of(st.none(), offsets.map(timezone))))
def test_rfc822_is_what_email_utils_writes(when: datetime) -> None:
    try:
        expected = format_datetime(as_written(when)).encode("ascii")
    except ValueError:
        with pytest.raises(ValueError):
            format_rfc822(when)
    else:
        assert format_rfc822(when) == expected
