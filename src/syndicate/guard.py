"""The drop guard: one build may not drop more than a share of the published posts.

A posts directory that reappears empty (a sync that has not finished, a volume mounted late, a checkout in progress)
looks exactly like every post deleted, and a build of it would remove every category and tag feed at once. A build
that would stop publishing more than ``max_drop_share`` of the posts the build before published (and at least
``GUARDED_FROM`` of them) is refused instead: the last feeds stay, on disk and served, and the refusal says how to
go ahead when it is meant (``--force``). Dropped means deleted, or now rejected or ``published: false``.
"""

from __future__ import annotations

from collections.abc import Mapping

from syndicate.cache import CachedPost
from syndicate.posts import Post

# Fewer posts than this dropped at once is an edit, never refused: a small site deleting two of its three posts.
GUARDED_FROM = 5


class DropRefused(Exception):
    """A build refused by the guard; the message says how many posts it would drop and how to override."""


def _published(cached: CachedPost | None) -> bool:
    return cached is not None and isinstance(cached.record, Post) and cached.record.published


def check_drop(
    before: Mapping[str, CachedPost], updates: Mapping[str, CachedPost], removed: frozenset[str], share: float
) -> None:
    """Raise DropRefused if applying ``updates`` and ``removed`` to ``before`` (the records of the build before)
    stops publishing more than ``share`` of its published posts, and at least GUARDED_FROM of them.

    Costs the number of changes, and a count of ``before`` only when enough posts go.
    """
    if share >= 1:
        return
    dropped = sum(1 for rel in removed if _published(before.get(rel)))
    dropped += sum(1 for rel, cached in updates.items() if not _published(cached) and _published(before.get(rel)))
    if dropped < GUARDED_FROM:
        return
    published = sum(1 for cached in before.values() if _published(cached))
    if dropped > share * published:
        raise DropRefused(
            f"refusing to drop {dropped} of {published} published posts in one build (more than max_drop_share = "
            f"{share:g}); the last feeds are kept. If the posts are meant to go, run `syndicate build --force` or "
            "`syndicate regenerate --force` (POST /admin/regenerate?force=1)"
        )
