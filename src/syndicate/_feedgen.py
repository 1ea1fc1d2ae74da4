"""The feed-level part ("head") of Atom and RSS documents, written by feedgen: everything but the entries.

feedgen's traps, worked around here on purpose: ``updated`` defaults to the wall clock, so the head's is always set
from post data (the same posts give byte-identical feeds); its ``formatRFC2822`` switches the process-wide locale, so
the RSS ``lastBuildDate`` is replaced by ours (``dates.format_rfc822``). feedgen cannot write RFC 5005 archive links,
``fh:archive`` or the ``dc:`` namespace that RSS items use; ``_FeedExtension`` adds them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from syndicate import __version__
from syndicate.config import Settings
from syndicate.dates import as_written, format_rfc822, format_rfc3339
from syndicate.documents import feed_url
from syndicate.polling import SAMPLE, Schedule, schedule_of

if TYPE_CHECKING:
    from syndicate.feeds import Page

ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005
DC_NS = "http://purl.org/dc/elements/1.1/"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"  # RSS syndication module: sy:updatePeriod, sy:updateFrequency
GENERATOR = "syndicate"
GENERATOR_URI = "https://github.com/syndicate-feeds/syndicate"
# Atom requires feed/updated; a feed without entries gets this fixed instant rather than the build time.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)

# The two documents feedgen writes: the name is the file suffix (and the format's name in formats.FORMATS).
Flavor = Literal["atom", "rss"]


class _FeedExtension(BaseExtension):  # type: ignore[misc]
    """Feed-level elements feedgen cannot write: RFC 5005 archive links and fh:archive, the WebSub hub link in RSS,
    the RSS syndication module's schedule, the dc namespace for RSS."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str, str | None]] = []  # (rel, href, type or None)
        self.schedule: Schedule | None = None  # RSS only: sy:updatePeriod and sy:updateFrequency
        self.archive = False
        self.plain_description = False  # the channel description is plain text (a title), not configured HTML
        self.last_build_date = ""  # the channel's lastBuildDate as we write it (see dates.format_rfc822)

    def extend_ns(self) -> dict[str, str]:
        return {"fh": FH_NS, "dc": DC_NS, "sy": SY_NS}

    def extend_atom(self, feed: Any) -> Any:
        for rel, href, media_type in self.links:
            etree.SubElement(feed, "link", _link_attributes(rel, href, media_type))
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        description = channel.find("description")
        if self.plain_description and description is not None and description.text:
            # Readers render an RSS description as HTML: a category named "<script>" must stay text.
            description.text = html.escape(description.text, quote=False)
        last_build_date = channel.find("lastBuildDate")
        if last_build_date is not None and self.last_build_date:
            last_build_date.text = self.last_build_date
        for rel, href, media_type in self.links:
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", _link_attributes(rel, href, media_type))
        if self.schedule is not None:
            etree.SubElement(channel, f"{{{SY_NS}}}updatePeriod").text = self.schedule.update_period
            etree.SubElement(channel, f"{{{SY_NS}}}updateFrequency").text = str(self.schedule.update_frequency)
        if self.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        return feed


def _link_attributes(rel: str, href: str, media_type: str | None) -> dict[str, str]:
    return {"rel": rel, "href": href} if media_type is None else {"rel": rel, "href": href, "type": media_type}


def page_schedule(settings: Settings, page: Page) -> Schedule:
    """How often the page is worth polling (``polling``), from its entries' publication dates."""
    return schedule_of(settings, [entry.post.date for entry in page.entries[:SAMPLE]], archive=page.archive)


def _generator(
    settings: Settings, page: Page, fmt: Flavor, media_type: str, updated: datetime | None = None
) -> FeedGenerator:
    """The feed-level part of a document (everything but the entries); ``updated`` stands in for the page's."""
    fg = FeedGenerator()
    ext = _FeedExtension()
    fg.register_extension("syndicate", lambda: ext)
    self_url = feed_url(settings, page.path, fmt, page.query)
    current_url = feed_url(settings, page.current, fmt)
    link_type = media_type.split(";")[0]
    # The feed's identity is its subscription URL, the same for every page of it (RFC 5005 paged feeds); a query
    # feed is a feed of its own, identified by its URL.
    fg.id(feed_url(settings, page.path, "atom", page.query) if page.query else feed_url(settings, page.current, "atom"))
    fg.title(page.title)
    when = as_written(updated or page.updated or EMPTY_FEED_UPDATED)
    fg.updated(when)  # feedgen writes Atom's as when.isoformat()
    ext.last_build_date = format_rfc822(when).decode("ascii")
    fg.link(href=self_url, rel="self", type=link_type)
    fg.link(href=settings.site_url + "/", rel="alternate", type="text/html")
    fg.author({"name": settings.author or settings.title})
    fg.generator(GENERATOR, version=__version__, uri=GENERATOR_URI)
    fg.description(settings.description or page.title)
    ext.plain_description = not settings.description
    fg.language(settings.language)
    schedule = page_schedule(settings, page)
    fg.ttl(schedule.ttl)
    ext.schedule = schedule
    if settings.icon:
        fg.icon(settings.icon)
    if settings.logo:
        fg.logo(settings.logo)
    if settings.logo or settings.icon:
        # RSS 2.0 <image> needs url, title and link; the W3C validator wants the channel's title and link there.
        fg.image(url=settings.logo or settings.icon, title=page.title, link=settings.site_url + "/")
    if settings.hub:
        # WebSub §4: the hub link beside the self link. Written by the extension, not fg.link(): feedgen makes the
        # last link it was given the RSS channel's <link>, which must stay the site's.
        ext.links.append(("hub", settings.hub, None))
    if page.archive:
        ext.archive = True
        ext.links.append(("current", current_url, link_type))
    if page.prev_archive:
        ext.links.append(("prev-archive", feed_url(settings, page.prev_archive, fmt), link_type))
    return fg


# feedgen is slow to write a head, and a large site has thousands of them (mostly archive pages; docs/benchmarks.md).
# Heads differ only in the page's own URL, the next older page's URL, the updated time, the feed's subscription URL
# and its title, so feedgen writes one head per format and kind of page (and schedule) with stand-ins for those, and
# each page's head is that template with its values put in: a few templates for a site, not a few per feed (each
# costs two feedgen heads, and the archive workers each make their own). The stand-ins are ASCII letters and digits,
# which percent-encoding and XML escaping leave as they are, and the values put in need no escaping either
# (percent-encoded paths, ASCII dates, a title that ``_is_plain``; any other title is written by feedgen into a
# template of that feed's own). A template with a stand-in anywhere else (a title that contains one, say), or that
# does not give feedgen's head of the page it was made for, is not used, and those heads come from feedgen.
_STAND_IN_MARK = "zq7"
_SELF = "zq7selfzq7"
_PREV = "zq7prevzq7"
_CURRENT = "zq7currentzq7"
_TITLE = "zq7titlezq7"
_REPEATED = (_CURRENT, _TITLE)
_WHEN = datetime(1903, 4, 5, 6, 7, 8, tzinfo=UTC)
_WHEN_TEXT = {"atom": _WHEN.isoformat(), "rss": "Sun, 05 Apr 1903 06:07:08 +0000"}
_STAND_INS = re.compile("(" + "|".join(map(re.escape, (_SELF, _PREV, _CURRENT, _TITLE, *_WHEN_TEXT.values()))) + ")")
# Characters a plain title may hold: all but what XML or HTML escape (in text or an attribute), controls, white
# space other than the space (attribute normalisation), and what XML forbids (feedgen refuses it).
_PLAIN_TITLE = re.compile("[^&<>\"'\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]*")
_NO_TEMPLATE: tuple[str | bytes, ...] = ()
_templates: dict[tuple[object, ...], tuple[str | bytes, ...]] = {}


def feedgen_head(
    settings: Settings, page: Page, fmt: Flavor, media_type: str, updated: datetime | None = None
) -> bytes:
    """The head as feedgen writes it, entries left out: the reference ``write_head``'s templates are checked against."""
    generator = _generator(settings, page, fmt, media_type, updated)
    return bytes(generator.atom_str(pretty=False) if fmt == "atom" else generator.rss_str(pretty=False))


def write_head(settings: Settings, page: Page, fmt: Flavor, media_type: str) -> bytes:
    """The page's head, ``feedgen_head``'s bytes: from its kind's template when there is one, else from feedgen."""
    updated = as_written(page.updated or EMPTY_FEED_UPDATED)  # as _generator gives it to feedgen
    if page.query or updated.utcoffset() is None:
        # query feeds: rare; a date without offset: feedgen refuses it
        return feedgen_head(settings, page, fmt, media_type)
    key = (
        *(getattr(settings, name) for name in _HEAD_SETTINGS),
        None if _is_plain(page.title) else page.title,
        page.archive,
        page.prev_archive is not None,
        page_schedule(settings, page).seconds,
        fmt,
        media_type,
    )
    template = _templates.get(key)
    if template is None:
        template = _template(settings, page, fmt, media_type)
        if len(_templates) >= 4096:  # a long-running server whose feeds came and went
            _templates.clear()
        _templates[key] = template
        if template is not _NO_TEMPLATE:
            reference = feedgen_head(settings, page, fmt, media_type)
            if _fill(template, page, fmt, updated) != reference:
                _templates[key] = _NO_TEMPLATE
            return reference
    if template is _NO_TEMPLATE:
        return feedgen_head(settings, page, fmt, media_type)
    return _fill(template, page, fmt, updated)


# Everything of the settings that _generator writes into a head (the schedule is in the key on its own).
_HEAD_SETTINGS = ("feeds_url", "site_url", "author", "title", "description", "language", "hub", "icon", "logo")


def _is_plain(title: str) -> bool:
    """Whether feedgen writes ``title`` as it is wherever it puts it (in text, in an attribute, through the RSS
    description's escaping): nothing XML or HTML escapes, no control, white space but the space, or stand-in."""
    return _PLAIN_TITLE.fullmatch(title) is not None and _STAND_IN_MARK not in title


def _template(settings: Settings, page: Page, fmt: Flavor, media_type: str) -> tuple[str | bytes, ...]:
    # The entries stay: the schedule (RSS ttl, sy:*) comes from their dates; the updated time is _WHEN's.
    stand_in = replace(
        page,
        path=_SELF,
        current=_CURRENT,
        title=_TITLE if _is_plain(page.title) else page.title,
        prev_archive=_PREV if page.prev_archive else None,
    )
    head = feedgen_head(settings, stand_in, fmt, media_type, _WHEN).decode("utf-8")
    # split() gives literal text and stand-ins alternating: literals encoded now, stand-ins kept as their names.
    pieces: list[str | bytes] = [
        piece.encode("utf-8") if n % 2 == 0 else piece for n, piece in enumerate(_STAND_INS.split(head))
    ]
    # Each stand-in where feedgen writes its value, once: a second one came from the title, the settings or the
    # feed's own path, and filling it in would change them. The subscription document's path and the title are
    # written more than once (id and link; title and description); one of them put in where the settings held a
    # stand-in's text makes the check against feedgen's head in write_head fail.
    expected = sorted([_SELF, _WHEN_TEXT[fmt], *([_PREV] if page.prev_archive else [])])
    if sorted(piece for piece in pieces[1::2] if isinstance(piece, str) and piece not in _REPEATED) != expected:
        return _NO_TEMPLATE
    return tuple(pieces)


def _fill(template: tuple[str | bytes, ...], page: Page, fmt: Flavor, updated: datetime) -> bytes:
    # Only this format's date, and the older page's URL only where there is one (_template checked which are there).
    values = {
        _SELF: quote(page.path, safe="/").encode("ascii"),
        _CURRENT: quote(page.current, safe="/").encode("ascii"),
        _TITLE: page.title.encode("utf-8"),
        _WHEN_TEXT[fmt]: format_rfc3339(updated).encode("ascii") if fmt == "atom" else format_rfc822(updated),
    }
    if page.prev_archive:
        values[_PREV] = quote(page.prev_archive, safe="/").encode("ascii")
    return b"".join(piece if isinstance(piece, bytes) else values[piece] for piece in template)


def splice(head: bytes, end_tag: bytes, entries: Sequence[bytes]) -> bytes:
    """A document: ``head`` (a feed-level element with no entries) with ``entries`` put in, in order, before its
    last ``end_tag`` (``</feed>``, ``</channel>``)."""
    cut = head.rindex(end_tag)
    return head[:cut] + b"".join(entries) + head[cut:]
