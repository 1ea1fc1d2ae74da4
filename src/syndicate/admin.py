"""Admin routes: ``POST /admin/regenerate`` and ``GET /admin/status``, behind a bearer token.

No token configured: the routes do not exist (404) rather than being open. Missing or malformed credentials:
401 with ``WWW-Authenticate: Bearer`` (RFC 6750 §3); a wrong token: 403. Tokens are compared in constant
time. Regeneration is rate-limited per client (``admin_rate`` per minute; 0 = unlimited) with 429 and
Retry-After (RFC 6585 §4), and repeated triggers coalesce in the service, so nothing queues without bound.

Guessing is throttled too: past ``admin_auth_failures`` wrong tokens from one client address within a minute
(default 10: plenty for typos, nothing for a brute force; 0 = unlimited), every admin request from that address, the
right token included (a 200 among 429s would still confirm a guess), is answered 429 with Retry-After until its
oldest failure is a minute old. Other addresses are not affected, and nothing stays locked longer than that minute.
Behind a reverse proxy every client has the proxy's address unless ``trusted_proxies`` names it (then uvicorn takes the
client from X-Forwarded-For); a guesser there makes the admin wait, but not guess.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from syndicate.service import FeedService

_WINDOW = 60.0
_MAX_CLIENTS = 10_000
_WAIT_TIMEOUT = 600.0


class RateLimiter:
    """Sliding-window log per client: at most ``rate`` events in any ``window`` seconds."""

    def __init__(self, rate: int, window: float = _WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.window = window
        self.clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def acquire(self, client: str) -> float:
        """Record an event for ``client``; return 0 if allowed, else seconds until one would be."""
        return self._check(client, record=True)

    def wait(self, client: str) -> float:
        """Seconds until an event for ``client`` would be allowed (0: now), recording nothing."""
        return self._check(client, record=False)

    def _check(self, client: str, *, record: bool) -> float:
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        events = self._events.get(client)
        if events is None:
            if not record:
                return 0.0
            if len(self._events) >= _MAX_CLIENTS:
                self._events.popitem(last=False)  # bounded memory: forget the least recently seen client
            events = self._events[client] = deque()
        self._events.move_to_end(client)
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(events) >= self.rate:
            return events[0] + self.window - now
        if record:
            events.append(now)
        return 0.0


def _too_many(what: str, wait: float) -> Response:
    retry = max(1, math.ceil(wait))
    return PlainTextResponse(
        f"Too many {what}; retry in {retry} s.\n", status_code=429, headers={"Retry-After": str(retry)}
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _authorise(request: Request, token: str, failures: RateLimiter) -> Response | None:
    # Checked before the token, and whatever the token: a client out of guesses learns nothing more.
    wait = failures.wait(_client(request))
    if wait > 0:
        return _too_many("failed authentication attempts", wait)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return PlainTextResponse(
            "Authentication required: send 'Authorization: Bearer <token>'.\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="syndicate admin"'},
        )
    # Compare the bytes as sent (Starlette decodes header values as latin-1) with the token's UTF-8 bytes:
    # compare_digest on str rejects non-ASCII, on bytes it is constant-time for any input of the token's length.
    # Comparing SHA-256 digests makes every input that length, so the time does not tell the token's length either.
    sent = credentials.strip().encode("latin-1", "replace")
    if not hmac.compare_digest(hashlib.sha256(sent).digest(), hashlib.sha256(token.encode("utf-8")).digest()):
        failures.acquire(_client(request))
        return PlainTextResponse(
            "Forbidden: wrong admin token.\n",
            status_code=403,
            headers={"WWW-Authenticate": 'Bearer realm="syndicate admin", error="invalid_token"'},
        )
    return None


def admin_routes(service: FeedService, token: str, rate: int, auth_failures: int) -> list[Route]:
    """The admin routes, or none at all when no token is configured (the router then answers 404)."""
    if not token:
        return []
    limiter = RateLimiter(rate)
    failures = RateLimiter(auth_failures)

    async def status(request: Request) -> Response:
        denied = _authorise(request, token, failures)
        if denied is not None:
            return denied
        return JSONResponse(service.status(), headers={"Cache-Control": "no-store"})

    async def regenerate(request: Request) -> Response:
        denied = _authorise(request, token, failures)
        if denied is not None:
            return denied
        wait = limiter.acquire(_client(request))
        if wait > 0:
            return _too_many("regenerate requests", wait)
        feed = request.query_params.get("feed", "").strip().lstrip("/")
        if feed.startswith("feeds/"):
            feed = feed.removeprefix("feeds/")
        snapshot = service.snapshot
        if feed and snapshot is not None and snapshot.resumed and feed not in snapshot:
            snapshot = await service.built_snapshot(_WAIT_TIMEOUT)  # archive pages are known once the posts are read
        if feed and (snapshot is None or feed not in snapshot):
            return PlainTextResponse(f"Unknown feed: {feed!r}.\n", status_code=404)
        # The Builder rebuilds from posts, not from feeds: one feed is regenerated by a rescan, which
        # only rewrites documents whose bytes changed, so other feeds keep their bytes and ETags.
        # force=1: past the drop guard (guard.py), when posts are meant to go.
        force = request.query_params.get("force", "0") in ("1", "true", "yes")
        future = service.request_build(None, reason=f"admin {feed or 'full'}", force=force)
        if request.query_params.get("wait", "1") in ("0", "false", "no"):
            return JSONResponse({"accepted": True, "feed": feed or None}, status_code=202)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(future), _WAIT_TIMEOUT)
        except TimeoutError:
            return JSONResponse({"accepted": True, "feed": feed or None, "finished": False}, status_code=202)
        body = {"feed": feed or None, **outcome.as_dict()}
        if feed and outcome.ok and outcome.report is not None:
            body["changed"] = feed in outcome.report.written
        return JSONResponse(body, status_code=200 if outcome.ok else 500, headers={"Cache-Control": "no-store"})

    return [
        Route("/admin/status", status, methods=["GET"]),
        Route("/admin/regenerate", regenerate, methods=["POST"]),
    ]


def request_regeneration(
    base_url: str, token: str, *, feed: str | None = None, wait: bool = True, force: bool = False
) -> int:
    """``syndicate regenerate``: POST to a running server's admin route; print the outcome; return an exit code.

    0: rebuilt (or accepted with ``wait=False``); 1: the build failed or the server could not be reached;
    2: refused (no token, wrong token, admin disabled, rate-limited).
    """
    if not token:
        print("error: no admin token: set SYNDICATE_ADMIN_TOKEN (the server's token)", file=sys.stderr)
        return 2
    query = {k: v for k, v in (("feed", feed), ("wait", None if wait else "0"), ("force", "1" if force else None)) if v}
    url = base_url.rstrip("/") + "/admin/regenerate" + ("?" + urllib.parse.urlencode(query) if query else "")
    request = urllib.request.Request(url, method="POST", data=b"", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=_WAIT_TIMEOUT + 30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except OSError as exc:
        print(f"error: cannot reach {base_url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    text = body.decode("utf-8", "replace").strip()
    if status in (401, 403, 404, 429):
        hint = {404: " (is SYNDICATE_ADMIN_TOKEN set for the server?)"}.get(status, "")
        print(f"error: the server refused ({status}): {text}{hint}", file=sys.stderr)
        return 2
    try:
        result = json.loads(text)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        print(f"error: unexpected answer ({status}): {text[:500]}", file=sys.stderr)
        return 1
    if status == 202:
        print("regeneration accepted" + (f" for {feed}" if feed else ""))
        return 0
    if not result.get("ok"):
        print(
            f"error: build failed; the server keeps serving the last good feeds: {result.get('error')}", file=sys.stderr
        )
        return 1
    print(
        f"rebuilt: {result.get('posts')} posts, {result.get('feeds')} feeds, {len(result.get('written', []))} "
        f"documents changed, {len(result.get('rejected', []))} rejected, {result.get('duration')}s"
    )
    for rejection in result.get("rejected", []):
        print(f"rejected: {rejection.get('path')}: {rejection.get('reason')}", file=sys.stderr)
    return 0
