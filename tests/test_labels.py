"""labels: a table of words per language, chosen by the site's BCP 47 tag, English where there is none."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest

from syndicate.labels import CHINESE, ENGLISH, LABELS, labels_for


@pytest.mark.parametrize(
    ("tag", "table"),
    [("zh-CN", CHINESE), ("zh", CHINESE), ("ZH-hant-TW", CHINESE), ("zh_TW", CHINESE), ("en", ENGLISH),
     ("en-GB", ENGLISH), ("fr-FR", ENGLISH), ("", ENGLISH), ("  zh-CN ", CHINESE)],
)  # fmt: skip
def test_a_tag_picks_the_table_of_its_language(tag: str, table: object) -> None:
    assert labels_for(tag) is table


@pytest.mark.parametrize("language", sorted(LABELS))
def test_every_table_says_everything_english_says(language: str) -> None:
    table = LABELS[language]
    for field in fields(table):
        value = getattr(table, field.name)
        assert value, (language, field.name)
        if isinstance(value, dict):
            assert value.keys() == getattr(ENGLISH, field.name).keys(), (language, field.name)
    assert len(table.months) == 12
    # The kinds there are and the ones planned (per author, per publication); a kind without a heading here is
    # shown with its row's English heading (pages.py), so a new kind never breaks a page.
    assert {"all", "category", "tag", "author", "source"} <= table.headings.keys()


def test_counts_and_dates_read_naturally() -> None:
    moment = datetime(2024, 3, 9, 23, 30, tzinfo=timezone(timedelta(hours=8)))
    assert (ENGLISH.count(1), ENGLISH.count(0), ENGLISH.count(12)) == ("1 post", "0 posts", "12 posts")
    assert CHINESE.count(3) == "3 篇文章"
    # the post's own date (as its feeds give it), not the server's time zone
    assert ENGLISH.day(moment) == "9 March 2024" and CHINESE.day(moment) == "2024年3月9日"
