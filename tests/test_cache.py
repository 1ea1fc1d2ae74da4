from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from syndicate.cache import CachedPost, ParseCache
from syndicate.lastmodified import Stamp
from syndicate.posts import Post, Rejection

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
    old = {name: value for name, value in zip(Post.__slots__, POST.to_json(), strict=False) if name != "site"}
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
