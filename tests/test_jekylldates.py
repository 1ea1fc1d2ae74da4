"""Dates in a Jekyll site as Jekyll 4.3.1 reads them (jekylldates, through dates.read_dates(jekyll=True)).

Two differential tests: text dates against Ruby's own ``Time.parse(text).localtime`` (what Jekyll's
``Utils.parse_date`` calls), and a tiny site of ours built by real Jekyll and jekyll-feed, whose entries' instants and
URLs must be syndicate's. The rest are unit tests, one per rule.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest

from _jekyll import jekyll_build
from _serving import need_program
from syndicate.dates import DateError, read_dates
from syndicate.frontmatter import YamlTimestamp
from syndicate.permalinks import expand_permalink
from syndicate.posts import _load_yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = ("Asia/Shanghai", "America/New_York")

# Text dates syndicate reads; each must be the instant Ruby's Time.parse gives in both zones.
ACCEPTED = [
    "2021-12-08 12:15:34",
    "2021-12-08 12:15",
    "2021-12-08",
    "2021-1-5",
    "2021-12-08T12:15:34",
    "2021-12-08T12:15:34.250",
    "2021-12-08 12:15:34 +0800",
    "2021-12-08 12:15:34 +08:00",
    "2021-12-08 12:15:34 +08",
    "2021-12-08 12:15:34 -0330",
    "2021-12-08T04:15:34Z",
    "2021-02-30",  # past the month's end: March 2nd, to Ruby too
    "2024-02-30 23:59:59",
    "2023-01-29 18:30:22 2023 -0800",  # the offset does not follow the time: Ruby ignores it
    "Sun Jan 29 18:30:22 2023 -0800",
    "Sun Jan 29 18:30:22 -0800 2023",
    "Jan 5 2021 10:00",
    "Jan 5 2021 10:00 -0500",
    "5 Jan 2021",
    "5 January 2021 10:00:00 +0100",
    "January 5, 2021",
    "January 5, 2021 10:00 PM",
    "Tue, 05 Jan 2021 10:00:00 GMT",
    "Tue, 05 Jan 2021 10:00:00 +0100",
    "Jan 2021",
    "2021/01/05",
    "2021/1/5 10:00",
    "2021.01.05",
    "20210105",
    "2021-01-05 3pm",
    "2021-01-05 10:00:00 EST",
    "2021-01-05 10:00:00 PDT",
    "2021-01-05 10:00:00 CST",  # Ruby's CST is the US's, even in Shanghai
    "2021-01-05 10:00 UTC",
]
# Refused with a message: Ruby reads them, but from the day of the build, with a guessed order, or with a zone
# name it does not know (the site's zone instead).
REFUSED = ["Jan 5", "10:00", "01/05/2021", "1/5/21", "2021-01-05 10:00:00 JST", "2021", "now", "garbage",
           "2021-13-01", "2021-01-05 10:00:00 +0800 +0900", "2021-01-05 25:00"]  # fmt: skip


def _ruby_instants(texts: list[str], zone: str) -> list[str]:
    """Each text through Jekyll's Utils.parse_date (Time.parse(text).localtime) in ``zone``, as ISO 8601."""
    ruby = need_program("ruby")
    script = (
        'require "time"; STDIN.read.split("\\n").each { |s| '
        'puts((Time.parse(s).localtime.strftime("%Y-%m-%dT%H:%M:%S.%6N%:z") rescue "error")) }'
    )
    done = subprocess.run(
        [ruby, "-e", script],
        input="\n".join(texts),
        env={**os.environ, "TZ": zone},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


@pytest.mark.parametrize("zone", ZONES)
def test_text_dates_are_rubys_instants_and_local_times(zone: str) -> None:
    expected = _ruby_instants(ACCEPTED, zone)
    tz = ZoneInfo(zone)
    got = [read_dates({"date": text}, None, tz, jekyll=True)[0].isoformat(timespec="microseconds") for text in ACCEPTED]
    assert dict(zip(ACCEPTED, got, strict=True)) == dict(zip(ACCEPTED, expected, strict=True))


@pytest.mark.parametrize("text", REFUSED)
def test_text_dates_not_read_as_ruby_does_are_refused(text: str) -> None:
    with pytest.raises(DateError, match="'date'"):
        read_dates({"date": text}, None, SHANGHAI, jekyll=True)


# Unit tests, one per rule.


def _dates(front: str, file_date: str | None = "2021-12-08", tz: ZoneInfo = SHANGHAI) -> tuple[datetime, datetime]:
    return read_dates(_load_yaml(front), file_date, tz, jekyll=True)


def test_an_unquoted_timestamp_without_offset_is_utc_shown_in_the_site_zone() -> None:
    when, updated = _dates("date: 2021-12-08 12:15:34")
    assert when == datetime(2021, 12, 8, 20, 15, 34, tzinfo=SHANGHAI)
    assert when.isoformat() == "2021-12-08T20:15:34+08:00"
    assert updated == when
    # posts mode keeps reading it in the site's zone
    assert read_dates(_load_yaml("date: 2021-12-08 12:15:34"), None, SHANGHAI)[0].hour == 12


def test_a_quoted_date_time_is_in_the_site_zone() -> None:
    assert _dates('date: "2021-12-08 12:15:34"')[0] == datetime(2021, 12, 8, 12, 15, 34, tzinfo=SHANGHAI)


@pytest.mark.parametrize("front", ["date: 2021-12-09", "date: '2021-12-09'", "date: 2021-12-9"])
def test_a_date_only_quoted_or_not_is_midnight_in_the_site_zone(front: str) -> None:
    assert _dates(front)[0] == datetime(2021, 12, 9, tzinfo=SHANGHAI)


def test_the_file_name_date_is_midnight_in_the_site_zone() -> None:
    assert _dates("title: x", tz=NEW_YORK)[0] == datetime(2021, 12, 8, tzinfo=NEW_YORK)


def test_a_timestamp_with_offset_is_its_instant_shown_in_the_site_zone() -> None:
    when = _dates("date: 2021-12-08 23:30:00 -05:00")[0]
    assert when == datetime(2021, 12, 9, 12, 30, tzinfo=SHANGHAI)
    assert when.utcoffset() == timedelta(hours=8)


def test_an_unquoted_timestamp_loses_its_fraction_as_rubys_to_s_does() -> None:
    assert _dates("date: 2021-12-08 12:15:34.75")[0].microsecond == 0
    assert _dates('date: "2021-12-08 12:15:34.75"')[0].microsecond == 750000


def test_the_front_matter_date_wins_over_the_file_name_even_on_another_day() -> None:
    when = _dates("date: 2021-12-10 09:00:00 +0800", file_date="2021-12-08")[0]
    assert expand_permalink("date", date=when, slug="a", categories=[]) == "/2021/12/10/a.html"


def test_permalink_date_parts_are_the_site_local_date() -> None:
    # 23:30 UTC on Dec 8 is Dec 9 in Shanghai, still Dec 8 in New York
    front = "date: 2021-12-08 23:30:00"
    shanghai, new_york = _dates(front)[0], _dates(front, tz=NEW_YORK)[0]
    assert expand_permalink("/:year/:month/:day/:hour/:title", date=shanghai, slug="a", categories=[]) == (
        "/2021/12/09/07/a"
    )
    assert expand_permalink("/:year/:month/:day/:hour/:title", date=new_york, slug="a", categories=[]) == (
        "/2021/12/08/18/a"
    )


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("last_modified_at: 2021-12-09 00:00:00", datetime(2021, 12, 9, 8, tzinfo=SHANGHAI)),  # UTC
        ("last_modified_at: '2021-12-09 00:00:00'", datetime(2021, 12, 9, tzinfo=SHANGHAI)),
        ("last_modified_at: 2021-12-09", datetime(2021, 12, 9, tzinfo=SHANGHAI)),
        ("last_modified_at: 1639000000", datetime.fromtimestamp(1639000000, SHANGHAI)),  # Time.at
        ("last_modified_at: '1639000000'", datetime.fromtimestamp(1639000000, SHANGHAI)),
        ("last_modified_at: ''", datetime(2021, 12, 8, tzinfo=SHANGHAI)),  # default: the post's date
        ("last_modified_at: false", datetime(2021, 12, 8, tzinfo=SHANGHAI)),
        ("last_modified_at: 2021-12-01", datetime(2021, 12, 1, tzinfo=SHANGHAI)),  # before the date: as written
        ("updated: 2021-12-20", datetime(2021, 12, 8, tzinfo=SHANGHAI)),  # jekyll-feed reads only last_modified_at
    ],
)
def test_last_modified_at_as_jekyll_feed_reads_it(front: str, expected: datetime) -> None:
    assert _dates(front)[1] == expected


@pytest.mark.parametrize("front", ["last_modified_at: now", "last_modified_at: true", "last_modified_at: 1.5"])
def test_last_modified_at_that_jekyll_cannot_fix_is_refused(front: str) -> None:
    with pytest.raises(DateError, match="last_modified_at"):
        _dates(front)


def test_a_date_out_of_range_in_the_site_zone_is_refused() -> None:
    with pytest.raises(DateError, match="out of range"):
        _dates("date: 9999-12-31 23:00:00")  # UTC, then +08:00: the year 10000


def test_the_loader_marks_only_unquoted_timestamps() -> None:
    meta = _load_yaml("a: 2021-12-08 12:15:34\nb: '2021-12-08 12:15:34'\nc: 2021-12-08 12:15\nd: 2021-12-08")
    assert [type(value) is YamlTimestamp for value in meta.values()] == [True, False, False, True]
    assert meta["a"] == "2021-12-08 12:15:34"


def test_zoneinfo_and_jekyll_share_the_system_time_zone_database() -> None:
    # Ruby (through libc's TZ) reads /usr/share/zoneinfo; zoneinfo does too when it is there, before the tzdata
    # package: the same rules, so the same local times.
    import zoneinfo

    assert zoneinfo.TZPATH[0] == "/usr/share/zoneinfo"
    for zone in ZONES:
        assert Path(zoneinfo.TZPATH[0], zone).is_file()


# The differential test against a site of our own built by Jekyll 4.3.1 and jekyll-feed 0.17.0.

# (file name, front matter lines): every date form, and posts around midnight whose day depends on the zone.
POSTS = [
    ("2021-12-08-unquoted.md", "date: 2021-12-08 12:15:34"),
    ("2021-12-08-quoted.md", 'date: "2021-12-08 12:15:34"'),
    ("2021-12-08-date-only.md", "date: 2021-12-08"),
    ("2021-12-08-date-only-quoted.md", "date: '2021-12-08'"),
    ("2021-12-08-file-name-only.md", "title: From the file name"),
    ("2021-12-08-offset-compact.md", "date: 2021-12-08 12:15:34 +0800"),
    ("2021-12-08-offset-colon.md", "date: 2021-12-08 12:15:34 +08:00"),
    ("2021-12-08-zulu.md", "date: 2021-12-08T23:45:00Z"),
    ("2021-12-08-other-day.md", "date: 2021-12-11 10:00:00 +0800"),
    ("2021-12-08-near-midnight.md", "date: 2021-12-08 23:59:00"),
    ("2021-12-08-near-midnight-quoted.md", 'date: "2021-12-08 23:59:00 -0500"'),
    ("2021-12-08-ruby-lenient.md", 'date: "2023-01-29 18:30:22 2023 -0800"'),
    ("2021-12-08-month-name.md", 'date: "Jan 5 2021 10:00"'),
    ("2021-12-08-slashes.md", "date: 2021/01/05"),
    ("2021-12-08-rfc822.md", 'date: "Tue, 05 Jan 2021 22:00:00 GMT"'),
    ("2021-12-08-modified.md", "date: 2021-12-08 10:00:00 +0800\nlast_modified_at: 2021-12-20 10:00:00"),
    ("2021-12-08-modified-quoted.md", "date: 2021-12-08 10:00:00 +0800\nlast_modified_at: '2021-12-20 10:00:00'"),
    ("2021-12-08-modified-date.md", "date: 2021-12-08 10:00:00 +0800\nlast_modified_at: 2021-12-20"),
]
PERMALINK = (
    "/:year/:month/:day/:hour/:minute/:second/:i_day/:i_month/:short_year/:y_day/:week/:w_year/:w_day"
    "/:short_day/:long_day/:short_month/:long_month/:title/"
)


def _write_site(root: Path, zone: str) -> Path:
    site = root / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text(
        f"title: Dates\nurl: http://127.0.0.1\ntimezone: {zone}\npermalink: {PERMALINK}\nplugins: [jekyll-feed]\n"
        "feed:\n  posts_limit: 100\n",
        encoding="utf-8",
    )
    for name, front in POSTS:
        (site / "_posts" / name).write_text(f"---\n{front}\n---\nA line of text.\n", encoding="utf-8")
    return site


@pytest.mark.parametrize("zone", ZONES)
def test_instants_and_urls_are_those_jekyll_writes(tmp_path: Path, zone: str) -> None:
    site = _write_site(tmp_path, zone)
    built = jekyll_build(site, tmp_path / "_site")
    feed = feedparser.parse((built / "feed.xml").read_bytes())
    jekyll = {entry.link.removeprefix("http://127.0.0.1"): (entry.published, entry.updated) for entry in feed.entries}
    tz = ZoneInfo(zone)
    ours = {}
    for name, front in POSTS:
        when, updated = read_dates(_load_yaml(front), name[:10], tz, jekyll=True)
        url = expand_permalink(PERMALINK, date=when, slug=name[11:-3], categories=[])
        ours[url] = (when.isoformat(), updated.isoformat())
    assert len(jekyll) == len(POSTS)
    assert ours == jekyll


def test_utc_and_offsets_survive_isoformat() -> None:
    # the comparison above is between ISO 8601 texts: jekyll-feed writes the site-local offset, as isoformat does
    assert datetime(2021, 1, 1, tzinfo=timezone(timedelta(hours=8))).isoformat() == "2021-01-01T00:00:00+08:00"
    assert datetime(2021, 1, 1, tzinfo=UTC).astimezone(NEW_YORK).isoformat() == "2020-12-31T19:00:00-05:00"
