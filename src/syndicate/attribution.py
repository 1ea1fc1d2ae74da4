"""Source attribution of republished posts: the original publication's name and the original article's URL.

Front matter wins (``source``, ``source_url``/``original_url``, or ``source: {name, url}``); otherwise both are read
from the raw body with regexes — no Markdown rendering, since this runs for every post. The body is untrusted:
every regex here is linear (negated character classes, no nested quantifiers), so a 20 MB body costs one pass.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

__all__ = ["Attribution", "compile_patterns", "find_attribution"]

_MAX_NAME = 200
_MAX_URL = 2048


@dataclass(frozen=True)
class Attribution:
    """Who first published a post: ``name`` (e.g. a newspaper) and ``url`` (absolute http(s)), each possibly unknown."""

    name: str | None
    url: str | None


def compile_patterns(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Compile configured attribution patterns; each must be a valid regex with a named group ``name``."""
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ValueError(f"attribution pattern {pattern!r} is not a string")
        try:
            regex = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"attribution pattern {pattern!r} is not a valid regular expression: {error}") from None
        if "name" not in regex.groupindex:
            raise ValueError(
                f"attribution pattern {pattern!r} has no named group 'name'; "
                "mark the publication's name with (?P<name>...), e.g. 来源[：:]\\s*(?P<name>[^<>\\n]+)"
            )
        compiled.append(regex)
    return tuple(compiled)


def find_attribution(
    meta: Mapping[str, object], body: str, patterns: Sequence[re.Pattern[str]], *, site_url: str
) -> Attribution:
    """Find a post's source: front matter first, each field on its own, then the body.

    From the body, the name comes from the first configured pattern that matches the text with tags stripped; the
    URL is the original-article link: an absolute http(s) URL on a host other than ``site_url``'s, written as a bare
    autolink ``<http://…>`` or a link whose text is its own address, found after the attribution marker or, without
    a marker, at the end of the body on a line (or in a paragraph) of its own. Relative and protocol-relative links
    are site chrome and never qualify.
    """
    name, url = _from_meta(meta)
    if name is not None and url is not None:
        return Attribution(name, url)
    marker: int | None = None
    if patterns:  # the text view is only ever searched by the patterns
        text = _Text(body)
        if name is None:
            name, marker = _name_from_body(text, patterns)
        else:
            marker = _marker_position(text, patterns)
    if url is None:
        url = _url_from_body(body, marker=marker, site_host=_site_host(site_url))
    return Attribution(name, url)


# --- front matter ---------------------------------------------------------------------------------------------------


def _from_meta(meta: Mapping[str, object]) -> tuple[str | None, str | None]:
    source = meta.get("source")
    name: str | None = None
    url: str | None = None
    if isinstance(source, str):
        name = _clean_name(source)
    elif isinstance(source, Mapping):
        raw_name = source.get("name")
        raw_url = source.get("url")
        name = _clean_name(raw_name) if isinstance(raw_name, str) else None
        url = _valid_url(raw_url) if isinstance(raw_url, str) else None
    for key in ("source_url", "original_url"):
        value = meta.get(key)
        if url is None and isinstance(value, str):
            url = _valid_url(value)
    return name, url


# --- names ----------------------------------------------------------------------------------------------------------

# Markup removed before patterns see the text: tags, comments and doctypes (without markup inside), autolinks (as
# whole tokens), Markdown links and images (replaced by their text). Bounded by "<"/">" or by one line, so no match
# can run away. The expressions are wrapped in one group so that ``split`` (whose loop runs in C) returns each span
# next to its groups: (span, tag, text) for ``_MARKUP``, (span, tag) for ``_TAG_MARKUP``.
_TAGS = r"<![^<>]*>|</?(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?:[\s/][^<>]*)?>|<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*>"
_LINKS = r"!?\[(?P<text>[^\[\]\n]{0,1000})\]\([^()\s]{0,4000}(?:\s+\"[^\"\n]{0,1000}\")?\)"
_MARKUP = re.compile(f"({_TAGS}|{_LINKS})", re.DOTALL)
# The same without Markdown links: every match starts with "<", which the regex engine finds with a fast literal
# search instead of trying every alternative at every position. Used up to the body's first "[".
_TAG_MARKUP = re.compile(f"({_TAGS})", re.DOTALL)
# Block-level tags become line breaks, so a name in one paragraph never runs into the next.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th",
        "tr", "ul",
    }
)  # fmt: skip


class _Replacements(dict[str | None, str]):
    """What a tag (None: a comment, doctype or autolink) becomes in the text: a line break for a block-level tag,
    else nothing. Looked up once per tag name met (a post has a few names in many tags), up to ``_NAMES`` of them:
    a body full of made-up names costs their lookups, not memory."""

    _NAMES = 4096

    def __missing__(self, tag: str | None) -> str:
        found = "\n" if tag is not None and tag.lower() in _BLOCK else ""
        if len(self) < self._NAMES:
            self[tag] = found
        return found


_REPLACEMENTS = _Replacements()


def _links_start(body: str) -> int:
    """A position before which ``_TAG_MARKUP`` finds exactly the spans ``_MARKUP`` finds, and which no span crosses.

    A Markdown link or image starts at "[" or at the "!" before it, so neither can start before ``cut`` below. A tag,
    comment or autolink ends at the first ">" after its "<" and holds no "<": the only one that may cross ``cut`` is
    one opened by the last "<" before it and not closed before it; starting there keeps it whole.
    """
    bracket = body.find("[")
    if bracket < 0:
        return len(body)
    cut = bracket - 1 if bracket and body[bracket - 1] == "!" else bracket
    opened = body.rfind("<", 0, cut)
    return opened if opened > body.rfind(">", 0, cut) else cut


class _Text:
    """A body's text with markup stripped, plus a map from positions in the text back to positions in the body.

    The text is built by ``re.split`` (its loop runs in C, this runs once per post over the whole body): the body up
    to its first "[" with the cheaper ``_TAG_MARKUP``, the rest with ``_MARKUP``; the two give the same spans there
    (see ``_links_start``). Positions are mapped back to the body on demand, from the lengths of the pieces.
    """

    def __init__(self, body: str) -> None:
        # ``split`` gives the raw text between spans and, after each span, its groups: (span, tag) or (span, tag, text).
        # Deleting the groups leaves raw text and spans alternating: the body in pieces.
        start = _links_start(body)
        pieces: list[str] = _TAG_MARKUP.split(body[:start])
        replacements = list(map(_REPLACEMENTS.__getitem__, pieces[2::3]))
        del pieces[2::3]
        if start < len(body):
            tail: list[str] = _MARKUP.split(body[start:])
            replacements += [
                text if text is not None else _REPLACEMENTS[tag]
                for tag, text in zip(tail[2::4], tail[3::4], strict=True)
            ]
            del tail[3::4]
            del tail[2::3]
            pieces[-1] += tail[0]  # raw text on both sides of the seam is one piece
            pieces += tail[1:]
        self._pieces = pieces
        self._text_pieces = pieces.copy()
        self._text_pieces[1::2] = replacements
        self.text = "".join(self._text_pieces)
        self._text_ends: list[int] | None = None  # where each piece ends in the text, computed on demand

    def body_position(self, text_position: int) -> int:
        """Where the text character at ``text_position`` comes from: the start of the body piece it is in, plus the
        offset into it. Inside a replacement that is its span's start plus the offset (so a name found in a Markdown
        link's text maps into the link); in raw text, its own position."""
        if self._text_ends is None:
            self._text_ends = list(itertools.accumulate(map(len, self._text_pieces)))
        if text_position < len(self.text):
            piece = bisect.bisect_right(self._text_ends, text_position)  # the first piece ending after it
        elif self.text:
            # At the end of the text (an empty match there): the last piece with text, raw or replacement, extended.
            piece = bisect.bisect_left(self._text_ends, len(self.text))
        else:
            return 0
        text_start = self._text_ends[piece - 1] if piece else 0
        return sum(map(len, self._pieces[:piece])) + text_position - text_start


# Where a matched name stops: a separator, a run of spaces, a tab, or the start of the next "field".
_NAME_END = re.compile(r"[|｜\t\u3000]| {2,}|\s+(?:作者|编辑|记者|责任编辑|Author|By)\b", re.IGNORECASE)
# Trimmed from both ends: whitespace, closing brackets and sentence punctuation, emphasis markers.
_NAME_TRIM = " \t\r\n\u00a0\u3000：:，,。.；;、!！?？*_~`'\"“”‘’)）」』】〕]>»"
_NAME_TRIM_START = " \t\r\n\u00a0\u3000：:，,。；;、*_~`'\"“”‘’(（「『【〔[<«"
# A name whose last word is an abbreviation keeps its period ("Tech Daily & Co.", "U.S. News"): a company's suffix,
# or an initialism with periods inside it. Any other trailing period ends the sentence the name was found in.
_ABBREVIATED = re.compile(
    r"(?:\b(?:Co|Corp|Inc|Ltd|Bros|Assn|Intl|Cie|Cia|Jr|Sr|St|Mfg|Pty|Dept|Univ)|(?<![^\W\d_])(?:[^\W\d_]\.)+[^\W\d_])\Z",
    re.IGNORECASE,
)
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _clean_name(raw: str) -> str | None:
    # Here, not at the top: a server checks the patterns (compile_patterns) at its start without loading the parser.
    from syndicate.content import clean_plain_text

    name = html.unescape(raw[: _MAX_NAME * 4]) if "&" in raw else raw[: _MAX_NAME * 4]
    name = clean_plain_text(_CONTROL.sub(" ", name))  # controls part words; bidi controls go (content.py says why)
    cut = _NAME_END.search(name)
    if cut is not None:
        name = name[: cut.start()]
    spaced = " ".join(name.split())
    name = spaced.strip(_NAME_TRIM).lstrip(_NAME_TRIM_START).strip(_NAME_TRIM)
    if name and _ABBREVIATED.search(name) and spaced[spaced.rfind(name) + len(name) :].startswith("."):
        name += "."
    if len(name) > _MAX_NAME:
        name = name[:_MAX_NAME].rstrip()
    return name or None


def _name_from_body(text: _Text, patterns: Sequence[re.Pattern[str]]) -> tuple[str | None, int | None]:
    first_marker: int | None = None
    for pattern in patterns:
        for match in pattern.finditer(text.text):
            position: int | None = None  # worked out only when needed, at most once per match
            if first_marker is None:
                first_marker = position = text.body_position(match.start())
            raw = match.group("name")
            # A pattern's \s* may cross a paragraph break; text in the next paragraph is not the marker's value.
            if not isinstance(raw, str) or _PARAGRAPH_BREAK.search(text.text, match.start(), match.start("name")):
                continue
            name = _clean_name(raw)
            if name is not None:
                return name, text.body_position(match.start()) if position is None else position
    return None, first_marker


def _marker_position(text: _Text, patterns: Sequence[re.Pattern[str]]) -> int | None:
    for pattern in patterns:
        match = pattern.search(text.text)
        if match is not None:
            return text.body_position(match.start())
    return None


# --- URLs -----------------------------------------------------------------------------------------------------------

# Candidate original-article links: an autolink <http://…>, a Markdown link [text](url), an HTML <a href=…>text</a>.
_AUTOLINK = re.compile(r"<(?P<url>[Hh][Tt][Tt][Pp][Ss]?://[^<>\s]{1,4000})>")
# "[" first, then the look-behind for "!": a literal first character lets the regex engine skip ahead with a fast
# search instead of trying the look-behind at every position.
_MD_LINK = re.compile(r"\[(?<!!\[)(?P<text>[^\[\]\n]{1,4000})\]\((?P<url>[^()\s]{1,4000})(?:\s+\"[^\"\n]{0,1000}\")?\)")
_A_TAG = re.compile(r"<a\s(?P<attrs>[^<>]{0,8000})>(?P<text>[^<]{0,4000})</a\s*>", re.IGNORECASE)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'<>]+))""", re.IGNORECASE)
# What may follow the original link at the end of a body: markup, links (site chrome) and separators.
_TRAILING_SEPARATORS = " \t\r\n\u00a0\u3000|｜·•/-–—>»«<[]【】()（）"


def _url_from_body(body: str, *, marker: int | None, site_host: str) -> str | None:
    candidates: list[tuple[int, int, str]] = []  # (start, end, url) of self-describing links
    for match in _AUTOLINK.finditer(body):
        candidates.append((match.start(), match.end(), match.group("url")))
    for match in _MD_LINK.finditer(body):
        if _same_address(match.group("text"), match.group("url")):
            candidates.append((match.start(), match.end(), match.group("url")))
    for match in _A_TAG.finditer(body):
        address = _href(match.group("attrs"))
        if address is not None and _same_address(match.group("text"), address):
            candidates.append((match.start(), match.end(), address))
    candidates.sort()
    # Only the first usable link after the marker, or the last usable one, is ever taken: the others are not checked.
    if marker is not None:
        for start, _end, raw in candidates:
            if start >= marker and (url := _external(raw, site_host)) is not None:
                return url
        # "Source: <a href=…>Name</a>": the attribution line's own link names the publication and points at it.
        line_end = body.find("\n", marker, marker + 2_000)
        line = body[marker : line_end if line_end >= 0 else marker + 2_000]
        for raw in _line_links(line):
            if (url := _external(raw, site_host)) is not None:
                return url
    for start, end, raw in reversed(candidates):
        url = _external(raw, site_host)
        if url is None:
            continue
        # Without a marker only the shape says "republished": the address alone on the last line, as the seed has it.
        # A link at the end of a sentence ("the full report: <https://…>", "数据来源：国家统计局 <https://…>") is a
        # reference of the site's own article.
        if _only_chrome(body[end:]) and _starts_its_line(body, start):
            return url
        return None  # only the last usable link may be the original's
    return None


_BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCK))})\b[^<>]*>", re.IGNORECASE)
_LINE_WINDOW = 2_000


def _starts_its_line(body: str, start: int) -> bool:
    """Whether nothing but markup and separators comes before ``start`` on its line or in its block."""
    window_start = max(0, start - _LINE_WINDOW)
    before = body[window_start:start]
    newline = before.rfind("\n")
    bounded = newline >= 0 or window_start == 0
    before = before[newline + 1 :]
    blocks = list(_BLOCK_TAG.finditer(before))
    if blocks:
        before = before[blocks[-1].end() :]
    elif not bounded:
        return False  # a line longer than the window: not known to hold nothing else
    return not _TAG_MARKUP.sub("", before).strip(_TRAILING_SEPARATORS)


def _line_links(line: str) -> list[str]:
    links = [(match.start(), match.group("url")) for match in _MD_LINK.finditer(line)]
    for match in _A_TAG.finditer(line):
        href = _HREF.search(match.group("attrs"))
        if href is not None:
            links.append(
                (match.start(), html.unescape(href.group("dq") or href.group("sq") or href.group("bare") or ""))
            )
    return [url for _start, url in sorted(links)]


def _href(attributes: str) -> str | None:
    match = _HREF.search(attributes)
    if match is None:
        return None
    return html.unescape(match.group("dq") or match.group("sq") or match.group("bare") or "")


def _same_address(text: str, url: str) -> bool:
    return html.unescape(text).strip() == url.strip()


def _only_chrome(tail: str) -> bool:
    if len(tail) > 20_000:
        return False
    # Link texts are chrome too (e.g. "返回首页"): what remains after removing links must be separators only.
    without_links = _MD_LINK.sub("", tail)
    without_links = _A_TAG.sub("", without_links)
    without_links = _MARKUP.sub("", without_links)
    return not without_links.strip(_TRAILING_SEPARATORS)


# The usual original link: http(s), a host name of ASCII letters, digits, dots and hyphens (no user, port, IPv6
# address or IDN), then printable ASCII. For such a URL ``_valid_url`` returns it unchanged and urlsplit's hostname
# is the text up to the first "/", "?" or "#", lower-cased, so both parses can be skipped.
_PLAIN_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?:[/?#][!-~]*)?")


def _external(raw: str, site_host: str) -> str | None:
    plain = _PLAIN_URL.fullmatch(raw)
    if plain is not None and len(raw) <= _MAX_URL:
        url, host = raw, _bare_host(plain.group("host").lower())
    else:
        valid = _valid_url(raw)
        if valid is None:
            return None
        url, host = valid, _host(valid)
    if not host or host == site_host:
        return None
    return url


_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f\s\ud800-\udfff\ufffe\uffff]")


def _valid_url(raw: str) -> str | None:
    """An absolute http(s) URL as a URI (non-ASCII percent-encoded, IDNA host), or None when it is not one."""
    url = raw.strip()
    if not url or len(url) > _MAX_URL or _NOT_IN_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a malformed port
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not hostname:
        return None
    if not url.isascii():
        try:
            ascii_host = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        netloc = parts.netloc.replace(hostname, ascii_host) if hostname in parts.netloc else ascii_host
        # RFC 3987 §3.1: map an IRI to a URI by percent-encoding its non-ASCII characters as UTF-8.
        url = parts._replace(
            netloc=quote(netloc, safe="@:[]"),
            path=quote(parts.path, safe="/%;:@!$&'()*+,=~-._"),
            query=quote(parts.query, safe="/%;:@!$&'()*+,=~-._?"),
            fragment=quote(parts.fragment, safe="/%;:@!$&'()*+,=~-._?#"),
        ).geturl()
    return url


@functools.lru_cache(maxsize=8)
def _site_host(site_url: str) -> str:
    """The site's own host: the same for every post of a build, so worked out once."""
    return _host(site_url)


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return _bare_host(host)


def _bare_host(hostname: str) -> str:
    host = hostname.rstrip(".")
    return host[4:] if host.startswith("www.") else host
