"""plan.py: which documents a build needs, with keys that change exactly when a document's bytes may."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syndicate.builder import Parallelism
from syndicate.config import Settings, settings_fingerprint
from syndicate.corpus import Corpus, visible_posts
from syndicate.formats import FEED_FORMATS
from syndicate.groups import group_posts
from syndicate.plan import NO_PLAN, Plan, plan_documents


def plan_of(settings: Settings, previous: Plan = NO_PLAN) -> Plan:
    records = Corpus(settings, [], Parallelism()).rescan({}).apply({})
    groups = group_posts(settings, visible_posts(records, float("inf"), True).posts)
    return plan_documents(settings, settings_fingerprint(settings), groups, previous)


def test_every_feed_has_its_pages_in_every_format(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: t")
    plan = plan_of(make_settings(limit=2))
    paths = [p.path for p in plan.documents]
    assert len(paths) == len(set(paths))
    for fmt in FEED_FORMATS:
        for base in ("all", "tags/t", "archive/all/1", "archive/all/2", "archive/tags/t/1", "archive/tags/t/2"):
            assert f"{base}.{fmt}" in paths
    assert "archive/all/3.atom" not in paths  # only full chunks are archived
    current = next(p.page for p in plan.documents if p.path == "all.atom")
    assert current.prev_archive == "archive/all/2" and [e.post.title for e in current.entries] == ["P5", "P4"]
    assert plan.subscribed == {e.post.digest for e in current.entries}


def test_keys_change_with_a_post_and_only_where_it_is(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: [t{day % 2}]")
    settings = make_settings(limit=2)
    first = plan_of(settings)
    assert plan_of(settings).keys == first.keys  # the same posts: the same keys
    write_post("2024-01-05-p5.md", "title: P5 edited\ntags: [t1]")
    second = plan_of(settings, first)
    changed = {path for path, key in second.keys.items() if first.keys[path] != key}
    assert changed == {f"{base}.{fmt}" for base in ("all", "tags/t1") for fmt in FEED_FORMATS}


def test_unchanged_archive_pages_are_taken_over_from_the_previous_plan(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}")
    settings = make_settings(limit=2)
    records = Corpus(settings, [], Parallelism()).rescan({}).apply({})
    groups = group_posts(settings, visible_posts(records, float("inf"), True).posts)
    fingerprint = settings_fingerprint(settings)
    first = plan_documents(settings, fingerprint, groups, NO_PLAN)
    again = plan_documents(settings, fingerprint, groups, first)
    assert all(again.feeds[base] is first.feeds[base] for base in first.feeds)
    # Planned anew from other groups of the same posts: the same pages with the same keys.
    regrouped = group_posts(settings, visible_posts(records, float("inf"), True).posts)
    other = plan_documents(settings, fingerprint, regrouped, first)
    assert other.feeds["all"] is not first.feeds["all"] and other.feeds["all"].count == 2
    assert other.keys == first.keys and list(other.archives) == list(first.archives)


def test_a_feed_whose_group_is_unchanged_is_taken_over_whole_and_only_with_the_same_settings(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 6):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: [t{day % 2}]")
    settings = make_settings(limit=2)
    records = Corpus(settings, [], Parallelism()).rescan({}).apply({})
    groups = group_posts(settings, visible_posts(records, float("inf"), True).posts)
    fingerprint = settings_fingerprint(settings)
    first = plan_documents(settings, fingerprint, groups, NO_PLAN)
    again = plan_documents(settings, fingerprint, groups, first)
    assert again.feeds.keys() == first.feeds.keys() == {"all", "tags/t0", "tags/t1"}
    assert all(again.feeds[base] is first.feeds[base] for base in first.feeds)
    assert again.documents == first.documents and again.subscribed == first.subscribed
    # Another fingerprint (settings that change the documents' bytes): planned anew, with other keys.
    other = plan_documents(settings, "another", groups, first)
    assert not any(other.feeds[base] is first.feeds[base] for base in first.feeds)
    assert not set(other.keys.values()) & set(first.keys.values())


def test_archive_pages_are_made_when_looked_up_with_the_keys_a_build_that_renders_them_has(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    for day in range(1, 8):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: [t{day % 2}]")
    settings = make_settings(limit=2)
    records = Corpus(settings, [], Parallelism()).rescan({}).apply({})
    groups = group_posts(settings, visible_posts(records, float("inf"), True).posts)
    fingerprint = settings_fingerprint(settings)
    rendered = plan_documents(settings, fingerprint, groups, NO_PLAN)
    served = plan_documents(settings, fingerprint, groups, NO_PLAN, archive_documents=False)
    assert not any(p.page.archive for p in served.documents)
    made = {p.path: p for p in rendered.documents if p.page.archive}
    assert list(served.archives) == list(made) and len(served.archives) == len(made) == 3 * 3 * 2
    for path, planned in made.items():
        got = served.archives[path]
        assert served.archives.key_of(path) == got.key == planned.key == served.keys[path]
        assert [e.post.path for e in got.page.entries] == [e.post.path for e in planned.page.entries]
        assert (got.page.prev_archive, got.page.title, got.fmt) == (
            planned.page.prev_archive,
            planned.page.title,
            planned.fmt,
        )
    assert dict(served.keys.items()) == {p.path: p.key for p in rendered.documents}
    # Only the spelling the pages have names one: no other number, format or directory.
    for path in (
        "archive/all/01.atom",
        "archive/all/0.atom",
        "archive/all/4.atom",
        "archive/all/1.xml",
        "archive/all/1",
        "archive/tags/t2/1.atom",
        "all.atom",
        "archive/all/١.atom",
    ):
        assert (
            path not in served.archives and served.archives.key_of(path) is None and served.archives.get(path) is None
        )
