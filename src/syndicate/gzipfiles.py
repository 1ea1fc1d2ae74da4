"""Gzip files beside the documents nginx serves from disk (``gzip_static``): their name, bytes and manifest digest.

nginx gzipping a large feed on every request served it at a small fraction of the app's rate (docs/scaling.md); with
``gzip_static on`` it sends ``<file>.gz`` as is. The store writes that sibling with its document, from the same bytes
and with the same compression as the app's gzip representation, so both tiers send the same bytes (and nginx would
serve a stale sibling if one were left: see store.py for how that is prevented).

Kept free of heavy imports: ``lastbuild`` (through ``store``) must start fast.
"""

from __future__ import annotations

import gzip

SUFFIX = ".gz"
# Chosen by measurement on large feeds (figures in docs/benchmarks.md): level 6 is nearly as small as level 9.
# Changing it changes the bytes behind an unchanged strong ETag: treat it as a release note.
GZIP_LEVEL = 6


def gzip_bytes(body: bytes) -> bytes:
    """``body`` gzipped as every gzip representation and ``.gz`` file of it is: the same bytes for the same body."""
    # mtime=0 and no file name keep the output byte-identical across rebuilds and restarts, as a strong ETag promises.
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def sibling(path: str) -> str:
    """The gzip file beside the document at ``path``."""
    return path + SUFFIX


def sibling_digest(digest: str) -> str:
    """The manifest's digest of the gzip file of a document with ``digest``: compression is deterministic, so the
    document's digest names it (as the app's ETag of its gzip representation does)."""
    return f"{digest}-gz"
