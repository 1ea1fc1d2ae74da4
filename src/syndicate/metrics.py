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
    websub_pings: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    admin_regenerate: dict[int, int] = field(default_factory=dict)
    archive_prepared: int = 0  # archive pages prepared on request (not found in the cache)
    archive_cache_bytes: int = 0

    def count(self, status: int) -> None:
        self.requests[status] = self.requests.get(status, 0) + 1

    def render(self, builds: BuildGauges) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for suffix, value in samples:
                # suffix is a label set ('{status="200"}') or a summary part ("_sum", "_count")
                lines.append(f"{name}{suffix} {_number(value)}")

        metric(
            "syndicate_http_requests_total",
            "counter",
            "HTTP requests answered, by status code.",
            [(f'{{status="{status}"}}', count) for status, count in sorted(self.requests.items())],
        )
        metric(
            "syndicate_feed_requests_total",
            "counter",
            "Feed requests that found a document.",
            [("", self.feed_requests)],
        )
        metric(
            "syndicate_feed_not_modified_total",
            "counter",
            "Feed requests answered 304 Not Modified.",
            [("", self.feed_not_modified)],
        )
        ratio = self.feed_not_modified / self.feed_requests if self.feed_requests else 0.0
        metric("syndicate_feed_not_modified_ratio", "gauge", "Share of feed requests answered 304.", [("", ratio)])
        metric(
            "syndicate_builds_total",
            "counter",
            "Builds run, by result.",
            [('{result="ok"}', builds.builds_ok), ('{result="error"}', builds.builds_failed)],
        )
        metric(
            "syndicate_build_duration_seconds",
            "summary",
            "Build durations.",
            [("_sum", builds.duration_sum), ("_count", builds.builds_ok + builds.builds_failed)],
        )
        metric(
            "syndicate_last_build_duration_seconds",
            "gauge",
            "Duration of the last build.",
            [("", builds.last_duration)],
        )
        metric(
            "syndicate_last_build_success",
            "gauge",
            "1 if the last build succeeded, 0 if it failed (the last good feeds are still served).",
            [("", 1 if builds.last_success else 0)],
        )
        metric(
            "syndicate_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful build.",
            [("", builds.last_success_time)],
        )
        metric(
            "syndicate_ready", "gauge", "1 once a build has succeeded and feeds are served.", [("", int(builds.ready))]
        )
        metric("syndicate_posts", "gauge", "Posts in the served feeds.", [("", builds.posts)])
        metric("syndicate_feeds", "gauge", "Feeds (site-wide, categories, tags) served.", [("", builds.feeds)])
        metric(
            "syndicate_documents",
            "gauge",
            "Documents (all formats and archive pages) served.",
            [("", builds.documents)],
        )
        metric("syndicate_rejected_posts", "gauge", "Post files rejected by the last build.", [("", builds.rejected)])
        metric(
            "syndicate_build_triggers_coalesced_total",
            "counter",
            "Build triggers merged into a pending build instead of queued.",
            [("", builds.coalesced)],
        )
        metric(
            "syndicate_build_pause_seconds_total",
            "counter",
            "Time back-to-back builds waited so that rebuilding keeps to build_share of the server's time.",
            [("", builds.paused_seconds)],
        )
        metric(
            "syndicate_archive_pages_prepared_total",
            "counter",
            "Archive pages prepared (compressed) on request because they were not in the cache.",
            [("", self.archive_prepared)],
        )
        metric(
            "syndicate_archive_cache_bytes",
            "gauge",
            "Bytes of prepared archive pages held in memory (all encodings).",
            [("", self.archive_cache_bytes)],
        )
        metric(
            "syndicate_websub_pings_total",
            "counter",
            "WebSub publish notifications sent to the hub, by result.",
            [(f'{{result="{result}"}}', count) for result, count in sorted(self.websub_pings.items())],
        )
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class StatusCounter:
    """ASGI middleware counting responses by status for routes that do not count themselves.

    The /feeds/ handler counts its own responses, so this middleware passes those requests straight
    through without wrapping ``send``.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, skip_prefix: str = "/feeds/") -> None:
        self.app = app
        self.metrics = metrics
        self.skip_prefix = skip_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefix):
            await self.app(scope, receive, send)
            return
        count: Callable[[int], None] = self.metrics.count

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                count(message["status"])
            await send(message)

        await self.app(scope, receive, counting_send)
