from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicate import cache as cache_module
from syndicate.builder import Builder
from syndicate.cache import CachedPost, ParseCache
from syndicate.lastmodified import Stamp
from syndicate.posts import Post, Rejection
from syndicate.records import FIELDS
from test_faults import corpus, settings_for, snapshot, sync_posts

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
POST = Post(
    path="a.md",
    digest="d",
    title="T",
    slug="a",
    date=WHEN,
    updated=WHEN,
    categories=("c",),
    tags=("t",),
    author="",
    permalink="/a.html",
    site="https://x.example",
    summary="s",
    source_name=None,
    source_url=None,
    published=True,
)


def test_round_trip_and_fingerprint_change_empties(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ParseCache(path, "f1")
    cache.save_posts(
        [("a.md", CachedPost(1, 2, "d", POST)), ("b.md", CachedPost(3, 4, "e", Rejection("b.md", "bad")))], []
    )
    cache.put_content({"d": "<p>x</p>"})
    cache.put_documents({"k": ("dg", b"body")})
    cache.close()
    again = ParseCache(path, "f1")
    loaded = again.load_posts()
    assert loaded["a.md"].record == POST and loaded["b.md"].record == Rejection("b.md", "bad")
    assert again.get_content(["d", "missing"]) == {"d": "<p>x</p>"}
    assert again.get_documents(["k"]) == {"k": b"body"} and again.get_digests(["k"]) == {"k": "dg"}
    assert again.get_body("k") == b"body" and again.get_body("nope") is None
    again.save_posts([], ["a.md"])
    assert set(again.load_posts()) == {"b.md"}
    again.close()
    changed = ParseCache(path, "f2")  # other settings: nothing cached applies
    assert changed.load_posts() == {} and changed.get_content(["d"]) == {}


def test_a_corrupt_file_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    cache = ParseCache(path, "f")
    cache.put_content({"d": "x"})
    assert cache.get_content(["d"]) == {"d": "x"}


def test_prune_keeps_only_live_entries(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "c.sqlite3", "f")
    cache.put_content({"a": "1", "b": "2"})
    cache.put_documents({"x": ("1", b"1"), "y": ("2", b"2")})
    cache.prune({"a"}, {"y"})
    assert cache.get_content(["a", "b"]) == {"a": "1"} and cache.get_documents(["x", "y"]) == {"y": b"2"}


def test_rows_of_an_older_post_shape_are_parsed_again_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ParseCache(path, "f1")
    cache.save_posts([("a.md", CachedPost(1, 2, "d", POST))], [])
    cache.close()
    # An object of named fields, with ``url`` and no ``site``: rows before posts made their URL from the site's URL
    # and the permalink, and before rows were arrays.
    old = {name: value for name, value in zip(FIELDS, POST.to_json(), strict=False) if name != "site"}
    old["url"] = "https://x.example/a.html"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE posts SET data=? WHERE path='a.md'", (json.dumps(old),))
    db.close()
    assert ParseCache(path, "f1").load_posts() == {}  # not read back: the file is parsed again


def test_stamps_round_trip_and_survive_a_fingerprint_change(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ParseCache(path, "f1")
    cache.save_stamps({"all.atom": Stamp("d1", 100, 100), "tags/茶叶.rss": Stamp("d2", 200, 201)}, [])
    cache.save_stamps({"all.atom": Stamp("d3", 300, 300), "tags/\udcff.atom": Stamp("d4", 1, 1)}, ["tags/茶叶.rss"])
    cache.close()
    # What clients were sent does not change with the settings: other settings must not move Last-Modified back.
    again = ParseCache(path, "f2")
    assert again.load_stamps() == {"all.atom": Stamp("d3", 300, 300)}  # a name SQLite cannot store is not kept
    again.close()


# -- damaged rows and a locked database (issue 14) -------------------------------------------------------------------

# One damaged row per table and column shape: each must be a miss (parsed or rendered again, its row overwritten),
# never an error or wrong bytes.
DAMAGE = {
    "posts.size text": "UPDATE posts SET size='big'",
    "posts.mtime_ns text": "UPDATE posts SET mtime_ns='x'",
    "posts.digest number": "UPDATE posts SET digest=5",
    "posts.rejected text": "UPDATE posts SET rejected='x'",
    "posts.data an object": """UPDATE posts SET data='{"a": 1}'""",
    "posts.data short": "UPDATE posts SET data='[1, 2, 3]'",
    "posts.data a blob": "UPDATE posts SET data=x'00ff'",
    "posts.data not JSON": "UPDATE posts SET data='[[[['",
    "posts.data wrong field types": "UPDATE posts SET data=json_set(data, '$[2]', 5, '$[6]', json('[1]'))",
    "posts.data naive date": "UPDATE posts SET data=json_set(data, '$[4]', '2023-01-01T00:00:00')",
    "content.html a blob": "UPDATE content SET html=x'00ff'",
    "documents.body text": "UPDATE documents SET body='text'",
    "documents.body a number": "UPDATE documents SET body=7",
    "digests.digest a blob": "UPDATE digests SET digest=x'00'",
}


@pytest.mark.parametrize("write", [True, False], ids=["files", "in-memory"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_row_is_a_miss_and_is_overwritten(damage: str, write: bool, tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 30))
    settings = settings_for(tmp_path)
    first = Builder(settings, write=write)
    first.build()
    expected = {path: doc.body for path, doc in first.documents.items()}
    assert first.cache is not None
    first.cache.close()
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        db.execute(DAMAGE[damage])
    db.close()
    if write:
        shutil.rmtree(tmp_path / "out")  # rendered again from the cache's content, not read back
    builder = Builder(settings, write=write)
    report = builder.build()  # must not raise
    assert report.posts == 30 and not report.rejected
    assert {path: doc.body for path, doc in builder.documents.items()} == expected
    if write:
        assert {p: b for p, b in snapshot(tmp_path / "out").items() if p in expected} == expected
    assert builder.cache is not None
    builder.cache.close()
    # The damaged rows were overwritten: the next start reads every post from the cache.
    with sqlite3.connect(tmp_path / "cache.sqlite3") as db:
        assert db.execute(
            "SELECT count(*) FROM posts WHERE typeof(size)!='integer' OR typeof(mtime_ns)!='integer' "
            "OR typeof(digest)!='text' OR typeof(data)!='text' OR rejected NOT IN (0, 1)"
        ).fetchone() == (0,)
    db.close()
    assert Builder(settings, write=write).build().parsed == 0


def test_damaged_rows_are_not_read_back(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    cache = ParseCache(path, "f")
    cache.save_posts(
        [("a.md", CachedPost(1, 2, "d", POST)), ("b.md", CachedPost(3, 4, "e", Rejection("b.md", "x")))], []
    )
    cache.put_content({"d": "<p>x</p>"})
    cache.put_documents({"k": ("dg", b"body")})
    cache.save_stamps({"all.atom": Stamp("d1", 100, 100), "tags/a.rss": Stamp("d2", 200, 201)}, [])
    cache.close()
    with sqlite3.connect(path) as db:
        db.execute('UPDATE posts SET data=\'{"path": 1, "reason": "x"}\' WHERE path=\'b.md\'')
        db.execute("UPDATE content SET html=x'01'")
        db.execute("UPDATE documents SET body=1.5")
        db.execute("UPDATE digests SET digest=x'01'")
        db.execute("UPDATE modified SET modified='soon' WHERE path='all.atom'")
    db.close()
    again = ParseCache(path, "f")
    assert set(again.load_posts()) == {"a.md"}
    assert again.get_content(["d"]) == {} and again.get_documents(["k"]) == {} and again.get_digests(["k"]) == {}
    assert again.get_body("k") is None
    assert again.load_stamps() == {"tags/a.rss": Stamp("d2", 200, 201)}


class _FailingDatabase:
    """Stands in for a connection whose every statement fails as a full or failing disk makes it fail."""

    def __init__(self, error: sqlite3.Error) -> None:
        self.error = error

    def execute(self, *args: object) -> None:
        raise self.error

    executemany = execute

    def __enter__(self) -> _FailingDatabase:
        return self

    def __exit__(self, *args: object) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.mark.parametrize("message", ["disk I/O error", "database or disk is full", "database is locked"])
def test_every_method_degrades_to_no_cache_and_logs_once(
    message: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ParseCache(tmp_path / "c.sqlite3", "f")
    real = cache._db
    assert real is not None
    cache._db = _FailingDatabase(sqlite3.OperationalError(message))  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="syndicate.cache"):
        assert cache.load_posts() == {} and cache.load_stamps() == {}
        assert cache.get_content(["d"]) == {} and cache.get_documents(["k"]) == {} and cache.get_digests(["k"]) == {}
        assert cache.get_body("k") is None
        cache.save_posts([("a.md", CachedPost(1, 2, "d", POST))], ["b.md"])
        cache.put_content({"d": "x"})
        cache.put_documents({"k": ("dg", b"body")})
        cache.put_digests({"k": "dg"})
        cache.save_stamps({"all.atom": Stamp("d", 1, 1)}, [])
        cache.put_meta("m", "v")
        cache.prune(set(), set())
    assert [r.message for r in caplog.records].__len__() == 1
    real.close()
    assert (tmp_path / "c.sqlite3").is_file()


_HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA locking_mode=EXCLUSIVE")  # in WAL mode: no other connection may even read
db.execute("BEGIN EXCLUSIVE")
db.execute("UPDATE meta SET value=value")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("mode", ["exclusive locking mode", "write transaction"])
def test_a_cache_locked_by_another_process_is_bypassed_never_deleted(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT", 0.3)
    sync_posts(tmp_path / "_posts", corpus("A", 30))
    settings = settings_for(tmp_path)
    first = Builder(settings)
    first.build()
    assert first.cache is not None
    first.cache.close()
    path = tmp_path / "cache.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO meta VALUES ('marker', 'still here')")
    db.close()
    inode = path.stat().st_ino
    sync_posts(tmp_path / "_posts", corpus("B", 30))
    script = (
        _HOLD_LOCK
        if mode == "exclusive locking mode"
        else _HOLD_LOCK.replace('"PRAGMA locking_mode=EXCLUSIVE"', '"SELECT 1"')
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        report = Builder(settings).build()  # must not raise, nor wait more than a few busy timeouts
        assert report.posts == 30 and not report.rejected
        assert snapshot(tmp_path / "out") == snapshot_of_reference(tmp_path, corpus("B", 30))
        assert path.is_file() and path.stat().st_ino == inode
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key='marker'").fetchone() == ("still here",)
        assert db.execute("SELECT count(*) FROM posts").fetchone()[0] >= 30
    db.close()
    assert os.path.getsize(path) > 0


def snapshot_of_reference(tmp_path: Path, posts: dict[str, str]) -> dict[str, bytes]:
    root = tmp_path / "reference"
    sync_posts(root / "_posts", posts)
    Builder(settings_for(root, cache="off")).build()
    return snapshot(root / "out")


@pytest.mark.parametrize(
    ("size", "mtime_ns"),
    [(0, 0), (1234, 1_700_000_000_123_456_789), ((1 << 40) - 1, 2**62), (1 << 40, 5), (7, -1_000_000_000)],
)
def test_a_cached_post_gives_back_its_size_and_mtime_however_large(size: int, mtime_ns: int) -> None:
    # Held as one number when they fit (a large site keeps a CachedPost per file): what comes back must be exact.
    cached = CachedPost(size, mtime_ns, "d", POST)
    again = pickle.loads(pickle.dumps(cached))
    assert (cached.size, cached.mtime_ns) == (again.size, again.mtime_ns) == (size, mtime_ns)


_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))])


@given(
    size=st.integers(0, 1 << 41),
    mtime_ns=st.integers(-(1 << 65), 1 << 65),
    date=st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=_ZONES),
)
def test_a_cached_post_gives_back_its_size_mtime_and_time_exactly(size: int, mtime_ns: int, date: datetime) -> None:
    # Held as one number with the post's time (a large site keeps a CachedPost per file): the time must order posts
    # exactly as their dates' timestamps do, and size and mtime come back exact, fitting or not.
    post = POST.replace(date=date, updated=date)
    cached = CachedPost(size, mtime_ns, "d", post)
    again = pickle.loads(pickle.dumps(cached))
    assert (cached.size, cached.mtime_ns, cached.order) == (size, mtime_ns, (date.timestamp(), post.path))
    assert (again.size, again.mtime_ns, again.order) == (size, mtime_ns, (date.timestamp(), post.path))
