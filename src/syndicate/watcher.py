"""Watch the posts directory and ask the service to rebuild the feeds a change affects.

watchfiles groups a burst of file events into one batch (one ends after a short quiet gap, or ``debounce_ms``);
each batch becomes one build request, and the service coalesces requests that arrive while a build runs. Editor temp
files, swap files, backups and dotfiles are ignored. A file still being written is not published half-written: the
build reads a changed file only once its size and mtime have stayed unchanged for the debounce window (settle.py),
for every build and whoever owns the file.

If the posts directory disappears, the watcher waits for it to return and then asks for a full rescan.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from watchfiles import Change, awatch

from syndicate.config import Settings
from syndicate.service import FeedService
from syndicate.site import JekyllSite

log = logging.getLogger("syndicate.watcher")

_TEMP_SUFFIXES = (
    "~",
    ".swp",
    ".swo",
    ".swx",
    ".swpx",
    ".tmp",
    ".temp",
    ".part",
    ".partial",
    ".crdownload",
    ".bak",
    ".orig",
    ".kate-swp",
    ".DS_Store",
)
# A batch ends once no new event has come for this long (watchfiles' ``step``; at most ``debounce_ms`` groups one).
# Short, because the build does the waiting that protects a file still being written: it reads a changed file once
# its mtime is a settle window old (settle.py), and that window runs from the save, so it overlaps this one rather
# than following it. A longer quiet gap only delays every post (docs/benchmarks.md, "The new-post path").
_QUIET_MS = 10
_MISSING_DIR_POLL = 1.0
_MISSING_DIR_POLL_MS = 1000


def is_candidate(path: str | Path, root: Path | None = None, site: JekyllSite | None = None) -> bool:
    """Could ``path`` be (or hold) a post? False for temp, swap, backup, lock and hidden files, and in a Jekyll
    ``site`` for what Jekyll does not read as posts (its ``_site`` output, ``_includes``, excluded paths, …)."""
    path = Path(path)
    parts = path.relative_to(root).parts if root is not None and path.is_relative_to(root) else (path.name,)
    for part in parts:
        # .foo: hidden files and dirs (.git, .#lock); #foo#: Emacs autosave; 4913: Vim's write test file.
        if part.startswith((".", "#")) or part == "4913":
            return False
    if site is not None and root is not None and path.is_relative_to(root) and not _may_hold_posts(parts, site):
        return False
    return not path.name.endswith(_TEMP_SUFFIXES)


def _may_hold_posts(parts: tuple[str, ...], site: JekyllSite) -> bool:
    """Whether a path of a Jekyll site (its parts below the root) is, is inside or may hold a posts directory (or
    the directory of a collection whose documents are read)."""
    joined = "/".join(parts)
    if site.post_kind(joined) is not None or site.post_kind(joined + "/x") is not None:
        return True
    for at, part in enumerate(parts):
        if part in ("_posts", "_drafts"):
            return site.post_kind("/".join(parts) + ("/x" if at == len(parts) - 1 else "")) is not None
        if site.is_skipped_entry("/".join(parts[: at + 1])):
            return False
    return True


class PostWatcher:
    def __init__(self, settings: Settings, service: FeedService) -> None:
        self.posts = Path(settings.posts)
        self.site = settings.jekyll
        self.debounce_ms = max(1, settings.debounce_ms)
        self.service = service
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def _run(self) -> None:
        root = self.posts.resolve() if self.posts.exists() else self.posts.absolute()
        missing = False
        while not self._stop.is_set():
            if not self.posts.is_dir():
                if not missing:
                    # Say what is served: at a start with the directory missing there are no good feeds to keep.
                    served = "serving the last good feeds" if self.service.snapshot is not None else "no feeds served"
                    log.warning("posts directory %s is missing; %s until it appears", root, served)
                    missing = True
                await self._sleep(_MISSING_DIR_POLL)
                continue
            if missing:
                log.info("posts directory %s is back; rescanning", root)
                missing = False
                self.service.request_build(None, reason="posts directory returned")
            root = self.posts.resolve()
            try:
                await self._watch(root)
            except (OSError, RuntimeError) as exc:  # watch backend errors: report, back off, watch again
                log.warning("watching %s failed: %s", root, exc)
                await self._sleep(_MISSING_DIR_POLL)

    async def _watch(self, root: Path) -> None:
        def accept(change: Change, path: str) -> bool:
            return is_candidate(path, root, self.site)

        identity = _identity(root)
        # Events name resolved paths; the builder expects them under the posts directory as configured
        # (which may be a symlink or contain ".."), so map them back.
        base = self.posts.absolute()
        async for changes in awatch(
            root,
            watch_filter=accept,
            debounce=max(self.debounce_ms, 50),
            step=min(self.debounce_ms, _QUIET_MS),
            stop_event=self._stop,
            recursive=True,
            # Wake up every second even without events: a moved-away directory sends none we would see.
            rust_timeout=_MISSING_DIR_POLL_MS,
            yield_on_timeout=True,
        ):
            if _identity(root) != identity:
                self.service.request_build(None, reason="posts directory removed or replaced")
                return  # the inotify watch died with the directory; wait for it to come back
            if not changes:
                continue
            paths = {_under(base, root, Path(p)) for _, p in changes}
            # A renamed or deleted directory reports only itself, not the posts inside: rescan fully.
            full = any(p == base or p.is_dir() or (not p.exists() and not p.suffix) for p in paths)
            if full:
                self.service.request_build(None, reason="directory changed")
                continue
            log.debug("posts changed: %s", ", ".join(sorted(str(p) for p in paths)))
            self.service.request_build(paths, reason="watcher")

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            pass


def _identity(path: Path) -> tuple[int, int] | None:
    """Which directory is at ``path`` (device, inode); None if none is."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _under(base: Path, root: Path, path: Path) -> Path:
    try:
        return base / path.relative_to(root)
    except ValueError:
        return path
