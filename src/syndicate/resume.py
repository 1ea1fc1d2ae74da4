"""A warm start that serves at once: the last build's documents, when nothing has changed since it was made.

After each build that it wrote (its files renamed into place first), and when it stops, the server records what it
serves (a :class:`Served`, in the parse cache's ``meta`` table, replaced in one transaction): the settings'
fingerprint, a signature of the post files the build read (each one's path, size and mtime:
``signature.files_signature``, which a build keeps from the files it changed), every subscription document's path,
digest and media type, each feed's polling interval (its documents' Cache-Control max-age), the feeds' pages for
people, the count of posts and the rejections. So a server killed at any moment leaves the record of a build whose
files were written, or of the build before it, whose files the next build may have replaced since: those no longer
match the record (below), and the start builds.

A build's documents are a function of the post files and the settings (output is deterministic). So when a starting
server finds the same settings, the same scan, no future-dated post come due, and each recorded document's file in the
output directory listed by the manifest with the recorded digest and holding bytes of that digest (a build killed
while renaming, or a file edited by hand, does not pass), those files are exactly what its first build would serve.

Whether a file holds the recorded bytes is told as git's index tells a clean file: the record keeps each file's
identity (inode, size, mtime and ctime in ns) as it was when its bytes were last hashed against the digest
(:func:`verified_files`, at a server's stop; and after a start that had to hash). A file with that identity, whose
stamps lie before that moment by more than a step of the file system's clock (else a write just after the hash could
leave the same stamps: "racily clean"), is trusted without hashing; any other is hashed, and its identity recorded
again when it matches. Writing a file sets its ctime to now, which only moving the system clock back can undo, so an
edit behind our back is caught unless it also keeps the inode, the size and both stamps (docs/reliability.md).

:func:`resume` makes the snapshot from those files, with the Last-Modified stamps kept in the cache stamped as a
build's swap stamps them, and the server is ready before it has read a post. Its first build runs next, finds nothing
changed, and keeps the very same resources (bytes, ETags, Last-Modified): the swap changes nothing a client can see.

Anything else (no record, another fingerprint, output or posts directory, a changed, added or removed post file, a
post come due, a file missing or not matching its digest, a database that cannot be read) returns None: the normal
start, which builds before it is ready.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from syndicate.cache import ParseCache
from syndicate.config import Settings, settings_fingerprint
from syndicate.documents import Document, digest_of
from syndicate.lastmodified import Stamp, restamp, seconds
from syndicate.pages import INDEX
from syndicate.polling import Schedule, max_age_of
from syndicate.records import Rejection
from syndicate.scan import scan_post_files
from syndicate.signature import as_text, files_signature
from syndicate.snapshot import Preparer, Snapshot
from syndicate.store import read_manifest

RECORD_KEY = "served"
# How far a file's stamps must lie before the moment its bytes were hashed for its identity to vouch for them: more
# than one step of the file system's clock (Linux stamps files from a clock that moves in ticks of up to 10 ms). A file
# system whose stamps are whole seconds (FAT's are two) gets _COARSE_MARGIN_NS.
_RACY_MARGIN_NS = 50_000_000
_COARSE_MARGIN_NS = 2_000_000_000

Identity = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns of a document's file


@dataclass(frozen=True)
class Served:
    """What one build served, and what it was made from."""

    fingerprint: str  # config.settings_fingerprint
    scan: str  # files_signature of the post files the build read
    source: str  # posts directory, resolved
    out: str  # output directory, resolved
    future: bool  # the 'future' setting
    due: float | None  # POSIX time at which the next future-dated post becomes visible (None: none waiting)
    built_at: str  # ISO time of the build
    documents: tuple[tuple[str, str, str], ...]  # (path, digest, media type) of every subscription document
    schedules: Mapping[str, int]  # a feed's base path -> its polling interval in seconds (polling.Schedule)
    pages: Mapping[str, str]  # a feed document's path -> its page's (Snapshot.pages)
    posts: int
    rejected: tuple[tuple[str, str], ...]  # (path, reason)
    # A document's path -> its file's identity when its bytes were last hashed to its digest, at ``checked_at`` (time
    # in ns); a path without one is hashed by the next start.
    files: Mapping[str, Identity] = field(default_factory=dict)
    checked_at: int = 0
    feeds: int = 0
    on_request: int = 0  # archive pages planned, made on request

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Served:
        """The record ``to_json`` wrote; ValueError (or TypeError, KeyError) for anything else, as a damaged database
        may hold (docs/reliability.md): a miss, never a start that fails."""
        data: dict[str, Any] = json.loads(text)
        data["documents"] = tuple((_text(p), _text(d), _text(m)) for p, d, m in data["documents"])
        data["rejected"] = tuple((_text(p), _text(r)) for p, r in data["rejected"])
        data["schedules"] = {_text(k): _whole(v) for k, v in data["schedules"].items()}
        data["pages"] = {_text(k): _text(v) for k, v in data["pages"].items()}
        for key in ("fingerprint", "scan", "source", "out", "built_at"):
            _text(data[key])
        datetime.fromisoformat(data["built_at"])
        if not isinstance(data["future"], bool) or not (data["due"] is None or isinstance(data["due"], float | int)):
            raise ValueError("not a record of what was served")
        _whole(data["posts"])
        data["files"] = {_text(k): _identity(v) for k, v in data.get("files", {}).items()}
        data["checked_at"] = _whole(data.get("checked_at", 0))
        data["feeds"] = _whole(data.get("feeds", 0))
        data["on_request"] = _whole(data.get("on_request", 0))
        return cls(**data)


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("not a record of what was served")
    return value


def _whole(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("not a record of what was served")
    return value


def _identity(value: object) -> Identity:
    if not isinstance(value, list) or len(value) != 4:
        raise ValueError("not a record of what was served")
    ino, size, mtime_ns, ctime_ns = (_whole(v) for v in value)
    return ino, size, mtime_ns, ctime_ns


def _identity_of(st: os.stat_result) -> Identity:
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _vouches(identity: Identity | None, st: os.stat_result, checked_at: int) -> bool:
    """Whether a file of stat ``st`` holds the bytes it held when hashed at ``checked_at``, its identity then being
    ``identity``: the same identity, and stamps a clock step older than the hash (else racily clean: hash again)."""
    if identity is None or identity != _identity_of(st):
        return False
    margin = _COARSE_MARGIN_NS if st.st_mtime_ns % 1_000_000_000 == 0 else _RACY_MARGIN_NS
    return max(st.st_mtime_ns, st.st_ctime_ns) < checked_at - margin


def verified_files(
    out: os.PathLike[str] | str, documents: Iterable[tuple[str, str]]
) -> tuple[dict[str, Identity], int]:
    """The identity of each document's file (path, digest) in ``out`` that holds bytes of its digest, hashed now; and
    the moment of hashing (ns), for ``Served.files`` and ``checked_at``. A file that does not match, or changes while
    read, is left out: the next start hashes it."""
    checked_at = time.time_ns()
    root = os.fspath(out)
    files: dict[str, Identity] = {}
    for path, digest in documents:
        try:
            body, _, steady = _read_file(root, path)
        except OSError:
            continue
        if steady is not None and digest_of(body) == digest:
            files[path] = steady
    return files, checked_at


def _read_file(root: str, path: str) -> tuple[bytes, os.stat_result, Identity | None]:
    """The bytes of the file ``path`` in ``root``, its stat before they were read, and its identity if it did not
    change while they were read (else None). Raises OSError."""
    with open(os.path.join(root, path), "rb") as file:
        before = os.fstat(file.fileno())
        body = file.read()
        after = _identity_of(os.fstat(file.fileno()))
    return body, before, after if _identity_of(before) == after else None


def served(
    settings: Settings,
    snapshot: Snapshot,
    schedules: Mapping[str, Schedule],
    scan: str,
    due: float | None,
    verify: bool = False,
    previous: Served | None = None,
) -> Served:
    """The record of ``snapshot``, served by a build that read post files of the signature ``scan``; ``verify``: with
    the identity of each document's file that holds its bytes (hashed now, see the module's docstring); else with the
    identities ``previous`` (the record it follows) has for documents of the same path and digest: a file this
    process did not write since keeps its identity, and one it wrote has another (a new inode and ctime), so the
    next start hashes only what the builds since changed."""
    documents = tuple(sorted((r.path, r.digest, r.media_type) for r in snapshot.resources.values()))
    out = str(settings.out.resolve())
    if verify:
        files, checked_at = verified_files(settings.out, ((p, d) for p, d, _ in documents))
    elif previous is not None and previous.out == out and previous.files:
        digests = {path: digest for path, digest, _ in previous.documents}
        files = {p: previous.files[p] for p, d, _ in documents if p in previous.files and digests.get(p) == d}
        checked_at = previous.checked_at
    else:
        files, checked_at = {}, 0
    return Served(
        fingerprint=settings_fingerprint(settings),
        scan=scan,
        source=str(settings.posts.resolve()),
        out=out,
        future=settings.future,
        due=due,
        built_at=snapshot.built_at.isoformat(),
        documents=documents,
        schedules={base: schedule.seconds for base, schedule in sorted(schedules.items())},
        pages=dict(sorted(snapshot.pages.items())),
        posts=snapshot.posts,
        rejected=tuple((r.path, r.reason) for r in snapshot.rejected),
        files=files,
        checked_at=checked_at,
        feeds=len(snapshot.feeds),
        on_request=len(snapshot.on_request),
    )


def recorded(cache: ParseCache) -> Served | None:
    """The record in ``cache`` (None: none, or not one this module wrote)."""
    text = cache.get_meta(RECORD_KEY)
    if text is None:
        return None
    try:
        return Served.from_json(text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None  # not the shape this module writes: the normal start


def _unchanged(settings: Settings, record: Served, now: float) -> bool:
    """Whether a build now would read the same posts with the same settings as the recorded one."""
    if record.fingerprint != settings_fingerprint(settings) or record.future != settings.future:
        return False
    if record.due is not None and now >= record.due:
        return False
    if record.out != str(settings.out.resolve()) or record.source != str(settings.posts.resolve()):
        return False
    if not settings.posts.is_dir():
        return False
    scanned = scan_post_files(settings.posts, settings.jekyll)
    return as_text(files_signature((rel, st.st_size, st.st_mtime_ns) for _, rel, st in scanned)) == record.scan


def _read_documents(settings: Settings, record: Served) -> tuple[list[Document], dict[str, Identity]] | None:
    """The recorded documents from the output directory, each checked against the manifest and its digest (by its
    file's recorded identity, else hashed); and the identity of each file hashed here (see the module's docstring)."""
    manifest = read_manifest(settings.out)
    root = os.fspath(settings.out)
    documents: list[Document] = []
    hashed: dict[str, Identity] = {}
    for path, digest, media_type in record.documents:
        if manifest.get(path) != digest or path.startswith("/") or ".." in path.split("/"):
            return None
        try:
            body, before, steady = _read_file(root, path)
        except OSError:
            return None
        trusted = _vouches(record.files.get(path), before, record.checked_at) and steady == record.files[path]
        if not trusted:
            if digest_of(body) != digest:
                return None
            if steady is not None:
                hashed[path] = steady
        documents.append(Document(path, body, media_type, None, digest))
    return documents, hashed


def resume(settings: Settings, cache: ParseCache, preparer: Preparer, now: datetime) -> Snapshot | None:
    """The snapshot the last full build served, if a build now would serve the same (None: build first).

    Stamps as ``Preparer.prepare_snapshot`` does with ``now`` (kept bytes keep their Last-Modified) and saves what it
    restamped; ``preparer`` goes on from this snapshot (``Preparer.adopt``).
    """
    record = recorded(cache)
    if record is None or not _unchanged(settings, record, now.timestamp()):
        return None
    checked_at = time.time_ns()
    read = _read_documents(settings, record)
    if read is None or not any(d.path == INDEX for d in read[0]):
        return None
    documents, hashed = read
    if hashed:
        # What was hashed now vouches for its file at the next start. A file trusted by its identity keeps it: its
        # stamps lie a clock step before the older hash, so before this one too.
        files = {**record.files, **hashed}
        cache.put_meta(RECORD_KEY, replace(record, files=files, checked_at=checked_at).to_json())
    old_stamps = cache.load_stamps()
    stamps: dict[str, Stamp] = dict(old_stamps)  # archive pages' too: the first build goes on from all of them
    restamped: dict[str, Stamp] = {}
    moment = seconds(now)
    for document in documents:
        old = old_stamps.get(document.path)
        stamp = stamps[document.path] = restamp(old, document.digest, moment)
        if stamp is not old:
            restamped[document.path] = stamp
    cache.save_stamps(restamped, ())
    generation = preparer.adopt(stamps, record.pages)
    schedules = {base: Schedule(interval) for base, interval in record.schedules.items()}
    longest = preparer.policy.max_age
    gzipped = cache.get_gzipped(d.digest for d in documents)
    resources = {
        d.path: preparer.prepare(d, stamps[d.path], max_age_of(schedules, d.path, longest), gzipped.get(d.digest))
        for d in documents
    }
    return Snapshot(
        generation=generation,
        resources=resources,
        index=resources[INDEX],
        feeds=(),
        rejected=tuple(Rejection(path, reason) for path, reason in record.rejected),
        posts=record.posts,
        built_at=datetime.fromisoformat(record.built_at).astimezone(UTC),
        stamps=stamps,
        pages=record.pages,
        resumed=True,
        resumed_counts=(record.feeds, record.on_request),
    )
