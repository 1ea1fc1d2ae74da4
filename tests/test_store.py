from __future__ import annotations

import fcntl
import gzip
import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from syndicate import store
from syndicate.documents import Document
from syndicate.gzipfiles import GZIP_TAG, gzip_bytes
from syndicate.store import MANIFEST, PENDING, Staging, StoreError, read_manifest, write_documents


def doc(path: str, body: bytes) -> Document:
    return Document(path=path, body=body, media_type="text/plain", updated=None)


def test_writes_changed_files_and_removes_only_its_own(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("not ours")
    docs = {"a.atom": doc("a.atom", b"A"), "tags/t.rss": doc("tags/t.rss", b"T")}
    write_documents(tmp_path, docs, docs)
    assert (tmp_path / "tags/t.rss").read_bytes() == b"T"
    assert read_manifest(tmp_path) == {p: d.digest for p, d in docs.items()}
    removed = write_documents(tmp_path, {"a.atom": docs["a.atom"]}, [])
    assert removed == {"tags/t.rss"} and not (tmp_path / "tags").exists()
    assert (tmp_path / "README.txt").read_text() == "not ours"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MANIFEST, "README.txt", "a.atom"])


@pytest.mark.parametrize("bad", ["../x.atom", "/etc/x", "a/../../x", "a\\b", "a\x00b", ""])
def test_refuses_paths_outside_the_directory(tmp_path: Path, bad: str) -> None:
    with pytest.raises(StoreError, match="outside"):
        write_documents(tmp_path / "out", {bad: doc(bad, b"x")}, [bad])
    assert not (tmp_path / "x.atom").exists()


def test_the_manifest_is_written_once_and_paths_left_pending_are_ours_with_unknown_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = {"a.atom": doc("a.atom", b"A"), "b.atom": doc("b.atom", b"B")}
    write_documents(tmp_path, docs, docs)
    # A build stopped while renaming left its pending list: the files it names may hold new bytes or old.
    (tmp_path / "c.atom").write_bytes(b"C, half a build's")
    (tmp_path / PENDING).write_text('["b.atom", "c.atom"]')
    assert read_manifest(tmp_path) == {"a.atom": docs["a.atom"].digest, "b.atom": "", "c.atom": ""}
    replaced: list[str] = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append(Path(dst).name), real(src, dst)))
    removed = write_documents(tmp_path, docs, ["b.atom"])
    assert removed == {"c.atom"} and not (tmp_path / "c.atom").exists()  # ours: removed, as no longer wanted
    assert replaced == [PENDING, "b.atom", MANIFEST]  # the whole manifest once, the pending list before renames
    assert not (tmp_path / PENDING).exists() and read_manifest(tmp_path) == {p: d.digest for p, d in docs.items()}


def test_unreadable_manifest_is_treated_as_empty(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{broken")
    assert read_manifest(tmp_path) == {}


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


def test_staged_documents_are_renamed_and_the_rest_written(tmp_path: Path) -> None:
    docs = {p: Document(p, p.encode() * 3, "text/plain", None) for p in ("a/1.atom", "a/2.atom", "b.rss")}
    staging = Staging(tmp_path)
    staging.stage("a/1.atom", docs["a/1.atom"].body, docs["a/1.atom"].digest)
    staging.stage("a/2.atom", b"stale bytes", "another digest")  # not what the document is now: written again
    staging.stage("gone.atom", b"x", "x")  # staged but not to be written: removed
    write_documents(tmp_path, docs, docs, staging)
    assert {p: (tmp_path / p).read_bytes() for p in docs} == {p: d.body for p, d in docs.items()}
    assert not (tmp_path / "gone.atom").exists() and _temporaries(tmp_path) == []


def test_a_failed_write_removes_what_was_staged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = {p: Document(p, b"new " + p.encode(), "text/plain", None) for p in ("a.atom", "b.atom", "c.atom")}
    staging = Staging(tmp_path)
    staging.stage("a.atom", docs["a.atom"].body, docs["a.atom"].digest)
    real = store._write_temp

    def failing(target: Path, body: bytes) -> str:
        if target.name == "c.atom":
            raise OSError(28, "No space left on device")
        return real(target, body)

    monkeypatch.setattr(store, "_write_temp", failing)
    with pytest.raises(StoreError, match="No space left"):
        write_documents(tmp_path, docs, docs, staging)
    assert _temporaries(tmp_path) == [] and not (tmp_path / "a.atom").exists()


def test_discard_removes_every_staged_file(tmp_path: Path) -> None:
    staging = Staging(tmp_path, threads=2, pending=1)
    for n in range(10):
        staging.stage(f"d/{n}.json", b"{}" * 1000, str(n))
    staging.discard()
    assert _temporaries(tmp_path) == []


@pytest.mark.parametrize("threads", [0, 2])
def test_staging_inline_or_threaded_writes_the_same_and_survives_a_deleted_directory(
    tmp_path: Path, threads: int
) -> None:
    docs = {p: Document(p, p.encode() * 100, "text/plain", None) for p in ("a/1.atom", "a/b/2.rss", "c.json")}
    old_umask = os.umask(0o077)  # a strict umask must not leave files a web server cannot read
    try:
        write_documents(tmp_path, docs, docs, Staging(tmp_path, threads=threads))
        assert {p: (tmp_path / p).read_bytes() for p in docs} == {p: d.body for p, d in docs.items()}
        assert {(tmp_path / p).stat().st_mode & 0o777 for p in docs} == {0o644}
        # The directories are remembered as made; removed by hand, they are made again.
        for p in ("a/b/2.rss", "a/1.atom"):
            (tmp_path / p).unlink()
        (tmp_path / "a/b").rmdir()
        (tmp_path / "a").rmdir()
        write_documents(tmp_path, docs, ["a/1.atom", "a/b/2.rss"], Staging(tmp_path, threads=threads))
    finally:
        os.umask(old_umask)
    assert {p: (tmp_path / p).read_bytes() for p in docs} == {p: d.body for p, d in docs.items()}
    assert _temporaries(tmp_path) == []


def test_stagings_sharing_a_pool_wait_for_their_own_files_and_leave_the_pool_running(tmp_path: Path) -> None:
    docs = {f"d/{n}.json": Document(f"d/{n}.json", b"[%d]" % n * 500, "text/plain", None) for n in range(12)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_ in range(3):  # one build after another, as a server's are
            staging = Staging(tmp_path, pool=pool, pending=2)
            bodies = {p: d.body + b" " * round_ for p, d in docs.items()}
            changed = {p: Document(p, body, "text/plain", None) for p, body in bodies.items()}
            for path, document in changed.items():
                staging.stage(path, document.body, document.digest)
            write_documents(tmp_path, changed, changed, staging)
            assert {p: (tmp_path / p).read_bytes() for p in docs} == bodies
        discarded = Staging(tmp_path, pool=pool)
        for n in range(5):
            discarded.stage(f"x/{n}.json", b"{}" * 1000, str(n))
        discarded.discard()
        assert pool.submit(lambda: 42).result() == 42  # neither finish nor discard shut the shared pool down
    assert _temporaries(tmp_path) == []


def test_a_temporary_name_left_by_a_killed_process_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_names", itertools.count())
    (tmp_path / f".tmp-{os.getpid()}-0").write_bytes(b"left behind")
    staged = store._write_temp(tmp_path / "x.atom", b"new")
    assert Path(staged).read_bytes() == b"new" and (tmp_path / f".tmp-{os.getpid()}-0").read_bytes() == b"left behind"


def test_a_failed_rename_is_a_store_error_that_leaves_no_temporary_and_the_next_write_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = {f"f{n}.atom": doc(f"f{n}.atom", b"old %d" % n) for n in range(4)}
    write_documents(tmp_path, docs, docs)
    new = {p: doc(p, b"new " + p.encode()) for p in docs}
    real = os.replace
    calls = itertools.count()

    def failing(src: str, dst: object) -> None:
        if not str(dst).endswith(MANIFEST) and next(calls) == 1:  # the second document's rename
            raise OSError(5, "Input/output error")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(store.os, "replace", failing)
    with pytest.raises(StoreError, match="Input/output error"):
        write_documents(tmp_path, new, new)
    monkeypatch.setattr(store.os, "replace", real)
    assert [p for p in tmp_path.rglob(".tmp-*")] == []
    # The manifest vouches for none of the changed files, so the next write of the same documents writes them all.
    assert all(digest == "" for path, digest in read_manifest(tmp_path).items() if path in new)
    write_documents(tmp_path, new, new)
    assert {p: (tmp_path / p).read_bytes() for p in new} == {p: d.body for p, d in new.items()}


def test_a_second_writer_of_the_output_directory_waits_and_leaves_the_first_ones_files_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import subprocess
    import sys
    import threading
    import time

    out = tmp_path / "out"
    out.mkdir()
    live = out / ".tmp-4242-live"  # a file another process (a server mid-build, say) has staged
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(out)!r}, os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            f"open({str(live)!r}, 'wb').write(b'staged')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            f"os.replace({str(live)!r}, {str(out / 'theirs.atom')!r})\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    done = threading.Event()

    def write() -> None:
        with store.output_lock(out):
            store.remove_temporaries(out)  # what a first build does before staging
            write_documents(out, {"ours.atom": doc("ours.atom", b"O")}, ["ours.atom"])
        done.set()

    writer = threading.Thread(target=write)
    with caplog.at_level("WARNING", logger="syndicate.store"):
        writer.start()
        time.sleep(0.5)
        assert not done.is_set() and live.read_bytes() == b"staged"  # waiting, the other's staged file untouched
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        writer.join(10)
    holder.stdin.close()
    holder.stdout.close()
    assert done.is_set()
    assert (out / "theirs.atom").read_bytes() == b"staged" and (out / "ours.atom").read_bytes() == b"O"
    assert any("waiting for another syndicate process" in r.getMessage() for r in caplog.records)


def test_a_process_forked_while_the_output_lock_is_held_does_not_keep_it(tmp_path: Path) -> None:
    # Build workers are forked while the build holds the output directory; a flock belongs to the open file, which a
    # fork shares. If the build is killed, an orphaned worker must not keep every later build waiting.
    out = tmp_path / "out"
    started, ready = os.pipe()
    with store.output_lock(out):
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only says it runs, then sleeps
            os.write(ready, b"!")
            time.sleep(3)
            os._exit(0)
        assert os.read(started, 1) == b"!"
    os.close(started)
    os.close(ready)
    try:
        fd = os.open(out, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if the child kept the lock
        finally:
            os.close(fd)
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)


def _wanted(path: str) -> bool:
    return not path.startswith("archive/")


def test_gzip_siblings_are_written_replaced_and_removed_with_their_documents(tmp_path: Path) -> None:
    old = {"all.atom": doc("all.atom", b"<feed>old</feed>" * 50), "archive/1.atom": doc("archive/1.atom", b"A" * 900)}
    write_documents(tmp_path, old, old, Staging(tmp_path, gzip_wanted=_wanted))
    first = (tmp_path / "all.atom.gz").read_bytes()
    assert gzip.decompress(first) == old["all.atom"].body
    assert first[4:8] == b"\0\0\0\0" and first[3] == 0  # mtime 0, no file name: the same bytes every time
    assert not (tmp_path / "archive/1.atom.gz").exists()
    assert read_manifest(tmp_path)["all.atom.gz"] == old["all.atom"].digest + GZIP_TAG

    new = {"all.atom": doc("all.atom", b"<feed>new</feed>" * 50)}
    removed = write_documents(tmp_path, new, new, Staging(tmp_path, gzip_wanted=_wanted))
    assert removed == {"archive/1.atom"}  # documents only: their siblings go with them unreported
    assert gzip.decompress((tmp_path / "all.atom.gz").read_bytes()) == new["all.atom"].body
    write_documents(tmp_path, {}, [], Staging(tmp_path, gzip_wanted=_wanted))
    assert not (tmp_path / "all.atom.gz").exists() and not (tmp_path / "all.atom").exists()


def test_gzip_siblings_another_compressor_wrote_are_written_again(tmp_path: Path) -> None:
    """A .gz file left by an older release (zlib, the manifest's digest without this compressor's tag) would be served
    by nginx beside the app's other bytes under one validator: the next build writes it again."""
    docs = {"all.atom": doc("all.atom", b"<feed>the river rose overnight</feed>" * 40)}
    write_documents(tmp_path, docs, docs, Staging(tmp_path, gzip_wanted=_wanted))
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    older = gzip.compress(docs["all.atom"].body, compresslevel=6, mtime=0)
    assert older != gzip_bytes(docs["all.atom"].body)
    (tmp_path / "all.atom.gz").write_bytes(older)
    manifest["all.atom.gz"] = docs["all.atom"].digest + "-gz"
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    write_documents(tmp_path, docs, [], Staging(tmp_path, gzip_wanted=_wanted))
    assert (tmp_path / "all.atom.gz").read_bytes() == gzip_bytes(docs["all.atom"].body)
    assert read_manifest(tmp_path)["all.atom.gz"] == docs["all.atom"].digest + GZIP_TAG


def test_gzip_siblings_are_the_same_bytes_in_another_directory_and_come_back_when_missing(tmp_path: Path) -> None:
    docs = {p: doc(p, p.encode() * 200) for p in ("a.atom", "tags/t.rss")}
    for out in (tmp_path / "one", tmp_path / "two"):
        write_documents(out, docs, docs, Staging(out, gzip_wanted=_wanted))
    assert (tmp_path / "one/tags/t.rss.gz").read_bytes() == (tmp_path / "two/tags/t.rss.gz").read_bytes()
    out = tmp_path / "one"
    (out / "a.atom.gz").unlink()
    missing = store.missing_files(out, docs, _wanted)
    assert missing == {"a.atom"}
    write_documents(out, docs, missing, Staging(out, gzip_wanted=_wanted))
    assert gzip.decompress((out / "a.atom.gz").read_bytes()) == docs["a.atom"].body


def test_a_document_written_before_siblings_existed_gets_one_without_being_rewritten(tmp_path: Path) -> None:
    docs = {"a.atom": doc("a.atom", b"x" * 500)}
    write_documents(tmp_path, docs, docs)  # no sibling wanted (an older release)
    before = (tmp_path / "a.atom").stat().st_mtime_ns
    write_documents(tmp_path, docs, [], Staging(tmp_path, gzip_wanted=_wanted))
    assert gzip.decompress((tmp_path / "a.atom.gz").read_bytes()) == b"x" * 500
    assert (tmp_path / "a.atom").stat().st_mtime_ns == before


def test_a_failed_rename_leaves_no_sibling_older_than_its_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {"a.atom": doc("a.atom", b"old " * 100)}
    write_documents(tmp_path, old, old, Staging(tmp_path, gzip_wanted=_wanted))
    renamed: list[str] = []
    real_replace = os.replace

    def replace_then_fail(src: str, dst: str | Path) -> None:
        if str(dst).endswith(".gz"):
            raise OSError(28, "No space left on device")
        renamed.append(str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", replace_then_fail)
    new = {"a.atom": doc("a.atom", b"new " * 100)}
    with pytest.raises(StoreError):
        write_documents(tmp_path, new, new, Staging(tmp_path, gzip_wanted=_wanted))
    # The document is new and the old sibling was removed before it was: nginx gzips the new bytes itself.
    assert (tmp_path / "a.atom").read_bytes() == new["a.atom"].body
    assert not (tmp_path / "a.atom.gz").exists() and _temporaries(tmp_path) == []
