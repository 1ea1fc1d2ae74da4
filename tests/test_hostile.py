"""Hostile and broken posts, end to end through the builder: each bad file gets a clear, specific rejection, every
other post is still published, and every feed document written stays well-formed and safe (lxml, feedparser bozo 0,
spec checks, no active content). Figures for docs/reliability.md come from these cases.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import post_text
from hostile import assert_output_sound, entry_titles, feed_files, html_problems
from syndicate.builder import Builder, BuildReport
from syndicate.config import Settings, load_settings
from syndicate.posts import Post, Rejection, in_full

GOOD = {
    f"2024-01-0{i}-good-{i}.md": post_text(
        f"title: Good post {i}\ndate: 2024-01-0{i} 08:00:00 +0800\ncategories: news\ntags: [ok]",
        f"<p>Ordinary paragraph number {i}.</p>\n",
    )
    for i in (1, 2, 3)
}
GOOD_TITLES = {f"Good post {i}" for i in (1, 2, 3)}


def front(text: str, body: str = "<p>Body.</p>\n") -> bytes:
    return post_text(text, body).encode("utf-8")


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    reason: str | None = None  # regex the rejection reason must match; None: the post must be published
    title: str | None = None  # for published posts: the title readers must see


_LAUGHS = "".join(
    f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" if i else 'l0: &l0 ["lol","lol","lol","lol"]\n'
    for i in range(10)
)

REJECTED = [
    Case("malformed-yaml.md", front('title: "unclosed\ndate: 2024-02-01'), r"not valid YAML at line \d+"),
    Case("malformed-flow.md", front("title: [a, b\ndate: 2024-02-01"), r"not valid YAML"),
    Case("tab-indent.md", b"---\ntitle: x\n\tdate: 2024-02-01\n---\nbody\n", r"not valid YAML"),
    Case("front-list.md", front("- a\n- b"), r"must be a mapping.*not a list"),
    Case("front-scalar.md", front("just some words"), r"must be a mapping.*not a str"),
    Case("front-number.md", front("42"), r"must be a mapping.*not a int"),
    Case("no-front-matter.md", b"Just a body, no metadata at all.\n", r"no front matter"),
    Case("unclosed-front.md", b"---\ntitle: x\ndate: 2024-02-01\nbody without the closing line\n", r"not closed"),
    Case("empty.md", b"", r"empty"),
    Case("whitespace-only.md", b"  \n\n\t\n", r"empty"),
    Case("title-mapping.md", front("title: {a: 1}\ndate: 2024-02-01"), r"'title' must be text.*dict"),
    Case("title-list.md", front("title: [a, b]\ndate: 2024-02-01"), r"'title' must be text.*list"),
    Case("date-list.md", front("title: T\ndate: [2024, 2]"), r"'date'.*list"),
    Case("date-mapping.md", front("title: T\ndate: {y: 2024}"), r"'date'.*dict"),
    Case("categories-boolean.md", front("title: T\ndate: 2024-02-01\ncategories: yes"), r"'categories'.*bool"),
    Case("tags-mapping.md", front("title: T\ndate: 2024-02-01\ntags: {a: b}"), r"'tags'.*dict"),
    Case("tags-nested.md", front("title: T\ndate: 2024-02-01\ntags: [[a, b]]"), r"'tags'"),
    Case("date-impossible.md", front("title: T\ndate: 2021-13-45"), r"'date'.*2021-13-45"),
    Case("date-feb30.md", front("title: T\ndate: 2023-02-30 10:00:00 +0800"), r"'date'.*2023-02-30"),
    Case("date-words.md", front("title: T\ndate: yesterday"), r"'date' is not a date"),
    Case("date-offset.md", front("title: T\ndate: 2024-02-01 10:00:00 +9900"), r"time zone offset"),
    Case("published-word.md", front("title: T\ndate: 2024-02-01\npublished: maybe"), r"'published'"),
    Case("png.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, r"not text"),
    Case("elf.md", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, r"not text"),
    Case("random-bytes.md", bytes((i * 167 + 13) % 256 for i in range(4096)), r"not text|UTF-8"),
    Case(
        "python-object.md",
        front("title: !!python/object/apply:os.system ['touch PWNED']\ndate: 2024-02-01"),
        r"not valid YAML.*python/object",
    ),
    Case(
        "python-new.md",
        front("!!python/object/new:subprocess.Popen [['touch', 'PWNED']]"),
        r"not valid YAML.*python/object",
    ),
    Case("python-name.md", front("title: !!python/name:os.system\ndate: 2024-02-01"), r"not valid YAML.*python"),
    Case("billion-laughs.md", front(_LAUGHS + "title: *l9\ndate: 2024-02-01"), r"aliases.*billion laughs"),
    Case("yaml-surrogate.md", front('title: "Lone \\ud800 surrogate"\ndate: 2024-02-01'), r"invalid Unicode"),
    Case("title-100kb.md", front("title: " + "T" * 100_000 + "\ndate: 2024-02-01"), r"larger than 64 KB"),
]

ACCEPTED = [
    Case(
        "gbk.md",
        post_text(
            "title: 右江日报新闻标题\ndate: 2024-02-01 08:00:00 +0800", "<p>本报讯：这是用国标码保存的正文。</p>"
        ).encode("gbk"),
        title="右江日报新闻标题",
    ),
    Case(
        "latin1.md",
        post_text("title: Café déjà vu\ndate: 2024-02-01", "<p>Voilà, très élégant.</p>").encode("latin-1"),
        title="Café déjà vu",
    ),
    Case("bom.md", b"\xef\xbb\xbf" + front("title: With a BOM\ndate: 2024-02-01"), title="With a BOM"),
    Case(
        "crlf.md",
        b"---\r\ntitle: Windows line ends\r\ndate: 2024-02-01\r\n---\r\n<p>Body\r\nsecond line</p>\r\n",
        title="Windows line ends",
    ),
    Case("bom-crlf.md", b"\xef\xbb\xbf---\r\ntitle: Both\r\ndate: 2024-02-01\r\n---\r\nbody\r\n", title="Both"),
    Case("cr-only.md", b"---\rtitle: Old Mac\rdate: 2024-02-01\r---\rbody\r", title="Old Mac"),
    Case(
        "utf16.md",
        ("\ufeff---\r\ntitle: Notepad 的 Unicode\r\ndate: 2024-02-01\r\n---\r\n<p>正文</p>\r\n").encode("utf-16-le"),
        title="Notepad 的 Unicode",
    ),
    Case("numbers.md", front("title: Numbers\ndate: 2024-02-01\ncategories: 2024\ntags: [5, 1.5]"), title="Numbers"),
    Case("no-title.md", front("date: 2024-02-01"), title="no title"),
    Case("2024-02-01-empty-front.md", b"---\n---\nA body only.\n", title="empty front"),
]

HOSTILE_CONTENT = [
    Case("script.md", front("title: Script\ndate: 2024-03-01", "<p>a</p><script>alert(1)</script><p>b</p>")),
    Case(
        "script-variants.md",
        front(
            "title: Script variants\ndate: 2024-03-01",
            "<SCRIPT SRC=//evil.example/x.js></SCRIPT><scr<script>ipt>alert(1)</script>"
            "<svg><script>alert(1)</script></svg><math><mi xlink:href='javascript:alert(1)'>x</mi></math>"
            "<style>body{background:url(javascript:alert(1))}</style><p>text</p>",
        ),
    ),
    Case(
        "iframe.md",
        front(
            "title: Iframe\ndate: 2024-03-01",
            '<iframe src="https://evil.example/"></iframe><object data="x.swf"></object>'
            '<embed src="x.swf"><form action="https://evil.example/"><input name=a></form><p>ok</p>',
        ),
    ),
    Case(
        "handlers.md",
        front(
            "title: Handlers\ndate: 2024-03-01",
            '<p onclick="alert(1)" onmouseover=alert(2)>x</p><img src="/a.png" onerror="alert(3)">'
            '<a href="https://ok.example/" ONFOCUS="alert(4)" style="color:red">ok</a>',
        ),
    ),
    Case(
        "urls.md",
        front(
            "title: URLs\ndate: 2024-03-01",
            '<a href="javascript:alert(1)">a</a><a href="JaVaScRiPt:alert(1)">b</a>'
            '<a href="jav&#x61;script:alert(1)">c</a><a href=" javascript:alert(1)">d</a>'
            '<a href="java\tscript:alert(1)">e</a><a href="vbscript:msgbox(1)">f</a>'
            '<img src="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">'
            '<a href="data:text/html,<script>alert(1)</script>">g</a>'
            "[md](javascript:alert(1)) ![img](data:text/html,x) <javascript:alert(1)>",
        ),
    ),
    Case(
        "control-chars.md",
        front('title: "Ctl\\x01 \\x0b chars\\x1f"\ndate: 2024-03-01', "<p>bo\x01dy\x0b with\x0c controls\x7f</p>"),
        title="Ctl chars",
    ),
    Case(
        "raw-control-chars.md",
        b"---\ntitle: Raw\x01control\x08\ndate: 2024-03-01\n---\n<p>x\x02y\x1bz</p>\n",
        title="Rawcontrol",
    ),
    Case(
        "surrogates.md",
        front("title: Lone surrogates\ndate: 2024-03-01", "<p>&#xD800; and &#55296; &#xDFFF; and \ufffe \uffff</p>"),
        title="Lone surrogates",
    ),
    Case("cdata.md", front('title: "]]> <x> &amp; \' \\""\ndate: 2024-03-01', "<p>]]&gt; ]]> <![CDATA[x]]></p>")),
    Case(
        "deep-nesting.md",
        front("title: Deep\ndate: 2024-03-01", "<div>" * 10_000 + "deep text" + "</div>" * 10_000),
        title="Deep",
    ),
    Case(
        "deep-unclosed.md",
        front("title: Deep unclosed\ndate: 2024-03-01", "<span><b><i>" * 4_000 + "x"),
        title="Deep unclosed",
    ),
    Case(
        "many-tags.md",
        front(
            "title: Many tags\ndate: 2024-03-01\ntags: [" + ", ".join(f"t{i}" for i in range(5_000)) + "]",
            "<p>tagged</p>",
        ),
        title="Many tags",
    ),
    Case(
        "many-tags-string.md",
        front("title: Many tag words\ndate: 2024-03-01\ntags: " + " ".join(f"w{i}" for i in range(5_000))),
        title="Many tag words",
    ),
    Case(
        "title-markup.md",
        front('title: "<script>alert(1)</script><b>bold</b>"\ndate: 2024-03-01'),
        title="<script>alert(1)</script><b>bold</b>",
    ),
]


def make_settings_for(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "posts": tmp_path / "_posts",
        "out": tmp_path / "out",
        "url": "https://news.example.net",
        "title": "Hostile Site",
        "timezone": "Asia/Shanghai",
        "limit": 200,
    }
    values.update(extra)
    return load_settings(None, values, environ={})


def build_with(tmp_path: Path, files: dict[str, bytes | str]) -> tuple[BuildReport, Builder]:
    posts = tmp_path / "_posts"
    posts.mkdir(exist_ok=True)
    for name, data in files.items():
        path = posts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    builder = Builder(make_settings_for(tmp_path))
    return builder.build(), builder


def rejection_for(report: BuildReport, name: str) -> Rejection | None:
    return next((r for r in report.rejected if r.path == name), None)


def published_titles(out: Path) -> set[str]:
    return set(entry_titles(out / "all.atom"))


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.name)
def test_broken_post_is_rejected_with_a_specific_reason_and_others_publish(case: Case, tmp_path: Path) -> None:
    os.chdir(tmp_path)  # a !!python/object that executed would create ./PWNED here
    report, builder = build_with(tmp_path, {**GOOD, case.name: case.data})
    rejection = rejection_for(report, case.name)
    assert rejection is not None, f"{case.name} was not rejected"
    assert case.reason is not None and re.search(case.reason, rejection.reason), rejection.reason
    assert len(rejection.reason) < 400, "a reason is a sentence, not a dump"
    assert report.posts == len(GOOD)
    assert published_titles(tmp_path / "out") == GOOD_TITLES
    assert not (tmp_path / "PWNED").exists()
    assert_output_sound(tmp_path / "out")


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_odd_but_valid_files_are_read(case: Case, tmp_path: Path) -> None:
    report, builder = build_with(tmp_path, {**GOOD, case.name: case.data})
    assert not report.rejected, report.rejected
    titles = published_titles(tmp_path / "out")
    assert titles == GOOD_TITLES | {case.title}
    post = in_full(next(p for p in builder.posts if p.path == case.name))  # its title may be in the store
    assert "\r" not in post.title and "\ufeff" not in post.title
    assert_output_sound(tmp_path / "out")


def test_legacy_encodings_are_reported_as_notes(tmp_path: Path) -> None:
    files = {c.name: c.data for c in ACCEPTED if c.name in ("gbk.md", "latin1.md")}
    report, _ = build_with(tmp_path, files)
    noted = {path: note for path, note in report.notes}
    assert "gb18030" in noted["gbk.md"] and "UTF-8" in noted["gbk.md"]
    assert "cp1252" in noted["latin1.md"] or "latin" in noted["latin1.md"]


@pytest.mark.parametrize("case", HOSTILE_CONTENT, ids=lambda c: c.name)
def test_hostile_content_is_published_safe_and_well_formed(case: Case, tmp_path: Path) -> None:
    report, builder = build_with(tmp_path, {**GOOD, case.name: case.data})
    assert not report.rejected, report.rejected
    out = tmp_path / "out"
    assert len(feed_files(out)) >= 9
    assert_output_sound(out)
    titles = published_titles(out)
    assert GOOD_TITLES <= titles
    if case.title is not None:
        assert case.title in titles
    for path in feed_files(out):
        body = path.read_bytes()
        assert b"\x01" not in body and b"\x0b" not in body and b"\xed\xa0\x80" not in body


def test_every_hostile_file_at_once(tmp_path: Path) -> None:
    """The whole corpus of bad and hostile files in one directory: one build, nothing stops the good posts."""
    files: dict[str, bytes | str] = dict(GOOD)
    for case in (*REJECTED, *ACCEPTED, *HOSTILE_CONTENT):
        files[f"bad/{case.name}"] = case.data
    report, _ = build_with(tmp_path, files)
    rejected = {r.path: r.reason for r in report.rejected}
    assert set(rejected) == {f"bad/{c.name}" for c in REJECTED}
    assert len(set(rejected.values())) >= 20, "reasons are specific to each problem, not one generic message"
    assert report.posts == len(GOOD) + len(ACCEPTED) + len(HOSTILE_CONTENT)
    assert_output_sound(tmp_path / "out")


def test_eight_megabyte_body_is_published_in_bounded_memory(tmp_path: Path) -> None:
    """A body over MAX_BODY in a file under max_post_bytes (10,000,000 by default): published with its summary."""
    paragraph = "<p>" + "word " * 2000 + "</p>\n"
    body = paragraph * (8 * 1024 * 1024 // len(paragraph) + 1)
    report, builder = build_with(
        tmp_path, {**GOOD, "2024-04-01-huge.md": post_text("title: Huge\ndate: 2024-04-01", body)}
    )
    assert len(body) >= 8 * 1024 * 1024
    assert not report.rejected
    assert "Huge" in published_titles(tmp_path / "out")
    post = next(in_full(p) for p in builder.posts if in_full(p).title == "Huge")
    assert len(post.summary) <= 280  # metadata stays small whatever the body
    assert any("summary" in note for path, note in report.notes if path == "2024-04-01-huge.md"), report.notes
    # The feed carries the summary (no multi-megabyte text node that libxml2-based readers refuse).
    assert (tmp_path / "out" / "all.atom").stat().st_size < 100_000
    assert_output_sound(tmp_path / "out")


def test_a_200_megabyte_post_is_rejected_unread(tmp_path: Path) -> None:
    """Issue 14: a post file over max_post_bytes is rejected by its size, never read (it once cost 620 MB)."""
    import tracemalloc

    posts = tmp_path / "_posts"
    posts.mkdir()
    huge = posts / "2024-04-01-huge.md"
    huge.write_text(post_text("title: Huge\ndate: 2024-04-01", "<p>x</p>"))
    os.truncate(huge, 200_000_000)  # sparse: no disk space taken
    tracemalloc.start()
    try:
        report, _ = build_with(tmp_path, GOOD)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    rejection = rejection_for(report, "2024-04-01-huge.md")
    assert rejection is not None and "200,000,000 bytes" in rejection.reason and "max_post_bytes" in rejection.reason
    assert report.posts == len(GOOD)
    assert peak < 20_000_000, peak


_MEMORY_PROBE = """
import resource, sys, time
from pathlib import Path
from syndicate.attribution import compile_patterns
from syndicate.config import load_settings
from syndicate.posts import parse_post
limit = 512 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
settings = load_settings(None, {"posts": ".", "out": "out"}, environ={})
data = Path(sys.argv[1]).read_bytes()
record = parse_post(data, "bomb.md", settings, compile_patterns(settings.attribution_patterns), "d")
print(type(record).__name__, getattr(record, "reason", ""))
"""


@pytest.mark.parametrize(
    "name",
    ["billion-laughs", "quadratic-blowup", "deep-flow", "deep-block"],
)
def test_yaml_bombs_are_rejected_within_bounded_memory_and_time(name: str, tmp_path: Path) -> None:
    """Each bomb is parsed in a child process capped at 512 MB of address space and 60 s: it must answer."""
    if name == "billion-laughs":
        data = front(_LAUGHS + "title: *l9\ndate: 2024-02-01")
    elif name == "quadratic-blowup":
        # One anchor of 60 KB aliased many times: little text, a large expansion if anything walks it.
        data = front("a: &a " + "x" * 60_000 + "\nb: [" + ", ".join(["*a"] * 30) + "]\ntitle: T\ndate: 2024-02-01")
    elif name == "deep-flow":
        data = front("title: " + "[" * 50_000 + "]" * 50_000 + "\ndate: 2024-02-01")
    else:
        data = front("".join("  " * i + f"k{i}:\n" for i in range(3000)) + "title: T")
    path = tmp_path / "bomb.md"
    path.write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    kind, _, reason = result.stdout.strip().partition(" ")
    assert kind in ("Rejection", "Post"), result.stdout
    if name in ("billion-laughs", "deep-flow"):
        assert kind == "Rejection" and reason, result.stdout


NAMES = ["../../escape", "a/b", "..", ".", "c\\d", "nul\x00byte", "???", "...", "/etc/passwd", "<script>", "%2e%2e%2f",
         "CON", " ", "\u202e\u0644", "x" * 500]  # fmt: skip


def test_category_and_tag_names_cannot_escape_the_output_directory(tmp_path: Path) -> None:
    yaml_names = ", ".join(json.dumps(n) for n in NAMES)  # JSON strings are YAML double-quoted scalars
    post = front(f"title: Names\ndate: 2024-05-01\ncategories: [{yaml_names}]\ntags: [{yaml_names}]", "<p>x</p>")
    (tmp_path / "_posts").mkdir()
    before = set(tmp_path.iterdir())
    report, builder = build_with(tmp_path, {**GOOD, "2024-05-01-names.md": post})
    assert not report.rejected, report.rejected
    out = (tmp_path / "out").resolve()
    assert set(tmp_path.iterdir()) - before <= {tmp_path / "out"}
    for path in out.rglob("*"):
        assert out in path.resolve().parents
        rel = path.relative_to(out).as_posix()
        assert ".." not in rel.split("/") and "\\" not in rel and "\x00" not in rel
        assert len(path.name.encode()) <= 255
    slugs = {f.slug for f in builder.feeds if f.kind != "all"}
    for slug in slugs:
        assert slug and "/" not in slug and "\\" not in slug and not slug.startswith(".") and "\x00" not in slug
    assert_output_sound(tmp_path / "out")


def test_symlinks_are_not_followed_out_of_the_tree_and_loops_end(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "2024-06-01-secret.md").write_text(post_text("title: Secret outside\ndate: 2024-06-01"))
    (outside / "nested").mkdir()
    (outside / "nested" / "2024-06-02-deep-secret.md").write_text(post_text("title: Deep secret\ndate: 2024-06-02"))
    posts.mkdir()
    (posts / "link-to-file.md").symlink_to(outside / "2024-06-01-secret.md")
    (posts / "link-to-dir").symlink_to(outside)
    (posts / "loop").symlink_to(posts)
    (posts / "sub").mkdir()
    (posts / "sub" / "up").symlink_to("..")
    (posts / "self.md").symlink_to(posts / "self.md")
    (posts / "a.md").symlink_to(posts / "b.md")
    (posts / "b.md").symlink_to(posts / "a.md")
    (posts / "dangling.md").symlink_to(tmp_path / "does-not-exist.md")
    (posts / "passwd.md").symlink_to("/etc/passwd")
    report, builder = build_with(tmp_path, GOOD)
    titles = published_titles(tmp_path / "out")
    assert titles == GOOD_TITLES
    assert all(not p.path.startswith(("loop", "link-to-dir", "sub/up")) for p in builder.posts)
    assert_output_sound(tmp_path / "out")
    # An incremental build told about the links directly does not follow them either.
    again = builder.build([posts / "link-to-file.md", posts / "link-to-dir" / "2024-06-01-secret.md", posts / "a.md"])
    assert again.posts == len(GOOD)
    assert published_titles(tmp_path / "out") == GOOD_TITLES


def test_symlink_to_a_post_inside_the_tree_is_allowed(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "real").mkdir()
    (posts / "real" / "2024-07-01-inner.md").write_text(post_text("title: Inner\ndate: 2024-07-01"))
    (posts / "2024-07-01-alias.md").symlink_to(posts / "real" / "2024-07-01-inner.md")
    report, _ = build_with(tmp_path, GOOD)
    assert not report.rejected
    assert "Inner" in published_titles(tmp_path / "out")
    assert_output_sound(tmp_path / "out")


def test_two_files_with_one_url_give_one_entry_and_a_rejection(tmp_path: Path) -> None:
    """A copy of a post (same date and slug, another folder) must not give two entries with one atom:id."""
    copy = front("title: Copy\ndate: 2024-01-01 08:00:00 +0800\ncategories: news", "<p>copy</p>")
    report, builder = build_with(tmp_path, {**GOOD, "2024-01-01-good-1.md": copy, "z/2024-01-01-good-1.md": copy})
    rejection = rejection_for(report, "z/2024-01-01-good-1.md")
    assert rejection is not None and "same URL as 2024-01-01-good-1.md" in rejection.reason
    assert len(builder.posts) == 3
    assert_output_sound(tmp_path / "out")


def test_a_file_name_that_is_not_utf8_is_rejected_and_others_publish(tmp_path: Path) -> None:
    report, builder = build_with(tmp_path, GOOD)
    posts = os.fsencode(tmp_path / "_posts")
    with open(posts + b"/2024-09-01-caf\xe9.md", "wb") as fh:  # a Latin-1 name, as an old FTP upload leaves it
        fh.write(front("title: Cafe\ndate: 2024-09-01"))
    for _ in range(2):  # and again from the cache
        report = Builder(make_settings_for(tmp_path)).build()
        rejection = rejection_for(report, "2024-09-01-caf\\xe9.md")
        assert rejection is not None and "not valid UTF-8" in rejection.reason
        assert report.posts == len(GOOD)
    assert_output_sound(tmp_path / "out")


def test_unreadable_post_is_rejected_and_others_publish(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode")
    report, _ = build_with(tmp_path, {**GOOD, "2024-08-01-locked.md": front("title: Locked\ndate: 2024-08-01")})
    locked = tmp_path / "_posts" / "2024-08-01-locked.md"
    locked.chmod(0)
    try:
        report = Builder(make_settings_for(tmp_path)).build()
    finally:
        locked.chmod(0o644)
    rejection = rejection_for(report, "2024-08-01-locked.md")
    assert rejection is not None and "cannot read" in rejection.reason
    assert report.posts == len(GOOD)


def test_sanitiser_checker_catches_active_content() -> None:
    """The safety check used above is itself able to fail (no test that cannot fail)."""
    assert html_problems('<p onclick="x">a</p>')
    assert html_problems('<a href="javascript:alert(1)">a</a>')
    assert html_problems("<script>alert(1)</script>")
    assert html_problems('<img src="data:text/html,x" />')
    assert html_problems("<p>unclosed")
    assert not html_problems('<p>fine <a href="https://ok.example/">link</a><br /></p>')


def test_parsing_hostile_posts_never_raises(tmp_path: Path) -> None:
    """parse_post itself (no builder) turns every case above into a Post or a Rejection."""
    from syndicate.attribution import compile_patterns
    from syndicate.posts import parse_post

    settings = make_settings_for(tmp_path)
    patterns = compile_patterns(settings.attribution_patterns)
    for case in (*REJECTED, *ACCEPTED, *HOSTILE_CONTENT):
        record = parse_post(case.data, case.name, settings, patterns, "d")
        assert isinstance(record, Rejection if case.reason else Post), (case.name, record)


def test_resource_module_available() -> None:
    assert resource.getrlimit(resource.RLIMIT_AS)


# --- issue 14: controls in plain-text fields ------------------------------------------------------------------------

# DEL, C1 controls (raw U+0085 is the one YAML lets through unescaped) and every bidi embedding, override and isolate.
_CONTROLS = "\x7f\x80\x85\x9f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ESCAPED = "".join(f"\\u{ord(c):04x}" for c in _CONTROLS)  # as a YAML (and JSON) escape


def _control_forms() -> list[bytes]:
    """Each control as it could appear in an output file: raw, as a JSON escape, as XML/HTML character references."""
    forms = []
    for c in _CONTROLS:
        forms += [c.encode(), f"\\u{ord(c):04x}".encode(), f"&#{ord(c)};".encode(), f"&#x{ord(c):x};".encode()]
    return forms


def test_controls_in_plain_text_fields_reach_no_output(tmp_path: Path) -> None:
    """Title, author, categories, tags and the source's name carry DEL, C1 and bidi controls (as YAML escapes, and raw
    where YAML allows them): the post is published with none of them in any feed, OPML or the index page."""
    from starlette.testclient import TestClient

    from syndicate.app import create_app

    meta = (
        f'title: "Evil{_ESCAPED}Title"\n'
        f'author: "Mallory{_ESCAPED}"\n'
        f'categories: ["cat{_ESCAPED}egory", "news"]\n'
        f"tags: tag\u202eone tag\u2066two\u2069\n"
        f'source: {{name: "Daily{_ESCAPED}News", url: "https://daily.example.com/a"}}\n'
        "date: 2024-03-01 08:00:00 +0800"
    )
    report, builder = build_with(tmp_path, {**GOOD, "2024-03-01-evil.md": front(meta)})
    assert not report.rejected, report.rejected
    post = in_full(next(p for p in builder.posts if p.path == "2024-03-01-evil.md"))  # its title may be in the store
    # A control parts the words of a publication's name (and a run of spaces ends a name): as before, for C1 and DEL.
    assert (post.title, post.author, post.source_name) == ("EvilTitle", "Mallory", "Daily")
    assert post.categories == ("category", "news") and post.tags == ("tagone", "tagtwo")
    out = tmp_path / "out"
    # The documents, not the .gz files for nginx (compressed bytes hold any byte; they decompress to a document).
    files = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix != ".gz"]
    assert any(p.name == "index.opml" for p in files) and len(files) >= 12
    with TestClient(create_app(make_settings_for(tmp_path), background=False)) as client:
        index = client.get("/")
        assert index.status_code == 200 and "category" in index.text and "tagone" in index.text
        pages = [("GET /", index.content)]
    for name, data in [*((str(p.relative_to(out)), p.read_bytes()) for p in files), *pages]:
        found = [form for form in _control_forms() if form in data]
        assert not found, (name, found)
    assert_output_sound(out)
