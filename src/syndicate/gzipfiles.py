"""Gzip files beside the documents nginx serves from disk (``gzip_static``): their name, bytes and manifest digest.

nginx gzipping a large feed on every request served it at a small fraction of the app's rate (docs/scaling.md); with
``gzip_static on`` it sends ``<file>.gz`` as is. The store writes that sibling with its document, from the same bytes
and with the same compression as the app's gzip representation, so both tiers send the same bytes (and nginx would
serve a stale sibling if one were left: see store.py for how that is prevented).

Kept free of heavy imports: ``lastbuild`` (through ``store``) must start fast.
"""

from __future__ import annotations

from isal import igzip

SUFFIX = ".gz"
# ISA-L's gzip at its highest level: a build gzips every subscription document (~49 MB at any site size), and zlib's
# level 6 was most of the CPU that gzip took; ISA-L's level 3 takes a tenth of it for output a few percent larger
# (figures in docs/benchmarks.md). The output is deterministic for a given ISA-L.
GZIP_LEVEL = 3
# Names the compressor in the ETag of a gzip representation and in the manifest's digest of a ``.gz`` file: other
# bytes for the same document get another validator, and ``.gz`` files written by another compressor (an older
# release's zlib) are written again rather than served beside the app's bytes. Change it with the compressor or level.
GZIP_TAG = "-igz3"


def gzip_bytes(body: bytes) -> bytes:
    """``body`` gzipped as every gzip representation and ``.gz`` file of it is: the same bytes for the same body."""
    # mtime=0 and no file name keep the output byte-identical across rebuilds and restarts, as a strong ETag promises.
    return igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def sibling(path: str) -> str:
    """The gzip file beside the document at ``path``."""
    return path + SUFFIX


def sibling_digest(digest: str) -> str:
    """The manifest's digest of the gzip file of a document with ``digest``: compression is deterministic, so the
    document's digest names it (as the app's ETag of its gzip representation does)."""
    return digest + GZIP_TAG
