"""Faults: nothing lost. A build killed at any point, a full or unwritable disk, a posts directory that vanishes or is
unmounted, a post still being written: the last good feeds stay (on disk and in memory), the cause is reported, and
the next good build recovers. Figures for docs/reliability.md come from these tests.
"""

from __future__ import annotations

import errno
import json
import os
import random
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from _serving import DEADLINE, SITE_CONFIG, Server, drop_lease_capability, running_server, wait_until
from conftest import post_text
from hostile import assert_output_sound, entry_titles, feed_files
from syndicate import store
from syndicate.builder import Builder, BuildError
from syndicate.config import Settings, load_settings
from syndicate.store import MANIFEST

KILLS = 24


def corpus(version: str, count: int) -> dict[str, str]:
    """Posts of one version: version B retitles a third, drops a tenth and adds new posts with new tags."""
    posts: dict[str, str] = {}
    for i in range(count):
        if version == "B" and i % 10 == 9:
            continue
        title = f"{'B' if version == 'B' and i % 3 == 0 else 'A'} post {i}"
        day = 1 + i % 28
        posts[f"2023-{1 + i % 12:02d}-{day:02d}-post-{i}.md"] = post_text(
            f"title: {title}\ndate: 2023-{1 + i % 12:02d}-{day:02d} 10:{i % 60:02d}:00 +0800\n"
            f"categories: cat{i % 7}\ntags: [t{i % 13}, t{i % 5}]",
            f"<p>Paragraph {i} of version {version}.</p>\n" * 3,
        )
    if version == "B":
        for i in range(count, count + count // 10):
            posts[f"2024-02-{1 + i % 28:02d}-new-{i}.md"] = post_text(
                f"title: New post {i}\ndate: 2024-02-{1 + i % 28:02d}\ncategories: fresh\ntags: [n{i % 4}]"
            )
    return posts


def sync_posts(posts_dir: Path, wanted: dict[str, str]) -> None:
    """Make the directory hold exactly ``wanted`` (only files that differ are rewritten)."""
    posts_dir.mkdir(parents=True, exist_ok=True)
    for existing in posts_dir.glob("*.md"):
        if existing.name not in wanted:
            existing.unlink()
    for name, text in wanted.items():
        path = posts_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file a reader could fetch from the output directory (hidden files excluded)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)
    }


def settings_for(root: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "posts": root / "_posts",
        "out": root / "out",
        "url": "https://news.example.net",
        "title": "Faults",
        "timezone": "Asia/Shanghai",
        "cache": str(root / "cache.sqlite3"),
        "limit": 10,
    }
    values.update(extra)
    return load_settings(None, values, environ={})


def reference(tmp_path: Path, name: str, posts: dict[str, str]) -> dict[str, bytes]:
    root = tmp_path / f"ref-{name}"
    sync_posts(root / "_posts", posts)
    Builder(settings_for(root, cache="off")).build()
    return snapshot(root / "out")


CONFIG = """\
title = "Faults"
url = "https://news.example.net"
timezone = "Asia/Shanghai"
posts = "_posts"
out = "out"
cache = "cache.sqlite3"
limit = 10
"""


def cli_build(root: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    with (root / "build.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "syndicate", "build", "--config", str(root / "syndicate.toml"), "-q"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def test_sigkill_at_random_points_never_leaves_a_partial_feed(tmp_path: Path) -> None:
    """Kill ``syndicate build`` with SIGKILL at random moments, switching the posts between two versions each time.

    After every kill each feed file is byte-for-byte one of the two versions' files (never partial, never a mix
    inside a file); afterwards a normal build recovers exactly the wanted version, and the parse cache passes SQLite's
    integrity check and is used.
    """
    posts_a, posts_b = corpus("A", 240), corpus("B", 240)
    ref = {"A": reference(tmp_path, "a", posts_a), "B": reference(tmp_path, "b", posts_b)}
    assert ref["A"] != ref["B"] and len(ref["B"]) > 100
    root = tmp_path / "site"
    root.mkdir()
    (root / "syndicate.toml").write_text(CONFIG, encoding="utf-8")
    sync_posts(root / "_posts", posts_a)
    started = time.monotonic()
    proc = cli_build(root)
    assert proc.wait(timeout=120) == 0, (root / "build.log").read_text()
    full_run = time.monotonic() - started
    out = root / "out"
    assert snapshot(out) == ref["A"]

    rng = random.Random(20240501)
    killed = finished = mixed = 0
    for i in range(KILLS):
        version = "B" if i % 2 == 0 else "A"
        sync_posts(root / "_posts", posts_a if version == "A" else posts_b)
        proc = cli_build(root)
        time.sleep(rng.uniform(0.05, full_run * 1.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        else:
            finished += 1
        proc.wait(timeout=120)
        on_disk = snapshot(out)
        for rel, data in on_disk.items():
            versions = [v for v in "AB" if ref[v].get(rel) == data]
            assert versions, f"kill {i}: {rel} is neither version (partial or corrupt)"
        if any(ref["A"].get(r) != d for r, d in on_disk.items()) and any(
            ref["B"].get(r) != d for r, d in on_disk.items()
        ):
            mixed += 1  # killed between renames: files of both versions side by side, each one whole
        manifest = out / MANIFEST
        if manifest.exists():
            json.loads(manifest.read_text(encoding="utf-8"))
    assert killed >= 10, f"only {killed} of {KILLS} runs were killed before finishing"

    # Recovery: an ordinary build gives exactly the wanted version, removes leftovers, and the cache is sound.
    sync_posts(root / "_posts", posts_b)
    proc = cli_build(root)
    assert proc.wait(timeout=120) == 0, (root / "build.log").read_text()
    assert snapshot(out) == ref["B"]
    assert not [p for p in out.rglob(".tmp-*")], "temporary files of killed builds were not cleaned up"
    with sqlite3.connect(root / "cache.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    warm = Builder(settings_for(root)).build()
    assert warm.parsed == 0 and not warm.written, (warm.parsed, len(warm.written))
    assert_output_sound(out)
    print(f"\nFIGURES sigkill: runs={KILLS} killed={killed} finished={finished} mixed_states={mixed}")


_KILL_DURING_WRITE = """
import os, signal, sys
from pathlib import Path
from syndicate import store
from syndicate.builder import Builder
from syndicate.config import load_settings

root, after = Path(sys.argv[1]), int(sys.argv[2])
real_replace = os.replace
count = [0]

def replace(src, dst):
    if count[0] == after:
        os.kill(os.getpid(), signal.SIGKILL)  # in the middle of the renames (or between temp files and renames)
    count[0] += 1
    real_replace(src, dst)

store.os.replace = replace
settings = load_settings(root / "syndicate.toml", {}, environ={})
Builder(settings).build()
"""


def test_sigkill_inside_the_write_phase(tmp_path: Path) -> None:
    """Random kills rarely land in the few milliseconds of renames, so here the build kills itself there: after a
    random number of ``os.replace`` calls (KILLS runs). Each file stays whole; a restart converges on the posts."""
    posts_a, posts_b = corpus("A", 120), corpus("B", 120)
    ref = {"A": reference(tmp_path, "a", posts_a), "B": reference(tmp_path, "b", posts_b)}
    root = tmp_path / "site"
    root.mkdir()
    (root / "syndicate.toml").write_text(CONFIG, encoding="utf-8")
    sync_posts(root / "_posts", posts_a)
    Builder(settings_for(root)).build()
    out = root / "out"
    rng = random.Random(7)
    mixed = 0
    for i in range(KILLS):
        version = "B" if i % 2 == 0 else "A"
        sync_posts(root / "_posts", posts_a if version == "A" else posts_b)
        after = rng.randrange(0, len(ref["B"]) + 2)
        result = subprocess.run(
            [sys.executable, "-c", _KILL_DURING_WRITE, str(root), str(after)], capture_output=True, timeout=120
        )
        assert result.returncode in (-signal.SIGKILL, 0), result.stderr[-2000:]
        on_disk = snapshot(out)
        for rel, data in on_disk.items():
            assert ref["A"].get(rel) == data or ref["B"].get(rel) == data, f"run {i}: {rel} is partial or corrupt"
        if on_disk != ref["A"] and on_disk != ref["B"]:
            mixed += 1
    assert mixed >= KILLS // 3, f"only {mixed} runs were killed between renames"
    for version, posts in (("A", posts_a), ("B", posts_b)):
        sync_posts(root / "_posts", posts)
        Builder(settings_for(root)).build()  # a restarted process, as after a crash
        assert snapshot(out) == ref[version]
    assert not list(out.rglob(".tmp-*"))
    print(f"\nFIGURES kill-in-write-phase: runs={KILLS} mixed_states={mixed}")


# -- the parse cache -----------------------------------------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\x00" * 200)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _header_only(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # valid header, random pages
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _wal_garbage(path: Path) -> None:
    Path(str(path) + "-wal").write_bytes(os.urandom(8192))


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize("damage", [_garbage, _truncated, _header_only, _empty, _wal_garbage, _directory])
def test_corrupt_cache_is_detected_and_rebuilt(damage: object, tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 30))
    settings = settings_for(tmp_path)
    Builder(settings).build()
    expected = snapshot(tmp_path / "out")
    cache = tmp_path / "cache.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(str(cache) + suffix).unlink(missing_ok=True)
    damage(cache)  # type: ignore[operator]
    shutil.rmtree(tmp_path / "out")
    report = Builder(settings).build()  # must not raise
    assert report.posts == 30 and not report.rejected
    assert snapshot(tmp_path / "out") == expected
    if cache.is_file():
        # Rebuilt, not just bypassed: a further start reads everything from it.
        with sqlite3.connect(cache) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert Builder(settings).build().parsed == 0


# -- full or unwritable output ---------------------------------------------------------------------------------------


@contextmanager
def failing_writes(monkeypatch: pytest.MonkeyPatch, after: int, code: int = errno.ENOSPC) -> Iterator[list[int]]:
    """Make the store's temporary-file writer fail with ``code`` after ``after`` successful files."""
    real = store._write_temp
    calls = [0]

    def write(target: Path, body: bytes) -> str:
        calls[0] += 1
        if calls[0] > after:
            raise OSError(code, os.strerror(code), str(target))
        return real(target, body)

    with monkeypatch.context() as m:
        m.setattr(store, "_write_temp", write)
        yield calls


@pytest.mark.parametrize(("after", "code"), [(0, errno.ENOSPC), (5, errno.ENOSPC), (40, errno.EDQUOT), (3, errno.EIO)])
def test_failed_write_keeps_every_old_feed_and_the_snapshot(
    after: int, code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = tmp_path / "_posts"
    sync_posts(posts, corpus("A", 60))
    builder = Builder(settings_for(tmp_path))
    builder.build()
    before_disk = snapshot(tmp_path / "out")
    before_docs = dict(builder.documents)
    sync_posts(posts, corpus("B", 60))
    with failing_writes(monkeypatch, after, code), pytest.raises(BuildError) as info:
        builder.build()
    assert os.strerror(code) in str(info.value)
    assert snapshot(tmp_path / "out") == before_disk
    assert dict(builder.documents) == before_docs  # what a server would keep serving from memory
    assert not list((tmp_path / "out").rglob(".tmp-*"))
    # The posts were parsed and saved to the cache all the same: a restart need not parse them again.
    assert Builder(settings_for(tmp_path), write=False).build().parsed == 0
    report = builder.build()  # the disk has room again
    assert report.written
    assert snapshot(tmp_path / "out") == reference(tmp_path, "b", corpus("B", 60))


def test_output_path_blocked_by_a_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 5))
    (tmp_path / "out").write_text("not a directory")
    with pytest.raises(BuildError, match="out"):
        Builder(settings_for(tmp_path)).build()


def test_file_size_limit_in_the_cli_reports_and_keeps_old_feeds(tmp_path: Path) -> None:
    """A real kernel refusal (RLIMIT_FSIZE: EFBIG) in the real CLI: exit 1, a message, every old feed intact."""
    (tmp_path / "syndicate.toml").write_text(CONFIG, encoding="utf-8")
    sync_posts(tmp_path / "_posts", corpus("A", 40))
    assert subprocess.run([sys.executable, "-m", "syndicate", "build", "-q"], cwd=tmp_path, check=False).returncode == 0
    before = snapshot(tmp_path / "out")
    sync_posts(tmp_path / "_posts", {**corpus("B", 40), "2024-05-05-long.md": post_text("title: L", "x" * 200_000)})

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "-q", "--no-cache"],
        cwd=tmp_path,
        preexec_fn=limit,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "error:" in result.stderr and "File too large" in result.stderr
    assert snapshot(tmp_path / "out") == before


def _can_mount() -> bool:
    probe = Path(f"/tmp/syndicate-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True)
        if ok.returncode != 0:
            return False
        subprocess.run(["umount", str(probe)], check=True)
        return True
    except OSError:
        return False
    finally:
        probe.rmdir()


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


needs_mount = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0 or not _can_mount(), reason="mounting a tmpfs is not permitted here"
)


@needs_mount
def test_real_disk_full_on_a_small_tmpfs(tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 30))
    with tmpfs(tmp_path / "out", "1m"):
        builder = Builder(settings_for(tmp_path))
        builder.build()
        before = snapshot(tmp_path / "out")
        big = "<p>" + "filler text " * 20_000 + "</p>\n"
        extra = {
            f"2024-06-{d:02d}-big-{d}.md": post_text(f"title: Big {d}\ndate: 2024-06-{d:02d}", big) for d in range(1, 9)
        }
        sync_posts(tmp_path / "_posts", {**corpus("A", 30), **extra})
        with pytest.raises(BuildError, match="No space left on device"):
            builder.build()
        assert snapshot(tmp_path / "out") == before
        assert "Big 1" not in entry_titles(tmp_path / "out" / "all.atom")
        sync_posts(
            tmp_path / "_posts", corpus("A", 30) | {"2024-06-01-small.md": post_text("title: Small\ndate: 2024-06-01")}
        )
        builder.build()  # space is enough again: recovers
        assert "Small" in entry_titles(tmp_path / "out" / "all.atom")
        assert_output_sound(tmp_path / "out")


@needs_mount
def test_read_only_output_is_reported(tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 10))
    with tmpfs(tmp_path / "out", "4m"):
        builder = Builder(settings_for(tmp_path))
        builder.build()
        before = snapshot(tmp_path / "out")
        subprocess.run(["mount", "-o", "remount,ro", str(tmp_path / "out")], check=True)
        sync_posts(tmp_path / "_posts", corpus("B", 10))
        with pytest.raises(BuildError, match="Read-only file system"):
            builder.build()
        assert snapshot(tmp_path / "out") == before
        subprocess.run(["mount", "-o", "remount,rw", str(tmp_path / "out")], check=True)
        assert builder.build().written


# -- the posts directory -----------------------------------------------------------------------------------------


def test_removed_posts_directory_keeps_the_last_good_feeds(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    sync_posts(posts, corpus("A", 20))
    builder = Builder(settings_for(tmp_path))
    builder.build()
    before_disk = snapshot(tmp_path / "out")
    before_posts = builder.posts
    shutil.rmtree(posts)
    with pytest.raises(BuildError, match="cannot be read"):
        builder.build()
    with pytest.raises(BuildError, match="cannot be read"):
        builder.build([posts / "2023-01-01-post-0.md"])  # an incremental build, as the watcher asks for
    assert snapshot(tmp_path / "out") == before_disk and builder.posts == before_posts
    posts.write_text("a file where the directory was")
    with pytest.raises(BuildError, match="not a directory"):
        builder.build()
    posts.unlink()
    sync_posts(posts, corpus("B", 20))
    builder.build()
    assert snapshot(tmp_path / "out") == reference(tmp_path, "b", corpus("B", 20))


def test_genuinely_empty_posts_directory_gives_empty_feeds(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    sync_posts(posts, corpus("A", 20))
    builder = Builder(settings_for(tmp_path))
    builder.build()
    for path in posts.iterdir():
        path.unlink()
    with pytest.raises(BuildError, match="refusing to drop 20 of 20"):  # the drop guard (tests/test_guard.py)
        builder.build()
    report = builder.build(force=True)
    assert report.posts == 0
    assert entry_titles(tmp_path / "out" / "all.atom") == []
    assert [p.relative_to(tmp_path / "out").as_posix() for p in feed_files(tmp_path / "out")] == [
        "all.atom",
        "all.json",
        "all.rss",
    ]
    assert_output_sound(tmp_path / "out")


@needs_mount
def test_unmounted_posts_directory_is_not_published_as_empty(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    with tmpfs(posts, "4m"):
        sync_posts(posts, corpus("A", 20))
        builder = Builder(settings_for(tmp_path))
        builder.build()
        before = snapshot(tmp_path / "out")
    # The mount is gone: the directory is there but empty. That is not "every post was deleted".
    assert posts.is_dir() and not any(posts.iterdir())
    with pytest.raises(BuildError, match="no longer mounted"):
        builder.build()
    assert snapshot(tmp_path / "out") == before and builder.posts
    with tmpfs(posts, "4m"):
        sync_posts(posts, corpus("B", 20))
        builder.build()
        assert snapshot(tmp_path / "out") == reference(tmp_path, "b", corpus("B", 20))


# -- a post being written ----------------------------------------------------------------------------------------

_SLOW_WRITER = """
import sys, time
path, ready = sys.argv[1], sys.argv[2]
with open(path, "w", encoding="utf-8") as fh:
    fh.write("---\\ntitle: Half written\\ndate: 2024-07-01\\ncategories: ")
    fh.flush()
    open(ready, "w").close()
    sys.stdin.readline()  # hold the file open, half written, until the test says go
    fh.write("complete\\n---\\n<p>The whole body.</p>\\n")
"""


def test_post_being_written_is_deferred_not_published_half_written(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    sync_posts(posts, corpus("A", 5))
    builder = Builder(settings_for(tmp_path))
    builder.build()
    target = posts / "2024-07-01-slow.md"
    ready = tmp_path / "ready"
    writer = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(target), str(ready)], stdin=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert writer.poll() is None and time.monotonic() < deadline, "writer did not start"
            time.sleep(0.02)
        for changed in (None, [target]):  # a full rescan and the watcher's incremental build
            report = builder.build(changed)
            assert "2024-07-01-slow.md" in report.deferred
            assert not any(r.path == "2024-07-01-slow.md" for r in report.rejected)
            assert "Half written" not in entry_titles(tmp_path / "out" / "all.atom")
        assert writer.stdin is not None
        writer.stdin.write("go\n")
        writer.stdin.close()
        assert writer.wait(timeout=30) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    report = builder.build([target])
    assert not report.deferred and not report.rejected
    post = next(p for p in builder.posts if p.path == "2024-07-01-slow.md")
    assert post.categories == ("complete",)


# Pieces of one post, each appended with the file opened and closed again: no writer holds it open in between, so
# not even the file's owner could see a write lease. The first piece alone is a complete post (front matter and a
# body): published then, it would be the half-written post readers must never get.
_PIECE_WRITER = """
import os, sys, time
path, pause, owner = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
pieces = ["---\\ntitle: Slow pieces\\ndate: 2024-07-01\\ncategories: slow\\n---\\n"]
pieces += [f"<p>Paragraph {n} of the slow post.</p>\\n" for n in range(1, 8)] + ["<p>END-OF-SLOW-POST</p>\\n"]
os.close(os.open(path + ".new", os.O_CREAT | os.O_WRONLY, 0o644))
os.chown(path + ".new", owner, owner)  # someone else's file, as posts are to the shipped systemd unit and image
os.rename(path + ".new", path)
for piece in pieces:
    time.sleep(pause)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(piece)
"""


@pytest.mark.server
def test_a_post_written_in_pieces_by_another_owner_is_never_served_half_written(tmp_path: Path) -> None:
    """The server cannot take a lease on the post (not its owner, no CAP_LEASE), the writer closes the file between
    pieces, and builds are asked for all the while (the watcher's, and full rescans by the admin route, as the
    schedule runs them): the feeds never carry the post before its last piece."""
    sync_posts(tmp_path / "_posts", corpus("A", 6))
    config = SITE_CONFIG.replace("debounce_ms = 50", "debounce_ms = 600") + "admin_rate = 0\n"
    (tmp_path / "syndicate.toml").write_text(config, encoding="utf-8")
    target = tmp_path / "_posts" / "2024-07-01-slow-pieces.md"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with running_server(tmp_path, token=TOKEN, preexec=drop_lease_capability) as server:
        started = time.monotonic()
        writer = subprocess.Popen([sys.executable, "-c", _PIECE_WRITER, str(target), "0.25", "65534"])
        looks = partial = regenerations = 0
        try:
            with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
                while writer.poll() is None:
                    client.post("/admin/regenerate?wait=0", headers=auth)
                    regenerations += 1
                    for path in ("/feeds/all.atom", "/feeds/categories/slow.atom"):
                        response = client.get(path)
                        looks += 1
                        if b"Slow pieces" in response.content and b"END-OF-SLOW-POST" not in response.content:
                            partial += 1
                    time.sleep(0.05)
        finally:
            writer.wait(timeout=DEADLINE)
        done = time.monotonic()
        assert writer.returncode == 0

        def complete() -> bool:
            body = httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).content
            return b"END-OF-SLOW-POST" in body

        wait_until(complete, "the whole post in the feed")
        print(
            f"FIGURES slow writer: {looks} feed fetches and {regenerations} regenerations during "
            f"{done - started:.1f} s of writing, "
            f"{partial} with the post half-written; complete in the feed {time.monotonic() - done:.2f} s after the "
            "last piece"
        )
        assert partial == 0 and looks >= 10
        assert "Traceback" not in server.output()


# -- the running server --------------------------------------------------------------------------------------------

TOKEN = "faults-token-91c2"


def _metric(server: Server, name: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=DEADLINE).text
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def _regenerate(server: Server) -> httpx.Response:
    return httpx.post(server.url + "/admin/regenerate", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=DEADLINE)


def _status(server: Server) -> dict[str, Any]:
    """/admin/status: the last build's error is there (with paths), not in the public /readyz."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body: dict[str, Any] = httpx.get(server.url + "/admin/status", headers=auth, timeout=DEADLINE).json()
    return body


def _feed(server: Server) -> httpx.Response:
    response = httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE)
    assert response.status_code == 200
    assert_feed_bytes_sound(response.content)
    return response


def assert_feed_bytes_sound(data: bytes) -> None:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")


@pytest.mark.server
def test_a_posts_directory_emptied_while_serving_is_refused_until_forced(tmp_path: Path) -> None:
    """The posts directory reappears empty (a sync half-done, a volume mounted late): the watcher's and the admin's
    builds are refused, every feed keeps its bytes, /readyz says why; a forced regeneration publishes the empty
    site."""
    sync_posts(tmp_path / "_posts", corpus("A", 12))
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\n", encoding="utf-8")
    with running_server(tmp_path, token=TOKEN) as server:
        good = _feed(server)
        category = httpx.get(server.url + "/feeds/categories/cat3.atom", timeout=DEADLINE)
        assert category.status_code == 200
        for path in (tmp_path / "_posts").iterdir():
            path.unlink()

        def refused() -> bool:
            return bool(httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["problem"])

        wait_until(refused, "the watcher's build to be refused")  # no admin request yet: the watcher's own build
        response = _regenerate(server)
        assert response.status_code == 500 and "refusing to drop 12 of 12 published posts" in response.json()["error"]
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE)
        assert ready.status_code == 200 and ready.json()["last_build_ok"] is False
        assert ready.json()["problem"].startswith("refusing to drop 12 of 12 published posts")
        assert str(tmp_path) not in ready.text
        again = _feed(server)
        assert again.content == good.content and again.headers["etag"] == good.headers["etag"]
        assert httpx.get(server.url + "/feeds/categories/cat3.atom", timeout=DEADLINE).content == category.content
        assert (tmp_path / "feeds" / "categories" / "cat3.atom").read_bytes() == category.content
        assert "refusing to drop 12 of 12" in server.output()

        def regenerate(*extra: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "syndicate", "regenerate", "--url", server.url, *extra]
            environ = {**os.environ, "SYNDICATE_ADMIN_TOKEN": TOKEN}
            return subprocess.run(command, capture_output=True, text=True, timeout=DEADLINE, env=environ, check=False)

        cli = regenerate()
        assert cli.returncode == 1 and "refusing to drop 12 of 12" in cli.stderr
        forced = regenerate("--force")  # POST /admin/regenerate?force=1
        assert forced.returncode == 0 and forced.stdout.startswith("rebuilt: 0 posts"), forced.stderr
        assert httpx.get(server.url + "/feeds/categories/cat3.atom", timeout=DEADLINE).status_code == 404
        assert httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["problem"] is None


@pytest.mark.server
def test_server_keeps_serving_when_the_output_cannot_be_written(tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 12))
    config = SITE_CONFIG.replace('out = "feeds"', 'out = "feeds"\nadmin_rate = 0') + "watch = false\n"
    (tmp_path / "syndicate.toml").write_text(config, encoding="utf-8")
    with running_server(tmp_path, token=TOKEN) as server:
        good = _feed(server)
        assert _metric(server, "syndicate_last_build_success") == 1
        feeds = tmp_path / "feeds"
        feeds.rename(tmp_path / "feeds.moved")
        feeds.write_text("a file where the output directory should be")  # not writable as a directory
        sync_posts(tmp_path / "_posts", corpus("B", 12))
        response = _regenerate(server)
        assert response.status_code == 500 and response.json()["ok"] is False
        assert "feeds" in response.json()["error"]
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE)
        assert ready.status_code == 200  # still serving the last good feeds
        assert ready.json() == {
            "ready": True,
            "last_build_ok": False,
            "in_memory": False,
            "build_overdue": False,
            "writing": False,
            "problem": "the feeds cannot be written to the output directory",
        }
        assert _status(server)["last_build"]["error"]
        assert _metric(server, "syndicate_last_build_success") == 0
        assert _metric(server, 'syndicate_builds_total{result="error"}') >= 1
        again = _feed(server)
        assert again.content == good.content and again.headers["etag"] == good.headers["etag"]
        # Recovery: the directory is back, the next build succeeds and serves the new posts.
        feeds.unlink()
        (tmp_path / "feeds.moved").rename(feeds)
        assert _regenerate(server).status_code == 200
        ready_now = httpx.get(server.url + "/readyz", timeout=DEADLINE).json()
        assert ready_now == {
            "ready": True,
            "last_build_ok": True,
            "in_memory": False,
            "build_overdue": False,
            "writing": False,
            "problem": None,
        }
        assert _status(server)["last_build"]["ok"] is True
        assert _metric(server, "syndicate_last_build_success") == 1
        assert _feed(server).content != good.content
        assert "B post 0" in {e.title for e in feedparser.parse(_feed(server).content).entries}


@pytest.mark.server
@needs_mount
def test_server_keeps_serving_when_the_disk_is_full(tmp_path: Path) -> None:
    sync_posts(tmp_path / "_posts", corpus("A", 12))
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\nwatch = false\n", encoding="utf-8")
    # Sized so the small site, with the .gz beside each document, fits twice (a build stages every changed file
    # before renaming any) but the big posts do not.
    with tmpfs(tmp_path / "feeds", "2m"), running_server(tmp_path, token=TOKEN) as server:
        good = _feed(server)
        big = "<p>" + "filler text " * 20_000 + "</p>\n"
        extra = {
            f"2024-06-{d:02d}-big.md": post_text(f"title: Big {d}\ndate: 2024-06-{d:02d}", big) for d in range(1, 9)
        }
        sync_posts(tmp_path / "_posts", {**corpus("A", 12), **extra})
        response = _regenerate(server)
        assert response.status_code == 500 and "No space left on device" in response.json()["error"]
        assert "No space left" in _status(server)["last_build"]["error"]
        assert _feed(server).content == good.content
        sync_posts(tmp_path / "_posts", corpus("B", 12))
        response = _regenerate(server)
        assert response.status_code == 200, response.text
        assert "B post 0" in {e.title for e in feedparser.parse(_feed(server).content).entries}


@pytest.mark.server
def test_a_restart_with_the_output_unwritable_serves_from_memory_and_retries(tmp_path: Path) -> None:
    """Restarted with an output directory it cannot write (here a file in its place; a full or read-only disk fails
    the same way): the build is served from memory, /readyz says so, and the failed build is retried with backoff
    until the directory can be written, with no trigger from outside (no watcher, no rescan due)."""
    sync_posts(tmp_path / "_posts", corpus("A", 12))
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\nwatch = false\n", encoding="utf-8")
    feeds = tmp_path / "feeds"
    feeds.write_text("a file where the output directory should be")
    with running_server(tmp_path, token=TOKEN) as server:
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE)
        assert ready.status_code == 200
        assert ready.json() == {
            "ready": True,
            "last_build_ok": False,
            "in_memory": True,
            "build_overdue": False,
            "writing": False,
            "problem": "the feeds cannot be written to the output directory",
        }
        served = _feed(server)
        assert "A post 0" in {e.title for e in feedparser.parse(served.content).entries}
        status = _status(server)
        assert status["last_build"]["in_memory"] is True and status["retry_in"] >= 2
        assert "serving this build from memory; trying again in 2 s" in server.output()
        assert "still serving the last good feeds" not in server.output()
        feeds.unlink()  # space is back
        wait_until(lambda: (feeds / "all.atom").exists(), "a retry to write the feeds")
        wait_until(lambda: httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["last_build_ok"], "readiness")
        assert httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["in_memory"] is False
        assert _status(server)["retry_in"] is None
        assert (feeds / "all.atom").read_bytes() == _feed(server).content


@pytest.mark.server
def test_posts_directory_removed_while_serving(tmp_path: Path) -> None:
    """The watcher sees the directory go: the last good feeds stay served, the failure is reported, and serving
    resumes with a full rescan when the directory is back."""
    sync_posts(tmp_path / "_posts", corpus("A", 12))
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\n", encoding="utf-8")
    with running_server(tmp_path, token=TOKEN) as server:
        good = _feed(server)
        titles = {e.title for e in feedparser.parse(good.content).entries}
        shutil.rmtree(tmp_path / "_posts")
        response = _regenerate(server)  # as the scheduled rescan would
        assert response.status_code == 500 and "cannot be read" in response.json()["error"]
        wait_until(
            lambda: httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["last_build_ok"] is False, "report"
        )
        assert httpx.get(server.url + "/readyz", timeout=DEADLINE).status_code == 200
        assert _feed(server).content == good.content  # nothing emptied
        assert {e.title for e in feedparser.parse(_feed(server).content).entries} == titles
        sync_posts(tmp_path / "_posts", corpus("B", 12))

        def resumed() -> bool:
            entries = feedparser.parse(httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).content).entries
            return "B post 0" in {e.title for e in entries}

        wait_until(resumed, "the watcher to pick the directory up again")
        assert httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["last_build_ok"] is True


@pytest.mark.server
@needs_mount
def test_posts_mount_vanishing_while_serving(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\n", encoding="utf-8")
    with tmpfs(posts, "4m"):
        sync_posts(posts, corpus("A", 12))
        server_cm = running_server(tmp_path, token=TOKEN)
        server = server_cm.__enter__()
    try:
        good = _feed(server)  # the mount is gone now: the directory is empty
        response = _regenerate(server)
        assert response.status_code == 500 and "no longer mounted" in response.json()["error"]
        assert _feed(server).content == good.content
        with tmpfs(posts, "4m"):
            sync_posts(posts, corpus("B", 12))
            assert _regenerate(server).status_code == 200
            assert "B post 0" in {e.title for e in feedparser.parse(_feed(server).content).entries}
    finally:
        server_cm.__exit__(None, None, None)


def test_a_writer_breaking_the_read_lease_does_not_kill_the_reader(tmp_path: Path) -> None:
    """The slow-writer check holds a read lease for an instant; a post opened for writing in that instant makes the
    kernel signal the reader (SIGIO by default, which would end the server). Here the instant is made long."""
    post = tmp_path / "post.md"
    post.write_text("---\ntitle: t\n---\n", encoding="utf-8")
    code = f"""
import fcntl, subprocess, sys, time
import syndicate.posts as posts
real = fcntl.fcntl
writers = []
def slow(fd, cmd, arg=0):
    result = real(fd, cmd, arg)
    if cmd == fcntl.F_SETLEASE and arg == fcntl.F_RDLCK:
        writers.append(subprocess.Popen([sys.executable, "-c", "open({str(post)!r}, 'a').close()"]))
        time.sleep(1.5)  # the writer's open breaks the lease while it is held (and waits for its release)
    return result
posts.fcntl.fcntl = slow
try:
    posts.read_post_file({str(post)!r}, 10**7)
except posts.Unfinished:
    pass
writers[0].wait(30)
print("survived")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "survived" in result.stdout, (result.returncode, result.stderr)
