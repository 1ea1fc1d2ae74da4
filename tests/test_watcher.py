"""The watcher on a real directory: new, changed, renamed and deleted posts; temp files; the directory vanishing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import pytest

from syndicate.config import Settings
from syndicate.service import BuildOutcome, FeedService
from syndicate.site import read_site
from syndicate.watcher import PostWatcher, is_candidate

DEADLINE = 30.0


def post(title: str, day: int, categories: str = "local", tags: str = "x", body: str = "<p>Body.</p>") -> str:
    front = f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'
    return f"---\n{front}\n---\n{body}\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2024-01-01-a.md", True),
        ("sub/2024-01-01-a.markdown", True),
        (".2024-01-01-a.md.swp", False),
        ("2024-01-01-a.md~", False),
        (".#2024-01-01-a.md", False),
        ("#2024-01-01-a.md#", False),
        ("4913", False),
        ("2024-01-01-a.md.tmp", False),
        (".hidden.md", False),
        (".git/index", False),
        ("2024-01-01-a.md.part", False),
    ],
)
def test_is_candidate(tmp_path: Path, name: str, expected: bool) -> None:
    assert is_candidate(tmp_path / name, tmp_path) is expected


class Recorder:
    """Wraps the service's build trigger to record what the watcher asked for."""

    def __init__(self, service: FeedService) -> None:
        self.requests: list[list[Path] | None] = []
        original = service.request_build

        def record(changed: Iterable[Path] | None = None, *, reason: str = "") -> asyncio.Future[BuildOutcome]:
            changed = None if changed is None else list(changed)
            self.requests.append(changed)
            return original(changed, reason=reason)

        service.request_build = record  # type: ignore[method-assign]

    def paths(self) -> set[str]:
        return {p.name for r in self.requests if r is not None for p in r}


def titles(service: FeedService, path: str = "all.json") -> set[str]:
    import json

    snapshot = service.snapshot
    if snapshot is None or path not in snapshot.resources:
        return set()
    return {i["title"] for i in json.loads(snapshot.resources[path].representations["identity"].body)["items"]}


async def until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def run_watched(settings: Settings, scenario: Callable[[FeedService, Recorder], Awaitable[None]]) -> None:
    async def main() -> None:
        service = FeedService(settings)
        recorder = Recorder(service)
        await service.start(wait=DEADLINE)
        watcher = PostWatcher(settings, service)
        watcher.start()
        await asyncio.sleep(0.3)  # let inotify watches be set up before files change (not an assertion)
        try:
            await scenario(service, recorder)
        finally:
            await watcher.stop()
            await service.stop()

    asyncio.run(main())


def test_new_changed_renamed_and_deleted_posts(posts_dir: Path, make_settings: Callable[..., Settings]) -> None:
    (posts_dir / "2024-03-01-a.md").write_text(post("A", 1), encoding="utf-8")

    async def scenario(service: FeedService, recorder: Recorder) -> None:
        assert titles(service) == {"A"}
        new = posts_dir / "2024-03-02-b.md"
        new.write_text(post("B", 2, "sports", "新闻"), encoding="utf-8")
        await until(lambda: titles(service) == {"A", "B"}, "new post in all.json")
        assert titles(service, "categories/sports.json") == {"B"}
        assert titles(service, "tags/新闻.json") == {"B"}
        assert recorder.requests[-1] is not None  # incremental: just the changed file

        new.write_text(post("B edited", 2, "sports", "新闻"), encoding="utf-8")
        await until(lambda: titles(service) == {"A", "B edited"}, "edited post")

        renamed = posts_dir / "2024-03-02-b-renamed.md"
        new.rename(renamed)
        await until(lambda: len(service.snapshot.resources) > 0 and titles(service) == {"A", "B edited"}, "rename")
        await until(lambda: {"2024-03-02-b.md", "2024-03-02-b-renamed.md"} <= recorder.paths(), "rename events")

        renamed.unlink()
        await until(lambda: titles(service) == {"A"}, "deleted post gone")
        assert "categories/sports.json" not in service.snapshot.resources  # type: ignore[union-attr]

    run_watched(make_settings(debounce_ms=50), scenario)


def test_temp_files_are_ignored(posts_dir: Path, make_settings: Callable[..., Settings]) -> None:
    (posts_dir / "2024-03-01-a.md").write_text(post("A", 1), encoding="utf-8")

    async def scenario(service: FeedService, recorder: Recorder) -> None:
        for name in (".2024-03-05-c.md.swp", "2024-03-05-c.md~", ".#2024-03-05-c.md", "2024-03-05-c.md.tmp"):
            (posts_dir / name).write_text(post("Temp " + name, 5), encoding="utf-8")
        (posts_dir / "2024-03-06-d.md").write_text(post("D", 6), encoding="utf-8")
        await until(lambda: "D" in titles(service), "real post")
        assert titles(service) == {"A", "D"}
        assert recorder.paths() == {"2024-03-06-d.md"}

    run_watched(make_settings(), scenario)


def test_a_burst_of_writes_gives_few_builds(posts_dir: Path, make_settings: Callable[..., Settings]) -> None:
    async def scenario(service: FeedService, recorder: Recorder) -> None:
        for day in range(1, 21):
            (posts_dir / f"2024-03-{day:02d}-p.md").write_text(post(f"P{day}", day), encoding="utf-8")
        await until(lambda: len(titles(service)) == 20, "all 20 posts")
        # 20 files written back to back: grouped into batches, far fewer than one build each.
        assert len([r for r in recorder.requests if r is not None]) < 20

    run_watched(make_settings(debounce_ms=200), scenario)


def test_a_file_still_open_for_writing_is_not_published_half_written(
    posts_dir: Path, make_settings: Callable[..., Settings]
) -> None:
    async def scenario(service: FeedService, recorder: Recorder) -> None:
        path = posts_dir / "2024-03-09-slow.md"
        with path.open("w", encoding="utf-8") as f:
            f.write(post("Slow", 9, body="<p>first half"))
            f.flush()
            await until(lambda: "2024-03-09-slow.md" in recorder.paths(), "the watcher to see the partial file")
            await until(lambda: not service.building, "the build of the partial file")
            assert "Slow" not in titles(service)  # deferred, not published half-written
            f.write(" and the second half.</p>\n")
        await until(lambda: "Slow" in titles(service), "the completed post")
        assert service.snapshot is not None
        body = service.snapshot.resources["all.json"].representations["identity"].body.decode()
        assert "second half" in body

    run_watched(make_settings(), scenario)


def test_posts_directory_removed_and_restored(
    posts_dir: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    (posts_dir / "2024-03-01-a.md").write_text(post("A", 1), encoding="utf-8")

    async def scenario(service: FeedService, recorder: Recorder) -> None:
        aside = tmp_path / "aside"
        posts_dir.rename(aside)
        await until(lambda: service.gauges.builds_failed >= 1, "the failed build")
        assert titles(service) == {"A"}  # last good feeds still served
        (aside / "2024-03-02-b.md").write_text(post("B", 2), encoding="utf-8")
        aside.rename(posts_dir)
        await until(lambda: titles(service) == {"A", "B"}, "recovery after the directory returned")
        (posts_dir / "2024-03-03-c.md").write_text(post("C", 3), encoding="utf-8")
        await until(lambda: titles(service) == {"A", "B", "C"}, "watching again")

    run_watched(make_settings(), scenario)


def test_posts_directory_behind_a_symlink(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    real = tmp_path / "real-posts"
    real.mkdir()
    (real / "2024-03-01-a.md").write_text(post("A", 1), encoding="utf-8")
    link = tmp_path / "linked"
    link.symlink_to(real, target_is_directory=True)

    async def scenario(service: FeedService, recorder: Recorder) -> None:
        (real / "2024-03-02-b.md").write_text(post("B", 2), encoding="utf-8")
        await until(lambda: titles(service) == {"A", "B"}, "the post written behind the symlink")
        assert recorder.requests[-1] == [link.absolute() / "2024-03-02-b.md"]

    run_watched(make_settings(posts=link), scenario)


def test_a_listed_collections_files_are_candidates_in_a_jekyll_site(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text(
        "collections: [reports, recipes]\nfeed:\n  collections: [reports]\n", encoding="utf-8"
    )
    site = read_site(tmp_path)
    for rel in ("_reports", "_reports/2024-01-01-a.md", "_reports/sub", "_reports/sub/b.md", "_posts/2024-01-01-c.md"):
        assert is_candidate(tmp_path / rel, tmp_path, site), rel
    for rel in ("_recipes/a.md", "_reports/_drafts/d.md", "_includes/e.md"):
        assert not is_candidate(tmp_path / rel, tmp_path, site), rel
