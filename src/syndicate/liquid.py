"""Liquid in post bodies, rendered as Jekyll 4.3 renders it, before the body's Markdown.

Real sites' posts hold Liquid: ``{{ site.title }}``, ``{% raw %}``, ``{% highlight %}``, ``{% link %}``,
``{% post_url %}``, ``{% include %}``, Jekyll's filters. ``render_liquid`` renders one body with python-liquid, Jekyll's
tags and filters added (``_liquid_tags``, ``_liquid_filters``), in an environment of its own (``_liquid_env``).

It never raises, and a post's problems are values (``Rendered.notes``), as everywhere in syndicate:

- A tag neither Liquid nor Jekyll has (a plugin's, such as ``{% avatar user %}``) is dropped, with a note; of a
  plugin's block tag, both tags are dropped and the text between them is kept.
- A filter syndicate does not have passes its input on (Jekyll's Liquid does the same), with a note.
- A Liquid error (bad syntax in a tag, an include that is missing) leaves that part out, with a note; the rest of
  the post is rendered. Text Liquid cannot even split into tags (an unclosed ``{{``) is kept with its Liquid
  removed.
- Undefined variables are empty, as in Jekyll's default (non-strict) mode.
- Posts are untrusted: loops, output, assigned values, includes and ranges are bounded (``_liquid_env``); a post
  that exceeds a bound is cut where it did, with a note.

Output is deterministic: ``sample`` takes the first item, ``"now" | date`` is ``site.time``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LiquidSite:
    """What a post's Liquid may see of its site."""

    root: Path
    """The site's root: ``{% include %}`` reads ``<root>/_includes``, ``include_relative`` the post's directory."""
    variables: Mapping[str, Any]
    """``site`` in templates: the configuration, ``data`` (from ``_data/``), ``posts``, ``time``, …"""
    links: Mapping[str, str]
    """For ``{% link %}``: a source path relative to the root (``_posts/2021-01-02-x.md``, ``about.md``) to its
    site-relative URL (``/2021/01/02/x.html``)."""
    post_urls: Mapping[str, str]
    """For ``{% post_url %}``: a post's name without extension (``2021-01-02-x``, ``sub/2021-01-02-x``) to its
    site-relative URL."""
    baseurl: str = ""
    """``site.baseurl``, which ``relative_url``, ``absolute_url``, ``link`` and ``post_url`` put before a URL."""
    url: str = ""
    """``site.url``, for ``absolute_url``."""
    safe: bool = False
    """Jekyll's safe mode. Nothing here depends on it: includes stay inside the site in either mode."""
    markdownify: Callable[[str], str] | None = None
    """The Markdown renderer of the ``markdownify`` filter; without one the filter passes its input on."""
    timezone: tzinfo = UTC
    """The site's zone, for dates written without an offset (``"2021-01-02" | date_to_string``)."""


@dataclass(frozen=True)
class Rendered:
    """A body with its Liquid rendered, and one note per problem (each naming the post's path)."""

    text: str
    notes: tuple[str, ...]


def has_liquid(source: str) -> bool:
    """Whether ``source`` may hold Liquid; most bodies do not, and skip ``render_liquid``."""
    return "{{" in source or "{%" in source


def render_liquid(source: str, *, site: LiquidSite, page: Mapping[str, Any], path: str) -> Rendered:
    """``source``, a post's body, with its Liquid rendered as Jekyll does, ``page`` being the post's variables
    (``title``, ``date``, ``url``, ``categories``, ``tags``, any front matter key) and ``path`` its file's path
    relative to the site's root (for notes and ``include_relative``)."""
    if not has_liquid(source):
        return Rendered(source, ())
    # python-liquid is imported by the first post that holds Liquid: it is the largest import of the program, and
    # most processes (a server resuming its last build, a build of posts without Liquid) never need it.
    from liquid.exceptions import LiquidError, ResourceLimitError
    from liquid.output import LimitedStringIO

    from syndicate._liquid_env import OUTPUT_LIMIT_BYTES, JekyllEnvironment

    env = JekyllEnvironment(site, path)
    try:
        template = env.from_string(source, path=path)
    except LiquidError as exc:
        env.note(f"Liquid that cannot be read ({_first_line(exc)}); its Liquid removed")
        return Rendered(strip_liquid(source), tuple(env.notes))
    except RecursionError:
        env.note("Liquid nested too deeply to read; its Liquid removed")
        return Rendered(strip_liquid(source), tuple(env.notes))
    namespace = {"site": site.variables, "page": page, "jekyll": _JEKYLL}
    context = template.context_class(template, globals=template.make_globals(namespace))
    buffer = LimitedStringIO(limit=OUTPUT_LIMIT_BYTES)
    try:
        template.render_with_context(context, buffer)
    except ResourceLimitError as exc:
        env.note(f"Liquid stopped: {_first_line(exc)}; the post is cut there")
    except Exception as exc:  # a bug here, or in python-liquid, costs this post's Liquid, never the build
        env.note(f"Liquid failed ({type(exc).__name__}: {_first_line(exc)}); its Liquid removed")
        return Rendered(strip_liquid(source), tuple(env.notes))
    return Rendered(buffer.getvalue(), tuple(env.notes))


# Jekyll's ``jekyll`` variable: feeds are built from a site as deployed, so the environment is production's.
_JEKYLL = {"environment": "production"}


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0] if text.strip() else type(exc).__name__


_RAW = re.compile(r"{%-?\s*raw\s*-?%}(.*?){%-?\s*endraw\s*-?%}", re.DOTALL)
_COMMENT = re.compile(r"{%-?\s*comment\s*-?%}.*?{%-?\s*endcomment\s*-?%}", re.DOTALL)
_LIQUID = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)
_UNCLOSED = re.compile(r"{[{%][^\n]*")


def strip_liquid(source: str) -> str:
    """``source`` with its Liquid removed, as best text Liquid cannot parse allows: what ``raw`` holds is kept,
    comments, tags and output statements go, and an opening ``{{`` or ``{%`` never closed goes with the rest of its
    line."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(1))
        return f"\x00{len(kept) - 1}\x00"

    text = _RAW.sub(keep, source.replace("\x00", ""))
    text = _UNCLOSED.sub("", _LIQUID.sub("", _COMMENT.sub("", text)))
    return re.sub("\x00(\\d+)\x00", lambda match: kept[int(match.group(1))], text)
