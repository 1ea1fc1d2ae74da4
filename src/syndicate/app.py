"""The Starlette application: feeds, the index page, health, metrics and admin routes.

``/feeds/`` is served by :class:`FeedEndpoint`, a plain ASGI handler mounted inside Starlette: the hot path
is a dict lookup into the current :class:`~syndicate.snapshot.Snapshot` and sending precomputed bytes and
headers (archive pages are prepared on their first request, then cached). Paths are only ever dictionary
keys; no request path reaches the file system, so no request can read outside the output directory however
it is encoded.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from syndicate.admin import admin_routes
from syndicate.config import Settings
from syndicate.groups import ARCHIVE_DIR, TERM_KINDS, feed_kind, kind_in
from syndicate.metrics import MEDIA_TYPE as METRICS_MEDIA_TYPE
from syndicate.metrics import Metrics, StatusCounter
from syndicate.negotiation import prefers_html
from syndicate.responses import Headers, Representation, Resource, acceptable_encodings, is_not_modified
from syndicate.scheduler import create_scheduler
from syndicate.service import FeedService
from syndicate.snapshot import Snapshot
from syndicate.watcher import PostWatcher

if TYPE_CHECKING:
    from syndicate.builder import Builder

_MAX_PATH = 1024
_STARTUP_WAIT = 10.0  # seconds startup (and an early feed request) waits for the first build
_FIRST_BUILD_RETRY = 10  # Retry-After, seconds, while the first build runs: about as long as a request waits for it
# A term feed's path, or its archive pages': the directories are the feed kinds' (groups.FEED_KINDS).
_TERM_PATH = re.compile(
    rf"(?P<prefix>(?:{re.escape(ARCHIVE_DIR)}/)?)(?P<group>{'|'.join(re.escape(k.directory) for k in TERM_KINDS)})"
    r"/(?P<name>[^/]+)(?P<rest>(?:/\d+)?\.\w+)"
)


def kind_named_by(directory: str) -> str:
    """The name of the feed kind whose feeds live in ``directory`` (one _TERM_PATH matched)."""
    kind = kind_in(directory)
    assert kind is not None, directory
    return kind.name


# ?category=a&tag=b&source=c&author=d&limit=N: a parameter per term feed kind, named as the kind.
_QUERY_KEYS = frozenset({*(kind.name for kind in TERM_KINDS), "limit"})

_TEXT = [(b"content-type", b"text/plain; charset=utf-8"), (b"x-content-type-options", b"nosniff")]


def retry_after(service: FeedService) -> bytes:
    """Retry-After for a 503 while no feeds are served: when the failed build is tried again, else a short wait for
    the first build."""
    return str(math.ceil(service.retry_in) if service.retry_in is not None else _FIRST_BUILD_RETRY).encode("ascii")


async def _send_text(send: Send, status: int, text: str, extra: Headers | None = None) -> None:
    body = text.encode("utf-8")
    headers = [*_TEXT, (b"content-length", str(len(body)).encode("ascii")), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


def wants_page(scope: Scope, media_type: str) -> bool:
    """Whether the request's Accept prefers a page for people to ``media_type`` (the feed's)."""
    for name, value in scope["headers"]:
        if name == b"accept":
            return prefers_html(value, media_type)
    return False


async def send_resource(
    scope: Scope,
    send: Send,
    resource: Resource,
    metrics: Metrics,
    want: Callable[[Resource], None] | None = None,
) -> int:
    """Send ``resource`` for GET or HEAD, answering 304 when the client's copy is current; return the status."""
    accept_encoding = b""
    if_none_match: bytes | None = None
    if_modified_since: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            accept_encoding = value
        elif name == b"if-none-match":
            # Several header lines form one list (RFC 9110 §5.3).
            if_none_match = value if if_none_match is None else if_none_match + b", " + value
        elif name == b"if-modified-since":
            if_modified_since = value
    representation = resource.select(accept_encoding)
    if want is not None and resource.pending and not resource.pending.isdisjoint(acceptable_encodings(accept_encoding)):
        # A feed read by a client that accepts an encoding still pending (brotli of a large one after a rebuild) gets
        # it made. Not for other clients: brotli of every feed a reader asks for identity or gzip was CPU for nobody,
        # taken from the requests and the builds of a busy start.
        want(resource)
    metrics.feed_requests += 1
    if (if_none_match is not None or if_modified_since is not None) and is_not_modified(
        if_none_match,
        if_modified_since,
        representation.etag,
        resource.last_modified,
        resource.last_modified_header,
        resource.valid_from,
    ):
        return await _send_not_modified(send, representation, metrics)
    if if_none_match is not None and (held := resource.held(if_none_match, accept_encoding, representation)):
        # The client holds another encoding of these bytes (gzip, made before brotli): still current, it is the one
        # selected, and its ETag answers (see Resource.held).
        return await _send_not_modified(send, held, metrics)
    metrics.count(200)
    await send({"type": "http.response.start", "status": 200, "headers": representation.headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else representation.body})
    return 200


async def _send_not_modified(send: Send, representation: Representation, metrics: Metrics) -> int:
    metrics.feed_not_modified += 1
    metrics.count(304)
    await send({"type": "http.response.start", "status": 304, "headers": representation.not_modified_headers})
    await send({"type": "http.response.body", "body": b""})
    return 304


class JekyllFeedEndpoint:
    """A Jekyll site's jekyll-feed URLs at the site's root: the same documents (and the same caching) as their keys
    under ``/feeds/`` (``/feed.xml`` is ``/feeds/feed.xml``); jekyllfeed.py makes them."""

    def __init__(self, feeds: FeedEndpoint) -> None:
        from syndicate.jekyllfeed import SUFFIX  # a Jekyll site's server only

        self.feeds = feeds
        self._suffix = f".{SUFFIX}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if not path.endswith(self._suffix) or path.startswith("/feeds/"):
            self.feeds.metrics.count(404)
            await _send_text(send, 404, "Not found. The list of feeds is at /feeds/ (or /).\n")
            return
        await self.feeds({**scope, "root_path": "/feeds", "path": "/feeds" + path}, receive, send)


class FeedEndpoint:
    """Plain ASGI handler for everything under ``/feeds/``."""

    def __init__(self, service: FeedService) -> None:
        self.service = service
        self.metrics = service.metrics
        self._aliases: dict[str, str] = {}
        self._aliases_generation = -1
        self._uncounted = Metrics()  # the index page is counted by status only, not as a feed request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] not in ("GET", "HEAD"):
            self.metrics.count(405)
            await _send_text(send, 405, "Method not allowed: feeds are read-only.\n", [(b"allow", b"GET, HEAD")])
            return
        # Mounted at /feeds, Starlette puts the mount point into root_path; the rest is the document key.
        root = scope.get("root_path", "")
        path: str = scope["path"]
        path = path[len(root) :] if root and path.startswith(root) else path.removeprefix("/feeds")
        path = path.removeprefix("/")
        snapshot = self.service.snapshot
        if snapshot is None:
            snapshot = await self.first_snapshot()
            if snapshot is None:
                self.metrics.count(503)
                # Why is for the operator (/admin/status, the log): the error names server paths.
                failed = self.service.last_outcome is not None
                why = "the first build failed; the server log says why" if failed else "the first build is running"
                retry = (b"retry-after", retry_after(self.service))
                await _send_text(send, 503, f"Feeds are not available yet: {why}.\n", [retry])
                return
        if not path:
            # /feeds/ (and /feeds, which redirects here): the directory of feeds answers with their list,
            # the page / serves (same bytes and validators), rather than a 404 for the one path readers guess.
            self.metrics.count(await send_resource(scope, send, snapshot.index, self._uncounted))
            return
        resource = snapshot.resources.get(path)
        if snapshot.resumed and (resource is None or scope["query_string"]):
            # Served from the last process's files (resume.py): archive pages, names as written and queries need the
            # posts, which its first build reads.
            snapshot = await self.service.built_snapshot(_STARTUP_WAIT) or snapshot
            resource = snapshot.resources.get(path)
            if snapshot.resumed and (resource is None or scope["query_string"]):
                self.metrics.count(503)
                retry = (b"retry-after", retry_after(self.service))
                await _send_text(send, 503, "This feed is not available yet: the first build is running.\n", [retry])
                return
        if resource is None:
            path = self._resolve_alias(snapshot, path) or path
            resource = await self.service.resource(snapshot, path)
        if resource is None:
            self.metrics.count(404)
            await _send_text(send, 404, "No such feed. The list of feeds is at /feeds/ (or /) and /feeds/index.opml.\n")
            return
        query = scope["query_string"]
        if query:
            params = parse_qs(query.decode("latin-1"), keep_blank_values=True)
            if _QUERY_KEYS.intersection(params):
                await self._send_query(scope, send, snapshot, path, params)
                return
        page = snapshot.pages.get(path)
        if page is not None and wants_page(scope, resource.media_type):
            resource = snapshot.resources[page]  # a browser: the feed's page, at the feed's address (negotiation.py)
        await send_resource(scope, send, resource, self.metrics, self.service.want)

    async def first_snapshot(self) -> Snapshot | None:
        if not self.service.started:
            # Running without lifespan (e.g. a test client used without ``with``): build inline once.
            self.service.started = True
            await self.service.build_now()
        else:
            await self.service.wait_first_build(_STARTUP_WAIT)
        return self.service.snapshot

    def _resolve_alias(self, snapshot: Snapshot, path: str) -> str | None:
        """The served path for raw names and case variants of term slugs, e.g. ``tags/右江日报新闻.atom``."""
        # ".." as a segment, not in a name: "Tech Daily & Co." + ".atom" holds two dots and is a feed's name as written.
        if len(path) > _MAX_PATH or "\x00" in path or ".." in path.split("/"):
            return None
        match = _TERM_PATH.fullmatch(path)
        if match is None:
            return None
        if self._aliases_generation != snapshot.generation:
            aliases: dict[str, str] = {}
            for feed in snapshot.feeds:
                group = feed_kind(feed.kind).directory
                if not group:
                    continue
                for variant in (feed.name, feed.name.casefold(), feed.slug.casefold()):
                    aliases.setdefault(f"{group}/{variant}", feed.slug)
            self._aliases, self._aliases_generation = aliases, snapshot.generation
        group, name = match["group"], match["name"]
        slug = self._aliases.get(f"{group}/{name}") or self._aliases.get(f"{group}/{name.casefold()}")
        if slug is None:
            info = self.service.resolve(kind_named_by(group), name)
            slug = info.slug if info is not None else None
        if slug is None:
            return None
        return f"{match['prefix']}{group}/{slug}{match['rest']}"

    async def _send_query(
        self, scope: Scope, send: Send, snapshot: Snapshot, path: str, params: dict[str, list[str]]
    ) -> None:
        """``?category=a&tag=b&source=c&author=d&limit=N``: posts with all the given names, newest first, computed
        on demand."""
        from syndicate.formats import FEED_FORMATS  # the build's writers: a query feed is made by one (queries.py)

        fmt = path.rpartition(".")[2]
        if path.startswith(f"{ARCHIVE_DIR}/") or fmt not in FEED_FORMATS:
            self.metrics.count(400)
            await _send_text(send, 400, "Query parameters apply to feeds, not archive pages or OPML.\n")
            return
        asked = {kind.name: [name for name in params.get(kind.name, []) if name] for kind in TERM_KINDS}
        match = _TERM_PATH.fullmatch(path)
        if match is not None:
            # /feeds/categories/x.atom?tag=y narrows the category feed: x is one more name to intersect.
            served = path if path in snapshot.resources else self._resolve_alias(snapshot, path)
            slug = match["name"] if served is None else served.rpartition("/")[2].rpartition(".")[0]
            asked[kind_named_by(match["group"])].append(slug)
        limit = self.service.settings.query_limit
        raw_limit = params.get("limit", [""])[-1]
        if raw_limit:
            # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
            if not (raw_limit.isascii() and raw_limit.isdigit()) or int(raw_limit[:12]) < 1:
                self.metrics.count(400)
                await _send_text(send, 400, "limit must be a positive whole number.\n")
                return
            # capped: queries cost CPU, so clients cannot ask for everything (and no huge int() parses)
            limit = limit if len(raw_limit) > 9 else min(int(raw_limit), limit)
        slugs: dict[str, set[str]] = {kind: set() for kind in asked}
        for kind, names in asked.items():
            for name in names:
                info = self.service.resolve(kind, name) if len(name) <= _MAX_PATH else None
                if info is None:
                    self.metrics.count(404)
                    await _send_text(send, 404, f"Unknown {kind}: {name[:200]!r}.\n")
                    return
                slugs[kind].add(info.slug)  # one cache entry however the name was spelled
        resource = await self.service.query({kind: sorted(found) for kind, found in slugs.items()}, limit, fmt)
        await send_resource(scope, send, resource, self.metrics)


def create_app(
    settings: Settings,
    builder: Builder | None = None,
    *,
    background: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """Build the ASGI application. ``background=False`` skips the watcher and the scheduler (tests, one-offs).

    ``clock`` stamps Last-Modified (see ``FeedService``); the system clock by default.
    """
    metrics = Metrics()
    service = FeedService(settings, builder, metrics, clock=clock)
    feeds = FeedEndpoint(service)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})

    async def readyz(request: Request) -> Response:
        outcome = service.last_outcome
        # Public, for load balancers: whether good feeds are served, and whether the last build worked. The error
        # (paths of the posts and output directories, OS messages) is for the operator: /admin/status and the log.
        body = {
            "ready": service.snapshot is not None,
            "last_build_ok": None if outcome is None else outcome.ok,
            # What is served was built but could not be written (output directory full or read-only): a retry is due.
            "in_memory": outcome is not None and outcome.in_memory,
            # A build that never ends (a hung disk, a file that blocks a read) stops every later one: say so.
            "build_overdue": service.build_overdue(),
            # The first build is served from memory while its files are written (a static server in front, reading
            # them, falls back to this one meanwhile): false once they are.
            "writing": service.writing,
            # Why the last build failed, without paths ("the posts directory cannot be read", "refusing to drop 12 of
            # 15 published posts …"); null when it did not, or when nothing can be said publicly.
            "problem": None if outcome is None or outcome.ok else outcome.public or None,
        }
        if service.publisher is not None:
            # Publishing to object storage (publish_to): whether the last publish worked (None: none finished yet). A
            # failure keeps the instance ready, as a failed rebuild does: the bucket keeps its last consistent set and
            # the publish is retried.
            body["publish_ok"] = service.publisher.state.ok
        # Ready means "serving good feeds". A failed rebuild after that is reported here (and in /metrics)
        # but keeps the instance ready: the last good feeds are still served from memory.
        if service.snapshot is not None:
            return JSONResponse(body)
        # RFC 9110 §10.2.3: every 503 says when to come back, so a load balancer or reader does not hammer a server
        # that is still building (or waiting to retry a failed build).
        return JSONResponse(body, status_code=503, headers={"Retry-After": retry_after(service).decode("ascii")})

    async def feeds_directory(request: Request) -> Response:
        # RFC 9110 §10.2.2: Location may be a relative reference. Starlette's trailing-slash redirect wrote an absolute
        # URL from the request's Host (and, behind uvicorn's default proxy headers, X-Forwarded-Proto): whatever a
        # client sent came back in Location, and a cache keyed without Host could hand it to other readers.
        query = request.scope["query_string"]
        location = "/feeds/" + ("?" + query.decode("latin-1") if query else "")
        return Response(status_code=307, headers={"Location": location})

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.render(service.gauges), media_type=METRICS_MEDIA_TYPE)

    routes: list[BaseRoute] = [
        Mount("/feeds", app=feeds),
        Route("/feeds", feeds_directory, methods=["GET", "HEAD"]),
        Route("/", IndexEndpoint(feeds), methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *admin_routes(service, settings.admin_token, settings.admin_rate, settings.admin_auth_failures),
    ]
    if settings.jekyll is not None:
        # jekyll-feed's URLs (/feed.xml, /feed/<category>.xml, /feed/by_tag/<tag>.xml, or where feed.path says):
        # last, so they never shadow a route of ours.
        routes.append(Route("/{path:path}", JekyllFeedEndpoint(feeds), methods=["GET", "HEAD"]))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = PostWatcher(settings, service) if background and settings.watch else None
        scheduler = create_scheduler(settings, service) if background else None
        if watcher is not None:
            # First: setting up the watch walks the posts directory (watchfiles, without the GIL) on the event loop,
            # so it goes on alongside the start's own look at the posts (resume.py, in a thread) rather than after it,
            # in front of the first requests. A change it sees meanwhile asks for the build that start then serves.
            watcher.start()
        await service.start(wait=_STARTUP_WAIT)
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            if watcher is not None:
                await watcher.stop()
            await service.stop()

    app = Starlette(routes=routes, middleware=[Middleware(StatusCounter, metrics=metrics)], lifespan=lifespan)
    app.router.redirect_slashes = False  # its redirects name the request's Host (see feeds_directory); a 404 instead
    app.state.service = service
    app.state.metrics = metrics
    app.state.feeds = feeds
    return app


class FeedsFirst:
    """The ASGI app the server runs: requests under ``/feeds/`` go straight to the feed handler, everything else (and
    the lifespan) to the Starlette app.

    Feed requests are nearly all of a busy server's traffic, and they use nothing of Starlette's middleware and
    routing: the handler answers, counts and fails on its own (an exception before the response starts is a 500 from
    uvicorn, as it would be from Starlette, and is counted here as one). Skipping that stack is a few per cent of every
    feed request.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.feeds: FeedEndpoint = app.state.feeds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/feeds/"):
            try:  # free when nothing is raised (Python 3.11 exceptions are zero-cost)
                await self.feeds(scope, receive, send)
            except Exception:
                # The handler counts a status just before sending it, so only a failure before that gets here
                # (uvicorn answers it with a 500); after it only send() can fail, on a malformed message (a bug).
                self.feeds.metrics.count(500)
                raise
        else:
            await self.app(scope, receive, send)


class IndexEndpoint:
    """``GET /``: the HTML list of feeds, prepared at swap time and served with the same validators."""

    def __init__(self, feeds: FeedEndpoint) -> None:
        self.feeds = feeds
        self._uncounted = Metrics()  # StatusCounter counts this route; it is not a feed request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        snapshot = self.feeds.service.snapshot or await self.feeds.first_snapshot()
        if snapshot is None:
            retry = (b"retry-after", retry_after(self.feeds.service))
            await _send_text(send, 503, "Feeds are not available yet.\n", [retry])
            return
        await send_resource(scope, send, snapshot.index, self._uncounted)
