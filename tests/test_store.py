from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.documents import Document
from syndicate.store import MANIFEST, StoreError, read_manifest, write_documents


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


def test_unreadable_manifest_is_treated_as_empty(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{broken")
    assert read_manifest(tmp_path) == {}
