"""The output directory: feed documents written atomically, stale ones removed.

Each file is written to a temporary file beside it and renamed over the old one (``os.replace`` is atomic on POSIX),
so a reader (or nginx serving the directory) sees either the old or the new bytes, never a partial file. All new
files are written first and only then renamed: a build that fails while writing (disk full, permissions) renames
nothing and leaves every previous feed in place.

Only files this program wrote are ever removed: their names are kept in a manifest (``.syndicate-manifest.json``),
itself replaced atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from syndicate.documents import Document

MANIFEST = ".syndicate-manifest.json"
_TEMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """Writing the output directory failed; nothing was replaced."""


def _safe_target(root: Path, rel: str) -> Path:
    # Document paths come from slugs that cannot contain '/' or '..', but the store checks anyway: nothing is
    # written outside the output directory whatever a caller passes.
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") or "\x00" in p or "\\" in p for p in parts):
        raise StoreError(f"refusing to write outside the output directory: {rel!r}")
    return root.joinpath(*parts)


def read_manifest(root: Path) -> dict[str, str]:
    """Paths this program wrote in ``root`` with the digest of each file's bytes ({} if none or unreadable)."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {p: d for p, d in data.items() if isinstance(p, str) and isinstance(d, str)}


def _write_temp(target: Path, body: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _stage(document: Document, target: Path) -> Path:
    return _write_temp(target, document.body)


def write_documents(root: Path, documents: Mapping[str, Document], changed: Iterable[str]) -> set[str]:
    """Write the ``changed`` documents, remove files of earlier builds not in ``documents``; return removed paths.

    Raises StoreError (with nothing renamed) if any file cannot be written.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create output directory {root}: {exc.strerror or exc}") from None
    changed = sorted(changed)
    previous = read_manifest(root)
    targets = [(rel, _safe_target(root, rel)) for rel in changed]
    staged: list[tuple[Path, Path]] = []
    manifest_tmp: Path | None = None
    try:
        # Creating files is most of a cold build's writing time and mostly waits on the file system, so a few
        # threads overlap it. Every temporary file is created before any rename.
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [(pool.submit(_stage, documents[rel], target), target) for rel, target in targets]
            failure: OSError | None = None
            for future, target in futures:
                try:
                    staged.append((future.result(), target))
                except OSError as exc:
                    failure = failure or exc
            if failure is not None:
                raise failure
        manifest_tmp = _write_temp(root / MANIFEST, _manifest_bytes({p: documents[p].digest for p in documents}))
        if staged:
            # Until every rename is done the manifest must not vouch for the files about to change: a process
            # killed midway would leave new bytes under old digests, and the next run would trust them. So they are
            # listed first with an unknown digest (and as ours, to be removed if no longer wanted).
            interim = _write_temp(root / MANIFEST, _manifest_bytes({**previous, **dict.fromkeys(changed, "")}))
            os.replace(interim, root / MANIFEST)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if manifest_tmp is not None:
            manifest_tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write feeds to {root}: {exc.strerror or exc}") from None
    for tmp, target in staged:
        os.replace(tmp, target)
    removed = set(previous) - set(documents)
    for rel in removed:
        try:
            target = _safe_target(root, rel)
        except StoreError:
            continue
        target.unlink(missing_ok=True)
        _prune_empty_dirs(root, target.parent)
    os.replace(manifest_tmp, root / MANIFEST)  # last: a run killed before this still knows what to remove
    return removed


def _manifest_bytes(manifest: Mapping[str, str]) -> bytes:
    return json.dumps(dict(sorted(manifest.items())), ensure_ascii=False, indent=0).encode()


def remove_temporaries(root: Path) -> int:
    """Remove temporary files a killed build left in ``root`` (never renamed, so never served); return how many."""
    count = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            if name.startswith(_TEMP_PREFIX):
                Path(dirpath, name).unlink(missing_ok=True)
                count += 1
    return count


def _prune_empty_dirs(root: Path, directory: Path) -> None:
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def missing_files(root: Path, documents: Mapping[str, Document]) -> set[str]:
    """Documents whose file is absent on disk (e.g. deleted by hand), to be written again."""
    return {rel for rel in documents if not _safe_target(root, rel).is_file()}
