"""The parse cache: an embedded SQLite database so that a restart does not re-read an unchanged corpus.

Tables:

- ``posts``: per file path, its size, mtime and content hash with the parsed ``Post`` (a JSON array of its fields,
  ``Post.to_json``) or ``Rejection`` (a JSON object). A file whose size and mtime match is not read at all; one whose
  bytes hash the same is not re-parsed.
- ``content``: rendered, cleaned HTML per (post content hash), for the posts that appear in feed documents.
- ``documents`` and ``digests``: rendered feed documents, and their digests, per hash of everything that goes into
  them, so nothing is rendered again on a warm start. Documents written to the output directory are kept there
  only: the cache has their digest, and their bytes are read back from the file (checked against the digest).
- ``meta``: the settings fingerprint, the last full build's record (see ``lastbuild``) and what the server last
  served (see ``resume``).
- ``modified``: per served path, the digest last published there and its Last-Modified (see ``lastmodified``).

Everything is keyed on a fingerprint of the settings that shape parsing and rendering; a different fingerprint
empties the cache, except ``modified``: it records what clients were sent, which no setting undoes. The database runs
in WAL mode so a process killed mid-write leaves it consistent; a cache file that SQLite reports as corrupt (or as
not a database) is deleted and rebuilt, never fatal (the cache only ever saves work; losing ``modified`` costs one full
response to clients that validate with If-Modified-Since alone).

Nothing the database holds can fail a build (issue 14, docs/reliability.md):

- a row whose columns have the wrong SQLite type, or whose JSON is not the shape this module writes, is a miss (the
  query filters on ``typeof``; a post's JSON is checked field by field): the build parses or renders again and
  overwrites it;
- a database locked by another process (another build's write transaction, ``BEGIN EXCLUSIVE`` in the ``sqlite3``
  shell) is waited for up to ``BUSY_TIMEOUT``, then bypassed, never deleted: after one call found it locked, calls
  do not wait until one succeeds again, so a lock held for the whole build costs one wait;
- any other SQLite error makes that one call a miss (or a no-op), logged once per cache; a corrupt page found in the
  middle of a build turns the cache off for the rest of the process.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from syndicate.config import Settings, settings_fingerprint
from syndicate.gzipfiles import sibling_digest
from syndicate.lastmodified import Stamp
from syndicate.records import FIELDS, Post, Rejection

log = logging.getLogger("syndicate.cache")
# What json.dumps(..., ensure_ascii=False) writes, without making an encoder for each of a cold build's rows.
_to_json = json.JSONEncoder(ensure_ascii=False).encode

# How long a call waits for a database another process holds locked before it bypasses the cache (SQLite's busy
# timeout): long enough for another build's transaction (batches of at most a few MB), short enough that a lock held
# for good (an open ``BEGIN EXCLUSIVE``) delays a build by one wait only.
BUSY_TIMEOUT = 5.0

# The SQLite errors that mean the file itself is damaged (deleted and rebuilt): corrupt, not a database, or shorter
# than its header says (truncated). Every other error (locked, busy, other I/O, full, read-only) leaves it alone.
_DAMAGED = frozenset((sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB))


def _code(exc: sqlite3.Error) -> int:
    """The primary SQLite result code of an error (0 when it has none)."""
    return int(getattr(exc, "sqlite_errorcode", 0)) & 0xFF


def _is_damage(exc: sqlite3.Error) -> bool:
    return _code(exc) in _DAMAGED or getattr(exc, "sqlite_errorcode", 0) == sqlite3.SQLITE_IOERR_SHORT_READ


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL,
    rejected INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS content (digest TEXT PRIMARY KEY, html TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS digests (key TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gzipped (digest TEXT PRIMARY KEY, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS modified (
    path TEXT PRIMARY KEY, digest TEXT NOT NULL, modified INTEGER NOT NULL, valid_from INTEGER NOT NULL
);
"""


_SIZE_BITS = 40  # a file up to 1 TiB
_STAT_BITS = _SIZE_BITS + 64  # and an mtime_ns of 64 bits; beyond either (or a negative mtime) ``stat`` is a tuple
_SIZE_MASK, _MTIME_MASK = (1 << _SIZE_BITS) - 1, (1 << 64) - 1
# A post's publication time in microseconds since the epoch, made positive: the years 1 to 9999 are within 2**58.
_WHEN_BIAS = 1 << 58
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class CachedPost:
    """A file as last seen (size, mtime, content hash) with what it parsed to.

    ``order`` is a post's place in a feed, newest last: (publication time as a timestamp, path). Its timestamp,
    ``when``, is computed once per file version, which spares every build a datetime conversion per post (aware
    datetimes compare slowly, and order the same as their timestamps); the pair is made on access, as a million posts
    would each hold one. The time (in microseconds), the mtime and the size are held as one number (``stat``), for the
    same reason: one int object a post, not three numbers.
    """

    __slots__ = ("digest", "record", "stat")

    def __init__(self, size: int, mtime_ns: int, digest: str, record: Post | Rejection) -> None:
        # The timestamp is the microseconds divided by 10**6, as datetime.timestamp() divides them: the same float.
        when = (record.date - _EPOCH) // _MICROSECOND + _WHEN_BIAS if isinstance(record, Post) else _WHEN_BIAS
        self.stat: int | tuple[int, int, int] = (
            when << _STAT_BITS | mtime_ns << _SIZE_BITS | size
            if 0 <= size <= _SIZE_MASK and 0 <= mtime_ns <= _MTIME_MASK
            else (mtime_ns, size, when)
        )
        self.digest = digest
        self.record = record

    @property
    def size(self) -> int:
        stat = self.stat
        return stat & _SIZE_MASK if isinstance(stat, int) else stat[1]

    @property
    def mtime_ns(self) -> int:
        stat = self.stat
        return stat >> _SIZE_BITS & _MTIME_MASK if isinstance(stat, int) else stat[0]

    @property
    def when(self) -> float:
        """The post's publication time as a timestamp (0.0 for a rejection)."""
        stat = self.stat
        return ((stat >> _STAT_BITS if isinstance(stat, int) else stat[2]) - _WHEN_BIAS) / 1_000_000

    @property
    def order(self) -> tuple[float, str]:
        return (self.when, self.record.path)

    def __reduce__(self) -> tuple[type[CachedPost], tuple[int, int, str, Post | Rejection]]:
        # Parse workers send one per file: the constructor's arguments pickle faster than the slots' state.
        return CachedPost, (self.size, self.mtime_ns, self.digest, self.record)


def _json_types(hint: object) -> tuple[type, ...]:
    """The JSON types (as json.loads gives them) of a Post field's saved value, from its annotation."""
    if hint is datetime:
        return (str,)  # ISO 8601
    origin = typing.get_origin(hint)
    if origin is tuple:
        return (list,)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) for t in _json_types(arg))
    assert isinstance(hint, type), hint
    return (hint,)


_HINTS = typing.get_type_hints(Post.__init__)
# What Post.to_json writes: every field but summary_at, in the constructor's order.
_SAVED = tuple(name for name in FIELDS if name != "summary_at")
_SAVED_TYPES = tuple(_json_types(_HINTS[name]) for name in _SAVED)
_TERMS_AT = tuple(i for i, name in enumerate(_SAVED) if _SAVED_TYPES[i] == (list,))
_POST_COLUMNS = (
    "typeof(size)='integer' AND typeof(mtime_ns)='integer' AND typeof(digest)='text' AND rejected IN (0, 1) "
    "AND typeof(data)='text'"
)


def _decode(rejected: int, data: str) -> Post | Rejection:
    """The record a ``posts`` row holds; ValueError if it is not what ``save_posts`` writes."""
    obj = json.loads(data)
    if rejected:
        if type(obj) is not dict or obj.keys() != {"path", "reason"} or not all(type(v) is str for v in obj.values()):
            raise ValueError("not a saved rejection")
        return Rejection(**obj)
    if (
        type(obj) is not list
        or len(obj) != len(_SAVED_TYPES)
        or not all(map(isinstance, obj, _SAVED_TYPES))
        or not all(type(term) is str for at in _TERMS_AT for term in obj[at])
    ):
        raise ValueError("not a saved post")
    post = Post.from_json(obj)
    if post.date.tzinfo is None or post.updated.tzinfo is None:
        raise ValueError("a saved post's date has no offset")
    return post


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ParseCache:
    """SQLite-backed cache; every method degrades to a miss (or a no-op) if the database fails."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._warned = False  # a failed call is logged once
        self._impatient = False  # a call found the database locked: the next ones do not wait (see BUSY_TIMEOUT)
        try:
            self._db = self._open(fingerprint)
        except sqlite3.Error as exc:
            if not _is_damage(exc) and not self._is_empty():
                # Locked by another process, say: bypassed for this process, and the file is left alone. (An empty
                # file another connection holds open cannot be made a WAL database, but has no rows to lose.)
                log.warning("parse cache %s not used (%s); building without it", path, exc)
                return
            log.warning("parse cache %s is unreadable (%s); rebuilding it", path, exc)
            try:
                self._remove_files()
                self._db = self._open(fingerprint)
            except (sqlite3.Error, OSError) as exc2:
                # E.g. the path is a directory: the cache only ever saves work, so build without it.
                log.warning("parse cache disabled: %s", exc2)
                self._db = None
        except OSError as exc:
            # Said in full: without the cache every start parses every post again and restamps every feed's
            # Last-Modified (the Docker image's cache under a home it could not write went unnoticed for that).
            log.warning(
                "parse cache %s cannot be created (%s): every start parses every post again and feeds get a new "
                "Last-Modified; set the setting 'cache' (or XDG_CACHE_HOME) to a writable place",
                path,
                exc.strerror or exc,
            )

    def _is_empty(self) -> bool:
        try:
            return self.path.stat().st_size == 0
        except OSError:
            return False

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    def _open(self, fingerprint: str) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # The cache only saves work: an OS crash may lose its last commits (a damaged file is detected and
            # rebuilt), so commits need not wait for the disk.
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
            if row is None or row[0] != fingerprint:
                db.executescript(
                    "DELETE FROM posts; DELETE FROM content; DELETE FROM documents; DELETE FROM digests; "
                    "DELETE FROM gzipped;"
                )
                db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            # A corrupt page is found here rather than in the middle of a build.
            db.execute("SELECT count(*) FROM posts").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    @contextmanager
    def _guard(self) -> Iterator[sqlite3.Connection | None]:
        """The connection for one call (None: the cache is off). An SQLite error ends the call as a miss."""
        with self._lock:
            db = self._db
            try:
                yield db
            except sqlite3.Error as exc:
                self._failed(exc)
            else:
                if self._impatient and db is not None:
                    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
                    self._impatient = False

    def _failed(self, exc: sqlite3.Error) -> None:
        if not self._warned:
            log.warning("parse cache error (%s); continuing without it where it fails", exc)
            self._warned = True
        db = self._db
        if db is None:
            return
        if _is_damage(exc):
            db.close()
            self._db = None
        elif _code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and not self._impatient:
            try:
                db.execute("PRAGMA busy_timeout=0")
                self._impatient = True
            except sqlite3.Error:
                pass

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection | None]:
        """One write transaction (None: the cache is off); an error rolls back and turns the cache off."""
        with self._guard() as db:
            if db is not None:
                try:
                    db.execute("BEGIN")
                except sqlite3.Error as exc:  # the block still runs, as with the cache off
                    self._failed(exc)
                    db = None
            if db is None:
                yield None
                return
            with db:
                yield db

    def load_posts(self) -> dict[str, CachedPost]:
        result: dict[str, CachedPost] = {}
        with self._guard() as db:
            if db is None:
                return result
            query = f"SELECT path, size, mtime_ns, digest, rejected, data FROM posts WHERE {_POST_COLUMNS}"
            for path, size, mtime_ns, digest, rejected, data in db.execute(query):
                try:
                    record = _decode(rejected, data)
                except (ValueError, TypeError, RecursionError):
                    continue  # a miss: the file is parsed again and its row overwritten
                if isinstance(record, Post) and record.path == path and record.digest == digest:
                    # The post's own strings as key and digest, as a parse shares them (one string each, not two:
                    # about 160 bytes a post loaded from the cache).
                    path, digest = record.path, record.digest
                result[path] = CachedPost(size, mtime_ns, digest, record)
        return result

    def save_posts(self, changed: Iterable[tuple[str, CachedPost]], removed: Iterable[str]) -> None:
        changed, gone = list(changed), [(p,) for p in removed]
        if not changed and not gone:
            return

        def rows() -> Iterator[tuple[str, int, int, str, bool, str]]:
            # One row at a time: the JSON of 100k posts at once would be the largest thing a cold build holds.
            for path, cached in changed:
                if not path.isascii() and not _is_utf8(path):
                    continue  # a file name that is not UTF-8 (rejected, see parse_post): read again next time
                rec = cached.record
                data = _to_json(rec.to_json() if isinstance(rec, Post) else rec.__dict__)
                yield path, cached.size, cached.mtime_ns, cached.digest, isinstance(rec, Rejection), data

        with self._transaction() as db:
            if db is not None:
                db.executemany("INSERT OR REPLACE INTO posts VALUES (?,?,?,?,?,?)", rows())
                db.executemany("DELETE FROM posts WHERE path=?", gone)

    # Key-value tables: content (digest -> html) and documents (key -> body). Table and column names come from
    # this module only, never from input.
    # A value of another type (a damaged row) is not found, so it is rendered again and overwritten.
    _TABLES = {
        "content": ("digest", "html", "text"),
        "documents": ("key", "body", "blob"),
        "digests": ("key", "digest", "text"),
        "gzipped": ("digest", "body", "blob"),
    }

    def _get(self, table: str, keys: Iterable[str]) -> dict[str, Any]:
        key_column, value_column, value_type = self._TABLES[table]
        wanted = list(keys)
        found: dict[str, Any] = {}
        with self._guard() as db:
            if db is None:
                return found
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                query = (
                    f"SELECT {key_column}, {value_column} FROM {table} "
                    f"WHERE {key_column} IN ({marks}) AND typeof({value_column})='{value_type}'"
                )
                found.update(db.execute(query, chunk))
        return found

    def _put(self, table: str, items: Mapping[str, object]) -> None:
        if not items:
            return
        with self._transaction() as db:
            if db is not None:
                db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?,?)", items.items())

    def get_content(self, digests: Iterable[str]) -> dict[str, str]:
        return self._get("content", digests)

    def put_content(self, items: Mapping[str, str]) -> None:
        self._put("content", items)

    def get_documents(self, keys: Iterable[str]) -> dict[str, bytes]:
        return self._get("documents", keys)

    def get_digests(self, keys: Iterable[str]) -> dict[str, str]:
        """Digests of stored documents: enough to know a document without loading its bytes."""
        return self._get("digests", keys)

    def get_body(self, key: str) -> bytes | None:
        return self._get("documents", [key]).get(key)

    def put_documents(self, items: Mapping[str, tuple[str, bytes]]) -> None:
        """Store documents as key -> (digest, body)."""
        self._put("documents", {k: body for k, (_, body) in items.items()})
        self._put("digests", {k: digest for k, (digest, _) in items.items()})

    def put_digests(self, items: Mapping[str, str]) -> None:
        """Store only the digest of documents (key -> digest) whose bytes live elsewhere (the output directory)."""
        self._put("digests", items)

    def prune(self, live_content: set[str], live_documents: set[str]) -> None:
        """Forget rendered content and documents no longer used, so the cache does not grow without bound."""
        with self._transaction() as db:
            if db is not None:
                db.execute("CREATE TEMP TABLE IF NOT EXISTS live (k TEXT PRIMARY KEY)")
                db.execute("DELETE FROM live")
                db.executemany("INSERT OR IGNORE INTO live VALUES (?)", ((k,) for k in live_content))
                db.execute("DELETE FROM content WHERE digest NOT IN (SELECT k FROM live)")
                db.execute("DELETE FROM live")
                db.executemany("INSERT OR IGNORE INTO live VALUES (?)", ((k,) for k in live_documents))
                db.execute("DELETE FROM documents WHERE key NOT IN (SELECT k FROM live)")
                db.execute("DELETE FROM digests WHERE key NOT IN (SELECT k FROM live)")

    # The gzip rows are keyed by the document's digest and the compressor (gzipfiles.sibling_digest): bytes another
    # compressor made (an older release's) are not found, so they are made again rather than served under the
    # validator of this compressor's.

    def get_gzipped(self, digests: Iterable[str]) -> dict[str, bytes]:
        """The gzip representation of served documents by digest (a restart need not compress them again)."""
        keys = {sibling_digest(digest): digest for digest in digests}
        return {keys[key]: body for key, body in self._get("gzipped", keys).items()}

    def put_gzipped(self, fresh: Mapping[str, bytes]) -> None:
        """Add gzip representations (digest -> bytes) made before they are served (the build's ``.gz`` files)."""
        self._put("gzipped", {sibling_digest(digest): body for digest, body in fresh.items()})

    def keep_gzipped(self, fresh: Mapping[str, bytes], live: Iterable[str]) -> None:
        """Add gzip representations (digest -> bytes) and forget those of documents no longer served (``live``: the
        digests served now), so the table holds one row per served document."""
        with self._transaction() as db:
            if db is not None:
                db.executemany(
                    "INSERT OR REPLACE INTO gzipped VALUES (?,?)", ((sibling_digest(d), b) for d, b in fresh.items())
                )
                db.execute("CREATE TEMP TABLE IF NOT EXISTS live (k TEXT PRIMARY KEY)")
                db.execute("DELETE FROM live")
                db.executemany("INSERT OR IGNORE INTO live VALUES (?)", ((sibling_digest(k),) for k in live))
                db.execute("DELETE FROM gzipped WHERE digest NOT IN (SELECT k FROM live)")

    def load_stamps(self) -> dict[str, Stamp]:
        """What was last published at each served path, and since when (see ``lastmodified``)."""
        stamps: dict[str, Stamp] = {}  # also when the query fails (the guard ends the block, not the method)
        with self._guard() as db:
            if db is None:
                return stamps
            stamps = {
                path: Stamp(digest, modified, valid_from)
                for path, digest, modified, valid_from in db.execute(
                    "SELECT path, digest, modified, valid_from FROM modified WHERE typeof(path)='text' "
                    "AND typeof(digest)='text' AND typeof(modified)='integer' AND typeof(valid_from)='integer'"
                )
            }
        return stamps

    def save_stamps(self, changed: Mapping[str, Stamp], removed: Iterable[str]) -> None:
        gone = [(path,) for path in removed if path.isascii() or _is_utf8(path)]
        if not changed and not gone:
            return
        with self._transaction() as db:
            if db is not None:
                db.executemany(
                    "INSERT OR REPLACE INTO modified VALUES (?,?,?,?)",
                    (
                        (path, s.digest, s.modified, s.valid_from)
                        for path, s in changed.items()
                        if path.isascii() or _is_utf8(path)  # else not kept: seen for the first time next start
                    ),
                )
                db.executemany("DELETE FROM modified WHERE path=?", gone)

    def put_meta(self, key: str, value: str) -> None:
        """A named value beside the tables (e.g. the last build's record, see ``lastbuild``)."""
        with self._transaction() as db:
            if db is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        """The value ``put_meta`` last stored under ``key`` (None: none, or the database failed)."""
        with self._guard() as db:
            if db is not None:
                row = db.execute("SELECT value FROM meta WHERE key=? AND typeof(value)='text'", (key,)).fetchone()
                return None if row is None else str(row[0])
        return None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def open_cache(settings: Settings) -> ParseCache | None:
    """The parse cache the settings name (None when it is off), for the settings' fingerprint."""
    path = settings.cache_path
    return ParseCache(path, settings_fingerprint(settings)) if path is not None else None
