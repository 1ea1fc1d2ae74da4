"""The running service: owns the Builder, runs one build at a time, swaps finished builds in atomically.

Triggers (startup, watcher, schedule, admin) all go through :meth:`FeedService.request_build`. While a build
runs, further triggers merge into one pending follow-up build (a set of changed paths, or "full", which
absorbs paths), so a burst of triggers never queues without bound.

The served state is one :class:`~syndicate.snapshot.Snapshot` referenced by ``FeedService.snapshot``. A handler
reads that reference once per request, so every response is entirely from the old build or entirely from the new.
A failed build leaves the reference alone: the last good feeds stay in service.

The service coordinates; its parts, made in ``__init__``, do the work around a swap:

- ``snapshot.Preparer`` turns a build into the next snapshot (representations, Last-Modified stamps), in the
  build's worker thread, before the swap;
- ``completion.Completer`` adds, after the swap, the brotli left pending for large feeds clients read;
- ``resume.resume`` serves the last build's documents at once on a start that finds nothing changed;
- ``archives.ArchivePages`` prepares archive pages on request; ``queries.QueryFeeds`` answers query feeds;
- ``websub.HubPinger`` tells the WebSub hub which feeds a build changed;
- ``autopublish.AutoPublisher`` brings the bucket of ``publish_to`` to each build swapped in.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syndicate import _tasks
from syndicate.archivefiles import ArchiveFiles
from syndicate.archives import ARCHIVE_CACHE_BYTES, ArchivePages
from syndicate.attribution import compile_patterns
from syndicate.cache import ParseCache, open_cache
from syndicate.completion import Completer
from syndicate.config import ConfigError, Settings
from syndicate.metrics import BuildGauges, Metrics
from syndicate.polling import feed_schedules
from syndicate.queries import QueryFeeds
from syndicate.responses import GZIP, CachePolicy, ResourceCache
from syndicate.resume import RECORD_KEY, Served, recorded, resume, served
from syndicate.signature import as_text
from syndicate.snapshot import Preparer, Snapshot
from syndicate.websub import JOURNAL, HubPinger

if TYPE_CHECKING:
    from syndicate.autopublish import AutoPublisher
    from syndicate.builder import Builder, BuildReport
    from syndicate.groups import FeedInfo

log = logging.getLogger("syndicate.service")

# Paths merged into one pending incremental build before it degrades to a full rescan (bounds memory).
_MAX_PENDING_PATHS = 10_000
_DEFERRED_RETRY = 1.0  # seconds before re-reading a post that was still being written
_MAX_BUILD_PAUSE = 5.0  # seconds: the longest pause between back-to-back builds (see build_share)
_UNFREEZE_EVERY = 50
# A failed build is tried again (a full rescan) after RETRY_FIRST seconds, doubling each time it fails again up to
# RETRY_MAX: a disk that fills or an output directory made read-only comes back without anyone touching the server.
RETRY_FIRST = 2.0
RETRY_MAX = 300.0
# A build running longer than this is reported as overdue by /readyz (a post file that blocks a read, a hung disk):
# the largest sites build in well under a minute (docs/benchmarks.md).
BUILD_OVERDUE = 300.0
# After a start that resumed the last build (resume.py), its first build waits until no feed was requested for
# RESUMED_BUILD_IDLE seconds, and at most RESUMED_BUILD_WAIT: it will find nothing changed, and it holds the GIL for
# most of its CPU time, while a restart is when clients come back at once (polls queued while it was down, a load
# balancer's probes). A watcher event, or a request that needs the posts, starts it at once.
RESUMED_BUILD_IDLE = 0.5
RESUMED_BUILD_WAIT = 10.0


@dataclass(frozen=True)
class BuildOutcome:
    """``ok``: built and written. A build that could not be written but was built in memory (and is served from
    there) has its ``report`` and ``error`` both, and ``ok`` False."""

    ok: bool
    report: BuildReport | None = None
    error: str = ""
    public: str = ""  # what went wrong without paths, for /readyz (BuildError.public)

    @property
    def in_memory(self) -> bool:
        return not self.ok and self.report is not None

    def as_dict(self) -> dict[str, Any]:
        if self.report is None:
            return {"ok": self.ok, "error": self.error}
        report = self.report
        return {
            "ok": self.ok,
            **({"error": self.error, "in_memory": True} if self.in_memory else {}),
            "full": report.full,
            "posts": report.posts,
            "feeds": report.feeds,
            "rejected": [{"path": r.path, "reason": r.reason} for r in report.rejected],
            "unpublished": report.unpublished,
            "scheduled": report.scheduled,
            "written": sorted(report.written),
            "removed": sorted(report.removed),
            "duration": round(report.duration, 6),
        }


@dataclass
class _Pending:
    """The one build waiting to run. Every trigger merged into it shares its future: O(1) per trigger."""

    future: asyncio.Future[BuildOutcome]
    full: bool = False
    paths: set[Path] = field(default_factory=set)
    force: bool = False  # past the drop guard (guard.py): any trigger merged in that asked for it

    def merge(self, changed: Iterable[Path] | None) -> None:
        if changed is None:
            self.full = True
            self.paths.clear()
        elif not self.full:
            self.paths.update(changed)
            if len(self.paths) > _MAX_PENDING_PATHS:
                self.full = True
                self.paths.clear()


class _LazyBuilder:
    """The service's builder, made by its first use (a build's thread or a query's, whichever comes first)."""

    def __init__(
        self, settings: Settings, cache: ParseCache | None, archives: ArchiveFiles | None, made: Builder | None
    ) -> None:
        self._settings, self._cache, self._archives = settings, cache, archives
        self._made = made
        self._lock = threading.Lock()

    def get(self) -> Builder:
        made = self._made
        if made is None:
            from syndicate.builder import Builder

            with self._lock:
                made = self._made
                if made is None:
                    made = self._made = Builder(self._settings, cache=self._cache, archives=self._archives)
        return made

    def close(self) -> None:
        if self._made is not None:
            self._made.close()


class FeedService:
    """Builds while serving: triggers, one build at a time, the swap, and the parts that serve each snapshot."""

    def __init__(
        self,
        settings: Settings,
        builder: Builder | None = None,
        metrics: Metrics | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        stamps: ParseCache | None = None,
    ) -> None:
        """``builder``: by default one for ``settings`` sharing the parse cache they name, which then also keeps the
        Last-Modified records; ``stamps``: where those are kept otherwise (None: only in memory)."""
        self.settings = settings
        # Stamps Last-Modified (see lastmodified); injectable so that tests control time, and so that a server which
        # sends a Date it caches can make sure no Last-Modified is later than that Date (cli.cmd_serve).
        self.clock = clock or (lambda: datetime.now(UTC))
        archives: ArchiveFiles | None
        if builder is None:
            # The Builder is made later (see _LazyBuilder); the settings it would refuse fail here, as they did.
            try:
                compile_patterns(settings.attribution_patterns)
            except ValueError as exc:
                raise ConfigError(f"setting 'attribution_patterns': {exc}") from None
            # Archive pages are made on request (archives.py): a start renders and writes only the feeds.
            stamps = open_cache(settings)
            archives = ArchiveFiles(settings.out, stamps)
            self._cache, self._writes = stamps, True
        else:
            archives = builder.archives
            self._cache, self._writes = builder.cache, builder.write
        # The Builder, with the build's modules behind it, is made (and imported) by the first build: a start that
        # serves the last build's documents (resume.py) is ready before it needs them (see the ``builder`` property).
        self._builder = _LazyBuilder(settings, self._cache, archives, builder)
        self._archive_files = archives
        self.metrics = metrics if metrics is not None else Metrics()
        self.gauges = BuildGauges()
        self.policy = CachePolicy.from_settings(settings)
        self.snapshot: Snapshot | None = None
        self.last_outcome: BuildOutcome | None = None
        self.last_build_finished: datetime | None = None
        self.next_scheduled: datetime | None = None  # kept current by the scheduler
        self.started = False
        self._pending: _Pending | None = None
        self._running: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()  # set once the first build has finished, well or not
        self._deferred: set[Path] = set()
        self._deferred_timer: asyncio.TimerHandle | None = None
        self._frozen_builds = 0  # builds since the heap was last unfrozen (see _freeze_heap)
        # Builds into memory only, when the builder cannot write the output directory (see _build_in_memory).
        self._memory_builder: Builder | None = None
        self._failures = 0  # failed builds in a row
        self._retry_timer: asyncio.TimerHandle | None = None
        self.retry_in: float | None = None  # seconds until the failed build is tried again (None: none pending)
        self.build_started: float | None = None  # time.monotonic() when the running build began (None: none runs)
        self.overdue_after = BUILD_OVERDUE  # seconds (see build_overdue)
        self._served: Served | None = None  # the record of what the last build served, as last saved (resume.py)
        self._startup_timer: asyncio.TimerHandle | None = None  # the first build, after a resumed start
        self._writing: asyncio.Future[None] | None = None  # the start-up build's files, until written (_write_deferred)
        self._stopping = False

        # The parts (see the module docstring).
        self.preparer = Preparer(settings, self.policy, self.clock, stamps)
        self._completer = Completer()
        self.archive_cache = ResourceCache(ARCHIVE_CACHE_BYTES)
        self._archives = ArchivePages(self.archive_cache, self.policy, self.metrics, settings, archives)
        self._queries = QueryFeeds(self._builder.get, self.policy, self.clock)
        self._pinger = (
            HubPinger(settings.hub, settings.feeds_url, self.metrics, journal=settings.out / JOURNAL)
            if settings.hub
            else None
        )
        self.publisher: AutoPublisher | None = None
        if settings.publish_to:
            from syndicate.autopublish import AutoPublisher  # and the object storage client: only when publishing

            self.publisher = AutoPublisher(settings, self.metrics)
        # On the request path (app.FeedEndpoint calls want for every feed it sends, resource for every archive page,
        # query for every query feed): bound to the parts once here, since methods forwarding to them would add a
        # call to every such request.
        self.want = self._completer.want
        self.resource = self._archives.resource
        self.query = self._queries.query

    @property
    def builder(self) -> Builder:
        """The builder: the one given, else one for the settings sharing the parse cache, made on first use."""
        return self._builder.get()

    # -- triggering --------------------------------------------------------------------------------------

    def build_overdue(self) -> bool:
        """Whether the running build has taken longer than ``overdue_after`` (BUILD_OVERDUE)."""
        started = self.build_started
        return started is not None and time.monotonic() - started > self.overdue_after

    @property
    def building(self) -> bool:
        return self._running is not None and not self._running.done()

    def request_build(
        self, changed: Iterable[Path] | None = None, *, reason: str = "", force: bool = False
    ) -> asyncio.Future[BuildOutcome]:
        """Ask for a build (``None``: full rescan). Returns a future resolved when a build covering it ends.

        Must be called on the event loop. Coalesces with any build already pending. ``force``: the build may drop
        any share of the posts (guard.py).
        """
        loop = asyncio.get_running_loop()
        if self._pending is None:
            self._pending = _Pending(loop.create_future())
        elif self.building:
            self.gauges.coalesced += 1
        pending = self._pending
        pending.merge(changed)
        pending.force = pending.force or force
        log.debug("build requested (%s): %s", reason or "unspecified", "full" if changed is None else "incremental")
        if not self.building:
            self._running = loop.create_task(self._run_builds())
        return pending.future

    async def build_now(self, changed: Iterable[Path] | None = None) -> BuildOutcome:
        return await self.request_build(changed, reason="direct")

    async def wait_first_build(self, timeout: float) -> bool:
        """Wait (bounded) until the first build has finished; True if feeds are being served."""
        if self.snapshot is None:
            try:
                await asyncio.wait_for(self._first_attempt.wait(), timeout)
            except TimeoutError:
                pass
        return self.snapshot is not None

    async def built_snapshot(self, timeout: float) -> Snapshot | None:
        """The snapshot of a build of this process, waiting (bounded) for the first one when what is served was
        resumed from the last process's files (``Snapshot.resumed``): archive pages, feed names as written and query
        feeds need the posts. Returns what is served then."""
        snapshot = self.snapshot
        if snapshot is not None and snapshot.resumed and not self._first_attempt.is_set():
            self._startup_build()  # now, not once requests pause
            try:
                await asyncio.wait_for(self._first_attempt.wait(), timeout)
            except TimeoutError:
                pass
        return self.snapshot

    async def _run_builds(self) -> None:
        while self._pending is not None:
            job, self._pending = self._pending, None
            changed = None if job.full else sorted(job.paths)
            first = self.last_outcome is None  # the start-up build is not churn: no pause after it
            self.build_started = time.monotonic()
            try:
                # The start-up build is served before its files are written (write_deferred): ready sooner.
                snapshot, outcome, cpu = await asyncio.to_thread(self._build_and_prepare, changed, job.force, first)
            finally:
                self.build_started = None
            if snapshot is not None:
                self._swap(snapshot)
            self._retry_if_failed(outcome)
            self._record(outcome)
            self._first_attempt.set()
            if snapshot is not None and outcome.ok and self.builder.unwritten:
                outcome = await self._write_deferred(snapshot, outcome)
            if snapshot is not None and self._pinger is not None and outcome.report is not None:
                self._pinger.queue(outcome.report.written)
            if snapshot is not None and self.publisher is not None:
                # What was swapped in: the builder's build, or the one built into memory when it could not be written.
                built = self._memory_builder if outcome.in_memory and self._memory_builder else self.builder
                self.publisher.queue(built.feedset)
            if outcome.report is not None and outcome.report.deferred:
                self._retry_deferred(outcome.report.deferred)
            if not job.future.done():
                job.future.set_result(outcome)
            if self._pending is not None and self.settings.build_share < 1 and not first:
                # Changes arrive faster than builds finish. A build holds the GIL for most of its CPU time, and
                # requests wait for it: pausing in proportion keeps rebuilding to ``build_share`` of the time, and
                # the pending build (every change since) still follows.
                share = self.settings.build_share
                self.gauges.paused_seconds += (pause := min(cpu * (1 - share) / share, _MAX_BUILD_PAUSE))
                await asyncio.sleep(pause)

    def _swap(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot  # the swap: one reference assignment on the event loop
        self._queries.swapped(snapshot.generation)
        self._archives.swapped(snapshot)
        self._completer.swapped(snapshot)

    # -- building ----------------------------------------------------------------------------------------

    def _retry_deferred(self, deferred: Iterable[str]) -> None:
        """Files the builder found still open for writing: build them again shortly (one timer at a time)."""
        self._deferred.update(self.settings.posts / rel for rel in deferred)
        if self._deferred_timer is None:

            def fire() -> None:
                self._deferred_timer = None
                paths, self._deferred = self._deferred, set()
                self.request_build(paths, reason="deferred files")

            self._deferred_timer = asyncio.get_running_loop().call_later(_DEFERRED_RETRY, fire)

    def _retry_if_failed(self, outcome: BuildOutcome) -> None:
        """After a failed build, one full build later, backing off (RETRY_FIRST doubling to RETRY_MAX)."""
        if outcome.ok:
            self._failures = 0
            self.retry_in = None
            self._memory_builder = None  # written again: what it held is not needed
            return
        self._failures += 1
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        self.retry_in = min(RETRY_FIRST * 2 ** (self._failures - 1), RETRY_MAX)

        def fire() -> None:
            self._retry_timer = None
            self.request_build(None, reason="retry after a failed build")

        self._retry_timer = asyncio.get_running_loop().call_later(self.retry_in, fire)

    def _build_and_prepare(
        self, changed: Sequence[Path] | None, force: bool = False, defer_write: bool = False
    ) -> tuple[Snapshot | None, BuildOutcome, float]:
        """Worker thread: build, then prepare every changed document's representations; also the CPU time used.
        ``defer_write``: the build's files are left to ``_write_deferred``, after the swap."""
        from syndicate.builder import BuildError, Refused  # imported with the builder, by the first build

        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            report = self.builder.build(changed, force=force, defer_write=defer_write)
            previous = self.snapshot
            if previous is not None and previous.resumed:
                # Its bytes were read from the files (resume.py), the build holds its own: prepared again from the
                # build's documents (the same bytes, stamps and headers), so that one copy is kept, not two.
                previous = None
            # A build whose files follow the swap leaves gzip to them (or to the first client asking for it).
            snapshot = self.preparer.prepare_snapshot(self.builder.feedset, previous)
        except BuildError as exc:
            error = str(exc) or type(exc).__name__
            failed = BuildOutcome(ok=False, error=error, public=exc.public)
            if isinstance(exc, Refused) or (self.snapshot is not None and self._memory_builder is None):
                # Good feeds written before are served: they stay until a build is written (the retry). A build the
                # drop guard refused is not made in memory either: that build would serve what it refused to write.
                return None, failed, time.thread_time() - cpu_started
            return (*self._build_in_memory(failed), time.thread_time() - cpu_started)
        except Exception as exc:  # a bug or an OS error must not take the server down; report it instead
            if self._stopping:  # the server stopped while this build ran (its compressors are shut down)
                return None, BuildOutcome(ok=False, error="stopped"), time.thread_time() - cpu_started
            log.exception("build failed unexpectedly")
            outcome = BuildOutcome(ok=False, error=f"{type(exc).__name__}: {exc}")
            return None, outcome, time.thread_time() - cpu_started
        if not self.builder.unwritten:
            self._record_served_after(report, snapshot)
        duration = time.perf_counter() - started
        log.debug("build and prepare took %.3fs", duration)
        self._freeze_heap()
        return snapshot, BuildOutcome(ok=True, report=report), time.thread_time() - cpu_started

    def _record_served_after(self, report: BuildReport, snapshot: Snapshot) -> None:
        if not report.deferred:
            # What the build serves, once its files are written, for the next start. (A build that left a file still
            # being written to a later one has records of it that a scan would not match: recorded after that one.)
            self._record_served(snapshot)

    async def _write_deferred(self, snapshot: Snapshot, outcome: BuildOutcome) -> BuildOutcome:
        """Write the files of the build just swapped in (``Builder.write_deferred``), in a thread, while its documents
        are served from memory; the build's outcome once written. A write that fails makes it a build served from
        memory (as one that could not be written at all is: ``_build_in_memory``), tried again later."""
        # Every feed's gzip representation is the bytes of its .gz file: compressed once, for both.
        gzipped = {
            resource.digest: gz.body
            for resource in (*snapshot.resources.values(), snapshot.index)
            if (gz := resource.representations.get(GZIP)) is not None
        }
        loop = asyncio.get_running_loop()
        writing = loop.run_in_executor(None, self._write_files, snapshot, outcome, gzipped)
        self._writing = done = loop.create_future()
        try:
            # Shielded: a server stopping meanwhile lets the write finish (stop() waits for it), never half done.
            written = await asyncio.shield(writing)
        finally:
            self._writing = None
            done.set_result(None)
        if not written.ok:
            self._retry_if_failed(written)
            g = self.gauges
            g.builds_ok -= 1  # counted when it was swapped in: it is one build, which failed to be written
            g.builds_failed += 1
            g.last_success = False
            retry = f"; trying again in {self.retry_in:g} s" if self.retry_in is not None else ""
            log.error("cannot write the feeds (%s); serving this build from memory%s", written.error, retry)
        self.last_outcome = written
        return written

    def _write_files(self, snapshot: Snapshot, outcome: BuildOutcome, gzipped: dict[str, bytes]) -> BuildOutcome:
        """Worker thread: the deferred write, then the record a restart resumes from (which reads the files); the
        outcome."""
        from syndicate.builder import BuildError  # loaded by the build that is written here

        report = outcome.report
        assert report is not None
        try:
            done = self.builder.write_deferred(gzipped)
        except BuildError as exc:
            failed = BuildOutcome(ok=False, report=report, error=str(exc) or type(exc).__name__, public=exc.public)
            return failed
        except Exception as exc:  # a bug or an OS error must not take the server down; report it instead
            log.exception("writing the build failed unexpectedly")
            return BuildOutcome(ok=False, report=report, error=f"{type(exc).__name__}: {exc}")
        report = replace(report, written=done.written, removed=done.removed)
        self._record_served_after(report, snapshot)
        return BuildOutcome(ok=True, report=report)

    def _record_served(self, snapshot: Snapshot, verify: bool = False) -> None:
        """Record ``snapshot``, made from the builder's last build, for the next start to serve at once if nothing
        changes (resume.py). Only a build written to the output directory is recorded: its files are read back.
        ``verify``: with the identities of its files, hashed now (at stop, when no build writes and time is free).

        Called after every build: what it costs grows with the feeds, not the posts (the signature and the date the
        next scheduled post comes due are kept by the builds), so a server killed after a new post resumes with it.
        """
        cache = self.builder.cache
        if cache is None or not self.builder.write:
            return
        feedset = self.builder.feedset
        # A bound kept by the builds (corpus.revisit): never later than the first post left out as scheduled.
        bound = feedset.visible.due
        due = None if self.settings.future or bound == float("inf") else bound
        schedules = feed_schedules(self.settings, feedset.groups)
        previous = self._served if self._served is not None else recorded(cache)
        record = served(self.settings, snapshot, schedules, as_text(feedset.signature), due, verify, previous)
        if self._served is None or replace(record, built_at=self._served.built_at) != self._served:
            cache.put_meta(RECORD_KEY, record.to_json())
            self._served = record

    def _build_in_memory(self, failed: BuildOutcome) -> tuple[Snapshot | None, BuildOutcome]:
        """After a build that ``failed`` with nothing written to serve (at start, or while serving from
        memory already): the same posts built into memory only, if that works.

        A full or read-only output directory fails every writing build, and before this a server restarted in that
        state served nothing at all although the posts were readable. Built without writing (and without the parse
        cache, which may live on the same full disk), every document is held in memory and served from there until a
        retry writes them. If this build fails too (the posts directory is missing, say), nothing better than the
        current snapshot exists.
        """
        try:
            if self._memory_builder is None:
                from syndicate.builder import Builder

                self._memory_builder = Builder(self.settings, write=False, hold=True, cache=None)
            report = self._memory_builder.build(None)
            snapshot = self.preparer.prepare_snapshot(self._memory_builder.feedset, self.snapshot)
        except Exception:  # any failure here leaves the served state as the failed build did
            return None, failed
        return snapshot, BuildOutcome(ok=False, report=report, error=failed.error, public=failed.public)

    def _freeze_heap(self) -> None:
        """Leave what the build made out of the cyclic garbage collector's full collections.

        A site's posts, pages and documents live from one build to the next and hold no reference cycles (builds
        leave no cyclic garbage; the builder tests check it), yet a full collection walks them all (for a large site
        that takes tens of milliseconds, see docs/benchmarks.md), often in the middle of the next build and so in
        the time until a new post is served. Frozen (``gc.freeze``), they are freed by reference counting as
        before, and collections walk only what came since. Every ``_UNFREEZE_EVERY`` builds they are unfrozen, so
        that a cycle frozen while still in use (a request in flight, say) is not kept for ever.
        """
        self._frozen_builds += 1
        if self._frozen_builds >= _UNFREEZE_EVERY:
            self._frozen_builds = 0
            gc.unfreeze()
        gc.freeze()

    def _record(self, outcome: BuildOutcome) -> None:
        self.last_outcome = outcome
        self.last_build_finished = datetime.now(UTC)
        g = self.gauges
        g.last_success = outcome.ok
        retry = f"; trying again in {self.retry_in:g} s" if self.retry_in is not None else ""
        if outcome.in_memory:
            g.builds_failed += 1
            g.ready = True
            log.error("cannot write the feeds (%s); serving this build from memory%s", outcome.error, retry)
        elif outcome.ok and outcome.report is not None:
            report = outcome.report
            g.builds_ok += 1
            g.duration_sum += report.duration
            g.last_duration = report.duration
            g.last_success_time = time.time()
            g.ready = True
            g.posts = report.posts
            g.feeds = report.feeds
            g.rejected = len(report.rejected)
            g.documents = self.snapshot.documents if self.snapshot is not None else 0
            log.debug(  # the builder logs the one INFO line per build; this adds the served state
                "swapped in: full=%s posts=%d feeds=%d documents=%d written=%d removed=%d rejected=%d unpublished=%d "
                "scheduled=%d duration=%.3fs",
                report.full,
                report.posts,
                report.feeds,
                g.documents,
                len(report.written),
                len(report.removed),
                len(report.rejected),
                report.unpublished,
                report.scheduled,
                report.duration,
            )
            # Only what the last build did not already report: a post rejected for one reason is logged once, not
            # again by every rebuild (each watcher event, each scheduled rescan); /admin/status lists them all.
            for rejection in report.newly_rejected:
                log.warning("rejected post %s: %s", rejection.path, rejection.reason)
        else:
            g.builds_failed += 1
            if self.snapshot is None:
                log.error("build failed; no feeds are served until a build succeeds%s: %s", retry, outcome.error)
            else:
                log.error("build failed, still serving the last good feeds%s: %s", retry, outcome.error)

    # -- serving -----------------------------------------------------------------------------------------

    def resolve(self, kind: str, name: str) -> FeedInfo | None:
        """The served feed of a kind named by slug, name as written, or a case variant of either."""
        snapshot = self.snapshot
        return snapshot.groups.resolve(kind, name) if snapshot is not None else None

    async def compressed(self) -> None:
        """Wait until every served feed clients want has all its encodings (for tests and benchmarks)."""
        await self._completer.compressed()

    async def pinged(self) -> None:
        """Wait until every WebSub ping queued so far has been sent (for tests, as ``compressed`` is)."""
        if self._pinger is not None:
            await self._pinger.sent()

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self, wait: float = 0.0) -> None:
        """Begin the first build, waiting up to ``wait`` seconds for it.

        When nothing changed since the last full build, its documents are served at once (resume.py) and the build
        confirms them in the background. Otherwise small sites are ready the moment the server accepts connections;
        a large first build goes on in the background so /healthz answers meanwhile (and feed requests wait for it,
        bounded).
        """
        self.started = True
        if self._pinger is not None:
            self._pinger.resume()  # pings a restart interrupted go out now, not after the next change
        cache = self._cache
        if cache is not None and self._writes:
            try:
                resumed = await asyncio.to_thread(resume, self.settings, cache, self.preparer, self.clock())
            except Exception:  # a bug or an OS error here costs the shortcut, never the start
                log.exception("cannot serve the last build's documents before building; building first")
                resumed = None
            if resumed is not None and (self._pending is not None or self.building or self.last_outcome is not None):
                # The watcher (started first, see app.lifespan) saw a post change while this looked: that build serves.
                resumed = None
            if resumed is not None:
                self._swap(resumed)
                self.gauges.ready = True
                self.gauges.posts = resumed.posts
                self.gauges.feeds = resumed.feed_count
                self.gauges.documents = resumed.documents
                self.gauges.rejected = len(resumed.rejected)
                log.info("serving the last build's %d documents: no post changed since", resumed.documents)
                loop = asyncio.get_running_loop()
                self._startup_timer = loop.call_later(
                    RESUMED_BUILD_IDLE,
                    self._build_when_idle,
                    self.metrics.feed_requests,
                    loop.time() + RESUMED_BUILD_WAIT,
                )
                return
        self.request_build(None, reason="startup")
        if wait > 0:
            await self.wait_first_build(wait)

    def _build_when_idle(self, requests: int, deadline: float) -> None:
        """The first build after a resumed start, once no feed was requested since the last look (``requests`` had
        been answered then) or at ``deadline``."""
        self._startup_timer = None
        loop = asyncio.get_running_loop()
        if self.metrics.feed_requests == requests or loop.time() >= deadline:
            self._startup_build()
        else:
            self._startup_timer = loop.call_later(
                RESUMED_BUILD_IDLE, self._build_when_idle, self.metrics.feed_requests, deadline
            )

    def _startup_build(self) -> None:
        """The first build, unless one has run or been asked for (by the watcher, say) since the start."""
        if self._startup_timer is not None:
            self._startup_timer.cancel()
            self._startup_timer = None
        if self.last_outcome is None and self._pending is None and not self.building:
            self.request_build(None, reason="startup")

    async def stop(self) -> None:
        if self._writing is not None:
            # The start-up build's files: finished rather than cut off (the build then records what it serves).
            await asyncio.wait([self._writing])
        snapshot, outcome = self.snapshot, self.last_outcome
        if snapshot is not None and not snapshot.resumed and outcome is not None and outcome.ok and not self.building:
            # What is served now, changes since the last full build included: a restart with nothing changed since
            # serves it at once. (While a build runs the builder may hold a newer build than the snapshot.)
            await asyncio.to_thread(self._record_served, snapshot, True)
        self._stopping = True
        self.preparer.close()
        if self._startup_timer is not None:
            self._startup_timer.cancel()
            self._startup_timer = None
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
            self._deferred_timer = None
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        await _tasks.cancel(self._running)
        self._builder.close()
        if self._memory_builder is not None:
            self._memory_builder.close()
        if self._pinger is not None:
            await self._pinger.stop()
        if self.publisher is not None:
            await self.publisher.stop()
        await self._completer.stop()
        await self._archives.stop()
        if self._archive_files is not None and self._writes:
            # Pages written on request since the last build are listed, so a restart keeps their files.
            await asyncio.to_thread(self._archive_files.remember)

    @property
    def writing(self) -> bool:
        """The start-up build is served and its files are being written (``_write_deferred``)."""
        return self._writing is not None

    def status(self) -> dict[str, Any]:
        snapshot = self.snapshot
        outcome = self.last_outcome
        return {
            "ready": snapshot is not None,
            # Serving the last process's build until this one's first build (resume.py).
            "resumed": snapshot is not None and snapshot.resumed,
            "building": self.building,
            "writing": self.writing,
            "posts": snapshot.posts if snapshot else 0,
            "feeds": snapshot.feed_count if snapshot else 0,
            "documents": snapshot.documents if snapshot else 0,
            "last_build": None if outcome is None else outcome.as_dict(),
            "last_build_finished": None if self.last_build_finished is None else self.last_build_finished.isoformat(),
            "last_success": None if snapshot is None else snapshot.built_at.isoformat(),
            "last_duration": self.gauges.last_duration,
            "rejected": [] if snapshot is None else [{"path": r.path, "reason": r.reason} for r in snapshot.rejected],
            "next_scheduled_run": None if self.next_scheduled is None else self.next_scheduled.isoformat(),
            "builds": {"ok": self.gauges.builds_ok, "failed": self.gauges.builds_failed},
            "retry_in": self.retry_in,
            "publish": None if self.publisher is None else self.publisher.state.as_dict(),
        }
