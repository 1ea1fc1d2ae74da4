"""Post summaries, and the rest of a post's text, kept out of memory in a temporary file.

A summary is a post's largest field (tens of megabytes for a 100k-post site, plus the allocator's holes they leave
behind; figures in docs/benchmarks.md), and a build needs few of them: those of the subscription documents' posts, and
of the archive pages it renders (all of them once in ``syndicate build``; in a server, the pages requested). The same
holds for the title, slug and source URL, which only an entry shows: a post's four are kept together, as one record
(``posts.text_record``). Parse workers forked from this process write each record into its store file and hand back
only where it is: an int packing its offset and length, the post's ``summary_at`` (see ``posts.in_full`` and
``posts.summary_of``). Records of posts that reach this process whole (from a fork server's workers, the server's, or
from the parse cache) are written by it with ``keep``.

The file is one per process, created on first use and already unlinked (nothing is left behind, whatever ends the
process). Each batch of posts writes in a region of its own, reserved in advance with ``reserve``, so the workers of a
process pool (forked: they share the file descriptor) write with ``pwrite`` at known offsets without talking to each
other; the unused rest of each region is a hole that takes no disk space. Forked archive workers read with ``pread``.
A server's file grows by the summaries of the posts each build reads: a post changed again adds its new summary, and the
old one's bytes stay until the process ends.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence

_LENGTH_BITS = 20  # a summary is at most a few hundred characters; 1 MiB leaves room
REGION = 1 << 26  # bytes reserved per batch of posts: far more than any batch's summaries take (holes cost nothing)

_lock = threading.Lock()
_fd: int | None = None
_end = 0  # the first offset no region has been reserved at
# The last summaries read, by where they are: an archive worker writes a page in its three formats one after another,
# each entry once per format, so most reads are of a summary read a moment ago (a system call each, otherwise).
_recent: dict[int, str] = {}
_RECENT = 2048


def _file() -> int:
    global _fd
    if _fd is None:
        with tempfile.TemporaryFile(prefix="syndicate-summaries-") as handle:
            _fd = os.dup(handle.fileno())  # the unlinked file lives as long as this descriptor
    return _fd


def reserve(regions: int, size: int = REGION) -> int:
    """Reserve ``regions`` consecutive regions of ``size`` bytes; return the offset of the first."""
    global _end
    with _lock:
        _file()
        start = _end
        _end += regions * size
        return start


class Writer:
    """Writes one batch's summaries in the region at ``base`` (of ``size`` bytes): used once, by one process."""

    def __init__(self, base: int, size: int = REGION) -> None:
        self._fd = _file()
        self._base = base
        self._size = size
        self._buffer = bytearray()

    def add(self, summary: str) -> int:
        """Queue ``summary``; return where it will be (write with ``flush`` before the number is used)."""
        data = summary.encode("utf-8")
        if len(data) >= 1 << _LENGTH_BITS:
            raise ValueError("summary too long to keep out of memory")
        offset = self._base + len(self._buffer)
        self._buffer += data
        if len(self._buffer) > self._size:
            raise ValueError("a batch's summaries outgrew their region")
        return (offset << _LENGTH_BITS) | len(data)

    def flush(self) -> None:
        _write(self._fd, self._buffer, self._base)


def fits(text: str) -> bool:
    """Whether ``text`` can be kept in the store (under 1 MiB as UTF-8); a text that cannot stays in memory."""
    return len(text) < (1 << _LENGTH_BITS) // 4 or len(text.encode("utf-8")) < 1 << _LENGTH_BITS


def _write(fd: int, data: bytes | bytearray, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def keep(texts: Sequence[str]) -> list[int]:
    """Write ``texts`` into the store from this process, in a region just their size; where each is (in order).
    OSError when they could not be written (they are then nowhere: keep them in memory)."""
    encoded = [text.encode("utf-8") for text in texts]
    if any(len(data) >= 1 << _LENGTH_BITS for data in encoded):
        raise ValueError("summary too long to keep out of memory")
    base = offset = reserve(1, sum(map(len, encoded)))
    at: list[int] = []
    for data in encoded:
        at.append((offset << _LENGTH_BITS) | len(data))
        offset += len(data)
    _write(_file(), b"".join(encoded), base)
    return at


def read(at: int) -> str:
    """The summary written at ``at`` (a number ``Writer.add`` returned in this process or its parent)."""
    text = _recent.get(at)
    if text is not None:
        return text
    length = at & ((1 << _LENGTH_BITS) - 1)
    data = os.pread(_file(), length, at >> _LENGTH_BITS)
    if len(data) != length:
        raise OSError(f"summary store truncated: {len(data)} of {length} bytes at {at >> _LENGTH_BITS}")
    text = data.decode("utf-8")
    if len(_recent) >= _RECENT:
        _recent.clear()
    _recent[at] = text
    return text
