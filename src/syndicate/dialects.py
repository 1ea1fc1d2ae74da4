"""Markdown dialects: which Markdown a post body is written in, as one frozen value.

``POSTS`` is the dialect of ``--posts`` sites: CommonMark with raw HTML, plus the structural extensions every Jekyll
site's Markdown has (GFM tables, ``~~strikethrough~~``, footnotes, definition lists, kramdown's ``{: .class}``
attribute lists). ``kramdown_dialect(config)`` is the Markdown of a Jekyll site, kramdown as Jekyll configures it
from ``_config.yml``'s ``kramdown:`` mapping: the same structure, and also typographic quotes and dashes, header
ids, ``{:toc}``, Markdown inside ``markdown="1"`` HTML blocks and code blocks wrapped as Rouge wraps them.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syndicate.site import JekyllSite

__all__ = ["JEKYLL", "POSTS", "Dialect", "kramdown_dialect", "site_dialect"]

# kramdown's typographic symbols and the text its HTML converter writes for them (entity_output: as_char, Jekyll's
# default): a space next to a guillemet becomes a no-break space.
_SYMBOLS: dict[str, str] = {
    "mdash": "\u2014",
    "ndash": "\u2013",
    "hellip": "\u2026",
    "laquo": "\u00ab",
    "raquo": "\u00bb",
    "laquo_space": "\u00ab\u00a0",
    "raquo_space": "\u00a0\u00bb",
}
_ALL_LEVELS = (1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Dialect:
    """What a post body's Markdown means. Hashable: parsers are built once per dialect."""

    name: str = "posts"
    typographic: bool = False  # smart quotes and symbols (kramdown's smart_quotes and typographic_syms parsers)
    smart_quotes: tuple[str, str, str, str] = ("\u2018", "\u2019", "\u201c", "\u201d")  # lsquo rsquo ldquo rdquo
    symbols: tuple[tuple[str, str], ...] = tuple(_SYMBOLS.items())
    auto_ids: bool = False  # header ids generated from their text
    gfm_ids: bool = True  # the GFM parser's ids (Unicode words kept) rather than kramdown's (ASCII only)
    auto_id_prefix: str = ""
    toc_levels: tuple[int, ...] = _ALL_LEVELS
    hard_wrap: bool = False  # every line break in a paragraph is a <br>
    footnote_nr: int = 1  # the number of the first footnote
    footnote_backlink: str = "\u21a9"
    rouge_blocks: bool = False  # code blocks as Jekyll writes them: <div class="language-x highlighter-rouge">…
    html_markdown: bool = False  # markdown="1" on an HTML block's tag makes its content Markdown


POSTS = Dialect()


def kramdown_dialect(config: Mapping[str, object] | None = None) -> Dialect:
    """The dialect of a Jekyll site whose ``_config.yml`` has ``kramdown: config`` (None or ``{}``: the defaults).

    Options that change what a body says are read (``input``, ``hard_wrap``, ``smart_quotes``,
    ``typographic_symbols``, ``auto_ids``, ``auto_id_prefix``, ``toc_levels``, ``footnote_nr``,
    ``footnote_backlink``, and ``gfm_quirks: no_auto_typographic``); the rest only change markup (entity_output,
    syntax highlighting) or warnings, and a value of the wrong type is Jekyll's default.
    """
    config = config or {}
    gfm = str(config.get("input", "GFM")).lower() != "kramdown"
    quirks = config.get("gfm_quirks", "paragraph_end")
    quirk_list = quirks.split(",") if isinstance(quirks, str) else quirks if isinstance(quirks, list) else []
    quirk_names = {str(q).strip() for q in quirk_list}
    symbols = dict(_SYMBOLS)
    own_symbols = config.get("typographic_symbols")
    if isinstance(own_symbols, Mapping):
        symbols.update({str(k): str(v) for k, v in own_symbols.items() if str(k) in _SYMBOLS})
    backlink = config.get("footnote_backlink", "&#8617;")
    return Dialect(
        name="kramdown",
        typographic=not (gfm and "no_auto_typographic" in quirk_names),
        smart_quotes=_smart_quotes(config.get("smart_quotes")),
        symbols=tuple(symbols.items()),
        auto_ids=_flag(config.get("auto_ids"), default=True),
        gfm_ids=gfm,
        auto_id_prefix=str(config.get("auto_id_prefix") or ""),
        toc_levels=_levels(config.get("toc_levels")),
        # The GFM parser's own default is true; Jekyll's configuration sets false.
        hard_wrap=gfm and _flag(config.get("hard_wrap"), default=False),
        footnote_nr=_positive(config.get("footnote_nr"), default=1),
        footnote_backlink=html.unescape(str(backlink)) if backlink is not None else "",
        rouge_blocks=True,
        html_markdown=True,
    )


def _flag(value: object, *, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _positive(value: object, *, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


_DEFAULT_QUOTES = Dialect().smart_quotes


def _smart_quotes(value: object) -> tuple[str, str, str, str]:
    """kramdown's ``smart_quotes``: four entity names or code points, comma-separated (``lsquo,rsquo,ldquo,rdquo``)."""
    parts = value if isinstance(value, list) else str(value).split(",") if isinstance(value, str) else []
    if len(parts) != 4:
        return _DEFAULT_QUOTES
    chars = []
    for part in parts:
        name = str(part).strip()
        char = chr(int(name)) if name.isdigit() and int(name) < 0x110000 else html.unescape(f"&{name};")
        if len(char) != 1 or char.startswith("&"):
            return _DEFAULT_QUOTES
        chars.append(char)
    return (chars[0], chars[1], chars[2], chars[3])


_RANGE = re.compile(r"\s*([1-6])\s*\.\.\s*([1-6])\s*")


def _levels(value: object) -> tuple[int, ...]:
    """``toc_levels``: a list of levels or a range written ``2..3`` (kramdown accepts both)."""
    if isinstance(value, str):
        match = _RANGE.fullmatch(value)
        if match:
            return tuple(range(int(match.group(1)), int(match.group(2)) + 1))
        value = value.split(",")
    if isinstance(value, list):
        levels = {int(v) for v in value if str(v).strip().isdigit() and 1 <= int(v) <= 6}
        return tuple(sorted(levels))
    return _ALL_LEVELS


JEKYLL = kramdown_dialect()


@functools.lru_cache(maxsize=4)
def _dialect_of(site: JekyllSite) -> Dialect:
    return kramdown_dialect(site.kramdown)


def site_dialect(site: JekyllSite) -> Dialect:
    """A Jekyll site's Markdown: kramdown as its ``kramdown:`` configuration says."""
    try:
        return _dialect_of(site)
    except TypeError:  # an unhashable site (a mapping in the config): made again, it is small
        return kramdown_dialect(site.kramdown)
