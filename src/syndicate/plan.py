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
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
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
class Archived:
    """An archive page as last planned: the page, and the page in each format with its key (taken over with it).
    Its posts are its entries' (a tuple of them besides would cost 8 bytes a post in each feed that lists it)."""

    page: Page
    planned: tuple[Planned, ...] = ()


@dataclass(frozen=True)
class PlannedFeed:
    """One feed's part of a plan, kept for the next plan to take over while the feed's ``Group`` is the same."""

    group: Group
    documents: tuple[Planned, ...]  # the subscription page in each format, then the archive pages'
    archived: tuple[tuple[str, Archived], ...]
    subscribed: frozenset[str]
    keys: Mapping[str, str]  # document path -> key
    archives: Mapping[str, Planned]  # the archive pages' documents by path
    # The part this one was made from (weakly: parts never keep their predecessors alive), and the paths of the
    # archive pages that differ from it (new, or its pages gone or replaced): see changed_since.
    made_from: weakref.ref[PlannedFeed] | None = None
    changed: frozenset[str] = frozenset()

    def changed_since(self, other: PlannedFeed) -> Collection[str]:
        """The paths of the archive pages that differ between ``other`` (an earlier part of the same feed) and this
        one: none if they are the same object, the pages this one changed if it was made from ``other``, else all
        of either's."""
        if other is self:
            return ()
        if self.made_from is not None and self.made_from() is other:
            return self.changed
        return self.archives.keys() | other.archives.keys()


@dataclass(frozen=True)
class Plan:
    documents: tuple[Planned, ...]  # every feed's pages, subscription page first, in every format
    archived: Mapping[str, Archived]  # archive pages by path (without suffix): what the next plan may take over
    subscribed: frozenset[str]  # file hashes of the posts in subscription pages (whose full content is rendered)
    fingerprint: str = ""  # the settings' fingerprint the plan was made with
    feeds: Mapping[str, PlannedFeed] = field(default_factory=dict, repr=False)  # by feed base (FeedInfo.base)
    jekyll: tuple[Planned, ...] = ()  # jekyll-feed's documents (the last of ``documents``)
    # Every document's key by path, and the archive pages' documents by path (not to be changed: the next plan
    # starts from copies of them). Made from the feeds' parts, and from the previous plan's by patching the parts of
    # the feeds that changed: at 100k posts a plan has tens of thousands of documents, and a new post changes a few
    # feeds. See _by_path.
    keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    archives: Mapping[str, Planned] = field(default_factory=dict, repr=False)

    @property
    def subscriptions(self) -> tuple[Planned, ...]:
        """The documents that are not archive pages: each feed's subscription page in every format, and
        jekyll-feed's documents."""
        per_feed = len(FEED_FORMATS)
        return (*(d for made in self.feeds.values() for d in made.documents[:per_feed]), *self.jekyll)

    @property
    def jekyll_feeds(self) -> tuple[tuple[str, str], ...]:
        """A Jekyll site's jekyll-feed documents: (path, title) each (jekyllfeed.py)."""
        return tuple((p.path, p.page.title) for p in self.jekyll)


NO_PLAN = Plan((), {}, frozenset())


class PlannedKeys(Mapping[str, str]):
    """The keys of planned documents by path, read through from ``planned`` (path -> Planned) rather than copied:
    a server hands its archive pages' keys to ``ArchiveFiles`` with every build, most of a large site's paths."""

    def __init__(self, planned: Mapping[str, Planned]) -> None:
        self._planned = planned

    def __getitem__(self, path: str) -> str:
        return self._planned[path].key

    def __iter__(self) -> Iterator[str]:
        return iter(self._planned)

    def __len__(self) -> int:
        return len(self._planned)


def changed_archives(feeds: Mapping[str, PlannedFeed], previous: Mapping[str, PlannedFeed]) -> set[str]:
    """The archive pages' paths whose keys may differ between two plans' feeds (or that are in one only): those the
    feeds changed (PlannedFeed.changed_since), of feeds in one plan only all."""
    paths: set[str] = set()
    for base, made in feeds.items():
        old = previous.get(base)
        paths.update(made.archives if old is None else made.changed_since(old))
    for base, old in previous.items():
        if base not in feeds:
            paths.update(old.archives)
    return paths


def page_keys(fingerprint: str, page: Page, formats: tuple[str, ...] = FEED_FORMATS) -> dict[str, str]:
    """A key per format hashed from everything that goes into the page; equal keys mean equal bytes."""
    h = hashlib.blake2b(digest_size=16)
    h.update(
        f"{fingerprint}\0{page.path}\0{page.current}\0{page.prev_archive}\0{page.archive}\0{page.title}\0".encode()
    )
    h.update("".join(f"{e.post.path}\0{e.post.digest}\0" for e in page.entries).encode())
    base = h.digest()
    return {fmt: hashlib.blake2b(base + fmt.encode(), digest_size=16).hexdigest() for fmt in formats}


class _Planner:
    def __init__(self, settings: Settings, fingerprint: str, previous: Mapping[str, Archived]) -> None:
        self.settings = settings
        self.fingerprint = fingerprint
        self.previous = previous
        self.archived: dict[str, Archived] = {}
        # One Entry per post for all the pages that list it (a post is in several feeds' pages).
        self.entries: dict[str, Entry] = {}

    def entry(self, post: Post) -> Entry:
        entry = self.entries.get(post.path)
        if entry is None or entry.post is not post:
            entry = self.entries[post.path] = Entry(post, None)
        return entry

    def pages(
        self, feed: FeedInfo, posts: tuple[Post, ...] | list[Post], first: int = 1
    ) -> list[tuple[Page, tuple[Planned, ...]]]:
        """The feed's pages, each in every format with its key: the subscription page, then the archive pages from
        number ``first`` on (the caller takes over those before it). A full archive page whose posts are the same
        objects as in the previous plan is taken over with its keys, so a small change costs the subscription pages,
        not every archive page."""
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
        pages = [(page, _each_format(page, page_keys(self.fingerprint, page)))]
        for number, chunk in archives:
            path = f"{archive_base}/{number}"
            old = self.previous.get(path)
            # The same Post objects, compared by identity: cheap.
            if old is not None and old.page.title == title and old.page.current == base and _same(old.page, chunk):
                archived = old
            else:
                page = Page(
                    feed=feed,
                    title=title,
                    entries=tuple(self.entry(p) for p in chunk),
                    path=path,
                    current=base,
                    prev_archive=f"{archive_base}/{number - 1}" if number > 1 else None,
                    archive=True,
                )
                archived = Archived(page, _each_format(page, page_keys(self.fingerprint, page)))
            self.archived[path] = archived
            pages.append((archived.page, archived.planned))
        return pages


def _same(page: Page, posts: tuple[Post, ...]) -> bool:
    """Whether ``page`` lists exactly ``posts`` (the same objects, in order)."""
    entries = page.entries
    return len(entries) == len(posts) and all(map(operator.is_, map(_POST_OF, entries), posts))


_POST_OF = operator.attrgetter("post")


def _each_format(page: Page, keys: Mapping[str, str]) -> tuple[Planned, ...]:
    return tuple(Planned(page, fmt, key) for fmt, key in keys.items())


def plan_documents(
    settings: Settings,
    fingerprint: str,
    groups: Groups,
    previous: Plan,
    collected: tuple[Post, ...] = (),
) -> Plan:
    """Every document the groups' feeds need, taking over the ``previous`` plan's documents of feeds whose groups
    are unchanged and its unchanged archive pages; for a Jekyll site, jekyll-feed's documents too (jekyllfeed.py),
    those of other collections from ``collected``."""
    same_settings = previous.fingerprint == fingerprint  # else every key differs: nothing can be taken over
    planner = _Planner(settings, fingerprint, previous.archived if same_settings else {})
    documents: list[Planned] = []
    feeds: dict[str, PlannedFeed] = {}
    for group in groups.members:
        base = group.feed.base
        made = previous.feeds.get(base) if same_settings else None
        if made is None or made.group is not group:
            made = _plan_feed(planner, group, made)
        else:
            planner.archived.update(made.archived)
        feeds[base] = made
        documents.extend(made.documents)
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
    keys, archives = _by_path(feeds, jekyll, previous if same_settings else NO_PLAN)
    return Plan(tuple(documents), planner.archived, subscribed, fingerprint, feeds, tuple(jekyll), keys, archives)


# Beyond this share of the feeds changed, the path maps are merged anew from every feed's part.
_PATCH_FEEDS_SHARE = 0.25


def _by_path(
    feeds: Mapping[str, PlannedFeed], jekyll: list[Planned], previous: Plan
) -> tuple[dict[str, str], dict[str, Planned]]:
    """The plan's keys and archive pages by path: the previous plan's copied (at C speed) and patched where feeds'
    parts changed, or merged from every part when many did (or there is nothing to start from, or jekyll-feed's
    documents, whose paths may be any, are part of the plan)."""
    old_feeds = previous.feeds
    changed = [base for base, made in feeds.items() if old_feeds.get(base) is not made]
    gone = [base for base in old_feeds if base not in feeds]
    if not old_feeds or jekyll or previous.jekyll or len(changed) + len(gone) > max(1, _PATCH_FEEDS_SHARE * len(feeds)):
        keys: dict[str, str] = {}
        archives: dict[str, Planned] = {}
        for made in feeds.values():
            keys.update(made.keys)
            archives.update(made.archives)
        keys.update((planned.path, planned.key) for planned in jekyll)
        return keys, archives
    keys, archives = dict(previous.keys), dict(previous.archives)
    for base in (*changed, *gone):
        old = old_feeds.get(base)
        if old is None:
            continue
        new = feeds.get(base)
        for path in old.keys.keys() - new.keys.keys() if new is not None else old.keys:
            del keys[path]
        for path in old.archives.keys() - new.archives.keys() if new is not None else old.archives:
            del archives[path]
    for base in changed:
        keys.update(feeds[base].keys)
        archives.update(feeds[base].archives)
    return keys, archives


def _plan_feed(planner: _Planner, group: Group, old: PlannedFeed | None = None) -> PlannedFeed:
    """The feed's part of the plan; ``old``: its part in the previous plan (same settings), whose oldest archive
    pages are taken over without a look where the feed still holds the very same oldest posts (see _kept_pages)."""
    per_page = len(FEED_FORMATS)
    kept = _kept_pages(planner, group, old) if old is not None else 0
    made = planner.pages(group.feed, group.posts, kept + 1)  # type: ignore[arg-type]
    subscription = made[0][0]
    fresh = [planned for _page, formats in made for planned in formats]
    new_archives = fresh[per_page:]
    if old is None or not kept:
        documents = fresh
        archived = [(page.path, planner.archived[page.path]) for page, _ in made[1:]]
        keys = {planned.path: planned.key for planned in documents}
        archives = {planned.path: planned for planned in new_archives}
    else:
        # The old part's dictionaries copied (at C speed) and patched: the pages after the kept ones, old and new.
        taken = old.archived[:kept]
        planner.archived.update(taken)
        documents = [*fresh[:per_page], *old.documents[per_page : per_page * (kept + 1)], *new_archives]
        archived = [*taken, *((page.path, planner.archived[page.path]) for page, _ in made[1:])]
        keys, archives = dict(old.keys), dict(old.archives)
        for planned in old.documents[per_page * (kept + 1) :]:
            del keys[planned.path], archives[planned.path]
        keys.update((planned.path, planned.key) for planned in fresh)
        archives.update((planned.path, planned) for planned in new_archives)
    return PlannedFeed(
        group,
        tuple(documents),
        tuple(archived),
        frozenset(e.post.digest for e in subscription.entries),
        keys,
        archives,
        None if old is None else weakref.ref(old),
        frozenset()
        if old is None
        else frozenset((*(p.path for p in new_archives), *(p.path for p in old.documents[per_page * (kept + 1) :]))),
    )


def _kept_pages(planner: _Planner, group: Group, old: PlannedFeed) -> int:
    """How many of the feed's oldest archive pages are the old part's as they were: those made only of the oldest
    posts that both hold as the very same objects at the same places from the oldest end (so a new post costs the
    newest pages of its feeds, not a walk over every page of the site-wide feed), with the same title."""
    if not old.archived or old.documents[0].page.title != feed_title(planner.settings, group.feed):
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
    return min(common // limit, len(old.archived), pages)
