"""The last complete build's record, so that a one-shot ``syndicate build`` of an unchanged site stops after the scan.

A full build that wrote every document records in the parse cache's database: a signature of its scan (each post
file's path, size and mtime, in scan order), a hash of the output manifest, the moment the next future-dated post
becomes due, and its report. ``syndicate build`` first scans the posts directory and compares: when the settings, the
scan and the output manifest are the same, every listed output file is still there and no post has come due, the
documents cannot differ, so it prints the recorded report and stops. Nothing is parsed, rendered or written, and the
parser, renderer and feed writer are not even imported: a warm start of a large site costs the interpreter's start
and one ``stat`` per file.

Anything else (no record, another output directory, a changed, added or removed file, a deleted output file, a
database that cannot be read) falls through to the normal build, which is incremental in its own right.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syndicate.config import Settings, settings_fingerprint
from syndicate.scan import scan_post_files
from syndicate.store import files_under, read_manifest

RECORD_KEY = "last_build"
_SIGNATURE_LINES = 4096


class ScanSignature:
    """A hash over (path, size, mtime) of every post file, fed in scan order (which is deterministic)."""

    def __init__(self) -> None:
        # Hashed a few thousand lines at a time: cheaper than one update per file, and a million files' lines are
        # never held at once (the same hash as of all of them joined).
        self._lines: list[str] = []
        self._hash = hashlib.blake2b(digest_size=16)

    def add(self, rel: str, st: os.stat_result) -> None:
        self._lines.append(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n")
        if len(self._lines) >= _SIGNATURE_LINES:
            self._flush()

    def _flush(self) -> None:
        self._hash.update("".join(self._lines).encode("utf-8", "surrogateescape"))
        self._lines.clear()

    def hexdigest(self) -> str:
        self._flush()
        return self._hash.hexdigest()


def manifest_digest(manifest: Mapping[str, str]) -> str:
    """One hash of the output manifest (path of a document or its gzip sibling -> digest of its bytes)."""
    text = json.dumps(sorted(manifest.items()), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


# A post's path and a sentence about it: why it was rejected, or a note on a published one (decoded as GBK, say).
PostNote = tuple[str, str]


@dataclass(frozen=True)
class LastBuild:
    scan: str  # ScanSignature of the posts directory
    source: str  # posts directory, resolved
    out: str  # output directory, resolved
    future: bool  # the 'future' setting: whether future-dated posts were shown
    manifest: str  # manifest_digest of what was written
    due: float | None  # POSIX time at which the next future-dated post becomes visible (None: none waiting)
    posts: int
    feeds: int
    documents: int
    rejected: tuple[PostNote, ...]  # (path, reason)
    notes: tuple[PostNote, ...]  # (path, note)
    unpublished: int = 0  # drafts left out
    scheduled: int = 0  # future-dated posts left out

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> LastBuild:
        data: dict[str, Any] = json.loads(text)
        data["rejected"] = tuple((str(p), str(r)) for p, r in data["rejected"])
        data["notes"] = tuple((str(p), str(n)) for p, n in data["notes"])
        return cls(**data)


def _read_record(settings: Settings) -> LastBuild | None:
    path = settings.cache_path
    if path is None or not path.is_file():
        return None
    try:
        # Read-only: this check must never create, lock for writing or alter the cache.
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('fingerprint', ?)", (RECORD_KEY,)))
        finally:
            db.close()
    except sqlite3.Error:
        return None
    if rows.get("fingerprint") != settings_fingerprint(settings) or RECORD_KEY not in rows:
        return None
    try:
        return LastBuild.from_json(rows[RECORD_KEY])
    except (ValueError, TypeError, KeyError):
        return None


def unchanged(settings: Settings, now: float) -> LastBuild | None:
    """The last build's record if a build now would find nothing to do; None when a build must run."""
    record = _read_record(settings)
    if record is None or record.future != settings.future:
        return None
    if record.out != str(settings.out.resolve()) or record.source != str(settings.posts.resolve()):
        return None
    if record.due is not None and now >= record.due:
        return None
    if not settings.posts.is_dir():
        return None  # the build reports it
    manifest = read_manifest(settings.out)
    if manifest_digest(manifest) != record.manifest:
        return None
    if not manifest.keys() <= files_under(os.fspath(settings.out)):
        return None  # an output file was deleted: the build writes it again
    signature = ScanSignature()
    for _, rel, st in scan_post_files(settings.posts, settings.jekyll):
        signature.add(rel, st)
    return record if signature.hexdigest() == record.scan else None
