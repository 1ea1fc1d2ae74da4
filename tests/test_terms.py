from __future__ import annotations

import pytest

from syndicate.terms import slugify, split_terms


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("右江日报新闻", "右江日报新闻"),
        ("C++", "c++"),
        ("AI & ML", "ai-ml"),
        ("node.js", "node.js"),
        ("Hello World", "hello-world"),
        ("Café", "café"),
        ("ＡＢＣ", "abc"),  # NFKC folds full-width letters
        ("a/b", "ab"),
        ("..", None),
        ("../../etc/passwd", "etcpasswd"),
        ("a\\b", "ab"),
        ("a\x00b", "ab"),
        (".hidden", "hidden"),
        ("???", None),
        ("C#", "c"),
    ],
)
def test_slug_rule(name: str, slug: str | None) -> None:
    result = slugify(name)
    if slug is None:
        assert result.startswith("term-") and len(result) == 13
    else:
        assert result == slug
    assert "/" not in result and "\\" not in result and "\x00" not in result
    assert result not in ("", ".", "..") and not result.startswith(".")


def test_names_differing_in_case_share_a_slug() -> None:
    assert slugify("News") == slugify("news") == slugify("NEWS")


def test_long_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    a, b = slugify("长" * 100 + "一"), slugify("长" * 100 + "二")
    assert len(a.encode()) < 140 and a != b


def test_split_terms_follows_jekyll() -> None:
    assert split_terms("a b  c") == ["a", "b", "c"]
    assert split_terms(["AI & ML", 2024]) == ["AI & ML", "2024"]
    assert split_terms(None) == []
    assert split_terms(2024) == ["2024"] and split_terms(1.5) == ["1.5"]  # a bare number is a name, as in Jekyll
    assert split_terms(True) is None and split_terms([False]) is None
    assert split_terms([["nested"]]) is None
    assert split_terms({"a": 1}) is None
