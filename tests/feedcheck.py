"""Checks of feed documents against their specifications, for tests.

No installable package ships the Atom RELAX NG schema (RFC 4287 Appendix B), so the requirements it and the RFC's
prose state are encoded here as checks of our own, run over lxml trees: element cardinalities, required children,
date formats, URI-ness of ids and links, link relation rules. Likewise for RSS 2.0 (rssboard.org specification) and
JSON Feed 1.1. Each check returns a list of problems; ``assert_valid_*`` fails with all of them.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

A = "{http://www.w3.org/2005/Atom}"
FH = "{http://purl.org/syndication/history/1.0}"
SY = "{http://purl.org/rss/1.0/modules/syndication/}"
# RFC 3339 date-time as RFC 4287 §3.3 requires (upper-case T and Z, seconds required, offset required).
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ATOM_TEXT_TYPES = {"text", "html", "xhtml"}


def is_uri(value: str | None) -> bool:
    """An absolute URI (RFC 3986): a scheme, no whitespace, no characters outside ASCII (an IRI is not a URI)."""
    if not value or any(ord(c) > 126 or c.isspace() or ord(c) < 33 for c in value):
        return False
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value)) and bool(urlsplit(value).scheme)


def _count(parent: etree._Element, tag: str) -> int:
    return len(parent.findall(tag))


def _check_text_construct(el: etree._Element, where: str) -> list[str]:
    kind = el.get("type", "text")
    problems = []
    if kind not in ATOM_TEXT_TYPES:
        problems.append(f"{where}: type {kind!r} is not text, html or xhtml")
    if kind in ("text", "html") and len(el):
        problems.append(f"{where}: type {kind} must not contain child elements")
    return problems


def _check_person(el: etree._Element, where: str) -> list[str]:
    if _count(el, f"{A}name") != 1:
        return [f"{where}: a Person construct needs exactly one atom:name"]
    return []


def _check_date(el: etree._Element | None, where: str) -> list[str]:
    if el is None or not el.text or not RFC3339.match(el.text):
        return [f"{where}: not an RFC 3339 date-time: {None if el is None else el.text!r}"]
    return []


def _check_links(parent: etree._Element, where: str) -> list[str]:
    problems = []
    alternates: Counter[tuple[str | None, str | None]] = Counter()
    for link in parent.findall(f"{A}link"):
        href = link.get("href")
        if not is_uri(href):
            problems.append(f"{where}: link href is not an absolute URI: {href!r}")
        if link.get("rel", "alternate") == "alternate":
            alternates[(link.get("type"), link.get("hreflang"))] += 1
    for key, n in alternates.items():
        if n > 1:
            problems.append(f"{where}: {n} alternate links with the same type and hreflang {key}")
    return problems


def check_atom(data: bytes) -> list[str]:
    """RFC 4287 requirements for an Atom feed document."""
    root = etree.fromstring(data)
    if root.tag != f"{A}feed":
        return [f"root element is {root.tag}, not atom:feed"]
    problems: list[str] = []
    for tag in ("id", "title", "updated"):
        if _count(root, f"{A}{tag}") != 1:
            problems.append(f"feed: needs exactly one atom:{tag}")
    for tag in ("generator", "icon", "logo", "rights", "subtitle"):
        if _count(root, f"{A}{tag}") > 1:
            problems.append(f"feed: more than one atom:{tag}")
    if not is_uri(root.findtext(f"{A}id")):
        problems.append(f"feed: atom:id is not a URI: {root.findtext(f'{A}id')!r}")
    problems += _check_date(root.find(f"{A}updated"), "feed/updated")
    title = root.find(f"{A}title")
    if title is not None:
        problems += _check_text_construct(title, "feed/title")
    feed_has_author = _count(root, f"{A}author") > 0
    for author in root.findall(f"{A}author"):
        problems += _check_person(author, "feed/author")
    problems += _check_links(root, "feed")
    if not any(link.get("rel") == "self" for link in root.findall(f"{A}link")):
        problems.append("feed: no rel=self link (RFC 4287 §4.2.7.2: SHOULD)")
    for tag in ("icon", "logo"):  # RFC 4287 §4.2.5, §4.2.8: an IRI reference (the W3C validator: a full URI)
        if root.find(f"{A}{tag}") is not None and not is_uri(root.findtext(f"{A}{tag}")):
            problems.append(f"feed/{tag}: not a URI: {root.findtext(f'{A}{tag}')!r}")
    problems += _check_websub_links(root.findall(f"{A}link"), "feed")
    ids: Counter[str] = Counter()
    for i, entry in enumerate(root.findall(f"{A}entry")):
        where = f"entry[{i}]"
        for tag in ("id", "title", "updated"):
            if _count(entry, f"{A}{tag}") != 1:
                problems.append(f"{where}: needs exactly one atom:{tag}")
        for tag in ("content", "published", "rights", "source", "summary"):
            if _count(entry, f"{A}{tag}") > 1:
                problems.append(f"{where}: more than one atom:{tag}")
        entry_id = entry.findtext(f"{A}id") or ""
        ids[entry_id] += 1
        if not is_uri(entry_id):
            problems.append(f"{where}: atom:id is not a URI: {entry_id!r}")
        problems += _check_date(entry.find(f"{A}updated"), f"{where}/updated")
        if entry.find(f"{A}published") is not None:
            problems += _check_date(entry.find(f"{A}published"), f"{where}/published")
        if not feed_has_author and entry.find(f"{A}author") is None and entry.find(f"{A}source/{A}author") is None:
            problems.append(f"{where}: no atom:author in the entry or the feed (RFC 4287 §4.1.1)")
        for author in entry.findall(f"{A}author"):
            problems += _check_person(author, f"{where}/author")
        content = entry.find(f"{A}content")
        links = entry.findall(f"{A}link")
        if content is None and not any(link.get("rel", "alternate") == "alternate" for link in links):
            problems.append(f"{where}: neither atom:content nor an alternate link (RFC 4287 §4.1.2)")
        if content is not None:
            ctype = content.get("type", "text")
            if content.get("src") is None and ctype not in ATOM_TEXT_TYPES and "/" not in ctype:
                problems.append(f"{where}/content: bad type {ctype!r}")
            if ctype in ("text", "html") and len(content):
                problems.append(f"{where}/content: type {ctype} must not contain child elements")
        for tag in ("title", "summary", "rights"):
            el = entry.find(f"{A}{tag}")
            if el is not None:
                problems += _check_text_construct(el, f"{where}/{tag}")
        problems += _check_links(entry, where)
        for category in entry.findall(f"{A}category"):
            if not category.get("term"):
                problems.append(f"{where}: atom:category without term")
        source = entry.find(f"{A}source")
        if source is not None:
            for tag in ("id", "title", "updated"):
                if _count(source, f"{A}{tag}") > 1:
                    problems.append(f"{where}/source: more than one atom:{tag}")
                elif _count(source, f"{A}{tag}") == 0:  # the W3C validator's MissingSourceElement warning
                    problems.append(f"{where}/source: no atom:{tag}")
            if source.find(f"{A}updated") is not None:
                problems += _check_date(source.find(f"{A}updated"), f"{where}/source/updated")
            if source.find(f"{A}id") is not None and not is_uri(source.findtext(f"{A}id")):
                problems.append(f"{where}/source: atom:id is not a URI")
            problems += _check_links(source, f"{where}/source")
    for entry_id, n in ids.items():
        if n > 1:
            problems.append(f"entries share the atom:id {entry_id!r}")
    return problems


def check_rss(data: bytes) -> list[str]:
    """RSS 2.0 requirements (https://www.rssboard.org/rss-specification) plus the atom:link self recommendation."""
    root = etree.fromstring(data)
    if root.tag != "rss" or root.get("version") != "2.0":
        return ["root element is not <rss version='2.0'>"]
    channel = root.find("channel")
    if channel is None:
        return ["no <channel>"]
    problems: list[str] = []
    for tag in ("title", "link", "description"):
        if _count(channel, tag) != 1:
            problems.append(f"channel: needs exactly one <{tag}>")
    if not any(link.get("rel") == "self" for link in channel.findall(f"{A}link")):
        problems.append("channel: no atom:link rel=self")
    for tag in ("pubDate", "lastBuildDate"):
        text = channel.findtext(tag)
        if text is not None:
            try:
                parsedate_to_datetime(text)
            except (TypeError, ValueError):
                problems.append(f"channel/{tag}: not an RFC 822 date: {text!r}")
    ttl = channel.findtext("ttl")
    if ttl is not None and not ttl.isdigit():
        problems.append("channel/ttl: not a number of minutes")
    link = channel.findtext("link")
    if not is_uri(link):
        problems.append(f"channel/link: not a URL: {link!r}")
    problems += _check_rss_image(channel)
    problems += _check_websub_links(channel.findall(f"{A}link"), "channel")
    period, frequency = channel.findtext(f"{SY}updatePeriod"), channel.findtext(f"{SY}updateFrequency")
    if period is not None and period not in ("hourly", "daily", "weekly", "monthly", "yearly"):
        problems.append(f"channel/sy:updatePeriod: {period!r} is not hourly, daily, weekly, monthly or yearly")
    if frequency is not None and not (frequency.isdigit() and int(frequency) > 0):
        problems.append(f"channel/sy:updateFrequency: {frequency!r} is not a positive integer")
    for i, item in enumerate(channel.findall("item")):
        where = f"item[{i}]"
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: needs a title or a description")
        for tag in ("title", "link", "description", "guid", "pubDate", "source", "comments"):
            if _count(item, tag) > 1:
                problems.append(f"{where}: more than one <{tag}>")
        guid = item.find("guid")
        if guid is not None and guid.get("isPermaLink", "true") == "true" and not is_uri(guid.text):
            problems.append(f"{where}/guid: isPermaLink but not a URL: {guid.text!r}")
        pub = item.findtext("pubDate")
        if pub is not None:
            try:
                parsedate_to_datetime(pub)
            except (TypeError, ValueError):
                problems.append(f"{where}/pubDate: not an RFC 822 date: {pub!r}")
        source = item.find("source")
        if source is not None and not is_uri(source.get("url")):
            problems.append(f"{where}/source: url attribute missing or not a URL")
        link = item.findtext("link")
        if link is not None and not is_uri(link):
            problems.append(f"{where}/link: not a URL: {link!r}")
    return problems


def _check_rss_image(channel: etree._Element) -> list[str]:
    """RSS 2.0 <image>: url, title and link required; the W3C validator warns when title and link differ from the
    channel's (ImageTitleDoesntMatch, ImageLinkDoesntMatch)."""
    images = channel.findall("image")
    if len(images) > 1:
        return ["channel: more than one <image>"]
    if not images:
        return []
    image, problems = images[0], []
    for tag in ("url", "title", "link"):
        if _count(image, tag) != 1:
            problems.append(f"channel/image: needs exactly one <{tag}>")
    if not is_uri(image.findtext("url")) or not is_uri(image.findtext("link")):
        problems.append("channel/image: url and link must be URLs")
    if image.findtext("title") != channel.findtext("title"):
        problems.append("channel/image: title is not the channel's (W3C ImageTitleDoesntMatch)")
    if image.findtext("link") != channel.findtext("link"):
        problems.append("channel/image: link is not the channel's (W3C ImageLinkDoesntMatch)")
    return problems


def _check_websub_links(links: list[etree._Element], where: str) -> list[str]:
    """WebSub §4: a feed naming a hub names its topic too (a rel=self link); at most one self link; every href a URI."""
    problems = []
    rels = Counter(link.get("rel") for link in links)
    if rels["hub"] and not rels["self"]:
        problems.append(f"{where}: a rel=hub link without a rel=self link (WebSub §4)")
    if rels["self"] > 1:
        problems.append(f"{where}: more than one rel=self link")
    for link in links:
        if not is_uri(link.get("href")):
            problems.append(f"{where}: atom:link href is not a URI: {link.get('href')!r}")
    return problems


def check_json_feed(data: bytes) -> list[str]:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) required fields and types."""
    feed: Any = json.loads(data)
    problems: list[str] = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version is not https://jsonfeed.org/version/1.1")
    if not isinstance(feed.get("title"), str):
        problems.append("title missing")
    if not isinstance(feed.get("items"), list):
        return [*problems, "items missing"]
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon"):
        if key in feed and not is_uri(feed[key]):
            problems.append(f"{key} is not a URL")
    for hub in feed.get("hubs", []):
        if not (isinstance(hub, dict) and isinstance(hub.get("type"), str) and is_uri(hub.get("url"))):
            problems.append(f"hubs: {hub!r} needs a type and a URL")
    if feed.get("hubs") and "feed_url" not in feed:
        problems.append("hubs without a feed_url (the topic a subscriber subscribes to)")
    ids: Counter[str] = Counter()
    for i, item in enumerate(feed["items"]):
        where = f"items[{i}]"
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id missing")
        else:
            ids[item["id"]] += 1
        if "content_html" not in item and "content_text" not in item:
            problems.append(f"{where}: needs content_html or content_text")
        for key in ("url", "external_url"):
            if key in item and not is_uri(item[key]):
                problems.append(f"{where}: {key} is not a URL")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(item[key]):
                problems.append(f"{where}: {key} is not RFC 3339")
        for key in item:
            if key not in {
                "id",
                "url",
                "external_url",
                "title",
                "content_html",
                "content_text",
                "summary",
                "image",
                "banner_image",
                "date_published",
                "date_modified",
                "authors",
                "tags",
                "language",
                "attachments",
            } and not key.startswith("_"):
                problems.append(f"{where}: unknown key {key!r} (extensions must start with '_')")
    for item_id, n in ids.items():
        if n > 1:
            problems.append(f"items share the id {item_id!r}")
    return problems


def assert_valid(data: bytes, fmt: str) -> None:
    checker = {"atom": check_atom, "rss": check_rss, "json": check_json_feed}[fmt]
    problems = checker(data)
    assert not problems, "\n".join(problems)
