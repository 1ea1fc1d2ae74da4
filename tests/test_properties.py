"""Property-based tests (hypothesis) of the two promises the reliability suite rests on:

1. ``parse_post``: any bytes give a ``Post`` or a ``Rejection`` (with a non-empty reason), never an exception.
2. The feed writer: any accepted post gives feed documents that are well-formed (lxml), accepted by feedparser
   (bozo 0), pass the spec checks, carry no active HTML, and are byte-identical when built again.

Examples are bounded (``max_examples``) so the suite stays quick; hypothesis's database replays failures first.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hostile import assert_feed_sound, html_problems
from syndicate.attribution import compile_patterns
from syndicate.builder import Builder
from syndicate.config import Settings, load_settings
from syndicate.content import render_body
from syndicate.dialects import JEKYLL
from syndicate.formats import FORMATS
from syndicate.posts import Post, Rejection, parse_post

SETTINGS = load_settings(
    None,
    {
        "posts": "/nonexistent",
        "out": "/nonexistent-out",
        "url": "https://news.example.net",
        "timezone": "Asia/Shanghai",
    },
    environ={},
)
PATTERNS = compile_patterns(SETTINGS.attribution_patterns)

# Characters that have broken feed writers: XML-illegal controls, lone surrogates, non-characters, BOM, bidi
# overrides, CDATA terminators, markup and entity starts.
NASTY = [
    "\x00",
    "\x01",
    "\x0b",
    "\x0c",
    "\x1f",
    "\x7f",
    "\ud800",
    "\udfff",
    "\ufffe",
    "\uffff",
    "\ufeff",
    "\u202e",
    "]]>",
    "<",
    ">",
    "&",
    "&#0;",
    "&#xD800;",
    '"',
    "'",
    "\r",
    "\r\n",
    "\t",
    "---",
    ": ",
    "- ",
    "*a",
    "&a ",
    "!!",
]
MARKUP = [
    "<script>alert(1)</script>",
    "<iframe src=//x>",
    "<img src=x onerror=alert(1)>",
    "<a href='javascript:x'>",
    '<a href="data:text/html,x">',
    "<svg onload=alert(1)>",
    "<style>",
    "</div>",
    "<div>",
    "<p>",
    "</p>",
    "<![CDATA[",
    "<!--",
    "-->",
    "<math>",
    "<base href=//evil>",
    "[x](javascript:y)",
    "<http://example.org/>",
    "（文章来源：右江日报）",
    "[返回](//finews.example.com/)",
    "<table><tr><td>",
    "&nbsp;",
    "&lt;b&gt;",
]

any_char = st.characters(exclude_categories=())  # includes surrogates and controls
nasty_text = st.lists(st.one_of(st.text(any_char, max_size=8), st.sampled_from(NASTY)), max_size=12).map("".join)
body_text = st.lists(st.one_of(st.text(any_char, max_size=20), st.sampled_from(NASTY + MARKUP)), max_size=30).map(
    "".join
)
valid_front = (
    "title: Example\ndate: 2024-01-02 03:04:05 +0800\ncategories: news\ntags: [a, 右江日报新闻]\n"
    "source: 右江日报\nsource_url: http://example.org/a\n"
)


def _post_bytes(front: str, body: str) -> bytes:
    return f"---\n{front}---\n{body}".encode("utf-8", "surrogatepass")


@st.composite
def mutated_posts(draw: st.DrawFn) -> bytes:
    """A valid post with random bytes inserted, removed or overwritten."""
    data = bytearray(_post_bytes(valid_front, "<p>Body</p>\n"))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if action == "insert":
            data[at:at] = chunk
        elif action == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@st.composite
def yaml_fronts(draw: st.DrawFn) -> bytes:
    """Front matter built from YAML-significant pieces and values of every type."""
    keys = st.sampled_from(
        [
            "title",
            "date",
            "categories",
            "category",
            "tags",
            "tag",
            "published",
            "permalink",
            "slug",
            "author",
            "source",
            "source_url",
            "excerpt",
            "last_modified_at",
            "x",
        ]
    )
    scalars = st.one_of(
        nasty_text.map(json.dumps),  # double-quoted scalars with escapes (some invalid for YAML: rejected)
        st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=12),
        st.sampled_from(
            [
                "2021-13-45",
                "2024-02-29",
                "1e400",
                "~",
                "null",
                "yes",
                "[",
                "{",
                "&a x",
                "*a",
                "!!binary x",
                "!!python/object:os.system x",
                "|",
                ">",
                "'",
                "0x1F",
                ".inf",
                "2021-12-24 08:51:00 +0800",
            ]
        ),
    )
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"))
    lines = draw(st.lists(st.tuples(keys, values), max_size=8))
    front = "".join(f"{k}: {v}\n" for k, v in lines)
    return _post_bytes(front, draw(body_text))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=600), mutated_posts(), yaml_fronts()))
def test_any_bytes_give_a_post_or_a_rejection(data: bytes) -> None:
    record = parse_post(data, "2024-01-01-any.md", SETTINGS, PATTERNS, "digest")
    assert isinstance(record, Post | Rejection)
    if isinstance(record, Rejection):
        assert record.reason.strip() and record.path == "2024-01-01-any.md"
    else:
        assert record.date.tzinfo is not None
        assert all(t for t in (*record.categories, *record.tags))


def _build(root: Path, files: dict[str, bytes], settings_: Settings) -> dict[str, bytes]:
    posts = root / "_posts"
    posts.mkdir(exist_ok=True)
    for name, data in files.items():
        (posts / name).write_bytes(data)
    builder = Builder(settings_, write=False)
    builder.build()
    return {path: doc.body for path, doc in builder.documents.items()}


def _yaml_safe(text: str) -> str:
    # YAML itself refuses escapes of surrogates and U+FFFE/U+FFFF (that path is covered by the bytes test above);
    # everything else, controls included, goes through as a JSON-style escape.
    return "".join(ch for ch in text if not ("\ud800" <= ch <= "\udfff" or ch in "\ufffe\uffff"))


@st.composite
def accepted_posts(draw: st.DrawFn) -> bytes:
    """Posts YAML accepts, with hostile characters and markup in every text field."""
    title = _yaml_safe(draw(nasty_text))
    terms = [_yaml_safe(t) for t in draw(st.lists(nasty_text, max_size=4))]
    front = (
        f"title: {_quoted(title)}\n"
        "date: 2024-01-02 03:04:05 +0800\n"
        f"categories: [{', '.join(map(_quoted, terms))}]\n"
        f"tags: [{', '.join(map(_quoted, terms[::-1]))}]\n"
        f"author: {_quoted(_yaml_safe(draw(nasty_text)))}\n"
    )
    # Lone surrogates cannot be UTF-8 bytes; in a body they arrive as character references.
    body = _SURROGATE.sub(lambda m: f"&#x{ord(m.group()):X};", draw(body_text).replace("\x00", ""))
    return _post_bytes(front, body)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes, but astral characters as \\U escapes (YAML has no pairs)."""
    return "".join(f"\\U{ord(ch):08X}" if ord(ch) > 0xFFFF else json.dumps(ch)[1:-1] for ch in text).join('""')


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(accepted_posts(), yaml_fronts()), min_size=1, max_size=3))
def test_any_accepted_post_gives_well_formed_safe_deterministic_feeds(posts: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings_ = load_settings(
            None,
            {"posts": root / "_posts", "out": root / "out", "url": "https://news.example.net", "cache": "off"},
            environ={},
        )
        files = {f"2024-01-0{i + 1}-p{i}.md": data for i, data in enumerate(posts)}
        first = _build(root, files, settings_)
        accepted = len(json.loads(first["all.json"])["items"])
        event(f"{accepted} of {len(posts)} posts published")
        again = _build(root, files, settings_)
        assert first == again, "the same posts must give byte-identical feeds"
        for path, body in first.items():
            target = root / "check" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            if target.suffix.removeprefix(".") in FORMATS:
                assert_feed_sound(target)


# kramdown syntax the Jekyll dialect gives meaning to, mixed with the hostile pieces above.
KRAMDOWN = [
    "{: .x #y}",
    '{: onclick="alert(1)" href="javascript:x"}',
    "{:toc}",
    "* TOC\n{:toc}\n",
    "[^1]",
    "[^1]: note\n",
    "~~x~~",
    "| a | b |\n|:--|--:|\n",
    "\nTerm\n: def\n",
    '<div markdown="1">\n',
    "</div>\n",
    '<img srcset="javascript:alert(1) 1x, /a.png 2x">',
    '<video poster="javascript:x" src="data:x"><track src="a.vtt"></video>',
    "```ruby\n",
    "# h {#id}\n",
    "*x*{: .y}",
    "<<",
    ">>",
    "--",
    "...",
]
kramdown_text = st.lists(
    st.one_of(st.text(any_char, max_size=12), st.sampled_from(NASTY + MARKUP + KRAMDOWN)), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(kramdown_text.map("".join))
def test_any_body_in_the_jekyll_dialect_gives_a_safe_well_formed_fragment(body: str) -> None:
    rendered = render_body(
        body, page_url="https://news.example.net/a/b.html", site_url="https://news.example.net", dialect=JEKYLL
    )
    assert not html_problems(rendered)
