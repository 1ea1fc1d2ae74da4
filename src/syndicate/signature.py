"""The signature of the post files: what tells a starting server that no post changed since a build (resume.py).

It is a sum, modulo 2**128, of one hash per file over (path relative to the posts directory, size, mtime in ns): the
order of the files does not count, so a build keeps it by taking out the hashes of the files it read anew or found gone
and adding those of the files as read (:func:`updated`), at a cost in proportion to what changed, and a start computes
the same from its scan (:func:`files_signature`). A 128-bit sum of BLAKE2b hashes: no change of files a build could
see is expected to leave it equal (a path appears once, so no two of its terms cancel as under XOR).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Protocol

_MODULUS = 1 << 128


class SignedFile(Protocol):
    """A post file as a build last saw it (cache.CachedPost)."""

    @property
    def size(self) -> int: ...

    @property
    def mtime_ns(self) -> int: ...


# Each file's hash starts as a copy of this one: cheaper than making one from its parameters, which was most of a
# start's time to compute the signature over its scan (bench/where_time_goes.md, helper kill).
_EMPTY = hashlib.blake2b(digest_size=16)


def file_hash(rel: str, size: int, mtime_ns: int) -> int:
    """One file's term of the signature."""
    h = _EMPTY.copy()
    h.update(f"{rel}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
    return int.from_bytes(h.digest())


def files_signature(files: Iterable[tuple[str, int, int]]) -> int:
    """The signature of the files given as (path relative to the posts directory, size, mtime in ns)."""
    copy, from_bytes = _EMPTY.copy, int.from_bytes  # a start computes this for every post file: no lookups per file
    total = 0
    for rel, size, mtime_ns in files:
        h = copy()
        h.update(f"{rel}\0{size}\0{mtime_ns}".encode("utf-8", "surrogateescape"))
        total += from_bytes(h.digest())
    return total % _MODULUS


def records_signature(records: Mapping[str, SignedFile]) -> int:
    """The signature of the files ``records`` describe (path -> file as last read)."""
    return files_signature((rel, c.size, c.mtime_ns) for rel, c in records.items())


def updated(
    signature: int, before: Mapping[str, SignedFile], after: Mapping[str, SignedFile], changed: Iterable[str]
) -> int:
    """The signature of ``after``, given that of ``before`` and the paths whose files may differ between them (read
    anew, added or gone): only those are hashed."""
    for rel in changed:
        old, new = before.get(rel), after.get(rel)
        if old is not None:
            signature -= file_hash(rel, old.size, old.mtime_ns)
        if new is not None:
            signature += file_hash(rel, new.size, new.mtime_ns)
    return signature % _MODULUS


def as_text(signature: int) -> str:
    """The signature as the resume record keeps it."""
    return f"{signature:032x}"
