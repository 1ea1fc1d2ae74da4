"""The last-build record: a one-shot build of an unchanged site stops after the scan, and only then."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syndicate.builder import Builder
from syndicate.cli import main
from syndicate.config import Settings
from syndicate.lastbuild import unchanged


@pytest.fixture
def site(write_post: Callable[..., Path], posts_dir: Path) -> Path:
    write_post("2024-01-01-one.md", "title: One\ncategories: news\ntags: [a, b]")
    write_post("2024-01-02-two.md", "title: Two\ncategories: sport")
    (posts_dir / "2024-01-03-broken.md").write_text("---\ntitle: [x\n---\n", encoding="utf-8")
    return posts_dir


def _bump(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_an_unchanged_site_is_answered_from_the_record(site: Path, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert unchanged(settings, time.time()) is None  # nothing built yet
    report = Builder(settings).build()
    record = unchanged(settings, time.time())
    assert record is not None
    assert (record.posts, record.feeds) == (report.posts, report.feeds)
    files = [p for p in settings.out.rglob("*") if p.is_file() and p.name[0] != "."]
    assert record.documents == len([p for p in files if p.suffix != ".gz"])
    assert record.rejected == tuple((r.path, r.reason) for r in report.rejected)
    assert record.rejected and record.rejected[0][0] == "2024-01-03-broken.md"


@pytest.mark.parametrize(
    "change", ["touch", "add", "remove", "delete output", "delete gzip", "other out", "other posts", "other title"]
)
def test_any_change_means_a_real_build(
    change: str, site: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings()
    Builder(settings).build()
    if change == "touch":
        _bump(site / "2024-01-01-one.md")
    elif change == "add":
        (site / "2024-01-04-new.md").write_text("---\ntitle: New\n---\nx\n", encoding="utf-8")
    elif change == "remove":
        (site / "2024-01-02-two.md").unlink()
    elif change == "delete output":
        (settings.out / "categories" / "news.rss").unlink()
    elif change == "delete gzip":
        (settings.out / "categories" / "news.rss.gz").unlink()
    elif change == "other out":
        settings = make_settings(out=tmp_path / "elsewhere")
    elif change == "other posts":
        copy = tmp_path / "copy"
        shutil.copytree(site, copy)  # copy2: same names, sizes and mtimes
        settings = make_settings(posts=copy)
    else:
        settings = make_settings(title="Another title")
    assert unchanged(settings, time.time()) is None


def test_a_future_post_coming_due_means_a_real_build(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-now.md", "title: Now")
    soon = datetime.now(UTC) + timedelta(hours=2)
    write_post("later.md", f"title: Later\ndate: {soon.isoformat()}")
    settings = make_settings()
    Builder(settings).build()
    record = unchanged(settings, time.time())
    assert record is not None and record.posts == 1
    assert record.due is not None and abs(record.due - soon.timestamp()) < 1
    assert unchanged(settings, soon.timestamp() + 1) is None


def test_an_unreadable_cache_is_no_record(site: Path, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    Builder(settings).build()
    assert settings.cache_path is not None
    with sqlite3.connect(settings.cache_path) as db:
        db.execute("UPDATE meta SET value='{not json' WHERE key='last_build'")
    assert unchanged(settings, time.time()) is None
    settings.cache_path.write_bytes(b"garbage" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(settings.cache_path) + suffix).unlink(missing_ok=True)
    assert unchanged(settings, time.time()) is None


def test_the_cli_warm_start_reports_the_same_and_imports_no_builder(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", "--posts", str(site), "--out", str(tmp_path / "out")]
    env = {**os.environ, "SYNDICATE_CACHE": str(tmp_path / "c.sqlite3")}
    code = (
        "import sys; from syndicate.cli import main; rc = main(sys.argv[1:]); "
        "print('builder imported' if 'syndicate.builder' in sys.modules else 'builder not imported'); sys.exit(rc)"
    )

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args, *extra], capture_output=True, text=True, env=env, timeout=60
        )

    first, second = run(), run()
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "builder imported" in first.stdout and "builder not imported" in second.stdout
    # 5 feeds in 3 formats, OPML, a page per feed and the index
    assert "5 feeds (22 documents, 22 written" in first.stdout
    summary = [line.split(" — ", 1)[0] for line in (first.stdout, second.stdout)]
    assert summary[0].replace("22 written", "0 written") == summary[1]
    assert "rejected: 2024-01-03-broken.md" in second.stderr
    assert run("--strict").returncode == 2
    (tmp_path / "out" / "all.json").unlink()
    third = run()
    assert "builder imported" in third.stdout and "1 written" in third.stdout
    assert (tmp_path / "out" / "all.json").is_file()
    assert main([*args, "--no-cache"]) == 0
    assert "0 written" in capsys.readouterr().out
