"""What reading a post file gives: a ``Post`` (one publishable post's metadata) or a ``Rejection`` (a file that
cannot be published, and why), and the ways a post's fields are held (shared between posts, its text kept out of
memory: summaries.py).

The values, apart from the parser that makes them (posts.py): a server that serves the last build's documents
(resume.py) and the parts that only hold or pass posts import these without the parser's libraries (YAML, Markdown,
the date parser), which its first build imports when it needs them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syndicate import summaries


@dataclass(frozen=True)
class Rejection:
    """A post file that cannot be published: its path (relative to the posts directory) and the reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Extras:
    """A post's fields that nearly every post of a site has alike: the site's URL, and those most posts leave at their
    defaults. One value for all the posts that have the same (``share_values``), held by each in one field: 100k posts
    would hold ten fields each, most of them the same."""

    site: str
    published: bool = True
    notes: tuple[str, ...] = ()
    entry_id: str = ""
    image: str = ""
    excerpt_only: bool = False
    collection: str = ""
    author_email: str = ""
    author_uri: str = ""
    lang: str = ""


class Post:
    """One publishable post's metadata. Dates are timezone-aware. A value: immutable, equal to a post with the same
    fields.

    Its fields are the constructor's (``FIELDS``). What most posts have alike is held in one shared ``Extras``, and
    the text only entries show (title, slug, source URL and summary) in one field, or where it is kept out of memory
    (``summary_at``): a million posts held 26 fields each.
    """

    __slots__ = (
        "path",  # relative to the posts directory, POSIX separators
        "digest",  # hash of the file's bytes: identifies this version of the post
        "date",
        "updated",
        "categories",
        "tags",
        "author",
        "permalink",  # site-relative, percent-encoded path
        "source_name",
        # Everyone the post names as its author (front matter ``author`` and ``authors``, else the default author), in
        # order: the author feeds it is in (groups.py). ``author`` is what an entry shows.
        "authors",
        "text",  # (title, slug, source_url, summary), or where they are kept out of memory (see ``summary_at``)
        "extras",
    )

    path: str
    digest: str
    date: datetime
    updated: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str
    permalink: str
    source_name: str | None
    authors: tuple[str, ...]
    text: tuple[str, str, str | None, str] | int
    extras: Extras

    def __init__(
        self,
        path: str,
        digest: str,
        title: str,
        slug: str,
        date: datetime,
        updated: datetime,
        categories: tuple[str, ...],
        tags: tuple[str, ...],
        author: str,
        permalink: str,
        site: str,  # the site's URL, one string shared by every post (see ``url``)
        summary: str,  # plain text; "" when kept out of memory (summary_at)
        source_name: str | None,
        source_url: str | None,
        published: bool,  # False for ``published: false``
        notes: tuple[str, ...] = (),  # things worth telling the author that did not stop the post (e.g. decoded GBK)
        # A Jekyll site's post (site.py): its id as Jekyll makes it (a site-relative path, see ``id``; "" elsewhere)
        # and its ``image`` as an absolute URL ("" for none).
        entry_id: str = "",
        image: str = "",
        # A Jekyll site's post with jekyll-feed's ``feed: {excerpt_only: true}``: its entries carry the summary only.
        excerpt_only: bool = False,
        # A Jekyll site's document of another collection than posts (the collection's label; "" for a post): listed
        # in jekyll-feed's feeds of that collection (``feed.collections``), never in the site's own feeds.
        collection: str = "",
        authors: tuple[str, ...] = (),
        # A Jekyll site's post: the email and URI of the author its entries show (jekyll-feed's, from the author's
        # mapping or ``_data/authors.yml``), and its own ``lang`` (an Atom entry's xml:lang); "" for none.
        author_email: str = "",
        author_uri: str = "",
        lang: str = "",
        # Where the post's text (title, slug, source URL and summary: what only its entries show) is kept out of
        # memory (summaries.py), with those fields left empty; -1: the fields hold it. Read it with ``in_full`` (or
        # the summary alone with ``summary_of``).
        summary_at: int = -1,
    ) -> None:
        extras = Extras(
            site, published, notes, entry_id, image, excerpt_only, collection, author_email, author_uri, lang
        )
        text = summary_at if summary_at >= 0 else (title, slug, source_url, summary)
        _build(
            self, (path, digest, date, updated, categories, tags, author, permalink, source_name, authors, text, extras)
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Post is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Post is immutable")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Post:
            return NotImplemented
        return _HELD_OF(self) == _HELD_OF(other)

    def __hash__(self) -> int:
        return hash(_HELD_OF(self))

    def __repr__(self) -> str:
        return (
            "Post(" + ", ".join(f"{name}={value!r}" for name, value in zip(FIELDS, _FIELDS_OF(self), strict=True)) + ")"
        )

    def __reduce__(self) -> tuple[Callable[..., Post], tuple[Any, ...]]:
        # Posts cross process boundaries by the thousand (parse workers send every post to the build): the held
        # fields as a tuple, its shared parts (extras, term lists) sent once per batch.
        return _held, _HELD_OF(self)

    @property
    def title(self) -> str:
        text = self.text
        return text[0] if type(text) is tuple else ""

    @property
    def slug(self) -> str:
        text = self.text
        return text[1] if type(text) is tuple else ""

    @property
    def source_url(self) -> str | None:
        text = self.text
        return text[2] if type(text) is tuple else None

    @property
    def summary(self) -> str:
        text = self.text
        return text[3] if type(text) is tuple else ""

    @property
    def summary_at(self) -> int:
        text = self.text
        return text if type(text) is int else -1

    @property
    def site(self) -> str:
        return self.extras.site

    @property
    def published(self) -> bool:
        return self.extras.published

    @property
    def notes(self) -> tuple[str, ...]:
        return self.extras.notes

    @property
    def entry_id(self) -> str:
        return self.extras.entry_id

    @property
    def image(self) -> str:
        return self.extras.image

    @property
    def excerpt_only(self) -> bool:
        return self.extras.excerpt_only

    @property
    def collection(self) -> str:
        return self.extras.collection

    @property
    def author_email(self) -> str:
        return self.extras.author_email

    @property
    def author_uri(self) -> str:
        return self.extras.author_uri

    @property
    def lang(self) -> str:
        return self.extras.lang

    @property
    def url(self) -> str:
        """Absolute URL: the entry's link and the base of its id. Made on access rather than held: 100k posts would
        hold 100k copies of the site's URL in front of their permalinks."""
        return self.extras.site + self.permalink

    @property
    def id(self) -> str:
        """The entry's id in every format: Jekyll's ``post.id`` made absolute for a Jekyll site's post (jekyll-feed's
        entry id, so readers see the entries they know), else the URL."""
        extras = self.extras
        return extras.site + extras.entry_id if extras.entry_id else extras.site + self.permalink

    def replace(self, **changes: Any) -> Post:
        """A copy with the fields named changed (as ``dataclasses.replace``)."""
        return Post(**{**dict(zip(FIELDS, _FIELDS_OF(self), strict=True)), **changes})

    def to_json(self) -> list[Any]:
        """The post as a JSON array: its fields in the constructor's order, dates as ISO 8601, without
        ``summary_at`` (where this process keeps the text). An array, not an object: a cold build saves every
        post, and writing the names of 16 fields 10k times cost as much as the values."""
        values = list(_SAVED_FIELDS_OF(self))
        at = self.text
        if type(at) is int:  # its text read back, straight into the array (no Post made for it)
            for n, value in zip(_SAVED_TEXT_AT, _text_fields(summaries.read(at)), strict=True):
                values[n] = value
        values[_DATE_AT] = self.date.isoformat()
        values[_UPDATED_AT] = self.updated.isoformat()
        return values  # the term and note tuples are written as arrays

    @classmethod
    def from_json(cls, data: object) -> Post:
        """The post ``to_json`` gave; ValueError for anything else (a row of an older shape, say)."""
        if not isinstance(data, list) or len(data) != len(_SAVED_FIELDS):
            raise ValueError("not a saved post")
        values = list(data)
        date, updated = values[_DATE_AT], values[_UPDATED_AT]
        values[_DATE_AT] = datetime.fromisoformat(date)
        # One object for both when they are equal, as a parse makes them (a post loaded from the cache holds no
        # more than one just parsed: 48 bytes a post).
        values[_UPDATED_AT] = values[_DATE_AT] if updated == date else datetime.fromisoformat(updated)
        for at in _TUPLES_AT:
            values[at] = tuple(values[at])
        return cls(*values)


# Every field of a post, in the constructor's order (``FIELDS``); the saved ones (Post.to_json) and where some of them
# are. Those a Post holds (its slots) and where some of them are.
FIELDS: tuple[str, ...] = Post.__init__.__code__.co_varnames[1 : Post.__init__.__code__.co_argcount]
_FIELDS_OF: Callable[[Post], tuple[Any, ...]] = operator.attrgetter(*FIELDS)
_SAVED_FIELDS = tuple(name for name in FIELDS if name != "summary_at")
_SAVED_FIELDS_OF: Callable[[Post], tuple[Any, ...]] = operator.attrgetter(*_SAVED_FIELDS)
_DATE_AT, _UPDATED_AT = (_SAVED_FIELDS.index(name) for name in ("date", "updated"))
_TUPLES_AT = tuple(_SAVED_FIELDS.index(name) for name in ("categories", "tags", "notes", "authors"))
_HELD_OF: Callable[[Post], tuple[Any, ...]] = operator.attrgetter(*Post.__slots__)
# The slots' own setters: a Post refuses assignment (``__setattr__``), its constructors set each slot once.
_SETTERS = tuple(getattr(Post, name).__set__ for name in Post.__slots__)


def _build(post: Post, values: tuple[Any, ...] | list[Any]) -> None:
    for put, value in zip(_SETTERS, values, strict=True):
        put(post, value)


def _held(*values: Any) -> Post:
    """The Post holding ``values`` (its slots' values, in their order)."""
    post = Post.__new__(Post)
    _build(post, values)
    return post


# Held values whose few distinct values most posts share (a site has a handful of term lists, authors and
# publications, and its posts' extras are mostly one value).
_SHARED_AT = tuple(
    Post.__slots__.index(name) for name in ("categories", "tags", "source_name", "author", "authors", "extras")
)
# The fields kept out of memory with ``summary_at`` (in this order in the store), held together in ``text``.
_TEXT_FIELDS = ("title", "slug", "source_url", "summary")
_SAVED_TEXT_AT = tuple(_SAVED_FIELDS.index(name) for name in _TEXT_FIELDS)
_TEXT_OF: Callable[[Post], tuple[Any, ...]] = operator.attrgetter(*_TEXT_FIELDS)
_TEXT_HELD_AT = Post.__slots__.index("text")


def text_record(post: Post) -> str:
    """The post's text (title, slug, source URL, summary) as one string for the store (summaries.py): the lengths of
    the first three (-1: no source URL), then the four run together. Read back with ``in_full``."""
    title, slug, source_url, summary = _TEXT_OF(post)
    url = "" if source_url is None else source_url
    return f"{len(title)},{len(slug)},{-1 if source_url is None else len(url)},{title}{slug}{url}{summary}"


def _text_fields(record: str) -> tuple[str, str, str | None, str]:
    title_n, slug_n, url_n, rest = record.split(",", 3)
    a, b = int(title_n), int(title_n) + int(slug_n)
    c = b + max(int(url_n), 0)
    return rest[:a], rest[a:b], None if int(url_n) < 0 else rest[b:c], rest[c:]


def share_values(post: Post, shared: dict[object, object], summary_at: int = -1) -> Post:
    """``post`` with its term lists, author, publication and site replaced by equal values already in ``shared``
    (and its own added there), and with ``summary_at`` (when not -1) instead of its text (see ``with_summary_at``):
    a new Post, or ``post`` itself when it holds the shared values already.

    Posts parsed in worker processes (or read from the cache) each bring their own copies of the few term lists and
    names a site has; 100k posts would hold 100k copies of each.
    """
    fields = _HELD_OF(post)
    values = list(fields)
    same = True
    for at in _SHARED_AT:
        value = fields[at]
        if value:
            kept = shared.get(value)
            if kept is None:
                # A list of terms seen first: its names are shared too (tag lists differ from post to post, their
                # names do not).
                kept = shared.setdefault(
                    value, tuple(shared.setdefault(n, n) for n in value) if type(value) is tuple else value
                )
            values[at] = kept
            same = same and kept is value
    if summary_at >= 0:
        values[_TEXT_HELD_AT] = summary_at
        same = False
    return post if same else _held(*values)


def with_summary_at(post: Post, at: int) -> Post:
    """``post`` with its text (``text_record``) kept out of memory at ``at`` (see summaries.py) instead of in its
    fields."""
    values = list(_HELD_OF(post))
    values[_TEXT_HELD_AT] = at
    return _held(*values)


def with_summary(post: Post, summary: str) -> Post:
    """``post`` with its text in memory and ``summary`` as its summary."""
    values = list(_HELD_OF(post))
    title, slug, source_url, _ = _TEXT_OF(in_full(post))
    values[_TEXT_HELD_AT] = (title, slug, source_url, summary)
    return _held(*values)


def in_full(post: Post) -> Post:
    """``post`` with its text in its fields: itself when they hold it, else a copy with the text read back from the
    store (one read). What an entry shows needs it; grouping, ordering and planning do not."""
    at = post.text
    if type(at) is not int:
        return post
    values = list(_HELD_OF(post))
    values[_TEXT_HELD_AT] = _text_fields(summaries.read(at))
    return _held(*values)


def summary_of(post: Post) -> str:
    """The post's summary, wherever it is kept."""
    return post.summary if post.summary_at < 0 else _text_fields(summaries.read(post.summary_at))[3]
