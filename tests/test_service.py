"""The runtime: one build at a time with coalescing, atomic swaps, last good feeds kept."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from conftest import Clock
from syndicate.archivefiles import ArchiveFiles
from syndicate.builder import Builder, BuildReport, Written
from syndicate.cache import open_cache
from syndicate.config import Settings
from syndicate.responses import build_resource
from syndicate.service import BuildOutcome, FeedService
from syndicate.snapshot import EAGER_BROTLI_BYTES, Snapshot


def post(title: str, day: int, categories: str = "local", tags: str = "x") -> str:
    return f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'


class GatedBuilder(Builder):
    """The real Builder, counting builds and holding each one until the test opens the gate."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.calls: list[list[Path] | None] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def build(
        self, changed: Iterable[Path] | None = None, *, force: bool = False, defer_write: bool = False
    ) -> BuildReport:
        self.calls.append(None if changed is None else list(changed))
        self.entered.set()
        assert self.gate.wait(30), "test never opened the gate"
        return super().build(changed, force=force, defer_write=defer_write)


@pytest.fixture
def gated(write_post: Callable[..., Path], make_settings: Callable[..., Settings]) -> tuple[GatedBuilder, FeedService]:
    """A service over a GatedBuilder and one post."""
    write_post("2024-03-01-a.md", post("A", 1))
    builder = GatedBuilder(make_settings())
    return builder, FeedService(builder.settings, builder)


async def start_held_build(builder: GatedBuilder, service: FeedService) -> asyncio.Future[BuildOutcome]:
    """Request a full build and wait until it is running (and held at the gate)."""
    first = service.request_build(None)
    assert await asyncio.to_thread(builder.entered.wait, 30)
    return first


def test_triggers_during_a_build_coalesce_into_one_follow_up(
    gated: tuple[GatedBuilder, FeedService], posts_dir: Path
) -> None:
    builder, service = gated

    async def scenario() -> None:
        first = await start_held_build(builder, service)
        later = [service.request_build([posts_dir / f"2024-03-0{i}-x.md"]) for i in range(2, 7)]
        later.append(service.request_build(None))  # a full rescan absorbs the pending paths
        builder.gate.set()
        outcomes = await asyncio.gather(first, *later)
        assert all(o.ok for o in outcomes)
        assert service.gauges.coalesced == 5  # merged into the one pending build the first of them created

    asyncio.run(scenario())
    assert builder.calls == [None, None]  # exactly one follow-up build, not six


def test_a_build_running_too_long_is_reported_overdue_until_it_ends(gated: tuple[GatedBuilder, FeedService]) -> None:
    builder, service = gated
    service.overdue_after = 0.3

    async def scenario() -> None:
        first = await start_held_build(builder, service)
        assert not service.build_overdue()
        await asyncio.sleep(0.5)  # the build is held: it has run longer than overdue_after
        assert service.build_overdue()
        builder.gate.set()
        assert (await first).ok
        assert not service.build_overdue()

    asyncio.run(scenario())


def test_pending_paths_stay_incremental(
    gated: tuple[GatedBuilder, FeedService], write_post: Callable[..., Path], posts_dir: Path
) -> None:
    builder, service = gated

    async def scenario() -> None:
        first = await start_held_build(builder, service)
        b = write_post("2024-03-02-b.md", post("B", 2))
        c = write_post("2024-03-03-c.md", post("C", 3))
        follow = [service.request_build([b]), service.request_build([c]), service.request_build([b])]
        builder.gate.set()
        await asyncio.gather(first, *follow)

    asyncio.run(scenario())
    assert builder.calls[0] is None
    assert sorted(builder.calls[1] or []) == sorted([posts_dir / "2024-03-02-b.md", posts_dir / "2024-03-03-c.md"])
    assert len(builder.calls) == 2
    assert service.snapshot is not None and service.snapshot.posts == 3


def test_failed_builds_keep_the_last_good_feeds_and_recover(
    write_post: Callable[..., Path], posts_dir: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", post("A", 1))
    service = FeedService(make_settings())

    async def scenario() -> None:
        assert (await service.build_now()).ok
        good = service.snapshot
        assert good is not None
        body = good.resources["all.atom"].representations["identity"].body

        moved = tmp_path / "moved"
        posts_dir.rename(moved)  # posts directory removed while serving
        outcome = await service.build_now()
        assert not outcome.ok and str(posts_dir) in outcome.error
        assert service.snapshot is good
        assert service.status()["last_build"]["ok"] is False
        assert service.gauges.builds_failed == 1 and not service.gauges.last_success

        moved.rename(posts_dir)
        out = service.settings.out
        shutil.rmtree(out)
        out.write_text("not a directory")  # output directory unusable
        outcome = await service.build_now()
        assert not outcome.ok
        assert service.snapshot is good
        assert service.snapshot.resources["all.atom"].representations["identity"].body == body

        out.unlink()
        write_post("2024-03-02-b.md", post("B", 2))
        outcome = await service.build_now()
        assert outcome.ok
        assert service.snapshot is not good and service.snapshot is not None
        assert service.snapshot.posts == 2
        assert service.gauges.last_success and service.gauges.builds_ok == 2

    asyncio.run(scenario())


def test_resolve_finds_a_term_feed_by_slug_name_or_case_variant(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", post("A", 1, "Local", "右江日报新闻 AI&ML"))
    service = FeedService(make_settings())
    assert asyncio.run(service.build_now()).ok
    for kind, name, slug in (
        ("category", "local", "local"),
        ("category", "LOCAL", "local"),
        ("tag", "右江日报新闻", "右江日报新闻"),
        ("tag", "AI&ML", "aiml"),
        ("tag", "aiml", "aiml"),
    ):
        feed = service.resolve(kind, name)
        assert feed is not None and feed.kind == kind and feed.slug == slug, (kind, name)
    assert service.resolve("tag", "local") is None  # a category is not a tag
    assert service.resolve("category", "nope") is None


def test_unchanged_feeds_keep_etags_across_rebuilds_and_restarts(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", post("A", 1, "local"))
    write_post("2024-03-02-b.md", post("B", 2, "sports"))
    settings = make_settings()

    def etags(service: FeedService) -> dict[str, bytes]:
        assert service.snapshot is not None
        return {
            f"{path}:{enc}": rep.etag
            for path, res in service.snapshot.resources.items()
            for enc, rep in res.representations.items()
        }

    first = FeedService(settings)
    assert asyncio.run(first.build_now()).ok
    before = etags(first)
    restarted = FeedService(settings)  # a new process: new Builder, same posts and output
    assert asyncio.run(restarted.build_now()).ok
    assert etags(restarted) == before

    c = write_post("2024-03-03-c.md", post("C", 3, "local"))
    assert asyncio.run(first.build_now([c])).ok
    after = etags(first)
    assert after["categories/sports.atom:gzip"] == before["categories/sports.atom:gzip"]
    assert after["categories/local.atom:gzip"] != before["categories/local.atom:gzip"]
    assert after["all.rss:br"] != before["all.rss:br"]


def test_a_restart_of_an_unchanged_site_keeps_last_modified(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    for day in range(1, 6):
        write_post(f"2024-03-0{day}-p.md", post(f"P{day}", day, "local" if day % 2 else "sports"))
    settings = make_settings(limit=2)  # archive pages too

    async def served(service: FeedService) -> dict[str, bytes]:
        assert (await service.build_now()).ok
        snapshot = service.snapshot
        assert snapshot is not None
        resources = [*snapshot.resources.values(), snapshot.index]
        for path in [*snapshot.archives, *snapshot.on_request]:
            resource = await service.resource(snapshot, path)
            assert resource is not None
            resources.append(resource)
        return {r.path: r.last_modified_header for r in resources}

    first = asyncio.run(served(FeedService(settings, clock=clock)))
    assert any(path.startswith("archive/") for path in first) and "index.html" in first
    assert set(first.values()) == {b"Fri, 01 May 2026 12:00:00 GMT"}
    clock.advance(3600)
    assert asyncio.run(served(FeedService(settings, clock=clock))) == first  # a new process, the same cache

    write_post("2024-03-06-p.md", post("P6", 6, "sports"))
    clock.advance(60)
    changed = asyncio.run(served(FeedService(settings, clock=clock)))
    moved = {path for path in first if changed[path] != first[path]}
    assert changed["all.atom"] == changed["categories/sports.atom"] == b"Fri, 01 May 2026 13:01:00 GMT"
    assert "categories/local.atom" not in moved and moved  # only what the post changed

    # Without a cache nothing is remembered: a restart stamps everything with its own time (never an earlier date
    # than one served before for other bytes).
    uncached = make_settings(limit=2, cache="off")
    clock.advance(60)
    assert set(asyncio.run(served(FeedService(uncached, clock=clock))).values()) == {b"Fri, 01 May 2026 13:02:00 GMT"}


def test_a_restart_takes_each_feeds_gzip_from_the_cache_and_keeps_only_the_served_ones(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-03-0{day}-p.md", post(f"P{day}", day, "local" if day % 2 else "sports"))
    settings = make_settings(limit=2)

    async def served() -> dict[str, tuple[str, bytes, bytes]]:
        service = FeedService(settings)
        assert (await service.build_now()).ok
        snapshot = service.snapshot
        assert snapshot is not None
        await service.stop()
        return {
            p: (r.digest, r.representations["identity"].body, r.representations["gzip"].body)
            for p, r in snapshot.resources.items()
        }

    first = served_first = asyncio.run(served())
    # The app's gzip representation of each document nginx serves from disk is the .gz file written beside it.
    on_disk = {p: (settings.out / f"{p}.gz").read_bytes() for p in first if (settings.out / f"{p}.gz").is_file()}
    assert "all.atom" in on_disk and on_disk == {p: first[p][2] for p in on_disk}
    cache = open_cache(settings)
    assert cache is not None
    assert cache.get_gzipped(d for d, _, _ in first.values()) == {d: gz for d, _, gz in first.values()}
    # A restart uses what is kept rather than compressing again: a row replaced by other gzip of the same bytes (a
    # lower level) is what it serves.
    digest, body, _ = first["all.atom"]
    other = gzip.compress(body, compresslevel=1, mtime=0)
    cache.keep_gzipped({digest: other}, [d for d, _, _ in first.values()])
    second = asyncio.run(served())
    assert second["all.atom"][2] == other and gzip.decompress(other) == body
    assert {p: v for p, v in second.items() if p != "all.atom"} == {p: v for p, v in first.items() if p != "all.atom"}
    # A change: the rows of bytes no longer served go.
    write_post("2024-03-06-p.md", post("P6", 6, "sports"))
    third = asyncio.run(served())
    kept = cache.get_gzipped({d for d, _, _ in [*served_first.values(), *third.values()]})
    assert set(kept) == {d for d, _, _ in third.values()} and digest not in kept
    cache.close()


def test_large_feeds_get_brotli_after_the_swap_with_the_same_bytes(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    # Bodies varied enough that the site-wide feed is well past the size prepared entirely before the swap.
    for day in range(1, 9):
        words = " ".join(f"word{day}x{n}" for n in range(1200))
        write_post(f"2024-03-0{day}-long.md", post(f"Long {day}", day), f"<p>{words}</p>\n")
    settings = make_settings()
    service = FeedService(settings)

    async def scenario() -> None:
        assert (await service.build_now()).ok
        first = service.snapshot
        assert first is not None
        # The first build defers brotli for large feeds too: a start is ready sooner; brotli comes when they are read.
        assert first.resources["all.atom"].pending == {"br"}
        write_post("2024-03-09-new.md", post("New", 9), "<p>" + " ".join(f"new{n}" for n in range(1500)) + "</p>\n")
        assert (await service.build_now()).ok  # a rebuild: brotli for the changed large feeds after the swap
        await service.compressed()
        snapshot = service.snapshot
        assert snapshot is not None and snapshot is not first
        # Nobody has asked for brotli yet: it stays pending (compressing every changed feed costs a core).
        assert snapshot.resources["all.atom"].pending == {"br"}
        service.want(snapshot.resources["all.atom"])  # a client asked: now compressed, and after rebuilds too
        await service.compressed()
        large = snapshot.resources["all.atom"]
        assert not large.pending and "br" in large.representations
        assert large.digest != first.resources["all.atom"].digest
        assert len(large.representations["identity"].body) > EAGER_BROTLI_BYTES
        assert snapshot.resources["all.rss"].pending == {"br"}  # not asked for
        write_post("2024-03-10-newer.md", post("Newer", 10), "<p>" + " ".join(f"z{n}" for n in range(1500)) + "</p>\n")
        assert (await service.build_now()).ok
        await service.compressed()
        latest = service.snapshot
        assert latest is not None and latest.resources["all.atom"].digest != large.digest
        assert not latest.resources["all.atom"].pending and latest.resources["all.rss"].pending == {"br"}
        # Same representations as preparing everything at once: deterministic bytes, the same strong ETags.
        direct = build_resource(service.builder.documents["all.atom"], service.policy)
        completed = latest.resources["all.atom"]
        for encoding in ("identity", "gzip", "br"):
            assert completed.representations[encoding].body == direct.representations[encoding].body
            assert completed.representations[encoding].etag == direct.representations[encoding].etag

    asyncio.run(scenario())


class BusyBuilder(Builder):
    """The real Builder after burning ``cpu`` seconds of this thread's CPU time; records when each build ran."""

    def __init__(self, settings: Settings, cpu: float) -> None:
        super().__init__(settings)
        self.cpu = cpu
        self.spans: list[tuple[float, float]] = []

    def build(
        self, changed: Iterable[Path] | None = None, *, force: bool = False, defer_write: bool = False
    ) -> BuildReport:
        started = time.monotonic()
        until = time.thread_time() + self.cpu
        while time.thread_time() < until:
            pass
        report = super().build(changed, force=force, defer_write=defer_write)
        self.spans.append((started, time.monotonic()))
        return report


@pytest.mark.parametrize("share", [0.5, 1.0])
def test_back_to_back_builds_pause_to_keep_their_share(
    share: float, write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-03-01-a.md", post("A", 1))
    builder = BusyBuilder(make_settings(build_share=share), cpu=0.2)
    service = FeedService(builder.settings, builder)

    async def scenario() -> None:
        # The start-up build, with a change arriving while it runs: no pause after it (start-up is not churn).
        startup = service.request_build(None)
        await asyncio.sleep(0.05)
        await asyncio.gather(startup, service.request_build(None))
        assert service.gauges.paused_seconds == 0
        first = service.request_build(None)
        await asyncio.sleep(0.05)
        second = service.request_build(None)  # arrives while the first runs: changes outpace builds
        await asyncio.gather(first, second)

    asyncio.run(scenario())
    assert len(builder.spans) == 4
    (_, first_end), (second_start, _) = builder.spans[2:]
    if share < 1:
        # 0.2 s of CPU at a share of 0.5: the next build waits about as long again
        assert service.gauges.paused_seconds >= 0.15
        assert second_start - first_end >= 0.15
    else:
        assert service.gauges.paused_seconds == 0
        assert second_start - first_end < 0.15


def test_a_builds_heap_is_frozen_for_the_collector_and_unfrozen_now_and_then(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import syndicate.service as service_module

    calls: list[str] = []
    monkeypatch.setattr(service_module.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(service_module.gc, "unfreeze", lambda: calls.append("unfreeze"))
    monkeypatch.setattr(service_module, "_UNFREEZE_EVERY", 3)
    write_post("2024-03-01-a.md", post("A", 1))
    service = FeedService(make_settings())

    async def scenario() -> None:
        for _ in range(7):
            assert (await service.build_now()).ok
        write_post("2024-03-02-broken.md", "title: [unclosed\n")
        assert (await service.build_now()).ok  # the broken post is rejected; the build succeeds
        (service.settings.posts / "2024-03-01-a.md").unlink()
        assert (await service.build_now()).ok

    asyncio.run(scenario())
    # Frozen after every build, unfrozen before every third freeze (so nothing stays frozen for good).
    assert calls == ["freeze", "freeze", "unfreeze", "freeze"] * 3


def test_a_service_is_freed_by_reference_counting(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    # The service freezes the heap after each build, so a reference cycle through it would keep it, and its
    # compression threads, until the next unfreeze: its parts hold no reference back to it.
    write_post("2024-03-01-a.md", post("A", 1))
    service = FeedService(make_settings(limit=1))
    assert asyncio.run(service.build_now()).ok
    freed = weakref.ref(service)
    del service
    assert freed() is None


def test_a_rejection_is_logged_once_and_drafts_and_scheduled_posts_are_counted(
    write_post: Callable[..., Path],
    posts_dir: Path,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14: every rebuild logged every rejected post again; drafts and future posts left out said nothing."""
    write_post("2024-03-01-a.md", post("A", 1))
    write_post("2024-03-02-draft.md", post("Draft", 2) + "\npublished: false")
    write_post("2099-01-01-later.md", 'title: "Later"')
    (posts_dir / "2024-03-03-broken.md").write_text("---\ntitle: [x\n---\n")
    service = FeedService(make_settings())

    def rejected_lines() -> list[str]:
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rejected post")]
        caplog.clear()
        return lines

    async def scenario() -> None:
        with caplog.at_level("INFO", logger="syndicate"):
            assert (await service.build_now()).ok
            build_line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("build full="))
            assert "unpublished=1 scheduled=1" in build_line
            assert [line.split(":")[0] for line in rejected_lines()] == ["rejected post 2024-03-03-broken.md"]
            status = service.status()["last_build"]
            assert (status["unpublished"], status["scheduled"], len(status["rejected"])) == (1, 1, 1)

            write_post("2024-03-04-b.md", post("B", 4))
            assert (await service.build_now()).ok
            assert rejected_lines() == []  # known, unchanged: not logged again
            assert len(service.status()["last_build"]["rejected"]) == 1  # but still listed

            (posts_dir / "2024-03-03-broken.md").write_text("---\ntitle: {x\n---\n")  # another reason
            assert (await service.build_now()).ok
            assert len(rejected_lines()) == 1

    asyncio.run(scenario())


def test_a_failed_build_says_truthfully_whether_feeds_are_served(
    write_post: Callable[..., Path],
    posts_dir: Path,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    moved = tmp_path / "moved"
    posts_dir.rename(moved)  # a server started on a posts directory that is not there
    service = FeedService(make_settings())

    async def scenario() -> list[str]:
        assert not (await service.build_now()).ok
        first = [r.getMessage() for r in caplog.records if r.getMessage().startswith("build failed")]
        caplog.clear()
        moved.rename(posts_dir)
        write_post("2024-03-01-a.md", post("A", 1))
        assert (await service.build_now()).ok
        posts_dir.rename(moved)
        assert not (await service.build_now()).ok
        return first + [r.getMessage() for r in caplog.records if r.getMessage().startswith("build failed")]

    messages = asyncio.run(scenario())
    assert len(messages) == 2
    assert "no feeds are served until a build succeeds" in messages[0] and "last good" not in messages[0]
    assert "still serving the last good feeds" in messages[1]


class HeldWriteBuilder(Builder):
    """The real Builder (with a parse cache and archive pages on request, as a server's), its deferred write held
    until the test opens the gate."""

    def __init__(self, settings: Settings) -> None:
        stamps = open_cache(settings)
        super().__init__(settings, cache=stamps, archives=ArchiveFiles(settings.out, stamps))
        self.gate = threading.Event()

    def write_deferred(self, gzipped: Mapping[str, bytes] | None = None) -> Written:
        assert self.gate.wait(30), "test never opened the gate"
        return super().write_deferred(gzipped)


def validators(snapshot: Snapshot) -> dict[str, tuple[bytes, bytes, bytes, bytes]]:
    """Each served feed's identity and gzip bytes with their ETags (gzip made, nothing pending), Last-Modified in
    both."""
    found = {}
    for path, resource in snapshot.resources.items():
        identity, gz = resource.representations["identity"], resource.representations.get("gzip")
        assert gz is not None and "gzip" not in resource.pending, path
        assert dict(identity.headers)[b"last-modified"] == dict(gz.headers)[b"last-modified"]
        found[path] = (identity.body, identity.etag, gz.body, gz.etag)
    return found


def test_the_start_up_build_is_served_before_its_files_are_written_and_they_agree(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    for day, title in enumerate(["Pier repairs begin", "Ferry timetable changes", "Harbour lights"], 1):
        write_post(f"2024-03-0{day}-p{day}.md", post(title, day, categories="harbour", tags="boats"))
    settings = make_settings(limit=2)
    out = settings.out

    async def scenario() -> dict[str, tuple[bytes, bytes, bytes, bytes]]:
        builder = HeldWriteBuilder(settings)
        service = FeedService(settings, builder, clock=clock)
        await service.start(wait=30)
        # Ready and answering while the write waits: nothing of this build is on disk yet, its parsed posts are
        # not in the parse cache, and nothing is recorded for a restart to resume from.
        snapshot = service.snapshot
        assert snapshot is not None and not snapshot.resumed and builder.unwritten and service.building
        assert service.writing and service.status()["writing"] is True  # what /readyz says meanwhile
        assert service.last_outcome is not None and service.last_outcome.ok
        assert not (out / "all.atom").exists() and not (out / "all.atom.gz").exists()
        assert open_cache(settings).load_posts() == {}
        identity = {p: (r.representations["identity"].body, r.stamp) for p, r in snapshot.resources.items()}
        # The feeds' gzip is made before the swap (most clients ask for it); the write takes those very bytes.
        feed = snapshot.resources["categories/harbour.rss"]
        assert "gzip" in feed.representations and "gzip" not in feed.pending
        builder.gate.set()
        deadline = time.monotonic() + 30
        while service.building and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert not service.building and not builder.unwritten and not service.writing
        outcome = service.last_outcome
        assert outcome is not None and outcome.ok and outcome.report is not None
        assert "all.atom" in outcome.report.written
        # The same snapshot, with the same bytes and stamps, and gzip now for every feed: on disk the very bytes it
        # serves, each document and its .gz (compressed once for both).
        assert service.snapshot is snapshot
        assert {p: (r.representations["identity"].body, r.stamp) for p, r in snapshot.resources.items()} == identity
        after = validators(snapshot)
        assert after["categories/harbour.rss"][2:] == (
            feed.representations["gzip"].body,
            feed.representations["gzip"].etag,
        )
        for path, (body, _, gz, _) in after.items():
            assert (out / path).read_bytes() == body
            assert (out / f"{path}.gz").read_bytes() == gz
        assert len(open_cache(settings).load_posts()) == 3
        await service.stop()
        return after

    after = asyncio.run(scenario())
    assert not [p for p in out.rglob("*") if p.name.startswith(".tmp-")]

    async def restart() -> None:
        service = FeedService(settings, clock=clock)
        await service.start()
        try:
            resumed = service.snapshot  # from the files written after the first start was ready
            assert resumed is not None and resumed.resumed
            assert validators(resumed) == after
        finally:
            await service.stop()

    clock.advance(60)
    asyncio.run(restart())


def test_a_start_up_build_that_cannot_be_written_is_served_from_memory_and_retried(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    write_post("2024-03-01-a.md", post("Quay closed for repairs", 1))
    settings = make_settings()

    async def scenario() -> None:
        builder = HeldWriteBuilder(settings)
        service = FeedService(settings, builder, clock=clock)
        await service.start(wait=30)
        assert service.snapshot is not None and service.gauges.builds_ok == 1
        settings.out.mkdir(exist_ok=True)
        (settings.out / "all.atom").mkdir()  # a directory where the feed goes: its rename fails
        builder.gate.set()
        deadline = time.monotonic() + 30
        while service.building and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        outcome = service.last_outcome
        assert outcome is not None and not outcome.ok and outcome.in_memory
        assert service.gauges.builds_ok == 0 and service.gauges.builds_failed == 1
        assert service.retry_in is not None  # a full build writes it later
        assert b"Quay closed" in service.snapshot.resources["all.atom"].representations["identity"].body
        assert not [p for p in settings.out.rglob("*") if p.name.startswith(".tmp-")]
        await service.stop()

    asyncio.run(scenario())
