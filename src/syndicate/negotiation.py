"""Whether a request for a feed comes from a person's browser: the Accept header read as RFC 9110 §12.5.1 says.

A browser navigating to a feed's address asks for ``text/html`` first (Firefox: ``text/html,application/xhtml+xml,
application/xml;q=0.9,*/*;q=0.8``; Chromium and Safari alike); it is served the feed's page. Everything else is
served the feed, and the rule is built so that no feed reader is ever handed HTML:

- ``text/html`` must be named explicitly: ``*/*`` or ``text/*`` alone (many readers and scripts, curl) or no Accept
  at all means "anything", and the feed is what the address names;
- it must be the client's first choice among everything it lists (SimplePie, behind FreshRSS and others, lists
  ``text/html;q=0.7`` after the feed types; some readers send ``text/html;q=0.9``), and strictly preferred to the
  feed's own type (``text/html, application/atom+xml`` at equal weight gets the feed).

feedparser (``application/atom+xml,…,*/*;q=0.1``), Miniflux (``application/rss+xml, …;q=0.4``), newsboat and
NetNewsWire (feed types or ``*/*``) all get the feed. Verdicts are memoised per header value (bounded), as
``responses.acceptable_encodings`` does: clients send a handful of distinct values.
"""

from __future__ import annotations

HTML = "text/html"
_MEMO_SIZE = 512
_memo: dict[tuple[bytes, str], bool] = {}


def prefers_html(accept: bytes, media_type: str) -> bool:
    """Whether ``accept`` (an Accept header's value) asks for HTML rather than ``media_type`` (the feed's)."""
    key = (accept, media_type)
    verdict = _memo.get(key)
    if verdict is None:
        verdict = _prefers_html(accept.decode("latin-1"), media_type.partition(";")[0].strip().lower())
        if len(accept) <= 512:  # real clients send short values; do not keep odd ones
            if len(_memo) >= _MEMO_SIZE:
                _memo.clear()
            _memo[key] = verdict
    return verdict


def _ranges(accept: str) -> list[tuple[str, float]]:
    """(media range, weight) for each item of the header; an unreadable weight counts as 0 (not acceptable)."""
    found: list[tuple[str, float]] = []
    for item in accept.split(","):
        media_range, *params = item.split(";")
        media_range = media_range.strip().lower()
        if not media_range:
            continue
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
                if not 0.0 <= weight <= 1.0:  # also NaN
                    weight = 0.0
        found.append((media_range, weight))
    return found


def _weight(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The weight the most specific matching range gives ``media_type`` (§12.5.1), 0 when none matches."""
    kind = media_type.partition("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for media_range, weight in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, weight)
    return best[1]


def _prefers_html(accept: str, feed_type: str) -> bool:
    if HTML not in accept.lower():
        return False
    ranges = _ranges(accept)
    html = next((weight for media_range, weight in ranges if media_range == HTML), 0.0)
    if html <= 0.0:
        return False
    top = max(weight for _, weight in ranges)
    return html >= top and html > _weight(ranges, feed_type)
