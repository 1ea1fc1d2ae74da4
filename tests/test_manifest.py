"""The output manifest (manifest.py): written whole now and then, with a journal of each write's changes between;
what a fresh process reads back is what the last write listed, whatever a crash left of the journal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from syndicate.documents import Document
from syndicate.manifest import JOURNAL, MANIFEST, entries_as_of, mark, read_manifest, update_manifest
from syndicate.store import write_documents


def doc(path: str, body: bytes) -> Document:
    return Document(path=path, body=body, media_type="text/plain", updated=None)


def read_in_a_new_process(root: Path) -> dict[str, str]:
    """What another process (a restart, a one-shot build) finds: nothing this process remembers."""
    code = (
        "import json, sys; from pathlib import Path; from syndicate.manifest import read_manifest; "
        "print(json.dumps(read_manifest(Path(sys.argv[1]))))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(root)], check=True, capture_output=True, text=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def site(n: int, version: bytes = b"v1") -> dict[str, Document]:
    return {f"tags/t{k}.atom": doc(f"tags/t{k}.atom", version + b" %d" % k) for k in range(n)}


def test_a_small_change_is_appended_to_the_journal_not_written_whole(tmp_path: Path) -> None:
    docs = site(40)
    write_documents(tmp_path, docs, docs)
    whole = (tmp_path / MANIFEST).read_bytes()
    assert not (tmp_path / JOURNAL).exists()
    changed = {**docs, "tags/t3.atom": doc("tags/t3.atom", b"edited")}
    del changed["tags/t7.atom"]
    write_documents(tmp_path, changed, ["tags/t3.atom"])
    assert (tmp_path / MANIFEST).read_bytes() == whole  # untouched: the change went to the journal
    assert (tmp_path / JOURNAL).stat().st_size < len(whole) / 10
    expected = {p: d.digest for p, d in changed.items()}
    assert read_manifest(tmp_path) == expected
    assert read_in_a_new_process(tmp_path) == expected
    assert not (tmp_path / "tags/t7.atom").exists()


def test_the_journal_is_folded_into_the_manifest_once_it_has_grown(tmp_path: Path) -> None:
    docs = site(20)
    write_documents(tmp_path, docs, docs)
    first = (tmp_path / MANIFEST).read_bytes()
    entries = read_manifest(tmp_path)
    for n in range(4000):  # about 30 bytes of journal each
        changed = {**entries, f"tags/t{n % 20}.atom": f"edit {n}"}
        update_manifest(tmp_path, entries, changed)
        entries = changed
    assert (tmp_path / MANIFEST).read_bytes() != first  # written whole again since
    journal = (tmp_path / JOURNAL).stat().st_size if (tmp_path / JOURNAL).exists() else 0
    assert journal <= 64 * 1024 + 4096  # folded in once past its floor (the manifest is small)
    assert read_in_a_new_process(tmp_path) == entries


def test_a_torn_journal_line_is_skipped_and_later_lines_apply(tmp_path: Path) -> None:
    docs = site(40)
    write_documents(tmp_path, docs, docs)
    update_manifest(tmp_path, read_manifest(tmp_path), {**read_manifest(tmp_path), "tags/t1.atom": "one"})
    with (tmp_path / JOURNAL).open("ab") as fh:
        fh.write(b'\n{"tags/t2.atom":"tw')  # a write killed half-way through its line
    # The next writer (another process: it knows nothing of this one) appends after it.
    code = (
        "import sys; from pathlib import Path; from syndicate.manifest import read_manifest, update_manifest; "
        "root = Path(sys.argv[1]); m = read_manifest(root); update_manifest(root, m, {**m, 'tags/t3.atom': 'three'})"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    found = read_in_a_new_process(tmp_path)
    assert found["tags/t1.atom"] == "one" and found["tags/t3.atom"] == "three"
    assert found["tags/t2.atom"] == docs["tags/t2.atom"].digest  # the torn line's change is not applied
    assert read_manifest(tmp_path) == found  # this process reads what was appended since, too


def test_a_journal_left_from_before_the_manifest_was_written_whole_is_ignored(tmp_path: Path) -> None:
    docs = site(40)
    write_documents(tmp_path, docs, docs)
    update_manifest(tmp_path, read_manifest(tmp_path), {**read_manifest(tmp_path), "tags/t1.atom": "old change"})
    stale = (tmp_path / JOURNAL).read_bytes()
    everything_new = site(40, b"v2")
    write_documents(tmp_path, everything_new, everything_new)  # a large change: the manifest is written whole
    # Killed before the old journal was removed: it is back beside the new manifest.
    (tmp_path / JOURNAL).write_bytes(stale)
    expected = {p: d.digest for p, d in everything_new.items()}
    assert read_in_a_new_process(tmp_path) == expected
    # The next small write starts a journal of its own, which applies.
    update_manifest(tmp_path, read_manifest(tmp_path), {**expected, "tags/t5.atom": "five"})
    assert read_in_a_new_process(tmp_path) == {**expected, "tags/t5.atom": "five"}


def test_a_manifest_from_before_the_journal_is_read_and_then_written_whole(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text(json.dumps({"all.atom": "abc", "tags/x.rss": "def"}))
    assert read_manifest(tmp_path) == {"all.atom": "abc", "tags/x.rss": "def"}
    update_manifest(tmp_path, read_manifest(tmp_path), {"all.atom": "abc", "tags/x.rss": "new"})
    assert not (tmp_path / JOURNAL).exists()
    assert read_in_a_new_process(tmp_path) == {"all.atom": "abc", "tags/x.rss": "new"}


def test_a_write_told_what_changed_compares_only_those_paths_while_the_manifest_is_as_it_left_it(
    tmp_path: Path,
) -> None:
    docs = site(40)
    write_documents(tmp_path, docs, docs)
    since = mark(tmp_path)
    # t3 edited, t7 gone, t40 new: the caller says so, and only those paths are compared with the manifest.
    changed = {**docs, "tags/t3.atom": doc("tags/t3.atom", b"edited"), "tags/t40.atom": doc("tags/t40.atom", b"new")}
    del changed["tags/t7.atom"]
    scope = {"tags/t3.atom", "tags/t7.atom", "tags/t40.atom"}
    removed = write_documents(tmp_path, changed, ["tags/t3.atom", "tags/t40.atom"], scope=scope, since=mark(tmp_path))
    assert removed == {"tags/t7.atom"} and not (tmp_path / "tags/t7.atom").exists()
    expected = {p: d.digest for p, d in changed.items()}
    assert read_manifest(tmp_path) == expected and read_in_a_new_process(tmp_path) == expected
    # A mark taken before a later write no longer holds: everything is compared (the stale entry for t7 would
    # otherwise be believed gone already, and t3's old digest current).
    assert entries_as_of(tmp_path, since) is None
    stale = {**docs, "tags/t5.atom": doc("tags/t5.atom", b"edited too")}
    rewritten = ["tags/t3.atom", "tags/t5.atom", "tags/t7.atom"]
    removed = write_documents(tmp_path, stale, rewritten, scope={"tags/t5.atom"}, since=since)
    assert removed == {"tags/t40.atom"} and read_manifest(tmp_path) == {p: d.digest for p, d in stale.items()}
    assert {p: (tmp_path / p).read_bytes() for p in stale} == {p: d.body for p, d in stale.items()}


def test_a_mark_does_not_hold_once_another_process_wrote_the_manifest(tmp_path: Path) -> None:
    docs = site(10)
    write_documents(tmp_path, docs, docs)
    since = mark(tmp_path)
    assert entries_as_of(tmp_path, since) == {p: d.digest for p, d in docs.items()}
    code = (
        "import sys; from pathlib import Path; from syndicate.store import add_to_manifest; "
        "add_to_manifest(Path(sys.argv[1]), lambda: {'stray.atom': 'x'})"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    (tmp_path / "stray.atom").write_bytes(b"x")
    assert entries_as_of(tmp_path, since) is None
    removed = write_documents(tmp_path, docs, [], scope=set(), since=since)
    assert removed == {"stray.atom"} and not (tmp_path / "stray.atom").exists()


def test_a_partial_update_folded_into_a_whole_manifest_keeps_the_paths_it_did_not_compare(tmp_path: Path) -> None:
    docs = site(20)
    write_documents(tmp_path, docs, docs)
    entries = read_manifest(tmp_path)
    # Most paths changed at once: written whole, from the manifest as listed with the changes applied.
    previous = {p: entries[p] for p in list(entries)[:15]}
    update_manifest(tmp_path, previous, {p: "edited" for p in previous if p != "tags/t0.atom"}, partial=True)
    expected = {**entries, **{p: "edited" for p in previous}}
    del expected["tags/t0.atom"]
    assert json.loads((tmp_path / MANIFEST).read_bytes()).keys() - {""} == expected.keys()
    assert read_in_a_new_process(tmp_path) == expected
