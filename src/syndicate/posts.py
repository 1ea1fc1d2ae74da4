"""Posts: reading post files and parsing Jekyll front matter into ``Post`` values.

A file that cannot be used becomes a ``Rejection`` naming the file and saying what is wrong and how to fix it; it
never stops the other posts. Only metadata (and a short summary) is kept per post: bodies are rendered later, only
for posts that appear in a feed document, from the bytes the build read (corpus.Sources) or, for a post parsed
earlier, from the file read again and checked to hold the same bytes (``read_verified``).
"""

from __future__ import annotations

import codecs
import errno
import fcntl
import html
import logging
import os
import re
import signal
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from frontmatter.default_handlers import YAMLHandler

from syndicate.attribution import find_attribution
from syndicate.config import Settings
from syndicate.content import clean_plain_text, clean_text
from syndicate.dates import DateError, read_dates
from syndicate.excerpts import SUMMARY_CHARS, summarize, truncate
from syndicate.frontmatter import TIMESTAMP, YamlTimestamp, parse_simple
from syndicate.liquid import LiquidSite, has_liquid, render_liquid
from syndicate.permalinks import expand_permalink, percent_encode

# The values a post file gives, kept apart from the parser (records.py); named here too, as they always were.
from syndicate.records import (
    Post as Post,
)
from syndicate.records import (
    Rejection as Rejection,
)
from syndicate.records import (
    in_full as in_full,
)
from syndicate.records import (
    share_values as share_values,
)
from syndicate.records import (
    summary_of as summary_of,
)
from syndicate.records import (
    text_record as text_record,
)
from syndicate.records import (
    with_summary as with_summary,
)
from syndicate.records import (
    with_summary_at as with_summary_at,
)
from syndicate.site import DRAFT_NAME, POST_NAME, JekyllSite
from syndicate.terms import split_terms

log = logging.getLogger("syndicate.posts")

# Front matter larger than this is not a post's metadata but an attack or an accident.
MAX_FRONT_MATTER = 64 * 1024
MAX_TITLE = 1000
MAX_TERMS = 200
# Feeds carry only the summary of a longer body: libxml2-based readers refuse text nodes over 10 MB, and a feed of
# many multi-megabyte entries is unreadable anyway. Real articles are far below this.
MAX_BODY = 1_000_000
_FILENAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")
_ANCHOR = re.compile(r"&[A-Za-z0-9_-]+")
_ALIAS = re.compile(r"\*[A-Za-z0-9_-]+")
_HANDLER = YAMLHandler()
# Encodings a post is plausibly saved in when it is not UTF-8: Chinese, Japanese and Korean legacy code pages and
# the Western ones. Restricting the detector to these keeps it from picking an exotic code page for short text.
_LEGACY_ENCODINGS = ["gb18030", "big5", "shift_jis", "euc_kr", "cp1252", "latin_1", "cp1251", "utf_16"]


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """YAML's safe loader (plain data only: no ``!!python`` tags), with timestamps left as text.

    Dates are parsed by ``dates.parse_date`` instead, so an impossible date (``2021-13-45``) is reported as such, and
    Jekyll's ``+0800`` offsets and date-only values are handled in one place with the site's time zone. A timestamp
    is its text as a ``YamlTimestamp``, so that Jekyll's rules can tell it from quoted text; its resolver is the
    one of Jekyll's loader, Ruby's Psych (``_PSYCH_TIMESTAMP``).
    """


# Ruby's Psych (ScalarScanner::TIME and its date pattern): the plain scalars Jekyll's YAML loader makes a time or a
# date. They differ from YAML 1.1's (PyYAML's) only where the result is the same for a post (an offset without a
# colon, a date with one-digit month or day).
_PSYCH_TIMESTAMP = re.compile(
    r"^(?:[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}:?(?:[0-9][0-9])?))?"
    r"|[0-9]{4}-(?:1[012]|0[0-9]|[0-9])-(?:[12][0-9]|3[01]|0[0-9]|[0-9]))\Z"
)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP]
    + ([(TIMESTAMP, _PSYCH_TIMESTAMP)] if first in "0123456789" else [])
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor(TIMESTAMP, lambda loader, node: YamlTimestamp(loader.construct_scalar(node)))


def feed_summary(post: Post) -> str:
    """The summary syndicate's own documents show: at most ``SUMMARY_CHARS`` characters. Every summary is made that
    short but a Jekyll site's excerpt, which is kept whole (up to ``excerpts.MAX_EXCERPT``) for jekyll-feed's
    documents, which show it all; cut here, it does not make every archive page several times larger."""
    summary = summary_of(post)
    return summary if len(summary) <= SUMMARY_CHARS else truncate(summary, SUMMARY_CHARS)


class PostError(Exception):
    """Raised inside parsing with the sentence that becomes a Rejection's reason."""


# Byte order marks of the UTF-16 and UTF-32 encodings (Unicode §23.8), UTF-32 first: its little-endian mark begins
# with UTF-16's. Text in these has NUL bytes in every ASCII character, so the mark must be read before they are.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Bytes to text: UTF-8 (BOM allowed), UTF-16 or UTF-32 with a BOM, else a reliably detected legacy encoding
    such as GBK or Latin-1.

    Returns the text and a note when it was not UTF-8. Raises PostError for bytes that are not text.
    """
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                at = exc.start + len(bom)
                raise PostError(
                    f"the file starts with a {name} byte order mark but is not valid {name} (at byte {at}); save it "
                    "as UTF-8"
                ) from None
            return text, f"decoded as {name} (it starts with a {name} byte order mark); consider saving it as UTF-8"
    if b"\x00" in data[:8192]:
        raise PostError("the file is not text (it contains NUL bytes); posts must be UTF-8 text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # only paid for the rare non-UTF-8 file

    best = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS).best()
    if best is None or best.encoding is None or best.chaos > 0.2:
        raise PostError("the file is not valid UTF-8 and its encoding cannot be told reliably; save it as UTF-8")
    encoding = best.encoding
    # GB2312 and GBK detections are widened to GB18030, their superset, so that no character is lost.
    if encoding.lower() in ("gb2312", "gbk"):
        encoding = "gb18030"
    return data.decode(encoding, errors="strict"), f"decoded as {encoding} (not UTF-8); consider saving it as UTF-8"


def split_front_matter(text: str) -> tuple[str, str]:
    """Split Jekyll front matter (between ``---`` lines at the very top) from the body; raises PostError."""
    if not _HANDLER.detect(text):
        raise PostError("no front matter: a post must start with a '---' line, YAML metadata, and another '---' line")
    try:
        front, body = _HANDLER.split(text)
    except ValueError:
        raise PostError("front matter is not closed: add a '---' line after the metadata") from None
    return front, body


def read_body(path: Path, max_bytes: int, root: Path | None = None) -> str:
    """The body (text after the front matter) of a post file; PostError if the file is larger than ``max_bytes``;
    OSError as ``open_post``."""
    return body_of(_read_text(path, max_bytes, root))


def body_of(text: str) -> str:
    """The body of a post's text (``post_text_of``), for rendering."""
    return split_front_matter(text)[1]


def read_jekyll_post(path: Path, max_bytes: int, root: Path | None = None) -> tuple[dict[str, Any], str]:
    """A Jekyll site's post file for rendering: its front matter (without defaults) and body, split as Jekyll
    splits them (front matter optional); PostError as ``read_body``."""
    return jekyll_parts_of(_read_text(path, max_bytes, root))


def jekyll_parts_of(text: str) -> tuple[dict[str, Any], str]:
    """A Jekyll site's post's front matter (without defaults) and body, from its text (``post_text_of``)."""
    front, body = split_jekyll(clean_text(text))
    return (_load_yaml(front) if front is not None else {}), body


def _read_text(path: Path, max_bytes: int, root: Path | None) -> str:
    return post_text_of(_read_file(path, max_bytes, root), max_bytes)


def _read_file(path: str | Path, max_bytes: int, root: str | Path | None) -> bytes:
    """The bytes of a post file, opened with ``open_post``'s checks; PostError when it holds over ``max_bytes``."""
    fd = open_post(path, root)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise PostError(_too_large(size, max_bytes))
        data = _read_capped(fd, size, max_bytes)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise PostError(_too_large(None, max_bytes))
    return data


def _read_capped(fd: int, size: int, max_bytes: int) -> bytes:
    """The bytes of the open file ``fd``, whose size was ``size`` (at most ``max_bytes``): all of them, or the first
    ``max_bytes`` + 1 if it grew past the cap while being read (read up to there and no further)."""
    # Ask for one byte more than the file holds: one read returns it all, and coming back short shows the end
    # (a regular file reads short only there). A fixed large buffer would cost an allocation of that size per
    # read, several times the read itself for a small post.
    wanted = size + 1
    read = 0
    chunks = []
    while True:
        chunk = os.read(fd, wanted)
        chunks.append(chunk)
        read += len(chunk)
        if len(chunk) < wanted or read > max_bytes:
            break
        wanted = min(1 << 16, max_bytes + 1 - read)  # it grew since its size was taken: read on, up to the cap
    return b"".join(chunks)


def _too_large(size: int | None, max_bytes: int) -> str:
    """The reason a file of ``size`` bytes (None: more than ``max_bytes``, found while reading) is rejected."""
    found = f"{size:,} bytes" if size is not None else f"more than {max_bytes:,} bytes"
    return (
        f"the file is {found}, more than the setting max_post_bytes ({max_bytes:,}) allows; split the post or raise "
        "max_post_bytes"
    )


class Unfinished(Exception):
    """A post file that may still be being written: build it again later.

    ``signature`` is the file's (size, mtime_ns) as found (None: not known), so that a later look can tell whether it
    has stayed unchanged since; ``reason`` says why, for the report of a file that never settles.
    """

    def __init__(self, reason: str, signature: tuple[int, int] | None = None) -> None:
        super().__init__(reason, signature)  # both in ``args``: it crosses process boundaries from parse workers
        self.reason = reason
        self.signature = signature

    def __str__(self) -> str:
        return self.reason


class Replaced(Exception):
    """The file opened is not the one the scan found (another device or inode): the name was pointed at another file
    between the scan and the open (an editor's save by rename, or a swap). The caller looks again."""


class TooLarge(Exception):
    """A post file larger than ``max_post_bytes``, left unread; ``reason`` is the Rejection's sentence and ``stat``
    the file as it was found."""

    def __init__(self, reason: str, stat: os.stat_result) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stat = stat


class PostFile(NamedTuple):
    data: bytes
    stat: os.stat_result  # as the file was when read: size and mtime identify this version


def _is_being_written(fd: int) -> bool:
    """Whether another process has the file open for writing (Linux: a read lease is refused with EAGAIN).

    A post saved in place by a slow writer would otherwise be published half-written; such a file is deferred and
    tried again. Where leases are not permitted (not the file's owner, without CAP_LEASE: the shipped systemd unit and
    Docker image), we cannot tell, and say no: the settle window (``read_post_file``'s ``settle``) covers that case.
    """
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return False
    try:
        # A writer opening the file while we hold the lease makes the kernel signal us, by default with SIGIO, whose
        # default action ends the process: a post saved at that instant would kill the server. SIGURG, which is
        # ignored by default, carries the notice instead.
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
    fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
    return False


# The real path of a posts directory, looked up again once it is older than this (seconds). A build opens thousands of
# files in one directory, and resolving it for each was a tenth of parsing a post. A directory re-pointed (a link
# swapped) within the window is seen as a file opened a moment earlier would have seen it; a file that would be outside
# the directory held is looked at again with its path resolved anew, so nothing is refused for a stale path.
_REAL_ROOT_FOR = 0.1
_real_roots: dict[str, tuple[float, str]] = {}


def _inside(opened: str, root: str | Path) -> bool:
    """Whether ``opened`` (an absolute path without links, as /proc shows an open file's) is inside the directory
    ``root`` leads to."""
    key = os.fspath(root)
    now = time.monotonic()
    held = _real_roots.get(key)
    if held is not None and now - held[0] < _REAL_ROOT_FOR and _is_under(opened, held[1]):
        return True
    real_root = os.path.realpath(key)
    _real_roots[key] = (now, real_root)
    return _is_under(opened, real_root)


def _is_under(path: str, directory: str) -> bool:
    """``path`` is ``directory`` or inside it (both absolute, normalised and without links)."""
    return path == directory or path.startswith(directory if directory.endswith("/") else directory + "/")


def open_post(path: str | Path, root: str | Path | None = None, expect: os.stat_result | None = None) -> int:
    """Open a post file for reading: a file descriptor of a regular file, inside ``root`` when given, and the very
    file ``expect`` (the scan's stat of it: same device and inode) when given.

    What is checked is the file opened, not the name before opening. O_NOFOLLOW: the last component must not be a
    symbolic link (the scan hands over the resolved path of a link it accepted, so a name turned into a link after
    the scan is refused by the kernel); a link further up the path is caught by comparing the opened file's own path
    (from /proc/self/fd) with the root. O_NONBLOCK: opening a FIFO named ``*.md`` returns at once instead of waiting
    for a writer, and anything but a regular file (a FIFO, a device such as /dev/zero, a directory) is refused before
    a byte is read. Raises ``Replaced`` when the file is not the expected one, and OSError, whose message becomes the
    post's rejection.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "it is a symbolic link where the scan found a file; it is not read") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, a device or a directory); posts are plain files")
        if root is not None:
            try:
                opened = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                opened = None  # no /proc: the scan's check of the name is all there is
            if opened is not None and not _inside(opened, root):
                raise OSError(errno.EXDEV, "it leads outside the posts directory (a symbolic link?); it is not read")
        if expect is not None and (st.st_dev, st.st_ino) != (expect.st_dev, expect.st_ino):
            raise Replaced
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_post_file(
    path: str | Path,
    max_bytes: int,
    root: str | Path | None = None,
    *,
    expect: os.stat_result | None = None,
    settle: float = 0.0,
    seen: tuple[int, int] | None = None,
) -> PostFile:
    """Read a post file whole; raise ``Unfinished`` if it may still be being written, and ``TooLarge`` for a file of
    more than ``max_bytes`` bytes.

    Unfinished: open for writing by another process (a read lease is refused; only for the file's owner), changed
    while being read, or, with ``settle`` (seconds), modified less than ``settle`` ago unless its (size, mtime_ns) is
    ``seen``, the signature an earlier look found: a file unchanged for that long is taken as finished, by whoever
    wrote it. A file too large by its size is not read at all; one that grows while being read is read up to
    ``max_bytes`` + 1 bytes and no further, so a huge (or endlessly growing) file never costs more memory than the
    cap. The file is opened by ``open_post`` (a regular file, inside ``root``, the file ``expect`` describes).
    """
    fd = open_post(path, root, expect)
    try:
        before = os.fstat(fd)
        signature = (before.st_size, before.st_mtime_ns)
        if settle > 0 and time.time_ns() - before.st_mtime_ns < settle * 1e9 and signature != seen:
            raise Unfinished(f"it was modified less than {settle:g} s ago", signature)
        if _is_being_written(fd):
            raise Unfinished("another process has it open for writing", signature)
        if before.st_size > max_bytes:
            raise TooLarge(_too_large(before.st_size, max_bytes), before)
        data = _read_capped(fd, before.st_size, max_bytes)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew past the cap while being read
        raise TooLarge(_too_large(None, max_bytes), after)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise Unfinished("it changed while being read", (after.st_size, after.st_mtime_ns))
    return PostFile(data, after)


def read_site_file(path: str | Path, root: str | Path, max_bytes: int) -> bytes:
    """A file of the site read while rendering a post (a Liquid include): with ``open_post``'s checks (a regular file
    inside ``root``, opened without following a last link and without blocking) and never more than ``max_bytes``.
    OSError (EFBIG for a larger file) otherwise: a name checked and then swapped for a FIFO, a device or a link
    outside must neither hang the build, nor fill its memory, nor leak a file."""
    fd = open_post(path, root)
    try:
        size = os.fstat(fd).st_size
        data = b"" if size > max_bytes else _read_capped(fd, size, max_bytes)
    finally:
        os.close(fd)
    if size > max_bytes or len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes:,} bytes")
    return data


def post_text_of(data: bytes, max_bytes: int) -> str:
    """A post file's bytes as the text rendering reads (decoded, LF line ends); PostError as ``read_body``."""
    if len(data) > max_bytes:
        raise PostError(_too_large(len(data), max_bytes))
    text, _ = decode_text(data)
    return text.replace("\r\n", "\n")


def read_verified(path: str | Path, max_bytes: int, root: str | Path | None, digest: str) -> bytes:
    """The bytes of a post file for rendering, read with ``open_post``'s checks, and only if they are the bytes that
    were parsed (``digest``, as ``Post.digest``): rendering never shows content that was not read, checked and
    parsed as this post. PostError when the file changed since (the next build reads it again); OSError as
    ``open_post``."""
    from syndicate.documents import digest_of  # posts are hashed like documents (corpus.parse_file)

    data = _read_file(path, max_bytes, root)
    if digest_of(data) != digest:
        raise PostError("the file changed since it was parsed; the next build reads it again")
    return data


def _load_yaml(front: str) -> dict[str, Any]:
    if len(front) > MAX_FRONT_MATTER:
        raise PostError(f"front matter is larger than {MAX_FRONT_MATTER // 1024} KB")
    # PyYAML shares aliased nodes instead of copying them, but anything that walks the result (or re-serialises
    # it) meets the expansion of a "billion laughs" document; refuse many aliases outright.
    if _ANCHOR.search(front) and len(_ALIAS.findall(front)) > 32:
        raise PostError(
            "front matter uses too many YAML aliases (a possible 'billion laughs' expansion); write values out"
        )
    # Most front matter is a few simple lines that the hand-written reader returns exactly as PyYAML would, several
    # times faster; anything else (and every error) is left to PyYAML.
    meta = parse_simple(front, _Loader.yaml_implicit_resolvers)
    try:
        if meta is None:
            meta = _HANDLER.load(front, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PostError(f"front matter is not valid YAML{where}: {problem}") from None
    except (ValueError, RecursionError) as exc:
        raise PostError(f"front matter cannot be read: {exc}") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise PostError(f"front matter must be a mapping of names to values, not a {type(meta).__name__}")
    return meta


def _text_field(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | date):
        raise PostError(f"'{key}' must be text, not a {type(value).__name__}")
    return clean_plain_text(str(value)).strip()


def _terms(meta: Mapping[str, Any], plural: str, singular: str) -> tuple[str, ...]:
    names: list[str] = []
    for key in (plural, singular):
        if key in meta:
            found = split_terms(meta[key])
            if found is None:
                raise PostError(
                    f"'{key}' must be a list of names or a space-separated string, not a {type(meta[key]).__name__}"
                )
            names.extend(clean_plain_text(n) for n in found)
    unique = tuple(dict.fromkeys(n for n in names if n))
    return unique[:MAX_TERMS]


def _author(meta: Mapping[str, Any], default: str) -> str:
    value = meta.get("author")
    if value is None or value == "":
        value = meta.get("authors")
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = ", ".join(v for v in value if isinstance(v, str))
    if isinstance(value, str) and value.strip():
        return clean_plain_text(value).strip()
    return default


def _author_names(
    meta: Mapping[str, Any], default: str, named: Callable[[object], object] = lambda value: value
) -> tuple[str, ...]:
    """Everyone named in ``author`` and ``authors`` (a name, a mapping with ``name``, or a list of either; ``named``
    maps a value first, e.g. a key of a Jekyll site's ``_data/authors.yml`` to its entry), in order, each once; the
    default author (if any) when the post names none."""
    names: list[str] = []
    for key in ("author", "authors"):
        value = meta.get(key)
        for item in value if isinstance(value, list) else [value]:
            item = named(item)
            if isinstance(item, Mapping):
                item = item.get("name") or item.get("display_name")
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                name = " ".join(clean_plain_text(str(item)).split())[:MAX_TITLE]
                if name:
                    names.append(name)
    found = tuple(dict.fromkeys(names))[:MAX_TERMS]
    return found or ((default,) if default else ())


def parse_post(
    data: bytes,
    rel_path: str,
    settings: Settings,
    patterns: Sequence[re.Pattern[str]],
    digest: str,
) -> Post | Rejection:
    """Parse one post file's bytes. Never raises for bad input: a problem becomes a Rejection."""
    if not rel_path.isascii():
        try:
            rel_path.encode("utf-8")
        except UnicodeEncodeError:
            # os.scandir hands over a name that is not UTF-8 with surrogate escapes: no URL, title or feed can carry
            # it, and it is shown with its raw bytes as \xNN.
            shown = rel_path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            return Rejection(shown, "the file name is not valid UTF-8; rename the file (its name makes the post's URL)")
    try:
        return _parse(data, rel_path, settings, patterns, digest)
    except (PostError, DateError) as exc:
        return Rejection(rel_path, str(exc))
    except RecursionError:
        return Rejection(rel_path, "the post is nested too deeply to read")
    except Exception as exc:  # a bug of ours must cost one post, never the build
        log.exception("unexpected error while parsing %s", rel_path)
        return Rejection(rel_path, f"could not be processed ({type(exc).__name__}: {exc}); please report this as a bug")


def _parse(data: bytes, rel_path: str, settings: Settings, patterns: Sequence[re.Pattern[str]], digest: str) -> Post:
    site = settings.jekyll
    if not data.strip() and site is None:
        raise PostError("the file is empty; a post needs front matter and a body")
    text, note = decode_text(data)
    decoded = text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if note is not None or not _is_clean_utf8(data, text):
        text = clean_text(text)
    if site is not None:
        return _parse_jekyll(text, decoded, note, rel_path, settings, site, patterns, digest)
    front, body = split_front_matter(text)
    meta = _load_yaml(front)

    stem = _file_stem(rel_path)
    name_match = _FILENAME.match(stem)
    # Jekyll drops the trailing dots of a slug taken from the file name (not of front matter ``slug``).
    slug = _text_field(meta, "slug") or (name_match.group(4) if name_match else stem).rstrip(".")

    file_date = "-".join(name_match.groups()[:3]) if name_match else None
    when, updated = read_dates(meta, file_date, settings.tz)

    title = _text_field(meta, "title")
    if title is None or not title:
        # Jekyll's own fallback: the slug, words separated by spaces.
        title = clean_plain_text(slug.replace("-", " ")).strip() or clean_plain_text(stem)
    title = " ".join(title.split())[:MAX_TITLE]

    categories = _terms(meta, "categories", "category")
    tags = _terms(meta, "tags", "tag")

    published = meta.get("published", True)
    if not isinstance(published, bool):
        raise PostError("'published' must be true or false")

    permalink_value = _text_field(meta, "permalink")
    permalink = expand_permalink(permalink_value or settings.permalink, date=when, slug=slug, categories=categories)
    excerpt = _text_field(meta, "excerpt") or _text_field(meta, "description")
    summary = summarize(excerpt or body, cleaned=True)  # both went through clean_text above

    attribution = find_attribution(meta, body, patterns, site_url=settings.site_url)

    return Post(
        path=rel_path,
        digest=digest,
        title=title,
        slug=slug,
        date=when,
        updated=updated,
        categories=categories,
        tags=tags,
        author=_author(meta, settings.author),
        permalink=permalink,
        site=settings.site_url,
        summary=summary,
        source_name=attribution.name,
        source_url=attribution.url,
        published=published,
        notes=tuple(note for note in (note, _size_note(body)) if note),
        authors=_author_names(meta, settings.author),
    )


# Jekyll's Document::YAML_FRONT_MATTER_REGEXP: front matter is optional in a Jekyll site's post.
_JEKYLL_FRONT_MATTER = re.compile(r"\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)", re.MULTILINE | re.DOTALL)


def split_jekyll(text: str) -> tuple[str | None, str]:
    """Front matter and body as Jekyll splits a post: without a front matter block the whole text is the body."""
    match = _JEKYLL_FRONT_MATTER.match(text)
    if match is None:
        return None, text
    return match.group(1).partition("\n")[2], text[match.end() :]


def _parse_jekyll(
    text: str,
    decoded: str,
    note: str | None,
    rel_path: str,
    settings: Settings,
    site: JekyllSite,
    patterns: Sequence[re.Pattern[str]],
    digest: str,
) -> Post:
    """A post of a Jekyll site, read as Jekyll 4 reads it (Document#read, #populate_title, #categories_from_path):
    front matter optional, front matter defaults under it, categories from the directories above ``_posts``, the
    title from the file name when none is given."""
    kind = site.post_kind(rel_path) or "posts"
    document = kind not in ("posts", "drafts")  # of another collection: named as it likes, dated by its name if so
    below = rel_path.partition("/_posts/" if kind == "posts" else "/_drafts/")[2] or rel_path.partition("/")[2]
    file_date: str | None
    if document:
        dated = POST_NAME.match(rel_path)  # Document#populate_title: a date in the name dates the document
        undated = DRAFT_NAME.match(rel_path)
        file_date = dated.group(1) if dated else None
        name_slug = dated.group(2) if dated else undated.group(1) if undated else _file_stem(rel_path)
    elif kind == "posts":
        name_match = POST_NAME.match(below)
        if name_match is None:
            raise PostError(
                "Jekyll does not publish a file in _posts whose name does not start with a date; name it "
                "YYYY-MM-DD-title.md (or move it to _drafts)"
            )
        file_date = name_match.group(1)
        name_slug = name_match.group(2)
    else:
        draft_match = DRAFT_NAME.match(below)
        file_date = None
        name_slug = draft_match.group(1) if draft_match else _file_stem(rel_path)
    front, body = split_jekyll(text)
    notes = [note] if note else []
    meta: dict[str, Any] = {}
    if front is None and document:
        raise PostError(
            f"has no front matter: Jekyll copies a file of the collection {kind!r} without it as a static file, not a "
            "document of the collection; start it with two '---' lines to list it in the collection's feed"
        )
    if front is None:
        notes.append("has no front matter: Jekyll publishes it with its title taken from the file name")
    else:
        meta = _load_yaml(front)
    defaults = site.defaults_for(rel_path, kind)
    if defaults:
        meta = _with_defaults(defaults, meta)
    name_slug = name_slug.rstrip(".")
    raw_slug = meta.get("slug")
    slug = str(raw_slug) if isinstance(raw_slug, str | int | float) and not isinstance(raw_slug, bool) else name_slug
    slug = clean_plain_text(slug).strip() or name_slug
    if kind == "drafts" and meta.get("date") is None:
        file_date = None  # a draft is dated by its file's time below
    when, updated = read_dates(meta, file_date or _draft_date(settings, rel_path), settings.tz, jekyll=True)

    title = _text_field(meta, "title")
    if not title:
        title = " ".join(word[:1].upper() + word[1:].lower() for word in name_slug.split("-"))  # Utils.titleize_slug
    # As jekyll-feed shows it (smartify | strip_html | normalize_whitespace), in every format: one entry, one title.
    if _SMARTENED.search(title):  # most titles have nothing smartify changes, and it costs as much as the parse
        from syndicate._liquid_filters import smartify  # imports python-liquid: only when needed (see liquid.py)

        title = html.unescape(_TAG.sub("", smartify(title)))
    title = " ".join(title.split())[:MAX_TITLE]

    path_categories = () if document else site.categories_from_path(rel_path)
    categories = tuple(dict.fromkeys((*path_categories, *_terms(meta, "categories", "category"))))[:MAX_TERMS]
    tags = _terms(meta, "tags", "tag")

    published = meta.get("published", True)
    if not isinstance(published, bool):
        raise PostError("'published' must be true or false")
    if site.flag("unpublished"):
        published = True

    permalink_value = _text_field(meta, "permalink")
    pattern = permalink_value or (site.collection_permalink(kind) if document else settings.permalink)
    source = site.document_source(rel_path, kind)
    permalink = expand_permalink(pattern, date=when, slug=slug, categories=categories, source=source)
    excerpt = _text_field(meta, "description") or _text_field(meta, "excerpt")
    head = "" if excerpt else _excerpt_head(decoded, body, site.excerpt_separator)
    if has_liquid(head):  # Jekyll renders the excerpt's Liquid, as the body's
        page = {**meta, "title": title, "date": when, "slug": slug, "categories": list(categories), "tags": list(tags)}
        head = render_liquid(head, site=_excerpt_site(settings, site), page=page, path=rel_path).text
    # Our documents' summary: the first paragraph of the excerpt, as every post's. jekyll-feed's documents show the
    # whole excerpt (``JekyllExcerpt``), made at rendering for the few posts they list.
    summary = summarize(excerpt or head, cleaned=True)
    attribution = find_attribution(meta, body, patterns, site_url=settings.site_url)
    author = _jekyll_author(meta, site, settings.author)
    return Post(
        path=rel_path,
        digest=digest,
        title=title,
        slug=slug,
        date=when,
        updated=updated,
        categories=categories,
        tags=tags,
        author=author.name,
        author_email=author.email,
        author_uri=author.uri,
        lang=_plain(meta.get("lang")),
        permalink=permalink,
        site=settings.site_url,
        summary=summary,
        source_name=attribution.name,
        source_url=attribution.url,
        published=published,
        notes=tuple(n for n in (*notes, _size_note(body)) if n),
        entry_id=jekyll_id(permalink, slug),
        image=_image(meta, settings.site_url),
        excerpt_only=_excerpt_only(meta),
        collection=kind if document else "",
        # The default is whom jekyll-feed shows for a post naming no author: the site's author, looked up the same way.
        authors=_author_names(meta, _jekyll_author({}, site, settings.author).name, _in_authors_data(site)),
    )


def _excerpt_head(decoded: str, body: str, separator: str) -> str:
    """A Jekyll post's excerpt as written: its body up to the first ``separator`` in the file as written (``decoded``:
    the file's text before line ends are changed). Jekyll does not change line ends, so in a file saved with CRLF the
    default separator ("\n\n") is never found and the excerpt is the whole body."""
    if not separator:
        return body
    if "\r" not in decoded:  # the same text as ``body`` (already cleaned): no second pass over it
        return body.partition(separator)[0]
    return clean_text(split_jekyll(decoded)[1].partition(separator)[0]).replace("\r\n", "\n")


class JekyllExcerpt(NamedTuple):
    """What jekyll-feed's summary of a post is made of: the post's front matter (over its defaults), its
    ``description`` or ``excerpt`` when it gives one, else the excerpt as written (``head``: Liquid not rendered)."""

    meta: dict[str, Any]
    given: str
    head: str


def jekyll_excerpt(data: bytes, max_bytes: int, site: JekyllSite, rel_path: str) -> JekyllExcerpt:
    """The excerpt of the Jekyll post whose file holds ``data`` (at ``rel_path``); PostError as ``read_body``."""
    if len(data) > max_bytes:
        raise PostError(_too_large(len(data), max_bytes))
    decoded, _ = decode_text(data)
    meta, body = jekyll_parts_of(decoded.replace("\r\n", "\n"))
    defaults = site.defaults_for(rel_path, site.post_kind(rel_path) or "posts")
    if defaults:
        meta = _with_defaults(defaults, meta)
    given = _text_field(meta, "description") or _text_field(meta, "excerpt") or ""
    return JekyllExcerpt(meta, given, "" if given else _excerpt_head(decoded, body, site.excerpt_separator))


def _excerpt_only(meta: Mapping[str, Any]) -> bool:
    """jekyll-feed's ``post.feed.excerpt_only | default: site.feed.excerpt_only`` for the post's part: Liquid's
    ``default`` passes nil, false and empty values on to the site's setting (``config.site_settings``), and anything
    else is true to ``unless``."""
    feed = meta.get("feed")
    value = feed.get("excerpt_only") if isinstance(feed, Mapping) else None
    return value not in (None, False, "") and not (isinstance(value, (list, dict)) and not value)


def _excerpt_site(settings: Settings, site: JekyllSite) -> LiquidSite:
    """What an excerpt's Liquid sees of the site while posts are read: everything but the other posts' URLs."""
    return LiquidSite(
        root=site.root,
        variables={**site.config, "data": site.data},
        links={},
        post_urls={},
        baseurl=site.baseurl,
        url=site.url,
        safe=site.flag("safe"),
        timezone=settings.tz,
    )


_TAG = re.compile(r"<[^>]*>")
# What smartify changes (quotes, backticks, dashes, ellipses) or strip_html removes.
_SMARTENED = re.compile(r"[\"'`<&]|--|\.\.\.|\. \. \.")


def _with_defaults(defaults: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """Front matter over its defaults (Document#merge_data!): mappings merge key by key, and the categories of both
    are kept, the defaults' first (merge_categories!)."""
    merged = dict(defaults)
    for key, value in meta.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _with_defaults(merged[key], value)
        elif key == "categories" and value is not None and key in merged:
            mine = split_terms(value) or []
            theirs = split_terms(merged[key]) or []
            merged[key] = list(dict.fromkeys([*theirs, *mine]))
        else:
            merged[key] = value
    return merged


def _draft_date(settings: Settings, rel_path: str) -> str | None:
    """A draft without a date is dated by its file's modification time, as Jekyll shows drafts. So is a document of
    another collection dated neither in its front matter nor in its name: Jekyll gives it the time of the build,
    which would make every build list it anew; its file's time stays put while the file does."""
    try:
        mtime = os.stat(settings.posts / rel_path).st_mtime
    except OSError:
        return None
    return datetime.fromtimestamp(mtime, settings.tz).strftime("%Y-%m-%d %H:%M:%S %z")


def jekyll_id(permalink: str, slug: str) -> str:
    """Jekyll's Document#id: the directory of the post's URL joined with its slug (``/2021/12/08/hello`` for
    ``/2021/12/08/hello.html``), percent-encoded as jekyll-feed's ``absolute_url`` leaves it."""
    directory = permalink.rstrip("/").rpartition("/")[0] if permalink.endswith("/") else permalink.rpartition("/")[0]
    return percent_encode(f"{directory}/{slug}")


def _image(meta: Mapping[str, Any], site_url: str) -> str:
    """``image`` (a URL or a path; or a mapping with ``path``) as an absolute URL, as jekyll-feed writes it."""
    value = meta.get("image")
    if isinstance(value, Mapping):
        value = value.get("path")
    if not isinstance(value, str) or not value.strip():
        return ""
    value = clean_plain_text(value).strip()
    if "://" in value:
        return value
    return site_url + percent_encode("/" + value.lstrip("/"))


class _Author(NamedTuple):
    name: str
    email: str
    uri: str


def _jekyll_author(meta: Mapping[str, Any], site: JekyllSite, default: str) -> _Author:
    """jekyll-feed's author: ``author``, else the first of ``authors``, else the site's; a key of
    ``_data/authors.yml`` names that entry; a mapping gives its ``name`` (else the default), ``email`` and ``uri``."""
    value = meta.get("author")
    if value is None or value == "":
        authors = meta.get("authors")
        value = authors[0] if isinstance(authors, list) and authors else None
    if value is None or value == "":
        value = site.config.get("author")
    authors_data = site.data.get("authors")
    if isinstance(value, str) and isinstance(authors_data, Mapping) and value in authors_data:
        value = authors_data[value]
    email = uri = ""
    if isinstance(value, Mapping):
        email, uri = _plain(value.get("email")), _plain(value.get("uri"))
        value = value.get("name")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return _Author(clean_plain_text(str(value)).strip(), email, uri)
    return _Author(default, email, uri)


def _plain(value: object) -> str:
    """A scalar of front matter or data as plain text ("" for anything else)."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return clean_plain_text(str(value)).strip()
    return ""


def _in_authors_data(site: JekyllSite) -> Callable[[object], object]:
    """A name's entry in ``_data/authors.yml`` when it is a key there (as jekyll-feed looks authors up), else the
    name."""
    data = site.data.get("authors")
    if not isinstance(data, Mapping):
        return lambda value: value
    return lambda value: data[value] if isinstance(value, str) and value in data else value


# The bytes of the C0 controls that clean_text removes; in UTF-8 they never occur inside a multi-byte sequence.
_C0_CONTROLS = bytes(c for c in range(0x20) if c not in b"\t\n\r")


def _is_clean_utf8(data: bytes, text: str) -> bool:
    """Whether ``text``, decoded strictly from the UTF-8 ``data``, has nothing for ``clean_text`` to remove.

    A third of the cost of running clean_text's regex over every character of a post: the C0 controls are found in
    the bytes by one ``bytes.translate``, U+FFFE and U+FFFF by ``in``, and strict UTF-8 decoding never yields lone
    surrogates.
    """
    return len(data.translate(None, _C0_CONTROLS)) == len(data) and "\ufffe" not in text and "\uffff" not in text


def _file_stem(rel_path: str) -> str:
    """``Path(rel_path).stem`` without building a Path, which cost more than the rest of the date and slug logic."""
    name = rel_path.rpartition("/")[2]
    if name in ("", "."):  # like pathlib, skip empty and "." parts ("a/b/", "a/.")
        parts = [part for part in rel_path.split("/") if part not in ("", ".")]
        name = parts[-1] if parts else ""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def _size_note(body: str) -> str | None:
    if len(body) <= MAX_BODY:
        return None
    return f"the body has {len(body):,} characters, more than {MAX_BODY:,}: feeds carry its summary and link only"
