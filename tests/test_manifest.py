"""The output manifest (manifest.py): written whole now and then, with a journal of each write's changes between;
what a fresh process reads back is what the last write listed, whatever a crash left of the journal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from syndicate.documents import Document
from syndicate.manifest import JOURNAL, MANIFEST, read_manifest, update_manifest
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
