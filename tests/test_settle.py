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

import pytest

from conftest import post_text
from syndicate.builder import Builder, Parallelism
from syndicate.config import Settings
from syndicate.posts import in_full
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
    assert [in_full(p).title for p in builder.posts] == ["Settled version"]
    stop = tmp_path / "stop"
    churner = subprocess.Popen([sys.executable, "-c", _CHURNER, str(path), str(stop)])
    try:
        time.sleep(0.2)
        started = time.monotonic()
        report = builder.build()
        waited = time.monotonic() - started
        assert report.deferred == frozenset({path.name}) and not report.rejected
        assert [in_full(p).title for p in builder.posts] == [
            "Settled version"
        ]  # the last version stays while it changes
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
    assert [in_full(p).title for p in builder.posts][0].startswith("Churned ")


def test_a_file_written_just_before_a_build_is_waited_for_not_deferred(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """A one-shot build right after a save publishes the post: the build waits the rest of the window."""
    builder = Builder(make_settings(), settling=Settling(window=0.5, wait=2.0, limit=60.0))
    path = posts_dir / "2024-05-02-fresh.md"
    path.write_text(post_text("title: Fresh"), encoding="utf-8")
    started = time.monotonic()
    report = builder.build()
    assert not report.deferred and [in_full(p).title for p in builder.posts] == ["Fresh"]
    assert 0.3 <= time.monotonic() - started  # it did wait (about the window), not read the file at once


def test_files_parsed_in_workers_that_are_not_settled_yet_are_waited_for_among_the_others(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """Parsed in worker processes, in batches whose files are let go as their results come in: a file saved just
    before the build is still found again, waited for and published with the settled ones."""
    for n in range(1, 7):
        path = posts_dir / f"2024-05-0{n}-old{n}.md"
        path.write_text(post_text(f"title: Old {n}"), encoding="utf-8")
        old = time.time() - 60
        os.utime(path, (old, old))
    fresh = posts_dir / "2024-05-09-fresh.md"
    fresh.write_text(post_text("title: Fresh"), encoding="utf-8")
    builder = Builder(
        make_settings(),
        settling=Settling(window=0.5, wait=2.0, limit=60.0),
        parallelism=Parallelism(workers=2, parse_from=1),
    )
    report = builder.build()
    assert not report.deferred
    assert sorted(in_full(p).title for p in builder.posts) == ["Fresh", *(f"Old {n}" for n in range(1, 7))]


def test_the_window_runs_from_the_files_mtime_not_from_the_build(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    """A post saved most of a window before the build is read once the rest of the window has passed: the window
    overlaps the time the watcher took to report it, rather than following it."""
    builder = Builder(make_settings(), settling=Settling(window=2.0, wait=5.0, limit=60.0))
    path = posts_dir / "2024-05-03-saved-earlier.md"
    path.write_text(post_text("title: Saved earlier"), encoding="utf-8")
    saved = time.time_ns() - 1_500_000_000  # as if saved 1.5 s ago
    os.utime(path, ns=(saved, saved))
    started = time.monotonic()
    report = builder.build()
    waited = time.monotonic() - started
    assert not report.deferred and [in_full(p).title for p in builder.posts] == ["Saved earlier"]
    assert 0.45 <= waited < 1.5  # the rest of the window (0.5 s), not a whole one (2 s)


def test_pause_until_the_first_file_can_have_settled() -> None:
    settling = Settling(window=0.05, wait=1.0, limit=60.0)
    now = 1_000_000_000_000
    ms = 1_000_000
    # Saved 20 ms and 40 ms ago: look again when the older one is 50 ms old.
    assert settling.pause([(10, now - 20 * ms), (10, now - 40 * ms)], now) == pytest.approx(0.011)
    # Old enough already (deferred for another reason, such as a writer holding it open), in the future (it never
    # ages: seen unchanged a window apart instead), or unknown: a whole window.
    for signature in ((10, now - 80 * ms), (10, now + 5 * ms), None):
        assert settling.pause([signature], now) == pytest.approx(0.051)
