"""groups.py: feed kinds as a table, grouping posts into feeds, regrouping, resolving names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from syndicate.builder import Parallelism
from syndicate.config import Settings
from syndicate.corpus import Corpus, visible_posts
from syndicate.groups import FEED_KINDS, FeedInfo, feed_kind, group_posts, kind_in, regroup
from syndicate.posts import Post


def visible(settings: Settings) -> tuple[Post, ...]:
    corpus = Corpus(settings, [], Parallelism())
    return visible_posts(corpus.rescan({}).apply({}), float("inf"), True).posts


def test_every_kind_is_a_row_and_an_unknown_kind_raises() -> None:
    assert [k.name for k in FEED_KINDS] == ["all", "category", "tag"]
    assert kind_in("categories") is feed_kind("category") and kind_in("tags") is feed_kind("tag")
    assert kind_in("authors") is None
    with pytest.raises(KeyError, match="unknown feed kind 'author'"):
        feed_kind("author")
    with pytest.raises(KeyError):  # a feed of a kind with no row is refused, not filed under tags/
        FeedInfo("author", "Ann", "ann", 1, "Ann")


def test_feed_paths_come_from_the_table() -> None:
    assert FeedInfo("all", "Site", "all", 3, "Site").path("atom") == "all.atom"
    news = FeedInfo("category", "News", "news", 2, "News")
    assert news.path("rss") == "categories/news.rss" and news.archive_base() == "archive/categories/news"
    assert FeedInfo("tag", "中文", "中文", 1, "中文").base == "tags/中文"


def test_groups_list_posts_newest_first_and_resolve_names_slugs_and_case(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\ncategories: News\ntags: [x, Y]")
    write_post("2024-01-02-b.md", "title: B\ncategories: news\ntags: x")
    settings = make_settings()
    groups = group_posts(settings, visible(settings))
    assert [(f.kind, f.slug, f.count) for f in groups.feeds] == [
        ("all", "all", 2),
        ("category", "news", 2),
        ("tag", "x", 2),
        ("tag", "y", 1),
    ]
    news = groups.members[1]
    assert [p.title for p in news.posts] == ["B", "A"]
    assert news.feed.name == "news"  # the newest post's spelling names the feed
    assert groups.resolve("category", "NEWS") is groups.resolve("category", "news") is news.feed
    assert groups.resolve("tag", "Y") is groups.members[3].feed
    assert groups.resolve("tag", "news") is None and groups.resolve("category", "x") is None


def test_regroup_equals_grouping_anew_and_reuses_the_feeds_when_only_contents_changed(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    first = write_post("2024-01-01-a.md", "title: A\ncategories: news\ntags: [x, 中文]")
    write_post("2024-01-02-b.md", "title: B\ntags: [x]")
    settings = make_settings()
    before = group_posts(settings, visible(settings))
    write_post(first.name, "title: A, edited\ncategories: news\ntags: [x, 中文]")
    after = visible(settings)
    regrouped = regroup(before, settings, after)
    fresh = group_posts(settings, after)
    assert regrouped.feeds == fresh.feeds
    assert [[p.title for p in g.posts] for g in regrouped.members] == [
        [p.title for p in g.posts] for g in fresh.members
    ]
    assert regrouped.index is before.index  # the same feeds: the last index is taken over
    assert [p.title for p in before.members[1].posts] == ["A"]  # the previous groups are left as they were
    write_post(first.name, "title: A\ntags: [y]")  # other terms: grouped anew
    moved = visible(settings)
    assert regroup(before, settings, moved).feeds == group_posts(settings, moved).feeds
