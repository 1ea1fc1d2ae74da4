"""URLs in post bodies: references read as browsers read them, and made absolute for feeds.

An entry's content is read away from its page, and feed readers resolve relative URLs against the feed, if at all,
so every link and image in a rendered body is made absolute against the post's own page.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["absolutise", "bare_host", "has_scheme", "normalise_reference"]

_URL_STRIP = "".join(chr(c) for c in range(0x21))
_URL_TABS = re.compile("[\t\n\r]")


def normalise_reference(url: str) -> str:
    # WHATWG URL parsing (what browsers and ammonia do): strip leading/trailing C0 controls and spaces, drop tabs
    # and newlines anywhere, and treat "\" as "/" in http(s) URLs, so "\\evil.example" is protocol-relative.
    url = _URL_TABS.sub("", url.strip(_URL_STRIP))
    if has_scheme(url):
        return url
    return url.replace("\\", "/")


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def has_scheme(url: str) -> bool:
    return _SCHEME.match(url) is not None


def bare_host(url: str) -> str:
    """The URL's host as sites are compared: lower-case, without a trailing dot or ``www.``; "" if it has none."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


def absolutise(url: str, *, page_url: str, site_scheme: str) -> str:
    """``url`` resolved against ``page_url``, a protocol-relative one with ``site_scheme``; if that gives no http(s)
    URL, the normalised reference as it was."""
    reference = normalise_reference(url)
    if has_scheme(reference):
        return reference  # absolute: nh3 already checked the scheme
    try:
        if reference.startswith("//"):
            resolved = f"{site_scheme}:{reference}"
        else:
            resolved = urljoin(page_url, reference)
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return reference
    # A bad page_url cannot turn a relative link into a script: keep the reference relative instead.
    return resolved if scheme in {"http", "https"} else reference
