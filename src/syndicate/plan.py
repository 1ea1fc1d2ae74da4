"""Which documents a build needs: every feed's pages (RFC 5005 paging) in every format, each with a key.

A document's key is hashed from everything that goes into it (the settings' fingerprint, its place among the feed's
pages, each entry's file hash), so equal keys mean equal bytes: a document whose key did not change is neither
rendered nor written again. Planning is pure: it takes the groups and the previous plan, and gives a new plan. A feed
whose ``Group`` is the previous plan's (regrouping keeps the groups of feeds no change touched, groups.regroup) has
its documents taken over whole; of the other feeds, unchanged full archive pages are taken over with their keys. So a
new post costs the feeds it is in, not every page of the site.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import weakref
from collections.abc import Collection, ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from syndicate.config import Settings
from syndicate.feeds import Entry, Page, feed_title, paginate
from syndicate.formats import FEED_FORMATS
from syndicate.groups import FeedInfo, Group, Groups
from syndicate.jekyllfeed import SUFFIX, jekyll_feeds
from syndicate.posts import Post


class Planned(NamedTuple):
    """One document of the plan: a page in one format, with its key."""

    page: Page
    fmt: str
    key: str

    @property
    def path(self) -> str:
        return f"{self.page.path}.{self.fmt}"


@dataclass(frozen=True)
class PlannedFeed:
    """One feed's part of a plan, kept for the next plan to take over while the feed's ``Group`` is the same.

    Its archive pages are held as one 16-byte digest each (``pages``, oldest first), from which each format's key is
    derived: the page itself (its ``Page``, entries and ``Planned`` values) is made from the group's posts only when
    asked for (``archive``), by a request to the server or by a build that renders every page. At 1M posts a plan has
    hundreds of thousands of archive documents; a server renders few of them.
    """

    group: Group
    documents: tuple[Planned, ...]  # the subscription page in each format
    title: str
    limit: int  # posts a page
    pages: bytes  # each archive page's digest (_DIGEST bytes), page 1 (the oldest) first
    subscribed: frozenset[str]
    # The part this one was made from (weakly: parts never keep their predecessors alive), and the paths of the
    # archive pages that differ from it (new, or its pages gone or replaced): see changed_since.
    made_from: weakref.ref[PlannedFeed] | None = None
    changed: frozenset[str] = frozenset()

    @property
    def count(self) -> int:
        """How many archive pages the feed has."""
        return len(self.pages) // _DIGEST

    def archive_key(self, number: int, fmt: str) -> str:
        """The key of archive page ``number`` (from 1) in ``fmt``."""
        return _format_key(self.pages[(number - 1) * _DIGEST : number * _DIGEST], fmt)

    def archive(self, number: int, fmt: str) -> Planned:
        """Archive page ``number`` in ``fmt``, made from the group's posts (as paginate splits them)."""
        return Planned(self._archive_page(number), fmt, self.archive_key(number, fmt))

    def archived(self, number: int) -> Iterator[Planned]:
        """Archive page ``number`` in every format, one ``Page`` for all: a static export plans every page at once,
        and a page made per format would hold each entry once per format (docs/benchmarks.md, "big")."""
        page = self._archive_page(number)
        for fmt in FEED_FORMATS:
            yield Planned(page, fmt, self.archive_key(number, fmt))

    def _archive_page(self, number: int) -> Page:
        feed = self.group.feed
        limit = self.limit
        posts = self.group.posts
        end = len(posts)
        archive_base = feed.archive_base()
        return Page(
            feed=feed,
            title=self.title,
            entries=tuple(Entry(p, None) for p in posts[end - number * limit : end - (number - 1) * limit]),
            path=f"{archive_base}/{number}",
            current=feed.base,
            prev_archive=f"{archive_base}/{number - 1}" if number > 1 else None,
            archive=True,
        )

    def archive_paths(self, first: int = 1, last: int | None = None) -> Iterator[str]:
        """The archive pages' document paths from page ``first`` to ``last`` (default: the last), oldest first."""
        archive_base = self.group.feed.archive_base()
        for number in range(first, (self.count if last is None else last) + 1):
            for fmt in FEED_FORMATS:
                yield f"{archive_base}/{number}.{fmt}"

    @property
    def keys(self) -> Mapping[str, str]:
        """Every document's key by path (subscription and archive pages)."""
        return _Keys({p.path: p.key for p in self.documents}, ArchiveDocuments({self.group.feed.base: self}))

    @property
    def archives(self) -> ArchiveDocuments:
        """The archive pages' documents by path."""
        return ArchiveDocuments({self.group.feed.base: self})

    def changed_since(self, other: PlannedFeed) -> Collection[str]:
        """The paths of the archive pages that differ between ``other`` (an earlier part of the same feed) and this
        one: none if they are the same object, the pages this one changed if it was made from ``other``, else all
        of either's."""
        if other is self:
            return ()
        if self.made_from is not None and self.made_from() is other:
            return self.changed
        return {*self.archive_paths(), *other.archive_paths()}


class ArchiveDocuments(Mapping[str, Planned]):
    """The archive pages' documents of planned feeds by path, each made when looked up (PlannedFeed.archive); their
    keys without making them (``key_of``, ``keys_by_path``). Iterated in plan order: feed by feed, oldest page first,
    every format."""

    def __init__(self, feeds: Mapping[str, PlannedFeed]) -> None:
        self._feeds = feeds
        self._by_base = {made.group.feed.archive_base(): made for made in feeds.values()}
        self._len = sum(made.count for made in feeds.values()) * len(FEED_FORMATS)

    def _locate(self, path: object) -> tuple[PlannedFeed, int, str] | None:
        if type(path) is not str:
            return None
        base, _, name = path.rpartition("/")
        made = self._by_base.get(base)
        if made is None:
            return None
        number, _, fmt = name.partition(".")
        # Only the spelling paginate gives a page ("3", not "03" or "+3") names it.
        if fmt not in FEED_FORMATS or not number.isdigit() or number[0] == "0" or not number.isascii():
            return None
        n = int(number)
        return (made, n, fmt) if n <= made.count else None

    def __getitem__(self, path: str) -> Planned:
        found = self._locate(path)
        if found is None:
            raise KeyError(path)
        made, number, fmt = found
        return made.archive(number, fmt)

    def __contains__(self, path: object) -> bool:
        return self._locate(path) is not None

    def key_of(self, path: str) -> str | None:
        """The key of the page at ``path``; None if it is not one of these pages."""
        found = self._locate(path)
        if found is None:
            return None
        made, number, fmt = found
        return made.archive_key(number, fmt)

    def keys_by_path(self) -> Mapping[str, str]:
        return _Keys({}, self)

    def key_items(self) -> Iterator[tuple[str, str]]:
        """Every page's (path, key), in plan order."""
        for made in self._feeds.values():
            archive_base = made.group.feed.archive_base()
            for number in range(1, made.count + 1):
                digest = made.pages[(number - 1) * _DIGEST : number * _DIGEST]
                for fmt in FEED_FORMATS:
                    yield f"{archive_base}/{number}.{fmt}", _format_key(digest, fmt)

    def __iter__(self) -> Iterator[str]:
        for made in self._feeds.values():
            yield from made.archive_paths()

    def __len__(self) -> int:
        return self._len


class _Keys(Mapping[str, str]):
    """Keys by path: those of ``known`` (a dictionary), then those of ``archives`` (derived when looked up)."""

    def __init__(self, known: Mapping[str, str], archives: ArchiveDocuments) -> None:
        self._known = known
        self._archives = archives

    def __getitem__(self, path: str) -> str:
        key = self._known.get(path)
        if key is None:
            key = self._archives.key_of(path)
            if key is None:
                raise KeyError(path)
        return key

    def __contains__(self, path: object) -> bool:
        return path in self._known or path in self._archives

    def __iter__(self) -> Iterator[str]:
        yield from self._known
        yield from self._archives

    def __len__(self) -> int:
        return len(self._known) + len(self._archives)

    def items(self) -> ItemsView[str, str]:
        return _KeyItems(self)


class _KeyItems(ItemsView[str, str]):
    """Iterates the keys without a lookup by path each."""

    _mapping: _Keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield from self._mapping._known.items()
        yield from self._mapping._archives.key_items()


@dataclass(frozen=True)
class Plan:
    documents: tuple[Planned, ...]  # the documents a build renders: every feed's pages (archive pages unless left to
    # requests, plan_documents), subscription page first, in every format
    subscribed: frozenset[str]  # file hashes of the posts in subscription pages (whose full content is rendered)
    fingerprint: str = ""  # the settings' fingerprint the plan was made with
    feeds: Mapping[str, PlannedFeed] = field(default_factory=dict, repr=False)  # by feed base (FeedInfo.base)
    jekyll: tuple[Planned, ...] = ()  # jekyll-feed's documents (the last of ``documents``)
    # Every document's key by path, and the archive pages' documents by path: looked through to the feeds' parts, so
    # neither holds a page.
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    archives: ArchiveDocuments = field(default_factory=lambda: ArchiveDocuments({}), repr=False)

    @property
    def subscriptions(self) -> tuple[Planned, ...]:
        """The documents that are not archive pages: each feed's subscription page in every format, and
        jekyll-feed's documents."""
        return (*(d for made in self.feeds.values() for d in made.documents), *self.jekyll)

    @property
    def jekyll_feeds(self) -> tuple[tuple[str, str], ...]:
        """A Jekyll site's jekyll-feed documents: (path, title) each (jekyllfeed.py)."""
        return tuple((p.path, p.page.title) for p in self.jekyll)


NO_PLAN = Plan((), frozenset())


def changed_archives(feeds: Mapping[str, PlannedFeed], previous: Mapping[str, PlannedFeed]) -> set[str]:
    """The archive pages' paths whose keys may differ between two plans' feeds (or that are in one only): those the
    feeds changed (PlannedFeed.changed_since), of feeds in one plan only all."""
    paths: set[str] = set()
    for base, made in feeds.items():
        old = previous.get(base)
        paths.update(made.archive_paths() if old is None else made.changed_since(old))
    for base, old in previous.items():
        if base not in feeds:
            paths.update(old.archive_paths())
    return paths


def page_keys(fingerprint: str, page: Page, formats: tuple[str, ...] = FEED_FORMATS) -> dict[str, str]:
    """A key per format hashed from everything that goes into the page; equal keys mean equal bytes."""
    base = _page_digest(fingerprint, page, [e.post for e in page.entries])
    return {fmt: _format_key(base, fmt) for fmt in formats}


_DIGEST = 16  # bytes of a page's digest


def _page_digest(fingerprint: str, page: Page, posts: Sequence[Post]) -> bytes:
    """What a page's keys are derived from: everything that goes into it but the format (``page``'s entries are not
    read: ``posts`` are its posts, so an archive page is hashed without being made)."""
    h = hashlib.blake2b(digest_size=_DIGEST)
    h.update(
        f"{fingerprint}\0{page.path}\0{page.current}\0{page.prev_archive}\0{page.archive}\0{page.title}\0".encode()
    )
    h.update("".join(f"{p.path}\0{p.digest}\0" for p in posts).encode())
    return h.digest()


def _format_key(digest: bytes, fmt: str) -> str:
    return hashlib.blake2b(digest + fmt.encode(), digest_size=16).hexdigest()


class _Planner:
    def __init__(self, settings: Settings, fingerprint: str) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        # One Entry per post for all the subscription pages that list it (a post is in several feeds).
        self.entries: dict[str, Entry] = {}

    def entry(self, post: Post) -> Entry:
        entry = self.entries.get(post.path)
        if entry is None or entry.post is not post:
            entry = self.entries[post.path] = Entry(post, None)
        return entry

    def pages(
        self, feed: FeedInfo, posts: Sequence[Post], first: int = 1, old: PlannedFeed | None = None
    ) -> tuple[Page, tuple[Planned, ...], str, bytes]:
        """The feed's subscription page in every format with its key, its title, and the digests of its archive
        pages from number ``first`` on (the caller takes over those before it). A full archive page whose posts are
        the same objects as that page's in ``old`` (the feed's previous part, same settings, same title) takes over
        its digest, so a small change costs the subscription pages, not every archive page."""
        title = feed_title(self.settings, feed)
        base = feed.base
        limit = self.settings.limit
        current, archives = paginate(feed, posts, limit, first)
        archive_base = feed.archive_base()
        newest = len(posts) // limit if len(posts) > limit else 0  # the newest archive page's number
        page = Page(
            feed=feed,
            title=title,
            entries=tuple(self.entry(p) for p in current),
            path=base,
            current=base,
            prev_archive=f"{archive_base}/{newest}" if newest else None,
        )
        taken = old is not None and old.title == title and old.limit == limit
        old_posts = old.group.posts if old is not None else ()
        old_end = len(old_posts)
        digests: list[bytes] = []
        for number, chunk in archives:
            if taken and old is not None and number <= old.count:
                # The same Post objects, compared by identity: cheap.
                was = old_posts[old_end - number * limit : old_end - (number - 1) * limit]
                if len(was) == len(chunk) and all(map(operator.is_, was, chunk)):
                    digests.append(old.pages[(number - 1) * _DIGEST : number * _DIGEST])
                    continue
            archived = Page(
                feed=feed,
                title=title,
                entries=(),
                path=f"{archive_base}/{number}",
                current=base,
                prev_archive=f"{archive_base}/{number - 1}" if number > 1 else None,
                archive=True,
            )
            digests.append(_page_digest(self.fingerprint, archived, chunk))
        return page, _each_format(page, page_keys(self.fingerprint, page)), title, b"".join(digests)


def _each_format(page: Page, keys: Mapping[str, str]) -> tuple[Planned, ...]:
    return tuple(Planned(page, fmt, key) for fmt, key in keys.items())


def plan_documents(
    settings: Settings,
    fingerprint: str,
    groups: Groups,
    previous: Plan,
    collected: tuple[Post, ...] = (),
    archive_documents: bool = True,
) -> Plan:
    """Every document the groups' feeds need, taking over the ``previous`` plan's documents of feeds whose groups
    are unchanged and its unchanged archive pages; for a Jekyll site, jekyll-feed's documents too (jekyllfeed.py),
    those of other collections from ``collected``. ``archive_documents``: whether the plan's ``documents`` (what a
    build renders) hold the archive pages (False: they are left to requests, made from ``archives`` when asked)."""
    same_settings = previous.fingerprint == fingerprint  # else every key differs: nothing can be taken over
    planner = _Planner(settings, fingerprint)
    documents: list[Planned] = []
    feeds: dict[str, PlannedFeed] = {}
    for group in groups.members:
        base = group.feed.base
        made = previous.feeds.get(base) if same_settings else None
        if made is None or made.group is not group:
            made = _plan_feed(planner, group, made)
        feeds[base] = made
        documents.extend(made.documents)
        if archive_documents:
            documents.extend(planned for number in range(1, made.count + 1) for planned in made.archived(number))
    jekyll: list[Planned] = []  # jekyll-feed's documents, planned after the feeds'
    if settings.jekyll is not None:
        for found in jekyll_feeds(settings.jekyll, groups, collected):
            page = Page(
                feed=found.feed,
                title=found.title,
                entries=tuple(planner.entry(p) for p in found.posts),
                path=found.path,
                current=found.path,
            )
            jekyll.append(Planned(page, SUFFIX, page_keys(fingerprint, page, (SUFFIX,))[SUFFIX]))
    documents.extend(jekyll)
    subscribed = frozenset().union(
        *(made.subscribed for made in feeds.values()),
        (e.post.digest for planned in jekyll for e in planned.page.entries),
    )
    archives = ArchiveDocuments(feeds)
    known = {planned.path: planned.key for made in feeds.values() for planned in made.documents}
    known.update((planned.path, planned.key) for planned in jekyll)
    return Plan(tuple(documents), subscribed, fingerprint, feeds, tuple(jekyll), _Keys(known, archives), archives)


def _plan_feed(planner: _Planner, group: Group, old: PlannedFeed | None = None) -> PlannedFeed:
    """The feed's part of the plan; ``old``: its part in the previous plan (same settings), whose oldest archive
    pages are taken over without a look where the feed still holds the very same oldest posts (see _kept_pages)."""
    kept = _kept_pages(planner, group, old) if old is not None else 0
    subscription, documents, title, fresh = planner.pages(group.feed, group.posts, kept + 1, old)
    pages = old.pages[: kept * _DIGEST] + fresh if old is not None and kept else fresh
    made = PlannedFeed(
        group,
        documents,
        title,
        planner.settings.limit,
        pages,
        frozenset(e.post.digest for e in subscription.entries),
        None if old is None else weakref.ref(old),
    )
    if old is None:
        return made
    # The pages after the kept ones, old and new.
    changed = frozenset((*made.archive_paths(kept + 1), *old.archive_paths(kept + 1)))
    return replace(made, changed=changed)


def _kept_pages(planner: _Planner, group: Group, old: PlannedFeed) -> int:
    """How many of the feed's oldest archive pages are the old part's as they were: those made only of the oldest
    posts that both hold as the very same objects at the same places from the oldest end (so a new post costs the
    newest pages of its feeds, not a walk over every page of the site-wide feed), with the same title."""
    if not old.count or old.title != feed_title(planner.settings, group.feed) or old.limit != planner.settings.limit:
        return 0
    old_posts, posts = old.group.posts, group.posts
    shorter = min(len(old_posts), len(posts))
    known = group.oldest_shared_with(old.group)  # grouping knows when it patched the old group (groups._patch)
    if known is not None:
        common = min(known, shorter)
    else:
        try:
            same = map(operator.is_, reversed(old_posts), reversed(posts))
            common = min(operator.indexOf(itertools.islice(same, shorter), False), shorter)
        except ValueError:
            common = shorter
    limit = planner.settings.limit
    pages = len(posts) // limit if len(posts) > limit else 0  # as paginate counts them
    return min(common // limit, old.count, pages)
