"""Source attribution of republished posts: the original publication's name and the original article's URL.

Front matter wins (``source``, ``source_url``/``original_url``, or ``source: {name, url}``); otherwise both are read
from the raw body with regexes — no Markdown rendering, since this runs for every post. The body is untrusted:
every regex here is linear (negated character classes, no nested quantifiers), so a 20 MB body costs one pass.
"""

from __future__ import annotations

import bisect
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
    a marker, at the end of the body. Relative and protocol-relative links are site chrome and never qualify.
    """
    name, url = _from_meta(meta)
    if name is not None and url is not None:
        return Attribution(name, url)
    text = _Text(body)
    marker: int | None = None
    if name is None:
        name, marker = _name_from_body(text, patterns)
    else:
        marker = _marker_position(text, patterns)
    if url is None:
        url = _url_from_body(body, marker=marker, site_host=_host(site_url))
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
# can run away.
_MARKUP = re.compile(
    r"<![^<>]*>"
    r"|<(?P<close>/?)(?P<tag>[A-Za-z][A-Za-z0-9-]*)(?:[\s/][^<>]*)?>"
    r"|<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s]*>"
    r"|!?\[(?P<text>[^\[\]\n]{0,1000})\]\([^()\s]{0,4000}(?:\s+\"[^\"\n]{0,1000}\")?\)",
    re.DOTALL,
)
# Block-level tags become line breaks, so a name in one paragraph never runs into the next.
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
        "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th",
        "tr", "ul",
    }
)  # fmt: skip


class _Text:
    """A body's text with markup stripped, plus a map from positions in the text back to positions in the body.

    The text is built by one ``re.sub`` (its loop runs in C, this runs once per post over the whole body); the
    callback only records each replaced span, and the map back to the body is computed from those spans on demand.
    """

    def __init__(self, body: str) -> None:
        self._body_length = len(body)
        self._starts: list[int] = []  # body position of each replaced span
        self._ends: list[int] = []
        self._lengths: list[int] = []  # length of each span's replacement in the text
        self.text = _MARKUP.sub(self._replace, body)
        self._text_starts: list[int] | None = None

    def _replace(self, match: re.Match[str]) -> str:
        replacement = match.group("text")
        if replacement is None:
            tag = match.group("tag")
            replacement = "\n" if tag is not None and tag.lower() in _BLOCK else ""
        start, end = match.span()
        self._starts.append(start)
        self._ends.append(end)
        self._lengths.append(len(replacement))
        return replacement

    def body_position(self, text_position: int) -> int:
        """Where the text character at ``text_position`` comes from: inside a replacement, its span's start plus the
        offset; in raw text, its own position (so a name found in a Markdown link's text maps into the link)."""
        if self._text_starts is None:
            removed = itertools.accumulate(
                (
                    end - start - length
                    for start, end, length in zip(self._starts, self._ends, self._lengths, strict=True)
                ),
                initial=0,
            )
            self._text_starts = [
                start - before for start, before in zip(self._starts, removed, strict=False)
            ]  # removed has one more
        if text_position >= len(self.text):
            return self._end_position(text_position)
        index = bisect.bisect_right(self._text_starts, text_position) - 1
        if index < 0:
            return text_position
        offset = text_position - self._text_starts[index]
        if offset < self._lengths[index]:
            return self._starts[index] + offset
        return self._ends[index] + offset - self._lengths[index]

    def _end_position(self, text_position: int) -> int:
        # At the end of the text (an empty match there): the last piece of text, raw or replacement, extrapolated.
        text_starts: list[int] = []
        body_starts: list[int] = []
        length = 0
        last = 0
        for start, end, replaced in zip(self._starts, self._ends, self._lengths, strict=True):
            if start > last:
                text_starts.append(length)
                body_starts.append(last)
                length += start - last
            if replaced:
                text_starts.append(length)
                body_starts.append(start)
                length += replaced
            last = end
        if self._body_length > last:
            text_starts.append(length)
            body_starts.append(last)
        index = bisect.bisect_right(text_starts, text_position) - 1
        return 0 if index < 0 else body_starts[index] + text_position - text_starts[index]


# Where a matched name stops: a separator, a run of spaces, a tab, or the start of the next "field".
_NAME_END = re.compile(r"[|｜\t\u3000]| {2,}|\s+(?:作者|编辑|记者|责任编辑|Author|By)\b", re.IGNORECASE)
# Trimmed from both ends: whitespace, closing brackets and sentence punctuation, emphasis markers.
_NAME_TRIM = " \t\r\n\u00a0\u3000：:，,。.；;、!！?？*_~`'\"“”‘’)）」』】〕]>»"
_NAME_TRIM_START = " \t\r\n\u00a0\u3000：:，,。；;、*_~`'\"“”‘’(（「『【〔[<«"
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _clean_name(raw: str) -> str | None:
    name = html.unescape(raw[: _MAX_NAME * 4]) if "&" in raw else raw[: _MAX_NAME * 4]
    name = _CONTROL.sub(" ", name)
    cut = _NAME_END.search(name)
    if cut is not None:
        name = name[: cut.start()]
    name = " ".join(name.split()).strip(_NAME_TRIM).lstrip(_NAME_TRIM_START).strip(_NAME_TRIM)
    if len(name) > _MAX_NAME:
        name = name[:_MAX_NAME].rstrip()
    return name or None


def _name_from_body(text: _Text, patterns: Sequence[re.Pattern[str]]) -> tuple[str | None, int | None]:
    first_marker: int | None = None
    for pattern in patterns:
        for match in pattern.finditer(text.text):
            if first_marker is None:
                first_marker = text.body_position(match.start())
            raw = match.group("name")
            # A pattern's \s* may cross a paragraph break; text in the next paragraph is not the marker's value.
            if not isinstance(raw, str) or _PARAGRAPH_BREAK.search(text.text, match.start(), match.start("name")):
                continue
            name = _clean_name(raw)
            if name is not None:
                return name, text.body_position(match.start())
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
_MD_LINK = re.compile(r"(?<!!)\[(?P<text>[^\[\]\n]{1,4000})\]\((?P<url>[^()\s]{1,4000})(?:\s+\"[^\"\n]{0,1000}\")?\)")
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
    usable = [(start, end, url) for start, end, raw in candidates if (url := _external(raw, site_host)) is not None]
    if marker is not None:
        for start, _end, url in usable:
            if start >= marker:
                return url
        # "Source: <a href=…>Name</a>": the attribution line's own link names the publication and points at it.
        line_end = body.find("\n", marker, marker + 2_000)
        line = body[marker : line_end if line_end >= 0 else marker + 2_000]
        for raw in _line_links(line):
            if (url := _external(raw, site_host)) is not None:
                return url
    if usable:
        _start, end, url = usable[-1]
        if _only_chrome(body[end:]):
            return url
    return None


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


def _external(raw: str, site_host: str) -> str | None:
    url = _valid_url(raw)
    if url is None:
        return None
    host = _host(url)
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


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host
