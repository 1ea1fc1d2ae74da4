"""The benchmark corpus generator (bench/corpus.py): reproducible, in the seed's shape, readable by Hugo too."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import frontmatter
import pytest
import yaml
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # bench/ is a top-level directory of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.corpus import CATEGORIES, TAGS, iter_posts, make_post, write_corpus  # noqa: E402
from bench.hugo import hugo_command, write_hugo_site  # noqa: E402


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(directory).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _names(value: object) -> list[str]:
    # Jekyll: a bare string is split on whitespace; a list is taken as is.
    if isinstance(value, str):
        return value.split()
    assert isinstance(value, list)
    return [str(v) for v in value]


def test_same_seed_gives_byte_identical_corpus(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "a", 120, seed=7)
    b = write_corpus(tmp_path / "b", 120, seed=7)
    assert a == b
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_other_seed_gives_other_corpus(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a", 50, seed=1)
    write_corpus(tmp_path / "b", 50, seed=2)
    assert _digest(tmp_path / "a") != _digest(tmp_path / "b")


def test_smaller_corpus_is_a_prefix_of_a_larger_one() -> None:
    small = [p.text for p in iter_posts(30, seed=3)]
    large = [p.text for p in iter_posts(60, seed=3)]
    assert large[:30] == small
    assert make_post(3, 45).text == large[45]


def test_counts_and_vocabulary(tmp_path: Path) -> None:
    info = write_corpus(tmp_path / "posts", 1000, seed=11)
    files = sorted(p for p in (tmp_path / "posts").rglob("*") if p.is_file())
    assert len(files) == info.count == 1000
    assert len({p.name for p in files}) == 1000
    assert info.bytes == sum(p.stat().st_size for p in files)
    # 1000 posts draw on every category and tag in the vocabulary.
    assert info.categories == {name for name, _ in CATEGORIES}
    assert info.tags == set(TAGS)
    assert len(CATEGORIES) == 20 and len(TAGS) == 30
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in info.tags) and any(" " in n for n in info.tags)


def test_posts_parse_with_python_frontmatter_in_the_seed_shape(tmp_path: Path) -> None:
    write_corpus(tmp_path / "posts", 300, seed=5)
    generated = {p.relpath: p for p in iter_posts(300, seed=5)}
    date_styles: set[str] = set()
    taxonomy_styles: set[str] = set()
    republished = 0
    for relpath, expected in generated.items():
        path = tmp_path / "posts" / relpath
        post = frontmatter.load(path)
        assert post["layout"] == "post"
        assert post["title"] == expected.title
        assert _names(post["categories"]) == list(expected.categories)
        assert _names(post["tags"]) == list(expected.tags)
        raw_categories = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])["categories"]
        taxonomy_styles.add(type(raw_categories).__name__)

        # The date is either the Jekyll "2021-12-24 08:51:00 +0800" string or an ISO 8601 timestamp.
        date = post["date"]
        if isinstance(date, str):
            date_styles.add("jekyll")
            parsed = dt.datetime.strptime(date, "%Y-%m-%d %H:%M:%S %z")
        else:
            date_styles.add("iso")
            assert isinstance(date, dt.datetime) and date.tzinfo is not None
            parsed = date
        assert parsed == expected.date
        # Jekyll takes the filename date in the post's own offset.
        assert path.name.startswith(parsed.strftime("%Y-%m-%d-")) and path.suffix == ".md"
        assert dt.datetime(2016, 1, 1, tzinfo=dt.UTC) <= parsed < dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

        body = post.content
        paragraphs = re.findall(r"<p>(.*?)</p>", body)
        assert paragraphs
        size = sum(len(p.encode()) for p in paragraphs)
        assert 1000 <= size <= 8000
        if expected.source is not None:
            republished += 1
            assert f'<p class="em_media">（文章来源：{expected.source}）</p>' in body
            assert f"\n\n<{expected.original_url}>\n\n" in body
            assert re.search(
                r"\[返回.+\]\(//news\.example\.net/category/[\w-]+\.html\)｜\[返回首页\]\(//news\.example\.net/\)$",
                body,
            )
        else:
            assert "文章来源" not in body and "返回首页" not in body
    assert date_styles == {"jekyll", "iso"}
    assert taxonomy_styles == {"str", "list"}
    assert 0.8 * 300 < republished < 300


def test_names_with_spaces_are_never_bare_strings() -> None:
    # A bare "AI & ML" would be three categories to Jekyll and one term "ai-ml" to Hugo.
    for post in iter_posts(400, seed=9):
        front = yaml.safe_load(post.text.split("---")[1])
        for key in ("categories", "tags"):
            if isinstance(front[key], str):
                assert " " not in front[key]


@pytest.mark.external
def test_hugo_builds_a_feed_per_term(tmp_path: Path) -> None:
    if shutil.which("hugo") is None:
        if os.environ.get("CI"):
            pytest.fail("hugo is required in CI")
        pytest.skip("hugo not installed")
    info = write_corpus(tmp_path / "posts", 400, seed=2)
    site = write_hugo_site(tmp_path / "site", tmp_path / "posts", tmp_path / "public")
    subprocess.run(hugo_command(site), check=True, capture_output=True, timeout=120)
    feeds = {p.parent.relative_to(tmp_path / "public").as_posix(): p for p in (tmp_path / "public").rglob("index.xml")}
    category_feeds = [k for k in feeds if k.startswith("categories/")]
    tag_feeds = [k for k in feeds if k.startswith("tags/")]
    assert len(category_feeds) == len(info.categories)
    assert len(tag_feeds) == len(info.tags)
    assert "." in feeds  # the site-wide feed
    home = etree.parse(str(feeds["."]))
    assert home.getroot().tag == "rss"
    assert len(home.findall("./channel/item")) == 50  # the configured limit, not Hugo's default (unlimited)
    for key in category_feeds + tag_feeds:
        items = etree.parse(str(feeds[key])).findall("./channel/item")
        assert 1 <= len(items) <= 50
        assert all(item.findtext("link", "").startswith("https://news.example.net/") for item in items)
