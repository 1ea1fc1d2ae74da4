"""Finding post files: how many a directory holds, without walking all of it."""

from __future__ import annotations

from pathlib import Path

from syndicate.scan import holds_at_least


def _post(path: Path, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\n---\nA few words about {title}.\n", encoding="utf-8")


def test_holds_at_least_counts_post_files_only(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    for n in range(3):
        _post(posts / "2024" / f"2024-05-0{n + 1}-harvest-{n}.md", f"Harvest day {n}")
    (posts / "notes.txt").write_text("not a post", encoding="utf-8")
    (posts / ".draft.md").write_text("---\ntitle: hidden\n---\n", encoding="utf-8")
    assert holds_at_least(posts, None, 3)
    assert not holds_at_least(posts, None, 4)
    assert holds_at_least(posts, None, 0)


def test_holds_at_least_is_false_for_a_missing_directory(tmp_path: Path) -> None:
    assert not holds_at_least(tmp_path / "nowhere", None, 1)
