"""Archive pages' files in a server that makes them on request: which file holds which page, and who may write it.

A server does not render RFC 5005 archive pages in its builds (most of a large site's bytes, rarely read; see
``archives.py``): each is rendered on its first request and written to the output directory then, so that nginx
finds it next time. A full page's bytes change only when one of its posts does, and its plan key (``plan.page_keys``)
says when: a file is kept for as long as the key it was written for is the page's key, and removed by the first
build that changes the key. ``syndicate build`` still writes every page (a complete static export).

:class:`ArchiveFiles` is shared by the server's builder and its request path, in two threads:

- a build calls :meth:`settle` before it writes (under the output lock): it learns the newest keys and answers which
  files stay; every other archive file of an earlier build is removed by the build (``store.write_documents``);
- a request calls :meth:`write` with a page it rendered: the file is written (atomically) only if the key it was
  rendered for is still the newest one, so a page of the snapshot being replaced never lands on disk after the build
  that removed it.

Both run under one lock, held for a dictionary update or one file's write. Across restarts the files are known by the
output manifest (written by each build, listing the files kept, and by a server that stops, listing those written
since: :meth:`remember`) and the parse cache's digest of each key: a file is trusted again only where both agree.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from syndicate.cache import ParseCache
from syndicate.store import StoreError, add_to_manifest, write_file

log = logging.getLogger("syndicate.archives")


class ArchiveFiles:
    """The archive pages written to ``out`` on request (path -> the key and digest written), and their newest keys."""

    def __init__(self, out: Path, cache: ParseCache | None) -> None:
        self.out = out
        self.cache = cache
        self._lock = threading.Lock()
        self._held = False  # see held()
        self._keys: Mapping[str, str] = {}  # archive document path -> its key in the newest build
        self._files: dict[str, tuple[str, str]] = {}  # path -> (key, digest) of the file written there
        self._digests: dict[str, str] = {}  # path -> digest, the same files (what settle() answers, copied at C speed)
        self._fresh: set[str] = set()  # paths written since the last settle
        # The paths written on request between the last two settles: the files that settle answered and the build's
        # manifest may not list yet (a build compares only the paths it knows changed, store.write_documents).
        self.fresh: frozenset[str] = frozenset()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No page is written on request meanwhile (it is served from memory all the same, and written when it is
        made again): a build whose pages are served before its write (``Builder.write_deferred``) settles the keys
        and then removes stale files, and a page a request wrote between the two could be one of them. Requests do
        not wait for the write."""
        with self._lock:
            self._held = True
        try:
            yield
        finally:
            with self._lock:
                self._held = False

    def settle(
        self, keys: Mapping[str, str], found: Mapping[str, str] | None = None, changed: Collection[str] | None = None
    ) -> tuple[dict[str, str], set[str]]:
        """A build's archive pages (path -> key); the files that stay (path -> digest of their bytes), and those
        written on request that go (their keys changed, or their pages are gone).

        ``found``: on a process's first build, the files an earlier process left (path -> digest, from the manifest)
        that may be trusted: kept where the parse cache knows the same digest for the page's new key. Later builds
        keep the files written for a key that did not change. ``changed``: the only paths whose keys may differ from
        the last call's (or that may be gone), when the caller knows (a new post changes a few feeds' pages); the
        other files are kept without a look.
        """
        if found is not None:
            known = self.cache.get_digests({keys[p] for p in found if p in keys}) if self.cache is not None else {}
            files = {p: (keys[p], d) for p, d in found.items() if d and p in keys and known.get(keys[p]) == d}
        with self._lock:
            if found is None and changed is not None:
                dropped = {p for p in changed if p in self._files and keys.get(p) != self._files[p][0]}
                for path in dropped:
                    del self._files[path], self._digests[path]
            else:
                if found is None:
                    files = {p: kd for p, kd in self._files.items() if keys.get(p) == kd[0]}
                dropped = self._files.keys() - files.keys()
                self._files = files
                self._digests = {p: d for p, (_, d) in files.items()}
            self._keys = keys
            self.fresh, self._fresh = frozenset(self._fresh), set()
            return dict(self._digests), dropped

    def written(self, path: str, key: str) -> bool:
        """Whether the file for ``path`` holds the page with ``key`` as far as this process knows."""
        found = self._files.get(path)
        return found is not None and found[0] == key

    def write(self, path: str, key: str, body: bytes, digest: str) -> bool:
        """Write a page rendered for ``key``; False when that is no longer the page's key, or while a build writes
        (``held``): nothing is written.

        Raises OSError when the file cannot be written (the caller serves the page from memory all the same).
        """
        target = os.path.join(self.out, path)
        with self._lock:
            if self._held or self._keys.get(path) != key:
                return False
            if self._files.get(path) == (key, digest) and os.path.exists(target):
                return True  # already there (asked for again after the memory cache let it go)
            write_file(self.out, path, body)
            self._files[path] = (key, digest)
            self._digests[path] = digest
            self._fresh.add(path)
        if self.cache is not None:
            # With the manifest the next build writes, what a restart needs to trust the file.
            self.cache.put_digests({key: digest})
        return True

    def remember(self) -> None:
        """List the files written on request in the output manifest, for the next process (a server that stops).
        Skipped while a build holds the output directory: it writes the manifest itself."""

        def files() -> dict[str, str]:
            # Called under the output lock, which a build holds while it settles keys and removes files.
            with self._lock:
                return {p: d for p, (_, d) in self._files.items()}

        try:
            if self._files and not add_to_manifest(self.out, files):
                log.info("a build is writing %s: archive pages written on request are listed by it", self.out)
        except StoreError as exc:
            log.warning("archive pages written on request are not listed in the manifest: %s", exc)
