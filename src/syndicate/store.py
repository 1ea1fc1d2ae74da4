"""The output directory: feed documents written atomically, stale ones removed.

Each file is written to a temporary file beside it and renamed over the old one (``os.replace`` is atomic on POSIX),
so a reader (or nginx serving the directory) sees either the old or the new bytes, never a partial file. All new
files are written first and only then renamed: a build that fails while writing (disk full, permissions) renames
nothing and leaves every previous feed in place.

Only files this program wrote are ever removed: their names are kept in a manifest (``.syndicate-manifest.json``,
with a journal of each build's changes since it was last written whole: manifest.py), updated once per build after
its renames; while a build renames files into place, the paths it is changing are listed in a small pending file
beside it (``.syndicate-manifest.pending``), which ``read_manifest`` counts as this program's files with unknown
bytes.

Documents nginx serves from disk get a gzip sibling ``<file>.gz`` (gzipfiles.py; which ones the caller says). nginx's
``gzip_static`` serves the sibling whenever it exists, so one must never outlive its document's bytes: it is staged
with the document, an old one is removed before the document is renamed over and the new one renamed in after it
(a reader meanwhile finds no sibling and nginx gzips the document itself), and it is listed in the manifest under its
own path with a digest derived from the document's, so a removed document's sibling goes with it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from functools import partial
from pathlib import Path

from syndicate.documents import Document
from syndicate.gzipfiles import SUFFIX, gzip_bytes, sibling, sibling_digest
from syndicate.manifest import (
    JOURNAL,
    MANIFEST,
    PENDING,
    Mark,
    entries_as_of,
    read_manifest,
    read_pending,
    update_manifest,
)

__all__ = ["JOURNAL", "MANIFEST", "PENDING", "read_manifest"]  # the manifest (manifest.py), as the store keeps it

_TEMP_PREFIX = ".tmp-"
_names = itertools.count()
_made_dirs: set[str] = set()  # directories known to exist: a build stages thousands of files into a few hundred


log = logging.getLogger("syndicate.store")

# Output locks held by this process. A flock belongs to the open file, which a fork shares: build workers forked while
# a build holds the lock would keep it after the build ends, and an orphaned worker of a killed build would keep every
# later build waiting. So a forked child closes its copies at once (closing a copy never releases the parent's lock).
_held_locks: set[int] = set()


def _close_held_locks() -> None:
    for fd in _held_locks:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_close_held_locks)


# Which documents get a gzip sibling, by path (None: none do).
GzipWanted = Callable[[str], bool] | None


class StoreError(Exception):
    """Writing the output directory failed; nothing was replaced."""


def _safe_target(root: Path, rel: str) -> Path:
    # Document paths come from slugs that cannot contain '/' or '..', but the store checks anyway: nothing is
    # written outside the output directory whatever a caller passes.
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") or "\x00" in p or "\\" in p for p in parts):
        raise StoreError(f"refusing to write outside the output directory: {rel!r}")
    return root.joinpath(*parts)


def _write_temp(target: Path, body: bytes) -> str:
    parent = os.fspath(target.parent)
    fd = -1
    for _ in range(100):
        if parent not in _made_dirs:
            os.makedirs(parent, exist_ok=True)
            _made_dirs.add(parent)
        # Unique per process (pid) and file (counter): cheaper than mkstemp's random names. A name left behind by
        # a killed process that had the same pid is skipped.
        tmp = os.path.join(parent, f"{_TEMP_PREFIX}{os.getpid()}-{next(_names)}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            break
        except FileExistsError:
            continue
        except FileNotFoundError:
            _made_dirs.discard(parent)  # removed since it was made (by hand, or pruned when emptied): make it again
    else:
        raise FileExistsError(errno.EEXIST, "cannot create a temporary file", parent)
    try:
        os.fchmod(fd, 0o644)  # readable by a web server whatever the umask, like the files it replaces
        view = memoryview(body)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class Staging:
    """Temporary files for documents about to be written, created by a few threads while the caller goes on.

    A build stages each archive page as soon as it is rendered, so its bytes need not be kept (or stored and read
    back) until the write, and creating files (most of a cold build's writing time, mostly waiting on the file
    system) overlaps the rendering. At most ``pending`` bodies wait for a thread at a time. ``write_documents`` renames
    what was staged; ``discard`` removes it.
    """

    def __init__(
        self,
        root: Path,
        threads: int = 4,
        pending: int = 64,
        gzip_wanted: GzipWanted = None,
        keep_gzipped: bool = False,
        pool: ThreadPoolExecutor | None = None,
    ) -> None:
        """``pool``: threads to stage with, shared with later stagings (not shut down here; ``threads`` is then
        ignored). A server's builds each stage a handful of files: starting and joining four threads for each was a
        tenth of a new post's build (docs/benchmarks.md, "The new-post path")."""
        self.root = root
        self.gzip_wanted = gzip_wanted
        # keep_gzipped: the siblings' bytes are kept (document digest -> gzip bytes, where gzip made them smaller, as
        # the app's representation), for a server to serve rather than compress the same bytes again.
        self.gzipped: dict[str, bytes] | None = {} if keep_gzipped else None
        # Gzip bytes made already (document digest -> bytes; gzipfiles.gzip_bytes, as a served representation is):
        # written as they are rather than compressed again.
        self.known_gzip: Mapping[str, bytes] = {}
        # threads=0: each file is written by stage() itself. A forked worker that only renders and writes gains
        # nothing from threads there: they contend with the renderer for the GIL at every step of creating a file.
        self._own_pool = pool is None and threads > 0
        self._pool = pool if pool is not None else ThreadPoolExecutor(max_workers=threads) if threads else None
        self._slots = threading.BoundedSemaphore(pending)
        # rel -> (digest, temporary file, or the future one while a thread writes it); paths as strings, as a
        # large build stages tens of thousands of files (docs/benchmarks.md) and a Path object is several times
        # the size of its string
        self._staged: dict[str, tuple[str, Future[str] | str]] = {}

    def stage(self, rel: str, body: bytes, digest: str) -> None:
        """Stage the document at ``rel``, and its gzip sibling if it gets one."""
        self._stage(rel, body, digest, _write_temp)
        if self.gzip_wanted is not None and self.gzip_wanted(rel):
            self.stage_gzip(rel, body, digest)

    def stage_gzip(self, rel: str, body: bytes, digest: str) -> None:
        """Stage only the gzip sibling of the document at ``rel`` (whose own file is current)."""
        self._stage(sibling(rel), body, sibling_digest(digest), partial(self._write_gzip_temp, digest))

    def _write_gzip_temp(self, digest: str, target: Path, body: bytes) -> str:
        compressed = self.known_gzip.get(digest)
        if compressed is None:
            compressed = gzip_bytes(body)  # in the staging thread: zlib releases the GIL
        if self.gzipped is not None and len(compressed) < len(body):
            self.gzipped[digest] = compressed
        return _write_temp(target, compressed)

    def _stage(self, rel: str, body: bytes, digest: str, write: Callable[[Path, bytes], str]) -> None:
        target = _safe_target(self.root, rel)
        if self._pool is None:
            self._put(rel, digest, write(target, body))
            return
        self._slots.acquire()
        try:
            future = self._pool.submit(write, target, body)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        self._put(rel, digest, future)

    def adopt(self, rel: str, digest: str, tmp: str) -> None:
        """Take over a temporary file for ``rel`` staged by another process."""
        self._put(rel, digest, tmp)

    def _put(self, rel: str, digest: str, staged: Future[str] | str) -> None:
        old = self._staged.pop(rel, None)
        if old is not None:
            self._drop(old[1])
        self._staged[rel] = (digest, staged)

    def has(self, rel: str, digest: str) -> bool:
        staged = self._staged.get(rel)
        return staged is not None and staged[0] == digest

    def finish(self, keep: Iterable[str]) -> dict[str, str]:
        """Wait for every file; remove those not in ``keep``. Raises the first OSError (having removed them all)."""
        self._close()
        wanted = set(keep)
        result: dict[str, str] = {}
        failure: OSError | None = None
        for rel, (_, staged) in self._staged.items():
            try:
                tmp = staged if isinstance(staged, str) else staged.result()
            except OSError as exc:
                failure = failure or exc
                continue
            if rel in wanted:
                result[rel] = tmp
            else:
                _unlink(tmp)
        self._staged = {}
        if failure is not None:
            for tmp in result.values():
                _unlink(tmp)
            raise failure
        return result

    def discard(self) -> None:
        """Remove every staged file (a build that failed before writing)."""
        self._close()
        for _, staged in self._staged.values():
            self._drop(staged)
        self._staged = {}

    def _close(self) -> None:
        """Wait for the threads' work: a pool of its own is shut down; in a shared one, each future is waited on."""
        if self._own_pool and self._pool is not None:
            self._pool.shutdown(wait=True)
        else:
            wait([staged for _, staged in self._staged.values() if not isinstance(staged, str)])

    @staticmethod
    def _drop(staged: Future[str] | str) -> None:
        try:
            _unlink(staged if isinstance(staged, str) else staged.result())
        except OSError:
            pass  # never created


def write_file(root: Path, rel: str, body: bytes) -> None:
    """Write one file atomically (a temporary file renamed into place), outside a build: an archive page a server
    made on request (archivefiles.py). Raises OSError (nothing replaced, no temporary file left)."""
    try:
        target = _safe_target(root, rel)
    except StoreError as exc:
        raise OSError(errno.EINVAL, str(exc)) from None
    tmp = _write_temp(target, body)
    try:
        os.replace(tmp, target)
    except BaseException:
        _unlink(tmp)
        raise


def write_documents(
    root: Path,
    documents: Mapping[str, Document],
    changed: Iterable[str],
    staging: Staging | None = None,
    *,
    kept: Mapping[str, str] | None = None,
    ours: Iterable[str] = (),
    scope: Collection[str] | None = None,
    since: Mark | None = None,
) -> set[str]:
    """Write the ``changed`` documents, remove files of earlier builds not in ``documents``; return removed paths.

    ``kept``: files written outside builds that stay (path -> digest; archive pages a server made on request), listed
    in the manifest and not removed. ``ours``: more paths known to be this program's files though the manifest may
    not list them, removed unless kept. Documents already staged (with the same digest) in ``staging`` are taken from
    there. Raises StoreError (with nothing renamed and every temporary file removed) if any file cannot be written.

    ``scope`` and ``since``: the caller's word that documents and ``kept`` differ only at these paths (documents' or
    kept files'; their ``.gz`` siblings follow) from those of its write that left the manifest as ``since`` marked it
    (``manifest.mark``, taken after that write): only they are compared with the manifest, not every path it lists,
    unless the manifest changed since (then all are).
    """
    kept = kept or {}
    staging = staging if staging is not None else Staging(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        staging.discard()
        raise StoreError(f"cannot create output directory {root}: {exc.strerror or exc}") from None
    changed = sorted(changed)
    ours = set(ours)
    listed = entries_as_of(root, since) if scope is not None and since is not None else None
    if scope is None or listed is None:
        previous = read_manifest(root)
        wanted = manifest_entries(documents, staging.gzip_wanted)
        compared: Iterable[str] = documents
        kept_compared = kept
    else:
        # Only the paths that may have changed: a new post's few dozen, not every archive page the manifest lists.
        pending = read_pending(root)
        paths = {*scope, *changed, *ours, *pending}
        paths.update([sibling(p) for p in paths])
        previous = {p: listed[p] for p in paths if p in listed}
        previous.update(dict.fromkeys(pending, ""))
        compared = [p for p in paths if p in documents]
        wanted = manifest_entries({p: documents[p] for p in compared}, staging.gzip_wanted)
        kept_compared = {p: kept[p] for p in paths if p in kept}
    # Siblings are written with their documents, and those of unchanged documents that the last manifest does not
    # vouch for (the first build that makes them, or one killed before its renames).
    rewritten = set(changed)
    gzipped = [
        rel
        for rel in compared
        if sibling(rel) in wanted and (rel in rewritten or previous.get(sibling(rel)) != wanted[sibling(rel)])
    ]
    staged: dict[str, str] = {}
    try:
        # Every temporary file is created before any rename.
        for rel in changed:
            document = documents[rel]
            if not staging.has(rel, document.digest):
                staging.stage(rel, document.body, document.digest)
        for rel in gzipped:
            document = documents[rel]
            if not staging.has(sibling(rel), sibling_digest(document.digest)):
                staging.stage_gzip(rel, document.body, document.digest)
        siblings = [sibling(rel) for rel in gzipped]
        staged = staging.finish(keep=[*changed, *siblings])
        if staged:
            # Until every rename is done the manifest must not vouch for the files about to change: a process
            # killed midway would leave new bytes under old digests, and the next run would trust them. So they are
            # listed first as pending: unknown bytes, and ours (removed if no longer wanted). A list of the changed
            # paths, not a second copy of the whole manifest, which lists every page of the site.
            # Paths a build killed earlier left pending stay so (their files may have its bytes) until a manifest
            # vouches for them.
            pending = sorted({*changed, *siblings, *read_pending(root)})
            interim = _write_temp(root / PENDING, json.dumps(pending, ensure_ascii=False).encode())
            os.replace(interim, root / PENDING)
    except (OSError, StoreError) as exc:
        staging.discard()
        for tmp in staged.values():
            _unlink(tmp)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"cannot write feeds to {root}: {exc.strerror or exc}") from None
    try:
        for rel in changed:
            if sibling(rel) in previous:
                # The old sibling goes first: nginx would serve it (gzip_static) beside the new document.
                _safe_target(root, sibling(rel)).unlink(missing_ok=True)
            os.replace(staged[rel], _safe_target(root, rel))
            del staged[rel]  # renamed: no longer ours to remove
            if sibling(rel) in staged:
                os.replace(staged[sibling(rel)], _safe_target(root, sibling(rel)))
                del staged[sibling(rel)]
        for rel in siblings:
            if rel in staged:
                os.replace(staged[rel], _safe_target(root, rel))
                del staged[rel]
    except OSError as exc:
        # The pending file lists every changed path (above): unknown bytes, so the next build writes them again.
        for tmp in staged.values():
            _unlink(tmp)
        raise StoreError(f"cannot write feeds to {root}: {exc.strerror or exc}") from None
    removed = (previous.keys() | ours) - wanted.keys() - kept.keys()
    for rel in removed:
        try:
            target = _safe_target(root, rel)
        except StoreError:
            continue
        target.unlink(missing_ok=True)
        _prune_empty_dirs(root, target.parent)
    try:
        # Last: a run killed before this still knows what to remove (see manifest.py for how it is kept).
        update_manifest(root, previous, {**kept_compared, **wanted}, partial=listed is not None)
    except OSError as exc:
        # The pending file stays: the files renamed count as ours with unknown bytes, and are written again.
        raise StoreError(f"cannot write {root / MANIFEST}: {exc.strerror or exc}") from None
    _unlink(str(root / PENDING))  # the manifest now vouches for every file (a run killed first rewrites them)
    return {rel for rel in removed if not rel.endswith(SUFFIX)}  # documents; no document's name ends in .gz


def manifest_entries(documents: Mapping[str, Document], gzip_wanted: GzipWanted = None) -> dict[str, str]:
    """What the manifest lists for ``documents``: each one's digest, and its gzip sibling's if it gets one."""
    entries = {path: document.digest for path, document in documents.items()}
    if gzip_wanted is not None:
        entries.update(
            (sibling(path), sibling_digest(document.digest))
            for path, document in documents.items()
            if gzip_wanted(path)
        )
    return entries


def add_to_manifest(root: Path, entries: Callable[[], Mapping[str, str]]) -> bool:
    """List files written outside a build (``entries()``, called while the output directory is held: path -> digest
    of their bytes) in the manifest, so that the next process knows them; False (nothing done) when another writer
    holds the output directory, whose build writes the manifest. Raises StoreError if it cannot be written."""
    try:
        with output_lock(root, wait=False):
            manifest = read_manifest(root)
            update_manifest(root, manifest, {**manifest, **entries()})
    except BlockingIOError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot write {root / MANIFEST}: {exc.strerror or exc}") from None
    return True


def remove_temporaries(root: Path) -> int:
    """Remove temporary files a killed build left in ``root`` (never renamed, so never served); return how many."""
    count = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.startswith(_TEMP_PREFIX):
                Path(dirpath, name).unlink(missing_ok=True)
                count += 1
    return count


def _prune_empty_dirs(root: Path, directory: Path) -> None:
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def files_under(root: str) -> set[str]:
    """Relative paths ('/'-separated) of the files under ``root``: one listing per directory, not a stat per file."""
    found: set[str] = set()
    for directory, _, files in os.walk(root):
        prefix = os.path.relpath(directory, root).replace(os.sep, "/") + "/"
        prefix = "" if prefix == "./" else prefix
        found.update(prefix + name for name in files)
    return found


def missing_files(root: Path, documents: Mapping[str, Document], gzip_wanted: GzipWanted = None) -> set[str]:
    """Documents whose file, or gzip sibling, is absent on disk (e.g. deleted by hand), to be written again."""
    found = files_under(os.fspath(root))
    missing = documents.keys() - found
    if gzip_wanted is not None:
        missing.update(p for p in documents if gzip_wanted(p) and sibling(p) not in found)
    return missing


@contextlib.contextmanager
def output_lock(root: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the output directory for one writer: another process writing it (a server, a one-shot build) is waited
    for, so neither removes the other's temporary files or renames over its half-written set. ``wait=False``: raise
    BlockingIOError instead of waiting.

    An advisory ``flock`` on the directory itself, so no file is added to the output: released when the holder ends,
    however it ends. Raises StoreError if the directory cannot be made or opened.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise StoreError(f"cannot use output directory {root}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise
            log.warning("waiting for another syndicate process writing %s", root)
            fcntl.flock(fd, fcntl.LOCK_EX)
        _held_locks.add(fd)
        yield
    finally:
        _held_locks.discard(fd)
        os.close(fd)  # releases the lock
