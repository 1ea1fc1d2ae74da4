"""Jekyll's URL filters (lib/jekyll/filters/url_filters.rb), shared by the ``link`` and ``post_url`` tags.

Jekyll normalises its results with Addressable; here that is percent-encoding what a URL may not carry as it is
(non-ASCII, spaces, quotes, …), keeping ``%XX`` escapes already there. That is what posts' URLs need; Addressable's
other normalisations (case of a scheme or host, dot segments) do not arise for site-relative paths.
"""

from __future__ import annotations

import re

from syndicate.urls import has_scheme

# What Addressable leaves as it is in a URL: RFC 3986's unreserved and reserved characters, and '%' of an escape.
_UNSAFE = re.compile(rb"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def normalise_url(url: str) -> str:
    """``url`` with each character a URL may not carry as it is percent-encoded (UTF-8), existing escapes kept."""
    if "%" in url:
        url = _STRAY_PERCENT.sub("%25", url)
    data = url.encode("utf-8", errors="surrogatepass")
    return _UNSAFE.sub(lambda run: b"%" + run.group().hex("%").upper().encode("ascii"), data).decode("ascii")


def _leading_slash(part: str) -> str:
    return part if not part or part.startswith("/") else "/" + part


def relative_url(url: str, baseurl: str) -> str:
    """Jekyll's ``relative_url``: ``url`` under the site's ``baseurl``, unless it is absolute (has a scheme)."""
    if has_scheme(url):
        return url
    return normalise_url(_leading_slash(baseurl.removesuffix("/")) + _leading_slash(url))


def absolute_url(url: str, baseurl: str, site_url: str) -> str:
    """Jekyll's ``absolute_url``: ``relative_url`` prefixed with the site's ``url`` (when it has one)."""
    if has_scheme(url):
        return url
    relative = relative_url(url, baseurl)
    return normalise_url(site_url + relative) if site_url else relative
