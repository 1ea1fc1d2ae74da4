"""The set of posts: what the posts directory holds, as parsed records, and which of them a build publishes.

A build starts from the last build's records (or the parse cache's, on a process's first build), reads what changed
(``Corpus.rescan`` scans the whole directory, ``Corpus.update`` only the paths it is given) and gets a ``Delta``;
``Delta.apply`` gives the new records, and ``visible_posts`` the posts to publish, newest first, with a rejection for
each post whose URL another post already has (``revisit``: the same, from the last build's choice and the delta).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from syndicate import summaries
from syndicate._order import place
from syndicate._workers import Parallelism, each_in_parallel
from syndicate.attribution import compile_patterns
from syndicate.cache import CachedPost, ParseCache
from syndicate.config import Settings
from syndicate.documents import digest_of
from syndicate.lastbuild import PostNote, ScanSignature
from syndicate.posts import (
    Post,
    Rejection,
    Replaced,
    TooLarge,
    Unfinished,
    parse_post,
    read_post_file,
    share_values,
    text_record,
    with_summary_at,
)
from syndicate.scan import has_front_matter, is_post_path, scan_post_files
from syndicate.settle import NO_SETTLING, Settling

log = logging.getLogger("syndicate.build")

Records = Mapping[str, CachedPost]  # relative path -> the file as last read
# (path to open, path relative to the posts directory, the file as the scan found it): strings, as 100k Paths are
# large. The stat's device and inode must be the opened file's (posts.open_post).
Located = tuple[str, str, "os.stat_result | None"]
Read = tuple[str, "CachedPost | Unfinished"]  # (relative path, the file read, or why it was not read yet)
# Bytes of posts read by a build kept for its rendering (digest -> bytes): a post is read once per build, and
# rendered from the very bytes that were parsed. Beyond this many bytes they are read again, and used only if
# they hash to the parsed post's digest (posts.read_verified).
SOURCE_BYTES = 32 * 1024 * 1024
_BATCH = 5000  # the most posts parsed in one batch by one worker
Progress = Callable[[int, int], None]  # (files done, files in all)
_SUMMARIES_KEPT_IN = "cannot keep post summaries out of memory (%s); keeping them in memory"


class CorpusError(Exception):
    """The posts directory cannot be read (the message is for people); the build stops, the last feeds stay.
    ``public``: the same without the directory's path."""

    def __init__(self, message: str, public: str) -> None:
        super().__init__(message)
        self.public = public


@dataclass(frozen=True)
class Delta:
    """What a scan found changed since ``records``."""

    updates: Mapping[str, CachedPost]  # files read anew (or found unchanged by hash)
    removed: frozenset[str]
    deferred: frozenset[str]  # files still being written: build again later
    parsed: int  # files read and parsed (the rest were known by size and mtime)
    signature: str = ""  # of the whole directory, for a full rescan (see lastbuild.ScanSignature)
    sources: Mapping[str, bytes] = field(default_factory=dict)  # bytes read, by digest (see SOURCE_BYTES)

    def apply(self, records: Records) -> dict[str, CachedPost]:
        new = dict(records)
        new.update(self.updates)
        for rel in self.removed:
            new.pop(rel, None)
        return new

    def changes_nothing(self, records: Records) -> bool:
        """Whether applying it to ``records`` leaves every file's bytes as they were."""
        if self.removed:
            return False
        for rel, cached in self.updates.items():
            old = records.get(rel)
            if old is None or old.digest != cached.digest:
                return False
        return True


@dataclass(frozen=True)
class Visible:
    posts: tuple[Post, ...]  # published, newest first
    conflicts: tuple[Rejection, ...]  # posts left out because another post has their URL
    unpublished: int = 0  # posts left out by ``published: false`` (drafts)
    scheduled: int = 0  # posts left out because they are dated after ``now``
    # A Jekyll site's published documents of other collections (Post.collection), newest first: in jekyll-feed's
    # feeds of their collection, not in ``posts`` (Jekyll's site.posts does not hold them either).
    documents: tuple[Post, ...] = ()
    # What ``revisit`` starts from: the post keeping each URL, every post having a URL several have (oldest first),
    # both by permalink (see visible_posts), the time the posts were chosen at, and no later than the date of the
    # first post left out as scheduled.
    owners: Mapping[str, CachedPost] = field(default_factory=dict, repr=False)
    clashes: Mapping[str, tuple[CachedPost, ...]] = field(default_factory=dict, repr=False)
    now: float = float("nan")
    due: float = float("inf")
    # Every post left out for a reason (unreadable files and URL conflicts), and every remark on a published post
    # (path, remark), by path: ``rejections`` and ``notes`` of the records.
    rejected: tuple[Rejection, ...] = ()
    notes: tuple[PostNote, ...] = ()
    # Made by ``revisit``: the posts it was patched from (the very tuple), and those that left and entered them since,
    # so that grouping patches the feeds of those posts without comparing every post to find them (groups.regroup).
    # None: chosen anew.
    since: tuple[Post, ...] | None = field(default=None, repr=False, compare=False)
    left: tuple[Post, ...] = field(default=(), repr=False, compare=False)
    entered: tuple[Post, ...] = field(default=(), repr=False, compare=False)

    def moved_since(self, posts: tuple[Post, ...]) -> tuple[tuple[Post, ...], tuple[Post, ...]] | None:
        """(left, entered): the posts that left ``posts`` and those that entered, when this was patched from that
        very tuple; None when not known."""
        return (self.left, self.entered) if self.since is posts else None


NO_VISIBLE = Visible((), ())


def parse_file(
    path: str | Path,
    rel: str,
    settings: Settings,
    patterns: Sequence[re.Pattern[str]],
    known: CachedPost | None,
    expect: os.stat_result | None = None,
    settling: Settling = NO_SETTLING,
    seen: tuple[int, int] | None = None,
) -> CachedPost | Unfinished:
    """Read and parse one file (or reuse ``known`` when its bytes are unchanged); ``Unfinished`` while it may still be
    being written (see settle.py; ``seen``: its signature at an earlier look). ``expect``: the scan's stat of it."""
    return read_and_parse(path, rel, settings, patterns, known, expect, settling, seen)[0]


def read_and_parse(
    path: str | Path,
    rel: str,
    settings: Settings,
    patterns: Sequence[re.Pattern[str]],
    known: CachedPost | None,
    expect: os.stat_result | None = None,
    settling: Settling = NO_SETTLING,
    seen: tuple[int, int] | None = None,
) -> tuple[CachedPost | Unfinished, bytes | None]:
    """``parse_file``, with the bytes read (None when none were)."""

    def read(expected: os.stat_result | None) -> tuple[bytes, os.stat_result]:
        return read_post_file(
            path, settings.max_post_bytes, settings.posts, expect=expected, settle=settling.window, seen=seen
        )

    try:
        try:
            data, st = read(expect)
        except Replaced:
            # Not the file the scan found: most often an editor saved by renaming a new file over the old one.
            # Looked at once more; a file swapped again in between is left for a later build.
            try:
                data, st = read(os.lstat(path))
            except Replaced:
                return Unfinished("it was replaced while being read"), None
    except Unfinished as exc:
        # A new value, not the exception: its traceback holds this frame, which holds it (a cycle per deferral).
        return Unfinished(exc.reason, exc.signature), None
    except TooLarge as exc:  # no digest: a later scan reads the file again (by its stat alone, while it is too large)
        return CachedPost(exc.stat.st_size, exc.stat.st_mtime_ns, "", Rejection(rel, exc.reason)), None
    except OSError as exc:
        reason = f"cannot read the file: {exc.strerror or exc}"
        return CachedPost(0, 0, "", Rejection(rel, reason)), None
    digest = digest_of(data)  # a post file's bytes are hashed like a document's
    if known is not None and known.digest == digest:
        return CachedPost(st.st_size, st.st_mtime_ns, digest, known.record), data
    record = parse_post(data, rel, settings, patterns, digest)
    return CachedPost(st.st_size, st.st_mtime_ns, digest, record), data


def shared(cached: CachedPost, values: dict[object, object], summary_at: int = -1) -> CachedPost:
    """``cached`` with its post holding the values in ``values`` (see posts.share_values), and where its summary is
    kept out of memory instead of the summary when ``summary_at`` says (see summaries.py)."""
    post = cached.record
    if not isinstance(post, Post):
        return cached
    kept = share_values(post, values, summary_at)
    return cached if kept is post else CachedPost(cached.size, cached.mtime_ns, cached.digest, kept)


def _lean(st: os.stat_result, shared: dict[int, int]) -> os.stat_result:
    """``st`` with only what reading the file checks (type, device and inode, size, mtime), its type and device shared
    through ``shared``: a cold build of a million posts keeps one per file until it is parsed, and a whole one holds a
    dozen number objects more."""
    mode, device = shared.setdefault(st.st_mode, st.st_mode), shared.setdefault(st.st_dev, st.st_dev)
    return os.stat_result((mode, st.st_ino, device, 0, 0, 0, st.st_size, 0, 0, 0), {"st_mtime_ns": st.st_mtime_ns})


# settings, files, region of the summary store (or None), the settle window
ParseBatch = tuple[Settings, list[Located], int | None, Settling]


def _parse_batch(args: ParseBatch) -> list[Read]:
    """Process-pool worker: parse a batch of files. With a region of the summary store (``summaries.reserve``),
    the posts' summaries are written there and the posts carry only where they are."""
    settings, batch, region, settling = args
    patterns = compile_patterns(settings.attribution_patterns)
    # Equal values shared here travel once per batch (pickle sends an object it has already sent as a reference),
    # so this process never allocates, and frees, a copy per post: that would leave the freed copies as holes in
    # memory that a large build could not give back.
    values: dict[object, object] = {}
    writer = summaries.Writer(region) if region is not None else None
    results: list[Read] = []
    stored: list[tuple[int, int]] = []  # (index in results, where its summary is)
    for p, rel, st in batch:
        cached = parse_file(p, rel, settings, patterns, None, st, settling)
        if isinstance(cached, CachedPost):
            cached = shared(cached, values)
            post = cached.record
            if writer is not None and isinstance(post, Post):
                record = text_record(post)
                if summaries.fits(record):  # always, as front matter is capped at 64 KB; else the text stays in memory
                    stored.append((len(results), writer.add(record)))
        results.append((rel, cached))
    if writer is not None:
        try:
            writer.flush()
        except OSError as exc:  # the temporary directory is full, say: the summaries stay in memory
            log.warning(_SUMMARIES_KEPT_IN, exc)
            stored = []
    for n, at in stored:
        rel, cached = results[n]
        assert isinstance(cached, CachedPost) and isinstance(cached.record, Post)
        results[n] = (rel, CachedPost(cached.size, cached.mtime_ns, cached.digest, with_summary_at(cached.record, at)))
    return results


class Sources:
    """Bytes of the posts a build read, by digest, up to SOURCE_BYTES in all."""

    def __init__(self) -> None:
        self.by_digest: dict[str, bytes] = {}
        self._size = 0

    def keep(self, cached: CachedPost | Unfinished, data: bytes | None) -> None:
        if data is None or not isinstance(cached, CachedPost) or not isinstance(cached.record, Post):
            return
        if self._size + len(data) <= SOURCE_BYTES and cached.digest not in self.by_digest:
            self.by_digest[cached.digest] = data
            self._size += len(data)


class Corpus:
    """Reads a posts directory into records.

    ``keep_summaries_out``: keep the posts' summaries (parsed, or loaded from the cache) in a temporary file
    (summaries.py) rather than in memory. ``settling``: how long a changed file must stay unchanged before it is
    read (settle.py); which files have not settled, and since when, is kept from one build to the next.
    """

    def __init__(
        self,
        settings: Settings,
        patterns: Sequence[re.Pattern[str]],
        parallelism: Parallelism,
        *,
        keep_summaries_out: bool = False,
        progress: Progress | None = None,
        settling: Settling = NO_SETTLING,
    ) -> None:
        self.settings = settings
        self.settling = settling
        self._unsettled: dict[str, float] = {}  # relative path -> time.monotonic() when first found unsettled
        self.root = settings.posts
        self._patterns = patterns
        self._parallelism = parallelism
        self._keep_summaries_out = keep_summaries_out
        self._progress = progress
        self._root_device: int | None = None  # of a posts directory that is a mount point; -1 if it is not one

    def load(self, cache: ParseCache | None) -> dict[str, CachedPost]:
        """The records the parse cache holds (a process's first build starts from them)."""
        if cache is None:
            return {}
        values: dict[object, object] = {}
        loaded = cache.load_posts()
        # Each loaded post is let go as its shared copy is made, so a large site is never held twice; its summary is
        # kept out of memory a batch at a time.
        records: dict[str, CachedPost] = {}
        names = list(loaded)
        for start in range(0, len(names), _BATCH):
            records.update(self._shared([(rel, loaded.pop(rel)) for rel in names[start : start + _BATCH]], values))
        return records

    def check_root(self) -> None:
        """Raise CorpusError if the posts directory cannot be read, or was a mount point and is no longer mounted."""
        root = self.root
        try:
            st = root.stat()
        except OSError as exc:
            raise CorpusError(
                f"posts directory {root} cannot be read: {exc.strerror or exc}", "the posts directory cannot be read"
            ) from None
        if not root.is_dir():
            raise CorpusError(f"posts directory {root} is not a directory", "the posts directory is not a directory")
        # A posts directory that was a mount point and now sits on its parent's device was unmounted: publishing
        # the empty directory would wipe every feed, so refuse until it is back.
        parent_dev = os.stat(root.resolve().parent).st_dev
        is_mount = st.st_dev != parent_dev
        if self._root_device is None:
            self._root_device = st.st_dev if is_mount else -1
        elif self._root_device != -1 and not is_mount:
            raise CorpusError(
                f"posts directory {root} was a mount point and is no longer mounted",
                "the posts directory was a mount point and is no longer mounted",
            )

    def rescan(self, records: Records) -> Delta:
        """Scan the whole directory: files whose size or mtime changed are read, missing ones removed."""
        seen: set[str] = set()
        to_parse: list[Located] = []
        signature = ScanSignature()
        numbers: dict[int, int] = {}
        for path, rel, st in scan_post_files(self.root, self.settings.jekyll):
            seen.add(rel)
            signature.add(rel, st)
            known = records.get(rel)
            if known is not None and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns) and known.digest:
                continue
            to_parse.append((path, rel, _lean(st, numbers)))
        removed = frozenset(set(records) - seen)
        seen.clear()  # not held while the files are parsed (a million paths' set: ~32 MB)
        count = len(to_parse)
        updates, deferred, sources = self._read(to_parse, records, removed)
        return Delta(updates, removed, deferred, count, signature.hexdigest(), sources)

    def _read(
        self, to_parse: list[Located], records: Records, removed: Iterable[str]
    ) -> tuple[dict[str, CachedPost], frozenset[str], dict[str, bytes]]:
        """Read and parse ``to_parse`` (emptied: its files are let go as they are parsed): the records read, the files
        left for a later build (not settled), and the bytes read by digest (up to SOURCE_BYTES)."""
        sources = Sources()
        batches: Iterable[list[Read]]
        total = len(to_parse)
        parallel = total >= self._parallelism.parse_from and self._parallelism.count > 1
        # Where each file is, for those not settled yet (read again below): taken from each batch's files before
        # they are let go.
        paths: dict[str, tuple[str, os.stat_result | None]] = {}
        given: list[list[Located]] = []
        if parallel:
            given = self._batches(to_parse)
            # The files to read are held by their batches only, each let go once its results are in: a cold start of
            # a million posts held every one (a path, a stat and a tuple: ~400 bytes) until the last was parsed.
            to_parse.clear()
            batches = self._parse_parallel(given)  # the bytes stay in the workers: rendering reads them again
        else:
            results = []
            for n, (p, rel, st) in enumerate(to_parse, 1):
                cached, data = read_and_parse(
                    p, rel, self.settings, self._patterns, records.get(rel), st, self.settling
                )
                results.append((rel, cached))
                sources.keep(cached, data)
                if self._progress is not None and n % 100 == 0:
                    self._progress(n, len(to_parse))
            batches = (results,)
        updates: dict[str, CachedPost] = {}
        unfinished: dict[str, Unfinished] = {}
        values: dict[object, object] = {}
        done = 0  # batches whose results are in
        # Each batch is taken as it comes, each parsed post let go as its shared copy is made (and its summary kept
        # out of memory): a large site is never held twice, nor all its parse results at once.
        for batch in batches:
            taken: list[tuple[str, CachedPost]] = []
            for rel, cached in batch:
                if isinstance(cached, Unfinished):
                    unfinished[rel] = cached
                else:
                    taken.append((rel, cached))
            if given:
                files = given[done]
                if unfinished:
                    paths.update((rel, (p, st)) for p, rel, st in files if rel in unfinished)
                files.clear()
                done += 1
            batch.clear()
            updates.update(self._shared(taken, values))
            taken.clear()
            if self._progress is not None and parallel:
                self._progress(len(updates) + len(unfinished), total)
        if unfinished:
            if not given:
                paths = {rel: (p, st) for p, rel, st in to_parse if rel in unfinished}
            # Shared, and their text kept out of memory, like the files read at once.
            updates.update(self._shared(self._settle(unfinished, paths, records, updates, sources), values))
        to_parse.clear()
        for rel in (*updates, *removed):
            self._unsettled.pop(rel, None)
        return updates, frozenset(unfinished), sources.by_digest

    def _settle(
        self,
        unfinished: dict[str, Unfinished],
        paths: Mapping[str, tuple[str, os.stat_result | None]],
        records: Records,
        updates: dict[str, CachedPost],
        sources: Sources,
    ) -> list[tuple[str, CachedPost]]:
        """Wait (up to ``settling.wait``) for files that may still be being written, reading each once it has stayed
        unchanged for the window; those still changing stay in ``unfinished`` (deferred), or, unsettled for longer
        than ``settling.limit``, become rejections (in ``updates``). Returns what it read, taken from ``unfinished``."""
        settling = self.settling
        settled: list[tuple[str, CachedPost]] = []
        waited = 0.0
        looked = dict.fromkeys(unfinished, time.monotonic())  # when each was last found unsettled (or later)
        while unfinished and waited < settling.wait:
            signatures = (why.signature for why in unfinished.values())
            pause = min(settling.pause(signatures, time.time_ns()), settling.wait - waited)
            time.sleep(pause)
            waited += pause
            for rel, before in list(unfinished.items()):
                p, st = paths[rel]
                # An unchanged signature vouches for a file only a whole window after the look that found it: a
                # look sooner (the pause ends when another file can have settled) judges by its mtime alone.
                seen = before.signature if time.monotonic() - looked[rel] >= settling.window else None
                cached, data = read_and_parse(
                    p, rel, self.settings, self._patterns, records.get(rel), st, settling, seen
                )
                if isinstance(cached, Unfinished):
                    if cached.signature != before.signature or seen is not None:
                        looked[rel] = time.monotonic()
                    unfinished[rel] = cached
                else:
                    del unfinished[rel]
                    settled.append((rel, cached))
                    sources.keep(cached, data)
        now = time.monotonic()
        for rel, why in list(unfinished.items()):
            since = self._unsettled.setdefault(rel, now)
            if now - since > settling.limit:
                del unfinished[rel]
                reason = (
                    f"still being written after {now - since:.0f} s ({why.reason}); it is published once it has "
                    f"stayed unchanged for {settling.window:g} s"
                )
                updates[rel] = CachedPost(0, 0, "", Rejection(rel, reason))  # no digest: read again when it changes
        return settled

    def _batches(self, to_parse: list[Located]) -> list[list[Located]]:
        # Small batches: when the files run out, one worker idles for at most the other's last batch; and at most
        # _BATCH posts, so that the results waiting to be taken (corpus._read) stay small on the largest sites.
        size = min(_BATCH, max(100, len(to_parse) // (self._parallelism.count * 16)))
        return [to_parse[start : start + size] for start in range(0, len(to_parse), size)]

    def _parse_parallel(self, given: list[list[Located]]) -> Iterator[list[Read]]:
        workers = self._parallelism.count
        first = None
        # The workers write summaries into this process's store file only when forked from here (they share its
        # descriptor); a fork server's workers (this process has other threads) would each write a file of their own.
        if self._keep_summaries_out and self._parallelism.can_fork():
            try:
                first = summaries.reserve(len(given))
            except OSError as exc:  # no temporary file to be had: they stay in memory
                log.warning(_SUMMARIES_KEPT_IN, exc)
        batches: list[ParseBatch] = [
            (self.settings, files, None if first is None else first + n * summaries.REGION, self.settling)
            for n, files in enumerate(given)
        ]
        return each_in_parallel(_parse_batch, batches, workers)

    def _shared(
        self, taken: list[tuple[str, CachedPost]], values: dict[object, object]
    ) -> list[tuple[str, CachedPost]]:
        """``taken`` with each post holding the values in ``values`` (see ``shared``), and, if summaries are kept out
        of memory, with the text its posts hold (posts.text_record) written to the summary store and each post holding
        where it is instead (each post made once for both)."""
        where: dict[int, int] = {}
        if self._keep_summaries_out:
            records = [
                (n, text_record(c.record))
                for n, (_, c) in enumerate(taken)
                if isinstance(c.record, Post) and c.record.summary_at < 0
            ]
            held = [(n, record) for n, record in records if summaries.fits(record)]  # the rest stay in memory
            if held:
                try:
                    where = dict(zip([n for n, _ in held], summaries.keep([r for _, r in held]), strict=True))
                except OSError as exc:  # the temporary directory is full, say: the summaries stay in memory
                    log.warning(_SUMMARIES_KEPT_IN, exc)
        return [(rel, shared(cached, values, where.get(n, -1))) for n, (rel, cached) in enumerate(taken)]

    def release(self, before: Records, delta: Delta, records: Records) -> None:
        """Tell the summary store which text ``delta`` (from ``before`` to ``records``) left unread: the text of posts
        read again or removed (see summaries.release)."""
        if not self._keep_summaries_out:
            return
        for rel in (*delta.updates, *delta.removed):
            old = before.get(rel)
            if old is None or not isinstance(old.record, Post) or old.record.summary_at < 0:
                continue
            new = records.get(rel)
            if new is None or not isinstance(new.record, Post) or new.record.summary_at != old.record.summary_at:
                summaries.release(old.record.summary_at)

    def compact(self, records: Records) -> tuple[dict[str, CachedPost], summaries.Generation] | None:
        """``records`` with their posts' text copied into a new generation of the summary store, and it, once the
        dead text of the current one has passed its live text (None: not worth it, or it could not be done). The
        posts are new objects (the build that uses them starts afresh); the old ones, which a served snapshot may
        hold, still read their own generation."""
        if not self._keep_summaries_out:
            return None

        def live() -> int:
            return sum(
                summaries.length(c.record.summary_at)
                for c in records.values()
                if isinstance(c.record, Post) and c.record.summary_at >= 0
            )

        if not summaries.worth_compacting(live):
            return None
        generation = summaries.start()
        if generation is None:
            return None
        moved = [(rel, c) for rel, c in records.items() if isinstance(c.record, Post) and c.record.summary_at >= 0]
        compacted = dict(records)
        try:
            for first in range(0, len(moved), _BATCH):  # a batch at a time: a large site's text is never all in memory
                batch = moved[first : first + _BATCH]
                texts = [summaries.read(c.record.summary_at) for _, c in batch]  # type: ignore[union-attr]
                for (rel, c), at in zip(batch, summaries.keep(texts, into=generation), strict=True):
                    post = with_summary_at(c.record, at)  # type: ignore[arg-type]
                    compacted[rel] = CachedPost(c.size, c.mtime_ns, c.digest, post)
        except OSError as exc:  # the temporary directory is full, say: the current generation stays
            log.warning("cannot compact the post summaries kept out of memory (%s)", exc)
            return None
        log.info("compacted post summaries: %d posts' text copied into a new store file", len(moved))
        return compacted, generation

    def update(self, records: Records, changed: Iterable[Path]) -> Delta:
        """Read only the ``changed`` paths (a watcher's events): gone or moved out of the tree means removed."""
        root = self.root
        removed: set[str] = set()
        to_parse: list[Located] = []
        real_root = os.path.realpath(root)
        for path in changed:
            path = path if path.is_absolute() else root / path
            try:
                rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
            except ValueError:
                continue  # not under the posts directory
            if not is_post_path(rel, self.settings.jekyll):
                continue
            # Read by its resolved path, as the scan does (a link inside the tree is a post; see scan.py).
            target = os.path.realpath(path)
            try:
                st = os.stat(target)
            except OSError:
                st = None
            site = self.settings.jekyll
            if (
                st is None
                or not stat.S_ISREG(st.st_mode)
                or os.path.commonpath([real_root, target]) != real_root
                or (
                    site is not None and site.post_kind(rel) not in ("posts", "drafts") and not has_front_matter(target)
                )
            ):
                if rel in records:
                    removed.add(rel)
                continue
            to_parse.append((target, rel, st))
        count = len(to_parse)
        updates, deferred, sources = self._read(to_parse, records, removed)
        return Delta(updates, frozenset(removed), deferred, count, sources=sources)


def visible_posts(records: Records, now: float, future: bool) -> Visible:
    """Published posts (dated up to ``now``, a timestamp, unless ``future``), newest first, and a Rejection for each
    post whose URL another post already has; counts the drafts and future-dated posts left out. A Jekyll site's
    documents of other collections go by the same rules, and are given apart (``Visible.documents``).

    Of posts with one URL, the oldest by date keeps it, and of those dated alike the first by path; the others are
    rejected, each reason naming the post that keeps the URL. So a new file whose ``permalink:`` (or slug and date)
    names an existing post's URL never takes over that post's entry id and link, wherever its path sorts (a newcomer
    dated earlier still wins: nothing in the files says which came first, and their mtimes do not survive a copy).
    """
    # An entry's URL is its atom:id, RSS guid and JSON Feed id, which must be unique in a feed (RFC 4287 §4.1.1) and
    # must not move to another entry (§4.2.6: an id is permanent); two files with one permalink (a copy, a symlink,
    # the same slug and date, a permalink naming another post's URL) would give duplicate ids. URLs are told apart by
    # their permalinks: every post has the site's URL in front (Post.site), and a million posts' URLs held as keys
    # would take a hundred megabytes more.
    owners: dict[str, CachedPost] = {}
    clashes: dict[str, list[CachedPost]] = {}
    unpublished = scheduled = 0
    due = float("inf")
    for cached in records.values():
        post = cached.record
        if not isinstance(post, Post):
            continue
        if not post.published:
            unpublished += 1
        elif not future and cached.order[0] > now:  # by the precomputed timestamp: aware datetimes compare slowly
            scheduled += 1
            due = min(due, cached.order[0])
        else:
            owner = owners.setdefault(post.permalink, cached)
            if owner is not cached:
                clashes.setdefault(post.permalink, [owner]).append(cached)
    conflicts: list[Rejection] = []
    for url, same in clashes.items():
        same.sort(key=attrgetter("order"))  # (date as a timestamp, path): the oldest first
        keeper = owners[url] = same[0]
        conflicts.extend(_conflict(other, keeper, url) for other in same[1:])
    conflicts.sort(key=attrgetter("path"))
    ordered = [c.record for c in sorted(owners.values(), key=attrgetter("order"), reverse=True)]
    posts = tuple(p for p in ordered if not p.collection)  # type: ignore[union-attr]
    documents = tuple(p for p in ordered if p.collection) if len(posts) < len(ordered) else ()  # type: ignore[union-attr]
    kept = {url: tuple(same) for url, same in clashes.items()}
    return Visible(
        posts,  # type: ignore[arg-type]
        tuple(conflicts),
        unpublished,
        scheduled,
        documents,  # type: ignore[arg-type]
        owners,
        kept,
        now,
        due,
        rejections(records, conflicts),
        notes(records),
    )


def _conflict(other: CachedPost, keeper: CachedPost, permalink: str) -> Rejection:
    url = keeper.record.url if isinstance(keeper.record, Post) else permalink
    return Rejection(
        other.record.path,
        f"has the same URL as {keeper.record.path} ({url}), which keeps it (the oldest post "
        "keeps a URL, then the first by path); give this post another slug, date or permalink",
    )


# Beyond this share of the posts changed, choosing the visible posts anew is as quick as patching the last choice.
_REVISIT_SHARE = 0.05


def revisit(previous: Visible, before: Records, delta: Delta, records: Records, now: float, future: bool) -> Visible:
    """``visible_posts(records, now, future)``, from ``previous`` (``visible_posts`` of ``before`` at an earlier time)
    and the ``delta`` that made ``records`` from ``before``: only the changed files and the URLs they had or have
    are looked at, so a new post costs what it changed, not a pass over every post.

    Chosen anew when that would be as quick, when time has moved back or reached the date of a post left out as
    scheduled (which may now be published), or for a Jekyll site's documents of other collections."""
    changed = [*delta.updates, *delta.removed]
    if (
        not now >= previous.now  # also NaN: NO_VISIBLE, nothing to start from
        or (not future and previous.due <= now)
        or previous.documents
        or len(changed) > max(8, _REVISIT_SHARE * len(records))
    ):
        return visible_posts(records, now, future)
    owners = dict(previous.owners)
    clashes = dict(previous.clashes)
    unpublished, scheduled, due = previous.unpublished, previous.scheduled, previous.due
    having: dict[str, list[CachedPost]] = {}  # every URL a changed file had or has -> the posts that have it
    for rel in changed:
        for cached, entering in ((before.get(rel), False), (records.get(rel), True)):
            if cached is None or not isinstance(cached.record, Post):
                continue
            post = cached.record
            if post.collection:
                return visible_posts(records, now, future)
            step = 1 if entering else -1
            if not post.published:
                unpublished += step
            elif not future and cached.order[0] > now:  # nothing became due since ``previous``: the same for both
                scheduled += step
                due = min(due, cached.order[0]) if entering else due  # a bound: removing one leaves it early
            else:
                url = post.permalink  # the keys of owners and clashes (see visible_posts)
                same = having.get(url)
                if same is None:
                    same = having[url] = list(clashes.get(url) or ((owners[url],) if url in owners else ()))
                if entering:
                    same.append(cached)
                else:
                    same.remove(cached)  # by identity (CachedPost has no __eq__): the very record ``before`` held
    left: list[Post] = []
    entered: list[Post] = []
    stale: set[str] = set()  # paths of the conflicts of the changed URLs as they were
    conflicts: list[Rejection] = []
    for url, same in having.items():
        was = previous.owners.get(url)
        stale.update(c.record.path for c in previous.clashes.get(url, ()))
        clashes.pop(url, None)
        if not same:
            del owners[url]
        else:
            same.sort(key=attrgetter("order"))
            owners[url] = same[0]
            if len(same) > 1:
                clashes[url] = tuple(same)
                conflicts.extend(_conflict(other, same[0], url) for other in same[1:])
        now_owner = owners.get(url)
        if was is not now_owner:
            if was is not None:
                left.append(was.record)  # type: ignore[arg-type]
            if now_owner is not None:
                entered.append(now_owner.record)  # type: ignore[arg-type]
    posts = list(previous.posts)
    for post in left:
        at = place(posts, post)
        assert posts[at] is post  # one post per path: the one at its place is it
        del posts[at]
    for post in entered:
        posts.insert(place(posts, post), post)
    fresh = tuple(conflicts)  # of the changed URLs
    if stale or conflicts:
        conflicts.extend(c for c in previous.conflicts if c.path not in stale)
        conflicts.sort(key=attrgetter("path"))
    kept = tuple(conflicts) if stale or conflicts else previous.conflicts
    # The rejections and remarks of the changed files and URLs go; those the files and URLs have now come in.
    gone = {*changed, *stale}
    rejected = [r for r in previous.rejected if r.path not in gone]
    rejected.extend(c.record for rel in changed if (c := records.get(rel)) and isinstance(c.record, Rejection))
    rejected.extend(fresh)
    remarks = [n for n in previous.notes if n[0] not in changed]
    remarks.extend((rel, note) for rel in changed if (c := records.get(rel)) for note in _remarks(c))
    return Visible(
        tuple(posts),
        kept,
        unpublished,
        scheduled,
        (),
        owners,
        clashes,
        now,
        due,
        tuple(sorted(rejected, key=attrgetter("path"))),
        tuple(sorted(remarks)),
        previous.posts,
        tuple(left),
        tuple(entered),
    )


def next_due(records: Records, now: float) -> float | None:
    """When the next future-dated published post comes due (a timestamp), if any."""
    waiting = [
        c.order[0] for c in records.values() if c.order[0] > now and isinstance(c.record, Post) and c.record.published
    ]
    return min(waiting, default=None)


def rejections(records: Records, conflicts: Iterable[Rejection]) -> tuple[Rejection, ...]:
    """Every post left out for a reason, by path."""
    found = [*(c.record for c in records.values() if isinstance(c.record, Rejection)), *conflicts]
    return tuple(sorted(found, key=lambda r: r.path))


def notes(records: Records) -> tuple[PostNote, ...]:
    """(path, remark) for each remark on a published post, by path."""
    return tuple(sorted((rel, note) for rel, c in records.items() for note in _remarks(c)))


def _remarks(cached: CachedPost) -> tuple[str, ...]:
    return cached.record.notes if isinstance(cached.record, Post) else ()
