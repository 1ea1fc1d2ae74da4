"""The unit the builder produces and the server serves: one output file's bytes and metadata."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FORMATS: dict[str, str] = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json",
    "opml": "text/x-opml; charset=utf-8",
}

FeedKind = Literal["all", "category", "tag"]


@dataclass(frozen=True)
class Document:
    """One output file: ``path`` is relative to the output directory, POSIX separators, e.g. ``tags/ai.rss``."""

    path: str
    body: bytes
    media_type: str
    # Newest entry's updated time: Last-Modified. None for documents without entries.
    updated: datetime | None
    digest: str = field(default="")

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.blake2b(self.body, digest_size=16).hexdigest())


@dataclass(frozen=True)
class FeedInfo:
    """A feed as listed on the index page and in OPML: one term (or the whole site) in every format."""

    kind: FeedKind
    name: str  # as written in posts, e.g. "右江日报新闻"; the site title for kind "all"
    slug: str  # file-name form; "all" for the site-wide feed
    count: int  # posts in the feed (all pages)
    display: str  # display name (config display_names, else name)

    def path(self, fmt: str) -> str:
        if self.kind == "all":
            return f"all.{fmt}"
        return f"{'categories' if self.kind == 'category' else 'tags'}/{self.slug}.{fmt}"
