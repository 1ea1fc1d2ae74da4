"""TEMPORARY stand-in until the formats registry lands (branch formats)."""

from __future__ import annotations

from syndicate.documents import FORMATS

FEED_FORMATS = ("atom", "rss", "json")


def media_type(fmt: str) -> str:
    return FORMATS[fmt]
