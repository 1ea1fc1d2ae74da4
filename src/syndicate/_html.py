"""What the HTML pages share: the page around their content, its style sheet, and the policy they are served under.

The pages are for people who open a feed or the index in a browser. They carry their style inline (no second request,
nothing to deploy beside the output files), follow the reader's light or dark preference, and need no script. The
Content-Security-Policy allows exactly that: this style sheet by its hash, images from anywhere (none are shown today;
a site's logo may be), nothing else, so a title that slipped past escaping still could not run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from syndicate.config import Settings
from syndicate.documents import feed_url
from syndicate.groups import FeedInfo
from syndicate.labels import Labels
from syndicate.records import Post, in_full, summary_of

MEDIA_TYPE = "text/html; charset=utf-8"
SUFFIX = "html"  # a feed's page: <feed's path>.html beside <feed's path>.atom

STYLE = """\
:root{color-scheme:light dark;--bg:#fbfbfa;--fg:#1f2328;--muted:#5c6370;--accent:#0a58ca;--card:#f1f3f5;\
--line:#d8dce1}
@media (prefers-color-scheme:dark){:root{--bg:#15171b;--fg:#e4e6ea;--muted:#9ba3af;--accent:#8ab4f8;--card:#22262d;\
--line:#353a43}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.65 system-ui,-apple-system,"Segoe UI","PingFang SC",\
"Hiragino Sans GB","Noto Sans CJK SC","Microsoft YaHei",sans-serif}
main{max-width:46rem;margin:0 auto;padding:2.5rem 1.25rem 4rem}
a{color:var(--accent);text-decoration-thickness:1px;text-underline-offset:.15em}
h1{font-size:2rem;line-height:1.2;margin:0 0 .4rem}
h2{font-size:1.2rem;margin:2.4rem 0 .6rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1.08rem;line-height:1.35;margin:0}
.lead{color:var(--muted);margin:.2rem 0 0}
.subscribe{background:var(--card);border:1px solid var(--line);border-radius:.7rem;padding:1rem 1.2rem;margin:1.6rem 0}
.subscribe h2{margin:0 0 .3rem;border:0;padding:0}
.subscribe p{margin:.1rem 0 .7rem}
.url{display:block;user-select:all;-webkit-user-select:all;font:.88rem/1.45 ui-monospace,SFMono-Regular,Menlo,\
Consolas,monospace;background:var(--bg);border:1px solid var(--line);border-radius:.4rem;padding:.4rem .6rem;\
margin:.15rem 0 .55rem;overflow-wrap:anywhere}
.label{font-size:.85rem;font-weight:600;color:var(--muted)}
ol,ul{list-style:none;padding:0;margin:0}
.entries li{padding:.85rem 0;border-bottom:1px solid var(--line)}
.entries p{margin:.3rem 0 0}
.meta,.count{color:var(--muted);font-size:.88rem}
.feeds li{padding:.5rem 0;border-bottom:1px solid var(--line)}
.feeds .name{font-weight:600;margin-right:.5rem}
.feeds .formats{font-size:.88rem;margin-left:.6rem}
.feeds .formats a{margin-right:.45rem}
details{margin:.25rem 0 0}
summary{cursor:pointer;color:var(--muted);font-size:.85rem}
footer{margin-top:3rem;color:var(--muted);font-size:.88rem}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
# No script, no frames, no forms, no plugins: the pages are text, links and this one style sheet.
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src * data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def attr(value: str) -> str:
    """``value`` escaped for a double-quoted attribute."""
    return escape(value, quote=True)


def href_of(path: str) -> str:
    """The root-relative link to an output document (``tags/右江.atom`` → ``/feeds/tags/%E5%8F%B3%E6%B1%9F.atom``):
    links work whatever host name the server is reached by; the addresses to copy are the absolute ones."""
    return "/feeds/" + quote(path, safe="/")


def autodiscovery(feed: FeedInfo, title: str) -> Iterable[str]:
    """``<link rel="alternate">`` for each of the feed's formats (the RSS/Atom autodiscovery convention, JSON Feed
    §1): a browser extension or a reader given the page's address finds the feed."""
    from syndicate.formats import FEED_FORMATS, FORMATS  # the writers' modules: a build's, not a resumed start's

    for spec in (FORMATS[name] for name in FEED_FORMATS):
        yield (
            f'<link rel="alternate" type="{spec.link_type}" title="{attr(title)} ({spec.label})" '
            f'href="{attr(href_of(feed.path(spec.name)))}">'
        )


def html_page(settings: Settings, title: str, head: Iterable[str], body: Iterable[str]) -> bytes:
    """A whole page: ``head`` lines after the title, ``body`` lines inside ``<main>``."""
    lines = [
        "<!DOCTYPE html>",
        f'<html lang="{attr(settings.language or "en")}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light dark">',
        f"<title>{escape(title)}</title>",
        *head,
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        *body,
        "</main>",
        "</body>",
        "</html>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def subscription_urls(settings: Settings, feed: FeedInfo, labels: Labels) -> list[str]:
    """The block of addresses to copy: each format's absolute URL, selectable with one click."""
    lines = ['<section class="subscribe">', f"<h2>{escape(labels.subscribe)}</h2>"]
    lines.append(f"<p>{escape(labels.what_is_a_feed)}</p>")
    lines.append(f"<p>{escape(labels.copy_hint)}</p>")
    from syndicate.formats import FEED_FORMATS, FORMATS  # the writers' modules: a build's, not a resumed start's

    for spec in (FORMATS[name] for name in FEED_FORMATS):
        lines.append(f'<span class="label">{escape(spec.label)}</span>')
        lines.append(f'<code class="url">{escape(feed_url(settings, feed.base, spec.name))}</code>')
    lines.append("</section>")
    return lines


def entry_lines(post: Post, labels: Labels, *, summary: bool = True) -> list[str]:
    """One post as a list item: its title linked to the post, its date, where it came from, its summary."""
    post = in_full(post)
    meta = f'<time datetime="{post.date.isoformat()}">{escape(labels.day(post.date))}</time>'
    if post.source_name:
        source = escape(post.source_name)
        if post.source_url:
            source = f'<a href="{attr(post.source_url)}">{source}</a>'
        meta += f" · {escape(labels.via)} {source}"
    lines = [
        "<li>",
        f'<h3><a href="{attr(post.url)}">{escape(post.title)}</a></h3>',
        f'<div class="meta">{meta}</div>',
    ]
    text = summary_of(post) if summary else ""
    if text:
        lines.append(f"<p>{escape(text)}</p>")
    lines.append("</li>")
    return lines
