"""Jekyll permalinks: a post's URL path from the site pattern or its own ``permalink`` front matter.

Placeholders follow Jekyll's documentation (https://jekyllrb.com/docs/permalinks/): ``:year :month :day
:i_month :i_day :short_year :hour :minute :second :y_day :title :slug :categories :output_ext``, and the
built-in styles ``date``, ``pretty``, ``ordinal`` and ``none``. The result is percent-encoded so that it is a URI
(RFC 3986), never an IRI: Chinese in a path becomes ``%E5%8F%B3…``.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

_PLACEHOLDER = re.compile(
    r":(i_month|i_day|short_year|y_day|output_ext|categories|minute|second|month|title|year|hour|slug|day)"
)
_SLASHES = re.compile(r"/{2,}")
# Characters left as they are in a path: RFC 3986 pchar and '/'; everything else is percent-encoded as UTF-8.
_SAFE = "/:@!$&'()*+,;=-._~%"
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def expand_permalink(pattern: str, *, date: datetime, slug: str, categories: list[str] | tuple[str, ...]) -> str:
    """Expand ``pattern`` (a style name or a placeholder pattern) for one post; the result starts with ``/``."""
    pattern = STYLES.get(pattern, pattern)
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
        # Jekyll joins the lower-cased categories with '/', dropping duplicates.
        "categories": "/".join(dict.fromkeys(c.lower().replace("/", "") for c in categories)),
        "output_ext": ".html",
    }
    path = _PLACEHOLDER.sub(lambda m: values[m.group(1)], pattern)
    path = _SLASHES.sub("/", "/" + path)
    # '..' segments would let a post claim another URL; drop them.
    segments = [s for s in path.split("/") if s not in (".", "..")]
    path = "/".join(segments)
    if not path.startswith("/"):
        path = "/" + path
    # An existing %XX escape is kept; a stray '%' is itself encoded.
    return quote(_STRAY_PERCENT.sub("%25", path), safe=_SAFE)
