"""Rendering posts' bodies: from the bytes the build read and parsed, never from a later version of the file."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest

from conftest import post_text
from syndicate.attribution import compile_patterns
from syndicate.builder import Builder
from syndicate.config import Settings
from syndicate.corpus import parse_file
from syndicate.posts import Post
from syndicate.records import FIELDS
from syndicate.render import render_content


def test_a_post_is_read_once_per_build_and_rendered_from_the_bytes_parsed(
    make_settings: Callable[..., Settings], posts_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is rewritten right after the build has read it (as a save landing mid-build would): the entry keeps
    the title and the body of one version. Before, rendering opened the file again and paired the first version's
    title with the second version's body."""
    path = posts_dir / "2024-04-01-versions.md"
    path.write_text(post_text("title: First version", "<p>FIRST BODY</p>\n"), encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))  # saved long ago: nothing to wait for
    opened: list[int] = []
    real_open, real_close = os.open, os.close

    def spy_open(file: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        fd = real_open(file, flags, *args, **kwargs)
        if os.fspath(file) == str(path):
            opened.append(fd)
        return fd

    def spy_close(fd: int) -> None:
        real_close(fd)
        if opened and fd == opened[0] and len(opened) == 1:  # the build's read of it is done: a new version lands
            path.write_text(post_text("title: Second version", "<p>SECOND BODY</p>\n"), encoding="utf-8")

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "close", spy_close)
    builder = Builder(make_settings(cache="off"))
    builder.build()
    monkeypatch.undo()
    assert len(opened) == 1  # read once in the build
    entry = feedparser.parse((tmp_path / "out" / "all.atom").read_bytes()).entries[0]
    assert entry.title == "First version" and "FIRST BODY" in entry.content[0].value
    builder.build()  # the next build reads the second version, whole
    entry = feedparser.parse((tmp_path / "out" / "all.atom").read_bytes()).entries[0]
    assert entry.title == "Second version" and "SECOND BODY" in entry.content[0].value


def test_a_post_parsed_earlier_is_rendered_only_from_the_same_bytes(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """Without the bytes (a post parsed by an earlier build or process) the file is read again, with the same
    checks, and used only if it hashes to the parsed digest; else the summary stands in (None)."""
    settings = make_settings()
    path = posts_dir / "2024-04-02-later.md"
    path.write_text(post_text("title: Later", "<p>As parsed.</p>\n"), encoding="utf-8")
    cached = parse_file(path, path.name, settings, compile_patterns(settings.attribution_patterns), None)
    assert cached is not None and isinstance(cached.record, Post)
    post = cached.record
    html = render_content(settings, post)
    assert html is not None and "As parsed." in html
    stat = path.stat()
    path.write_text(post_text("title: Later", "<p>Swapped.</p>\n"), encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same mtime: a scan would see no change
    assert render_content(settings, post) is None
    alias = posts_dir / "2024-04-03-alias.md"
    path.write_text(post_text("title: Later", "<p>As parsed.</p>\n"), encoding="utf-8")
    alias.symlink_to(path)  # a link inside the tree is rendered from its target, as it was read
    linked = Post(**{**{name: getattr(post, name) for name in FIELDS}, "path": alias.name})
    assert render_content(settings, linked) == html
