"""corpus.py: reading a posts directory into records, deltas, visible posts and URL conflicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from syndicate.builder import Parallelism
from syndicate.config import Settings
from syndicate.corpus import NO_VISIBLE, Corpus, CorpusError, notes, rejections, revisit, visible_posts
from syndicate.posts import Post


def test_a_rescan_reads_only_what_changed_and_a_delta_applies(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    a = write_post("2024-01-01-a.md", "title: A")
    write_post("2024-01-02-b.md", "title: B")
    corpus = Corpus(make_settings(), [], Parallelism())
    first = corpus.rescan({})
    assert first.parsed == 2 and not first.removed and first.signature
    records = first.apply({})
    again = corpus.rescan(records)
    assert again.parsed == 0 and again.changes_nothing(records)
    a.write_text(a.read_text())  # saved without changes: read again, found the same
    touched = corpus.rescan(records)
    assert touched.parsed == 1 and touched.changes_nothing(records)
    a.unlink()
    gone = corpus.rescan(records)
    assert gone.removed == {"2024-01-01-a.md"} and not gone.changes_nothing(records)
    assert set(gone.apply(records)) == {"2024-01-02-b.md"}
    assert set(records) == {"2024-01-01-a.md", "2024-01-02-b.md"}  # applying leaves the old records alone


@pytest.mark.parametrize("workers", [1, 2])
def test_posts_read_hold_one_value_for_what_they_have_alike(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], workers: int
) -> None:
    # A million-post server holds every post: the site's URL and the fields most posts leave at their defaults are
    # one value for all posts that have the same, parsed here or in worker processes.
    for n in range(1, 7):
        write_post(f"2024-01-0{n}-p{n}.md", f"title: P{n}" + ("\npublished: false" if n == 6 else ""))
    corpus = Corpus(make_settings(), [], Parallelism(workers=workers, parse_from=2))
    posts = [c.record for c in corpus.rescan({}).apply({}).values()]
    assert all(isinstance(p, Post) for p in posts)
    alike = {id(p.extras) for p in posts if p.published}  # type: ignore[union-attr]
    assert len(alike) == 1 and len({id(p.extras) for p in posts}) == 2  # type: ignore[union-attr]
    assert [p.title for p in posts] == [f"P{n}" for n in range(1, 7)]  # type: ignore[union-attr]


def test_an_update_reads_only_the_given_paths(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    write_post("2024-01-01-a.md", "title: A")
    corpus = Corpus(make_settings(), [], Parallelism())
    records = corpus.rescan({}).apply({})
    b = write_post("2024-01-02-b.md", "title: B")
    delta = corpus.update(records, [b, posts_dir / "notes.txt", posts_dir / ".hidden.md", Path("/elsewhere/x.md")])
    assert set(delta.updates) == {"2024-01-02-b.md"} and delta.parsed == 1
    b.unlink()
    assert corpus.update(delta.apply(records), [b]).removed == {"2024-01-02-b.md"}


def test_visible_posts_are_newest_first_and_a_second_post_with_one_url_is_rejected(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A")
    write_post("2024-01-02-b.md", "title: B")
    write_post("2024-01-02-c.md", "title: C\npermalink: /2024/01/02/b.html")
    write_post("2024-01-03-draft.md", "title: D\npublished: false")
    write_post("2030-01-01-later.md", "title: Later")
    write_post("2024-01-04-bad.md", "title: [unclosed")
    settings = make_settings(permalink="/:year/:month/:day/:title.html")
    records = Corpus(settings, [], Parallelism()).rescan({}).apply({})
    now = 1_800_000_000.0  # 2027
    visible = visible_posts(records, now, future=False)
    assert [p.title for p in visible.posts] == ["B", "A"]
    assert [(r.path, "same URL as 2024-01-02-b.md" in r.reason) for r in visible.conflicts] == [
        ("2024-01-02-c.md", True)
    ]
    assert [p.title for p in visible_posts(records, now, future=True).posts] == ["Later", "B", "A"]
    assert [r.path for r in rejections(records, visible.conflicts)] == ["2024-01-02-c.md", "2024-01-04-bad.md"]
    assert notes(records) == ()


def test_a_missing_or_unmounted_posts_directory_is_an_error(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    corpus = Corpus(make_settings(posts=tmp_path / "nowhere"), [], Parallelism())
    with pytest.raises(CorpusError, match="cannot be read"):
        corpus.check_root()


def test_a_newcomer_cannot_take_over_an_older_posts_url(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """Issue 14: a new file whose ``permalink:`` names an existing post's URL, at a path that sorts first, is the one
    rejected: of posts with one URL the oldest by date keeps it (then the first by path), so an entry's id and link
    never move to another file."""
    write_post("2024/2024-01-01-original.md", "title: Original\npermalink: /news/original.html")
    write_post("0-newcomer.md", "title: Takeover\ndate: 2024-06-01\npermalink: /news/original.html")
    write_post("b/2024-01-01-same-day.md", "title: Same day\npermalink: /news/original.html")
    records = Corpus(make_settings(), [], Parallelism()).rescan({}).apply({})
    visible = visible_posts(records, 1_800_000_000.0, future=False)
    assert [p.title for p in visible.posts] == ["Original"]
    reasons = {r.path: r.reason for r in visible.conflicts}
    assert set(reasons) == {"0-newcomer.md", "b/2024-01-01-same-day.md"}  # the same date: the first by path keeps it
    for reason in reasons.values():
        assert "same URL as 2024/2024-01-01-original.md" in reason and "keeps it" in reason, reason


def test_revisit_equals_choosing_anew_as_posts_come_and_go_and_scheduled_ones_come_due(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """``revisit`` patches the last choice with the changed files only; whatever it is given, it must give what
    ``visible_posts`` gives. Each step below is one it must not get wrong by patching."""
    at = lambda day: datetime.fromisoformat(f"2026-05-{day:02d}T12:00:00+00:00").timestamp()  # noqa: E731
    write_post("a.md", "title: A\ndate: 2024-01-01")
    write_post("b.md", "title: B\ndate: 2024-01-02\npermalink: /one.html")
    corpus = Corpus(make_settings(), [], Parallelism())
    records = corpus.rescan({}).apply({})
    chosen = revisit(NO_VISIBLE, {}, corpus.rescan(records), records, at(1), False)
    assert chosen == visible_posts(records, at(1), False)
    steps = [
        ("c.md", "title: C\ndate: 2026-05-10", 2),  # scheduled, and the only post that is
        (None, None, 12),  # ... come due: nothing changed but the time
        ("d.md", "title: D\ndate: 2023-12-01\npermalink: /one.html", 12),  # older: takes B's URL, B rejected
        ("b.md", "title: B\ndate: 2024-01-02\npermalink: /two.html", 12),  # B moves: no clash left
        ("d.md", None, 12),  # removed
        ("e.md", "title: E\npublished: false", 13),  # a draft
        ("f.md", "title: [unclosed", 13),  # unreadable: rejected
        ("f.md", "title: F\ndate: 2024-01-05", 13),  # fixed
        ("a.md", "title: A again\ndate: 2026-05-20", 14),  # an edit dates a visible post ahead: scheduled
        (None, None, 5),  # the clock moved back: C is ahead of it again
        (None, None, 21),
    ]
    for name, front, day in steps:
        changed = []
        if name is not None:
            path = write_post(name, front) if front is not None else corpus.settings.posts / name
            if front is None:
                path.unlink()
            changed.append(path)
        delta = corpus.update(records, changed)
        after = delta.apply(records)
        chosen = revisit(chosen, records, delta, after, at(day), False)
        want = visible_posts(after, at(day), False)
        assert (chosen.posts, chosen.conflicts, chosen.unpublished, chosen.scheduled) == (
            want.posts,
            want.conflicts,
            want.unpublished,
            want.scheduled,
        ), (name, day)
        assert chosen.owners == want.owners and chosen.clashes == want.clashes, (name, day)
        assert chosen.rejected == rejections(after, want.conflicts) and chosen.notes == notes(after), (name, day)
        records = after
