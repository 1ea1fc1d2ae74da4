"""The build: from a directory of posts to a complete, consistent set of feed documents.

A build runs the pipeline's stages in order, each a module of its own passing plain values to the next:

    corpus (posts read and parsed) → groups (feeds and their posts) → plan (documents and their keys)
    → render (documents rendered, or taken over) with bodies (where their bytes live) → store (files written)

``Builder`` keeps one ``FeedSet``, the last complete build, and publishes the next one by a single assignment, so a
reader on another thread sees one build or the other, never a mix. A build either completes and publishes, or raises
``BuildError`` and leaves the previous feed set (and the files on disk) untouched. Builds are incremental at every
stage: only changed files are read, only documents whose keys changed are rendered and written, and rendered content
and documents are kept in the SQLite parse cache, so a warm start renders nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from syndicate import summaries
from syndicate._workers import Parallelism
from syndicate.archivefiles import ArchiveFiles
from syndicate.attribution import compile_patterns
from syndicate.bodies import Bodies
from syndicate.cache import CachedPost, ParseCache, open_cache
from syndicate.config import ConfigError, Settings, settings_fingerprint
from syndicate.corpus import NO_VISIBLE, Corpus, CorpusError, Delta, Visible, next_due, revisit
from syndicate.documents import Document
from syndicate.feedpages import render_feed_pages
from syndicate.groups import ARCHIVE_DIR, EMPTY, FeedInfo, Groups, regroup
from syndicate.guard import DropRefused, check_drop
from syndicate.jekyllrender import liquid_site
from syndicate.lastbuild import RECORD_KEY, LastBuild, PostNote, manifest_digest
from syndicate.manifest import Mark, mark
from syndicate.opml import render_opml
from syndicate.pages import index_document
from syndicate.plan import NO_PLAN, ArchiveDocuments, Plan, PlannedFeed, changed_archives, plan_documents
from syndicate.posts import Post, Rejection
from syndicate.render import query_feed, render_contents, render_documents
from syndicate.settle import Settling
from syndicate.signature import records_signature, updated
from syndicate.store import (
    Staging,
    StoreError,
    files_under,
    manifest_entries,
    missing_files,
    output_lock,
    read_manifest,
    remove_temporaries,
    write_documents,
)

__all__ = ["BuildError", "BuildReport", "Builder", "FeedSet", "Parallelism", "Refused"]

_ARCHIVE_PREFIX = f"{ARCHIVE_DIR}/"


def gzip_sibling_wanted(path: str) -> bool:
    """Whether the document at ``path`` gets a ``.gz`` file for nginx's ``gzip_static`` (gzipfiles.py): every one but
    the RFC 5005 archive pages, which are most of a large site's bytes and rarely read (docs/scaling.md says why)."""
    return not path.startswith(_ARCHIVE_PREFIX)


log = logging.getLogger("syndicate.build")
# Threads that create the files a build stages (store.Staging): creating a file mostly waits on the file system.
_STAGING_THREADS = 4
_UNWRITABLE = "the feeds cannot be written to the output directory"


class BuildError(Exception):
    """A build that could not complete; the previous feeds stay in place. The message is for people (the operator:
    it may name paths); ``public`` says what went wrong without them, for /readyz ("" when nothing can be said)."""

    def __init__(self, message: str, public: str = "") -> None:
        super().__init__(message)
        self.public = public


class Refused(BuildError):
    """A build the drop guard refused (guard.py): it would have stopped publishing too many posts at once."""


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
    notes: tuple[PostNote, ...] = ()  # posts published with a remark
    unpublished: int = 0  # drafts (``published: false``), left out
    scheduled: int = 0  # posts dated in the future, left out until then (unless the setting ``future``)
    # The rejections the build before this one did not have (or had with another reason): what a log should say
    # again. ``rejected`` lists them all.
    newly_rejected: tuple[Rejection, ...] = ()


@dataclass(frozen=True)
class FeedSet:
    """One complete build: the documents served, the feeds and posts they list, and what the next build starts
    from. Published whole; never changed once published."""

    documents: Mapping[str, Document]
    keys: Mapping[str, str]  # document path -> key (see plan.page_keys)
    groups: Groups
    plan: Plan
    records: Mapping[str, CachedPost]  # every post file as last read
    rejected: tuple[Rejection, ...] = ()
    notes: tuple[PostNote, ...] = ()
    unpublished: int = 0  # drafts left out
    scheduled: int = 0  # future-dated posts left out
    built: bool = True
    collected: tuple[Post, ...] = ()  # a Jekyll site's documents of other collections (corpus.Visible.documents)
    # Archive pages not rendered by the build, made on request by the server (see archivefiles.py): path -> plan.
    on_request: ArchiveDocuments = field(default_factory=lambda: ArchiveDocuments({}))
    visible: Visible = NO_VISIBLE  # the posts chosen to publish, for the next build to start from (corpus.revisit)
    # signature.files_signature of the files ``records`` describe, kept by each build from the files it read anew or
    # found gone: what a server records for its next start to compare with its scan (resume.py).
    signature: int = 0
    # The summary store's generations its posts' text is in (summaries.py), held so that it stays readable as long as
    # this build is: one, but for a build after another builder of this process started a new one.
    texts: tuple[summaries.Generation, ...] = field(default=(), repr=False, compare=False)

    @property
    def feeds(self) -> tuple[FeedInfo, ...]:
        return self.groups.feeds

    @property
    def posts(self) -> tuple[Post, ...]:
        """Published posts, newest first."""
        return self.groups.visible

    def resolve(self, kind: str, name: str) -> FeedInfo | None:
        """The feed of a kind given by slug, name as written, or a case variant of either."""
        return self.groups.resolve(kind, name)


NOTHING_BUILT = FeedSet(MappingProxyType({}), {}, EMPTY, NO_PLAN, {}, built=False)


@dataclass(frozen=True)
class Written:
    """What ``Builder.write_deferred`` did: the documents written and removed, and the gzip bytes it made for their
    ``.gz`` files (document digest -> bytes, where gzip made them smaller: a server's gzip representations)."""

    written: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()
    gzipped: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class _Unwritten:
    """A published build whose files (and parsed posts) are still to be written: ``Builder.write_deferred``."""

    last: FeedSet  # the build before it
    documents: Mapping[str, Document]
    written: set[str]
    removed: set[str]
    full: bool
    staging: Staging
    on_request: ArchiveDocuments
    feeds: Mapping[str, PlannedFeed]
    delta: Delta


class Builder:
    """Builds feeds from ``settings.posts`` into memory and (when ``write``) into ``settings.out``.

    ``hold``: keep the subscription documents' bytes in memory, for a server answering from them; a one-shot build
    passes False, and those are then loaded on access like archive pages.

    ``archives``: archive pages are made on request (a server; see archivefiles.py): planned, with their keys, but
    neither rendered nor written by the build, which keeps the files written on request whose keys did not change.
    Without it every archive page is rendered and written (``syndicate build``: a complete static export).

    ``build()`` is synchronous and CPU-bound; callers run it in a worker thread. Builds are serialised by a lock;
    ``feedset`` (and the shortcuts ``documents``, ``feeds``, ``posts``, ``rejected``) and ``query()`` read the last
    complete build and may be called from any thread at any time.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        write: bool = True,
        hold: bool = True,
        clock: Callable[[], datetime] | None = None,
        progress: Callable[[int, int], None] | None = None,
        parallelism: Parallelism | None = None,
        cache: ParseCache | bool | None = True,
        settling: Settling | None = None,
        archives: ArchiveFiles | None = None,
        summaries_out: bool = True,
    ) -> None:
        """``cache``: the parse cache to use; True opens the one the settings name (if any), False or None none.
        ``summaries_out``: keep the posts' summaries in a temporary file (summaries.py), not in memory.
        ``settling``: how long a changed post file must stay unchanged before it is read (default: the settings'
        debounce window, see settle.py)."""
        self.settings = settings
        self.write = write
        self.hold = hold
        self.archives = archives
        self._clock = clock or (lambda: datetime.now(UTC))
        self._parallelism = parallelism or Parallelism()
        try:
            patterns = compile_patterns(settings.attribution_patterns)
        except ValueError as exc:
            raise ConfigError(f"setting 'attribution_patterns': {exc}") from None
        self._fingerprint = settings_fingerprint(settings)
        self._summaries_out = summaries_out
        # The parse cache; the service keeps its Last-Modified records in the same database (see service.py).
        self.cache: ParseCache | None = open_cache(settings) if cache is True else cache or None
        self._corpus = Corpus(
            settings,
            patterns,
            self._parallelism,
            keep_summaries_out=summaries_out,
            progress=progress,
            settling=settling or Settling.of(settings),
        )
        self._lock = threading.Lock()
        self._on_disk: dict[str, str] = {}  # the output manifest as the first build found it
        # The planned feeds whose archive pages ``archives`` last settled (None: none yet).
        self._settled_feeds: Mapping[str, PlannedFeed] | None = None
        self._written: Mark | None = None  # the output manifest as this builder's last write left it
        # The threads that stage files, started by the first build that writes and kept for the next ones.
        self._stage_pool: ThreadPoolExecutor | None = None
        self._unwritten: _Unwritten | None = None  # the last build, published but not written yet (write_deferred)
        self.feedset = NOTHING_BUILT

    # -- the last complete build ----------------------------------------------------------------------------------

    @property
    def documents(self) -> Mapping[str, Document]:
        return self.feedset.documents

    @property
    def feeds(self) -> tuple[FeedInfo, ...]:
        return self.feedset.feeds

    @property
    def rejected(self) -> tuple[Rejection, ...]:
        return self.feedset.rejected

    @property
    def posts(self) -> tuple[Post, ...]:
        """Published posts, newest first; a post's title, slug, source URL and summary may be kept out of memory
        (``Post.summary_at``): ``posts.in_full`` gives the post with them."""
        return self.feedset.posts

    @property
    def built(self) -> bool:
        return self.feedset.built

    def query(self, *, terms: Mapping[str, Sequence[str]], limit: int, fmt: str) -> Document:
        """A feed of the published posts with all the given names of each kind (``{"category": [...], "author":
        [...]}``), newest first, rendered now."""
        # One build throughout: it holds the store generation its posts' text is read from (FeedSet.texts).
        settings, parallelism, feedset = self.settings, self._parallelism, self.feedset
        return query_feed(
            settings,
            feedset.posts,
            lambda need: render_contents(
                settings, self.cache, need, parallelism, liquid_site(settings, feedset.posts, self._clock())
            ),
            terms=terms,
            limit=limit,
            fmt=fmt,
        )

    # -- building -------------------------------------------------------------------------------------------------

    def build(
        self, changed: Iterable[Path] | None = None, *, force: bool = False, defer_write: bool = False
    ) -> BuildReport:
        """Build all feeds (``changed=None``: rescan the directory) or after changes to the given post paths.

        Raises ``Refused`` for a build that would drop more than ``max_drop_share`` of the published posts (guard.py;
        the records compared are the last build's, or on a process's first build the parse cache's), unless
        ``force``.

        ``defer_write``: publish the build (``feedset``) before its files are written and its parsed posts saved to
        the parse cache, which the caller then does with ``write_deferred`` (a server answers from memory: its start
        is ready sooner). The report's ``written`` and ``removed`` are then what the write is expected to do;
        ``write_deferred`` tells what it did. A build started before that writes the deferred one first.
        """
        with self._lock:
            if self._unwritten is not None:
                self._write_unwritten()
            started = time.perf_counter()
            last = self.feedset
            try:
                self._corpus.check_root()
            except CorpusError as exc:
                raise BuildError(str(exc), exc.public) from None
            full = changed is None or not last.built
            records = last.records if last.built else self._corpus.load(self.cache)
            delta = self._corpus.rescan(records) if full else self._corpus.update(records, list(changed or ()))
            if not force:
                try:
                    check_drop(records, delta.updates, delta.removed, self.settings.max_drop_share)
                except DropRefused as exc:
                    raise Refused(str(exc), str(exc)) from None
            new_records = delta.apply(records)
            if last.built:
                signature = updated(last.signature, records, new_records, (*delta.updates, *delta.removed))
            else:
                signature = records_signature(new_records)
            self._corpus.release(records, delta, new_records)
            unchanged = self._unchanged(last, delta, new_records, full) if last.built else None
            if unchanged is not None:
                # Same bytes in every file and the same posts visible: the documents cannot differ. A rescan of an
                # unchanged site, or a watcher event for a file saved without changes, costs only the scan.
                self.feedset = replace(
                    last,
                    records=new_records,
                    visible=replace(unchanged, since=None, left=(), entered=()),
                    signature=signature,
                )
                self._save_posts(delta)
                return self._report(full, last, last, delta, frozenset(), frozenset(), started)
            start_from, texts = last, self._texts(last)
            compacted = self._corpus.compact(new_records)
            if compacted is not None:
                # Every post is a new object, its text in a new generation of the store: the build starts afresh
                # from the last build's documents, not from its choice of posts, groups and plan (they hold the old
                # posts, which the snapshot served meanwhile still reads from the old generation). The files are the
                # same: the signature stands.
                new_records, generation = compacted
                start_from, texts = replace(last, groups=EMPTY, plan=NO_PLAN, visible=NO_VISIBLE), (generation,)
            feedset, written, removed = self._make(start_from, delta, new_records, full, defer_write, texts)
            feedset = replace(feedset, signature=signature)
            self.feedset = feedset  # published: from here on readers see the new build
            if compacted is not None:
                summaries.switch(compacted[1])
            if self.cache is not None and full:
                self.cache.prune(set(feedset.plan.subscribed), set(feedset.keys.values()))
            # A build that leaves archive pages to requests is not a complete export: a one-shot build must not take
            # it for one (lastbuild.unchanged).
            if full and self.write and self.cache is not None and not delta.deferred and self.archives is None:
                self._record_last_build(feedset, delta)
            report = self._report(full, feedset, last, delta, frozenset(written), frozenset(removed), started)
            log.info(
                "build full=%s posts=%d rejected=%d unpublished=%d scheduled=%d feeds=%d parsed=%d written=%d "
                "removed=%d deferred=%d seconds=%.3f",
                full,
                report.posts,
                len(report.rejected),
                report.unpublished,
                report.scheduled,
                report.feeds,
                report.parsed,
                len(written),
                len(removed),
                len(delta.deferred),
                report.duration,
            )
            return report

    def _make(
        self,
        last: FeedSet,
        delta: Delta,
        records: Mapping[str, CachedPost],
        full: bool,
        defer: bool,
        texts: tuple[summaries.Generation, ...],
    ) -> tuple[FeedSet, set[str], set[str]]:
        """The stages after reading: group, plan, render, write. Files are staged as they are rendered and renamed
        into place at the end; a failure removes what was staged and replaces nothing. A build that writes holds the
        output directory for its whole length (store.output_lock): another process writing it is waited for.
        ``defer``: the write (and the saving of parsed posts) is left to ``write_deferred``."""
        if not self.write:
            return self._make_unlocked(last, delta, records, full, defer, texts)
        try:
            lock = output_lock(self.settings.out)
            with lock:
                return self._make_unlocked(last, delta, records, full, defer, texts)
        except StoreError as exc:
            raise BuildError(str(exc), _UNWRITABLE) from None

    def _make_unlocked(
        self,
        last: FeedSet,
        delta: Delta,
        records: Mapping[str, CachedPost],
        full: bool,
        defer: bool,
        texts: tuple[summaries.Generation, ...],
    ) -> tuple[FeedSet, set[str], set[str]]:
        staging = self._staging(last)
        try:
            visible = self._visible(last, delta, records)
            groups = regroup(last.groups, self.settings, visible.posts, visible.moved_since(last.groups.visible))
            # What moved was for grouping: the posts it was patched from are not kept for the next build.
            visible = replace(visible, since=None, left=(), entered=())
            # A server's build leaves archive pages to requests: they are planned (keys only), not rendered.
            plan = plan_documents(
                self.settings,
                self._fingerprint,
                groups,
                last.plan,
                visible.documents,
                archive_documents=self.archives is None,
            )
            on_request = plan.archives if self.archives is not None else ArchiveDocuments({})
            bodies = Bodies(self.settings, self.cache, hold=self.hold, staging=staging, previous=self._previous(last))
            documents = render_documents(
                self.settings,
                plan,
                last.documents,
                last.keys,
                bodies,
                self._parallelism,
                len(groups.members),
                # Parsed posts describe files, not this build: saved even if the build fails later on (or, deferred,
                # after it is published: saving them competes with the render workers for the cores).
                meanwhile=(lambda: None) if defer else lambda: self._save_posts(delta),
                liquid=liquid_site(self.settings, (*visible.posts, *visible.documents), self._clock()),
                sources=delta.sources,
            )
            opml = render_opml(self.settings, groups.feeds, plan.jekyll_feeds)
            documents[opml.path] = opml
            # The pages for people (a feed's page, the index): documents like the feeds, so a static export has them.
            pages, page_keys = render_feed_pages(self.settings, groups, plan, last.documents, last.keys)
            documents.update(pages)
            jekyll_paths = [path for path, _title in plan.jekyll_feeds]
            index = index_document(self.settings, groups.feeds, groups.visible, jekyll_paths)
            documents[index.path] = index
            written = {p for p, d in documents.items() if last.documents.get(p) != d}
            removed = set(last.documents) - set(documents)
            if staging is not None and defer:
                # Nothing is staged yet (a server holds its subscription documents, and leaves archive pages to
                # requests): what a write would do is worked out now, for the report; the files follow the publishing.
                if not last.built:
                    written = {p for p, d in documents.items() if self._on_disk.get(p) != d.digest}
                self._unwritten = _Unwritten(
                    last, documents, written, removed, full, staging, on_request, plan.feeds, delta
                )
            elif staging is not None:
                written, removed = self._write(last, documents, written, removed, full, staging, on_request, plan.feeds)
            elif defer:
                self._save_posts(delta)
        except BaseException:
            if staging is not None:
                staging.discard()
            raise
        feedset = FeedSet(
            documents=MappingProxyType(documents),
            # Looked through, not merged: the plan's keys are most of a large site's paths (and a copy of them).
            keys=ChainMap(page_keys, plan.keys),  # type: ignore[arg-type]
            groups=groups,
            plan=plan,
            records=records,
            rejected=visible.rejected,
            notes=visible.notes,
            unpublished=visible.unpublished,
            scheduled=visible.scheduled,
            collected=visible.documents,
            on_request=on_request,
            visible=visible,
            texts=texts,
        )
        return feedset, written, removed

    def _unchanged(self, last: FeedSet, delta: Delta, records: Mapping[str, CachedPost], full: bool) -> Visible | None:
        """The posts to publish, when this build would change no document (None: it would). They are kept for the
        next build to start from even so: they describe ``records``, which may hold files read again."""
        if not delta.changes_nothing(last.records):
            return None
        # A full build also restores output files deleted by hand, and time alone can publish a post (a future date
        # that has come): it checks both.
        if full and self.write and missing_files(self.settings.out, last.documents, gzip_sibling_wanted):
            return None
        visible = self._visible(last, delta, records)
        if full and not (visible.posts == last.posts and visible.documents == last.collected):
            return None
        return visible

    def _texts(self, last: FeedSet) -> tuple[summaries.Generation, ...]:
        """The generations of the summary store a build from ``last`` has its posts' text in: the last build's, and
        the current one, where the posts read now are written (none: kept in memory)."""
        if not self._summaries_out:
            return ()
        generation = summaries.current()
        return last.texts if generation in last.texts else (*last.texts, generation)

    def _visible(self, last: FeedSet, delta: Delta, records: Mapping[str, CachedPost]) -> Visible:
        """The posts to publish now, from the last build's choice (its records, on a first build: chosen anew)."""
        now = self._clock().timestamp()
        return revisit(last.visible, last.records, delta, records, now, self.settings.future)

    def _save_posts(self, delta: Delta) -> None:
        if self.cache is not None:
            self.cache.save_posts(delta.updates.items(), delta.removed)

    def _report(
        self,
        full: bool,
        feedset: FeedSet,
        last: FeedSet,
        delta: Delta,
        written: frozenset[str],
        removed: frozenset[str],
        started: float,
    ) -> BuildReport:
        """What this build did; ``last`` is the build before it (for the rejections new since then)."""
        before = set(last.rejected)
        return BuildReport(
            full=full,
            posts=len(feedset.posts),
            feeds=len(feedset.feeds),
            rejected=feedset.rejected,
            written=written,
            removed=removed,
            duration=time.perf_counter() - started,
            parsed=delta.parsed,
            deferred=delta.deferred,
            notes=feedset.notes,
            unpublished=feedset.unpublished,
            scheduled=feedset.scheduled,
            newly_rejected=tuple(r for r in feedset.rejected if r not in before),
        )

    def _record_last_build(self, feedset: FeedSet, delta: Delta) -> None:
        """Record this full build for ``lastbuild.unchanged``: a later one-shot build of the same files stops early."""
        assert self.cache is not None
        due = None if self.settings.future else next_due(feedset.records, self._clock().timestamp())
        documents = feedset.documents
        record = LastBuild(
            scan=delta.signature,
            source=str(self.settings.posts.resolve()),
            out=str(self.settings.out.resolve()),
            future=self.settings.future,
            manifest=manifest_digest(manifest_entries(documents, gzip_sibling_wanted)),
            due=due,
            posts=len(feedset.posts),
            feeds=len(feedset.feeds),
            documents=len(documents),
            rejected=tuple((r.path, r.reason) for r in feedset.rejected),
            notes=feedset.notes,
            unpublished=feedset.unpublished,
            scheduled=feedset.scheduled,
        )
        self.cache.put_meta(RECORD_KEY, record.to_json())

    # -- writing --------------------------------------------------------------------------------------------------

    @property
    def unwritten(self) -> bool:
        """Whether the last build was published with its write deferred (``build(defer_write=True)``)."""
        return self._unwritten is not None

    def write_deferred(self, gzipped: Mapping[str, bytes] | None = None) -> Written:
        """Save the parsed posts and write the files of the build published with ``defer_write``; what it wrote
        (nothing when no write is deferred).

        ``gzipped``: gzip bytes (document digest -> bytes) made already (a server's snapshot holds every feed's gzip
        representation, the same bytes as its ``.gz`` file): not compressed again. Atomic as a build's write is:
        raises BuildError with nothing replaced; the build stays published (in memory), and the next full build
        writes what is missing.
        """
        with self._lock:
            if self._unwritten is None:
                return Written()
            return self._write_unwritten(gzipped)

    def _write_unwritten(self, gzipped: Mapping[str, bytes] | None = None) -> Written:
        job, self._unwritten = self._unwritten, None
        assert job is not None
        self._save_posts(job.delta)
        staging = job.staging
        if gzipped:
            staging.known_gzip = gzipped
        try:
            with output_lock(self.settings.out), self.archives.held() if self.archives else contextlib.nullcontext():
                if not job.last.built:
                    # Another process may have written the directory since the build looked (the lock was let go).
                    self._on_disk = read_manifest(self.settings.out)
                written, removed = self._write(
                    job.last, job.documents, job.written, job.removed, job.full, staging, job.on_request, job.feeds
                )
            return Written(frozenset(written), frozenset(removed), staging.gzipped or {})
        except StoreError as exc:
            raise BuildError(str(exc), _UNWRITABLE) from None
        finally:
            staging.discard()  # what a failed write staged (after a write: nothing is left)

    def _staging(self, last: FeedSet) -> Staging | None:
        """Where this build's new files are staged (None: nothing is written)."""
        if not self.write:
            return None
        out = self.settings.out
        if not last.built:
            # First build of this process: temporary files a killed run left behind go before any are made.
            try:
                if out.is_dir() and (left := remove_temporaries(out)):
                    log.warning("removed %d temporary files left in %s by an interrupted build", left, out)
            except OSError as exc:
                raise BuildError(f"cannot clean output directory {out}: {exc.strerror or exc}", _UNWRITABLE) from None
            self._on_disk = read_manifest(out)
        # A server keeps the gzip bytes of the files it writes in the cache, where its snapshot finds them: each
        # document is compressed once, for its .gz file and its gzip representation.
        if threading.current_thread() is threading.main_thread():
            # A build on the main thread (a one-shot build) may fork workers, which it does only while it is the only
            # thread (_workers.Parallelism.can_fork): its staging threads are its own, joined when it has written.
            return Staging(out, gzip_wanted=gzip_sibling_wanted, keep_gzipped=self.hold)
        # A server's builds run in a worker thread (never forking): one pool for them all, so that a new post's build
        # does not start and join four threads (docs/benchmarks.md, "The new-post path"). Builder.close ends it.
        if self._stage_pool is None:
            self._stage_pool = ThreadPoolExecutor(max_workers=_STAGING_THREADS, thread_name_prefix="syndicate-stage")
        return Staging(out, gzip_wanted=gzip_sibling_wanted, keep_gzipped=self.hold, pool=self._stage_pool)

    def close(self) -> None:
        """Let the staging threads kept between builds go (a server that stops); a later build starts them again."""
        pool, self._stage_pool = self._stage_pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _previous(self, last: FeedSet) -> Callable[[str], str | None]:
        """The digest of the file at a path as the last build (or, first, the output manifest) left it."""
        if not last.built:
            return self._on_disk.get
        documents = last.documents

        def digest(path: str) -> str | None:
            previous = documents.get(path)
            return previous.digest if previous is not None else None

        return digest

    def _write(
        self,
        last: FeedSet,
        documents: Mapping[str, Document],
        written: set[str],
        gone: set[str],
        full: bool,
        staging: Staging,
        on_request: ArchiveDocuments,
        feeds: Mapping[str, PlannedFeed],
    ) -> tuple[set[str], set[str]]:
        """``written``/``gone``: the documents that differ from the last build's, or are no longer made;
        ``on_request``: the archive pages left to requests, ``feeds``' (the plan's) archive pages."""
        out = self.settings.out
        kept: dict[str, str] = {}
        ours: set[str] = set()
        # The manifest as this builder's last write left it: until another write, an incremental build compares only
        # the paths it changed with it (store.write_documents). A full build (a rescan) compares every path.
        since, self._written = self._written, None
        scope: set[str] | None = None if full or not last.built or since is None else written | gone
        if self.archives is not None:
            # Archive pages written on request stay while their keys do; the others are removed below (before the
            # swap, so nginx never serves a page of a key that changed). A first build also removes what an earlier
            # process wrote on request after its last build, which its manifest does not list.
            found = None
            if not last.built:
                found = {p: d for p, d in self._on_disk.items() if p in on_request}
                ours = files_under(str(out / ARCHIVE_DIR)) if (out / ARCHIVE_DIR).is_dir() else set()
                ours = {f"{ARCHIVE_DIR}/{p}" for p in ours}
            # A later build names the pages whose keys may have changed since the last settle: the other pages'
            # files stay without a look.
            settled = self._settled_feeds
            changed = changed_archives(feeds, settled) if found is None and settled is not None else None
            kept, dropped = self.archives.settle(on_request.keys_by_path(), found, changed)
            self._settled_feeds = feeds
            ours |= dropped
            if scope is not None:
                scope |= self.archives.fresh
        if not last.built:
            # First build of this process: compare with what an earlier run left on disk, so a restart does not
            # rewrite (and re-timestamp) thousands of unchanged files.
            written = {p for p, d in documents.items() if self._on_disk.get(p) != d.digest}
        if full:
            # Files deleted by hand come back with the next full build (a rescan; the scheduler runs one), not with
            # every incremental one: checking thousands of files is most of a small rebuild's time.
            written |= missing_files(out, documents, gzip_sibling_wanted)
        try:
            removed = write_documents(out, documents, written, staging, kept=kept, ours=ours, scope=scope, since=since)
            self._written = mark(out)
        except StoreError as exc:
            raise BuildError(str(exc), _UNWRITABLE) from None
        if staging.gzipped and self.cache is not None:
            self.cache.put_gzipped(staging.gzipped)
        return written, removed
