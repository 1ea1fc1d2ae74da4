"""Jekyll's Liquid tags for python-liquid: ``highlight``, ``link``, ``post_url``, ``include``, ``include_relative``, and
what becomes of a tag neither Jekyll nor Liquid has (one of a plugin's).

Each follows Jekyll 4.3's source (lib/jekyll/tags/*.rb); where Jekyll would stop the whole site's build (a missing
include, a ``link`` to no file), the tag renders nothing and the post gets a note.
"""

from __future__ import annotations

import errno
import html
import re
from io import StringIO
from typing import TYPE_CHECKING, cast

from liquid.ast import BlockNode, IllegalNode, Node
from liquid.builtin.expressions import parse_primitive, tokenize
from liquid.exceptions import LiquidError, LiquidSyntaxError, ResourceLimitError
from liquid.parser import get_parser
from liquid.stream import TokenStream
from liquid.tag import Tag
from liquid.template import BoundTemplate
from liquid.token import TOKEN_EOF, TOKEN_EXPRESSION, TOKEN_ILLEGAL, TOKEN_TAG
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from syndicate import _liquid_urls

if TYPE_CHECKING:
    from typing import TextIO

    from liquid import Environment
    from liquid.context import RenderContext
    from liquid.token import Token

    from syndicate._liquid_env import JekyllEnvironment


def register(env: Environment) -> None:
    for tag in (_Dropped, _Highlight, _Link, _PostUrl, _Include, _IncludeRelative):
        env.add_tag(tag)


def _jekyll(env: Environment) -> JekyllEnvironment:
    return cast("JekyllEnvironment", env)


def _markup(stream: TokenStream) -> tuple[Token, str]:
    """The tag token at the head of ``stream`` and its markup (the text after its name), leaving the stream on the
    tag's last token, as python-liquid's parser expects."""
    token = stream.expect(TOKEN_TAG)
    if stream.peek.kind != TOKEN_EXPRESSION:
        return token, ""
    next(stream)
    return token, stream.current.value


def _render_markup(markup: str, context: RenderContext) -> str:
    """Markup that holds ``{{ … }}``, rendered in ``context`` (Jekyll renders ``link`` and ``include`` paths so)."""
    if "{{" not in markup and "{%" not in markup:
        return markup
    buffer = StringIO()
    context.env.from_string(markup).render_with_context(context, buffer, partial=True)
    return buffer.getvalue()


# Tags that only make sense inside a block of another: met on their own, they are out of place.
_INNER_TAGS = frozenset({"else", "elsif", "when", "break", "continue"})


class _Dropped(Tag):
    """A tag the environment does not know, in place of python-liquid's "illegal" tag (a syntax error).

    It renders nothing, and the post gets a note. For a plugin's block tag (``{% spoiler %}…{% endspoiler %}``) both
    tags are dropped and what is between them is kept and rendered: it is the author's text, which the plugin would
    have decorated, and a feed is better with it undecorated than without it.
    """

    name = TOKEN_ILLEGAL
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, _ = _markup(stream)
        env = _jekyll(self.env)
        name = token.value
        if not name:
            env.note("a Liquid tag without a name; dropped")
        elif name.startswith("end") and name[3:] in env.tags:
            env.note(f"Liquid tag '{name}' closes no open '{name[3:]}'; dropped")
        elif name.startswith("end") and name[3:]:
            pass  # the end of a plugin's block tag: its start is noted
        elif name in _INNER_TAGS:
            env.note(f"Liquid tag '{name}' is out of place; dropped")
        else:
            env.note(f"Liquid tag '{name}' comes from a plugin syndicate does not have; dropped")
        return IllegalNode(token)


# Jekyll's highlight syntax: a language, then options (``linenos``, ``name=value``, ``name="1 2"``).
_HIGHLIGHT = re.compile(r'^([a-zA-Z0-9.+#_-]+)((\s+\w+(=(\w+|"([0-9]+\s)*[0-9]+"))?)*)$')
_EDGE_NEWLINES = re.compile(r"\A[\n\r]+|[\n\r]+\Z")
_HIGHLIGHT_END = frozenset({"endhighlight", TOKEN_EOF})


class _HighlightNode(Node):
    __slots__ = ("block", "language", "linenos")

    def __init__(self, token: Token, language: str, linenos: bool, block: BlockNode) -> None:
        super().__init__(token)
        self.language = language
        self.linenos = linenos
        self.block = block
        self.blank = False

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        body = StringIO()
        self.block.render(context, body)
        code = _EDGE_NEWLINES.sub("", body.getvalue())
        return buffer.write(highlight_code(code, self.language, linenos=self.linenos))


def highlight_code(code: str, language: str, *, linenos: bool) -> str:
    """Code as Jekyll's ``highlight`` tag writes it (with Rouge): a ``figure.highlight`` around ``pre``/``code`` and
    the highlighted spans; with line numbers, Rouge's table of numbers and code. Pygments' span classes are mostly
    Rouge's (Rouge took them from Pygments); the text is the same."""
    spans = highlight(code, _lexer(language), HtmlFormatter(nowrap=True))
    if spans.endswith("\n") and not code.endswith("\n"):  # Pygments ends the last line; Rouge does not
        spans = spans[:-1]
    if linenos:
        lines = code.count("\n") + 1
        numbers = "".join(f"{n}\n" for n in range(1, lines + 1))
        spans = (
            '<table class="rouge-table"><tbody><tr><td class="gutter gl">'
            f'<pre class="lineno">{numbers}</pre></td><td class="code"><pre>{spans}\n</pre></td>'
            "</tr></tbody></table>"
        )
    attributes = f'class="language-{html.escape(language.replace("+", "-"))}" data-lang="{html.escape(language)}"'
    return f'<figure class="highlight"><pre><code {attributes}>{spans}</code></pre></figure>'


def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return TextLexer()  # type: ignore[no-any-return]  # the stubs type TextLexer's bases as Any


class _Highlight(Tag):
    """``{% highlight LANG [linenos] %}…{% endhighlight %}``; the body is Liquid, as in Jekyll (a Liquid block)."""

    name = "highlight"
    end = "endhighlight"

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        match = _HIGHLIGHT.match(markup.strip())
        if match is None:
            raise LiquidSyntaxError(f"'highlight {markup}' is not 'highlight LANGUAGE [linenos]'", token=token)
        options = match.group(2).split()
        next(stream)
        block = get_parser(self.env).parse_block(stream, _HIGHLIGHT_END)
        stream.expect(TOKEN_TAG, value="endhighlight")
        linenos = any(option.split("=", 1)[0] == "linenos" for option in options)
        return _HighlightNode(token, match.group(1).lower(), linenos, block)


class _LinkNode(Node):
    __slots__ = ("markup",)

    def __init__(self, token: Token, markup: str) -> None:
        super().__init__(token)
        self.markup = markup
        self.blank = False

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        env = _jekyll(context.env)
        path = _render_markup(self.markup, context).strip()
        url = env.site.links.get(path.removeprefix("/"))
        if url is None:
            env.note(f"'{{% link {path} %}}' names no file of the site; left out")
            return 0
        return buffer.write(_liquid_urls.relative_url(url, env.site.baseurl))


class _Link(Tag):
    """``{% link PATH %}``: the URL of the site's file at PATH (relative to the site root), with the baseurl."""

    name = "link"
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        return _LinkNode(token, markup.strip())


# A post's name in post_url: optional directories, then the date and slug of its file name (Jekyll's PostComparer).
_POST_NAME = re.compile(r"^(.+/)*(\d+-\d+-\d+)-(.*)$")


class _PostUrlNode(Node):
    __slots__ = ("post",)

    def __init__(self, token: Token, post: str) -> None:
        super().__init__(token)
        self.post = post
        self.blank = False

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        env = _jekyll(context.env)
        urls = env.site.post_urls
        url = urls.get(self.post)
        if url is None and "/" not in self.post:
            # Jekyll's older matching, which it still falls back on: the same date and slug in any directory.
            url = next((urls[key] for key in sorted(urls) if key.rpartition("/")[2] == self.post), None)
        if url is None:
            env.note(f"'{{% post_url {self.post} %}}' names no post of the site; left out")
            return 0
        return buffer.write(_liquid_urls.relative_url(url, env.site.baseurl))


class _PostUrl(Tag):
    """``{% post_url [DIR/]YYYY-MM-DD-slug %}``: that post's URL, with the baseurl (Jekyll 4)."""

    name = "post_url"
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        post = markup.strip().removeprefix("/")
        if not _POST_NAME.match(post):
            raise LiquidSyntaxError(f"'post_url {post}' does not name a post by its date and slug", token=token)
        return _PostUrlNode(token, post)


# Jekyll's include syntax (IncludeTag::VALID_SYNTAX and friends).
_PARAM = r"""([\w-]+)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'|([\w.-]+))"""
_PARAMS = re.compile(_PARAM)
_ALL_PARAMS = re.compile(rf"\A\s*(?:{_PARAM}(?=\s|\Z)\s*)*\Z")
_VARIABLE = re.compile(r"(?P<variable>[^{]*(\{\{\s*[\w\-.]+\s*(\|.*)?\}\}[^\s{}]*)+)(?P<params>.*)", re.DOTALL)
_FILE_NAME = re.compile(r"^[\w/.\-()+~#@]+$")
_BAD_SEQUENCE = re.compile(r"[./]{2,}")
_WHITESPACE = re.compile(r"\s+")


# Includes rendered in one post, all told, and how deep: each is bounded by the environment's limits, but an include
# that includes itself twice would double its work at every level.
INCLUDE_LIMIT = 1_000
INCLUDE_DEPTH_LIMIT = 10
INCLUDE_MAX_BYTES = 1024 * 1024


class _IncludeNode(Node):
    __slots__ = ("file", "params", "relative")

    def __init__(self, token: Token, file: str, params: str, *, relative: bool) -> None:
        super().__init__(token)
        self.file = file
        self.params = params
        self.relative = relative
        self.blank = False

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        env = _jekyll(context.env)
        tag = "include_relative" if self.relative else "include"
        file = _render_markup(self.file, context).strip()
        if _BAD_SEQUENCE.search(file) or not _FILE_NAME.match(file):
            raise LiquidError(f"'{tag} {file}': the file name has characters or sequences Jekyll refuses", token=None)
        env.includes_rendered += 1
        if env.includes_rendered > INCLUDE_LIMIT:
            raise _IncludeLimitError(f"more than {INCLUDE_LIMIT} includes rendered", token=None)
        if env.include_depth >= INCLUDE_DEPTH_LIMIT:
            raise LiquidError(f"'{tag} {file}': includes nested more than {INCLUDE_DEPTH_LIMIT} deep", token=None)
        template = _partial(env, file, relative=self.relative)
        namespace = {"include": self._arguments(context)} if self.params else {}
        env.include_depth += 1
        try:
            with context.extend(namespace, template=template):
                template.render_with_context(context, buffer, partial=True)
        finally:
            env.include_depth -= 1
        return 1

    def _arguments(self, context: RenderContext) -> dict[str, object]:
        """The tag's parameters as Jekyll reads them: quoted text (with its escaped quotes), or a variable's value."""
        arguments: dict[str, object] = {}
        for key, double, single, variable in _PARAMS.findall(self.params):
            if variable:
                expression = parse_primitive(context.env, TokenStream(tokenize(variable, self.token)))
                arguments[key] = expression.evaluate(context)
            elif single:
                arguments[key] = single.replace("\\'", "'")
            else:
                arguments[key] = double.replace('\\"', '"')
        return arguments


def _partial(env: JekyllEnvironment, file: str, *, relative: bool) -> BoundTemplate:
    """The parsed include ``file``: from ``_includes/``, or for include_relative from the post's directory.

    The file must resolve (symbolic links followed) inside that directory for include, or inside the site for
    include_relative, whether or not the site is in safe mode: a post cannot read other files of the machine.
    """
    root = env.site.root.resolve()
    if relative:
        directory, fence = (root / env.path).parent.resolve(), root
    else:
        directory = fence = root / "_includes"
        fence = fence.resolve()
    path = (directory / file).resolve()
    key = str(path)
    if key in env.partials:
        return env.partials[key]
    if not path.is_relative_to(fence) or not path.is_file():
        where = "beside the post" if relative else "in _includes/"
        raise LiquidError(f"no file '{file}' {where} inside the site", token=None)
    from syndicate.posts import read_site_file  # posts renders Liquid: imported when an include is first read

    try:
        # Read as post files are (posts.open_post): the checks above looked at names, and a name can be swapped
        # for a FIFO (a read that never ends), a device (one that never stops) or a link outside before the read.
        data = read_site_file(path, fence, INCLUDE_MAX_BYTES)
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise LiquidError(f"the include '{file}' is larger than {INCLUDE_MAX_BYTES} bytes", token=None) from None
        raise LiquidError(f"the include '{file}' cannot be read: {exc.strerror or exc}", token=None) from None
    source = data.decode("utf-8", errors="replace")
    template = env.from_string(source, name=file, path=path)
    env.partials[key] = template
    return template


class _IncludeLimitError(ResourceLimitError):
    pass


class _Include(Tag):
    """``{% include FILE [key=value …] %}``: FILE from ``_includes/``, rendered with the parameters as ``include``."""

    name = "include"
    block = False
    relative = False

    def parse(self, stream: TokenStream) -> Node:
        token, markup = _markup(stream)
        markup = markup.strip()
        variable = _VARIABLE.match(markup)
        if variable:
            file, params = variable["variable"].strip(), variable["params"].strip()
        else:
            file, _, params = _WHITESPACE.sub(" ", markup).partition(" ")
        if params and not _ALL_PARAMS.match(params):
            raise LiquidSyntaxError(f"'{self.name} {markup}': parameters must be key=\"value\" pairs", token=token)
        if not file:
            raise LiquidSyntaxError(f"'{self.name}' names no file", token=token)
        return _IncludeNode(token, file, params, relative=self.relative)


class _IncludeRelative(_Include):
    """``{% include_relative FILE … %}``: FILE relative to the post's own directory."""

    name = "include_relative"
    relative = True
