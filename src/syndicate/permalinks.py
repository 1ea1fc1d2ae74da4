"""Jekyll permalinks: a post's URL path from the site pattern or its own ``permalink`` front matter.

Placeholders follow Jekyll's documentation (https://jekyllrb.com/docs/permalinks/): ``:year :month :day
:i_month :i_day :short_year :hour :minute :second :y_day :w_year :week :w_day :short_day :long_day :short_month
:long_month :title :slug :categories :output_ext``, a Jekyll document's ``:collection :path :name``, and the
built-in styles ``date``, ``pretty``, ``ordinal``, ``weekdate`` and ``none``.

``:title`` and ``:slug`` are the post's slug (front matter ``slug``, else the file name's part after the date) made
into a URL segment the way Jekyll's ``Utils.slugify`` does it, so that feed links are the URLs Jekyll writes:
``:title`` in its "pretty" mode with case kept (``Hello World!`` -> ``Hello-World!``), ``:slug`` in its "default"
mode (``hello-world``). Letters and digits of every script are kept, so a Chinese slug stays Chinese.

The result is percent-encoded so that it is a URI (RFC 3986), never an IRI: Chinese in a path becomes
``%E5%8F%B3…``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

_PLACEHOLDER = re.compile(
    r":(i_month|i_day|short_year|short_month|short_day|long_month|long_day|y_day|w_year|w_day|week|output_ext"
    r"|categories|collection|minute|second|month|title|year|hour|slug|name|path|day)"
)
# A site pattern naming one of these gives each post its own URL (``:second``: a pattern precise to the second).
_DISTINCT = ("title", "slug", "second")
_WORD = re.compile(r":([a-z_]+)")
_SLASHES = re.compile(r"/{2,}")
# Characters left as they are in a path: RFC 3986 pchar and '/'; everything else is percent-encoded as UTF-8.
_SAFE = "/:@!$&'()*+,;=-._~%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Names as Ruby's strftime writes them (%a, %A, %b, %B), whatever the locale: Python's strftime would follow the
# process-wide locale.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip

# Jekyll's Utils.slugify in the two modes its URL placeholders use. Each run of characters that are neither letters
# nor digits becomes one '-' ("pretty" also keeps ._~!$&'()+,;=@, which a URL path carries as they are), then a
# '-' at either end is dropped. Jekyll's "letters and digits" is Ruby's [[:alnum:]]: Unicode letters (and the
# combining marks that belong to them) and decimal digits.
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")
_NOT_PRETTY = re.compile(r"[^A-Za-z0-9._~!$&'()+,;=@]+")
_ALNUM_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl"})
_HYPHENS = re.compile(r"-{2,}")


class _Hyphenation(dict[int, str]):
    """A ``str.translate`` table: each character to itself when a slug keeps it, else to '-'.

    Filled in as characters are met, so the Unicode category of each is looked up once per process and translating
    a Chinese slug is one pass in C (a quarter of the time of a per-character loop in Python).
    """

    def __init__(self, kept: str) -> None:
        super().__init__()
        self._kept = frozenset(kept)

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = value = char if char in self._kept or unicodedata.category(char) in _ALNUM_CATEGORIES else "-"
        return value


_DEFAULT_TABLE = _Hyphenation("")
_PRETTY_TABLE = _Hyphenation("._~!$&'()+,;=@")


def jekyll_slug(text: str, *, pretty: bool = False) -> str:
    """``text`` as Jekyll's ``slugify`` gives it: "default" mode (lower-cased), or "pretty" mode with case kept."""
    if text.isascii():  # nearly every slug: one regex
        slug = (_NOT_PRETTY if pretty else _NOT_ALNUM).sub("-", text)
    else:
        slug = text.translate(_PRETTY_TABLE if pretty else _DEFAULT_TABLE)
        if "--" in slug:
            slug = _HYPHENS.sub("-", slug)
    slug = slug.strip("-")  # runs are single hyphens now, so this drops at most one at each end, as Jekyll does
    return slug if pretty else slug.lower()


# Each placeholder's value for one post; only those the pattern uses are computed.
_VALUES: dict[str, Callable[[datetime, str, Sequence[str]], str]] = {
    "year": lambda date, slug, categories: f"{date.year:04d}",
    "month": lambda date, slug, categories: f"{date.month:02d}",
    "day": lambda date, slug, categories: f"{date.day:02d}",
    "i_month": lambda date, slug, categories: str(date.month),
    "i_day": lambda date, slug, categories: str(date.day),
    "short_year": lambda date, slug, categories: f"{date.year % 100:02d}",
    "hour": lambda date, slug, categories: f"{date.hour:02d}",
    "minute": lambda date, slug, categories: f"{date.minute:02d}",
    "second": lambda date, slug, categories: f"{date.second:02d}",
    "y_day": lambda date, slug, categories: f"{date.timetuple().tm_yday:03d}",
    "w_year": lambda date, slug, categories: f"{date.isocalendar().year:04d}",
    "week": lambda date, slug, categories: f"{date.isocalendar().week:02d}",
    "w_day": lambda date, slug, categories: str(date.isoweekday()),
    "short_day": lambda date, slug, categories: _DAYS[date.weekday()][:3],  # %a: "Wed", as Jekyll writes it
    "long_day": lambda date, slug, categories: _DAYS[date.weekday()],
    "short_month": lambda date, slug, categories: _MONTHS[date.month - 1][:3],  # %b: "Feb"
    "long_month": lambda date, slug, categories: _MONTHS[date.month - 1],
    "title": lambda date, slug, categories: jekyll_slug(slug, pretty=True),
    "slug": lambda date, slug, categories: jekyll_slug(slug),
    # Jekyll joins the lower-cased categories with '/', dropping duplicates.
    "categories": lambda date, slug, categories: "/".join(
        dict.fromkeys(c.lower().replace("/", "") for c in categories)
    ),
    "output_ext": lambda date, slug, categories: ".html",
}


@functools.lru_cache(maxsize=256)
def _template(pattern: str) -> tuple[str, ...]:
    """A pattern (a style name or a placeholder pattern) as literal text and placeholder names, alternating.

    Every post of a site shares the site's pattern: it is parsed once, not once per post.
    """
    return tuple(_PLACEHOLDER.split(STYLES.get(pattern, pattern)))


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a site's permalink setting, or None when it can.

    A site pattern that names nothing distinct per post (a misspelt style such as ``prety`` is taken as a pattern)
    would give every post, or every post of a day, one URL, and all but one would be rejected as duplicates.
    """
    if pattern in STYLES:
        return None
    names = _template(pattern)[1::2]
    if any(name in names for name in _DISTINCT):
        return None
    problem = (
        f"{pattern!r} is neither a built-in style ({', '.join(STYLES)}) nor a pattern naming :title, :slug or "
        ":second, which give each post its own URL"
    )
    unknown = sorted(set(_WORD.findall(pattern)) - _VALUES.keys())
    if unknown:
        problem += " (not placeholders: " + ", ".join(":" + word for word in unknown) + ")"
    return problem + "; e.g. 'date' or '/:categories/:year/:month/:day/:title:output_ext'"


# The placeholders a Jekyll document takes from its file (UrlDrop#collection, #path, #name), from
# JekyllSite.document_source's (label, path below the collection's directory without suffix, file name without suffix).
_SOURCE_VALUES: dict[str, Callable[[tuple[str, str, str]], str]] = {
    "collection": lambda source: source[0],
    "path": lambda source: source[1],
    "name": lambda source: jekyll_slug(source[2]),
}


def expand_permalink(
    pattern: str,
    *,
    date: datetime,
    slug: str,
    categories: list[str] | tuple[str, ...],
    source: tuple[str, str, str] | None = None,
) -> str:
    """Expand ``pattern`` (a style name or a placeholder pattern) for one post; the result starts with ``/``.
    ``:collection``, ``:path`` and ``:name`` need the post's ``source`` (a Jekyll document's); without one they
    stay as written."""
    pieces = list(_template(pattern))
    for index in range(1, len(pieces), 2):
        name = pieces[index]
        value = _VALUES.get(name)
        if value is not None:
            pieces[index] = value(date, slug, categories)
        else:
            pieces[index] = _SOURCE_VALUES[name](source) if source is not None else ":" + name
    path = "/" + "".join(pieces)
    # Each step below is skipped when the text it looks for is absent, as it then changes nothing.
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if "/." in path:  # '..' segments would let a post claim another URL; drop them.
        path = "/".join(s for s in path.split("/") if s not in (".", ".."))
        if not path.startswith("/"):
            path = "/" + path
    if "%" in path:  # An existing %XX escape is kept; a stray '%' is itself encoded.
        path = _STRAY_PERCENT.sub("%25", path)
    return percent_encode(path)


# Bytes left as they are: what ``quote`` always keeps (letters, digits, "_.-~") and ``_SAFE``.
_UNSAFE_BYTES = re.compile(b"[^A-Za-z0-9" + re.escape("_.-~" + _SAFE).encode("ascii") + b"]+")


def percent_encode(path: str) -> str:
    """``quote(path, safe=_SAFE)``, each run of other bytes encoded at once instead of byte by byte (most of the cost of
    quoting a path with Chinese in it). Encoding first raises just what ``quote`` raises for a lone surrogate."""
    return _UNSAFE_BYTES.sub(_percent_run, path.encode("utf-8")).decode("ascii")


def _percent_run(run: re.Match[bytes]) -> bytes:
    return b"%" + run.group().hex("%").upper().encode("ascii")
