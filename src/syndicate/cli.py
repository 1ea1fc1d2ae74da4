"""Command line: ``syndicate build``, ``check``, ``serve``, ``publish`` and ``regenerate``.

Exit codes: 0 built (or checked) fine; 1 fatal error (missing posts directory, unreadable config, output not
writable); 2 with ``--strict`` when any post was rejected (``check`` exits 2 whenever a post is rejected).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syndicate import __version__
from syndicate.config import SETTINGS, ConfigError, Settings, load_settings, trusted_proxy_list

if TYPE_CHECKING:
    import socket

    from syndicate.builder import BuildReport
    from syndicate.lastbuild import PostNote
    from syndicate.responses import Header

DEFAULT_CONFIG = "syndicate.toml"
# Flags' help shows the defaults from the settings table, so that it cannot drift from them.
_DEFAULT = {s.name: s.default for s in SETTINGS}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--posts", type=Path, help=f"posts directory (default: {_DEFAULT['posts']}, or 'posts' in the config)"
    )
    parser.add_argument("--config", type=Path, help=f"TOML config file (default: ./{DEFAULT_CONFIG} if present)")
    parser.add_argument(
        "--site",
        type=Path,
        help="a Jekyll site's root: read its _config.yml and its posts where Jekyll finds them (instead of --posts)",
    )


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, help=f"output directory (default: {_DEFAULT['out']})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="syndicate", description="Feeds per category and tag from Jekyll posts.")
    parser.add_argument("--version", action="version", version=f"syndicate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build every feed once and exit")
    _add_common(build)
    _add_out(build)
    build.add_argument("--strict", action="store_true", help="exit 2 when any post was rejected")
    build.add_argument("--quiet", "-q", action="store_true", help="print only problems")
    build.add_argument("--no-cache", action="store_true", help="do not use or update the parse cache")
    build.add_argument(
        "--force", action="store_true", help="build even if it drops more than max_drop_share of the posts"
    )

    check = sub.add_parser("check", help="validate posts only; list problems")
    _add_common(check)

    serve = sub.add_parser("serve", help="build, watch and serve the feeds over HTTP")
    _add_common(serve)
    _add_out(serve)
    serve.add_argument("--host", help=f"address to bind (default: {_DEFAULT['host']})")
    serve.add_argument("--port", type=int, help=f"port to bind; 0 picks a free one (default: {_DEFAULT['port']})")

    publish = sub.add_parser(
        "publish", help="build, then make an S3 bucket hold exactly the output (incremental; for a CDN in front)"
    )
    _add_common(publish)
    _add_out(publish)
    publish.add_argument(
        "--to", metavar="s3://BUCKET[/PREFIX]", help="where to publish (default: publish_to from the settings)"
    )
    publish.add_argument(
        "--endpoint-url", metavar="URL", help="an S3-compatible service's endpoint (default: publish_endpoint, or AWS)"
    )
    publish.add_argument("--strict", action="store_true", help="exit 2 when any post was rejected")
    publish.add_argument("--quiet", "-q", action="store_true", help="print only problems")

    sub.add_parser("settings", help="print every setting with its default and help, as Markdown")

    regenerate = sub.add_parser("regenerate", help="ask a running server to rebuild (POST /admin/regenerate)")
    regenerate.add_argument("--config", type=Path, help=f"TOML config file (default: ./{DEFAULT_CONFIG} if present)")
    regenerate.add_argument("--url", help="server base URL (default: http://<host>:<port> from the settings)")
    regenerate.add_argument("--feed", help="one feed to regenerate, e.g. categories/news.atom (default: all)")
    regenerate.add_argument("--no-wait", action="store_true", help="return once the server accepted the request")
    regenerate.add_argument(
        "--force", action="store_true", help="rebuild even if it drops more than max_drop_share of the posts"
    )
    return parser


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings from the config file (explicit, or ./syndicate.toml if present), environment and flags."""
    config = getattr(args, "config", None)
    if config is None and Path(DEFAULT_CONFIG).is_file():
        config = Path(DEFAULT_CONFIG)
    overrides: dict[str, Any] = {
        "posts": getattr(args, "posts", None),
        "out": getattr(args, "out", None),
        "site": getattr(args, "site", None),
        **extra,
    }
    return load_settings(config, overrides)


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} posts")
    sys.stderr.flush()


def cmd_build(args: argparse.Namespace) -> int:
    extra = {"cache": "off"} if args.no_cache else {}
    settings = settings_from_args(args, **extra)
    started = time.perf_counter()
    # A warm start of an unchanged site: the last build's record answers after one scan, before the parser and the
    # feed writer are even imported (see lastbuild.py).
    from syndicate.lastbuild import unchanged

    last = unchanged(settings, time.time())
    if last is not None:
        _print_report(
            args,
            settings,
            started,
            last.rejected,
            last.notes,
            (),
            last.posts,
            last.feeds,
            last.documents,
            unpublished=last.unpublished,
            scheduled=last.scheduled,
        )
        return 2 if args.strict and last.rejected else 0

    from syndicate.builder import Builder, BuildError

    show_progress = sys.stderr.isatty() and not args.quiet
    # Nothing is served from this process: documents need not stay in memory once written.
    builder = Builder(settings, hold=False, progress=_progress if show_progress else None)
    try:
        report = builder.build(force=args.force)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if show_progress:
            sys.stderr.write("\r" + " " * 60 + "\r")
    _print_build(args, settings, started, report, len(builder.documents))
    if args.strict and report.rejected:
        return 2
    return 0


def _print_build(
    args: argparse.Namespace, settings: Settings, started: float, report: BuildReport, documents: int
) -> None:
    """The summary of a build that ran (``_print_report``)."""
    _print_report(
        args,
        settings,
        started,
        [(r.path, r.reason) for r in report.rejected],
        report.notes,
        sorted(report.deferred),
        report.posts,
        report.feeds,
        documents,
        len(report.written),
        len(report.removed),
        unpublished=report.unpublished,
        scheduled=report.scheduled,
    )


def _print_report(
    args: argparse.Namespace,
    settings: Settings,
    started: float,
    rejected: Sequence[PostNote],
    notes: Sequence[PostNote],
    deferred: Sequence[str],
    posts: int,
    feeds: int,
    documents: int,
    written: int = 0,
    removed: int = 0,
    *,
    unpublished: int = 0,
    scheduled: int = 0,
) -> None:
    for path, reason in rejected:
        print(f"rejected: {path}: {reason}", file=sys.stderr)
    for path, note in notes:
        print(f"note: {path}: {note}", file=sys.stderr)
    for path in deferred:
        print(f"skipped: {path}: the file is being written; run again when it is complete", file=sys.stderr)
    if not args.quiet:
        elapsed = time.perf_counter() - started
        # Drafts and future-dated posts are left out by design, not rejected: counted, so that none goes unnoticed.
        print(
            f"{posts} posts published, {len(rejected)} rejected, {unpublished} unpublished (published: false), "
            f"{scheduled} scheduled (dated in the future), {feeds} feeds "
            f"({documents} documents, {written} written, {removed} removed) in {settings.out} — {elapsed:.2f}s"
        )


def cmd_check(args: argparse.Namespace) -> int:
    from syndicate.builder import Builder, BuildError

    settings = settings_from_args(args, cache="off")
    builder = Builder(settings, write=False, hold=False)
    try:
        report = builder.build()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for rejection in report.rejected:
        print(f"{rejection.path}: {rejection.reason}")
    for path, note in report.notes:
        print(f"{path}: note: {note}")
    print(f"{report.posts} posts ok, {len(report.rejected)} rejected", file=sys.stderr)
    return 2 if report.rejected else 0


def cmd_publish(args: argparse.Namespace) -> int:
    """``syndicate publish``: build as ``build`` does, then publish the documents (publish.py). Exit 1 when either
    fails; a failed publish deletes nothing that the bucket's remaining documents need."""
    settings = settings_from_args(args, publish_to=args.to, publish_endpoint=args.endpoint_url)
    if not settings.publish_to:
        print("error: say where to publish: --to s3://BUCKET[/PREFIX], or publish_to in the config", file=sys.stderr)
        return 1
    from syndicate.builder import Builder, BuildError
    from syndicate.publish import PublishError, Target, publish_feedset

    target = Target.from_settings(settings)
    started = time.perf_counter()
    builder = Builder(settings, hold=False)
    try:
        report = builder.build()
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print_build(args, settings, started, report, len(builder.documents))
    try:
        published = publish_feedset(settings, target, builder.feedset)
    except PublishError as exc:
        print(f"error: publishing to {target}: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(published.summary())
    return 2 if args.strict and report.rejected else 0


# uvicorn limits (issue 5: slow clients and many idle connections). Idle keep-alive connections close after
# 5 s; the kernel queues up to 2048 connections not yet accepted. The limits per client and in all, and the
# deadlines of requests and responses, are connections.py's (uvicorn's own limit_concurrency answers every request
# 503 once it is reached, so idle sockets could lock everyone out: issue 14). deploy/README.md documents them.
TIMEOUT_KEEP_ALIVE = 5
BACKLOG = 2048


def _start_fork_server_early(settings: Settings) -> None:
    """A first start (no parse cache) of a site with enough posts parses them in workers that come from the fork
    server, since the server builds in a thread: started now, the fork server's own start (an interpreter importing
    the build's modules) runs alongside the imports and set-up below instead of after them."""
    cache = settings.cache_path
    if cache is not None and cache.exists():
        return  # a warm start: not even multiprocessing is imported for it
    from syndicate._workers import Parallelism, start_fork_server
    from syndicate.scan import holds_at_least

    if holds_at_least(settings.posts, settings.jekyll, Parallelism().parse_from):
        start_fork_server()


def cmd_serve(args: argparse.Namespace) -> int:
    """``syndicate serve``: build the app, bind, print the URL, run uvicorn until interrupted."""
    settings = settings_from_args(args, host=args.host, port=args.port)
    _start_fork_server_early(settings)
    # Imported here, as the builder is for ``build``: the server's modules are not loaded for the other commands.
    import socket

    import uvicorn

    from syndicate.app import FeedsFirst, create_app
    from syndicate.connections import ConnectionLimits, guarded_protocol, networks

    try:
        sock = bind_socket(settings.host, settings.port)
    except OSError as exc:
        print(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    logging.getLogger("syndicate").setLevel(logging.INFO)
    server: uvicorn.Server | None = None
    # Last-Modified is stamped no later than the Date uvicorn sends now (see date_clock); once serving, that is
    # server.server_state.default_headers, which uvicorn replaces each second.
    app = create_app(settings, clock=date_clock(lambda: server.server_state.default_headers if server else ()))
    proxies = trusted_proxy_list(settings.trusted_proxies)
    config = uvicorn.Config(
        FeedsFirst(app),
        access_log=settings.access_log,
        http=guarded_protocol(
            ConnectionLimits(
                request_timeout=settings.request_timeout,
                send_timeout=settings.send_timeout,
                per_client=settings.client_connections,
                total=settings.max_connections,
                exempt=networks(proxies),
            )
        ),
        timeout_keep_alive=TIMEOUT_KEEP_ALIVE,
        backlog=BACKLOG,
        server_header=False,
        lifespan="on",
        # X-Forwarded-For names the client (the admin throttle's key) only from a configured proxy: uvicorn's
        # default believes it from 127.0.0.1, so a client there could claim a new address per guess.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    host = f"[{settings.host}]" if sock.family == socket.AF_INET6 else settings.host
    print(f"syndicate: serving {settings.posts} at http://{host}:{port}/ (feeds: http://{host}:{port}/feeds/all.atom)")
    if not settings.posts.is_dir():
        # Serving starts anyway (/healthz answers, /readyz says why it is not ready), and the directory is watched for.
        print(
            f"syndicate: warning: posts directory {settings.posts} does not exist; no feeds are served until it does",
            file=sys.stderr,
        )
    sys.stdout.flush()
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # Ctrl-C: uvicorn has shut down gracefully and asyncio re-raises the interrupt; a traceback would say "crash".
        pass
    return 0


def bind_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket for uvicorn (port 0: any free port); binding first lets us print the real URL."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it a 200 (headers and body written separately) waits on the client's delayed ACK (the delay it cost is
    # in docs/benchmarks.md, "Figures behind design choices in the code").
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def date_clock(sent_headers: Callable[[], Iterable[Header]]) -> Callable[[], datetime]:
    """A clock for Last-Modified that never runs ahead of the ``Date`` the server is sending (``sent_headers``).

    RFC 9110 §8.8.2.1: an origin server MUST NOT send a Last-Modified later than the message's Date. uvicorn formats
    Date once a second (``Server.on_tick``, more rarely while a build holds the GIL), so its Date trails the clock by
    up to a second or more, and a Last-Modified taken from the clock just after a rebuild would be later than the
    Date of the responses that carry it. Dates only move forward, so what is sent now bounds every later response.
    """
    from syndicate.responses import parse_http_date  # only ``serve`` needs it (see cmd_serve)

    def now() -> datetime:
        current = datetime.now(UTC)
        for name, value in sent_headers():
            if name == b"date":
                sent = parse_http_date(value)
                return current if sent is None else min(current, sent)
        return current  # no Date sent yet (uvicorn sets it once serving): every later one is at least this

    return now


def cmd_regenerate(args: argparse.Namespace) -> int:
    from syndicate.admin import request_regeneration

    settings = settings_from_args(args)
    url = args.url or f"http://{settings.host}:{settings.port}"
    return request_regeneration(url, settings.admin_token, feed=args.feed, wait=not args.no_wait, force=args.force)


def settings_markdown() -> str:
    """docs/configuration.md: generated from SETTINGS, so the documentation cannot drift from the code."""
    lines = [
        "# Configuration",
        "",
        "Generated by `syndicate settings` from `syndicate/config.py`. Precedence, lowest first: default <",
        "`syndicate.toml` (or `--config FILE`) < environment variable < command-line flag. Paths in the file are",
        "relative to the file. List and table settings (`attribution_patterns`, `display_names`, `feed_kinds`) are",
        "set in the file.",
        "Numbers outside their range, and text holding a character XML does not allow (a control character other than",
        "tab and line breaks, U+FFFE or U+FFFF, even written as a TOML escape), are refused when the settings load.",
        "",
        "| setting | environment | default | meaning |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        default = json.dumps(s.default, ensure_ascii=False).replace("|", "\\|")
        env = "—" if s.kind in (list, dict) else f"`SYNDICATE_{s.name.upper()}`"
        meaning = s.help.replace("|", "\\|")
        if s.kind in (int, float):
            low, high = (int(x) if x == int(x) else x for x in (s.low, s.high))
            meaning += f" Range: {low}–{high}."
        elif s.kind is str and not s.empty:
            meaning += " Must not be empty."
        if s.choices:
            meaning += " Choices: " + ", ".join(f"`{choice}`" for choice in s.choices) + "."
        lines.append(f"| `{s.name}` | {env} | `{default}` | {meaning} |")
    return "\n".join(lines) + "\n"


def cmd_settings(args: argparse.Namespace) -> int:
    sys.stdout.write(settings_markdown())
    return 0


COMMANDS = {
    "build": cmd_build,
    "check": cmd_check,
    "serve": cmd_serve,
    "regenerate": cmd_regenerate,
    "publish": cmd_publish,
    "settings": cmd_settings,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("SYNDICATE_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
