"""Rendering: posts' bodies to cleaned HTML, planned documents to bytes, and feeds computed on request.

Each entry is rendered once per format and spliced into every page that lists it (``rendered_entries``), which is
most of a build's speed. RFC 5005 archive pages, most of a large site's documents, are rendered oldest first across
all feeds, so a post's entry serves its pages in every feed from a bounded memo; a build from a single-threaded
process hands them to forked workers, one contiguous run of pages (every format) each, which stage their files for
the build to adopt.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from syndicate._workers import ForkedWorkers, Parallelism, fork_workers, in_parallel
from syndicate.cache import ParseCache
from syndicate.config import Settings
from syndicate.content import render_body
from syndicate.documents import Document
from syndicate.feeds import Entry, Page, entry_fragment, render_page
from syndicate.formats import FEED_FORMATS, FORMAT_ORDER
from syndicate.groups import SITE_WIDE, TERM_KINDS, FeedInfo, feed_kind
from syndicate.jekyllfeed import SUFFIX as JEKYLL_FORMAT
from syndicate.jekyllrender import jekyll_summary, render_jekyll_body
from syndicate.liquid import LiquidSite
from syndicate.plan import Plan, Planned
from syndicate.posts import (
    MAX_BODY,
    Post,
    PostError,
    body_of,
    in_full,
    jekyll_parts_of,
    post_text_of,
    read_verified,
    with_summary,
)
from syndicate.store import Staging
from syndicate.terms import slugify

if TYPE_CHECKING:
    from syndicate.bodies import Bodies, PreviousDigest

log = logging.getLogger("syndicate.build")

Contents = Mapping[str, str]  # post file hash -> the post's cleaned HTML
Staged = tuple[str, str, "str | None"]  # (document path, digest, temporary file; None: the file is unchanged)


def render_content(
    settings: Settings, post: Post, liquid: LiquidSite | None = None, data: bytes | None = None
) -> str | None:
    """Cleaned HTML of one post's body; None when the summary must stand in. A Jekyll site's post has its Liquid
    rendered first (``liquid``: what it may see of the site) and its Markdown read as kramdown (jekyllrender.py).

    ``data``: the file's bytes as this build read and parsed them; without them (a post parsed by an earlier build
    or another process) the file is read again with the same checks, and used only if its bytes are the ones parsed
    (``posts.read_verified``).
    """
    path = post.path
    try:
        if data is None:
            real = os.path.realpath(settings.posts / path)  # a link inside the tree is read by its target (scan.py)
            data = read_verified(real, settings.max_post_bytes, settings.posts, post.digest)
        text = post_text_of(data, settings.max_post_bytes)
        if settings.jekyll is not None:
            meta, body = jekyll_parts_of(text)
        else:
            meta, body = {}, body_of(text)
    except (OSError, PostError):
        return None  # gone, changed or broken since it was parsed: the summary stands in; the next build catches up
    if len(body) > MAX_BODY:
        return None  # the summary stands in (the post carries a note saying so)
    try:
        if settings.jekyll is not None:
            html, notes = render_jekyll_body(settings, liquid, post, meta, body)
            for note in notes:
                log.warning("%s", note)
        else:
            html = render_body(body, page_url=post.url, site_url=settings.site_url)
    except Exception:  # a bug of ours or a library's must cost one post's content, never the build
        log.exception("unexpected error while rendering %s; its summary stands in", path)
        return None
    return html if len(html) <= MAX_BODY else None


RenderBatch = tuple[Settings, "LiquidSite | None", list[tuple[Post, "bytes | None"]]]


def _render_batch(args: RenderBatch) -> list[tuple[str, str | None]]:
    """Process-pool worker: render a batch of posts (with the bytes the build read of them, where it kept them)."""
    settings, liquid, batch = args
    return [(post.digest, render_content(settings, post, liquid, data)) for post, data in batch]


def render_contents(
    settings: Settings,
    cache: ParseCache | None,
    posts: Mapping[str, Post],
    parallelism: Parallelism,
    liquid: LiquidSite | None = None,
    sources: Mapping[str, bytes] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Rendered, cleaned HTML for posts by file hash: from the cache, else rendered now (and cached), from the bytes
    in ``sources`` (by digest: what this build read) or else read again (see ``render_content``).

    ``meanwhile`` is called once while worker processes render, if they do (see ``_workers.each_in_parallel``); it is
    not called otherwise."""
    found = cache.get_content(posts) if cache is not None else {}
    fresh: dict[str, str] = {}
    known = sources or {}
    todo = [(post, known.get(digest)) for digest, post in posts.items() if digest not in found]
    workers = parallelism.count
    if len(todo) >= parallelism.render_from and workers > 1:
        size = max(20, len(todo) // (workers * 4))
        # Each post with its text (a Jekyll post's Liquid sees its title and slug): workers from a fork server (the
        # server's) cannot read this process's summary store.
        todo = [(in_full(post), data) for post, data in todo]
        batches: list[RenderBatch] = [(settings, liquid, todo[i : i + size]) for i in range(0, len(todo), size)]
        rendered = in_parallel(_render_batch, batches, workers, lambda n: None, meanwhile)
    else:
        rendered = [(post.digest, render_content(settings, post, liquid, data)) for post, data in todo]
    for digest, html in rendered:
        if html is not None:
            found[digest] = html
            fresh[digest] = html
    if cache is not None:
        cache.put_content(fresh)
    return found


def jekyll_summaries(
    settings: Settings, posts: Mapping[str, Post], liquid: LiquidSite | None, sources: Mapping[str, bytes] | None
) -> dict[str, str]:
    """jekyll-feed's summaries (the whole excerpt) of the posts its documents list, by digest, from the bytes in
    ``sources`` or read again as ``render_content`` reads them; a post whose file changed since keeps our summary."""
    found: dict[str, str] = {}
    known = sources or {}
    for digest, post in posts.items():
        try:
            data = known.get(digest)
            if data is None:
                real = os.path.realpath(settings.posts / post.path)
                data = read_verified(real, settings.max_post_bytes, settings.posts, digest)
            found[digest] = jekyll_summary(settings, liquid, post, data)
        except (OSError, PostError):
            continue  # the next build reads the post again
        except Exception:  # a bug of ours or a library's must cost one summary, never the build
            log.exception("unexpected error while summarising %s; its short summary stands in", post.path)
    return found


def entry_memo_room(feeds: int, limit: int) -> int:
    """Archive entries kept for reuse. While one archive page is rendered, at most one page per feed is still to
    come that shares its posts, each of ``limit`` posts, per format; twice that leaves slack."""
    return max(1024, 2 * feeds * limit * len(FEED_FORMATS))


def oldest_first(planned: Sequence[Planned]) -> list[Planned]:
    """Archive pages in the order they are rendered: by their oldest post, across feeds."""
    return sorted(
        planned, key=lambda m: (m.page.entries[0].post.date.timestamp(), m.page.entries[0].post.path, m.page.path)
    )


def rendered_entries(
    settings: Settings,
    missing: Sequence[Planned],
    contents: Contents,
    feeds: int,
    summaries: Mapping[str, str] | None = None,
) -> Iterator[tuple[Planned, list[bytes]]]:
    """Each missing document with its entries rendered, each entry rendered once per format and spliced into every
    page that lists it.

    Subscription pages come first. Archive pages follow oldest first across all feeds: a post's pages in its several
    feeds are then close together in that order, so a bounded memo of entries serves nearly every reuse, and a cold
    build of a large site never holds the entries of every post at once (a miss renders the entry again: the same
    bytes).

    ``summaries``: jekyll-feed's summaries of the posts its documents list (``jekyll_summaries``), by digest.
    """
    full_text = not settings.excerpt_only
    whole = summaries or {}
    current: dict[tuple[str, str, bool], bytes] = {}
    # Each post's text read back once for all formats (it is kept out of memory, posts.in_full), not once per format.
    full: dict[tuple[str, str], Post] = {}
    # One format after another: an entry is only reused within its format, so the memo of full-content entries (a
    # few KB each, for every post in a subscription page) is emptied between formats.
    subscription = sorted((m for m in missing if not m.page.archive), key=lambda m: FORMAT_ORDER.index(m.fmt))
    for n, planned in enumerate(subscription):
        fmt = planned.fmt
        if n and fmt != subscription[n - 1].fmt:
            current.clear()
        parts = []
        for entry in planned.page.entries:
            post = entry.post
            content = contents.get(post.digest) if full_text and not post.excerpt_only else None
            # Keyed by path too: two files with the same bytes (a copy, a symlink) are two entries.
            fkey = (post.path, post.digest, content is not None)
            part = current.get(fkey)
            if part is None:
                post = full.get(fkey[:2]) or full.setdefault(fkey[:2], in_full(post))
                if fmt == JEKYLL_FORMAT and post.digest in whole:
                    post = with_summary(post, whole[post.digest])
                part = current[fkey] = entry_fragment(post, content, fmt)
            parts.append(part)
        yield planned, parts
    memo: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
    room = entry_memo_room(feeds, settings.limit)
    # A post's entry is rendered once per format, the formats of a page one after another: its text is read back
    # once for them all. Emptied when full (a miss reads the text again: the same post).
    full.clear()
    for planned in oldest_first([m for m in missing if m.page.archive]):
        parts = []
        for entry in planned.page.entries:
            akey = (entry.post.path, entry.post.digest, planned.fmt)
            part = memo.get(akey)
            if part is None:
                in_memory = full.get(akey[:2])
                if in_memory is None:
                    if len(full) >= room:
                        full.clear()
                    in_memory = full[akey[:2]] = in_full(entry.post)
                part = memo[akey] = entry_fragment(in_memory, None, planned.fmt)
                if len(memo) > room:
                    memo.popitem(last=False)
            else:
                memo.move_to_end(akey)
            parts.append(part)
        yield planned, parts


def _stage_archives(settings: Settings, previous: PreviousDigest, feeds: int, archived: list[Planned]) -> list[Staged]:
    """In a forked worker: render the pages, stage the files whose bytes changed, and hand them over."""
    staging = Staging(settings.out, threads=0)
    done: list[tuple[str, str, bool]] = []
    try:
        for planned, parts in rendered_entries(settings, archived, {}, feeds):
            doc = render_page(settings, planned.page, planned.fmt, parts)
            changed = doc.digest != previous(doc.path)
            if changed:
                staging.stage(doc.path, doc.body, doc.digest)
            done.append((doc.path, doc.digest, changed))
        staged = staging.finish(keep=[path for path, _, changed in done if changed])
    except BaseException:
        staging.discard()
        raise
    return [(path, digest, staged[path] if changed else None) for path, digest, changed in done]


def _collect(workers: ForkedWorkers[Staged], staging: Staging) -> dict[str, str] | None:
    """Digest by path of each page the workers rendered, their files adopted into ``staging``; None if the workers
    could not do it all (the caller then renders here); nothing they staged is left behind."""
    results, failure = workers.collect()
    if failure is not None:
        for _, _, tmp in results:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        log.warning("archive pages could not be rendered in worker processes (%s); rendering them here", failure)
        return None
    for path, digest, tmp in results:
        if tmp is not None:
            staging.adopt(path, digest, tmp)
    return {path: digest for path, digest, _ in results}


def _nothing() -> None:
    pass


def render_documents(
    settings: Settings,
    plan: Plan,
    previous: Mapping[str, Document],
    previous_keys: Mapping[str, str],
    bodies: Bodies,
    parallelism: Parallelism,
    feeds: int,
    meanwhile: Callable[[], None] = _nothing,
    liquid: LiquidSite | None = None,
    sources: Mapping[str, bytes] | None = None,
) -> dict[str, Document]:
    """The plan's documents: taken over from the previous build where their keys are unchanged, found again in the
    cache or the output directory, else rendered (and placed by ``bodies``).

    ``feeds`` is how many feeds the plan's pages belong to (it sizes the memo of entries); ``sources`` the bytes of
    the posts this build read, by digest (see ``render_content``). ``meanwhile`` is called
    once, while worker processes render (the posts' HTML, else archive pages) if they do, else at the end: work for
    this process that can overlap theirs.
    """
    documents: dict[str, Document] = {}
    missing: list[Planned] = []
    waiting = [meanwhile]

    def meanwhile_once() -> None:
        while waiting:
            waiting.pop()()

    for planned in plan.documents:
        path = planned.path
        old = previous.get(path)
        if old is not None and previous_keys.get(path) == planned.key:
            documents[path] = old
        else:
            missing.append(planned)
    found, missing = bodies.found(missing)
    documents.update(found)
    if not missing:
        meanwhile_once()
        return documents
    need = {
        e.post.digest: e.post
        for planned in missing
        if not planned.page.archive
        for e in planned.page.entries
        if not e.post.excerpt_only
    }
    # This process waits while workers render the posts' HTML: ``meanwhile`` runs then, if they do (else below).
    contents: Contents = (
        {}
        if settings.excerpt_only
        else render_contents(settings, bodies.cache, need, parallelism, liquid, sources, meanwhile_once)
    )
    listed = {
        e.post.digest: e.post for planned in missing if planned.fmt == JEKYLL_FORMAT for e in planned.page.entries
    }
    summaries = jekyll_summaries(settings, listed, liquid, sources) if listed else {}

    def place(rendered: Iterator[tuple[Planned, list[bytes]]]) -> None:
        for planned, parts in rendered:
            documents[planned.path] = bodies.place(planned, render_page(settings, planned.page, planned.fmt, parts))

    to_archive = [m for m in missing if m.page.archive]
    staging = bodies.staging
    workers = None
    if staging is not None and len(to_archive) >= parallelism.archive_from and parallelism.can_fork():
        stage = partial(_stage_archives, settings, bodies.previous, feeds)
        workers = fork_workers(stage, oldest_first(to_archive), parallelism.count)
    if workers is not None:
        assert staging is not None
        try:
            # The subscription pages are rendered here while the workers render the archive pages.
            place(rendered_entries(settings, [m for m in missing if not m.page.archive], contents, feeds, summaries))
            # Archive pages carry no full content: what is left to do here needs neither the posts' HTML nor the
            # subscription documents' bytes, so they are let go before the workers' results come in.
            contents = {}
            bodies.flush()
            meanwhile_once()
        except BaseException:
            _collect(workers, staging)  # the workers' files join this build's staging, which the failed build removes
            raise
        staged = _collect(workers, staging)
        if staged is None:
            missing = to_archive  # the workers failed: render them here
        else:
            missing = []
            for planned in to_archive:
                documents[planned.path] = bodies.adopt(planned, staged[planned.path])
    place(rendered_entries(settings, missing, contents, feeds, summaries))
    bodies.finish()
    meanwhile_once()
    return documents


def query_feed(
    settings: Settings,
    visible: Sequence[Post],
    contents: Callable[[Mapping[str, Post]], Contents],
    *,
    terms: Mapping[str, Sequence[str]],
    limit: int,
    fmt: str,
) -> Document:
    """A feed of the published posts with all the given names of each feed kind (``terms``: a kind's name, e.g.
    ``category`` or ``author``, to names), newest first, rendered now."""
    for name in terms:
        feed_kind(name)  # an unknown kind is a mistake in the caller, not a query that finds nothing
    asked = [(kind, sorted(terms.get(kind.name, ()))) for kind in TERM_KINDS]
    wanted = [(kind.terms, {slugify(n) for n in names}) for kind, names in asked if names and kind.terms is not None]
    selected = [p for p in visible if all(slugs <= {slugify(n) for n in of(p)} for of, slugs in wanted)][
        : max(1, limit)
    ]
    pairs = [(kind.name, name) for kind, names in asked for name in names]
    site = FeedInfo(SITE_WIDE.name, settings.title, "all", len(selected), settings.title)
    found = {} if settings.excerpt_only else contents({p.digest: p for p in selected if not p.excerpt_only})
    label = " + ".join(name for _kind, name in pairs)
    page = Page(
        feed=site,
        title=f"{settings.title} · {label}" if label else settings.title,
        entries=tuple(Entry(p, found.get(p.digest)) for p in selected),
        path=site.base,
        current=site.base,
        query=urlencode([*pairs, ("limit", limit)]),
    )
    return render_page(settings, page, fmt)
