"""Settling: how long a changed post file must stay unchanged before it is published, whoever writes it.

A post saved in place by a slow writer (an upload, a sync tool, ``cat > post.md``) is half-written for a while. A
read lease tells a file open for writing only to the file's owner (posts.py), and a writer that closes the file
between pieces not even then; what works for any owner is the file itself: its size and modification time stop
changing once the writer is done. A changed file is read only when it was last modified at least ``window`` ago, or
has been seen with the same size and mtime ``window`` apart (a modification time in the future, from a skewed clock
or ``touch -d``, never ages). A build waits up to ``wait`` for such files (one-shot builds and small saves publish
at once), looking again as soon as the first of them can have settled: the window runs from the file's mtime, so it
overlaps the watcher's debounce instead of following it (a post renamed into place 20 ms after it was written is
read 30 ms later, not 50). It then leaves them out (deferred: the previous version, if any, stays published, and the
server tries again); a file that has not settled after ``limit`` is rejected with a reason, and read again when it
next changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from syndicate.config import Settings

# The in-build wait: up to this many windows, at most WAIT_MAX seconds (but at least one window).
WAIT_WINDOWS = 20
WAIT_MAX = 5.0
# A file changing for longer than this (or LIMIT_WINDOWS windows, if longer) is not being saved but appended to.
LIMIT = 60.0
LIMIT_WINDOWS = 20


@dataclass(frozen=True)
class Settling:
    """The settle window and its bounds, in seconds (``window`` 0: files are read as found)."""

    window: float
    wait: float
    limit: float

    @classmethod
    def of(cls, settings: Settings) -> Settling:
        """The window is the watcher's debounce (``debounce_ms``): one setting for "how long a save may take"."""
        window = settings.debounce_ms / 1000
        return cls(window, max(window, min(WAIT_WINDOWS * window, WAIT_MAX)), max(LIMIT, LIMIT_WINDOWS * window))

    def pause(self, signatures: Iterable[tuple[int, int] | None], now_ns: int) -> float:
        """Seconds to wait before looking again at files found unsettled with these (size, mtime_ns) signatures
        (``now_ns``: the wall clock, as mtimes are): until the first of them has been unchanged for the window since
        its mtime. A whole window for a file whose mtime says nothing (unknown, in the future, or already old
        enough: it was deferred for another reason, such as being open for writing)."""
        window_ns = int(self.window * 1e9)
        due = window_ns
        for signature in signatures:
            age = now_ns - signature[1] if signature is not None else -1
            if 0 <= age < window_ns:
                due = min(due, window_ns - age)
        # A millisecond more: the mtime is the file system's coarse clock, and the check is "at least a window ago".
        return due / 1e9 + _MARGIN


# Added to every pause (see Settling.pause).
_MARGIN = 0.001

NO_SETTLING = Settling(0.0, 0.0, LIMIT)
