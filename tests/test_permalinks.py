from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.permalinks import expand_permalink

WHEN = datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("date", "/news/local/2021/02/03/hello.html"),
        ("pretty", "/news/local/2021/02/03/hello/"),
        ("ordinal", "/news/local/2021/034/hello.html"),
        ("none", "/news/local/hello.html"),
        ("/:year/:i_month/:i_day/:short_year/:hour:minute:second/:slug", "/2021/2/3/21/040506/hello"),
        ("/:categories/:title:output_ext", "/news/local/hello.html"),
    ],
)
def test_jekyll_patterns(pattern: str, expected: str) -> None:
    assert expand_permalink(pattern, date=WHEN, slug="hello", categories=["News", "local", "news"]) == expected


def test_no_categories_leaves_no_empty_segment() -> None:
    assert expand_permalink("date", date=WHEN, slug="x", categories=[]) == "/2021/02/03/x.html"


def test_result_is_a_uri_path() -> None:
    path = expand_permalink("/:categories/:title/", date=WHEN, slug="右江 日报", categories=["AI & ML"])
    assert path == "/ai%20&%20ml/%E5%8F%B3%E6%B1%9F%20%E6%97%A5%E6%8A%A5/"
    assert expand_permalink("/a%20b/100%/", date=WHEN, slug="x", categories=[]) == "/a%20b/100%25/"


def test_dot_segments_cannot_climb() -> None:
    assert expand_permalink("/../../etc/:title", date=WHEN, slug="x", categories=[]) == "/etc/x"
    assert "/.." not in expand_permalink("/:categories/:title", date=WHEN, slug="x", categories=[".."])


def _reference(pattern: str, *, date: datetime, slug: str, categories: list[str]) -> str:
    """The expansion written out plainly: every value computed, then one substitution pass."""
    from syndicate.permalinks import _PLACEHOLDER, _SAFE, _SLASHES, _STRAY_PERCENT, STYLES

    values = {
        "year": f"{date.year:04d}",
        "month": f"{date.month:02d}",
        "day": f"{date.day:02d}",
        "i_month": str(date.month),
        "i_day": str(date.day),
        "short_year": f"{date.year % 100:02d}",
        "hour": f"{date.hour:02d}",
        "minute": f"{date.minute:02d}",
        "second": f"{date.second:02d}",
        "y_day": f"{date.timetuple().tm_yday:03d}",
        "title": slug,
        "slug": slug,
        "categories": "/".join(dict.fromkeys(c.lower().replace("/", "") for c in categories)),
        "output_ext": ".html",
    }
    path = _PLACEHOLDER.sub(lambda m: values[m.group(1)], STYLES.get(pattern, pattern))
    path = "/".join(s for s in _SLASHES.sub("/", "/" + path).split("/") if s not in (".", ".."))
    return quote(_STRAY_PERCENT.sub("%25", path if path.startswith("/") else "/" + path), safe=_SAFE)


_PIECES = [":year", ":month", ":day", ":i_month", ":i_day", ":short_year", ":hour", ":minute", ":second", ":y_day",
           ":title", ":slug", ":categories", ":output_ext", ":titles", ":foo", "/", "//", ".", "..", "%", "%41", "%zz",
           "a", "中", " ", ":"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.one_of(
        st.sampled_from(["date", "pretty", "ordinal", "none"]), st.lists(st.sampled_from(_PIECES)).map("".join)
    ),
    date=st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
    slug=st.text(alphabet="ab/.%中 -", max_size=8),
    categories=st.lists(st.text(alphabet="Ab/.%中 ", max_size=5), max_size=3),
)
def test_expansion_matches_the_plain_reference(pattern: str, date: datetime, slug: str, categories: list[str]) -> None:
    # The parsed pattern is cached and only the placeholders it uses are computed; neither may change the result.
    for _ in range(2):
        assert expand_permalink(pattern, date=date, slug=slug, categories=categories) == _reference(
            pattern, date=date, slug=slug, categories=categories
        )


@settings(max_examples=1000, deadline=None)
@given(path=st.text(alphabet=st.sampled_from(list("/aZ09_.-~:@!$&'()*+,;=% \"<>?#[]\\^`{|}\x00\x7f\xe9中€😀"))))
def test_percent_encoding_is_quote(path: str) -> None:
    from syndicate.permalinks import _SAFE, _percent_encode

    assert _percent_encode(path) == quote(path, safe=_SAFE)


def test_a_lone_surrogate_fails_as_quote_fails() -> None:
    # A file name that is not UTF-8 reaches the slug with surrogate escapes; parse_post reports the error's text.
    with pytest.raises(UnicodeEncodeError) as expected:
        quote("/x/a\udcffb", safe="/")
    with pytest.raises(UnicodeEncodeError) as raised:
        expand_permalink("/x/:slug", date=WHEN, slug="a\udcffb", categories=[])
    assert str(raised.value) == str(expected.value)
