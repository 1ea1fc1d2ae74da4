"""The build: from a directory of posts to a complete, consistent set of feed documents.

``Builder`` keeps the parsed metadata of every post in memory (never bodies) and the last good set of documents.
A build re-reads only files whose size or mtime changed (a partial build only the paths it is given), groups posts
into the site-wide, per-category and per-tag feeds, and renders only the documents whose inputs changed: each
document has a key hashed from everything that goes into it (settings, page position, each entry's file hash), so an
unchanged feed is neither rendered nor written again, and its bytes (and HTTP ETag) stay the same across rebuilds and
restarts. Rendered content and documents are kept in the SQLite parse cache (documents written to the output
directory by their digest only: their bytes are read back from the files), so a warm start renders nothing.

RFC 5005 archive pages are most of a large site's documents. They are rendered oldest first across all feeds, so a
post's entry, rendered once per format, serves its pages in every feed from a bounded memo; each page is staged to a
temporary file as soon as it is rendered and then dropped from memory. A build from a single-threaded process (the
command line) hands them to forked workers, one contiguous run of pages (every format) each.

A build either completes and swaps in a new snapshot, or raises ``BuildError`` and leaves the previous snapshot (and
files on disk) untouched.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import hashlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import urlencode

from syndicate import summaries
from syndicate.attribution import compile_patterns
from syndicate.cache import CachedPost, ParseCache
from syndicate.config import ConfigError, Settings, settings_fingerprint
from syndicate.content import render_body
from syndicate.documents import Document, FeedInfo, FeedKind, digest_of
from syndicate.feeds import Entry, Page, entry_fragment, feed_title, paginate, render_page
from syndicate.formats import FEED_FORMATS, FORMATS
from syndicate.lastbuild import RECORD_KEY, LastBuild, ScanSignature, manifest_digest
from syndicate.opml import render_opml
from syndicate.posts import (
    MAX_BODY,
    Post,
    PostError,
    Rejection,
    parse_post,
    read_body,
)
from syndicate.scan import is_post_name, scan_post_files
from syndicate.store import (
    Staging,
    StoreError,
    missing_files,
    read_manifest,
    remove_temporaries,
    write_documents,
)
from syndicate.terms import slugify

log = logging.getLogger("syndicate.build")
_A = TypeVar("_A")
_R = TypeVar("_R")

# Below this many files to parse, a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 500
_PARALLEL_RENDER_THRESHOLD = 100
_SUMMARIES_KEPT_IN = "cannot keep post summaries out of memory (%s); keeping them in memory"
_PARALLEL_ARCHIVE_THRESHOLD = 300  # archive documents to render before forking workers for them pays


class BuildError(Exception):
    """A build that could not complete; the previous feeds stay in place. The message is for people."""


@dataclass(frozen=True)
class BuildReport:
    full: bool
    posts: int  # posts published in feeds
    feeds: int  # feeds (site-wide + categories + tags)
    rejected: tuple[Rejection, ...]
    written: frozenset[str]  # document paths whose bytes changed
    removed: frozenset[str]
    duration: float
    parsed: int = 0  # files read and parsed in this build (the rest came from the cache)
    deferred: frozenset[str] = field(default_factory=frozenset)  # files still being written; build again later
    notes: tuple[tuple[str, str], ...] = ()  # (path, note) for posts published with a remark


def _is_being_written(fd: int) -> bool:
    """Whether another process has the file open for writing (Linux: a read lease is refused with EAGAIN).

    A post saved in place by a slow writer would otherwise be published half-written; such a file is deferred and
    tried again. Where leases are not permitted (not the file's owner), we cannot tell, and say no.
    """
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return False
    try:
        # A writer opening the file while we hold the lease makes the kernel signal us, by default with SIGIO, whose
        # default action ends the process: a post saved at that instant would kill the server. SIGURG, which is
        # ignored by default, carries the notice instead.
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
    fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
    return False


class _Deferred(Exception):
    pass


def _read_file(path: str | Path) -> tuple[bytes, os.stat_result]:
    """Read a file whole; raise _Deferred if it is open for writing or changed while being read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _is_being_written(fd):
            raise _Deferred
        before = os.fstat(fd)
        # Ask for one byte more than the file holds: one read returns it all, and coming back short shows the end
        # (a regular file reads short only there). A fixed large buffer would cost an allocation of that size per
        # read, several times the read itself for a 4 KB post.
        wanted = before.st_size + 1
        chunks = []
        while True:
            chunk = os.read(fd, wanted)
            chunks.append(chunk)
            if len(chunk) < wanted:
                break
            wanted = 1 << 16  # it grew since fstat: read on (the fstat below defers it)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise _Deferred
    return b"".join(chunks), after


def _parse_one(
    path: str | Path, rel: str, settings: Settings, patterns: Sequence[object], known: CachedPost | None
) -> CachedPost | None:
    """Read and parse one file (or reuse ``known`` when its bytes are unchanged); None if deferred."""
    try:
        data, st = _read_file(path)
    except _Deferred:
        return None
    except OSError as exc:
        reason = f"cannot read the file: {exc.strerror or exc}"
        return CachedPost(0, 0, "", Rejection(rel, reason))
    digest = digest_of(data)  # a post file's bytes are hashed like a document's
    if known is not None and known.digest == digest:
        return CachedPost(st.st_size, st.st_mtime_ns, digest, known.record)
    record = parse_post(data, rel, settings, patterns, digest)  # type: ignore[arg-type]
    return CachedPost(st.st_size, st.st_mtime_ns, digest, record)


def _entry_memo_room(feeds: int, limit: int) -> int:
    """Archive entries kept for reuse. While one archive page is rendered, at most one page per feed is still to
    come that shares its posts, each of ``limit`` posts, per format; twice that leaves slack."""
    return max(1024, 2 * feeds * limit * len(FEED_FORMATS))


def _parse_batch(
    args: tuple[Settings, list[tuple[str, str]], int | None],
) -> list[tuple[str, CachedPost | None]]:
    """Process-pool worker: parse a batch of (absolute path, relative path). With a region of the summary store
    (``summaries.reserve``), the posts' summaries are written there and the posts carry only where they are."""
    settings, batch, region = args
    patterns = compile_patterns(settings.attribution_patterns)
    # Equal values shared here travel once per batch (pickle sends an object it has already sent as a reference),
    # so this process never allocates, and frees, a copy per post: that would leave the freed copies as holes in
    # memory that the 100k-post build could not give back.
    shared: dict[object, object] = {}
    writer = summaries.Writer(region) if region is not None else None
    stored: list[tuple[Post, int]] = []
    results = []
    for p, rel in batch:
        cached = _parse_one(p, rel, settings, patterns, None)
        if cached is not None:
            _share(cached, shared)
            post = cached.record
            if writer is not None and isinstance(post, Post) and post.summary:
                stored.append((post, writer.add(post.summary)))
        results.append((rel, cached))
    if writer is not None:
        try:
            writer.flush()
        except OSError as exc:  # the temporary directory is full, say: the summaries stay in memory
            log.warning(_SUMMARIES_KEPT_IN, exc)
            stored = []
    for post, at in stored:
        object.__setattr__(post, "summary_at", at)
        object.__setattr__(post, "summary", "")
    return results


def _render_content(settings: Settings, path: str, url: str) -> str | None:
    """Cleaned HTML of one post's body; None when the summary must stand in."""
    try:
        body = read_body(settings.posts / path)
    except (OSError, PostError):
        return None  # gone or broken since it was parsed: the summary stands in; the next build catches up
    if len(body) > MAX_BODY:
        return None  # the summary stands in (the post carries a note saying so)
    html = render_body(body, page_url=url, site_url=settings.site_url)
    return html if len(html) <= MAX_BODY else None


def _render_batch(args: tuple[Settings, list[tuple[str, str, str]]]) -> list[tuple[str, str | None]]:
    """Process-pool worker: render a batch of (digest, path, url)."""
    settings, batch = args
    return [(digest, _render_content(settings, path, url)) for digest, path, url in batch]


def _process_pool(workers: int) -> ProcessPoolExecutor:
    # fork is cheapest, but only safe while this is the only thread: the server builds in a worker thread while its
    # event loop runs, and forking a threaded process can copy a lock held by another thread into the child. Then a
    # fork server (started once, single-threaded) forks the workers instead.
    if threading.active_count() == 1:
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["syndicate.builder"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context)


def _in_parallel(function: Callable[[_A], list[_R]], batches: list[_A], done: Callable[[int], None]) -> list[_R]:
    """Run ``function`` over ``batches`` in worker processes (serially, here, if the pool cannot be used).

    A pool can fail for reasons that have nothing to do with the posts (no /dev/shm, a process limit, a main module
    that cannot be re-imported): the build then goes on in this process rather than failing.
    """
    results: list[_R] = []
    try:
        with _process_pool(_workers()) as pool:
            for batch in pool.map(function, batches):
                results.extend(batch)
                done(len(results))
    except (BrokenProcessPool, OSError) as exc:
        log.warning("worker processes unavailable (%s); continuing in one process", exc)
        return [item for batch in batches for item in function(batch)]
    return results


# What forked archive workers inherit: set by Builder._start_archive_workers just before the fork, so the pages (and
# the posts they hold) are not pickled to the workers.
_ARCHIVE_JOB: tuple[Builder, list[tuple[Page, str, str]], int] | None = None


def _stage_archive_pages(indices: list[int]) -> list[tuple[str, str, str | None]]:
    """Forked worker: render and stage the inherited job's archive pages at ``indices``."""
    assert _ARCHIVE_JOB is not None, "only in a worker forked by Builder._start_archive_workers"
    builder, archived, feeds = _ARCHIVE_JOB
    return builder._stage_archives([archived[i] for i in indices], feeds)


@dataclass(frozen=True)
class _ArchiveWorkers:
    """Forked workers rendering archive pages (see Builder._start_archive_workers)."""

    pool: ProcessPoolExecutor
    futures: list[Future[list[tuple[str, str, str | None]]]]


def _entry(post: Post, entries: dict[str, Entry]) -> Entry:
    """The post's entry, one object for all the pages that list it (a post is in ~6 pages: 100k posts, 600k)."""
    entry = entries.get(post.path)
    if entry is None or entry.post is not post:
        entry = entries[post.path] = Entry(post, None)
    return entry


def _share(cached: CachedPost, shared: dict[object, object]) -> CachedPost:
    """``cached`` with its post's category and tag lists and publication name replaced by equal ones already held.

    Parsed in worker processes (or read from the cache), every post brings its own copies of the few term lists and
    names a site has; 100k posts would hold 100k copies, ~40 MB.
    """
    post = cached.record
    if isinstance(post, Post):
        for name in ("categories", "tags", "source_name", "author", "site"):
            value = getattr(post, name)
            if value:
                object.__setattr__(post, name, shared.setdefault(value, value))
    return cached


def _nothing() -> None:
    pass


def _oldest_first(pages: list[tuple[Page, str, str]]) -> list[tuple[Page, str, str]]:
    """Archive pages (page, fmt, key) in the order they are rendered: by their oldest post, across feeds."""
    return sorted(pages, key=lambda m: (m[0].entries[0].post.date.timestamp(), m[0].entries[0].post.path, m[0].path))


@lru_cache(maxsize=4096)  # distinct term lists; a miss costs only speed
def _term_slugs(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(slug, name as first written) for each distinct slug among a post's categories (or tags), in order.

    Posts share a handful of term lists, so grouping 10k posts slugs each list once, not each name of each post.
    """
    found: dict[str, str] = {}
    for name in names:
        found.setdefault(slugify(name), name)
    return tuple(found.items())


def _can_fork() -> bool:
    """Whether worker processes may be forked from here: only while this is the only thread (see _process_pool)."""
    return _workers() > 1 and threading.active_count() == 1


def _workers() -> int:
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1), 8)


class _Loader:
    """Bytes of a document kept out of memory: from the output file (when the build writes one) or the cache while
    they still have the same digest, else rendered again (deterministic: the same bytes). A small object rather than
    a closure: a 100k-post site has ~30k of them."""

    __slots__ = ("cache", "digest", "fmt", "key", "page", "settings", "write")

    def __init__(
        self,
        settings: Settings,
        cache: ParseCache | None,
        write: bool,
        page: Page,
        fmt: str,
        key: str,
        digest: str,
    ) -> None:
        self.settings, self.cache, self.write = settings, cache, write
        self.page, self.fmt, self.key, self.digest = page, fmt, key, digest

    def __call__(self) -> bytes:
        if self.write:
            try:
                data = (self.settings.out / f"{self.page.path}.{self.fmt}").read_bytes()
            except OSError:
                data = b""
            if data and digest_of(data) == self.digest:
                return data
        body = self.cache.get_body(self.key) if self.cache is not None else None
        if body is not None:
            return bytes(body)
        page = self.page
        if not page.archive and not self.settings.excerpt_only:
            # A subscription document carries its posts' full content (archive pages carry summaries only): from
            # the cache, else rendered again, as the build did (None where the summary stood in).
            found = self.cache.get_content(e.post.digest for e in page.entries) if self.cache is not None else {}
            entries = []
            for entry in page.entries:
                post = entry.post
                content = (
                    found[post.digest] if post.digest in found else _render_content(self.settings, post.path, post.url)
                )
                entries.append(Entry(post, content))
            page = replace(page, entries=tuple(entries))
        return render_page(self.settings, page, self.fmt).body


@dataclass(frozen=True)
class _Archived:
    """An archive page as last rendered: its posts, the page and its document keys."""

    posts: tuple[Post, ...]
    page: Page
    keys: dict[str, str]


class Builder:
    """Builds feeds from ``settings.posts`` into memory and (when ``write``) into ``settings.out``.

    ``hold``: keep the subscription documents' bytes in memory, for a server answering from them; a one-shot build
    passes False, and those are then loaded on access like archive pages.

    ``build()`` is synchronous and CPU-bound; callers run it in a worker thread. Builds are serialised by a lock;
    ``documents``, ``feeds``, ``rejected`` and ``query()`` read the last complete snapshot and may be called from any
    thread at any time.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        write: bool = True,
        hold: bool = True,
        clock: Callable[[], datetime] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self._progress = progress
        self.write = write
        self.hold = hold
        self._clock = clock or (lambda: datetime.now(UTC))
        try:
            self._patterns = compile_patterns(settings.attribution_patterns)
        except ValueError as exc:
            raise ConfigError(f"setting 'attribution_patterns': {exc}") from None
        self._fingerprint = settings_fingerprint(settings)
        cache_path = settings.cache_path
        self._cache = ParseCache(cache_path, self._fingerprint) if cache_path is not None else None
        self._lock = threading.Lock()
        self._records: dict[str, CachedPost] = {}
        self._loaded_cache = False
        self._root_device: int | None = None
        self._scan_signature = ""  # of the last full scan, for the last-build record
        self._archived: dict[str, _Archived] = {}  # archive pages of the last render, by path (see _pages)
        self._on_disk: dict[str, str] = {}  # the output manifest as the first build found it
        # The snapshot: replaced as a whole at the end of a successful build.
        self._documents: Mapping[str, Document] = MappingProxyType({})
        self._doc_keys: dict[str, str] = {}
        self._feeds: tuple[FeedInfo, ...] = ()
        self._by_slug: dict[tuple[str, str], FeedInfo] = {}
        self._visible: tuple[Post, ...] = ()
        # The last render's visible posts and feed groups, which the next render may reuse (see _regroup).
        self._grouped: tuple[tuple[Post, ...], list[tuple[FeedInfo, list[Post]]]] | None = None
        self._rejected: tuple[Rejection, ...] = ()
        self._notes: tuple[tuple[str, str], ...] = ()
        self._built = False

    # -- snapshot accessors ---------------------------------------------------------------------------------------

    @property
    def documents(self) -> Mapping[str, Document]:
        return self._documents

    @property
    def feeds(self) -> tuple[FeedInfo, ...]:
        return self._feeds

    @property
    def rejected(self) -> tuple[Rejection, ...]:
        return self._rejected

    @property
    def posts(self) -> tuple[Post, ...]:
        """Published posts, newest first."""
        return self._visible

    @property
    def built(self) -> bool:
        return self._built

    @property
    def cache(self) -> ParseCache | None:
        """The parse cache (None when off); the service keeps its Last-Modified records there too."""
        return self._cache

    def resolve(self, kind: str, name: str) -> FeedInfo | None:
        """The feed for a category or tag given by slug, name as written, or a case variant of either."""
        feed = self._by_slug.get((kind, name))
        if feed is None:
            feed = self._by_slug.get((kind, slugify(name)))
        return feed

    # -- building -------------------------------------------------------------------------------------------------

    def build(self, changed: Iterable[Path] | None = None) -> BuildReport:
        """Build all feeds (``changed=None``: rescan the directory) or after changes to the given post paths."""
        with self._lock:
            started = time.perf_counter()
            root = self.settings.posts
            self._check_root(root)
            if not self._loaded_cache:
                if self._cache is not None:
                    shared: dict[object, object] = {}
                    self._records = {rel: _share(c, shared) for rel, c in self._cache.load_posts().items()}
                self._loaded_cache = True
            full = changed is None or not self._built
            records = dict(self._records)
            if full:
                updates, removed_paths, deferred, parsed = self._scan_all(root, records)
            else:
                assert changed is not None
                updates, removed_paths, deferred, parsed = self._scan_some(root, records, changed)
            for rel, cached in updates.items():
                records[rel] = cached
            for rel in removed_paths:
                records.pop(rel, None)
            if self._nothing_changed(records, updates, removed_paths, full):
                # Same bytes in every file and the same posts visible: the documents cannot differ. A rescan of an
                # unchanged site, or a watcher event for a file saved without changes, costs only the scan.
                self._records = records
                if self._cache is not None:
                    self._cache.save_posts(updates.items(), removed_paths)
                return BuildReport(
                    full=full,
                    posts=len(self._visible),
                    feeds=len(self._feeds),
                    rejected=self._rejected,
                    written=frozenset(),
                    removed=frozenset(),
                    duration=time.perf_counter() - started,
                    parsed=parsed,
                    deferred=frozenset(deferred),
                    notes=self._notes,
                )
            staging = self._staging()

            def save_posts() -> None:
                # Parsed posts describe files, not this build: saved even if the build fails later on.
                if self._cache is not None:
                    self._cache.save_posts(updates.items(), removed_paths)

            try:
                documents, keys, feeds, visible, content_digests, conflicts = self._render(records, staging, save_posts)
                written = {p for p, d in documents.items() if p not in self._documents or self._documents[p] != d}
                removed: set[str] = set(self._documents) - set(documents)
                if staging is not None:
                    written, removed = self._write(documents, written, full, staging)
            except BaseException:
                if staging is not None:
                    staging.discard()
                raise
            # Commit the new snapshot; from here on readers see the new build.
            self._records = records
            self._documents = MappingProxyType(documents)
            self._doc_keys = keys
            self._feeds = feeds
            self._by_slug = {}
            for feed in feeds:
                if feed.kind != "all":
                    self._by_slug[(feed.kind, feed.slug)] = feed
                    self._by_slug.setdefault((feed.kind, feed.name), feed)
            self._visible = visible
            rejected = tuple(
                sorted(
                    [*(c.record for c in records.values() if isinstance(c.record, Rejection)), *conflicts],
                    key=lambda r: r.path,
                )
            )
            self._rejected = rejected
            self._built = True
            if self._cache is not None and full:
                self._cache.prune(content_digests, set(keys.values()))
            notes = tuple(
                sorted(
                    (rel, note)
                    for rel, c in records.items()
                    if isinstance(c.record, Post) and c.record.notes
                    for note in c.record.notes
                )
            )
            self._notes = notes
            if full and self.write and self._cache is not None and not deferred:
                self._record_last_build(records, len(feeds), documents, rejected, notes, len(visible))
            report = BuildReport(
                full=full,
                posts=len(visible),
                feeds=len(feeds),
                rejected=rejected,
                written=frozenset(written),
                removed=frozenset(removed),
                duration=time.perf_counter() - started,
                parsed=parsed,
                deferred=frozenset(deferred),
                notes=notes,
            )
            log.info(
                "build full=%s posts=%d rejected=%d feeds=%d parsed=%d written=%d removed=%d deferred=%d seconds=%.3f",
                full,
                report.posts,
                len(rejected),
                report.feeds,
                parsed,
                len(written),
                len(removed),
                len(deferred),
                report.duration,
            )
            return report

    def _record_last_build(
        self,
        records: Mapping[str, CachedPost],
        feeds: int,
        documents: Mapping[str, Document],
        rejected: Sequence[Rejection],
        notes: Sequence[tuple[str, str]],
        posts: int,
    ) -> None:
        """Record this full build for ``lastbuild.unchanged``: a later one-shot build of the same files stops early."""
        assert self._cache is not None
        due = None
        if not self.settings.future:
            # By the precomputed timestamps in ``order``: comparing 10k aware datetimes took ~25 ms a full build.
            now = self._clock().timestamp()
            waiting = [
                c.order[0]
                for c in records.values()
                if c.order[0] > now and isinstance(c.record, Post) and c.record.published
            ]
            due = min(waiting, default=None)
        record = LastBuild(
            scan=self._scan_signature,
            source=str(self.settings.posts.resolve()),
            out=str(self.settings.out.resolve()),
            future=self.settings.future,
            manifest=manifest_digest({path: document.digest for path, document in documents.items()}),
            due=due,
            posts=posts,
            feeds=feeds,
            documents=len(documents),
            rejected=tuple((r.path, r.reason) for r in rejected),
            notes=tuple(notes),
        )
        self._cache.put_meta(RECORD_KEY, record.to_json())

    def _nothing_changed(
        self,
        records: Mapping[str, CachedPost],
        updates: Mapping[str, CachedPost],
        removed_paths: set[str],
        full: bool,
    ) -> bool:
        if not self._built or removed_paths:
            return False
        for rel, cached in updates.items():
            old = self._records.get(rel)
            if old is None or old.digest != cached.digest:
                return False
        if not full:
            return True
        # A full build also restores output files deleted by hand, and time alone can publish a post (a future date
        # that has come): it checks both.
        if self.write and missing_files(self.settings.out, self._documents):
            return False
        return self._visible_posts(records)[0] == self._visible

    def _check_root(self, root: Path) -> None:
        try:
            st = root.stat()
        except OSError as exc:
            raise BuildError(f"posts directory {root} cannot be read: {exc.strerror or exc}") from None
        if not root.is_dir():
            raise BuildError(f"posts directory {root} is not a directory")
        # A posts directory that was a mount point and now sits on its parent's device was unmounted: publishing
        # the empty directory would wipe every feed, so refuse until it is back.
        parent_dev = os.stat(root.resolve().parent).st_dev
        is_mount = st.st_dev != parent_dev
        if self._root_device is None:
            self._root_device = st.st_dev if is_mount else -1
        elif self._root_device != -1 and not is_mount:
            raise BuildError(f"posts directory {root} was a mount point and is no longer mounted")

    def _scan_all(
        self, root: Path, records: dict[str, CachedPost]
    ) -> tuple[dict[str, CachedPost], set[str], set[str], int]:
        updates: dict[str, CachedPost] = {}
        deferred: set[str] = set()
        seen: set[str] = set()
        to_parse: list[tuple[str, str]] = []  # (path, relative path): strings, as 100k Path objects take ~60 MB
        signature = ScanSignature()
        for path, rel, st in scan_post_files(root):
            seen.add(rel)
            signature.add(rel, st)
            known = records.get(rel)
            if known is not None and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns) and known.digest:
                continue
            to_parse.append((path, rel))
        parsed = len(to_parse)
        if parsed >= _PARALLEL_THRESHOLD and _workers() > 1:
            results = self._parse_parallel(to_parse, records)
        else:
            results = []
            for n, (p, rel) in enumerate(to_parse, 1):
                results.append((rel, _parse_one(p, rel, self.settings, self._patterns, records.get(rel))))
                if self._progress is not None and n % 100 == 0:
                    self._progress(n, parsed)
        shared: dict[object, object] = {}
        for rel, cached in results:
            if cached is None:
                deferred.add(rel)
            else:
                updates[rel] = _share(cached, shared)
        removed = set(records) - seen
        self._scan_signature = signature.hexdigest()
        return updates, removed, deferred, parsed

    def _parse_parallel(
        self, to_parse: list[tuple[str, str]], records: dict[str, CachedPost]
    ) -> list[tuple[str, CachedPost | None]]:
        workers = _workers()
        # Small batches: when the files run out, one worker idles for at most the other's last batch.
        size = max(100, len(to_parse) // (workers * 16))
        starts = range(0, len(to_parse), size)
        # A build that holds nothing for serving keeps summaries out of memory (summaries.py): the largest field of a
        # post, needed here only for the few posts in subscription pages.
        first = None
        if not self.hold:
            try:
                first = summaries.reserve(len(starts))
            except OSError as exc:  # no temporary file to be had: they stay in memory
                log.warning(_SUMMARIES_KEPT_IN, exc)
        batches = [
            (self.settings, to_parse[start : start + size], None if first is None else first + n * summaries.REGION)
            for n, start in enumerate(starts)
        ]
        progress = self._progress
        return _in_parallel(
            _parse_batch, batches, lambda n: progress(n, len(to_parse)) if progress is not None else None
        )

    def _scan_some(
        self, root: Path, records: dict[str, CachedPost], changed: Iterable[Path]
    ) -> tuple[dict[str, CachedPost], set[str], set[str], int]:
        updates: dict[str, CachedPost] = {}
        removed: set[str] = set()
        deferred: set[str] = set()
        parsed = 0
        real_root = os.path.realpath(root)
        for path in changed:
            path = path if path.is_absolute() else root / path
            try:
                rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
            except ValueError:
                continue  # not under the posts directory
            if any(part.startswith(".") for part in Path(rel).parts) or not is_post_name(path.name):
                continue
            target = os.path.realpath(path)
            if not os.path.isfile(target) or os.path.commonpath([real_root, target]) != real_root:
                if rel in records:
                    removed.add(rel)
                continue
            parsed += 1
            cached = _parse_one(path, rel, self.settings, self._patterns, records.get(rel))
            if cached is None:
                deferred.add(rel)
            else:
                updates[rel] = cached
        return updates, removed, deferred, parsed

    # -- grouping and rendering -----------------------------------------------------------------------------------

    def _visible_posts(self, records: Mapping[str, CachedPost]) -> tuple[tuple[Post, ...], list[Rejection]]:
        """Published posts, newest first, and a Rejection for each post whose URL another post already has."""
        now = self._clock().timestamp()
        future = self.settings.future
        # An entry's URL is its atom:id, RSS guid and JSON Feed id, which must be unique in a feed (RFC 4287
        # §4.1.1); two files with one permalink (a copy, a symlink, the same slug and date) would give duplicate
        # ids, so the first by path keeps the URL and the others are reported.
        owners: dict[str, CachedPost] = {}
        clashes: dict[str, list[CachedPost]] = {}
        for cached in records.values():
            post = cached.record
            if isinstance(post, Post) and post.published and (future or cached.order[0] <= now):
                owner = owners.setdefault(post.url, cached)
                if owner is not cached:
                    clashes.setdefault(post.url, [owner]).append(cached)
        conflicts: list[Rejection] = []
        for url, same in clashes.items():
            same.sort(key=lambda c: c.record.path)
            owners[url] = same[0]
            for other in same[1:]:
                conflicts.append(
                    Rejection(
                        other.record.path,
                        f"has the same URL as {same[0].record.path} ({url}); "
                        "give one of them another slug, date or permalink",
                    )
                )
        conflicts.sort(key=attrgetter("path"))
        ordered = sorted(owners.values(), key=attrgetter("order"), reverse=True)
        return tuple(c.record for c in ordered), conflicts  # type: ignore[misc]

    def _regroup(self, visible: tuple[Post, ...]) -> tuple[list[tuple[FeedInfo, list[Post]]], tuple[FeedInfo, ...]]:
        """``_group(visible)``, from the last render's groups when only posts' contents changed.

        A feed's posts are the visible posts that have its term, in their order. So when the same paths are visible in
        the same order and every changed post kept its category and tag lists, each feed has the same members in the
        same places: only the changed posts are swapped in, in the feeds they are in. That is the common change (an
        edited post; a rescan with nothing or one file changed), and it spares grouping every post again (~50 ms at
        10k posts, most of a small rebuild). Anything else is grouped anew.
        """
        if self._grouped is None:
            return self._group(visible)
        old_visible, old_groups = self._grouped
        if len(old_visible) != len(visible):
            return self._group(visible)
        swapped: list[tuple[int, Post, Post]] = []
        for i, (old, new) in enumerate(zip(old_visible, visible, strict=True)):
            if old is not new:
                # Term lists are shared objects (_share), so equal lists are usually the same object.
                if old.path != new.path or old.categories != new.categories or old.tags != new.tags:
                    return self._group(visible)
                swapped.append((i, old, new))
        groups = list(old_groups)
        if swapped:
            where: dict[tuple[str, str], int] = {(f.kind, f.slug): n for n, (f, _posts) in enumerate(old_groups)}
            copied: set[int] = set()
            for i, old, new in swapped:
                touched = [(0, i)]  # the site-wide feed lists every visible post, at its place
                for kind, terms in (("category", old.categories), ("tag", old.tags)):
                    touched.extend((where[(kind, slug)], -1) for slug, _name in _term_slugs(terms))
                for n, at in touched:
                    feed, posts = groups[n]
                    if n not in copied:  # the last render's lists stay as they were
                        posts = list(posts)
                        groups[n] = (feed, posts)
                        copied.add(n)
                    if at < 0:
                        at = [p is old for p in posts].index(True)
                    posts[at] = new
        return groups, tuple(g[0] for g in groups)

    def _group(self, visible: Sequence[Post]) -> tuple[list[tuple[FeedInfo, list[Post]]], tuple[FeedInfo, ...]]:
        names = self.settings.display_names
        members: dict[tuple[FeedKind, str], list[Post]] = {}
        first_name: dict[tuple[FeedKind, str], str] = {}
        for post in visible:  # newest first: the newest post's spelling names the feed
            for kind, terms in (("category", post.categories), ("tag", post.tags)):
                for slug, name in _term_slugs(terms):
                    key: tuple[FeedKind, str] = (kind, slug)  # type: ignore[assignment]
                    listed = members.get(key)
                    if listed is None:
                        members[key] = [post]
                        first_name[key] = name
                    else:
                        listed.append(post)
        groups: list[tuple[FeedInfo, list[Post]]] = [
            (FeedInfo("all", self.settings.title, "all", len(visible), self.settings.title), list(visible))
        ]
        for (kind, slug), posts in sorted(members.items()):
            name = first_name[(kind, slug)]
            display = names.get(name) or names.get(slug) or name
            groups.append((FeedInfo(kind, name, slug, len(posts), display), posts))
        return groups, tuple(g[0] for g in groups)

    def _pages(
        self, feed: FeedInfo, posts: Sequence[Post], memo: dict[str, _Archived], entries: dict[str, Entry]
    ) -> list[tuple[Page, dict[str, str]]]:
        """The feed's pages with their keys. A full archive page whose posts are the same objects as in the previous
        build is taken over with its keys, so a small change costs the subscription pages, not every archive page."""
        limit = self.settings.limit
        title = feed_title(self.settings, feed)
        base = feed.path("x")[:-2]
        current, archives = paginate(feed, posts, limit)
        archive_base = f"archive/{base}"
        page = Page(
            feed=feed,
            title=title,
            entries=tuple(_entry(p, entries) for p in current),
            path=base,
            current=base,
            prev_archive=f"{archive_base}/{archives[-1][0]}" if archives else None,
        )
        pages = [(page, self._page_keys(page))]
        for number, chunk in archives:
            path = f"{archive_base}/{number}"
            prev_archive = f"{archive_base}/{number - 1}" if number > 1 else None
            old = self._archived.get(path)
            # Tuples of the same Post objects compare by identity, element by element: cheap.
            if old is not None and old.posts == chunk and old.page.title == title and old.page.current == base:
                archived = old
            else:
                page = Page(
                    feed=feed,
                    title=title,
                    entries=tuple(_entry(p, entries) for p in chunk),
                    path=path,
                    current=base,
                    prev_archive=prev_archive,
                    archive=True,
                )
                archived = _Archived(chunk, page, self._page_keys(page))
            memo[path] = archived
            pages.append((archived.page, archived.keys))
        return pages

    def _page_keys(self, page: Page) -> dict[str, str]:
        """A key per format hashed from everything that goes into the page; equal keys mean equal bytes."""
        h = hashlib.blake2b(digest_size=16)
        h.update(
            f"{self._fingerprint}\0{page.path}\0{page.current}\0{page.prev_archive}\0{page.archive}\0"
            f"{page.title}\0".encode()
        )
        h.update("".join(f"{e.post.path}\0{e.post.digest}\0" for e in page.entries).encode())
        base = h.digest()
        return {fmt: hashlib.blake2b(base + fmt.encode(), digest_size=16).hexdigest() for fmt in FEED_FORMATS}

    def _staging(self) -> Staging | None:
        """Where this build's new files are staged (None: nothing is written)."""
        if not self.write:
            return None
        out = self.settings.out
        if not self._built:
            # First build of this process: temporary files a killed run left behind go before any are made.
            try:
                if out.is_dir() and (left := remove_temporaries(out)):
                    log.warning("removed %d temporary files left in %s by an interrupted build", left, out)
            except OSError as exc:
                raise BuildError(f"cannot clean output directory {out}: {exc.strerror or exc}") from None
            self._on_disk = read_manifest(out)
        return Staging(out)

    def _render(
        self,
        records: Mapping[str, CachedPost],
        staging: Staging | None = None,
        meanwhile: Callable[[], None] = _nothing,
    ) -> tuple[dict[str, Document], dict[str, str], tuple[FeedInfo, ...], tuple[Post, ...], set[str], list[Rejection]]:
        """The documents of a build (and what they were made from). ``meanwhile`` is called once, while worker
        processes render archive pages if they do, else at the end: work for this process that can overlap theirs."""
        visible, conflicts = self._visible_posts(records)
        groups, feeds = self._regroup(visible)
        self._grouped = (visible, groups)
        wanted: list[tuple[Page, str, str]] = []  # (page, fmt, key)
        archived: dict[str, _Archived] = {}
        entries: dict[str, Entry] = {}
        for feed, posts in groups:
            for page, page_keys in self._pages(feed, posts, archived, entries):
                for fmt, key in page_keys.items():
                    wanted.append((page, fmt, key))
        # Only a memo of what these posts give: safe to keep even if this build fails later.
        self._archived = archived

        documents: dict[str, Document] = {}
        keys: dict[str, str] = {}
        missing: list[tuple[Page, str, str]] = []
        for page, fmt, key in wanted:
            path = f"{page.path}.{fmt}"
            keys[path] = key
            if self._doc_keys.get(path) == key and path in self._documents:
                documents[path] = self._documents[path]
            else:
                missing.append((page, fmt, key))
        if missing and self._cache is not None:
            # Documents written to the output directory are known by digest and their bytes read back from their
            # files: archive pages on demand, subscription documents now if they are held in memory. A build that
            # writes no files keeps subscription documents' bytes in the cache.
            digests = self._cache.get_digests(k for _, _, k in missing)
            bodies = self._cache.get_documents(k for page, _, k in missing if not page.archive)
            still: list[tuple[Page, str, str]] = []
            for page, fmt, key in missing:
                path = f"{page.path}.{fmt}"
                digest = digests.get(key)
                if key in bodies:
                    documents[path] = Document(path, bytes(bodies[key]), FORMATS[fmt].media_type, page.updated)
                elif digest is not None and (page.archive or not self.hold):
                    documents[path] = self._kept_out(page, fmt, key, digest)
                elif digest is not None and (data := self._output_file(path, digest)) is not None:
                    documents[path] = Document(path, data, FORMATS[fmt].media_type, page.updated, digest)
                else:
                    still.append((page, fmt, key))
            missing = still

        content_digests = {
            p.digest for page, _, _ in wanted if not page.archive for p in (e.post for e in page.entries)
        }
        if missing:
            need = {e.post.digest: e.post for page, _, _ in missing if not page.archive for e in page.entries}
            contents = {} if self.settings.excerpt_only else self._contents(need)
            fresh: dict[str, tuple[str, bytes]] = {}
            known: dict[str, str] = {}  # documents written to the output directory: key -> digest

            fresh_bytes = 0

            def take(page: Page, fmt: str, key: str, parts: list[bytes]) -> None:
                nonlocal fresh, fresh_bytes
                doc = render_page(self.settings, page, fmt, parts)
                if page.archive and staging is not None:
                    # Staged for writing now and dropped: the bytes come back from the output file when the page is
                    # requested, and the cache keeps only their digest.
                    if doc.digest != self._previous_digest(doc.path):
                        staging.stage(doc.path, doc.body, doc.digest)
                    known[key] = doc.digest
                    documents[doc.path] = self._kept_out(page, fmt, key, doc.digest)
                    return
                if staging is not None and not self.hold:
                    # A build nothing will serve from memory: staged now, and its bytes kept only in the output file.
                    if doc.digest != self._previous_digest(doc.path):
                        staging.stage(doc.path, doc.body, doc.digest)
                if staging is not None:
                    # Its bytes will be in the output file, which the next process reads back (checked by digest):
                    # the cache keeps only the digest (the bytes of a 10k-post site's subscription documents are
                    # ~40 MB, most of what a cold build wrote into the cache).
                    known[key] = doc.digest
                elif self._cache is not None:
                    fresh[key] = (doc.digest, doc.body)
                    fresh_bytes += len(doc.body)
                    if len(fresh) >= 500 or fresh_bytes >= 4 << 20:
                        self._cache.put_documents(fresh)
                        fresh, fresh_bytes = {}, 0
                if page.archive or not self.hold:
                    doc = self._kept_out(page, fmt, key, doc.digest)  # archive pages not written: in the cache
                documents[doc.path] = doc

            to_archive = [m for m in missing if m[0].archive]
            workers = None
            if staging is not None and len(to_archive) >= _PARALLEL_ARCHIVE_THRESHOLD and _can_fork():
                workers = self._start_archive_workers(to_archive, len(feeds))
            if workers is not None:
                assert staging is not None
                try:
                    # The subscription pages are rendered here while the workers render the archive pages.
                    for page, fmt, key, parts in self._entries_of(
                        [m for m in missing if not m[0].archive], contents, len(feeds)
                    ):
                        take(page, fmt, key, parts)
                    # Archive pages carry no full content: what is left to do here needs neither the posts' HTML
                    # nor the subscription documents' bytes, so they are let go before the workers' results come in.
                    contents = {}
                    if self._cache is not None:
                        self._cache.put_documents(fresh)
                        fresh, fresh_bytes = {}, 0
                    meanwhile()
                    meanwhile = _nothing
                except BaseException:
                    # The workers' files join this build's staging, which the failed build removes.
                    self._collect_archive_workers(workers, to_archive, staging)
                    raise
                staged = self._collect_archive_workers(workers, to_archive, staging)
                if staged is None:
                    missing = to_archive  # the workers failed: render them here
                else:
                    missing = []
                    for page, fmt, key, digest in staged:
                        known[key] = digest
                        documents[f"{page.path}.{fmt}"] = self._kept_out(page, fmt, key, digest)
            for page, fmt, key, parts in self._entries_of(missing, contents, len(feeds)):
                take(page, fmt, key, parts)
            if self._cache is not None:
                self._cache.put_documents(fresh)
                self._cache.put_digests(known)
        opml = render_opml(self.settings, feeds)
        documents[opml.path] = opml
        meanwhile()
        return documents, keys, feeds, visible, content_digests, conflicts

    def _entries_of(
        self, missing: list[tuple[Page, str, str]], contents: Mapping[str, str], feeds: int
    ) -> Iterator[tuple[Page, str, str, list[bytes]]]:
        """Each missing document with its entries rendered, each entry rendered once per format and spliced into
        every page that lists it.

        Subscription pages come first. Archive pages follow oldest first across all feeds: a post's pages in its
        several feeds are then close together in that order, so a bounded memo of entries serves nearly every reuse,
        and a cold build of 100k posts never holds the entries of every post at once (a miss renders the entry
        again: the same bytes).
        """
        full_text = not self.settings.excerpt_only
        current: dict[tuple[str, str, bool], bytes] = {}
        # One format after another: an entry is only reused within its format, so the memo of full-content entries
        # (a few KB each, for every post in a subscription page) is emptied between formats.
        subscription = sorted((m for m in missing if not m[0].archive), key=lambda m: FEED_FORMATS.index(m[1]))
        for n, (page, fmt, key) in enumerate(subscription):
            if n and fmt != subscription[n - 1][1]:
                current.clear()
            parts = []
            for entry in page.entries:
                content = contents.get(entry.post.digest) if full_text else None
                # Keyed by path too: two files with the same bytes (a copy, a symlink) are two entries.
                fkey = (entry.post.path, entry.post.digest, content is not None)
                part = current.get(fkey)
                if part is None:
                    part = current[fkey] = entry_fragment(entry.post, content, fmt)
                parts.append(part)
            yield page, fmt, key, parts
        archived = _oldest_first([m for m in missing if m[0].archive])
        memo: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        room = _entry_memo_room(feeds, self.settings.limit)
        for page, fmt, key in archived:
            parts = []
            for entry in page.entries:
                akey = (entry.post.path, entry.post.digest, fmt)
                part = memo.get(akey)
                if part is None:
                    part = memo[akey] = entry_fragment(entry.post, None, fmt)
                    if len(memo) > room:
                        memo.popitem(last=False)
                else:
                    memo.move_to_end(akey)
                parts.append(part)
            yield page, fmt, key, parts

    def _start_archive_workers(self, archived: list[tuple[Page, str, str]], feeds: int) -> _ArchiveWorkers | None:
        """Fork workers that render and stage the archive pages; None if none could be started.

        The pages, oldest first, are cut into one contiguous run per worker (every format in each): the work is
        even, and each worker's memo of entries serves a post's pages in all its feeds as in one process.
        """
        global _ARCHIVE_JOB
        ordered = _oldest_first(archived)
        count = min(_workers(), len(ordered))
        tasks = [list(range(len(ordered) * i // count, len(ordered) * (i + 1) // count)) for i in range(count)]
        _ARCHIVE_JOB = (self, ordered, feeds)
        # Objects that exist at the fork are left out of the workers' garbage collections, which would otherwise
        # write to every one of them and so copy the whole inherited heap, page by page.
        gc.freeze()
        try:
            # A fork pool forks every worker on the first submit, before its own threads start.
            pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"))
            futures = [pool.submit(_stage_archive_pages, task) for task in tasks]
        except OSError as exc:
            log.warning("archive pages could not be rendered in worker processes (%s); rendering them here", exc)
            return None
        finally:
            gc.unfreeze()
            _ARCHIVE_JOB = None
        return _ArchiveWorkers(pool, futures)

    def _collect_archive_workers(
        self, workers: _ArchiveWorkers, archived: list[tuple[Page, str, str]], staging: Staging
    ) -> list[tuple[Page, str, str, str]] | None:
        """(page, fmt, key, digest) of each page the workers rendered, their files adopted into ``staging``; None
        if the workers could not do it all (the caller then renders here); nothing they staged is left behind."""
        results: list[list[tuple[str, str, str | None]]] = []
        failure: BaseException | None = None
        with workers.pool:
            for future in workers.futures:
                try:
                    results.append(future.result())
                except (BrokenProcessPool, OSError) as exc:
                    failure = failure or exc
        if failure is not None:
            for batch in results:
                for _, _, tmp in batch:
                    if tmp is not None:
                        Path(tmp).unlink(missing_ok=True)
            log.warning("archive pages could not be rendered in worker processes (%s); rendering them here", failure)
            return None
        by_path = {f"{page.path}.{fmt}": (page, fmt, key) for page, fmt, key in archived}
        rendered: list[tuple[Page, str, str, str]] = []
        for batch in results:
            for path, digest, tmp in batch:
                page, fmt, key = by_path[path]
                if tmp is not None:
                    staging.adopt(path, digest, tmp)
                rendered.append((page, fmt, key, digest))
        return rendered

    def _stage_archives(self, archived: list[tuple[Page, str, str]], feeds: int) -> list[tuple[str, str, str | None]]:
        """In a forked worker: render the pages, stage the files that changed; (path, digest, temporary file)."""
        staging = Staging(self.settings.out, threads=0)
        done: list[tuple[str, str, bool]] = []
        try:
            for page, fmt, _, parts in self._entries_of(archived, {}, feeds):
                doc = render_page(self.settings, page, fmt, parts)
                changed = doc.digest != self._previous_digest(doc.path)
                if changed:
                    staging.stage(doc.path, doc.body, doc.digest)
                done.append((doc.path, doc.digest, changed))
            staged = staging.finish(keep=[path for path, _, changed in done if changed])
        except BaseException:
            staging.discard()
            raise
        return [(path, digest, str(staged[path]) if changed else None) for path, digest, changed in done]

    def _kept_out(self, page: Page, fmt: str, key: str, digest: str) -> Document:
        """A document whose bytes are not held: loaded on access (see _Loader)."""
        path = f"{page.path}.{fmt}"
        loader = _Loader(self.settings, self._cache, self.write, page, fmt, key, digest)
        return Document(path, None, FORMATS[fmt].media_type, page.updated, digest, loader)

    def _output_file(self, path: str, digest: str) -> bytes | None:
        """The bytes of the output file at ``path`` if it holds the document with ``digest`` (else None)."""
        if not self.write:
            return None
        try:
            data = (self.settings.out / path).read_bytes()
        except OSError:
            return None
        return data if digest_of(data) == digest else None

    def _previous_digest(self, path: str) -> str | None:
        """The digest of the file at ``path`` as the last build (or, first, the output manifest) left it."""
        if self._built:
            previous = self._documents.get(path)
            return previous.digest if previous is not None else None
        return self._on_disk.get(path)

    def _contents(self, posts: Mapping[str, Post]) -> dict[str, str]:
        """Rendered, cleaned HTML for posts by digest: from the cache, else read and rendered now."""
        found = self._cache.get_content(posts) if self._cache is not None else {}
        fresh: dict[str, str] = {}
        todo = [(digest, post.path, post.url) for digest, post in posts.items() if digest not in found]
        workers = _workers()
        if len(todo) >= _PARALLEL_RENDER_THRESHOLD and workers > 1:
            size = max(20, len(todo) // (workers * 4))
            batches = [(self.settings, todo[i : i + size]) for i in range(0, len(todo), size)]
            rendered = _in_parallel(_render_batch, batches, lambda n: None)
        else:
            rendered = [(digest, _render_content(self.settings, path, url)) for digest, path, url in todo]
        for digest, html in rendered:
            if html is not None:
                found[digest] = html
                fresh[digest] = html
        if self._cache is not None:
            self._cache.put_content(fresh)
        return found

    def _write(
        self, documents: Mapping[str, Document], written: set[str], full: bool, staging: Staging
    ) -> tuple[set[str], set[str]]:
        out = self.settings.out
        if not self._built:
            # First build of this process: compare with what an earlier run left on disk, so a restart does not
            # rewrite (and re-timestamp) thousands of unchanged files.
            written = {p for p, d in documents.items() if self._on_disk.get(p) != d.digest}
        if full:
            # Files deleted by hand come back with the next full build (a rescan; the scheduler runs one), not with
            # every incremental one: checking thousands of files is most of a small rebuild's time.
            written |= missing_files(out, documents)
        try:
            removed = write_documents(out, documents, written, staging)
        except StoreError as exc:
            raise BuildError(str(exc)) from None
        return written, removed

    # -- on-demand feeds ------------------------------------------------------------------------------------------

    def query(self, *, categories: Sequence[str], tags: Sequence[str], limit: int, fmt: str) -> Document:
        """A feed of the published posts in all the given categories and tags, newest first, rendered now."""
        cats = {slugify(c) for c in categories}
        tag_slugs = {slugify(t) for t in tags}
        selected = [
            p
            for p in self._visible
            if cats <= {slugify(c) for c in p.categories} and tag_slugs <= {slugify(t) for t in p.tags}
        ][: max(1, limit)]
        all_feed = FeedInfo("all", self.settings.title, "all", len(selected), self.settings.title)
        contents = {} if self.settings.excerpt_only else self._contents({p.digest: p for p in selected})
        label = " + ".join([*sorted(categories), *sorted(tags)])
        page = Page(
            feed=all_feed,
            title=f"{self.settings.title} · {label}" if label else self.settings.title,
            entries=tuple(Entry(p, contents.get(p.digest)) for p in selected),
            path="all",
            current="all",
            query=urlencode(
                [*(("category", c) for c in sorted(categories)), *(("tag", t) for t in sorted(tags)), ("limit", limit)]
            ),
        )
        return render_page(self.settings, page, fmt)
