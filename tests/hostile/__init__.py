"""Shared checks for the reliability suite (tests/test_hostile.py, test_faults.py, test_properties.py, …).

``assert_output_sound`` is what "never publish broken or unsafe XML" means, checked by real consumers: every feed
document parses with lxml (strict XML) and with feedparser (bozo 0), passes the spec checks of ``feedcheck``, and
every piece of HTML it carries is free of active content (scripts, embedded documents, event handlers, script URLs).
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from lxml import etree, html

from feedcheck import assert_valid

A = "{http://www.w3.org/2005/Atom}"
# Elements that run code or embed other documents: none may survive sanitising.
ACTIVE_TAGS = frozenset(
    {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "style", "link", "meta", "base", "form",
     "input", "button", "svg", "math", "template", "noscript"}
)  # fmt: skip
SAFE_SCHEMES = ("http:", "https:", "mailto:")
FEED_SUFFIXES = (".atom", ".rss", ".json")


def html_problems(fragment: str) -> list[str]:
    """Active content left in an HTML fragment (as a browser or feed reader would parse it)."""
    if not fragment.strip():
        return []
    problems: list[str] = []
    # Well-formed as XML when wrapped (what content.py promises, so it can sit inside Atom/RSS as is).
    try:
        etree.fromstring(f"<div>{fragment}</div>".encode())
    except etree.XMLSyntaxError as exc:
        problems.append(f"fragment is not well-formed XML: {exc}")
    root = html.fragment_fromstring(fragment, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.lower() in ACTIVE_TAGS:
            problems.append(f"active element <{el.tag}>")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                problems.append(f"event handler {name}={value!r} on <{el.tag}>")
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "srcset", "style"):
                squashed = "".join(value.split()).lower()
                if name.lower() == "style":
                    problems.append(f"style attribute on <{el.tag}>")
                elif ":" in squashed.split("/")[0] and not squashed.startswith(SAFE_SCHEMES):
                    problems.append(f"unsafe URL {name}={value!r} on <{el.tag}>")
    return problems


def feed_html(path: Path) -> list[str]:
    """Every HTML payload a feed document carries (Atom content/summary of type html, RSS description, JSON)."""
    data = path.read_bytes()
    if path.suffix == ".json":
        items = json.loads(data)["items"]
        return [item[key] for item in items for key in ("content_html",) if key in item]
    root = etree.fromstring(data)
    if path.suffix == ".atom":
        return [
            el.text or "" for el in root.iter(f"{A}content", f"{A}summary", f"{A}title") if el.get("type") == "html"
        ]
    return [el.text or "" for el in root.iter("description", "{http://purl.org/rss/1.0/modules/content/}encoded")]


def assert_feed_sound(path: Path, *, with_feedparser: bool = True) -> feedparser.FeedParserDict | None:
    """One feed document: strict XML/JSON parse, feedparser bozo 0, spec checks, no active content."""
    data = path.read_bytes()
    fmt = path.suffix[1:]
    parsed = None
    if fmt != "json":
        etree.fromstring(data)  # raises on anything not well-formed
        if with_feedparser:
            parsed = feedparser.parse(data)
            assert not parsed.bozo, f"{path}: feedparser bozo: {parsed.get('bozo_exception')!r}"
    assert_valid(data, fmt)
    for fragment in feed_html(path):
        problems = html_problems(fragment)
        assert not problems, f"{path}: {problems[:5]}"
    return parsed


def feed_files(out: Path) -> list[Path]:
    """Feed documents under ``out`` (not the hidden manifest, cache or temporary files)."""
    return sorted(p for p in out.rglob("*") if p.is_file() and p.suffix in FEED_SUFFIXES and not p.name.startswith("."))


def assert_output_sound(out: Path, *, feedparser_sample: int = 60) -> int:
    """Every feed document under ``out`` is sound and lies inside ``out``; returns how many were checked.

    lxml, the spec checks and the HTML safety checks run on every document; feedparser (slow: ~40 ms a document)
    on the site-wide feeds and an evenly spread sample of at most ``feedparser_sample`` others.
    """
    files = feed_files(out)
    assert files, f"no feed documents in {out}"
    real_out = out.resolve()
    step = max(1, len(files) // feedparser_sample)
    for i, path in enumerate(files):
        assert real_out in path.resolve().parents, f"{path} is outside {out}"
        assert_feed_sound(path, with_feedparser=i % step == 0 or path.parent == out)
    for path in out.rglob("*.opml"):
        etree.fromstring(path.read_bytes())
    for path in out.rglob("*.html"):
        assert_page_sound(path)
    return len(files)


def assert_page_sound(path: Path) -> None:
    """A page for people (feedpages.py, pages.py): no active content, one style sheet (the one its CSP allows)."""
    page = html.fromstring(path.read_bytes())
    body = page.find("body")
    assert body is not None, path
    problems = [
        problem
        for element in body
        for problem in html_problems(html.tostring(element, encoding="unicode", method="xml"))
        if not problem.startswith("fragment is not well-formed")  # an HTML page, not an XML fragment
    ]
    assert not problems, (path, problems)
    assert not page.xpath("//script | //iframe | //object | //embed | //form | //body//style | //*[@style]"), path
    assert len(page.xpath("//head/style")) == 1, path


def entry_titles(path: Path) -> list[str]:
    """Entry titles of a feed document as a feed reader sees them."""
    if path.suffix == ".json":
        return [item.get("title", "") for item in json.loads(path.read_bytes())["items"]]
    return [entry.get("title", "") for entry in feedparser.parse(path.read_bytes()).entries]
