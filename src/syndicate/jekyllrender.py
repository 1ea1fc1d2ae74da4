"""A Jekyll site's post bodies as Jekyll renders them: Liquid first (liquid.py, in the site's context), then Markdown
in the site's kramdown dialect (dialects.py), then the same sanitising as every body (content.render_body).

``liquid_site`` gathers what a post's Liquid may see of its site once per build: the configuration and ``_data``
as ``site``, and every post's URL for ``{% link %}`` and ``{% post_url %}``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from syndicate.config import Settings
from syndicate.content import render_body
from syndicate.dialects import kramdown_dialect, site_dialect
from syndicate.excerpts import excerpt_text
from syndicate.liquid import LiquidSite, has_liquid, render_liquid
from syndicate.posts import Post, in_full, jekyll_excerpt
from syndicate.site import JekyllSite


def _markdownify(site: JekyllSite) -> Any:
    return functools.partial(_render_markdown, site.kramdown)


def _render_markdown(kramdown: Mapping[str, Any], text: str) -> str:
    return render_body(text, page_url="", site_url="", dialect=kramdown_dialect(kramdown))


def liquid_site(settings: Settings, posts: Iterable[Post], now: datetime | None = None) -> LiquidSite | None:
    """What Liquid in a post may see of the site (None outside a Jekyll site)."""
    site = settings.jekyll
    if site is None:
        return None
    links: dict[str, str] = {}
    post_urls: dict[str, str] = {}
    for post in posts:
        links[post.path] = post.permalink
        below = post.path.partition("_posts/")[2]
        if below:
            post_urls[below.rpartition(".")[0]] = post.permalink
    variables = {**site.config, "data": site.data}
    if now is not None:
        variables["time"] = now.astimezone(settings.tz)
    return LiquidSite(
        root=site.root,
        variables=variables,
        links=links,
        post_urls=post_urls,
        baseurl=site.baseurl,
        url=site.url,
        safe=site.flag("safe"),
        markdownify=_markdownify(site),
        timezone=settings.tz,
    )


def page_variables(post: Post, meta: Mapping[str, Any], site: JekyllSite) -> dict[str, Any]:
    """``page`` in a post's Liquid: its front matter over the site's defaults, and what Jekyll adds."""
    post = in_full(post)
    kind = site.post_kind(post.path) or "posts"
    page = {**site.defaults_for(post.path, kind), **meta}
    page.update(
        title=post.title,
        date=post.date,
        url=post.permalink,
        id=post.entry_id,
        path=post.path,
        slug=post.slug,
        categories=list(post.categories),
        tags=list(post.tags),
        collection=post.collection or "posts",
        draft=kind == "drafts",
    )
    return page


def render_jekyll_body(
    settings: Settings, liquid: LiquidSite | None, post: Post, meta: Mapping[str, Any], body: str
) -> tuple[str, tuple[str, ...]]:
    """The body's cleaned HTML and the notes its Liquid gave (a plugin's tag dropped, say)."""
    site = settings.jekyll
    assert site is not None, "only for a Jekyll site's posts"
    notes: tuple[str, ...] = ()
    if liquid is None:  # rendered again outside a build: the site without the other posts' URLs
        liquid = liquid_site(settings, ())
    if liquid is not None and has_liquid(body) and meta.get("render_with_liquid") is not False:
        rendered = render_liquid(body, site=liquid, page=page_variables(post, meta, site), path=post.path)
        body, notes = rendered.text, rendered.notes
    return render_body(body, page_url=post.url, site_url=settings.site_url, dialect=site_dialect(site)), notes


def jekyll_summary(settings: Settings, liquid: LiquidSite | None, post: Post, data: bytes) -> str:
    """jekyll-feed's summary of ``post`` (whose file holds ``data``): its ``description`` or ``excerpt``, else the
    text of its whole excerpt (up to ``excerpts.MAX_EXCERPT`` characters), its Liquid rendered in the site's
    context and its Markdown read as kramdown. PostError when ``data`` cannot be read as the post."""
    site = settings.jekyll
    assert site is not None, "only for a Jekyll site's posts"
    excerpt = jekyll_excerpt(data, settings.max_post_bytes, site, post.path)
    if excerpt.given:
        return excerpt.given
    head = excerpt.head
    if liquid is None:
        liquid = liquid_site(settings, ())
    if liquid is not None and has_liquid(head) and excerpt.meta.get("render_with_liquid") is not False:
        head = render_liquid(head, site=liquid, page=page_variables(post, excerpt.meta, site), path=post.path).text
    return excerpt_text(head, site_dialect(site))
