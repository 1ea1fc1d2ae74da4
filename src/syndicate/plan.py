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
from collections.abc import Mapping
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
    """An archive page as last planned: its posts, the page, and the page in each format with its key (taken over
    with it)."""

    posts: tuple[Post, ...]
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


@dataclass(frozen=True)
class Plan:
    documents: tuple[Planned, ...]  # every feed's pages, subscription page first, in every format
    archived: Mapping[str, Archived]  # archive pages by path (without suffix): what the next plan may take over
    subscribed: frozenset[str]  # file hashes of the posts in subscription pages (whose full content is rendered)
    fingerprint: str = ""  # the settings' fingerprint the plan was made with
    feeds: Mapping[str, PlannedFeed] = field(default_factory=dict, repr=False)  # by feed base (FeedInfo.base)
    jekyll: tuple[Planned, ...] = ()  # jekyll-feed's documents (the last of ``documents``)

    # Made from the feeds' parts (dictionaries merged at C speed), not from a loop over every document: at 100k posts
    # a plan has about 85k documents, and a new post changes a few.
    @property
    def keys(self) -> dict[str, str]:
        """Every document's key by path."""
        keys: dict[str, str] = {}
        for made in self.feeds.values():
            keys.update(made.keys)
        keys.update((planned.path, planned.key) for planned in self.jekyll)
        return keys

    @property
    def subscriptions(self) -> tuple[Planned, ...]:
        """The documents that are not archive pages: each feed's subscription page in every format, and
        jekyll-feed's documents."""
        per_feed = len(FEED_FORMATS)
        return (*(d for made in self.feeds.values() for d in made.documents[:per_feed]), *self.jekyll)

    @property
    def archives(self) -> dict[str, Planned]:
        """The archive pages' documents by path."""
        archives: dict[str, Planned] = {}
        for made in self.feeds.values():
            archives.update(made.archives)
        return archives

    @property
    def jekyll_feeds(self) -> tuple[tuple[str, str], ...]:
        """A Jekyll site's jekyll-feed documents: (path, title) each (jekyllfeed.py)."""
        return tuple((p.path, p.page.title) for p in self.jekyll)


NO_PLAN = Plan((), {}, frozenset())


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

    def pages(self, feed: FeedInfo, posts: tuple[Post, ...] | list[Post]) -> list[tuple[Page, tuple[Planned, ...]]]:
        """The feed's pages, each in every format with its key. A full archive page whose posts are the same objects
        as in the previous plan is taken over with its keys, so a small change costs the subscription pages, not
        every archive page."""
        title = feed_title(self.settings, feed)
        base = feed.base
        current, archives = paginate(feed, posts, self.settings.limit)
        archive_base = feed.archive_base()
        page = Page(
            feed=feed,
            title=title,
            entries=tuple(self.entry(p) for p in current),
            path=base,
            current=base,
            prev_archive=f"{archive_base}/{archives[-1][0]}" if archives else None,
        )
        pages = [(page, _each_format(page, page_keys(self.fingerprint, page)))]
        for number, chunk in archives:
            path = f"{archive_base}/{number}"
            old = self.previous.get(path)
            # Tuples of the same Post objects compare by identity, element by element: cheap.
            if old is not None and old.posts == chunk and old.page.title == title and old.page.current == base:
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
                archived = Archived(chunk, page, _each_format(page, page_keys(self.fingerprint, page)))
            self.archived[path] = archived
            pages.append((archived.page, archived.planned))
        return pages


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
            made = _plan_feed(planner, group)
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
    return Plan(tuple(documents), planner.archived, subscribed, fingerprint, feeds, tuple(jekyll))


def _plan_feed(planner: _Planner, group: Group) -> PlannedFeed:
    documents: list[Planned] = []
    archived: list[tuple[str, Archived]] = []
    for page, planned in planner.pages(group.feed, group.posts):  # type: ignore[arg-type]
        documents.extend(planned)
        if page.archive:
            archived.append((page.path, planner.archived[page.path]))
    subscription = documents[0].page
    # Each path made once, for both mappings (a million posts' feeds have a few hundred thousand pages).
    paths = [planned.path for planned in documents]
    per_feed = len(FEED_FORMATS)
    return PlannedFeed(
        group,
        tuple(documents),
        tuple(archived),
        frozenset(e.post.digest for e in subscription.entries),
        {path: planned.key for path, planned in zip(paths, documents, strict=True)},
        dict(zip(paths[per_feed:], documents[per_feed:], strict=True)),
    )
