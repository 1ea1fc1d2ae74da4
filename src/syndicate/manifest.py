"""The output manifest: the files in the output directory this program wrote, each with the digest of its bytes.

It is kept as a whole file (``MANIFEST``, a JSON object) and a journal of the changes since (``JOURNAL``, one JSON
line per write): a new post changes a few dozen of a site's tens of thousands of paths, and serialising every path
for each build was most of a new post's time on a large site (docs/benchmarks.md, "The new-post path"). Once the
journal has grown to a share of the manifest, a write folds it in: a whole manifest with a new id replaces the old
one, then the old journal is removed. A journal's first line names the id of the manifest it follows, and one that
names another is ignored, so a journal left by a process killed between those two steps is never applied twice.

Each journal line begins on a new line, so a line torn by a crash is skipped whole. The store (store.py) appends a
write's line only after renaming its files, while the paths it changes are still listed pending
(``PENDING``, counted as ours with unknown bytes): a torn or missing line loses nothing.

A process keeps the manifest it last read or wrote, with the identity of both files, and reads only the journal
lines appended since (by itself or by another process holding the output directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST = ".syndicate-manifest.json"
JOURNAL = ".syndicate-manifest.journal"
PENDING = ".syndicate-manifest.pending"
# The manifest's id, under a key no document can have (store.py refuses an empty path).
_ID = ""
# The journal is folded in once it is this share of the manifest's size (and at least _JOURNAL_FLOOR bytes).
_JOURNAL_SHARE = 0.25
_JOURNAL_FLOOR = 64 * 1024

_Identity = tuple[int, int, int, int] | None  # device, inode, size, mtime_ns of a file; None: there is none


@dataclass
class _Known:
    """The manifest of one output directory as this process last read or wrote it."""

    manifest: _Identity
    journal: _Identity
    id: str | None
    entries: dict[str, str]
    manifest_bytes: int
    journal_bytes: int  # how much of the journal ``entries`` includes


_known: dict[str, _Known] = {}


@dataclass(frozen=True, eq=False)
class Mark:
    """The manifest at one moment (``mark``): the object this process keeps for it, and the identity of both files
    then (a write of this process's changes the journal's; another process's, either)."""

    known: _Known
    manifest: _Identity
    journal: _Identity


_lock = threading.Lock()


def read_manifest(root: Path) -> dict[str, str]:
    """Paths this program wrote in ``root`` with the digest of each file's bytes ({} if none or unreadable); paths a
    write left pending (it stopped while renaming) with an empty digest: its files may hold new bytes or old."""
    with _lock:
        manifest = dict(_current(root).entries)
    manifest.update(dict.fromkeys(read_pending(root), ""))
    return manifest


def read_pending(root: Path) -> list[str]:
    """The paths a write that stopped while renaming left pending (see store.py)."""
    try:
        pending = json.loads((root / PENDING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [p for p in pending if isinstance(p, str)] if isinstance(pending, list) else []


def update_manifest(
    root: Path, previous: Mapping[str, str], entries: Mapping[str, str], *, partial: bool = False
) -> None:
    """Make the manifest list ``entries`` (path -> digest), given ``previous`` as ``read_manifest`` gave it; called by
    the writer holding the output directory. Appends the changes to the journal, or writes the manifest whole (the
    first time, after a large change, or once the journal has grown). Raises OSError.

    ``partial``: ``previous`` and ``entries`` cover only some paths (the others stay as listed): what a build that
    knows the paths it changed compares (see ``entries_as_of``)."""
    changes: dict[str, str | None] = {p: d for p, d in entries.items() if previous.get(p) != d}
    changes.update(dict.fromkeys(previous.keys() - entries.keys()))
    if not changes:
        return
    with _lock:
        known = _current(root)
        size = len(known.entries) if partial else len(entries)
        grown = known.journal_bytes > max(_JOURNAL_FLOOR, _JOURNAL_SHARE * known.manifest_bytes)
        if known.id is None or grown or len(changes) > _JOURNAL_SHARE * max(size, 1):
            whole = dict(known.entries) if partial else dict(entries)
            if partial:
                _apply(whole, changes)
            _write_whole(root, whole, known.id)
            return
        if known.journal is not None and known.journal_bytes == 0:
            (root / JOURNAL).unlink()  # it follows another manifest (see _replay): begin one that follows this one
            known.journal = None
        line = json.dumps(changes, ensure_ascii=False, separators=(",", ":")).encode()
        _append(root / JOURNAL, (_header(known.id) if known.journal is None else b"") + b"\n" + line + b"\n")
        _apply(known.entries, changes)
        known.journal = _identity(root / JOURNAL)
        known.journal_bytes = known.journal[2] if known.journal is not None else 0


def mark(root: Path) -> Mark:
    """The manifest as it is now, to tell later whether anyone changed it since (``entries_as_of``)."""
    with _lock:
        known = _current(root)
        return Mark(known, known.manifest, known.journal)


def entries_as_of(root: Path, since: Mark) -> Mapping[str, str] | None:
    """The manifest's entries (not to be changed) if it is still as ``since`` marked it, else None (another process,
    or another writer in this one, changed it since). A build that knows which paths it changed since its last write
    compares only those with the manifest, not every path it lists (every archive page of a large site)."""
    with _lock:
        known = _current(root)
        if since.known is not known or (since.manifest, since.journal) != (known.manifest, known.journal):
            return None
        return known.entries


def _apply(entries: dict[str, str], changes: Mapping[str, str | None]) -> None:
    for path, digest in changes.items():
        if digest is None:
            entries.pop(path, None)
        else:
            entries[path] = digest


def _header(manifest_id: str) -> bytes:
    return json.dumps({_ID: manifest_id}).encode() + b"\n"


def _write_whole(root: Path, entries: dict[str, str], replaced: str | None) -> None:
    """Write the manifest whole; ``replaced``: the id of the manifest it replaces."""
    from syndicate.store import _write_temp  # the store's temporary files (the store imports this module)

    body = json.dumps(dict(sorted(entries.items())), ensure_ascii=False, separators=(",", ":")).encode()
    # Hashed from what it lists and the id it follows: the same builds write the same bytes, and a manifest never
    # takes the id of the one before it (whose journal may be left behind).
    manifest_id = hashlib.blake2b(f"{replaced}\0".encode() + body, digest_size=8).hexdigest()
    data = json.dumps({_ID: manifest_id}, separators=(",", ":")).encode()[:-1] + (b"," + body[1:] if entries else b"}")
    os.replace(_write_temp(root / MANIFEST, data), root / MANIFEST)
    # The old journal follows the old id: ignored from here on, and removed.
    (root / JOURNAL).unlink(missing_ok=True)
    _known[os.fspath(root)] = _Known(_identity(root / MANIFEST), None, manifest_id, entries, len(data), 0)


def _append(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _identity(path: Path) -> _Identity:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _current(root: Path) -> _Known:
    """The manifest with its journal applied: what this process knew, with the journal lines appended since. Called
    under ``_lock``."""
    key = os.fspath(root)
    manifest, journal = _identity(root / MANIFEST), _identity(root / JOURNAL)
    known = _known.get(key)
    if known is not None and known.manifest == manifest and known.journal == journal:
        return known
    if not (
        known is not None
        and known.manifest == manifest
        and known.journal is not None
        and journal is not None
        and known.journal[:2] == journal[:2]
        and journal[2] >= known.journal_bytes
    ):
        known = _read_whole(root, manifest)  # new to this process, or replaced since: read again
    known.journal_bytes = _replay(root / JOURNAL, known.id, known.entries, known.journal_bytes)
    known.journal = journal
    _known[key] = known
    return known


def _read_whole(root: Path, identity: _Identity) -> _Known:
    try:
        data = (root / MANIFEST).read_bytes()
        parsed = json.loads(data)
    except (OSError, ValueError):
        data, parsed = b"", {}
    if not isinstance(parsed, dict):
        parsed = {}
    manifest_id = parsed.pop(_ID, None)
    entries = {p: d for p, d in parsed.items() if isinstance(p, str) and isinstance(d, str)}
    return _Known(identity, None, manifest_id if isinstance(manifest_id, str) else None, entries, len(data), 0)


def _replay(path: Path, manifest_id: str | None, entries: dict[str, str], start: int) -> int:
    """Apply the journal's lines from byte ``start`` on (0: the whole journal) to ``entries``; how far it has been
    read. A journal that does not follow ``manifest_id`` is not applied (it is stale: see the module's docstring)."""
    try:
        with open(path, "rb") as fh:
            if start == 0:
                header = _parse(fh.readline())
                if manifest_id is None or header is None or header.get(_ID) != manifest_id:
                    return 0
                start = fh.tell()
            else:
                fh.seek(start)
            data = fh.read()
    except OSError:
        return 0
    end = data.rfind(b"\n") + 1  # a line still being appended (no newline yet) is read next time
    for raw in data[:end].splitlines():
        changes = _parse(raw)
        if changes is None:
            continue  # blank, or torn by a crash
        for path_, digest in changes.items():
            if digest is None:
                entries.pop(path_, None)
            elif isinstance(digest, str) and path_:
                entries[path_] = digest
    return start + end


def _parse(raw: bytes) -> dict[str, str | None] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
