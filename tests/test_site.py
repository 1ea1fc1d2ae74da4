"""site.py: a Jekyll site's configuration, defaults, data and post files, read as Jekyll 4 reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicate.config import SITE_OUT, ConfigError, load_settings
from syndicate.scan import is_post_path, scan_post_files
from syndicate.site import FeedCollection, SiteError, read_site


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_site_without_config_has_jekylls_defaults(tmp_path: Path) -> None:
    site = read_site(tmp_path)
    assert site.url == "" and site.baseurl == "" and site.title == ""
    assert site.post_permalink == "/:categories/:year/:month/:day/:title:output_ext"  # permalink: date
    assert site.excerpt_separator == "\n\n" and not site.flag("future") and not site.flag("show_drafts")
    assert site.kramdown["input"] == "GFM" and site.kramdown["smart_quotes"] == "lsquo,rsquo,ldquo,rdquo"
    assert "node_modules" in site.config["exclude"]


def test_config_values_and_styles(tmp_path: Path) -> None:
    write(
        tmp_path / "_config.yml",
        "url: https://example.org/\nbaseurl: blog/\nname: Fallback name\npermalink: pretty\n"
        "kramdown:\n  hard_wrap: true\n",
    )
    site = read_site(tmp_path)
    assert site.url == "https://example.org" and site.baseurl == "/blog" and site.title == "Fallback name"
    assert site.post_permalink == "/:categories/:year/:month/:day/:title/"
    assert site.kramdown["hard_wrap"] is True and site.kramdown["input"] == "GFM"  # merged over the defaults


def test_the_posts_collection_permalink_wins_over_the_site_permalink(tmp_path: Path) -> None:
    write(tmp_path / "_config.yml", "permalink: pretty\ncollections:\n  posts:\n    permalink: /p/:title/\n")
    assert read_site(tmp_path).post_permalink == "/p/:title/"


@pytest.mark.parametrize("config", ["- a\n- b\n", "url: [unclosed\n"])
def test_a_config_that_cannot_be_used_is_an_error_naming_the_file(tmp_path: Path, config: str) -> None:
    write(tmp_path / "_config.yml", config)
    with pytest.raises(SiteError, match="_config.yml"):
        read_site(tmp_path)


def test_posts_are_found_where_jekyll_finds_them(tmp_path: Path) -> None:
    write(tmp_path / "_config.yml", "exclude: [private/]\n")
    for rel in (
        "_posts/2021-01-01-a.md",
        "_posts/sub/2021-01-02-b.md",
        "news/_posts/2021-01-03-c.md",
        "news/world/_posts/2021-01-04-d.markdown",
        "_drafts/e.md",
        "private/_posts/2021-01-05-f.md",
        "_site/_posts/2021-01-06-g.md",
        "node_modules/x/_posts/2021-01-07-h.md",
        "_posts/.hidden.md",
        "_posts/_underscored.md",
        "about.md",
    ):
        write(tmp_path / rel, "---\n---\n")
    site = read_site(tmp_path)
    found = [rel for _, rel, _ in scan_post_files(tmp_path, site)]
    assert found == [
        "_posts/2021-01-01-a.md",
        "_posts/sub/2021-01-02-b.md",
        "news/_posts/2021-01-03-c.md",
        "news/world/_posts/2021-01-04-d.markdown",
    ]
    assert all(is_post_path(rel, site) for rel in found)
    assert not is_post_path("_drafts/e.md", site) and not is_post_path("private/_posts/2021-01-05-f.md", site)
    assert site.categories_from_path("news/world/_posts/2021-01-04-d.markdown") == ("news", "world")
    assert site.categories_from_path("_posts/sub/2021-01-02-b.md") == ()


def test_drafts_only_with_show_drafts(tmp_path: Path) -> None:
    write(tmp_path / "_config.yml", "show_drafts: true\n")
    write(tmp_path / "_drafts" / "e.md", "---\n---\n")
    site = read_site(tmp_path)
    assert [rel for _, rel, _ in scan_post_files(tmp_path, site)] == ["_drafts/e.md"]
    assert site.post_kind("_drafts/e.md") == "drafts"


def test_an_included_name_is_read_despite_its_underscore(tmp_path: Path) -> None:
    write(tmp_path / "_config.yml", "include: [_special]\n")
    write(tmp_path / "_special" / "_posts" / "2021-01-01-a.md", "---\n---\n")
    write(tmp_path / "_other" / "_posts" / "2021-01-01-b.md", "---\n---\n")
    site = read_site(tmp_path)
    assert [rel for _, rel, _ in scan_post_files(tmp_path, site)] == ["_special/_posts/2021-01-01-a.md"]


def test_front_matter_defaults_by_path_type_and_precedence(tmp_path: Path) -> None:
    write(
        tmp_path / "_config.yml",
        """defaults:
  - scope: {path: ""}
    values: {author: everyone, layout: base}
  - scope: {path: "", type: posts}
    values: {author: posts-author}
  - scope: {path: "news"}
    values: {author: news-desk, extra: {a: 1}}
  - scope: {path: "news", type: posts}
    values: {extra: {b: 2}}
  - scope: {path: "*/_posts/2024-*"}
    values: {image: /glob.png}
  - scope: {type: drafts}
    values: {author: drafter}
  - values-missing: true
""",
    )
    write(tmp_path / "news" / "_posts" / "2024-01-01-x.md", "")
    site = read_site(tmp_path)
    assert site.defaults_for("_posts/2021-01-01-a.md", "posts") == {"author": "posts-author", "layout": "base"}
    news = site.defaults_for("news/_posts/2024-01-01-x.md", "posts")
    assert news["author"] == "news-desk" and news["extra"] == {"a": 1, "b": 2} and news["image"] == "/glob.png"
    assert site.defaults_for("news/_posts/2023-01-01-y.md", "posts").get("image") is None
    assert site.defaults_for("_drafts/d.md", "drafts")["author"] == "drafter"


def test_site_data_from_yaml_json_and_csv(tmp_path: Path) -> None:
    write(tmp_path / "_data" / "authors.yml", "mei: {name: Mei}\n")
    write(tmp_path / "_data" / "links.json", '{"home": "/"}')
    write(tmp_path / "_data" / "people.csv", "name,role\nAda,editor\n")
    write(tmp_path / "_data" / "nested" / "more.yaml", "- 1\n- 2\n")
    write(tmp_path / "_data" / "broken.yml", "a: [\n")
    data = read_site(tmp_path).data
    assert data["authors"] == {"mei": {"name": "Mei"}} and data["links"] == {"home": "/"}
    assert data["people"] == [{"name": "Ada", "role": "editor"}] and data["nested"] == {"more": [1, 2]}
    assert "broken" not in data


def test_settings_come_from_the_site_unless_given_to_syndicate(tmp_path: Path) -> None:
    write(
        tmp_path / "site" / "_config.yml",
        "title: Site title\nurl: https://example.org\nbaseurl: /b\ntimezone: Europe/Lisbon\nlang: pt\n"
        "author: {name: Ana}\nfuture: true\nfeed: {excerpt_only: true}\n",
    )
    settings = load_settings(None, {"site": str(tmp_path / "site")}, environ={})
    assert (settings.title, settings.url, settings.timezone, settings.language, settings.author) == (
        "Site title",
        "https://example.org/b",
        "Europe/Lisbon",
        "pt",
        "Ana",
    )
    assert settings.future and settings.excerpt_only and settings.posts == tmp_path / "site"
    assert settings.out == tmp_path / "site" / SITE_OUT and settings.jekyll is not None
    config = write(tmp_path / "syndicate.toml", 'site = "site"\ntitle = "Ours"\nout = "public"\n')
    given = load_settings(config, {"url": "https://feeds.example.net"}, environ={"SYNDICATE_TIMEZONE": "UTC"})
    assert (given.title, given.url, given.timezone, given.out) == (
        "Ours",
        "https://feeds.example.net",
        "UTC",
        tmp_path / "public",
    )


def test_a_site_that_is_not_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="setting 'site'"):
        load_settings(None, {"site": str(tmp_path / "missing")}, environ={})


def test_feed_collections_are_normalized_as_jekyll_feed_does(tmp_path: Path) -> None:
    write(
        tmp_path / "_config.yml",
        "collections: [reports, logbook]\n"
        "feed:\n  path: /atom.xml\n  categories: [news]\n  collections: [reports, missing]\n",
    )
    site = read_site(tmp_path)
    assert site.feed_collections == {
        "reports": FeedCollection("reports", None, ()),
        "missing": FeedCollection("missing", None, ()),
        "posts": FeedCollection("posts", "/atom.xml", ("news",)),
    }
    # Only collections the site has are read; logbook is one, but jekyll-feed is not told of it.
    assert site.document_collections == {"reports"}
    write(
        tmp_path / "_config.yml",
        "collections: {reports: {output: true}}\n"
        "feed:\n  path: /atom.xml\n  categories: [news]\n"
        "  collections:\n    posts: {path: /posts.xml}\n    reports: {path: /r.xml, categories: [a, b, a]}\n",
    )
    site = read_site(tmp_path)
    assert site.feed_collections["posts"] == FeedCollection("posts", "/posts.xml", ("news",))
    assert site.feed_collections["reports"] == FeedCollection("reports", "/r.xml", ("a", "b"))


def test_a_listed_collections_documents_are_found_as_jekyll_reads_them(tmp_path: Path) -> None:
    write(
        tmp_path / "_config.yml",
        "collections_dir: coll\ncollections:\n  reports: {output: true}\n  other: {}\n"
        "feed:\n  collections: [reports]\nexclude: [_reports/private]\n",
    )
    for rel in (
        "coll/_reports/a.md",
        "coll/_reports/sub/b.md",
        "coll/_reports/_c.md",
        "coll/_reports/sub/_d.md",
        "coll/_reports/private/e.md",
        "coll/_reports/f.md~",
        "coll/_other/g.md",
        "_reports/h.md",
        "coll/_posts/2021-01-01-p.md",
    ):
        write(tmp_path / rel, "---\ntitle: x\n---\n")
    write(tmp_path / "coll/_reports/README.md", "A collection's notes, no front matter: a static file to Jekyll.\n")
    site = read_site(tmp_path)
    found = [rel for _, rel, _ in scan_post_files(tmp_path, site)]
    assert found == ["coll/_posts/2021-01-01-p.md", "coll/_reports/a.md", "coll/_reports/sub/b.md"]
    assert site.post_kind("coll/_reports/sub/b.md") == "reports"
    assert site.post_kind("coll/_reports/_c.md") is None and site.post_kind("_reports/h.md") is None
    assert site.post_kind("coll/_other/g.md") is None and site.post_kind("coll/_reports/private/e.md") is None
    assert is_post_path("coll/_reports/a.md", site) and not is_post_path("coll/_reports/sub/_d.md", site)
    assert site.categories_from_path("coll/_reports/sub/b.md") == ()
    assert site.document_source("coll/_reports/sub/b.md", "reports") == ("reports", "/sub/b", "b")
    assert site.document_source("coll/_posts/2021-01-01-p.md", "posts") == ("posts", "/2021-01-01-p", "2021-01-01-p")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("", "/:collection/:path:output_ext"),
        ("permalink: pretty\n", "/:collection/:path/"),
        ("permalink: /:year/:title/\n", "/:collection/:path/"),
        ("permalink: /:title:output_ext\n", "/:collection/:path:output_ext"),
        ("permalink: weekdate\n", "/:collection/:path"),
        ("permalink: pretty\ncollections: {reports: {permalink: '/r/:name'}}\n", "/r/:name"),
    ],
)
def test_a_collections_permalink_is_jekylls(tmp_path: Path, config: str, expected: str) -> None:
    write(tmp_path / "_config.yml", config)
    assert read_site(tmp_path).collection_permalink("reports") == expected


def test_feeds_are_disabled_only_in_development_when_the_site_says_so(tmp_path: Path) -> None:
    write(tmp_path / "_config.yml", "feed:\n  disable_in_development: true\n")
    assert read_site(tmp_path, environment="development").feeds_disabled
    assert not read_site(tmp_path, environment="production").feeds_disabled
    write(tmp_path / "_config.yml", "feed:\n  path: /atom.xml\n")
    assert not read_site(tmp_path, environment="development").feeds_disabled
