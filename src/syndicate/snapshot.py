"""What one build serves, as one :class:`Snapshot`, and how a build's documents are prepared into it.

:class:`Preparer` runs in the build's worker thread, between the build and the swap, so what it does is the delay
between a saved post and a served feed and is kept small:

- feeds and OPML are prepared (identity and gzip) before the swap; brotli for large ones is added after it, for the
  feeds clients read (see ``completion``);
- unchanged documents keep the representations the last snapshot prepared for them;
- RFC 5005 archive pages, most of a large site's documents and rarely read, are left as documents, prepared on
  request (see ``FeedService.resource``); a server's builds do not even render them (``on_request``: their plans,
  rendered on request, see ``archives`` and ``archivefiles``).

Every served path is stamped with when its bytes were published (``lastmodified``): the Last-Modified header. The
stamps are taken from the service's clock at the swap, and kept in the parse cache so a restart keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from syndicate._html import CONTENT_SECURITY_POLICY
from syndicate._html import MEDIA_TYPE as PAGE_MEDIA_TYPE
from syndicate.cache import ParseCache
from syndicate.config import Settings
from syndicate.documents import Document
from syndicate.groups import ARCHIVE_DIR, EMPTY, FeedInfo, Groups
from syndicate.lastmodified import Stamp, restamp, seconds
from syndicate.pages import INDEX, index_document
from syndicate.polling import feed_schedules, max_age_of
from syndicate.records import Rejection
from syndicate.responses import ENCODINGS, GZIP, CachePolicy, Header, Resource, build_resource

if TYPE_CHECKING:
    from syndicate.builder import FeedSet
    from syndicate.plan import Planned, PlannedFeed

# Larger documents get brotli after the swap: compressing every large feed a new post changes would delay the swap
# (figures in docs/benchmarks.md, "Figures behind design choices in the code").
EAGER_BROTLI_BYTES = 32 * 1024
_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"


class OnRequest(Protocol):
    """Archive pages not rendered yet, by path, each made when looked up: a build's ``plan.ArchiveDocuments``."""

    def __contains__(self, path: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def get(self, path: str, /) -> Planned | None: ...
    def key_of(self, path: str, /) -> str | None: ...


class _NoPages:
    """No archive pages: a snapshot not made from a build's plan (a resumed start's, which does not import it)."""

    def __contains__(self, path: object, /) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def get(self, path: str, /) -> Planned | None:
        return None

    def key_of(self, path: str, /) -> str | None:
        return None


NO_PAGES: OnRequest = _NoPages()


@dataclass(frozen=True)
class Snapshot:
    """Everything one build serves, replaced as a whole.

    The one change made in place: a resource in ``resources`` may be replaced by the same bytes with more
    encodings (see ``completion.Completer``).
    """

    generation: int
    resources: dict[str, Resource]  # Document.path -> prepared representations (feeds, OPML)
    index: Resource  # the HTML index page
    feeds: tuple[FeedInfo, ...]
    rejected: tuple[Rejection, ...]
    posts: int
    built_at: datetime
    archives: Mapping[str, Document] = field(default_factory=dict)  # archive pages, prepared on request
    stamps: Mapping[str, Stamp] = field(default_factory=dict)  # every path's Last-Modified record, the index's too
    groups: Groups = EMPTY  # the feeds' posts, to resolve a feed's name as a reader wrote it
    pages: Mapping[str, str] = field(default_factory=dict)  # a feed document's path -> its page's (feedpages.py)
    # Archive pages not rendered yet, by path: each made (from the groups' posts) when looked up.
    on_request: OnRequest = NO_PAGES
    # Made from the last build's files before this process built (resume.py): it holds the subscription documents
    # only, so what needs the posts (archive pages, names as written, queries) waits for the first build.
    resumed: bool = False
    # A resumed snapshot holds neither the feeds nor the archive pages planned: how many the last build had.
    resumed_counts: tuple[int, int] = (0, 0)
    # The summary store's generations the posts of ``groups`` and ``on_request`` keep their text in (FeedSet.texts):
    # held so that the pages made from them on request read it, however many builds (and compactions) come meanwhile.
    texts: tuple[object, ...] = field(default=(), repr=False, compare=False)

    def __contains__(self, path: object) -> bool:
        return path in self.resources or path in self.archives or path in self.on_request

    @property
    def documents(self) -> int:
        return len(self.resources) + len(self.archives) + len(self.on_request) + self.resumed_counts[1]

    @property
    def feed_count(self) -> int:
        return self.resumed_counts[0] if self.resumed else len(self.feeds)


class Preparer:
    """Turns each build's feed set into the next :class:`Snapshot`, stamping what changed. One build at a time.

    ``stamps``: where the Last-Modified records are kept across restarts (None: only in memory).
    """

    def __init__(
        self, settings: Settings, policy: CachePolicy, clock: Callable[[], datetime], stamps: ParseCache | None
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.clock = clock
        self._stamp_store = stamps
        self._stamps: Mapping[str, Stamp] | None = None  # the last snapshot's; None until loaded from the store
        self._generation = 0
        self._pages: Mapping[str, str] = {}
        self._negotiated: frozenset[str] = frozenset()
        self._compressors = ThreadPoolExecutor(max_workers=2, thread_name_prefix="syndicate-compress")
        # The last snapshot's planned feeds (None: none yet, or its archive pages were not all from them), the paths
        # of its documents, and those of its archive pages whose stamps restamp() may yet change though their key
        # does not (see _stamp_on_request).
        self._feeds: Mapping[str, PlannedFeed] | None = None
        self._paths: Set[str] = frozenset()
        self._ambiguous: set[str] = set()

    def prepare_snapshot(self, feedset: FeedSet, previous: Snapshot | None) -> Snapshot:
        """The snapshot serving ``feedset``, reusing what ``previous`` (the one served now) prepared."""
        # A build's modules, loaded by the build that gave ``feedset``: a resumed start serves without them.
        from syndicate.feedpages import html_paths
        from syndicate.jekyllfeed import SUFFIX as JEKYLL_SUFFIX

        documents = feedset.documents
        old_resources = previous.resources if previous is not None else {}
        cache = self._stamp_store
        if self._stamps is None:
            self._stamps = cache.load_stamps() if cache is not None else {}
        old_stamps = self._stamps
        now = seconds(self.clock())  # this build's publication time: Last-Modified of what it changes
        # Archive pages not rendered yet keep the stamps of the feeds no change touched (see _stamp_on_request):
        # when the last snapshot's are known, this one starts from its stamps.
        on_request = feedset.on_request
        whole = bool(on_request)  # they are the plan's feeds' archive pages (Plan.archives)
        carry = whole and self._feeds is not None
        stamps: dict[str, Stamp] = dict(old_stamps) if carry else {}
        restamped: dict[str, Stamp] = {}
        resources: dict[str, Resource] = {}
        archives: dict[str, Document] = {}
        changed: list[Document] = []
        for path, document in documents.items():
            stamp = old_stamps.get(path)
            # The cases in which restamp() returns a new stamp, tested inline: this runs for every document.
            if stamp is None or stamp.digest != document.digest or stamp.valid_from != stamp.modified:
                stamp = restamped[path] = restamp(stamp, document.digest, now)
            stamps[path] = stamp
            if path.startswith(_ARCHIVE_PREFIX):
                archives[path] = document
                continue
            old = old_resources.get(path)
            # Unchanged bytes keep their prepared (compressed) representations: incremental swaps are cheap. (An
            # unchanged stamp is the very object the old resource was prepared with.)
            if old is not None and old.digest == document.digest and old.stamp is stamp:
                resources[path] = old
            else:
                changed.append(document)
        gone, ambiguous = self._stamp_on_request(feedset, carry, _Stamping(old_stamps, stamps, restamped, now))
        # Feeds with a page for people (feedpages.py) are served that page when a browser asks (app.py): both
        # representations of their address then vary on Accept.
        # jekyll-feed's documents (/feed.xml, the address a Jekyll site's readers know) too: the page of their feed.
        jekyll = (
            ((p.path, p.page.feed) for p in feedset.plan.documents if p.fmt == JEKYLL_SUFFIX)
            if self.settings.jekyll is not None
            else ()
        )
        self._pages = {feed: page for feed, page in html_paths(feedset.feeds, jekyll).items() if page in documents}
        self._negotiated = frozenset(self._pages).union(self._pages.values())
        # Brotli for large feeds is deferred to the feeds clients read (completion.py), the first build's too: it
        # was a quarter of a warm start's time until every feed answered (docs/benchmarks.md), for feeds that a
        # site behind nginx may never serve from here.
        prepare = self.prepare
        changed_stamps = [stamps[d.path] for d in changed]
        # Each feed's Cache-Control max-age fits how often it changes (polling); other documents get the longest.
        schedules = feed_schedules(self.settings, feedset.groups) if changed else {}
        longest = self.policy.max_age
        changed_ages = [max_age_of(schedules, d.path, longest) for d in changed]
        # gzip made by an earlier process for the same bytes (most of a restart's time was compressing the feeds).
        known = cache.get_gzipped(d.digest for d in changed) if cache is not None else {}
        known_gzip = [known.get(d.digest) for d in changed]
        # zlib releases the GIL while it compresses, so two threads shorten the swap on a multi-core machine.
        prepared = (
            self._compressors.map(prepare, changed, changed_stamps, changed_ages, known_gzip)
            if len(changed) > 1
            else map(prepare, changed, changed_stamps, changed_ages, known_gzip)
        )
        fresh_gzip: dict[str, bytes] = {}
        for resource in prepared:
            resources[resource.path] = resource
            gz = resource.representations.get(GZIP)
            if gz is not None and resource.digest not in known:
                fresh_gzip[resource.digest] = gz.body
        index = resources.get(INDEX)
        if index is None:  # a feed set made without its pages (tests of other parts): an index page all the same
            index_doc = index_document(self.settings, feedset.feeds, feedset.posts)
            index_stamp = stamps[INDEX] = restamp(old_stamps.get(INDEX), index_doc.digest, now)
            index = self._prepare(index_doc, index_stamp)
        # Paths no longer published lose their record (one published again is stamped as new). Some were removed
        # when fewer of the old paths are left than there were.
        published = documents.keys() | ({INDEX} if INDEX in stamps else set())
        if carry:
            removed = gone | (self._paths - published - on_request.keys())
            for path in removed:
                stamps.pop(path, None)
        else:
            added = sum(1 for path in restamped if path not in old_stamps)
            removed = old_stamps.keys() - stamps.keys() if len(stamps) - added < len(old_stamps) else set()
        if cache is not None:
            cache.save_stamps(restamped, removed)
            if fresh_gzip or removed or previous is None:
                cache.keep_gzipped(fresh_gzip, {r.digest for r in resources.values()})
        # What the next snapshot starts from, kept only once this one is made.
        self._stamps, self._paths, self._ambiguous = stamps, published, ambiguous
        self._feeds = feedset.plan.feeds if whole else None
        self._generation += 1
        return Snapshot(
            generation=self._generation,
            resources=resources,
            index=index,
            feeds=feedset.feeds,
            rejected=feedset.rejected,
            posts=len(feedset.posts),
            built_at=datetime.now(UTC),
            archives=archives,
            stamps=stamps,
            groups=feedset.groups,
            pages=self._pages,
            on_request=feedset.on_request,
            texts=feedset.texts,
        )

    def adopt(self, stamps: Mapping[str, Stamp], pages: Mapping[str, str]) -> int:
        """Go on from a snapshot made without a build (resume.py): ``stamps`` holds every path's record as it is
        served, ``pages`` the feeds' pages for people. Returns that snapshot's generation."""
        self._stamps = stamps
        self._pages = pages
        self._negotiated = frozenset(pages).union(pages.values())
        # No plan stands behind these stamps: the next build stamps every path (no carry from a last plan).
        self._feeds = None
        self._ambiguous = set()
        self._generation += 1
        return self._generation

    def _stamp_on_request(
        self,
        feedset: FeedSet,
        carry: bool,
        stamping: _Stamping,
    ) -> tuple[set[str], set[str]]:
        """Stamp the archive pages not rendered yet into ``stamping.stamps``. Returns, with ``carry`` (those stamps hold
        the last snapshot's, whose archive pages were all its planned feeds'), its pages no longer published; and the
        pages whose stamps are ambiguous.

        Pages not rendered yet are stamped by their key: equal keys mean equal bytes, and a changed key (maybe other
        bytes) publishes the page anew. They are most of a large site's paths and a new post changes the newest pages
        of a few feeds: only the pages whose planned entries changed since the last snapshot's plan
        (``plan.changed_archives``), and those whose stamps restamp() would change anyway (ambiguous ones,
        ``valid_from != modified``), are looked at: the stamps come out as if every page had been."""
        on_request = feedset.on_request
        old_feeds = self._feeds
        if not carry or old_feeds is None:
            for path, key in on_request.key_items():
                stamping.page(path, key)
            return set(), stamping.ambiguous(on_request)
        from syndicate.plan import changed_archives  # a build's module, loaded by the build that gave ``feedset``

        changed = changed_archives(feedset.plan.feeds, old_feeds)
        gone = {path for path in changed if path not in on_request}
        looked = [*(self._ambiguous - gone), *(path for path in changed if path in on_request)]
        for path in looked:
            planned = on_request.key_of(path)
            assert planned is not None  # looked at: those still published
            stamping.page(path, planned)
        return gone, stamping.ambiguous(looked)

    def prepare(
        self,
        document: Document,
        stamp: Stamp | None = None,
        max_age: int | None = None,
        gzipped: bytes | None = None,
    ) -> Resource:
        """Representations made before a rebuild's swap: all for small documents, identity and gzip for large.
        ``gzipped``: the gzip representation an earlier process made of the same bytes."""
        if len(document.body) > EAGER_BROTLI_BYTES:
            return self._prepare(document, stamp, max_age, encodings=(GZIP,), gzipped=gzipped)
        return self._prepare(document, stamp, max_age, gzipped=gzipped)

    def prepare_all(self, document: Document, stamp: Stamp | None = None, max_age: int | None = None) -> Resource:
        return self._prepare(document, stamp, max_age)

    def _prepare(
        self,
        document: Document,
        stamp: Stamp | None,
        max_age: int | None = None,
        encodings: tuple[str, ...] = ENCODINGS,
        gzipped: bytes | None = None,
    ) -> Resource:
        """``document``'s resource: a page for people carries its Content-Security-Policy, a negotiated address
        varies on Accept (RFC 9110 §12.5.5: a cache must not hand the page to a reader or the feed to a browser)."""
        extra: list[Header] = []
        if document.media_type == PAGE_MEDIA_TYPE:
            extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")))
        vary = b"Accept, Accept-Encoding" if document.path in self._negotiated else b"Accept-Encoding"
        return build_resource(
            document,
            self.policy,
            stamp=stamp,
            encodings=encodings,
            extra_headers=extra,
            vary=vary,
            max_age=max_age,
            gzipped=gzipped,
        )

    def close(self) -> None:
        self._compressors.shutdown(wait=False)


@dataclass(frozen=True)
class _Stamping:
    """The stamps of a snapshot being made: the last snapshot's (``old``), this one's, those that changed, and the
    time this build publishes what it changes."""

    old: Mapping[str, Stamp]
    stamps: dict[str, Stamp]
    restamped: dict[str, Stamp]
    now: int

    def page(self, path: str, key: str) -> None:
        """Stamp an archive page not rendered yet: the cases in which restamp() returns a new stamp, as for documents,
        with the page's key for the digest."""
        stamp = self.old.get(path)
        if stamp is None or stamp.digest != key or stamp.valid_from != stamp.modified:
            stamp = self.restamped[path] = restamp(stamp, key, self.now)
        self.stamps[path] = stamp

    def ambiguous(self, paths: Iterable[str]) -> set[str]:
        """Those of ``paths`` whose stamps restamp() may yet change though their key does not."""
        return {p for p in paths if self.stamps[p].valid_from != self.stamps[p].modified}
