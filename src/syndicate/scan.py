"""Finding post files: the walk of the posts directory that every build, and a warm start's check, begins with.

Kept apart from parsing so that checking whether anything changed imports nothing heavier than ``os``.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syndicate.site import JekyllSite

POST_SUFFIXES = frozenset({".md", ".markdown", ".html"})
_FRONT_MATTER_LINE = re.compile(rb"---\s*\r?\n")
_name = attrgetter("name")
# (path, path relative to the posts directory with '/', stat): a plain tuple, as a warm start of a large site makes
# one per file.
ScannedFile = tuple[str, str, os.stat_result]


def iter_post_files(root: Path) -> Iterator[Path]:
    """Every post file under ``root``, recursively, in sorted order (see ``scan_post_files``)."""
    return (root / rel for _, rel, _ in scan_post_files(root))


def scan_post_files(root: Path, site: JekyllSite | None = None) -> Iterator[ScannedFile]:
    """Every post file under ``root`` as (path to open, path relative to root with '/', stat), files before
    subdirectories. The path to open of a symbolic link is its target's; the stat is the target's.

    Hidden files and directories (``.git``, ``.foo.md.swp``), editor backups (``~``, ``#…#``) and files with other
    suffixes are skipped. Symbolic links to directories are not followed (no loops, no escape); a symbolic link to a
    file is used only when its target lies inside ``root``. One ``stat`` per file: a warm start of a large site
    checks every file for changes, and this is most of its time.
    """
    # A module-level function, not a nested one: a nested function that calls itself is a reference cycle, left to
    # the cyclic garbage collector after every scan (the server freezes what a build leaves, see service.py).
    if site is not None:
        return _walk_site(os.fspath(root), "", os.path.realpath(root), site)
    return _walk(os.fspath(root), "", os.path.realpath(root))


def _walk_site(directory: str, prefix: str, real_root: str, site: JekyllSite) -> Iterator[ScannedFile]:
    """A Jekyll site's post files: those inside ``_posts`` (and ``_drafts`` when it shows them) directories of the
    root or of any directory Jekyll reads (Reader#read_directories); a file of another directory is not a post."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=_name)
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
        except OSError:
            continue
        rel = prefix + entry.name
        kind = site.post_kind(rel + "/x")
        if kind in ("posts", "drafts"):
            yield from (found for found in _walk(entry.path, rel + "/", real_root) if site.post_kind(found[1]))
        elif kind is not None:
            found_in = _walk(entry.path, rel + "/", real_root)
            yield from (found for found in found_in if site.post_kind(found[1]) and has_front_matter(found[0]))
        elif not site.is_skipped_entry(rel):
            yield from _walk_site(entry.path, rel + "/", real_root, site)


def has_front_matter(path: str) -> bool:
    """Whether the file starts with a front matter line (Jekyll's Utils.has_yaml_header?). A file of a collection
    other than posts is a document only then; without it Jekyll copies the file as it is, a static file."""
    try:
        with open(path, "rb") as file:
            first = file.readline(1024)
    except OSError:
        return False
    return _FRONT_MATTER_LINE.match(first) is not None


def is_post_path(rel: str, site: JekyllSite | None) -> bool:
    """Whether the file at ``rel`` (relative to the posts directory, '/'-separated) is one a scan would find."""
    parts = rel.split("/")
    if any(part.startswith(".") for part in parts) or not is_post_name(parts[-1]):
        return False
    return site is None or site.post_kind(rel) is not None


def _walk(directory: str, prefix: str, real_root: str) -> Iterator[ScannedFile]:
    """scan_post_files below ``directory``, whose path relative to the root is ``prefix``."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=_name)
    except OSError:
        return
    subdirectories = []
    for entry in entries:
        name = entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                if not name.startswith((".", "_site")):
                    subdirectories.append(entry)
                continue
            if not is_post_name(name):
                continue
            path = entry.path
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                # The file is read by its resolved path (opened without following links, see posts.open_post): a
                # name turned into a link to something else after this look is refused, not followed.
                path = os.path.realpath(path)
                if os.path.commonpath([real_root, path]) != real_root or not os.path.isfile(path):
                    continue
                st = os.stat(path)
            elif not stat.S_ISREG(st.st_mode):
                continue
        except OSError:
            continue  # vanished while listing
        yield path, prefix + name, st
    for entry in subdirectories:
        yield from _walk(entry.path, prefix + entry.name + "/", real_root)


def is_post_name(name: str) -> bool:
    """Whether a file name is a post's (not hidden, not an editor's temporary file, a post suffix)."""
    if name.startswith((".", "#", "~")) or name.endswith(("~", "#")):
        return False
    # os.path.splitext's suffix, without its generality: this runs once per file of every scan.
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in POST_SUFFIXES
