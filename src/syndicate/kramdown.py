"""kramdown's own syntax as markdown-it rules: attribute lists, header ids, ``{:toc}``, Markdown in HTML blocks.

The rules follow kramdown-2.4.0 (lib/kramdown/parser/kramdown/extensions.rb for attribute lists, converter/html.rb
and kramdown-parser-gfm's gfm.rb for ids and the table of contents). Each one is cheap when a body does not use its
syntax: the attribute rules look for ``{`` in the source first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from html import escape

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from syndicate.dialects import Dialect

__all__ = ["install_kramdown_rules"]

CoreRule = Callable[[StateCore], None]

# ALD_TYPE_ANY and its parts (extensions.rb): key="value" or key='value', a reference name, or #id/.class runs.
_ATTRIBUTE = re.compile(
    r"""(?:\A|\s)(?:(\w[\w-]*)=(?:"((?:\\}|\\"|[^}"])*?)"|'((?:\\}|\\'|[^}'])*?)')"""
    r"""|(\w[\w-]*)|((?:#[A-Za-z][\w:-]*|\.[^\s.#]+)+))(?=\s|\Z)""",
    re.ASCII,
)
_ID_OR_CLASS = re.compile(r"#([A-Za-z][\w:-]*)|\.([^\s.#]+)", re.ASCII)
_BLOCK_IAL = re.compile(r" {0,3}\{:(?![:/])((?:\\}|[^}])+)\}[ \t]*")
_ALD = re.compile(r" {0,3}\{:(\w[\w-]*):((?:\\}|[^}])+)\}[ \t]*", re.ASCII)
_SPAN_IAL = re.compile(r"\{:(?![:/])((?:\\}|[^}])+)\}")
_HEADER_ID = re.compile(r"[\t ]\{#([A-Za-z][\w:-]*)\}\Z", re.ASCII)
_OPENERS = {"em_close": "em_open", "strong_close": "strong_open", "s_close": "s_open", "link_close": "link_open"}


class _Attributes:
    """One attribute list: attributes in order (classes joined) and the names of definitions it refers to."""

    __slots__ = ("pairs", "refs")

    def __init__(self, text: str) -> None:
        self.pairs: dict[str, str] = {}
        self.refs: list[str] = []
        for key, double, single, ref, id_or_class in _ATTRIBUTE.findall(text):
            if ref:
                self.refs.append(ref)
            elif id_or_class:
                for id_, class_ in _ID_OR_CLASS.findall(id_or_class):
                    if class_:
                        self.pairs["class"] = f"{self.pairs.get('class', '')} {class_}".lstrip()
                    else:
                        self.pairs["id"] = id_
            else:
                quote = '"' if double or not single else "'"
                value = double or single
                self.pairs[key] = value.replace("\\}", "}").replace("\\" + quote, quote)

    def apply(self, token: Token, definitions: dict[str, _Attributes]) -> None:
        """kramdown's update_attr_with_ial: referenced definitions first, classes accumulate, the rest replace."""
        for ref in self.refs:
            if ref == "toc":
                token.meta["toc"] = True
            elif (definition := definitions.get(ref)) is not None and definition is not self:
                definition.apply(token, {})
        for key, value in self.pairs.items():
            if key == "class" and (existing := token.attrGet("class")):
                value = f"{existing} {value}"
            token.attrSet(key, value)


def install_kramdown_rules(md: MarkdownIt, dialect: Dialect) -> None:
    """Add kramdown's attribute lists (every dialect) and, for the kramdown dialect, its other syntax to ``md``."""
    md.core.ruler.before("inline", "kramdown_block_attributes", _block_attributes)
    md.core.ruler.before("text_join", "kramdown_span_attributes", _span_attributes)
    if dialect.html_markdown:
        md.block.ruler.before("html_block", "kramdown_html_markdown", _html_markdown, {"alt": ["paragraph"]})
    if dialect.typographic:
        md.inline.ruler.before("html_inline", "kramdown_guillemets", _guillemets)
    if dialect.auto_ids or dialect.name == "kramdown":
        md.core.ruler.push("kramdown_header_ids", _header_ids(dialect))
        md.core.ruler.push("kramdown_toc", _table_of_contents(md, dialect))


# --- block attribute lists ------------------------------------------------------------------------------------------


def _block_attributes(state: StateCore) -> None:
    """Block IALs (``{: .x}`` lines before or after a block), ALDs (``{:name: .x}``) and ``# Header {#id}``."""
    if "{" not in state.src:
        return
    tokens = state.tokens
    definitions: dict[str, _Attributes] = {}
    pending: list[tuple[Token, _Attributes]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open" and "{#" in tokens[index + 1].content:
            inline = tokens[index + 1]
            match = _HEADER_ID.search(inline.content)
            if match:
                token.attrSet("id", match.group(1))
                inline.content = inline.content[: match.start()].rstrip()
        if token.type != "paragraph_open" or "{:" not in tokens[index + 1].content:
            index += 1
            continue
        inline = tokens[index + 1]
        lines = inline.content.split("\n")
        first = 0
        while first < len(lines) and _attribute_line(lines[first], definitions, pending, None):
            first += 1
        last = len(lines)
        while last > first and _attribute_line(lines[last - 1], definitions, pending, None):
            last -= 1
        if first == 0 and last == len(lines):
            index += 1
            continue
        lists: list[tuple[Token, _Attributes]] = []
        if last == first:  # only attribute lists: they belong to the block next to them
            target = _neighbour(tokens, index)
            for line in lines:
                _attribute_line(line, definitions, lists, target)
            del tokens[index : index + 3]
        else:
            for line in lines[:first]:
                _attribute_line(line, definitions, lists, token)
            after = _lazy_container(state, tokens, index) or token
            for line in lines[last:]:
                _attribute_line(line, definitions, lists, after)
            inline.content = "\n".join(lines[first:last])
            index += 3
        pending.extend(lists)
    for target, attributes in pending:
        attributes.apply(target, definitions)


def _attribute_line(
    line: str, definitions: dict[str, _Attributes], pending: list[tuple[Token, _Attributes]], target: Token | None
) -> bool:
    """Whether ``line`` is an attribute list or definition; with a ``target``, record it for that block."""
    if "{:" not in line:
        return False
    if match := _ALD.fullmatch(line):
        if target is not None:
            definitions[match.group(1)] = _Attributes(match.group(2))
        return True
    if match := _BLOCK_IAL.fullmatch(line):
        if target is not None:
            pending.append((target, _Attributes(match.group(1))))
        return True
    return False


def _neighbour(tokens: list[Token], index: int) -> Token:
    """The block an attribute-list paragraph at ``index`` belongs to: the one just before it when no blank line
    separates them, else the next one (kramdown: "directly before or after"). A placeholder when there is none."""
    paragraph = tokens[index]
    previous = index - 1
    if previous >= 0 and tokens[previous].level == paragraph.level:
        if tokens[previous].nesting == -1:
            depth = 0
            while previous >= 0:
                depth += tokens[previous].nesting
                if depth == 0:
                    break
                previous -= 1
        before = tokens[previous]
        if before.map and paragraph.map and before.map[1] >= paragraph.map[0]:
            return before
    following = index + 3
    if following < len(tokens) and tokens[following].level == paragraph.level and tokens[following].nesting >= 0:
        return tokens[following]
    return Token("paragraph_open", "p", 1)


def _lazy_container(state: StateCore, tokens: list[Token], index: int) -> Token | None:
    """The top-level block a paragraph's last line belongs to when that line is an unindented attribute list inside
    a list or quotation (``* TOC\n{:toc}``, ``> quote\n{: .x}``): markdown-it reads it as a lazy continuation line,
    kramdown as ending the list or quotation and giving it the attributes."""
    paragraph = tokens[index]
    if paragraph.level == 0 or paragraph.map is None:
        return None
    lines = state.src.split("\n")
    last_line = paragraph.map[1] - 1
    if last_line >= len(lines) or not lines[last_line].lstrip(" ").startswith("{:") or lines[last_line][:2] == "  ":
        return None
    for opener in reversed(tokens[:index]):
        if opener.level == 0 and opener.nesting == 1:
            return opener
    return None


# --- span attribute lists -------------------------------------------------------------------------------------------


def _span_attributes(state: StateCore) -> None:
    """Span IALs: ``*x*{: .y}``, ``[a](b){: .y}``, ``![i](s){: .y}``, ``` `c`{: .y} ```."""
    if "{:" not in state.src:
        return
    for token in state.tokens:
        if token.type != "inline" or not token.children or "{:" not in token.content:
            continue
        children = token.children
        for index in range(1, len(children)):
            child = children[index]
            if child.type != "text" or not child.content.startswith("{:"):
                continue
            match = _SPAN_IAL.match(child.content)
            target = _span_target(children, index - 1)
            if match is None or target is None:
                continue
            _Attributes(match.group(1)).apply(target, {})
            child.content = child.content[match.end() :]


def _span_target(children: list[Token], index: int) -> Token | None:
    element = children[index]
    if element.type in {"code_inline", "image"}:
        return element
    opener = _OPENERS.get(element.type)
    if opener is None:
        return None
    depth = 0
    for candidate in reversed(children[: index + 1]):
        depth += candidate.nesting
        if depth == 0 and candidate.type == opener:
            return candidate
    return None


# --- header ids and the table of contents ----------------------------------------------------------------------------


def _header_ids(dialect: Dialect) -> CoreRule:
    def header_ids(state: StateCore) -> None:
        if not dialect.auto_ids:
            return
        used: dict[str, int] = {}
        tokens = state.tokens
        for index, token in enumerate(tokens):
            if token.type != "heading_open" or token.attrGet("id") is not None:
                continue
            text = _raw_text(tokens[index + 1].children or [])
            base = _gfm_id(text) if dialect.gfm_ids else _kramdown_id(text)
            if base in used:
                used[base] += 1
                base = f"{base}-{used[base]}"
            else:
                used[base] = 0
            token.attrSet("id", dialect.auto_id_prefix + base)

    return header_ids


def _raw_text(children: list[Token]) -> str:
    return "".join(c.content for c in children if c.type in {"text", "code_inline", "text_special"})


def _gfm_id(text: str) -> str:
    """gfm.rb's generate_gfm_header_id: lower case, only word characters (Ruby's \\p{Word}), ``-`` and blanks,
    blanks as ``-``."""
    return "".join("-" if c in " \t" else c for c in text.lower() if c in "- \t" or _is_word(c))


def _is_word(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category in {"Nd", "Nl", "Pc"} or char in "\u200c\u200d"


_LEADING_NON_LETTERS = re.compile(r"^[^a-zA-Z]+", re.MULTILINE)
_NOT_ID = re.compile(r"[^a-zA-Z0-9 -]")


def _kramdown_id(text: str) -> str:
    """kramdown's basic_generate_id (its own parser's ids): ASCII letters, digits and ``-``; ``section`` if empty."""
    generated = _NOT_ID.sub("", _LEADING_NON_LETTERS.sub("", text)).replace(" ", "-").lower()
    return generated or "section"


def _table_of_contents(md: MarkdownIt, dialect: Dialect) -> CoreRule:
    def table_of_contents(state: StateCore) -> None:
        tokens = state.tokens
        start = next(
            (
                i
                for i, t in enumerate(tokens)
                if t.meta.get("toc") and t.type in {"bullet_list_open", "ordered_list_open"}
            ),
            None,
        )
        if start is None:
            return
        token = tokens[start]
        end = start
        while tokens[end].level != token.level or tokens[end].nesting != -1:
            end += 1
        entries = [
            (int(heading.tag[1]), str(heading.attrGet("id")), tokens[index + 1].children or [])
            for index, heading in enumerate(tokens)
            if heading.type == "heading_open"
            and heading.attrGet("id") is not None
            and int(heading.tag[1]) in dialect.toc_levels
            and "no_toc" not in str(heading.attrGet("class") or "").split()
        ]
        toc = Token("html_block", "", 0)
        toc.content = _toc_markup(md, state, token, entries)
        tokens[start : end + 1] = [toc]

    return table_of_contents


def _toc_markup(md: MarkdownIt, state: StateCore, listing: Token, entries: list[tuple[int, str, list[Token]]]) -> str:
    """converter/html.rb's generate_toc_tree: nested lists of links to the headers, footnotes and links removed.

    A header goes under the last one of a lower level before it, else at the top."""
    tag = listing.tag
    attributes = {str(name): str(value) for name, value in listing.attrs.items()}
    attributes.setdefault("id", "markdown-toc")
    prefix = f"{attributes['id']}-"
    roots: list[_Entry] = []
    stack: list[_Entry] = []
    for level, id_, children in entries:
        shown = [c for c in children if c.type not in {"footnote_ref", "link_open", "link_close"}]
        text = _renderer(md).renderInline(shown, md.options, state.env)
        entry = _Entry(level, f'<a href="#{escape(id_)}" id="{escape(prefix + id_)}">{text}</a>')
        while stack and stack[-1].level >= level:
            stack.pop()
        (stack[-1].entries if stack else roots).append(entry)
        stack.append(entry)
    own = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    return f"<{tag}{own}>\n{_toc_items(roots, tag)}</{tag}>\n"


def _renderer(md: MarkdownIt) -> RendererHTML:
    renderer = md.renderer
    assert isinstance(renderer, RendererHTML)  # markdown.py's parsers render HTML
    return renderer


class _Entry:
    __slots__ = ("entries", "level", "link")

    def __init__(self, level: int, link: str) -> None:
        self.level = level
        self.link = link
        self.entries: list[_Entry] = []


def _toc_items(entries: list[_Entry], tag: str) -> str:
    return "".join(
        f"<li>{e.link}" + (f"<{tag}>\n{_toc_items(e.entries, tag)}</{tag}>\n" if e.entries else "") + "</li>\n"
        for e in entries
    )


def _guillemets(state: StateInline, silent: bool) -> bool:
    """``<<`` is text (typography.py makes it «), as kramdown reads it before any tag: ``<<y>>`` is «y»."""
    if not state.src.startswith("<<", state.pos):
        return False
    if not silent:
        state.pending += "<<"
    state.pos += 2
    return True


# --- Markdown inside HTML blocks ------------------------------------------------------------------------------------

_MARKDOWN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*?)?\s+markdown\s*=\s*([\"']?)(1|block|span)\3([^<>]*)>")


def _html_markdown(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """``<div markdown="1">`` … ``</div>`` on lines of their own: the lines between are Markdown (kramdown's
    parse_block_html for one element). ``markdown="span"`` makes them one paragraph's inline content."""
    if state.sCount[start] - state.blkIndent >= 4:
        return False
    first = state.bMarks[start] + state.tShift[start]
    line = state.src[first : state.eMarks[start]]
    if "markdown" not in line:
        return False
    match = _MARKDOWN_TAG.fullmatch(line.rstrip())
    if match is None:
        return False
    name = match.group(1).lower()
    closing = _closing_line(state, start + 1, end, name)
    if closing is None:
        return False
    if silent:
        return True
    attributes = (match.group(2) or "") + match.group(5)
    opening = state.push("html_block", "", 0)
    opening.content = f"<{match.group(1)}{attributes.rstrip()}>\n"
    opening.map = [start, start + 1]
    if match.group(4) == "span":
        inline_open = state.push("paragraph_open", "p", 1)
        inline_open.hidden = True
        inline = state.push("inline", "", 0)
        inline.content = state.getLines(start + 1, closing, state.blkIndent, False).strip()
        inline.children = []
        inline_close = state.push("paragraph_close", "p", -1)
        inline_close.hidden = True
    else:
        old_max, old_parent = state.lineMax, state.parentType
        state.lineMax = closing
        state.md.block.tokenize(state, start + 1, closing)
        state.lineMax, state.parentType = old_max, old_parent
    ending = state.push("html_block", "", 0)
    ending.content = f"</{match.group(1)}>\n"
    ending.map = [closing, closing + 1]
    state.line = closing + 1
    return True


def _closing_line(state: StateBlock, start: int, end: int, name: str) -> int | None:
    """The line holding only ``</name>`` that closes the element, counting nested elements of the same name."""
    opening = re.compile(rf"<{re.escape(name)}[\s>]", re.IGNORECASE)
    closing = re.compile(rf"</{re.escape(name)}\s*>", re.IGNORECASE)
    depth = 0
    for line_number in range(start, end):
        line = state.src[state.bMarks[line_number] + state.tShift[line_number] : state.eMarks[line_number]]
        if "<" not in line:
            continue
        depth += len(opening.findall(line))
        closes = len(closing.findall(line))
        if depth == 0 and closes and closing.fullmatch(line.rstrip()):
            return line_number
        depth -= closes
        if depth < 0:
            return None
    return None
