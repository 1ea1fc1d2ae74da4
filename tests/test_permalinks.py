from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicate.permalinks import STYLES, expand_permalink, jekyll_slug, pattern_problem

WHEN = datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("date", "/news/local/2021/02/03/hello.html"),
        ("pretty", "/news/local/2021/02/03/hello/"),
        ("ordinal", "/news/local/2021/034/hello.html"),
        ("weekdate", "/news/local/2021/W05/Wed/hello.html"),
        ("none", "/news/local/hello.html"),
        ("/:year/:i_month/:i_day/:short_year/:hour:minute:second/:slug", "/2021/2/3/21/040506/hello"),
        ("/:categories/:title:output_ext", "/news/local/hello.html"),
        (
            "/:w_year-:week-:w_day/:short_day/:long_day/:short_month/:long_month/",
            "/2021-05-3/Wed/Wednesday/Feb/February/",
        ),
    ],
)
def test_jekyll_patterns(pattern: str, expected: str) -> None:
    assert expand_permalink(pattern, date=WHEN, slug="hello", categories=["News", "local", "news"]) == expected


def test_iso_week_year_and_week_at_the_turn_of_a_year() -> None:
    # 2021-01-01 is a Friday of ISO week 53 of 2020; Jekyll's weekdate style still uses :year (%Y).
    new_year = datetime(2021, 1, 1, tzinfo=UTC)
    assert expand_permalink("/:w_year/:week/:w_day/", date=new_year, slug="x", categories=[]) == "/2020/53/5/"
    assert expand_permalink("weekdate", date=new_year, slug="x", categories=[]) == "/2021/W53/Fri/x.html"


@pytest.mark.parametrize(
    ("slug", "title", "slug_value"),
    [
        # Jekyll's Utils.slugify documentation examples, "pretty" with case kept and "default".
        ("The _config.yml file", "The-_config.yml-file", "the-config-yml-file"),
        ("Hello World!", "Hello-World!", "hello-world"),
        ("My Custom Slug", "My-Custom-Slug", "my-custom-slug"),
        ("  a -- b  ", "a-b", "a-b"),
        ("Q&A: 50% off (today)", "Q&A-50-off-(today)", "q-a-50-off-today"),
        ("a/b\\c?d#e", "a-b-c-d-e", "a-b-c-d-e"),
        ("sample-post", "sample-post", "sample-post"),
        # Letters and digits of every script are kept, and case is folded as Ruby's downcase folds it.
        ("右江 日报", "右江-日报", "右江-日报"),
        ("Déjà Vu!", "Déjà-Vu!", "déjà-vu"),
        ("Ωμέγα ２０２４", "Ωμέγα-２０２４", "ωμέγα-２０２４"),
        ("हिन्दी", "हिन्दी", "हिन्दी"),  # combining marks stay with their letters
        ("x²・y", "x-y", "x-y"),  # '²' is a number but not a decimal digit; '・' is punctuation
        ("!!!", "!!!", ""),
        ("", "", ""),
    ],
)
def test_slugs_are_made_as_jekyll_makes_them(slug: str, title: str, slug_value: str) -> None:
    assert jekyll_slug(slug, pretty=True) == title
    assert jekyll_slug(slug) == slug_value


def test_title_and_slug_placeholders_give_jekylls_urls() -> None:
    day = datetime(2024, 1, 1, tzinfo=UTC)
    assert expand_permalink("date", date=day, slug="Hello World!", categories=[]) == "/2024/01/01/Hello-World!.html"
    assert expand_permalink("none", date=day, slug="My Custom Slug", categories=[]) == "/My-Custom-Slug.html"
    assert expand_permalink("/:slug/", date=day, slug="Hello World!", categories=[]) == "/hello-world/"
    assert expand_permalink("/:title/", date=day, slug="右江 日报", categories=[]) == "/" + quote("右江-日报") + "/"


@pytest.mark.parametrize(
    "pattern",
    [
        *STYLES,
        "/:categories/:year/:month/:day/:title:output_ext",
        "/blog/:slug",
        "/:year/:month/:day/:hour:minute:second/",
    ],
)
def test_usable_site_patterns(pattern: str) -> None:
    assert pattern_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        ("weird", ""),
        ("prety", ""),
        ("Pretty", ""),  # Jekyll's style names are lower case; anything else is a pattern
        ("/:categories/:year/:month/:day/", ""),
        ("/:year/:titel/", " (not placeholders: :titel)"),
        ("", ""),
    ],
)
def test_site_patterns_that_would_give_posts_one_url_are_refused(pattern: str, hint: str) -> None:
    problem = pattern_problem(pattern)
    assert problem == (
        f"{pattern!r} is neither a built-in style (date, pretty, ordinal, weekdate, none) nor a pattern naming "
        f":title, :slug or :second, which give each post its own URL{hint}; e.g. 'date' or "
        "'/:categories/:year/:month/:day/:title:output_ext'"
    )


def test_no_categories_leaves_no_empty_segment() -> None:
    assert expand_permalink("date", date=WHEN, slug="x", categories=[]) == "/2021/02/03/x.html"


def test_result_is_a_uri_path() -> None:
    # Categories are lower-cased but not slugified (Jekyll's :categories), so their spaces are percent-encoded.
    path = expand_permalink("/:categories/:title/", date=WHEN, slug="右江 日报", categories=["AI & ML"])
    assert path == "/ai%20&%20ml/%E5%8F%B3%E6%B1%9F-%E6%97%A5%E6%8A%A5/"
    assert expand_permalink("/a%20b/100%/", date=WHEN, slug="x", categories=[]) == "/a%20b/100%25/"


def test_dot_segments_cannot_climb() -> None:
    assert expand_permalink("/../../etc/:title", date=WHEN, slug="x", categories=[]) == "/etc/x"
    assert "/.." not in expand_permalink("/:categories/:title", date=WHEN, slug="x", categories=[".."])


def _reference_slug(text: str, *, pretty: bool) -> str:
    """Jekyll's slugify written out plainly: each character on its own, then runs of '-' collapsed."""
    kept = "._~!$&'()+,;=@" if pretty else ""
    marked = "".join(
        ch if ch in kept or unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) in ("Nd", "Nl") else "-"
        for ch in text
    )
    slug = re.sub("-+", "-", marked).strip("-")
    return slug if pretty else slug.lower()


def _reference(pattern: str, *, date: datetime, slug: str, categories: list[str]) -> str:
    """The expansion written out plainly: every value computed, then one substitution pass."""
    from syndicate.permalinks import _PLACEHOLDER, _SAFE, _SLASHES, _STRAY_PERCENT

    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]  # fmt: skip
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
        "w_year": str(date.isocalendar()[0]).zfill(4),
        "week": str(date.isocalendar()[1]).zfill(2),
        "w_day": str(date.isocalendar()[2]),
        "short_day": days[date.weekday()][:3],
        "long_day": days[date.weekday()],
        "short_month": months[date.month - 1][:3],
        "long_month": months[date.month - 1],
        "title": _reference_slug(slug, pretty=True),
        "slug": _reference_slug(slug, pretty=False),
        "categories": "/".join(dict.fromkeys(c.lower().replace("/", "") for c in categories)),
        "output_ext": ".html",
    }
    path = _PLACEHOLDER.sub(lambda m: values[m.group(1)], STYLES.get(pattern, pattern))
    path = "/".join(s for s in _SLASHES.sub("/", "/" + path).split("/") if s not in (".", ".."))
    return quote(_STRAY_PERCENT.sub("%25", path if path.startswith("/") else "/" + path), safe=_SAFE)


_PIECES = [":year", ":month", ":day", ":i_month", ":i_day", ":short_year", ":hour", ":minute", ":second", ":y_day",
           ":w_year", ":week", ":w_day", ":short_day", ":long_day", ":short_month", ":long_month",
           ":title", ":slug", ":categories", ":output_ext", ":titles", ":foo", "/", "//", ".", "..", "%", "%41", "%zz",
           "a", "中", " ", ":"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    pattern=st.one_of(st.sampled_from(list(STYLES)), st.lists(st.sampled_from(_PIECES)).map("".join)),
    date=st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
    slug=st.text(alphabet="aZ9_/.%中 -!&@~É\u0301²Ⅻ\udcff", max_size=8),
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
    from syndicate.permalinks import _SAFE, percent_encode

    assert percent_encode(path) == quote(path, safe=_SAFE)


def test_a_lone_surrogate_fails_as_quote_fails() -> None:
    # A lone surrogate is not a letter, so a slug's becomes '-'; elsewhere in a path it fails as ``quote`` fails, and
    # parse_post reports the error's text.
    assert expand_permalink("/x/:slug", date=WHEN, slug="a\udcffb", categories=[]) == "/x/a-b"
    with pytest.raises(UnicodeEncodeError) as expected:
        quote("/x/a\udcffb", safe="/")
    with pytest.raises(UnicodeEncodeError) as raised:
        expand_permalink("/x/a\udcffb", date=WHEN, slug="x", categories=[])
    assert str(raised.value) == str(expected.value)


def test_a_documents_collection_path_and_name() -> None:
    # UrlDrop: :collection is the label, :path the file's path below the collection's directory (as written, then
    # percent-encoded), :name the file name slugified.
    source = ("reports", "/sub/2024-01-02-Pier Survey", "2024-01-02-Pier Survey")
    expanded = expand_permalink(
        "/:collection/:path:output_ext", date=WHEN, slug="Pier Survey", categories=[], source=source
    )
    assert expanded == "/reports/sub/2024-01-02-Pier%20Survey.html"
    assert (
        expand_permalink("/:collection/:name/", date=WHEN, slug="x", categories=[], source=source)
        == "/reports/2024-01-02-pier-survey/"
    )
    # Without a source (a post outside a Jekyll site) they stay as written, as before.
    assert expand_permalink("/:collection/:title", date=WHEN, slug="x", categories=[]) == "/:collection/x"
