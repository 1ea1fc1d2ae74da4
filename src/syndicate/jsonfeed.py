"""JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) documents, written directly (feedgen has no JSON Feed).

Items are written exactly as ``json.dumps(item, ensure_ascii=False, separators=(",", ":"))`` wrote the dict they used
to be (tests/test_feeds.py checks that for random posts): building the dict and an encoder for each item cost
several times the writing (docs/benchmarks.md). The string encoder is the one json.dumps uses for ensure_ascii=False
(C). Older pages are linked with ``next_url``; the publication an item came from is the ``_source`` extension.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from syndicate.config import Settings
from syndicate.dates import format_rfc3339
from syndicate.documents import feed_url
from syndicate.posts import Post, feed_summary

if TYPE_CHECKING:
    from syndicate.feeds import Page

MEDIA_TYPE = "application/feed+json"

_json_string: Callable[[str], str] = json.encoder.encode_basestring


def write_entry(post: Post, content: str | None) -> bytes:
    """The post's item object, UTF-8; ``content`` None: ``content_text`` (the summary) instead of ``content_html``."""
    url = _json_string(post.url)
    parts = [
        '{"id":',
        _json_string(post.id) if post.entry_id else url,
        ',"url":',
        url,
        ',"title":',
        _json_string(post.title),
    ]
    if post.image:
        parts += (',"image":', _json_string(post.image))
    if post.source_url:
        parts += (',"external_url":', _json_string(post.source_url))
    summary = feed_summary(post)
    if content is not None:
        parts += (',"content_html":', _json_string(content))
    else:
        parts += (',"content_text":', _json_string(summary or post.title))
    if summary:
        parts += (',"summary":', _json_string(summary))
    # isoformat() is ASCII digits, "-", ":", "+", "." and "T": nothing JSON escapes.
    parts += (
        ',"date_published":"',
        format_rfc3339(post.date),
        '","date_modified":"',
        format_rfc3339(post.updated),
        '"',
    )
    if post.author:
        parts += (',"authors":[{"name":', _json_string(post.author), "}]")
    terms = dict.fromkeys((*post.categories, *post.tags))
    if terms:
        parts += (',"tags":[', ",".join(map(_json_string, terms)), "]")
    if post.source_name or post.source_url:
        name = _json_string(post.source_name) if post.source_name is not None else "null"
        source = _json_string(post.source_url) if post.source_url is not None else "null"
        parts += (',"_source":{"name":', name, ',"url":', source, "}")
    parts.append("}")
    # A lone surrogate fails to encode here (UnicodeEncodeError, a ValueError), as it did after json.dumps.
    return "".join(parts).encode("utf-8")


def _head(settings: Settings, page: Page) -> dict[str, Any]:
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": page.title,
        "home_page_url": settings.site_url + "/",
        "feed_url": feed_url(settings, page.path, "json", page.query),
        "language": settings.language,
        "authors": [{"name": settings.author or settings.title}],
    }
    if settings.description:
        feed["description"] = settings.description
    # JSON Feed 1.1: icon is large and square (a timeline's image), favicon small; logo and icon settings match them.
    if settings.logo or settings.icon:
        feed["icon"] = settings.logo or settings.icon
    if settings.icon:
        feed["favicon"] = settings.icon
    if page.prev_archive:
        feed["next_url"] = feed_url(settings, page.prev_archive, "json")
    if settings.hub:
        feed["hubs"] = [{"type": "WebSub", "url": settings.hub}]
    return feed


def write_document(settings: Settings, page: Page, entries: Sequence[bytes]) -> bytes:
    """The page's JSON Feed document, its items' bytes (``write_entry``'s) spliced into ``items``, in order."""
    head = json.dumps(_head(settings, page), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return head[:-1] + b',"items":[' + b",".join(entries) + b"]}"
