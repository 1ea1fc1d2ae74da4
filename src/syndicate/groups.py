"""Feeds and the posts in each: feed kinds described once, as a table, and posts grouped into feeds.

A feed kind says where its feeds live and which of a post's names put the post in one: the site-wide feed lists
every post; a category's, tag's, original publication's or author's feed the posts naming it. Adding a kind is a row
here; the ``feed_kinds`` setting says which of the term kinds a site builds. ``group_posts`` groups the visible posts
into feeds; ``regroup`` reuses the last grouping, regrouping only the feeds of the posts that changed;
``Groups.resolve`` finds a feed by the name a reader typed.
"""

from __future__ import annotations

import itertools
import operator
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Literal

from syndicate._order import place
from syndicate.config import Settings
from syndicate.records import Post
from syndicate.terms import slug_of, slugify

ARCHIVE_DIR = "archive"  # RFC 5005 archive pages: archive/<feed's path>/<n>.<format>


@dataclass(frozen=True)
class FeedKind:
    """One kind of feed: ``name`` as FeedInfo.kind says it, ``directory`` its feeds' place in the output (and URL
    path), ``heading`` for lists of feeds, ``terms`` the names in a post that put it in a feed of this kind (None:
    the one feed of the kind lists every post), ``named_by`` which spelling names a feed when its posts spell the
    name in several ways with one slug: the newest post's, or the one most posts use (ties: the newest)."""

    name: str
    directory: str
    heading: str
    terms: Callable[[Post], tuple[str, ...]] | None
    named_by: Literal["newest", "most posts"] = "newest"


def source_names(post: Post) -> tuple[str, ...]:
    """The original publication a republished post names (attribution.py), if it names one."""
    return (post.source_name,) if post.source_name else ()


SITE_WIDE = FeedKind("all", "", "All posts", None)
FEED_KINDS: tuple[FeedKind, ...] = (
    SITE_WIDE,
    FeedKind("category", "categories", "Categories", attrgetter("categories")),
    FeedKind("tag", "tags", "Tags", attrgetter("tags")),
    # A publication's name is written by whoever republished each post ("Tech Daily", "TECH DAILY"): the spelling
    # most posts use is the steadiest title for its feed, where the newest post's would change with each new post.
    FeedKind("source", "sources", "Sources", source_names, "most posts"),
    FeedKind("author", "authors", "Authors", attrgetter("authors")),
)
_BY_NAME = {kind.name: kind for kind in FEED_KINDS}
_BY_DIRECTORY = {kind.directory: kind for kind in FEED_KINDS if kind.directory}
TERM_KINDS = tuple(kind for kind in FEED_KINDS if kind.terms is not None)


def built_kinds(settings: Settings) -> tuple[FeedKind, ...]:
    """The term kinds whose feeds ``settings`` builds (``feed_kinds``), in the table's order."""
    return tuple(kind for kind in TERM_KINDS if kind.name in settings.feed_kinds)


def feed_kind(name: str) -> FeedKind:
    """The kind called ``name``; KeyError for a kind there is no row for."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown feed kind {name!r}; known: {', '.join(_BY_NAME)}") from None


def kind_in(directory: str) -> FeedKind | None:
    """The kind whose feeds live in ``directory`` (``categories``, ``tags``), if any."""
    return _BY_DIRECTORY.get(directory)


@dataclass(frozen=True)
class FeedInfo:
    """A feed as listed on the index page and in OPML: one term (or the whole site) in every format."""

    kind: str  # a FeedKind's name: "all", "category", "tag", "source", "author"
    name: str  # as written in posts, e.g. "右江日报新闻"; the site title for kind "all"
    slug: str  # file-name form; "all" for the site-wide feed
    count: int  # posts in the feed (all pages)
    display: str  # display name (config display_names, else name)

    def __post_init__(self) -> None:
        feed_kind(self.kind)  # an unknown kind is refused here, not filed somewhere by accident

    @property
    def base(self) -> str:
        """The subscription document's path without the format suffix: ``all``, ``tags/ai``."""
        directory = feed_kind(self.kind).directory
        return f"{directory}/{self.slug}" if directory else self.slug

    def path(self, fmt: str) -> str:
        return f"{self.base}.{fmt}"

    def archive_base(self) -> str:
        """Where the feed's archive pages live, without page number and suffix: ``archive/tags/ai``."""
        return f"{ARCHIVE_DIR}/{self.base}"


@dataclass(frozen=True)
class Group:
    feed: FeedInfo
    posts: Sequence[Post]  # newest first; never changed once grouped (regroup copies before it swaps)
    # The group this one was patched from (weakly: groups never keep their predecessors alive), and how many of the
    # oldest posts both hold, the very same objects in the same places from the oldest end: planning takes over the
    # archive pages of those without comparing them (plan._kept_pages).
    made_from: weakref.ref[Group] | None = field(default=None, compare=False, repr=False)
    same_oldest: int = field(default=0, compare=False, repr=False)

    def oldest_shared_with(self, other: Group) -> int | None:
        """How many oldest posts this group holds as ``other`` does (see ``same_oldest``); None if not known."""
        return self.same_oldest if self.made_from is not None and self.made_from() is other else None


FeedKey = tuple[str, str]  # (kind, slug or name as written)


@dataclass(frozen=True)
class Groups:
    """The visible posts grouped into feeds: the site-wide feed first, then the term feeds by kind and slug."""

    visible: tuple[Post, ...]
    members: tuple[Group, ...]
    index: Mapping[FeedKey, FeedInfo] = field(repr=False)  # see resolve

    @property
    def feeds(self) -> tuple[FeedInfo, ...]:
        return tuple(g.feed for g in self.members)

    def resolve(self, kind: str, name: str) -> FeedInfo | None:
        """The feed of a kind given by slug, name as written, or a case variant of either."""
        feed = self.index.get((kind, name))
        if feed is None:
            feed = self.index.get((kind, slug_of(name)))  # a name from a request: not memoised
        return feed


EMPTY = Groups((), (), {})


@lru_cache(maxsize=4096)  # distinct term lists; a miss costs only speed
def term_slugs(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(slug, name as first written) for each distinct slug among a post's categories (or tags), in order.

    Posts share a handful of term lists, so grouping a site slugs each list once, not each name of each post.
    """
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(slugify(name), name)
    return tuple(found.items())


def _index(members: Sequence[Group]) -> dict[FeedKey, FeedInfo]:
    index: dict[FeedKey, FeedInfo] = {}
    for group in members:
        feed = group.feed
        if feed.kind != SITE_WIDE.name:
            index[(feed.kind, feed.slug)] = feed
            index.setdefault((feed.kind, feed.name), feed)
    return index


def group_posts(settings: Settings, visible: tuple[Post, ...]) -> Groups:
    """Every feed with its posts, newest first; a feed is named by its newest post's spelling of the term, or by the
    spelling most of its posts use (``FeedKind.named_by``)."""
    names = settings.display_names
    members: dict[FeedKey, list[Post]] = {}
    first_name: dict[FeedKey, str] = {}
    spellings: dict[FeedKey, Counter[str]] = {}  # for kinds named by most posts
    for kind in built_kinds(settings):
        terms = kind.terms
        assert terms is not None
        counted = kind.named_by == "most posts"
        for post in visible:  # newest first: the newest post's spelling names the feed
            for slug, name in term_slugs(terms(post)):
                key = (kind.name, slug)
                listed = members.get(key)
                if listed is None:
                    members[key] = [post]
                    first_name[key] = name
                else:
                    listed.append(post)
                if counted:
                    spellings.setdefault(key, Counter())[name] += 1
    for key, counts in spellings.items():
        if len(counts) > 1:  # Counter keeps first-seen order, so max() takes the newest post's spelling on a tie
            first_name[key] = max(counts, key=counts.__getitem__)
    site = Group(FeedInfo(SITE_WIDE.name, settings.title, "all", len(visible), settings.title), visible)
    groups = [site]
    for (kind_name, slug), posts in sorted(members.items()):
        name = first_name[(kind_name, slug)]
        display = names.get(name) or names.get(slug) or name
        groups.append(Group(FeedInfo(kind_name, name, slug, len(posts), display), posts))
    return Groups(visible, tuple(groups), _index(groups))


def regroup(
    previous: Groups,
    settings: Settings,
    visible: tuple[Post, ...],
    moved: tuple[Sequence[Post], Sequence[Post]] | None = None,
) -> Groups:
    """``group_posts(settings, visible)``, from the previous groups when only posts' contents changed.

    A feed's posts are the visible posts that have its term, in their order. So when the same paths are visible in
    the same order and every changed post kept its names, each feed has the same members in the same places: only
    the changed posts are swapped in, in the feeds they are in. That is the common change (an edited post; a rescan
    with nothing or one file changed), and it spares grouping every post again, most of a small rebuild's time
    (docs/benchmarks.md). Anything else is grouped anew.

    ``moved``: the posts that left the previous groups' visible posts and those that entered them, when the caller
    knows (corpus.revisit does): the feeds of those posts are patched without comparing every visible post.
    """
    old_visible = previous.visible
    kinds = built_kinds(settings)
    if not previous.members:
        return group_posts(settings, visible)
    if moved is not None:
        left, entered = moved
        if not left and not entered:
            return Groups(visible, previous.members, previous.index)
        if len(left) + len(entered) > max(8, _PATCH_SHARE * len(visible)):
            return group_posts(settings, visible)
        return _patch(previous, settings, visible, moved)
    if len(old_visible) != len(visible):
        return _patch(previous, settings, visible)
    swapped: list[tuple[int, Post, Post]] = []
    for i, (old, new) in enumerate(zip(old_visible, visible, strict=True)):
        if old is not new:
            # Term lists are shared objects (posts.share_values), so equal lists are usually the same object.
            if old.path != new.path or any(kind.terms(old) != kind.terms(new) for kind in kinds):  # type: ignore[misc]
                return _patch(previous, settings, visible)
            swapped.append((i, old, new))
    if not swapped:
        return Groups(visible, previous.members, previous.index)
    members = list(previous.members)
    where = {(g.feed.kind, g.feed.slug): n for n, g in enumerate(members)}
    copied: dict[int, list[Post]] = {}
    for i, old, new in swapped:
        touched = [(0, i)]  # the site-wide feed lists every visible post, at its place
        for kind in kinds:
            assert kind.terms is not None
            touched.extend((where[(kind.name, slug)], -1) for slug, _name in term_slugs(kind.terms(old)))
        for n, at in touched:
            posts = copied.get(n)
            if posts is None:  # the previous groups stay as they were
                posts = copied[n] = list(members[n].posts)
            if at < 0:
                at = [p is old for p in posts].index(True)
            posts[at] = new
    for n, posts in copied.items():
        members[n] = Group(members[n].feed, posts if n else visible)
    return Groups(visible, tuple(members), previous.index)


# Beyond this share of the visible posts changed, grouping every post anew is as quick as patching the feeds.
_PATCH_SHARE = 0.05


def _patch(
    previous: Groups,
    settings: Settings,
    visible: tuple[Post, ...],
    moved: tuple[Sequence[Post], Sequence[Post]] | None = None,
) -> Groups:
    """``group_posts(settings, visible)`` by patching only the feeds of the posts that left or entered the visible
    posts (an edited post is one that left and one that entered: its old terms' feeds and its new ones). The other
    feeds keep their ``Group`` objects, which tells planning (plan.py) that their documents are unchanged.

    A feed's posts are the visible posts with its term, newest first, so a feed is patched by taking out the posts
    that left and putting each post that entered at its place (a binary search by date and path: the visible
    posts' order). Its name is then chosen as ``group_posts`` chooses it, from its posts. ``moved``: (left, entered),
    if known; else found by comparing the visible posts."""
    if moved is not None:
        left, entered = moved
    else:
        old_visible = previous.visible
        # The posts before and after the changes are the same objects in both (a new post is usually the newest):
        # only the span between is compared.
        start, old_end, new_end = _changed_span(old_visible, visible)
        before, after = old_visible[start:old_end], visible[start:new_end]
        if len(before) + len(after) > max(8, _PATCH_SHARE * len(visible)):
            return group_posts(settings, visible)
        now_ids = set(map(id, after))
        before_ids = set(map(id, before))
        left, entered = _by_id(before, before_ids - now_ids), _by_id(after, now_ids - before_ids)
    kinds = built_kinds(settings)
    by_key: dict[FeedKey, Group] = {(g.feed.kind, g.feed.slug): g for g in previous.members[1:]}
    touched: dict[FeedKey, list[Post]] = {}
    # Per feed, how many of its oldest posts no change reached: the fewest posts older than one that moved, counted
    # when it moved (the oldest post that moved decides; changes among newer posts leave those places alone).
    untouched: dict[FeedKey, int] = {}
    old_visible = previous.visible
    site_untouched = min(len(old_visible), len(visible))
    for posts_moved, entering in ((left, False), (entered, True)):
        for post in posts_moved:
            in_site = visible if entering else old_visible
            site_untouched = min(site_untouched, len(in_site) - place(in_site, post) - 1)
            for kind in kinds:
                assert kind.terms is not None
                for slug, _name in term_slugs(kind.terms(post)):
                    key = (kind.name, slug)
                    posts = touched.get(key)
                    if posts is None:
                        group = by_key.get(key)
                        posts = touched[key] = list(group.posts) if group is not None else []
                        untouched[key] = len(posts)
                    at = place(posts, post)
                    if entering:
                        untouched[key] = min(untouched[key], len(posts) - at)
                        posts.insert(at, post)
                    else:  # one visible post per path, so the one at its place is it
                        assert posts[at] is post
                        untouched[key] = min(untouched[key], len(posts) - at - 1)
                        del posts[at]
    names = settings.display_names
    for key, posts in touched.items():
        if not posts:
            by_key.pop(key, None)
            continue
        kind_name, slug = key
        kind = _BY_NAME[kind_name]
        assert kind.terms is not None
        name = _feed_name(kind, slug, posts)
        display = names.get(name) or names.get(slug) or name
        was = by_key.get(key)
        made_from = weakref.ref(was) if was is not None else None
        by_key[key] = Group(FeedInfo(kind_name, name, slug, len(posts), display), posts, made_from, untouched[key])
    site_feed = FeedInfo(SITE_WIDE.name, settings.title, "all", len(visible), settings.title)
    site = Group(site_feed, visible, weakref.ref(previous.members[0]), site_untouched)
    members = [site, *(by_key[key] for key in sorted(by_key))]
    return Groups(visible, tuple(members), _index(members))


def _changed_span(old_posts: tuple[Post, ...], new_posts: tuple[Post, ...]) -> tuple[int, int, int]:
    """(start, end in ``old``, end in ``new``): outside it both hold the very same objects at the same places. By
    the objects' identity: a post read again may be another object equal to the old one, and the feeds must hold the
    objects ``visible`` holds (``_patch`` finds them by identity). ``operator.indexOf`` over ``map(is_, …)`` finds
    the first difference at C speed and stops there, without a tuple of every post's id."""
    shorter = min(len(old_posts), len(new_posts))
    start = _first_false(map(operator.is_, old_posts, new_posts), shorter)
    common_end = _first_false(map(operator.is_, reversed(old_posts), reversed(new_posts)), shorter - start)
    return start, len(old_posts) - common_end, len(new_posts) - common_end


def _first_false(same: Iterator[bool], limit: int) -> int:
    """The index of the first False in ``same`` (at most ``limit``)."""
    try:
        return min(operator.indexOf(itertools.islice(same, limit), False), limit)
    except ValueError:
        return limit


def _by_id(posts: tuple[Post, ...], ids: set[int]) -> list[Post]:
    """The posts with these ids, in no particular order (the order they are patched in does not matter): looked up
    in a table made at C speed, where a loop testing every post would cost as much as grouping them."""
    if not ids:
        return []
    return list(map(dict(zip(map(id, posts), posts, strict=True)).__getitem__, ids))


def _feed_name(kind: FeedKind, slug: str, posts: Sequence[Post]) -> str:
    """The name of the feed of ``kind`` and ``slug`` with ``posts`` (newest first), as ``group_posts`` names it."""
    terms = kind.terms
    assert terms is not None
    spellings = (dict(term_slugs(terms(post)))[slug] for post in posts)
    if kind.named_by != "most posts":
        return next(spellings)
    counts = Counter(spellings)  # first-seen order: max() takes the newest post's spelling on a tie
    return max(counts, key=counts.__getitem__)
