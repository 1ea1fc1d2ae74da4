"""The front matter fast path: whatever it returns is exactly what PyYAML's loader returns, and it is taken for the
front matter real posts carry.

A hypothesis test compares it with the loader on front matter built from YAML-significant pieces, inside and
outside the subset; "exactly" includes types at every level, since ``True == 1`` and ``1 == 1.0`` in Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLE, SAMPLE_POST
from syndicate.frontmatter import YamlTimestamp, parse_simple
from syndicate.posts import _Loader, split_front_matter

RESOLVERS = _Loader.yaml_implicit_resolvers


def _pyyaml(front: str) -> tuple[bool, Any]:
    """(True, value) as the loader reads ``front``, or (False, None) when it refuses it."""
    try:
        return True, yaml.load(front, Loader=_Loader)
    except (yaml.YAMLError, ValueError, RecursionError):
        return False, None


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):  # in the same order too: both keep the first position of a repeated key
        return _same(list(a), list(b)) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _assert_exact(front: str) -> Any:
    """The fast path's answer for ``front``, after checking it against PyYAML's; returns None when it fell back."""
    fast = parse_simple(front, RESOLVERS)
    if fast is not None:
        ok, expected = _pyyaml(front)
        assert ok, f"the fast path accepted front matter PyYAML refuses: {front!r} -> {fast!r}"
        assert _same(fast, expected), f"{front!r}: fast path {fast!r}, PyYAML {expected!r}"
    return fast


def _fronts(directory: Path) -> list[tuple[str, str]]:
    return [
        (path.name, split_front_matter(path.read_text(encoding="utf-8").replace("\r\n", "\n"))[0])
        for path in sorted(directory.rglob("*"))
        # posts are named YYYY-MM-DD-slug (tests/data has a README); the Jekyll test site's posts may lack front matter
        if path.is_file() and path.name[:1].isdigit() and "jekyll-site" not in path.parts
    ]


# --- The shapes real posts use take the fast path ------------------------------------------------------------------

EXAMPLE_FRONTS = _fronts(SAMPLE_POST.parent) + _fronts(EXAMPLE / "_posts")


def test_example_posts_exist() -> None:
    assert len(EXAMPLE_FRONTS) >= 10


@pytest.mark.parametrize(("name", "front"), EXAMPLE_FRONTS, ids=[name for name, _ in EXAMPLE_FRONTS])
def test_sample_and_example_posts_take_the_fast_path(name: str, front: str) -> None:
    assert _assert_exact(front) is not None


ACCEPTED = [
    ("layout: post\n", {"layout": "post"}),
    ('title: "To during the visitors 8399"\n', {"title": "To during the visitors 8399"}),
    # timestamps are their text, marked as unquoted (Jekyll reads those differently from quoted text)
    ("date: 2019-06-17T09:54:00-05:00\n", {"date": YamlTimestamp("2019-06-17T09:54:00-05:00")}),
    ("date: 2024-03-05 10:00:00 +0800\n", {"date": YamlTimestamp("2024-03-05 10:00:00 +0800")}),
    ("date: 2024-03-05 10:00:00\n", {"date": YamlTimestamp("2024-03-05 10:00:00")}),
    ("date: 2024-3-5\n", {"date": YamlTimestamp("2024-3-5")}),
    ('date: "2024-03-05 10:00:00"\n', {"date": "2024-03-05 10:00:00"}),
    ("date: 2024-03-05 10:00\n", {"date": "2024-03-05 10:00"}),
    ("categories: [R&D]\n", {"categories": ["R&D"]}),
    ('tags: ["web feeds", e-commerce, 公交]\n', {"tags": ["web feeds", "e-commerce", "公交"]}),
    ("tags: [C#, 'it''s', \"a, b]\"]  # comment\n", {"tags": ["C#", "it's", "a, b]"]}),
    ("tags: []\nx: [ ]\n", {"tags": [], "x": []}),
    ("categories: news local\n", {"categories": "news local"}),
    ("tags:\n  - a\n  - 公交\n", {"tags": ["a", "公交"]}),
    ("tags:\n- a\n-\n- 'b'\nnext: 1\n", {"tags": ["a", None, "b"], "next": 1}),
    ("tags:\n  # why\n\n    - a # note\n    -   b\nx: y\n", {"tags": ["a", "b"], "x": "y"}),
    ("published: false\ndraft: Yes\nshown: ON\n", {"published": False, "draft": True, "shown": True}),
    (
        "source: 人民网\nsource_url: http://example.org/a?b=c#d\n",
        {"source": "人民网", "source_url": "http://example.org/a?b=c#d"},
    ),
    ("title: 'single ''quoted'' # not a comment'\n", {"title": "single 'quoted' # not a comment"}),
    ("author: Name  # who wrote it\n", {"author": "Name"}),
    ("x:\ny: ~\nz: null\nw: # nothing\n", {"x": None, "y": None, "z": None, "w": None}),
    ("n: 0\nm: 42\nyear: 2024\n", {"n": 0, "m": 42, "year": 2024}),
    ("a: 1\na: 2\n", {"a": 2}),
    ("# a comment\n\ntitle: a, b [c] {d} e:f g?h\n", {"title": "a, b [c] {d} e:f g?h"}),
    ("emoji: 🎉 party\n标题: 中文\n", {"emoji": "🎉 party", "标题": "中文"}),
    ('title: "  padded  "\n', {"title": "  padded  "}),
]


@pytest.mark.parametrize(("front", "expected"), ACCEPTED)
def test_simple_front_matter_takes_the_fast_path(front: str, expected: dict[str, Any]) -> None:
    assert _same(_assert_exact(front), expected)
    assert _same(_assert_exact("\n" + front), expected)  # as split_front_matter hands it over


FALLBACKS = [
    "",
    "\n# only a comment\n",
    "just text\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: >\n  text\n",
    'a: "escaped \\" quote"\n',
    'a: "two\n  lines"\n',
    "a: plain\n  continued\n",
    "a:\n  b: nested\n",
    "a: {b: c}\n",
    "a: [b, [c]]\n",
    "a: [b,\n  c]\n",
    "a: [b, ]\n",
    "a: [b, , c]\n",
    "a: [http://example.org]\n",
    "a:\tb\n",
    "a: b\r\nc: d\n",
    "\ufeffa: b\n",
    "a: \x85b\n",
    "a: b\x00\n",
    "a: 1.5\n",
    "a: .inf\n",
    "a: 010\n",
    "a: 0x1F\n",
    "a: 1_000\n",
    "a: 1:30\n",
    "a: -1\n",
    "a: <<\n",
    "a: =\n",
    "a: b: c\n",
    "a: b:\n",
    "yes: no\n",
    "1: one\n",
    "null: x\n",
    "  a: indented\n",
    "? a\n: b\n",
    "%YAML 1.1\n---\na: b\n",
    "a: b\n--- c\n",
    "a: 'unclosed\n",
    'a: "b" c\n',
    'a: "b"# c\n',
    "a:\n  - x\n - y\n",
    "a:\n  - x\n    - y\n",
    "a:\n- x\n  y\n",
    "a: " + "9" * 40 + "\n",
]


@pytest.mark.parametrize("front", FALLBACKS)
def test_everything_else_falls_back_to_pyyaml(front: str) -> None:
    assert parse_simple(front, RESOLVERS) is None


# --- Differential test against PyYAML ------------------------------------------------------------------------------

WORDS = [
    "post",
    "web feeds",
    "R&D",
    "C++",
    "C#",
    "node.js",
    "e-commerce",
    "公交",
    "右江日报新闻",
    "🎉",
    "Q&A",
    "AI & ML",
]
KEYWORDS = [
    "yes", "No", "NO", "true", "False", "on", "Off", "y", "n", "null", "Null", "NULL", "~", "0", "00", "7", "-7",
    "+7", "0x1F", "0o17", "0b101", "1_000", "010", "1:30", "190:20:30", ".5", "1e3", "1.0e+3", "-.inf", ".NaN",
    "<<", "=", "2024-03-05", "2024-03-05 10:00:00 +0800", "99999999999999999999", "...", "---", "-", "--",
]  # fmt: skip
PIECES = [
    "#", " #", " # c", ":", ": ", ":x", " ", "  ", "\t", "-", "- ", "?", "? ", ",", "[", "]", "{", "}", "&a", "*a",
    "!", "!!str", "|", ">", "'", "''", '"', "%", "@", "`", "\\", "\\n", "~", ".", "\x00", "\x07", "\x7f", "\x85",
    "\u2028", "\ufeff", "\r", "\xa0", "\u3000", "\ud800", "\ufffe", "=", "<<",
]  # fmt: skip
KEYS = [
    "title", "tags", "categories", "date", "published", "source_url", "a.b", "a-b", "_x", "标题", "yes", "on", "1",
    "0x1F", "null", "~", "<<", "=", "-a", "a b", '"q"', "'q'", "&k a", "*k", "!k a", "? k", "k ", "x" * 1100,
]  # fmt: skip

text_pieces = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(PIECES), st.text(max_size=3)), min_size=1, max_size=5
).map("".join)
plain = st.one_of(st.sampled_from(WORDS), st.sampled_from(KEYWORDS), text_pieces)
double_quoted = st.one_of(st.sampled_from(WORDS), text_pieces).map(lambda s: f'"{s}"')
single_quoted = st.one_of(st.sampled_from(WORDS), text_pieces).map(lambda s: "'" + s.replace("'", "''") + "'")
raw_quoted = text_pieces.map(lambda s: f"'{s}'")  # quotes inside are not doubled: often invalid
scalar = st.one_of(plain, double_quoted, single_quoted, raw_quoted)
comment = st.sampled_from(["", "", "", " # note", "# note", "  #", " #: x"])


@st.composite
def flow_sequences(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.one_of(scalar, st.just(""), st.just("[a]")), max_size=4))
    separator = draw(st.sampled_from([", ", ",", " , ", ",  "]))
    opening, closing = draw(st.sampled_from([("[", "]"), ("[ ", " ]"), ("[", ", ]"), ("[", ""), ("[", "]x")]))
    return opening + separator.join(items) + closing + draw(comment)


@st.composite
def block_sequences(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from(["", " ", "  ", "    "]))
    lines = []
    for item in draw(st.lists(st.one_of(scalar, st.just(""), flow_sequences()), min_size=1, max_size=4)):
        here = draw(st.sampled_from([indent] * 6 + ["", " ", "   ", "\t"]))
        dash = draw(st.sampled_from(["- "] * 6 + ["-", "-  ", "-\t", "--"]))
        lines.append(here + dash + item + draw(comment))
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "# c", "  # c", "  more", "   - deeper"])))
    return "\n" + "\n".join(lines)


value = st.one_of(
    st.just(""),
    comment,
    scalar.flatmap(lambda s: comment.map(lambda c: s + c)),
    flow_sequences(),
    block_sequences(),
)
extra_line = st.sampled_from(
    ["", "   ", "# comment", "  # indented comment", "  continued", "- item", "---", "--- x", "...", "%YAML 1.1"]
)


@st.composite
def any_lines(draw: st.DrawFn) -> str:
    """One entry (or stray line) from pieces inside and outside the subset."""
    extra = draw(extra_line) + "\n" if draw(st.integers(0, 4)) == 0 else ""
    key = draw(st.one_of(st.sampled_from(KEYS), st.sampled_from(KEYWORDS), text_pieces))
    colon = draw(st.sampled_from([": "] * 8 + [":", ":  ", ":\t", " : "]))
    return extra + draw(st.sampled_from(["", "", "", " "])) + key + colon + draw(value)


SUBSET_WORDS = WORDS + ["yes", "No", "null", "~", "7", "0", "Post 42", "it's", 'say "hi"', "a #b", "x:y", "a, b"]
subset_word = st.sampled_from(SUBSET_WORDS)
subset_item = st.one_of(
    subset_word.filter(lambda s: ":" not in s and "," not in s and " #" not in s),  # these end a flow entry
    subset_word.filter(lambda s: '"' not in s).map(lambda s: f'"{s}"'),
    subset_word.map(lambda s: "'" + s.replace("'", "''") + "'"),
)


@st.composite
def subset_lines(draw: st.DrawFn) -> str:
    """One entry inside the subset: the fast path must take it."""
    key = draw(st.sampled_from(KEYS[:10]))
    kind = draw(st.sampled_from(["plain", "quoted", "flow", "block", "empty"]))
    if kind == "plain":
        return f"{key}: {draw(st.one_of(subset_word, st.just('2024-03-05 10:00:00 +0800')))}"
    if kind == "quoted":
        return f"{key}: {draw(subset_item)}"
    if kind == "flow":
        return f"{key}: [{', '.join(draw(st.lists(subset_item, max_size=4)))}]"
    if kind == "block":
        indent = draw(st.sampled_from(["", "  ", "    "]))
        return f"{key}:" + "".join(f"\n{indent}- {i}" for i in draw(st.lists(subset_item, min_size=1, max_size=4)))
    return f"{key}:"


def _front(lines: list[str], start: str = "\n", end: str = "\n") -> str:
    return start + "\n".join(lines) + end


@st.composite
def front_matters(draw: st.DrawFn) -> str:
    """Subset entries mixed with others, in a proportion that varies from all of one kind to all of the other."""
    share = draw(st.integers(0, 4))  # out of 4 lines, on average, from outside the subset
    lines = [
        draw(any_lines()) if draw(st.integers(1, 4)) <= share else draw(subset_lines())
        for _ in range(draw(st.integers(1, 6)))
    ]
    return _front(lines, draw(st.sampled_from(["\n", ""])), draw(st.sampled_from(["\n", "", "\n\n"])))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front_matters())
def test_fast_path_returns_exactly_what_pyyaml_returns_or_falls_back(front: str) -> None:
    event("fast path" if _assert_exact(front) is not None else "fell back")


@settings(max_examples=200, deadline=None)
@given(st.lists(subset_lines(), min_size=1, max_size=6).map(_front))
def test_fast_path_takes_front_matter_inside_the_subset(front: str) -> None:
    assert _assert_exact(front) is not None
