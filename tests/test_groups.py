"""groups.py: feed kinds as a table, grouping posts into feeds, regrouping, resolving names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from syndicate.builder import Parallelism
from syndicate.config import _BY_NAME, ConfigError, Settings
from syndicate.corpus import Corpus, visible_posts
from syndicate.groups import FEED_KINDS, TERM_KINDS, FeedInfo, feed_kind, group_posts, kind_in, regroup
from syndicate.posts import Post


def visible(settings: Settings) -> tuple[Post, ...]:
    corpus = Corpus(settings, [], Parallelism())
    return visible_posts(corpus.rescan({}).apply({}), float("inf"), True).posts


def test_every_kind_is_a_row_and_an_unknown_kind_raises() -> None:
    assert [k.name for k in FEED_KINDS] == ["all", "category", "tag", "source", "author"]
    assert kind_in("categories") is feed_kind("category") and kind_in("tags") is feed_kind("tag")
    assert kind_in("sources") is feed_kind("source") and kind_in("authors") is feed_kind("author")
    assert kind_in("people") is None
    with pytest.raises(KeyError, match="unknown feed kind 'person'"):
        feed_kind("person")
    with pytest.raises(KeyError):  # a feed of a kind with no row is refused, not filed under tags/
        FeedInfo("person", "Ann", "ann", 1, "Ann")


def test_the_feed_kinds_setting_offers_exactly_the_term_kinds() -> None:
    """config.py cannot import the table (groups.py imports config), so the setting's choices are written there;
    this holds the two together."""
    assert _BY_NAME["feed_kinds"].choices == tuple(k.name for k in TERM_KINDS)
    assert tuple(_BY_NAME["feed_kinds"].default) == tuple(k.name for k in TERM_KINDS)


def test_feed_paths_come_from_the_table() -> None:
    assert FeedInfo("all", "Site", "all", 3, "Site").path("atom") == "all.atom"
    news = FeedInfo("category", "News", "news", 2, "News")
    assert news.path("rss") == "categories/news.rss" and news.archive_base() == "archive/categories/news"
    assert FeedInfo("tag", "中文", "中文", 1, "中文").base == "tags/中文"
    assert FeedInfo("source", "人民日报", "人民日报", 4, "人民日报").path("json") == "sources/人民日报.json"
    assert FeedInfo("author", "Ann Lee", "ann-lee", 1, "Ann Lee").archive_base() == "archive/authors/ann-lee"


def test_publications_and_authors_have_feeds_named_as_most_posts_and_the_newest_post_write_them(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\nsource: Tech Daily & Co.\nauthor: Mei Lin")
    write_post("2024-01-02-b.md", "title: B\nsource: Tech Daily & Co.\nauthors: [Mei Lin, Omar Haddad]")
    write_post("2024-01-03-c.md", "title: C\nsource: TECH DAILY & CO.\nauthor: {name: omar haddad}")
    write_post("2024-01-04-d.md", "title: D\nsource: 人民日报")
    write_post("2024-01-05-e.md", "title: E")  # neither: in the site-wide feed only
    settings = make_settings(author="Desk")
    groups = group_posts(settings, visible(settings))
    feeds = {(f.kind, f.slug): f for f in groups.feeds if f.kind in ("source", "author")}
    assert {key: (f.name, f.count) for key, f in feeds.items()} == {
        ("source", "tech-daily-co"): ("Tech Daily & Co.", 3),  # two posts spell it so; the newest does not
        ("source", "人民日报"): ("人民日报", 1),
        ("author", "mei-lin"): ("Mei Lin", 2),
        ("author", "omar-haddad"): ("omar haddad", 2),  # the newest post's spelling, as for categories and tags
        ("author", "desk"): ("Desk", 2),  # the default author: whom the entries of D and E name
    }
    tech = groups.resolve("source", "TECH DAILY & CO.")
    assert tech is feeds[("source", "tech-daily-co")]
    by_path = {g.feed.base: [p.title for p in g.posts] for g in groups.members}
    assert by_path["sources/tech-daily-co"] == ["C", "B", "A"]
    assert by_path["authors/omar-haddad"] == ["C", "B"]
    assert groups.resolve("author", "Mei Lin") is feeds[("author", "mei-lin")]


def test_most_posts_spelling_ties_go_to_the_newest_post(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\nsource: River Post")
    write_post("2024-01-02-b.md", "title: B\nsource: RIVER POST")
    settings = make_settings()
    assert group_posts(settings, visible(settings)).resolve("source", "river-post").name == "RIVER POST"  # type: ignore[union-attr]


def test_the_feed_kinds_setting_leaves_kinds_out(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-01-a.md", "title: A\ncategories: News\ntags: x\nsource: River Post\nauthor: Ann")
    settings = make_settings(feed_kinds=["category", "source"])
    groups = group_posts(settings, visible(settings))
    assert [f.base for f in groups.feeds] == ["all", "categories/news", "sources/river-post"]
    assert groups.resolve("author", "Ann") is None
    with pytest.raises(ConfigError, match="unknown 'authors'; the choices are category, tag, source, author"):
        make_settings(feed_kinds=["authors"])


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


def test_regroup_keeps_the_very_objects_of_the_visible_posts_when_a_post_comes_back_as_an_equal_copy(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """A post read again may be a new object equal to the old one: the feeds must then hold the new object (later
    regroups find posts in feeds by identity), and regrouping must still equal grouping anew."""

    for day in range(1, 7):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ntags: [t, u{day % 2}]")
    settings = make_settings()
    first = group_posts(settings, visible(settings))
    copy = first.visible[1].replace()  # equal, not the same object
    assert copy == first.visible[1] and copy is not first.visible[1]
    newest = first.visible[0].replace(path="2024-01-09-new.md", title="New", tags=("t",))
    second_visible = (newest, first.visible[0], copy, *first.visible[2:])
    second = regroup(first, settings, second_visible)
    held = {id(p) for p in second_visible}
    assert all(id(p) in held for g in second.members for p in g.posts)
    assert [(g.feed, list(g.posts)) for g in second.members] == [
        (g.feed, list(g.posts)) for g in group_posts(settings, second_visible).members
    ]
    third_visible = tuple(p for p in second_visible if p is not copy)  # the copy leaves: found by identity
    third = regroup(second, settings, third_visible)
    assert [(g.feed, [p.path for p in g.posts]) for g in third.members] == [
        (g.feed, [p.path for p in g.posts]) for g in group_posts(settings, third_visible).members
    ]


def test_regroup_told_which_posts_moved_patches_their_feeds_and_equals_grouping_anew(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """Told the posts that left and entered (as corpus.revisit knows them), regroup compares no other post: the
    feeds of other posts keep their groups, and the result equals grouping anew."""

    for day in range(1, 9):
        write_post(f"2024-01-0{day}-p{day}.md", f"title: P{day}\ncategories: c{day % 3}\ntags: [t, u{day % 2}]")
    settings = make_settings()
    first = group_posts(settings, visible(settings))
    gone = first.visible[3]
    newest = first.visible[0].replace(path="2024-01-09-new.md", title="New", categories=("c9",), tags=("t",))
    edited = first.visible[5].replace(title="P3, edited")
    now = (newest, *first.visible[:3], *first.visible[4:5], edited, *first.visible[6:])
    second = regroup(first, settings, now, ((gone, first.visible[5]), (newest, edited)))
    fresh = group_posts(settings, now)
    assert [(g.feed, [id(p) for p in g.posts]) for g in second.members] == [
        (g.feed, [id(p) for p in g.posts]) for g in fresh.members
    ]
    untouched = {g.feed.slug for g in first.members} - {"all", "c0", "c2", "c9", "t", "u0", "u1"}
    assert untouched and all(
        next(h for h in second.members if h.feed == g.feed) is g for g in first.members if g.feed.slug in untouched
    )
    # A patched group says how many of its oldest posts it holds as the group it was made from did: exactly.
    for group in second.members:
        was = next((g for g in first.members if g.feed.slug == group.feed.slug), None)
        if was is None or was is group:
            continue
        shared = 0
        while shared < min(len(was.posts), len(group.posts)) and was.posts[-1 - shared] is group.posts[-1 - shared]:
            shared += 1
        assert group.oldest_shared_with(was) == shared, group.feed.slug
        assert group.oldest_shared_with(group) is None  # only of the group it was made from
    # Nothing moved: the very groups; many moved: grouped anew (the same result either way).
    assert regroup(second, settings, now, ((), ())).members is second.members
    assert regroup(first, settings, now, (first.visible, now)).feeds == fresh.feeds
