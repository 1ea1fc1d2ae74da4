"""The words of the HTML pages (index and feed pages), one table per language, chosen by the site's ``language``.

A language is a row of ``LABELS``: adding one is a table here. A site's BCP 47 tag picks the table of its primary
subtag (``zh-CN``, ``zh-Hant`` → ``zh``); a language without a table gets English, so a page never lacks a word.
Feed kinds are named by ``FeedKind.name``; a kind without a heading in the table shows its row's English heading
(groups.FEED_KINDS), so a new kind appears on the pages before anyone translates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Labels:
    """The words of one language. ``posts`` and ``date`` are str.format patterns (``{n}``; ``{day}``, ``{month}``,
    ``{year}``), ``months`` the month names January first."""

    feeds: str  # the index page's title after the site's
    what_is_a_feed: str
    subscribe: str  # the heading over the addresses to copy
    copy_hint: str
    latest: str
    all_feeds: str
    opml: str
    formats: str
    posts: str
    one_post: str
    shown: str  # "{n} newest shown" on a feed page
    feed_of: Mapping[str, str]  # kind name -> "{name}"-pattern describing a term feed ("Posts tagged {name}")
    headings: Mapping[str, str]  # kind name -> heading over lists of its feeds
    months: tuple[str, ...]
    date: str
    none_yet: str
    via: str
    no_posts: str
    jekyll: str = "jekyll-feed"

    def count(self, n: int) -> str:
        return self.one_post if n == 1 else self.posts.format(n=n)

    def day(self, moment: datetime) -> str:
        """A post's date as the page shows it, in the post's own time zone (as the feeds give it)."""
        return self.date.format(day=moment.day, month=self.months[moment.month - 1], year=moment.year)


ENGLISH = Labels(
    feeds="feeds",
    what_is_a_feed=(
        "This is a web feed: copy its address into a feed reader (Feedly, NetNewsWire, Thunderbird, newsboat…) and "
        "new posts come to you as they are published."
    ),
    subscribe="Subscribe",
    copy_hint="Copy an address into your feed reader:",
    latest="Latest posts",
    all_feeds="All feeds",
    opml="OPML list of every feed (import it into a reader to follow them all)",
    formats="Formats",
    posts="{n} posts",
    one_post="1 post",
    shown="the newest {n} shown here",
    feed_of={
        "category": "Posts in the category {name}",
        "tag": "Posts tagged {name}",
        "author": "Posts by {name}",
        "source": "Posts from {name}",
    },
    headings={"all": "All posts", "category": "Categories", "tag": "Tags", "author": "Authors", "source": "Sources"},
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    date="{day} {month} {year}",
    none_yet="None yet.",
    via="via",
    no_posts="No posts yet.",
)

CHINESE = Labels(
    feeds="订阅源",
    what_is_a_feed=(
        "这是一个订阅源（RSS/Atom feed）：把它的地址复制到 RSS 阅读器（如 Feedly、NetNewsWire、Inoreader）里，"
        "新文章一发布就会送到你面前。"
    ),
    subscribe="订阅",
    copy_hint="把下面任一地址复制到你的阅读器中：",
    latest="最新文章",
    all_feeds="全部订阅源",
    opml="全部订阅源的 OPML 列表（导入阅读器即可一次订阅全部）",
    formats="格式",
    posts="{n} 篇文章",
    one_post="1 篇文章",
    shown="此处显示最新 {n} 篇",
    feed_of={
        "category": "分类“{name}”下的文章",
        "tag": "标签“{name}”下的文章",
        "author": "{name} 的文章",
        "source": "来自 {name} 的文章",
    },
    headings={"all": "全部文章", "category": "分类", "tag": "标签", "author": "作者", "source": "来源"},
    months=tuple(f"{n}月" for n in range(1, 13)),
    date="{year}年{month}{day}日",
    none_yet="暂无。",
    via="转载自",
    no_posts="还没有文章。",
)

LABELS: Mapping[str, Labels] = {"en": ENGLISH, "zh": CHINESE}


def labels_for(language: str) -> Labels:
    """The table for a BCP 47 tag (its primary subtag, any case); English when there is none."""
    primary = language.strip().partition("-")[0].partition("_")[0].lower()
    return LABELS.get(primary, ENGLISH)
