"""The feed formats, described once: a row of ``FORMATS`` each, and a module that writes it.

Adding a format is one row here and its module (an entry writer and a document writer). Every part of syndicate that
needs a format's media type, file suffix or name on the index page reads it here; builds render ``FEED_FORMATS``, in
that order. An unknown name raises ``UnknownFormat`` rather than falling back to a default. A media type is defined
in its format's module, whose document names it too (Atom's and RSS's self links), since that module cannot import
this table, which imports it; everything else reads it here.

OPML is not a row: it is not a feed format (no entries, no pages, one document listing the feeds), so a row for it
would carry writers that cannot be called and every loop over the formats would have to skip it. Its media type is
``opml.MEDIA_TYPE``, beside the code that writes it, as metrics.MEDIA_TYPE is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syndicate import atom, jekyllfeed, jsonfeed, rss
from syndicate.config import Settings
from syndicate.posts import Post

if TYPE_CHECKING:
    from syndicate.feeds import Page


class UnknownFormat(KeyError):
    """A format name that is not in ``FORMATS``. A KeyError, not a ValueError: the build reads a ValueError from a
    writer as a post that cannot be written, and an unknown format is a mistake in the code, not in a post."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown feed format {self.name!r}: the formats are {', '.join(FORMATS)}"


@dataclass(frozen=True)
class Format:
    """One feed format: how its documents are named, served, listed and written."""

    name: str  # the file suffix, e.g. "atom" in all.atom
    media_type: str  # the Content-Type its documents are served with
    label: str  # the link text on the index page
    # One entry's bytes, from a post and its cleaned HTML (None: summary only); ValueError if it cannot be written.
    write_entry: Callable[[Post, str | None], bytes]
    # A page's document, its entries' bytes (from write_entry) spliced in, in order.
    write_document: Callable[[Settings, Page, Sequence[bytes]], bytes]

    @property
    def link_type(self) -> str:
        """The media type without parameters, as a link's ``type`` attribute gives it (feed autodiscovery, Atom's
        self link)."""
        return self.media_type.partition(";")[0]


class _Table(dict[str, Format]):
    """The formats by name; looking up an unknown one raises UnknownFormat (``in`` and ``get`` do not)."""

    def __missing__(self, name: str) -> Format:
        raise UnknownFormat(name)


FORMATS: Mapping[str, Format] = _Table(
    (row.name, row)
    for row in (
        Format("atom", atom.MEDIA_TYPE, "Atom", atom.write_entry, atom.write_document),
        Format("rss", rss.MEDIA_TYPE, "RSS", rss.write_entry, rss.write_document),
        Format("json", jsonfeed.MEDIA_TYPE, "JSON Feed", jsonfeed.write_entry, jsonfeed.write_document),
        # jekyll-feed's documents of a Jekyll site (jekyllfeed.py): Atom entries under jekyll-feed's head, at its paths.
        Format(
            jekyllfeed.SUFFIX,
            jekyllfeed.MEDIA_TYPE,
            "Atom (jekyll-feed)",
            jekyllfeed.write_entry,
            jekyllfeed.write_document,
        ),
    )
)
# The feed formats every feed is built in, in the order builds render them (the table's); jekyll-feed's documents
# are a few more pages of some feeds (plan.py), not a format every feed has.
FEED_FORMATS = tuple(name for name in FORMATS if name != jekyllfeed.SUFFIX)
# The order builds render formats in (render.rendered_entries).
FORMAT_ORDER = tuple(FORMATS)
