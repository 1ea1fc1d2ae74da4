"""Post summaries, and the rest of a post's text, kept out of memory in a temporary file.

A summary is a post's largest field (tens of megabytes for a 100k-post site, plus the allocator's holes they leave
behind; figures in docs/benchmarks.md), and a build needs few of them: those of the subscription documents' posts, and
of the archive pages it renders (all of them once in ``syndicate build``; in a server, the pages requested). The same
holds for the title, slug and source URL, which only an entry shows: a post's four are kept together, as one record
(``posts.text_record``). Parse workers forked from this process write each record into its store file and hand back
only where it is: an int packing its offset, length and generation, the post's ``summary_at`` (see ``posts.in_full``
and ``posts.summary_of``). Records of posts that reach this process whole (from a fork server's workers, the server's,
or from the parse cache) are written by it with ``keep``.

The text is in one file at a time, created on first use and already unlinked (nothing is left behind, whatever ends
the process). Each batch of posts writes in a region of its own, reserved in advance with ``reserve``, so the workers
of a process pool (forked: they share the file descriptor) write with ``pwrite`` at known offsets without talking to
each other; the unused rest of each region is a hole that takes no disk space. Forked archive workers read with
``pread``.

A server's store is bounded (issue 17): a post read again (edited) writes its new text, and its old text is then dead
(``release``). Once the dead bytes of the current file pass its live ones (and ``_FLOOR``), the builder copies the
live text into a new file, a new ``Generation``, and builds from posts holding the new numbers
(``corpus.Corpus.compact``). Each number names its generation, so a post of a snapshot still being served reads its
own file, unchanged: a generation's file stays open while anything holds its ``Generation`` (each build's FeedSet and
each snapshot holds the one its posts are in; the store holds the current one), and is closed when the last goes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import weakref
from collections.abc import Callable, Sequence

_LENGTH_BITS = 20  # a summary is at most a few hundred characters; 1 MiB leaves room
# The low bits of a number name its generation; a generation's number is used again after this many, never while a
# generation of that number is still open (``start`` refuses).
_GENERATION_BITS = 8
_GENERATION_MASK = (1 << _GENERATION_BITS) - 1
REGION = 1 << 26  # bytes reserved per batch of posts: far more than any batch's summaries take (holes cost nothing)
# Dead bytes a file holds before compacting it is considered, however few its live ones: a small site's compaction is
# cheap, but not worth one every few edits.
_FLOOR = 64 * 1024


class Generation:
    """One store file: the posts whose numbers name it read it while this object is alive (hold it while they may be
    read); its file is closed when the object is collected."""

    __slots__ = ("__weakref__", "checked", "dead", "end", "fd", "number")

    def __init__(self, number: int) -> None:
        with tempfile.TemporaryFile(prefix="syndicate-summaries-") as handle:
            self.fd = os.dup(handle.fileno())  # the unlinked file lives as long as this descriptor
        weakref.finalize(self, os.close, self.fd)
        self.number = number
        self.end = 0  # the first offset no region has been reserved at
        self.dead = 0  # bytes of text the newest posts no longer read (``release``)
        self.checked = 0  # live bytes when compacting was last found not worth it: the dead ones must pass them


_lock = threading.Lock()
_current: Generation | None = None
_open: weakref.WeakValueDictionary[int, Generation] = weakref.WeakValueDictionary()  # by number
# The last summaries read, by where they are: an archive worker writes a page in its three formats one after another,
# each entry once per format, so most reads are of a summary read a moment ago (a system call each, otherwise).
_recent: dict[int, str] = {}
_RECENT = 2048


def current() -> Generation:
    """The generation new text is written in (created on first use)."""
    global _current
    generation = _current
    if generation is None:
        with _lock:
            if _current is None:
                _current = _open[0] = Generation(0)
            generation = _current
    return generation


def _where(generation: Generation, offset: int, length: int) -> int:
    return (((offset << _LENGTH_BITS) | length) << _GENERATION_BITS) | generation.number


def length(at: int) -> int:
    """Bytes the text at ``at`` takes in the store."""
    return (at >> _GENERATION_BITS) & ((1 << _LENGTH_BITS) - 1)


def reserve(regions: int, size: int = REGION) -> int:
    """Reserve ``regions`` consecutive regions of ``size`` bytes in the current generation; return the offset of the
    first."""
    generation = current()
    with _lock:
        start = generation.end
        generation.end += regions * size
        return start


class Writer:
    """Writes one batch's summaries in the region at ``base`` (of ``size`` bytes) of the current generation: used
    once, by one process."""

    def __init__(self, base: int, size: int = REGION) -> None:
        self._generation = current()
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
        return _where(self._generation, offset, len(data))

    def flush(self) -> None:
        _write(self._generation.fd, self._buffer, self._base)


def fits(text: str) -> bool:
    """Whether ``text`` can be kept in the store (under 1 MiB as UTF-8); a text that cannot stays in memory."""
    return len(text) < (1 << _LENGTH_BITS) // 4 or len(text.encode("utf-8")) < 1 << _LENGTH_BITS


def _write(fd: int, data: bytes | bytearray, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def keep(texts: Sequence[str], into: Generation | None = None) -> list[int]:
    """Write ``texts`` into the store from this process, in a region just their size of ``into`` (default: the
    current generation); where each is (in order). OSError when they could not be written (they are then nowhere:
    keep them in memory)."""
    generation = current() if into is None else into
    encoded = [text.encode("utf-8") for text in texts]
    if any(len(data) >= 1 << _LENGTH_BITS for data in encoded):
        raise ValueError("summary too long to keep out of memory")
    with _lock:
        base = offset = generation.end
        generation.end += sum(map(len, encoded))
    at: list[int] = []
    for data in encoded:
        at.append(_where(generation, offset, len(data)))
        offset += len(data)
    _write(generation.fd, b"".join(encoded), base)
    return at


def read(at: int) -> str:
    """The summary written at ``at`` (a number ``Writer.add`` or ``keep`` returned in this process or its parent), of
    a generation still held."""
    text = _recent.get(at)
    if text is not None:
        return text
    generation = _open.get(at & _GENERATION_MASK)
    if generation is None:
        raise LookupError(f"summary store generation {at & _GENERATION_MASK} was let go while posts in it were held")
    size = length(at)
    offset = at >> (_GENERATION_BITS + _LENGTH_BITS)
    data = os.pread(generation.fd, size, offset)
    if len(data) != size:
        raise OSError(f"summary store truncated: {len(data)} of {size} bytes at {offset}")
    text = data.decode("utf-8")
    if len(_recent) >= _RECENT:
        _recent.clear()
    _recent[at] = text
    return text


def release(at: int) -> None:
    """The text at ``at`` is read by no newer post (its post was read again, or removed): dead bytes of its
    generation, if that is the current one (see ``worth_compacting``)."""
    generation = _current
    if generation is not None and at & _GENERATION_MASK == generation.number:
        generation.dead += length(at)


def worth_compacting(live: Callable[[], int]) -> bool:
    """Whether the current generation's dead bytes have passed its live ones (and ``_FLOOR``): its live text is then
    worth copying into a new one. ``live`` counts the live bytes (a pass over the posts), called only once the dead
    bytes have passed those last counted: at most twice per compaction."""
    generation = _current
    if generation is None or generation.dead < max(_FLOOR, generation.checked):
        return False
    generation.checked = live()
    return generation.dead >= generation.checked


def start() -> Generation | None:
    """A new generation to copy the live text into (``keep(texts, into=it)``), readable at once, made current by
    ``switch`` once the build of its posts is published (a build that fails lets it go, and the current one stays).
    None when its number is still held by an older one (posts of a snapshot held that long) or no file can be had."""
    with _lock:
        number = ((_current.number if _current is not None else 0) + 1) & _GENERATION_MASK
        if number in _open:
            return None
        try:
            generation = _open[number] = Generation(number)
        except OSError:
            return None
        _recent.clear()  # a closed generation's numbers may come back naming this one's text
        return generation


def switch(generation: Generation) -> None:
    """Make ``generation`` (from ``start``) the current one. The last one is let go by the store: its file closes once
    nothing else holds it."""
    global _current
    with _lock:
        _current = generation
