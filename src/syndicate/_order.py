"""Where a post goes among posts listed newest first, as ``corpus.visible_posts`` lists them.

The order is by publication time, then by path (``cache.CachedPost.order``), descending: a total order, since a path
is one post. Incremental builds put a post at its place by binary search instead of sorting every post again.
"""

from __future__ import annotations

from collections.abc import Sequence

from syndicate.records import Post


def newest_first(post: Post) -> tuple[float, str]:
    """A post's sort key (``CachedPost.order``); lists of posts are in descending order of it."""
    return (post.date.timestamp(), post.path)


def place(posts: Sequence[Post], post: Post) -> int:
    """Where ``post`` goes in ``posts`` (newest first): the index of the first post not newer than it, which is
    ``post``'s own index when it is listed."""
    key = newest_first(post)
    lo, hi = 0, len(posts)
    while lo < hi:
        mid = (lo + hi) // 2
        if newest_first(posts[mid]) > key:
            lo = mid + 1
        else:
            hi = mid
    return lo
