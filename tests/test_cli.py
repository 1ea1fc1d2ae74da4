from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from conftest import REPO
from syndicate.builder import Builder
from syndicate.cli import bind_socket, date_clock, main, settings_markdown
from syndicate.config import load_settings
from syndicate.posts import Post


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicate", *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_build_the_example_via_python_m(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", "--config", str(REPO / "examples/site/syndicate.toml"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "posts published, 0 rejected" in result.stdout
    assert (out / "all.atom").is_file() and (out / "index.opml").is_file()


def test_exit_codes(
    tmp_path: Path, write_post: Callable[..., Path], posts_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "out")
    cache = ["--no-cache"]
    assert main(["build", "--posts", str(tmp_path / "missing"), "--out", out, *cache]) == 1
    assert "cannot be read" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("title = [unclosed")
    assert main(["build", "--config", str(bad), "--posts", str(posts_dir), "--out", out]) == 1
    assert "not valid TOML" in capsys.readouterr().err
    write_post("2024-01-01-ok.md", "title: OK")
    (posts_dir / "2024-01-02-broken.md").write_text("---\ntitle: [x\n---\n")
    assert main(["build", "--posts", str(posts_dir), "--out", out, *cache]) == 0
    err = capsys.readouterr().err
    assert "rejected: 2024-01-02-broken.md: front matter is not valid YAML" in err
    assert main(["build", "--strict", "--posts", str(posts_dir), "--out", out, *cache]) == 2
    capsys.readouterr()
    assert main(["check", "--posts", str(posts_dir)]) == 2
    assert "2024-01-02-broken.md" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('title = ""', "setting 'title'"),
        ('title = "a\\u0001b"', "setting 'title'"),
        ('[display_names]\nnews = "<b>x</b>\\uFFFE"', "setting 'display_names'"),
        ("port = 99999", "setting 'port'"),
        # Checked by the builder, which a server makes on its first build: the server checks them at its start too.
        ('attribution_patterns = ["(?P<name>x"]', "setting 'attribution_patterns'"),
    ],
)
def test_unusable_settings_are_a_config_error_for_build_and_serve(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "syndicate.toml").write_text(text + '\nposts = "_posts"\ncache = "off"\n', encoding="utf-8")
    for command in (["build"], ["serve", "--port", "0"]):
        result = run(*command, "--config", str(tmp_path / "syndicate.toml"), cwd=tmp_path)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith("error: " + message) and "Traceback" not in result.stderr, result.stderr


def test_environment_overrides_the_config_file(
    tmp_path: Path, write_post: Callable[..., Path], posts_dir: Path
) -> None:
    write_post("2024-01-01-ok.md", "title: OK")
    config = tmp_path / "syndicate.toml"
    config.write_text('title = "From file"\nposts = "_posts"\nout = "out"\ncache = "off"\n')
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SYNDICATE_TITLE": "From env", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "<title>From env</title>" in (tmp_path / "out" / "all.atom").read_text()


def test_configuration_doc_is_generated_from_the_settings() -> None:
    assert (REPO / "docs" / "configuration.md").read_text() == settings_markdown()


def test_a_large_build_through_the_cli_keeps_summaries_out_and_writes_what_a_server_would(tmp_path: Path) -> None:
    """600 posts: the real CLI parses in worker processes with the summaries in their temporary file and renders
    archive pages in forked workers; its files must be those of an in-process build holding everything."""
    posts = tmp_path / "_posts"
    posts.mkdir()
    for n in range(600):
        day = f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        tags = ", ".join(["本地", "web feeds", "C++", "农业"][: n % 4 + 1])
        (posts / f"{day}-post-{n}.md").write_text(
            f'---\ntitle: "第 {n} 篇 post"\ndate: {day} {n % 24:02d}:00:00 +0800\ncategories: [news{n % 5}]\n'
            f"tags: [{tags}]\n---\n<p>右江河谷第 {n} 篇摘要，关于 harvest {n} 的报道。</p>\n\n"
            f"<p>（文章来源：右江日报）</p>\n<http://news.example.org/a/{n}.html>\n",
            encoding="utf-8",
        )
    (tmp_path / "syndicate.toml").write_text(
        'title = "Big"\nurl = "https://big.example"\nposts = "_posts"\nlimit = 20\n'
    )
    env_cache = tmp_path / "cache.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "build", "--config", str(tmp_path / "syndicate.toml"), "--out", "cli"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
        env={**os.environ, "SYNDICATE_CACHE": str(env_cache)},
    )
    assert result.returncode == 0, result.stderr
    reference = load_settings(tmp_path / "syndicate.toml", {"out": tmp_path / "ref", "cache": "off"}, environ={})
    Builder(reference).build()
    files = sorted(p.relative_to(reference.out) for p in reference.out.rglob("*") if p.is_file())
    assert sum(str(f).startswith("archive/") for f in files) > 100
    for rel in files:
        assert (tmp_path / "cli" / rel).read_bytes() == (reference.out / rel).read_bytes(), rel
    archive = feedparser.parse((tmp_path / "cli" / "archive" / "all" / "1.atom").read_bytes())
    assert archive.bozo == 0 and all(entry.summary for entry in archive.entries)
    with sqlite3.connect(env_cache) as db:
        rows = [Post.from_json(json.loads(data)) for (data,) in db.execute("SELECT data FROM posts WHERE rejected=0")]
    assert len(rows) == 600 and all(row.summary for row in rows)  # the text, not where it was kept


def test_the_served_clock_never_runs_ahead_of_the_date_being_sent() -> None:
    headers: list[tuple[bytes, bytes]] = []
    clock = date_clock(lambda: headers)
    assert abs((clock() - datetime.now(UTC)).total_seconds()) < 60  # no Date sent yet: the system clock
    headers[:] = [(b"server", b"x"), (b"date", b"Fri, 01 May 2026 12:00:00 GMT")]  # uvicorn's, a second behind
    assert clock() == datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    headers[:] = [(b"date", b"Fri, 01 May 2999 12:00:00 GMT")]
    assert clock() < datetime(2999, 1, 1, tzinfo=UTC)  # never later than the clock either
    headers[:] = [(b"date", b"garbage")]
    assert clock().year < 2999


def test_served_connections_have_nodelay() -> None:
    """Headers and body go out in two writes; without TCP_NODELAY each 200 waits on a delayed ACK."""

    async def scenario() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=bind_socket("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            result = await asyncio.wait_for(accepted, 30)
            writer.close()
            await writer.wait_closed()
        return result

    assert asyncio.run(scenario()) != 0


def test_build_counts_drafts_and_scheduled_posts(
    tmp_path: Path,
    write_post: Callable[..., Path],
    posts_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 14: drafts and future-dated posts are left out without being rejected; the summary counts them (and so
    does a second, unchanged build answered from the last build's record)."""
    write_post("2024-01-01-ok.md", "title: OK")
    write_post("2024-01-02-draft.md", "title: Draft\npublished: false")
    write_post("2024-01-03-draft-too.md", "title: Draft too\npublished: false")
    write_post("2099-01-01-later.md", "title: Later")
    monkeypatch.setenv("SYNDICATE_CACHE", str(tmp_path / "cache.sqlite3"))
    args = ["build", "--posts", str(posts_dir), "--out", str(tmp_path / "out")]
    for _ in range(2):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "1 posts published, 0 rejected, 2 unpublished (published: false), 1 scheduled" in out, out
