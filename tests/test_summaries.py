from __future__ import annotations

import gc
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import feedparser
import httpx
import pytest

from _serving import running_server, wait_until
from syndicate import summaries
from syndicate.builder import Builder
from syndicate.config import Settings
from syndicate.posts import in_full, summary_of


def test_summaries_come_back_as_written_from_their_regions() -> None:
    first = summaries.reserve(2)
    texts = ["", "plain", "右江河谷新闻 · 中文摘要", "emoji 🎉 and ünïcode", "x" * 1200]
    a, b = summaries.Writer(first), summaries.Writer(first + summaries.REGION)
    at_a = [a.add(t) for t in texts]
    at_b = [b.add(t.upper()) for t in texts]
    b.flush()  # regions are independent: written in any order
    a.flush()
    assert [summaries.read(at) for at in at_a] == texts
    assert [summaries.read(at) for at in at_b] == [t.upper() for t in texts]
    assert summaries.reserve(1) >= first + 2 * summaries.REGION  # later reservations never overlap


def test_a_forked_child_writes_what_the_parent_reads_and_reads_what_it_wrote() -> None:
    region = summaries.reserve(1)
    parent = summaries.Writer(region)
    mine = parent.add("written by the parent")
    parent.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: like a parse worker, then like an archive worker
        try:
            child = summaries.Writer(region + 100)
            at = child.add("written by the child, 子进程")
            child.flush()
            ok = summaries.read(mine) == "written by the parent"
            os.write(write_fd, f"{at} {int(ok)}".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    reply = os.read(read_fd, 100).decode().split()
    os.close(read_fd)
    os.waitpid(pid, 0)
    assert reply[1] == "1"
    assert summaries.read(int(reply[0])) == "written by the child, 子进程"


def test_an_oversized_summary_is_refused_not_cut() -> None:
    writer = summaries.Writer(summaries.reserve(1))
    with pytest.raises(ValueError):
        writer.add("x" * (1 << 20))


def test_what_fits_in_the_store_is_measured_in_utf8_bytes() -> None:
    assert summaries.fits("x" * ((1 << 20) - 1)) and not summaries.fits("x" * (1 << 20))
    assert summaries.fits("短" * 300_000) and not summaries.fits("短" * 400_000)  # three bytes each


# --- a post's text kept out of memory, seen through what is served and built ----------------------------------------
# Every build keeps its posts' title, slug, source URL and summary in the store above (posts.in_full reads them back):
# each path that shows an entry must read them, and an edit of a title alone must change the documents and their
# validators. These run the real server on 127.0.0.1 and the real CLI.

HARBOUR = "https://harbour-gazette.example.org/tides"


def _write_tide(posts: Path, n: int, title: str) -> Path:
    day = date(2023, 1, 1) + timedelta(days=n)  # one post a day, newest last
    path = posts / f"{day}-tide-{n}.md"
    path.write_text(
        f'---\ntitle: "{title}"\ndate: {day} 07:30:00 +0800\ncategories: [harbour]\ntags: [pier-{n}]\n'
        f"source:\n  name: Harbour Gazette\n  url: {HARBOUR}/{n}\n---\n"
        f"<p>Low water at pier {n} comes late this week; the ferries keep their timetable.</p>\n",
        encoding="utf-8",
    )
    return path


def _tide_site(root: Path, count: int) -> dict[int, str]:
    (root / "_posts").mkdir(parents=True)
    titles = {n: f"Tide table for pier {n}" for n in range(1, count + 1)}
    for n, title in titles.items():
        _write_tide(root / "_posts", n, title)
    return titles


def _titles(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [e.title for e in parsed.entries]


@pytest.mark.server
def test_a_server_shows_the_text_kept_out_of_memory_wherever_it_serves_a_post(tmp_path: Path) -> None:
    titles = _tide_site(tmp_path, 5)
    newest = [titles[5], titles[4]]  # limit = 2: the rest are on archive pages
    config = 'limit = 2\ncache = "parse-cache.sqlite3"\n'
    with running_server(tmp_path, extra_config=config) as server, httpx.Client(base_url=server.url) as client:
        atom = client.get("/feeds/all.atom")
        assert _titles(atom.content) == newest
        parsed = feedparser.parse(atom.content)
        assert [link.href for link in parsed.entries[0].links if link.rel == "via"] == [f"{HARBOUR}/5"]
        rss = client.get("/feeds/all.rss").content
        assert _titles(rss) == newest and f'<source url="{HARBOUR}/5">Harbour Gazette</source>'.encode() in rss
        items = client.get("/feeds/all.json").json()["items"]
        assert [(i["title"], i["external_url"]) for i in items] == [
            (t, f"{HARBOUR}/{n}") for n, t in [(5, newest[0]), (4, newest[1])]
        ]
        # archive pages are made on request in a server, from posts whose text is in the store
        oldest = client.get("/feeds/archive/all/1.atom")
        assert oldest.status_code == 200 and _titles(oldest.content)[-1] == titles[1]
        # a query feed is rendered on request too
        asked = client.get("/feeds/all.atom?tag=pier-2&category=harbour")
        assert _titles(asked.content) == [titles[2]]
        # the pages for people: a feed's page and the index of feeds
        page = client.get("/feeds/all.html").text
        assert f">{titles[5]}</a>" in page and f'href="{HARBOUR}/5"' in page
        assert f">{titles[5]}</a>" in client.get("/feeds/").text

        # Only the title changes, in place: the documents that list the post, and their validators, change with it.
        archives = [f"/feeds/archive/all/{n}.atom" for n in (1, 2)]
        [archive_with_3] = [path for path in archives if titles[3] in _titles(client.get(path).content)]
        plain = {"Accept-Encoding": "identity"}  # one representation (brotli may come later, with its own ETag)
        before = {path: client.get(path, headers=plain) for path in ("/feeds/tags/pier-3.atom", archive_with_3)}
        _write_tide(tmp_path / "_posts", 3, "Tide table for pier 3, corrected")
        wait_until(
            lambda: "Tide table for pier 3, corrected" in client.get(archive_with_3).text, "the archive page retitled"
        )
        for path, old in before.items():
            new = client.get(path, headers=plain)
            assert "Tide table for pier 3, corrected" in _titles(new.content) and titles[3] not in _titles(new.content)
            assert new.headers["etag"] != old.headers["etag"], path
            assert client.get(path, headers={**plain, "If-None-Match": old.headers["etag"]}).status_code == 200
            assert client.get(path, headers={**plain, "If-None-Match": new.headers["etag"]}).status_code == 304

    # Started again on its parse cache (resuming its last build): the posts come back from SQLite and their text goes
    # into this process's store. A new post renamed into the posts directory, and a post renamed within it, make
    # the feeds be written again with the other posts' entries.
    with running_server(tmp_path, extra_config=config) as server, httpx.Client(base_url=server.url) as client:
        incoming = _write_tide(tmp_path, 6, "Tide table for pier 6")
        incoming.rename(tmp_path / "_posts" / incoming.name)
        wait_until(lambda: "pier 6" in client.get("/feeds/all.atom").text, "the new post served")
        assert _titles(client.get("/feeds/all.atom").content) == ["Tide table for pier 6", titles[5]]
        items = client.get("/feeds/categories/harbour.json").json()["items"]
        assert [i["external_url"] for i in items] == [f"{HARBOUR}/6", f"{HARBOUR}/5"]
        asked = client.get("/feeds/all.rss?tag=pier-3")
        assert _titles(asked.content) == ["Tide table for pier 3, corrected"]
        assert _titles(client.get("/feeds/archive/all/1.atom").content)[-1] == titles[1]
        [moved] = (tmp_path / "_posts").glob("*-tide-2.md")
        moved.rename(moved.with_name(moved.name.replace("tide-2", "tide-two")))
        wait_until(lambda: "tide-two" in client.get("/feeds/tags/pier-2.atom").text, "the renamed post served")
        assert _titles(client.get("/feeds/tags/pier-2.atom").content) == [titles[2]]
        assert [titles[2] in _titles(client.get(f"/feeds/archive/all/{n}.atom").content) for n in (1, 2)].count(
            True
        ) == 1


def _build(root: Path, out: str, cache: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(root / "syndicate.toml"), "--out", out],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}, "SYNDICATE_CACHE": cache},
    )
    assert done.returncode == 0, done.stderr


def _files(out: Path) -> dict[str, bytes]:
    """The documents a build wrote (its manifest names the settings it was built with: not compared)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file() and p.name[0] != "."}


# 3 posts: parsed, rendered and paged in the build's own process. 510: parsed, rendered and paged by forked worker
# processes (above Parallelism's parse_from, render_from and archive_from: every post is alone in its tag's feed).
@pytest.mark.parametrize("count", [3, 510])
def test_syndicate_build_shows_the_text_and_a_title_edit_rebuilds_as_a_fresh_build(tmp_path: Path, count: int) -> None:
    site = tmp_path / "site"
    titles = _tide_site(site, count)
    (site / "syndicate.toml").write_text(
        'title = "Harbour"\nurl = "https://harbour.example.net"\nposts = "_posts"\nlimit = 2\n', encoding="utf-8"
    )
    cache = str(tmp_path / "cache.sqlite3")
    _build(site, "out", cache)
    out = site / "out"
    assert _titles((out / "all.atom").read_bytes()) == [titles[count], titles[count - 1]]
    assert _titles((out / "archive" / "all" / "1.rss").read_bytes())[-1] == titles[1]  # oldest last
    first = json.loads((out / "archive" / "all" / "1.json").read_bytes())["items"][-1]
    assert (first["title"], first["external_url"]) == (titles[1], f"{HARBOUR}/1")
    assert _titles((out / "tags" / "pier-2.rss").read_bytes()) == [titles[2]]

    # Only the title of the oldest post (on an archive page) changes: the incremental build writes what a build
    # from scratch writes.
    _write_tide(site / "_posts", 1, "Tide table for pier 1, corrected")
    _build(site, "out", cache)
    _build(site, "fresh", "off")
    assert _files(out) == _files(site / "fresh")
    assert _titles((out / "archive" / "all" / "1.atom").read_bytes())[-1] == "Tide table for pier 1, corrected"
    items = json.loads((out / "tags" / "pier-1.json").read_bytes())["items"]
    assert [i["title"] for i in items] == ["Tide table for pier 1, corrected"]


@pytest.mark.server
def test_a_served_jekyll_sites_liquid_sees_page_title_and_slug_in_render_workers_and_excerpts(tmp_path: Path) -> None:
    """510 posts, each alone in its tag's feed: the server parses and renders them in workers from its fork server,
    which cannot read its store (Parallelism's parse_from and render_from); jekyll-feed's summaries (the excerpt,
    Liquid rendered) are made in the server itself."""
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text(
        "title: Harbour notes\nurl: https://harbour.example.org\nplugins: [jekyll-feed]\n", encoding="utf-8"
    )
    for n in range(1, 511):
        day = date(2023, 1, 1) + timedelta(days=n)
        (site / "_posts" / f"{day}-tide-{n}.md").write_text(
            f"---\ntitle: Slack water at berth {n}\nslug: berth-{n}-note\ntags: [berth{n}]\n---\n"
            f"Excerpt of {{{{ page.title }}}}.\n\nBody of {{{{ page.title }}}} at {{{{ page.slug }}}}.\n",
            encoding="utf-8",
        )
    (tmp_path / "syndicate.toml").write_text(f'site = "{site}"\nout = "out"\ncache = "off"\n', encoding="utf-8")
    with running_server(tmp_path) as server, httpx.Client(base_url=server.url) as client:
        for n in (1, 257, 510):
            entry = feedparser.parse(client.get(f"/feeds/tags/berth{n}.atom").content).entries[0]
            assert entry.title == f"Slack water at berth {n}"
            assert f"Body of Slack water at berth {n} at berth-{n}-note." in entry.content[0].value
        newest = feedparser.parse(client.get("/feed.xml").content).entries[0]
        assert newest.summary == "Excerpt of Slack water at berth 510."
        # Rendered in the workers, not after they failed (the output would be the same, slower, with a warning).
        assert "unavailable" not in server.output() and "Traceback" not in server.output()


# --- the store stays bounded while posts are edited ------------------------------------------------------------------


def _store_bytes() -> int:
    """Disk taken by the files this process holds open after deleting them: the summary store's (unlinked from the
    start, and often never named: O_TMPFILE), and any other a test left open, which do not grow meanwhile."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").endswith(" (deleted)"):
                st = os.fstat(int(fd))
                total += st.st_blocks * 512 if stat.S_ISREG(st.st_mode) else 0
        except OSError:
            continue  # the descriptor listing itself, or one closed meanwhile
    return total


def _long_post(posts: Path, n: int, edit: int) -> Path:
    path = posts / f"2024-03-{n:02d}-notice-{n}.md"
    words = " ".join(f"notice{n}-edit{edit}-word{w}" for w in range(100))  # a long title: ~2.5 KB of text a version
    path.write_text(
        f'---\ntitle: "Notice {n}, edit {edit}: {words}"\ndescription: "{words}"\ncategories: [notices]\n---\n'
        "<p>Body.</p>\n",
        encoding="utf-8",
    )
    # Saved a while ago, as a watcher sees a save after its debounce: read at once, not waited for (settle.py).
    when = time.time() - 3600 + edit
    os.utime(path, (when, when))
    return path


def test_a_builder_edited_again_and_again_keeps_its_store_bounded_and_every_post_its_text(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    newest_first = range(4, 0, -1)
    for n in newest_first:
        _long_post(posts_dir, n, 0)
    builder = Builder(make_settings(limit=2), write=False)
    builder.build()
    gc.collect()
    before = _store_bytes()
    held = builder.feedset  # a build still being served while later ones are made (a snapshot's posts, say)
    edits = 100  # every post each time: ~1 MB of text written in all, ~10 KB of it live at any time
    for edit in range(1, edits + 1):
        builder.build([_long_post(posts_dir, n, edit) for n in newest_first])
    gc.collect()
    grown = _store_bytes() - before
    assert grown < 256 * 1024, f"the store grew by {grown} bytes"
    # every post reads its current text, and the build held meanwhile its own
    for feedset, edit in ((builder.feedset, edits), (held, 0)):
        titles = [in_full(p).title for p in feedset.posts]
        assert [t.split(":")[0] for t in titles] == [f"Notice {n}, edit {edit}" for n in newest_first]
        summaries_now = [summary_of(p) for p in feedset.posts]
        assert all(
            s.startswith(f"notice{n}-edit{edit}-word0 ") for n, s in zip(newest_first, summaries_now, strict=True)
        )
    assert f"Notice 4, edit {edits}".encode() in builder.documents["all.atom"].body
    assert f"Notice 1, edit {edits}".encode() in builder.documents["archive/all/1.atom"].body
