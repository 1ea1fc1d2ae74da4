"""Counters the server keeps and their Prometheus text exposition (format 0.0.4).

Counting is a dict increment on the request path; rendering happens only when /metrics is scraped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class BuildGauges:
    """What the service reports about builds; read when rendering."""

    builds_ok: int = 0
    builds_failed: int = 0
    duration_sum: float = 0.0
    last_duration: float = 0.0
    last_success: bool = False
    last_success_time: float = 0.0  # Unix time of the last successful swap; 0 before the first
    ready: bool = False
    posts: int = 0
    feeds: int = 0
    documents: int = 0
    rejected: int = 0
    coalesced: int = 0
    paused_seconds: float = 0.0  # pauses between back-to-back builds (build_share)


@dataclass
class Metrics:
    requests: dict[int, int] = field(default_factory=dict)  # status -> count, every route
    feed_requests: int = 0  # GET/HEAD on /feeds/ that found a document
    feed_not_modified: int = 0
    websub_pings: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0, "retry": 0})
    admin_regenerate: dict[int, int] = field(default_factory=dict)
    archive_prepared: int = 0  # archive pages prepared on request (not found in the cache)
    archive_cache_bytes: int = 0
    publishes: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})  # to object storage
    published_objects: dict[str, int] = field(default_factory=lambda: {"uploaded": 0, "deleted": 0})

    def count(self, status: int) -> None:
        self.requests[status] = self.requests.get(status, 0) + 1

    def render(self, builds: BuildGauges) -> str:
        lines: list[str] = []
        for spec in _EXPOSED:
            lines.append(f"# HELP {spec.name} {spec.help}")
            lines.append(f"# TYPE {spec.name} {spec.kind}")
            for suffix, value in spec.samples(self, builds):
                # suffix is a label set ('{status="200"}') or a summary part ("_sum", "_count")
                lines.append(f"{spec.name}{suffix} {_number(value)}")
        return "\n".join(lines) + "\n"


Sample = tuple[str, float]  # (label set or summary suffix, value)


@dataclass(frozen=True)
class _Exposed:
    """One metric as exposed: its name, Prometheus type, help text and how to read its samples."""

    name: str
    kind: str
    help: str
    samples: Callable[[Metrics, BuildGauges], list[Sample]]


def _single(read: Callable[[Metrics, BuildGauges], float]) -> Callable[[Metrics, BuildGauges], list[Sample]]:
    return lambda m, b: [("", read(m, b))]


_EXPOSED: tuple[_Exposed, ...] = (
    _Exposed(
        "syndicate_http_requests_total",
        "counter",
        "HTTP requests answered, by status code.",
        lambda m, b: [(f'{{status="{status}"}}', count) for status, count in sorted(m.requests.items())],
    ),
    _Exposed(
        "syndicate_feed_requests_total",
        "counter",
        "Feed requests that found a document.",
        _single(lambda m, b: m.feed_requests),
    ),
    _Exposed(
        "syndicate_feed_not_modified_total",
        "counter",
        "Feed requests answered 304 Not Modified.",
        _single(lambda m, b: m.feed_not_modified),
    ),
    _Exposed(
        "syndicate_feed_not_modified_ratio",
        "gauge",
        "Share of feed requests answered 304.",
        _single(lambda m, b: m.feed_not_modified / m.feed_requests if m.feed_requests else 0.0),
    ),
    _Exposed(
        "syndicate_builds_total",
        "counter",
        "Builds run, by result.",
        lambda m, b: [('{result="ok"}', b.builds_ok), ('{result="error"}', b.builds_failed)],
    ),
    _Exposed(
        "syndicate_build_duration_seconds",
        "summary",
        "Build durations.",
        lambda m, b: [("_sum", b.duration_sum), ("_count", b.builds_ok + b.builds_failed)],
    ),
    _Exposed(
        "syndicate_last_build_duration_seconds",
        "gauge",
        "Duration of the last build.",
        _single(lambda m, b: b.last_duration),
    ),
    _Exposed(
        "syndicate_last_build_success",
        "gauge",
        "1 if the last build succeeded, 0 if it failed (the last good feeds are still served).",
        _single(lambda m, b: 1 if b.last_success else 0),
    ),
    _Exposed(
        "syndicate_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful build.",
        _single(lambda m, b: b.last_success_time),
    ),
    _Exposed(
        "syndicate_ready", "gauge", "1 once a build has succeeded and feeds are served.", _single(lambda m, b: b.ready)
    ),
    _Exposed("syndicate_posts", "gauge", "Posts in the served feeds.", _single(lambda m, b: b.posts)),
    _Exposed("syndicate_feeds", "gauge", "Feeds (site-wide, categories, tags) served.", _single(lambda m, b: b.feeds)),
    _Exposed(
        "syndicate_documents",
        "gauge",
        "Documents (all formats and archive pages) served.",
        _single(lambda m, b: b.documents),
    ),
    _Exposed(
        "syndicate_rejected_posts", "gauge", "Post files rejected by the last build.", _single(lambda m, b: b.rejected)
    ),
    _Exposed(
        "syndicate_build_triggers_coalesced_total",
        "counter",
        "Build triggers merged into a pending build instead of queued.",
        _single(lambda m, b: b.coalesced),
    ),
    _Exposed(
        "syndicate_build_pause_seconds_total",
        "counter",
        "Time back-to-back builds waited so that rebuilding keeps to build_share of the server's time.",
        _single(lambda m, b: b.paused_seconds),
    ),
    _Exposed(
        "syndicate_archive_pages_prepared_total",
        "counter",
        "Archive pages prepared (compressed) on request because they were not in the cache.",
        _single(lambda m, b: m.archive_prepared),
    ),
    _Exposed(
        "syndicate_archive_cache_bytes",
        "gauge",
        "Bytes of prepared archive pages held in memory (all encodings).",
        _single(lambda m, b: m.archive_cache_bytes),
    ),
    _Exposed(
        "syndicate_websub_pings_total",
        "counter",
        "WebSub publish notifications, by result: ok (2xx), error (given up), retry (failed, tried again).",
        lambda m, b: [(f'{{result="{result}"}}', count) for result, count in sorted(m.websub_pings.items())],
    ),
    _Exposed(
        "syndicate_publishes_total",
        "counter",
        "Publishes to object storage (publish_to), by result.",
        lambda m, b: [(f'{{result="{result}"}}', count) for result, count in sorted(m.publishes.items())],
    ),
    _Exposed(
        "syndicate_published_objects_total",
        "counter",
        "Objects uploaded to and deleted from object storage by publishes.",
        lambda m, b: [(f'{{action="{action}"}}', count) for action, count in sorted(m.published_objects.items())],
    ),
)


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class StatusCounter:
    """ASGI middleware counting responses by status for routes that do not count themselves.

    The /feeds/ handler counts its own responses, so this middleware passes those requests straight
    through without wrapping ``send``. An exception escaping a handler before its response started is counted as
    the 500 that Starlette's ServerErrorMiddleware (outside this one) then sends; the feed handler's too.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, skip_prefix: str = "/feeds/") -> None:
        self.app = app
        self.metrics = metrics
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(self.skip_prefix):
            try:  # free when nothing is raised (Python 3.11 exceptions are zero-cost)
                await self.app(scope, receive, send)
            except Exception:
                self.metrics.count(500)
                raise
            return
        count: Callable[[int], None] = self.metrics.count
        started = False

        async def counting_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                count(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            if not started:
                count(500)
            raise
