from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE_POST, post_text
from syndicate import summaries
from syndicate.attribution import compile_patterns
from syndicate.cache import CachedPost
from syndicate.config import Settings, load_settings
from syndicate.content import clean_text
from syndicate.corpus import parse_file
from syndicate.posts import (
    MAX_BODY,
    Post,
    PostError,
    Rejection,
    TooLarge,
    _file_stem,
    _is_clean_utf8,
    in_full,
    parse_post,
    read_body,
    read_post_file,
    share_values,
    summary_of,
    text_record,
    with_summary_at,
)
from syndicate.scan import iter_post_files, scan_post_files

CST = timezone(timedelta(hours=8))


def parse(settings: Settings, text: str | bytes, name: str = "2024-03-05-sample.md") -> Post | Rejection:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_post(data, name, settings, compile_patterns(settings.attribution_patterns), "d1")


def test_sample_post_is_parsed_with_attribution_and_its_quirks(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(url="https://finews.example.com")
    data = SAMPLE_POST.read_bytes()
    post = parse_post(data, SAMPLE_POST.name, settings, compile_patterns(settings.attribution_patterns), "x")
    assert isinstance(post, Post), post
    assert post.title.startswith("榕溪：")
    assert post.date == datetime(2021, 12, 24, 8, 51, tzinfo=CST)
    assert post.categories == ("youjiangribao",)
    assert post.tags == ("右江日报新闻",)
    assert post.source_name == "右江日报"
    assert post.source_url == "http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417"
    assert post.url == "https://finews.example.com/youjiangribao/2021/12/24/sample-post.html"
    assert post.summary and "<" not in post.summary
    assert post.slug == "sample-post"


def test_sample_post_keeps_the_shape_of_a_real_post() -> None:
    # The post in tests/data stands in for a real one: the tests above exercise its quirks only while it has them.
    data = SAMPLE_POST.read_bytes()
    assert b"\r" not in data and not data.endswith(b"\n")  # LF line endings, no newline at the end
    front, body = data.decode("utf-8").split("\n---\n", 1)
    assert 'title: "榕溪：“三张清单”' in front and "date: 2021-12-24 08:51:00 +0800" in front
    assert "categories: youjiangribao\ntags: 右江日报新闻" in front  # bare strings, not lists
    paragraphs, original, back_links = body.split("\n\n")
    lines = paragraphs.split("\n")
    assert len(lines) == 5 and lines[0].startswith("<p>") and all(line.startswith(" <p>") for line in lines[1:])
    assert lines[-1].endswith(' □林晓禾 </p><p class="em_media">（文章来源：右江日报）</p>')
    assert "(镇)" in paragraphs and "—" in paragraphs  # half-width brackets and an em dash in Chinese text
    assert original == "<http://www.yjrb.example/html_News/NewsShare.html?infoCode=NW202112240851300417>"
    assert back_links == (
        "[返回右江日报新闻](//finews.example.com/category/youjiangribao.html)｜[返回首页](//finews.example.com/)"
    )


@pytest.mark.parametrize(
    ("front", "categories", "tags"),
    [
        ("categories: news\ntags: 右江日报新闻", ("news",), ("右江日报新闻",)),
        ("categories: news local\ntags: a b  c", ("news", "local"), ("a", "b", "c")),
        (
            "categories: [C++, 'AI & ML', node.js]\ntags:\n  - 中文 标签\n  - 2024",
            ("C++", "AI & ML", "node.js"),
            ("中文 标签", "2024"),
        ),
        ("category: solo\ntag: one", ("solo",), ("one",)),
        ("categories: [a, a, b]", ("a", "b"), ()),
        ("title: no terms", (), ()),
    ],
)
def test_categories_and_tags_in_every_yaml_form(
    front: str, categories: tuple[str, ...], tags: tuple[str, ...], make_settings: Callable[..., Settings]
) -> None:
    if not front.startswith("title"):
        front = "title: T\n" + front
    post = parse(make_settings(), post_text(front))
    assert isinstance(post, Post), post
    assert post.categories == categories and post.tags == tags


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"no front matter here\n", "no front matter"),
        (b"---\ntitle: [unclosed\n---\nbody", "not valid YAML"),
        (b"---\n- a\n- b\n---\nbody", "must be a mapping"),
        (b"---\njust a string\n---\nbody", "must be a mapping"),
        (b"---\ntitle: {a: 1}\ndate: 2024-01-01\n---\n", "'title' must be text"),
        (b"---\ntitle: T\ndate: [2024]\n---\n", "'date' must be a date"),
        (b"---\ntitle: T\ndate: 2021-13-45\n---\n", "'date' is not a valid date"),
        (b"---\ntitle: T\ndate: yesterday\n---\n", "'date' is not a date"),
        (b"---\ntitle: T\ndate: 2024-01-01\ncategories: yes\n---\n", "'categories' must be a list"),
        (b"---\ntitle: T\ndate: 2024-01-01\ntags: [[2024]]\n---\n", "'tags' must be a list"),
        (b"---\ntitle: T\ndate: 2024-01-01\ntags: {a: b}\n---\n", "'tags' must be a list"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not text"),
        (b"---\ntitle: T\n", "front matter is not closed"),
        (b"---\ntitle: T\ndate: 2024-01-01\npublished: maybe\n---\n", "'published' must be true or false"),
        (b"---\n!!python/object/apply:os.system ['echo pwned']\n---\n", "not valid YAML"),
    ],
)
def test_each_rejection_reason(data: bytes, reason: str, make_settings: Callable[..., Settings]) -> None:
    result = parse(make_settings(), data, name="post.md")
    assert isinstance(result, Rejection), result
    assert result.path == "post.md"
    assert reason in result.reason


@pytest.mark.parametrize(
    ("front", "categories", "tags"),
    [
        ("categories: 2024\ntags: 2024", ("2024",), ("2024",)),
        ("category: 2024\ntag: 7", ("2024",), ("7",)),
        ("categories: [2024, news]\ntags:\n  - 2024\n  - 1.5", ("2024", "news"), ("2024", "1.5")),
        ("categories: 1.5\ntags: 2024 2025", ("1.5",), ("2024", "2025")),
    ],
)
def test_numbers_as_categories_and_tags_are_their_text(
    front: str, categories: tuple[str, ...], tags: tuple[str, ...], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    fast = parse(settings, post_text(f"title: T\ndate: 2024-01-01\n{front}"))
    # an anchor is outside the hand-written reader's subset: the same front matter read by PyYAML gives the same post
    slow = parse(settings, post_text(f"title: &t T\ndate: 2024-01-01\n{front}"))
    assert isinstance(fast, Post) and isinstance(slow, Post), (fast, slow)
    assert (fast.categories, fast.tags) == (slow.categories, slow.tags) == (categories, tags)


def test_missing_date_is_rejected_with_a_fix(make_settings: Callable[..., Settings]) -> None:
    result = parse(make_settings(), post_text("title: T"), name="undated.md")
    assert isinstance(result, Rejection) and "YYYY-MM-DD-slug.md" in result.reason


def test_billion_laughs_is_rejected_quickly(make_settings: Callable[..., Settings]) -> None:
    lines = ["title: T", "date: 2024-01-01", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    result = parse(make_settings(), post_text("\n".join(lines)))
    assert isinstance(result, Rejection) and "aliases" in result.reason


def test_gbk_bom_and_crlf_are_read(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    text = post_text(
        "title: 百色新闻报道\ndate: 2024-01-01\ntags: 右江日报新闻",
        "<p>本报讯，这是一篇用国标编码保存的中文新闻稿件，内容足够长以便可靠地识别编码。</p>\n",
    )
    gbk = parse(settings, text.encode("gbk"))
    assert isinstance(gbk, Post), gbk
    assert gbk.title == "百色新闻报道" and gbk.tags == ("右江日报新闻",)
    assert gbk.notes and "gb18030" in gbk.notes[0]
    bom_crlf = parse(settings, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert isinstance(bom_crlf, Post) and bom_crlf.title == "百色新闻报道" and bom_crlf.notes == ()


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_with_a_bom_are_read(
    codec: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    text = post_text("title: 百色新闻 Café\ndate: 2024-01-01\ntags: [右江日报新闻, 𝄞]", "<p>本报讯 — the body.</p>\n")
    data = ("\ufeff" + text.replace("\n", "\r\n")).encode(codec)  # Windows Notepad's "Unicode": a BOM and CRLF
    post = parse(make_settings(), data)
    assert isinstance(post, Post), post
    assert post.title == "百色新闻 Café" and post.tags == ("右江日报新闻", "𝄞")
    name = codec[:6].upper()
    assert post.notes == (f"decoded as {name} (it starts with a {name} byte order mark); consider saving it as UTF-8",)
    # the body, read again for rendering, is the UTF-8 file's
    (tmp_path / "utf.md").write_bytes(data)
    (tmp_path / "utf-8.md").write_bytes(text.encode("utf-8"))
    assert read_body(tmp_path / "utf.md", 10**7) == read_body(tmp_path / "utf-8.md", 10**7)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe" + "---\ntitle: T\n---\n".encode("utf-16-le") + b"\x00", "not valid UTF-16 (at byte 36)"),
        (b"\xfe\xff" + b"\xd8\x00\x00\x41", "not valid UTF-16"),  # a lone surrogate
        (b"\xff\xfe\x00\x00" + b"\x00\x00\x11\x00", "not valid UTF-32"),  # beyond U+10FFFF
        (b"---\x00\ntitle: T\n---\n", "not text (it contains NUL bytes)"),  # no mark: NUL bytes are still binary
    ],
    ids=["odd-length", "lone-surrogate", "beyond-unicode", "no-bom"],
)
def test_a_bom_that_lies_is_reported_as_such(data: bytes, reason: str, make_settings: Callable[..., Settings]) -> None:
    result = parse(make_settings(), data)
    assert isinstance(result, Rejection) and reason in result.reason, result


def test_latin1_is_read(make_settings: Callable[..., Settings]) -> None:
    text = post_text(
        "title: Café crème à la française\ndate: 2024-01-01", "<p>Un été très chaud à Montréal, déjà célèbre.</p>\n"
    )
    post = parse(make_settings(), text.encode("latin-1"))
    assert isinstance(post, Post), post
    assert post.title == "Café crème à la française"


def test_published_false_and_title_fallback(make_settings: Callable[..., Settings]) -> None:
    post = parse(make_settings(), post_text("date: 2024-01-01\npublished: false"), name="2024-01-01-hello-world.md")
    assert isinstance(post, Post) and not post.published and post.title == "hello world"


def test_permalinks_site_pattern_and_front_matter(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(permalink="/:year/:title/")
    post = parse(settings, post_text("title: T\ndate: 2024-01-01\ncategories: 新闻"), name="2024-01-01-右江.md")
    assert isinstance(post, Post)
    assert post.permalink == "/2024/%E5%8F%B3%E6%B1%9F/"
    post = parse(settings, post_text("title: T\ndate: 2024-01-01\npermalink: /custom/../page.html"))
    assert isinstance(post, Post) and post.url == "https://news.example.net/custom/page.html"


@pytest.mark.parametrize(
    ("permalink", "name", "front", "expected"),
    [
        # What Jekyll writes for each (its :title keeps case and URL-safe punctuation, its :slug lower-cases).
        ("date", "2024-01-01-Hello World!.md", "", "/2024/01/01/Hello-World!.html"),
        ("none", "2024-01-01-hello.md", "slug: My Custom Slug\n", "/My-Custom-Slug.html"),
        ("/:slug/", "2024-01-01-Hello World!.md", "", "/hello-world/"),
        ("/:slug/", "2024-01-01-x.md", "slug: 'Über Uns & Co.'\n", "/%C3%BCber-uns-co/"),
        ("pretty", "2024-01-01-右江 日报.md", "", "/2024/01/01/" + quote("右江-日报") + "/"),
        # Jekyll drops the trailing dots of a file name's slug.
        ("pretty", "2024-01-01-etc...md", "", "/2024/01/01/etc/"),
    ],
)
def test_permalinks_slugify_title_and_slug_as_jekyll_does(
    make_settings: Callable[..., Settings], permalink: str, name: str, front: str, expected: str
) -> None:
    post = parse(make_settings(permalink=permalink), post_text(front + "title: T"), name=name)
    assert isinstance(post, Post), post
    assert post.permalink == expected


def test_front_matter_source_wins(make_settings: Callable[..., Settings]) -> None:
    body = "<p>text</p><p>（文章来源：Body Daily）</p>\n\n<http://body.example.org/a>\n"
    post = parse(
        make_settings(),
        post_text("title: T\ndate: 2024-01-01\nsource: FM Times\nsource_url: https://fm.example.com/x", body),
    )
    assert isinstance(post, Post)
    assert (post.source_name, post.source_url) == ("FM Times", "https://fm.example.com/x")


def test_own_post_has_no_source(make_settings: Callable[..., Settings]) -> None:
    post = parse(make_settings(), post_text("title: T\ndate: 2024-01-01", "Just our own words.\n"))
    assert isinstance(post, Post) and post.source_name is None and post.source_url is None


def test_post_round_trips_through_json(make_settings: Callable[..., Settings]) -> None:
    post = parse(make_settings(), post_text("title: T\ndate: 2024-01-01 10:00 +0800\ntags: [a, b]"))
    assert isinstance(post, Post)
    assert Post.from_json(post.to_json()) == post


def test_post_and_cached_post_round_trip_through_pickle(make_settings: Callable[..., Settings]) -> None:
    # Parse workers send posts to the build pickled; every field must come back, the kept-out summary's place too.
    text = post_text("title: T\ndate: 2024-01-01 10:00 +0800\ntags: [a, b]\nsource: Daily", "（文章来源：X）\n")
    post = parse(make_settings(), text)
    assert isinstance(post, Post)
    post = post.replace(notes=("a note",), summary_at=12345)
    again = pickle.loads(pickle.dumps(post))
    assert again == post and again.summary_at == 12345 and again.date.utcoffset() == timedelta(hours=8)
    cached = pickle.loads(pickle.dumps(CachedPost(10, 20, "d", post)))
    assert (cached.size, cached.mtime_ns, cached.digest, cached.record, cached.order) == (
        10,
        20,
        "d",
        post,
        (post.date.timestamp(), post.path),
    )


def test_iter_post_files_skips_temporary_hidden_and_outside_links(posts_dir: Path, tmp_path: Path) -> None:
    (posts_dir / "sub").mkdir()
    for name in ("a.md", "b.markdown", "c.html", "sub/d.md", ".hidden.md", "e.md~", ".e.md.swp", "#f.md#", "g.txt"):
        (posts_dir / name).write_text("x")
    outside = tmp_path / "outside.md"
    outside.write_text("x")
    (posts_dir / "link-out.md").symlink_to(outside)
    (posts_dir / "link-in.md").symlink_to(posts_dir / "a.md")
    (posts_dir / "loop").symlink_to(posts_dir)
    found = [p.relative_to(posts_dir).as_posix() for p in iter_post_files(posts_dir)]
    assert found == ["a.md", "b.markdown", "c.html", "link-in.md", "sub/d.md"]


def test_read_body_returns_text_after_front_matter(posts_dir: Path) -> None:
    path = posts_dir / "p.md"
    path.write_bytes(post_text("title: T", "Body\r\nline\r\n").replace("\n", "\r\n").encode())
    assert read_body(path, 10**7).strip().splitlines() == ["Body", "line"]


def test_an_internal_error_costs_one_post_not_the_build(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    import syndicate.posts as posts_module

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("boom")

    monkeypatch.setattr(posts_module, "find_attribution", broken)
    result = parse(make_settings(), post_text("title: T\ndate: 2024-01-01"))
    assert isinstance(result, Rejection) and "KeyError" in result.reason and "bug" in result.reason


# --- helpers that spare _parse work: each must agree with what it replaces --------------------------------------------


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(
            [
                "a",
                "词",
                "\t",
                "\n",
                "\r",
                "\x00",
                "\x01",
                "\x0b",
                "\x1f",
                "\x7f",
                "\x85",
                "\ufffe",
                "\uffff",
                "\ufffd",
                "\ufeff",
                "\U0001f600",
                "\u3000",
                "\xe9",
            ]
        )  # fmt: skip
        | st.text(max_size=3).map(lambda t: t.encode("utf-8", "ignore").decode("utf-8")),
        max_size=30,
    ).map("".join)
)
def test_clean_check_on_utf8_bytes_agrees_with_clean_text(text: str) -> None:
    assert _is_clean_utf8(text.encode("utf-8"), text) == (clean_text(text) == text)


@settings(max_examples=500, deadline=None)
@given(
    path=st.lists(st.sampled_from(["a", ".", "..", "/", "//", "b.md", ".md", "x.", "2024-01-02-y.md", "\\", " "])).map(
        "".join
    )
)
def test_file_stem_is_pathlib_stem(path: str) -> None:
    assert _file_stem(path) == Path(path).stem


# --- issue 14: a size cap on post files -----------------------------------------------------------------------------


def _count_reads(monkeypatch: pytest.MonkeyPatch, grow: Path | None = None) -> list[int]:
    """Record the size of every os.read; with ``grow``, append 100 kB to that file before the first read."""
    sizes: list[int] = []
    real = os.read

    def read(fd: int, n: int) -> bytes:
        if grow is not None and not sizes:
            with grow.open("ab") as file:
                file.write(b"x" * 100_000)
        data = real(fd, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", read)
    return sizes


def test_a_post_file_over_max_post_bytes_is_rejected_unread(
    make_settings: Callable[..., Settings], posts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(max_post_bytes=1000)
    path = posts_dir / "2024-03-05-big.md"
    path.write_text(post_text("title: Big", "x" * 5000))
    sizes = _count_reads(monkeypatch)
    cached = parse_file(path, "2024-03-05-big.md", settings, compile_patterns(settings.attribution_patterns), None)
    assert cached is not None and isinstance(cached.record, Rejection)
    size = path.stat().st_size
    assert f"the file is {size:,} bytes" in cached.record.reason and "max_post_bytes (1,000)" in cached.record.reason
    assert sizes == []  # not a byte read: the size from the stat decided
    assert (cached.size, cached.mtime_ns) == (size, path.stat().st_mtime_ns)


def test_a_post_file_growing_past_the_cap_is_read_no_further(posts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = posts_dir / "growing.md"
    path.write_text(post_text("title: Growing", "x" * 400))
    sizes = _count_reads(monkeypatch, grow=path)
    with pytest.raises(TooLarge, match=r"more than 1,000 bytes"):
        read_post_file(path, 1000)
    assert sum(sizes) == 1001  # the cap and one byte to show there is more, however much the file grew


def test_read_body_refuses_a_file_over_the_cap(posts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = posts_dir / "p.md"
    path.write_text(post_text("title: T", "x" * 5000))
    sizes = _count_reads(monkeypatch)
    with pytest.raises(PostError, match="max_post_bytes"):
        read_body(path, 1000)
    assert sizes == []


def test_a_body_over_max_body_under_the_cap_keeps_its_summary_note(
    make_settings: Callable[..., Settings], posts_dir: Path
) -> None:
    settings = make_settings()
    assert settings.max_post_bytes == 10_000_000
    path = posts_dir / "2024-03-05-long.md"
    path.write_text(post_text("title: Long", "word " * (MAX_BODY // 4)))
    cached = parse_file(path, "2024-03-05-long.md", settings, compile_patterns(settings.attribution_patterns), None)
    assert cached is not None and isinstance(cached.record, Post)
    assert any("feeds carry its summary" in note for note in cached.record.notes)


def test_a_fifo_named_like_a_post_is_refused_without_blocking(tmp_path: Path) -> None:
    # Opening a FIFO for reading waits for a writer: every later build would hang.
    import os

    from syndicate.posts import read_post_file

    fifo = tmp_path / "2024-01-01-pipe.md"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_post_file(fifo, 1000, tmp_path)


def test_a_posts_directory_re_pointed_is_resolved_anew(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real path of the posts directory is held for a moment (posts._REAL_ROOT_FOR); a link re-pointed after
    that is followed: files of the new target are read, and a file of the old one is outside."""
    from syndicate import posts as module
    from syndicate.posts import read_post_file

    old, new = tmp_path / "old", tmp_path / "new"
    for directory in (old, new):
        directory.mkdir()
        (directory / "2024-01-01-a.md").write_text("---\ntitle: a\n---\nbody\n", encoding="utf-8")
    root = tmp_path / "posts"
    root.symlink_to(old, target_is_directory=True)
    assert read_post_file(root / "2024-01-01-a.md", 1000, root).data.startswith(b"---")
    root.unlink()
    root.symlink_to(new, target_is_directory=True)
    # Outside the directory held: resolved anew at once, whatever the window.
    assert read_post_file(root / "2024-01-01-a.md", 1000, root).data.startswith(b"---")
    monkeypatch.setattr(module, "_REAL_ROOT_FOR", 0.0)
    with pytest.raises(OSError, match="outside the posts directory"):
        read_post_file(old / "2024-01-01-a.md", 1000, root)


def test_a_link_to_a_device_or_outside_the_posts_directory_is_refused(tmp_path: Path) -> None:
    from syndicate.posts import read_body, read_post_file

    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "zero.md").symlink_to("/dev/zero")
    with pytest.raises(OSError, match="symbolic link"):  # O_NOFOLLOW: a link as the last component is never followed
        read_post_file(posts / "zero.md", 1000, posts)
    with pytest.raises(OSError, match="not a regular file"):
        read_post_file("/dev/zero", 1000)
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: secret\n---\nnot for the feeds\n", encoding="utf-8")
    (posts / "swapped.md").symlink_to(secret)  # as if swapped in after the scan checked the name
    with pytest.raises(OSError, match="symbolic link"):
        read_post_file(posts / "swapped.md", 1000, posts)
    with pytest.raises(OSError, match="symbolic link"):
        read_body(posts / "swapped.md", 1000, posts)
    (posts / "up").symlink_to(tmp_path, target_is_directory=True)  # a link further up the path: caught after opening
    with pytest.raises(OSError, match="outside the posts directory"):
        read_post_file(posts / "up" / "secret.md", 1000, posts)
    (posts / "real.md").write_text("---\ntitle: ok\n---\nbody\n", encoding="utf-8")
    (posts / "alias.md").symlink_to(posts / "real.md")  # a link inside the tree: the scan hands over its target
    found = {rel: path for path, rel, _ in scan_post_files(posts)}
    assert found["alias.md"] == str(posts / "real.md") and "zero.md" not in found and "swapped.md" not in found
    assert read_post_file(found["alias.md"], 1000, posts).data.startswith(b"---")


@pytest.mark.parametrize(
    ("front", "author", "authors"),
    [
        ("author: Mei Lin", "Mei Lin", ("Mei Lin",)),
        ("authors: [Mei Lin, Omar Haddad]", "Mei Lin, Omar Haddad", ("Mei Lin", "Omar Haddad")),
        ("author: [Mei Lin, {name: Omar Haddad}]", "Mei Lin", ("Mei Lin", "Omar Haddad")),
        ("author: Mei Lin\nauthors: [Omar Haddad, Mei Lin]", "Mei Lin", ("Mei Lin", "Omar Haddad")),
        ("author: {name: '  Mei   Lin '}", "Mei   Lin", ("Mei Lin",)),
        ("author: ''", "Desk", ("Desk",)),  # nobody named: the default author, whom the entry shows
        ("title: x", "Desk", ("Desk",)),
    ],
)
def test_a_post_holds_everyone_it_names_as_author(
    make_settings: Callable[..., Settings], front: str, author: str, authors: tuple[str, ...]
) -> None:
    post = parse(make_settings(author="Desk"), f"---\n{front}\n---\nBody.\n")
    assert isinstance(post, Post)
    assert (post.author, post.authors) == (author, authors)
    assert Post.from_json(post.to_json()) == post  # kept in the parse cache as they are


def test_a_jekyll_sites_authors_are_named_as_its_authors_data_names_them(tmp_path: Path) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_data").mkdir()
    (tmp_path / "_config.yml").write_text("author: desk\n", encoding="utf-8")
    (tmp_path / "_data" / "authors.yml").write_text(
        "mei: {name: Mei Lin}\nomar: {display_name: Omar Haddad}\ndesk: {name: News Desk}\n", encoding="utf-8"
    )
    settings = load_settings(None, {"site": str(tmp_path), "cache": "off"}, environ={})
    named = parse(settings, "---\nauthors: [mei, omar, Guest Writer]\n---\nBody.\n", "_posts/2024-03-05-a.md")
    nobody = parse(settings, "---\ntitle: B\n---\nBody.\n", "_posts/2024-03-06-b.md")
    assert isinstance(named, Post) and isinstance(nobody, Post)
    assert named.author == "Mei Lin"  # jekyll-feed's: the first of authors
    assert named.authors == ("Mei Lin", "Omar Haddad", "Guest Writer")
    assert (nobody.author, nobody.authors) == ("News Desk", ("News Desk",))  # the site's author, looked up


def test_the_file_opened_must_be_the_file_scanned(tmp_path: Path) -> None:
    """Same device and inode as the scan's stat: a name pointed at another file in between is noticed."""
    from syndicate.posts import Replaced, read_post_file

    path = tmp_path / "2024-01-01-post.md"
    path.write_text("---\ntitle: first\n---\nbody\n", encoding="utf-8")
    scanned = os.stat(path)
    assert read_post_file(path, 1000, tmp_path, expect=scanned).data.startswith(b"---")
    other = tmp_path / "new.tmp"
    other.write_text("---\ntitle: second\n---\nbody\n", encoding="utf-8")
    os.replace(other, path)  # an editor's save by rename, or a swap
    with pytest.raises(Replaced):
        read_post_file(path, 1000, tmp_path, expect=scanned)


def test_a_file_modified_within_the_settle_window_is_unfinished(tmp_path: Path) -> None:
    from syndicate.posts import Unfinished, read_post_file

    window = 30.0  # seconds, a long one: "just written" stays true on a slow machine
    old, fresh, future = (tmp_path / f"2024-03-0{n}-x.md" for n in (1, 2, 3))
    for path in (old, fresh, future):
        path.write_text("---\ntitle: x\n---\nbody\n", encoding="utf-8")
    now = time.time()
    os.utime(old, (now - 3600, now - 3600))  # saved an hour ago: unchanged for far longer than the window
    os.utime(future, (now + 3600, now + 3600))  # a clock skew proves nothing about stillness
    assert read_post_file(old, 1000, settle=window).data.startswith(b"---")
    for path in (fresh, future):
        with pytest.raises(Unfinished, match="modified less than 30 s ago") as caught:
            read_post_file(path, 1000, settle=window)
        st = path.stat()
        assert caught.value.signature == (st.st_size, st.st_mtime_ns)
        # Seen with the same size and mtime a window earlier: unchanged for the window, so finished.
        assert read_post_file(path, 1000, settle=window, seen=caught.value.signature).data.startswith(b"---")
    assert read_post_file(fresh, 1000).data.startswith(b"---")  # no window: read as found


@pytest.mark.parametrize(
    ("title", "slug", "source_url", "summary"),
    [
        ("A, b, and c", "a-b-and-c", None, "Commas, digits 1,2,3 and -1, in the text."),
        ("右江河谷的清晨", "", "https://paper.example.org/a,b?x=1", ""),
        ("", "only-a-slug", "", "摘要 🎉"),
    ],
)
def test_a_posts_text_kept_out_of_memory_comes_back_whole(
    title: str, slug: str, source_url: str | None, summary: str, make_settings: Callable[..., Settings]
) -> None:
    # A server keeps each post's title, slug, source URL and summary in the store (summaries.py), not in the Post:
    # every entry must read them back exactly, a missing source URL staying None and an empty one "".
    post = parse(make_settings(), post_text("title: T\ndate: 2024-01-01 10:00 +0800\ntags: [a, b]"))
    assert isinstance(post, Post)
    post = post.replace(title=title, slug=slug, source_url=source_url, summary=summary)
    [at] = summaries.keep([text_record(post)])
    lean = with_summary_at(post, at)
    assert (lean.title, lean.slug, lean.source_url, lean.summary) == ("", "", None, "")
    assert summary_of(lean) == summary
    assert in_full(lean) == post
    assert in_full(post) is post
    assert Post.from_json(lean.to_json()) == post
    assert share_values(post, {}, at) == lean
