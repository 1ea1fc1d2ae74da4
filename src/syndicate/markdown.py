"""The Markdown parser of a dialect: markdown-it-py, its plugins (mdit-py-plugins) and kramdown's rules.

Every dialect has CommonMark with raw HTML plus the structure Jekyll sites write: GFM tables and strikethrough
(markdown-it's own rules), footnotes and definition lists (mdit-py-plugins) and attribute lists (kramdown.py).
Footnotes and strikethrough are written as kramdown writes them (``<del>``, ``fnref:1``/``fn:1`` ids and links), so
a feed entry's links between a note and its reference work as on the site. The kramdown dialect adds typographic
quotes and symbols (typography.py), header ids, ``{:toc}``, ``markdown="1"`` and Rouge's wrapping of code blocks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from html import escape

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from syndicate.dialects import POSTS, Dialect
from syndicate.kramdown import install_kramdown_rules
from syndicate.typography import typography_rule

__all__ = ["markdown_parser"]

# A renderer rule, bound to the renderer by MarkdownIt.add_render_rule.
RenderRule = Callable[[RendererHTML, Sequence[Token], int, OptionsDict, EnvType], str]


class _Markdown(MarkdownIt):
    """CommonMark with raw HTML: posts are "HTML inside a Markdown file".

    No linkify: bare text URLs stay text, only explicit <http://…> autolinks become links (CommonMark §6.5).
    Link normalisation (URL parsing, IDNA, percent-encoding) is the costliest step of rendering a republished
    article, and the site-navigation links it is spent on repeat from post to post, so short URLs are memoised.
    """

    def __init__(self, dialect: Dialect) -> None:
        super().__init__("commonmark", {"html": True, "linkify": False, "breaks": dialect.hard_wrap})
        self._normalised_links = functools.lru_cache(maxsize=1024)(super().normalizeLink)
        self.enable(["table", "strikethrough"])
        footnote_plugin(self, inline=False)  # kramdown has no inline footnotes (^[…])
        deflist_plugin(self)
        install_kramdown_rules(self, dialect)
        if dialect.typographic:
            # Before text_join, so an escaped quote (a text_special token) stays straight, as kramdown keeps it.
            self.core.ruler.before("text_join", "kramdown_typography", typography_rule(dialect))
        rules: dict[str, RenderRule] = {
            "s_open": _tag("<del>"),
            "s_close": _tag("</del>"),
            "footnote_ref": _footnote_ref(dialect),
            "footnote_block_open": _footnote_block_open(dialect),
            "footnote_block_close": _tag("</ol>\n</div>\n"),
            "footnote_open": _footnote_open,
            "footnote_close": _tag("</li>\n"),
            "footnote_anchor": _footnote_anchor(dialect),
            "th_open": _table_cell,
            "td_open": _table_cell,
        }
        if dialect.rouge_blocks:
            rules |= {"fence": _rouge_block, "code_block": _rouge_block, "code_inline": _rouge_span}
        for name, rule in rules.items():
            self.add_render_rule(name, rule)

    def normalizeLink(self, url: str) -> str:
        if len(url) > _MAX_MEMOISED_URL:
            return super().normalizeLink(url)
        return self._normalised_links(url)

    def parse(self, src: str, env: EnvType | None = None) -> list[Token]:
        try:
            return super().parse(src, env)
        except IndexError:
            # markdown-it-py (4.0) reads past the end of a document whose last line is unterminated inside nested
            # containers (">- <script>\n>" raises in StateBlock.getLines). Ending that line changes no rendering
            # (CommonMark §4: a line ending at the end of the document is not content), so the post is rendered.
            if src.endswith("\n"):
                raise
            return super().parse(src + "\n", env)


# Bounds the memo at about 1024 × 2 kB × 4 (the URL and its percent-encoded form), whatever the input.
_MAX_MEMOISED_URL = 2_000


@functools.lru_cache(maxsize=4)
def markdown_parser(dialect: Dialect = POSTS) -> MarkdownIt:
    """The Markdown parser of ``dialect``, built once on first use; excerpts.py parses the start of posts with it."""
    return _Markdown(dialect)


# --- renderer rules -------------------------------------------------------------------------------------------------


def _tag(markup: str) -> RenderRule:
    def render(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return markup

    return render


def _footnote_name(token: Token) -> str:
    label = token.meta.get("label")
    return escape(str(label if label is not None else token.meta["id"] + 1))


def _footnote_ref(dialect: Dialect) -> RenderRule:
    def render(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """converter/html.rb's convert_footnote: a repeated reference gets ``fnref:NAME:N``."""
        token = tokens[idx]
        name = _footnote_name(token)
        repeat = f":{token.meta['subId']}" if token.meta.get("subId", 0) > 0 else ""
        number = token.meta["id"] + dialect.footnote_nr
        return (
            f'<sup id="fnref:{name}{repeat}" role="doc-noteref">'
            f'<a href="#fn:{name}" class="footnote" rel="footnote">{number}</a></sup>'
        )

    return render


def _footnote_block_open(dialect: Dialect) -> RenderRule:
    start = f' start="{dialect.footnote_nr}"' if dialect.footnote_nr != 1 else ""

    def render(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        return f'<div class="footnotes" role="doc-endnotes">\n<ol{start}>\n'

    return render


def _footnote_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return f'<li id="fn:{_footnote_name(tokens[idx])}" role="doc-endnote">\n'


def _footnote_anchor(dialect: Dialect) -> RenderRule:
    backlink = escapeHtml(dialect.footnote_backlink)

    def render(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """footnote_content's backlinks, a no-break space before each; the Nth repeat is marked ``<sup>N+1</sup>``."""
        if not backlink:
            return ""
        token = tokens[idx]
        name = _footnote_name(token)
        sub = token.meta.get("subId", 0)
        if sub:
            return (
                f'\u00a0<a href="#fnref:{name}:{sub}" class="reversefootnote" role="doc-backlink">'
                f"{backlink}<sup>{sub + 1}</sup></a>"
            )
        return f'\u00a0<a href="#fnref:{name}" class="reversefootnote" role="doc-backlink">{backlink}</a>'

    return render


def _table_cell(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A GFM table cell, its alignment as ``align`` rather than markdown-it's (and kramdown's) ``style``: the same
    presentation, and content keeps no style attribute at all."""
    token = tokens[idx]
    style = str(token.attrGet("style") or "")
    align = f' align="{style.removeprefix("text-align:")}"' if style.startswith("text-align:") else ""
    return f"<{token.tag}{align}>"


def _rouge_span(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A code span as Jekyll's kramdown writes it: ``<code class="language-plaintext highlighter-rouge">``."""
    token = tokens[idx]
    classes = _rouge_classes(token, "")
    others = "".join(f' {name}="{escapeHtml(str(value))}"' for name, value in token.attrs.items() if name != "class")
    return f'<code class="{escapeHtml(classes)}"{others}>{escapeHtml(token.content)}</code>'


def _rouge_classes(token: Token, language: str) -> str:
    """add_syntax_highlighter_to_class_attr: the attribute list's classes, ``highlighter-rouge`` after them and
    ``language-X`` first (an attribute list's ``.language-X`` names the language when the block does not)."""
    classes = str(token.attrGet("class") or "").split()
    if not language:
        language = next((c[9:] for c in classes if c.startswith("language-")), "") or "plaintext"
    kept = [c for c in classes if not c.startswith("language-")]
    return " ".join([f"language-{language}", *kept, "highlighter-rouge"])


def _rouge_block(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    """A code block as Jekyll's kramdown writes it with Rouge (default language ``plaintext``), without the
    highlighting spans: the same text in ``<div class="language-x highlighter-rouge">`` and ``pre.highlight``."""
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ""
    language = info.split(maxsplit=1)[0].split("?", 1)[0] if info else ""
    classes = _rouge_classes(token, language)
    others = "".join(f' {name}="{escapeHtml(str(value))}"' for name, value in token.attrs.items() if name != "class")
    return (
        f'<div class="{escapeHtml(classes)}"{others}><div class="highlight"><pre class="highlight"><code>'
        f"{escapeHtml(token.content)}</code></pre></div></div>\n"
    )
