"""Settling (settle.py) through the Builder: a changed post is read only once its size and mtime have stayed
unchanged for the window; a build waits a bounded time for it, then defers it (its last version stays published),
and a file that never settles is rejected after the limit, with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from conftest import post_text
from syndicate.builder import Builder
from syndicate.config import Settings
from syndicate.settle import WAIT_MAX, Settling

# Rewrites the post every 50 ms (opened and closed each time: no lease would see it) until told to stop.
_CHURNER = """
import sys, time
path, stop = sys.argv[1], sys.argv[2]
import os
n = 0
while not os.path.exists(stop):
    n += 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("---\\ntitle: Churned %d\\n---\\nbody\\n" % n)
    time.sleep(0.05)
"""


def test_defaults_follow_the_debounce_window(make_settings: Callable[..., Settings]) -> None:
    assert Settling.of(make_settings()) == Settling(0.05, 1.0, 60.0)  # 20 windows of 50 ms; at least a minute
    assert Settling.of(make_settings(debounce_ms=2000)) == Settling(2.0, WAIT_MAX, 60.0)
    assert Settling.of(make_settings(debounce_ms=10_000)) == Settling(10.0, 10.0, 200.0)
    assert Settling.of(make_settings(debounce_ms=0)).window == 0  # read as found


def test_a_file_that_keeps_changing_is_deferred_keeping_its_last_version_then_rejected(
    make_settings: Callable[..., Settings], posts_dir: Path, tmp_path: Path
) -> None:
    path = posts_dir / "2024-05-01-churned.md"
    path.write_text(post_text("title: Settled version"), encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    builder = Builder(make_settings(), settling=Settling(window=0.3, wait=0.4, limit=1.5))
    builder.build()
    assert [p.title for p in builder.posts] == ["Settled version"]
    stop = tmp_path / "stop"
    churner = subprocess.Popen([sys.executable, "-c", _CHURNER, str(path), str(stop)])
    try:
        time.sleep(0.2)
        started = time.monotonic()
        report = builder.build()
        waited = time.monotonic() - started
        assert report.deferred == frozenset({path.name}) and not report.rejected
        assert [p.title for p in builder.posts] == ["Settled version"]  # the last version stays while it changes
        assert waited >= 0.4  # the build waited its budget for the file before deferring it
        time.sleep(1.5)
        report = builder.build([path])
        assert not report.deferred
        (rejection,) = report.rejected
        assert rejection.path == path.name and "still being written after" in rejection.reason
        assert "published once it has stayed unchanged for 0.3 s" in rejection.reason
        assert builder.posts == ()
    finally:
        stop.touch()
        churner.wait(timeout=30)
    time.sleep(0.4)  # unchanged for longer than the window
    report = builder.build([path])
    assert not report.deferred and not report.rejected
    assert [p.title for p in builder.posts][0].startswith("Churned ")


def test_a_file_written_just_before_a_build_is_waited_for_not_deferred(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """A one-shot build right after a save publishes the post: the build waits the rest of the window."""
    builder = Builder(make_settings(), settling=Settling(window=0.5, wait=2.0, limit=60.0))
    path = posts_dir / "2024-05-02-fresh.md"
    path.write_text(post_text("title: Fresh"), encoding="utf-8")
    started = time.monotonic()
    report = builder.build()
    assert not report.deferred and [p.title for p in builder.posts] == ["Fresh"]
    assert 0.3 <= time.monotonic() - started  # it did wait (about the window), not read the file at once
