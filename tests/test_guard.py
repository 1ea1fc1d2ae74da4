"""The drop guard (guard.py), through the Builder and the CLI: a build may not drop more than ``max_drop_share`` of
the published posts at once (at least GUARDED_FROM of them) unless forced; the last feeds stay."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import post_text
from syndicate.builder import Builder, BuildError, Refused
from syndicate.config import Settings
from syndicate.guard import GUARDED_FROM


def write_posts(posts_dir: Path, count: int) -> list[Path]:
    paths = []
    for n in range(count):
        path = posts_dir / f"2024-02-{n + 1:02d}-post-{n}.md"
        path.write_text(post_text(f"title: Post {n}\ncategories: [c{n}]\ntags: [t{n % 3}]"), encoding="utf-8")
        paths.append(path)
    return paths


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_posts_directory_emptied_at_once_is_refused_and_the_feeds_kept(
    make_settings: Callable[..., Settings], posts_dir: Path, tmp_path: Path
) -> None:
    settings = make_settings()
    paths = write_posts(posts_dir, 12)
    builder = Builder(settings)
    builder.build()
    before = files(tmp_path / "out")
    assert "categories/c3.atom" in before
    for path in paths:
        path.unlink()
    for changed in (None, paths):  # a full rescan and the watcher's incremental build
        with pytest.raises(Refused, match=r"refusing to drop 12 of 12 published posts .* --force") as refused:
            builder.build(changed)
        assert refused.value.public == str(refused.value)  # no path in it: fit for /readyz
        assert files(tmp_path / "out") == before and len(builder.posts) == 12
    # A new process (a restart) compares with the parse cache's records: refused too.
    with pytest.raises(Refused):
        Builder(settings).build()
    assert files(tmp_path / "out") == before
    report = builder.build(force=True)
    assert report.posts == 0 and not (tmp_path / "out" / "categories" / "c3.atom").exists()


def test_rejections_and_unpublishing_count_as_dropped(make_settings: Callable[..., Settings], posts_dir: Path) -> None:
    paths = write_posts(posts_dir, 10)
    builder = Builder(make_settings())
    builder.build()
    for path in paths[:3]:
        path.write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    for path in paths[3:6]:
        path.write_text(post_text("title: Draft\npublished: false"), encoding="utf-8")
    with pytest.raises(Refused, match="refusing to drop 6 of 10"):
        builder.build()
    assert len(builder.posts) == 10


def test_small_changes_and_small_sites_are_never_refused(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    paths = write_posts(posts_dir, 8)
    builder = Builder(make_settings())
    builder.build()
    for path in paths[: GUARDED_FROM - 1]:  # 4 of 8 (half, and fewer than GUARDED_FROM): an edit
        path.unlink()
    assert builder.build().posts == 8 - (GUARDED_FROM - 1)
    for path in paths[GUARDED_FROM - 1 :]:  # the last 4 of 4
        path.unlink()
    assert builder.build().posts == 0


def test_the_share_is_a_setting_and_one_turns_the_guard_off(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    paths = write_posts(posts_dir, 20)
    strict = Builder(make_settings(max_drop_share=0.2, cache="off"))
    loose = Builder(make_settings(max_drop_share=1, out=posts_dir.parent / "out2", cache="off"))
    strict.build()
    loose.build()
    for path in paths[:5]:  # a quarter
        path.unlink()
    with pytest.raises(Refused, match="refusing to drop 5 of 20 .*max_drop_share = 0.2"):
        strict.build()
    assert loose.build().posts == 15
    for path in paths[5:]:
        path.unlink()
    assert loose.build().posts == 0
    assert isinstance(Refused("x"), BuildError)  # every caller that handles a failed build handles a refused one


def test_the_cli_refuses_without_force_and_builds_with_it(tmp_path: Path, posts_dir: Path) -> None:
    paths = write_posts(posts_dir, 6)
    config = tmp_path / "syndicate.toml"
    config.write_text(f'posts = "_posts"\nout = "out"\ncache = "{tmp_path / "cache.sqlite3"}"\n', encoding="utf-8")

    def build(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "syndicate", "build", "--config", str(config), *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert build().returncode == 0
    for path in paths:
        path.unlink()
    refused = build()
    assert refused.returncode == 1 and "refusing to drop 6 of 6 published posts" in refused.stderr
    assert "--force" in refused.stderr and (tmp_path / "out" / "categories" / "c0.atom").exists()
    forced = build("--force")
    assert forced.returncode == 0, forced.stderr
    assert "0 posts published" in forced.stdout and not (tmp_path / "out" / "categories" / "c0.atom").exists()
