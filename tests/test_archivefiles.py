"""Archive pages a server makes on request: the same bytes `syndicate build` writes, written for nginx as they are
made, removed exactly when an edit changes them, made once however many ask, served from memory when the disk says
no. Real servers on 127.0.0.1, a real `syndicate build` to compare with."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import feedparser
import httpx
import pytest

from _serving import DEADLINE, SITE_CONFIG, running_server, wait_until
from conftest import post_text
from syndicate.archivefiles import ArchiveFiles
from syndicate.builder import Builder, gzip_sibling_wanted
from syndicate.config import Settings, load_settings
from syndicate.formats import FEED_FORMATS
from syndicate.store import manifest_entries, read_manifest

# Three tags over twelve posts, two entries a page: every feed has archive pages, and each post is in three feeds
# (the site's, its category's, its tag's), so an edit reaches some pages and leaves others alone.
LIMIT = 2
EXTRA = f'limit = {LIMIT}\ncache = "cache.sqlite3"\n'
PREV_ARCHIVE = re.compile(rb'<link rel="prev-archive" href="https://news\.example\.net/feeds/([^"]+)"')


def write_post(root: Path, n: int, title: str | None = None) -> Path:
    """Post ``n`` (1..12): in March 2025, category by parity, one of three tags; its body names its number."""
    path = root / "_posts" / f"2025-03-{n:02d}-harbour-{n}.md"
    path.write_text(
        f'---\ntitle: "{title or f"Harbour notice {n}"}"\ndate: 2025-03-{n:02d} 07:30:00 +0800\n'
        f"categories: {'port' if n % 2 else 'weather'}\ntags: {['ferries', 'tides', 'cranes'][n % 3]}\n---\n"
        f"<p>The harbour master's notice number {n} for the week.</p>\n",
        encoding="utf-8",
    )
    return path


def make_site(root: Path) -> None:
    (root / "_posts").mkdir(parents=True)
    for n in range(1, 13):
        write_post(root, n)


def archive_paths(client: httpx.Client) -> list[str]:
    """Every archive page the server's feeds lead to, by following prev-archive links from each Atom feed."""
    opml = client.get("/feeds/index.opml").text
    feeds = sorted(set(re.findall(r'xmlUrl="https://news\.example\.net/feeds/([^"]+)\.atom"', opml)))
    assert feeds, opml
    found = []
    for feed in feeds:
        body = client.get(f"/feeds/{feed}.atom").content
        while (link := PREV_ARCHIVE.search(body)) is not None:
            path = link[1].decode()
            found.append(path.removesuffix(".atom"))
            response = client.get("/feeds/" + path)
            assert response.status_code == 200, path  # every prev-archive link answers
            body = response.content
    return found


def static_export(root: Path, out: Path) -> None:
    """`syndicate build` of the same posts into ``out`` (its own config and cache): what a static export writes."""
    config = root / "export.toml"
    config.write_text(
        SITE_CONFIG.replace('out = "feeds"', f'out = "{out}"') + f'limit = {LIMIT}\ncache = "off"\n', encoding="utf-8"
    )
    run = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 4,
    )
    assert run.returncode == 0, run.stderr


def prepared(client: httpx.Client) -> int:
    metrics = client.get("/metrics").text
    match = re.search(r"^syndicate_archive_pages_prepared_total (\d+)$", metrics, re.M)
    assert match is not None, metrics
    return int(match[1])


@pytest.mark.server
def test_a_page_made_on_request_is_the_page_a_static_export_writes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    out = site / "feeds"
    with running_server(site, extra_config=EXTRA) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        assert not (out / "archive").exists(), "a server's build writes no archive page"
        assert (out / "all.atom").is_file()
        pages = archive_paths(c)
        assert len(pages) >= 8 and all(p.startswith("archive/") for p in pages)
        static_export(site, tmp_path / "export")
        exported = {p.relative_to(tmp_path / "export").as_posix() for p in (tmp_path / "export/archive").rglob("*.*")}
        assert exported == {f"{p}.{fmt}" for p in pages for fmt in FEED_FORMATS}, "the links reach every page"
        for page in pages:
            for fmt in FEED_FORMATS:
                path = f"{page}.{fmt}"
                response = c.get("/feeds/" + path, headers={"Accept-Encoding": "identity"})
                assert response.status_code == 200, path
                expected = (tmp_path / "export" / path).read_bytes()
                assert response.content == expected, path
                assert (out / path).read_bytes() == expected, f"{path} written for nginx as it was made"
                assert "max-age=86400" in response.headers["cache-control"]
                # Validators of a page made on request: the ETag and the Last-Modified both answer 304.
                etag, modified = response.headers["etag"], response.headers["last-modified"]
                for condition in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
                    again = c.get("/feeds/" + path, headers={"Accept-Encoding": "identity", **condition})
                    assert again.status_code == 304, (path, condition)
                if fmt != "json":
                    assert feedparser.parse(response.content).bozo == 0, path
        made = prepared(c)
        assert made == len(pages) * len(FEED_FORMATS), "one rendering a page (the link walk made the Atom ones)"
        for page in pages:  # asked again: from memory, nothing made again
            assert c.get(f"/feeds/{page}.rss").status_code == 200
        assert prepared(c) == made
        assert c.get("/feeds/archive/all/999.atom").status_code == 404
        assert not (out / "archive/all/999.atom").exists()


@pytest.mark.server
def test_an_edit_removes_exactly_the_pages_it_changes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    out = site / "feeds"
    with running_server(site, extra_config=EXTRA) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        pages = archive_paths(c)
        for page in pages:
            for fmt in FEED_FORMATS:
                assert c.get(f"/feeds/{page}.{fmt}").status_code == 200
        files = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in (out / "archive").rglob("*.*")}
        assert len(files) == len(pages) * len(FEED_FORMATS)
        # Post 1 is the oldest: in the first archive page of the site's feed, of 'port' and of 'ferries'... as the
        # pages say themselves; a page lists it when its JSON names the post's URL.
        listing = {
            f"{page}.{fmt}"
            for page in pages
            if b"harbour-1.html" in (out / f"{page}.json").read_bytes()
            for fmt in FEED_FORMATS
        }
        assert listing and len(listing) < len(files)
        write_post(site, 1, "Harbour notice one, corrected")
        wait_until(lambda: not any((out / p).exists() for p in listing), "the edited post's pages to be removed")
        for path, mtime in files.items():
            if path not in listing:
                assert (out / path).stat().st_mtime_ns == mtime, f"{path} does not list the post: left alone"
        # Asked for again, the changed pages are made with the new title, and written again.
        for path in sorted(listing):
            wait_until(lambda p=path: "corrected" in c.get("/feeds/" + p).text, f"{path} with the new title")
            assert "corrected" in (out / path).read_text(encoding="utf-8")
        static_export(site, tmp_path / "export")
        for path in files:
            assert c.get("/feeds/" + path).content == (tmp_path / "export" / path).read_bytes(), path


@pytest.mark.server
def test_concurrent_first_requests_make_a_page_once(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    with running_server(site, extra_config=EXTRA) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        assert prepared(c) == 0
        bodies: list[bytes] = []
        start = threading.Barrier(8)

        def ask() -> None:
            with httpx.Client(base_url=server.url, timeout=DEADLINE) as own:
                start.wait()
                response = own.get("/feeds/archive/all/1.rss")
                assert response.status_code == 200
                bodies.append(response.content)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE)
        assert len(bodies) == 8 and len(set(bodies)) == 1
        assert prepared(c) == 1


@pytest.mark.server
def test_a_page_that_cannot_be_written_is_served_from_memory(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    out = site / "feeds"
    out.mkdir()
    (out / "archive").write_text("not a directory\n", encoding="utf-8")  # every archive page's write fails
    with running_server(site, extra_config=EXTRA) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        first = c.get("/feeds/archive/all/1.atom")
        assert first.status_code == 200 and feedparser.parse(first.content).bozo == 0
        assert c.get("/feeds/archive/all/1.atom").content == first.content
        assert prepared(c) == 1, "kept in memory though the file could not be written"
        assert (out / "archive").read_text(encoding="utf-8") == "not a directory\n"
        wait_until(lambda: "cannot write archive page archive/all/1.atom" in server.output(), "the warning")
        assert c.get("/readyz").status_code == 200


@pytest.mark.server
def test_a_restart_keeps_the_files_whose_pages_did_not_change(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    out = site / "feeds"
    # A static export first (into the server's output directory, with the server's cache): every page on disk.
    config = site / "syndicate.toml"
    config.write_text(SITE_CONFIG + EXTRA, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 4,
    )
    assert run.returncode == 0, run.stderr
    files = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in (out / "archive").rglob("*.*")}
    assert files
    listing = {p for p in files if p.endswith(".json") and b"harbour-1.html" in (out / p).read_bytes()}
    listing = {f"{p.removesuffix('.json')}.{fmt}" for p in listing for fmt in FEED_FORMATS}
    # Edited while no server runs, then a server starts: it trusts the unchanged pages, removes the changed ones.
    write_post(site, 1, "Harbour notice one, corrected")
    with running_server(site) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        for path, mtime in files.items():
            if path in listing:
                assert not (out / path).exists(), f"{path} lists the edited post: removed before it is served"
            else:
                assert (out / path).stat().st_mtime_ns == mtime, f"{path} unchanged: kept"
        for path in listing:
            assert "corrected" in c.get("/feeds/" + path).text
        assert prepared(c) == len(listing)


def test_a_page_is_written_only_for_its_newest_key_and_a_changed_key_drops_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = ArchiveFiles(out, None)
    path = "archive/all/1.atom"
    assert files.settle({path: "k1"}) == ({}, set())
    assert not files.write(path, "k0", b"<feed>old</feed>", "d0"), "rendered for a key that is no longer the page's"
    assert not (out / path).exists()
    assert files.write(path, "k1", b"<feed>new</feed>", "d1") and (out / path).read_bytes() == b"<feed>new</feed>"
    assert files.written(path, "k1")
    assert files.settle({path: "k1", "archive/all/2.atom": "k5"}) == ({path: "d1"}, set())  # unchanged: kept
    assert files.settle({path: "k2"}) == ({}, {path})  # changed: the build removes it
    assert not files.written(path, "k1") and not files.write(path, "k1", b"<feed>new</feed>", "d1")


def test_no_page_is_written_while_a_build_that_was_served_first_writes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = ArchiveFiles(out, None)
    path = "archive/all/1.atom"
    with files.held():  # Builder.write_deferred: settles, then removes stale files
        assert files.settle({path: "k1"}) == ({}, set())
        assert not files.write(path, "k1", b"<feed>made meanwhile</feed>", "d1"), "not waited for: skipped"
        assert not (out / path).exists() and not files.written(path, "k1")
    assert files.write(path, "k1", b"<feed>made again</feed>", "d1")
    assert (out / path).read_bytes() == b"<feed>made again</feed>"


def test_syndicate_build_after_a_server_writes_every_archive_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    config = site / "syndicate.toml"
    config.write_text(SITE_CONFIG + EXTRA, encoding="utf-8")
    settings = load_settings(config)
    server = Builder(settings, archives=ArchiveFiles(settings.out, None), cache=False)
    server.build()
    assert server.feedset.on_request and not (settings.out / "archive").exists()
    static_export(site, tmp_path / "export")
    run = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 4,
    )
    assert run.returncode == 0, run.stderr
    written = {p.relative_to(settings.out).as_posix() for p in (settings.out / "archive").rglob("*.*")}
    assert written == set(server.feedset.on_request)
    for path in written:
        assert (settings.out / path).read_bytes() == (tmp_path / "export" / path).read_bytes(), path


@pytest.mark.server
def test_files_written_on_request_outlive_a_restart(tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_site(site)
    out = site / "feeds"
    with running_server(site, extra_config=EXTRA) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        pages = archive_paths(c)  # the Atom pages are made and written
    files = {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in (out / "archive").rglob("*.*")}
    assert set(files) == {f"{p}.atom" for p in pages}
    # The stopped server listed them in the manifest: the next one trusts them, and does not write them again.
    with running_server(site) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as c:
        for path, mtime in files.items():
            assert (out / path).stat().st_mtime_ns == mtime, path
            response = c.get("/feeds/" + path)
            assert response.status_code == 200 and response.content == (out / path).read_bytes()
            assert (out / path).stat().st_mtime_ns == mtime, f"{path} not written again"


def test_after_each_build_exactly_the_files_written_for_a_pages_newest_key_stay(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """A build after the first names only the pages of the feeds it changed: the files of the others stay without
    a look. Over random changes, a file stays exactly while the key it was written for is its page's key."""
    random.seed(23)
    for day in range(1, 21):
        (posts_dir / f"2024-04-{day:02d}-p.md").write_text(
            post_text(f"title: P{day}\ndate: 2024-04-{day:02d}\ncategories: {random.choice(['a', 'b', 'c'])}"),
            encoding="utf-8",
        )
    settings = make_settings(limit=2)
    files = ArchiveFiles(settings.out, None)
    builder = Builder(settings, archives=files, cache=False)
    builder.build()
    written: dict[str, str] = {}  # path -> the key its file was written for
    for step in range(30):
        for path, planned in random.sample(sorted(builder.feedset.on_request.items()), 5):
            assert files.write(path, planned.key, f"{path} {planned.key}".encode(), planned.key[:8])
            written[path] = planned.key
        day = random.randint(1, 28)
        path = posts_dir / f"2024-04-{day:02d}-p.md"
        if path.exists() and random.random() < 0.3:
            path.unlink()
        else:
            category = random.choice(["a", "b", "c", "d"])
            path.write_text(post_text(f"title: P{day} v{step}\ndate: 2024-04-{day:02d}\ncategories: {category}"))
        builder.build([path])
        on_request = builder.feedset.on_request
        for page, key in written.items():
            newest = on_request[page].key if page in on_request else None
            assert (settings.out / page).exists() == (key == newest), (step, page)
            assert files.written(page, key) == (key == newest)
        written = {page: key for page, key in written.items() if page in on_request and on_request[page].key == key}
        # The build's manifest lists the files that stayed (those written since the last build too) and no other
        # archive page, though it compared only the paths the build changed or that were written since.
        listed = {
            **{page: key[:8] for page, key in written.items()},
            **manifest_entries(builder.documents, gzip_sibling_wanted),
        }
        assert read_manifest(settings.out) == listed, step
