"""The start floor: the least a server on syndicate's stack can do to answer a warm start's requests.

A bare Starlette app under uvicorn, configured as ``syndicate serve`` configures it, that answers ``/readyz`` at once
and serves ``/feeds/<path>`` by reading the file (its ``.gz`` beside it for a gzip client) from a built output
directory on each request: no settings, no scan of the posts, no manifest, nothing held. What it costs from exec
until every subscription feed has answered is the interpreter, the imports of Starlette and uvicorn, uvicorn's start
and the requests. A warm start's target (a ratio to Hugo's full build) below this floor's own ratio cannot be met
by any server on this stack; the benchmark reports syndicate's warm start as a ratio to it too.

Run: ``python -m bench.startfloor --port 8001 --out DIR`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.ceiling import run

_TYPES = {
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".json": "application/feed+json",
    ".opml": "text/x-opml",
    ".html": "text/html; charset=utf-8",
}


def create_app(out: Path) -> Starlette:
    root = out.resolve()

    async def ready(request: Request) -> Response:
        return Response(b"ready\n", media_type="text/plain")

    async def feed(request: Request) -> Response:
        path = (root / request.path_params["path"]).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return Response(b"not found\n", status_code=404, media_type="text/plain")
        media_type = _TYPES.get(path.suffix, "application/octet-stream")
        gz = path.with_name(path.name + ".gz")
        if "gzip" in request.headers.get("accept-encoding", "") and gz.is_file():
            return Response(gz.read_bytes(), media_type=media_type, headers={"content-encoding": "gzip"})
        return Response(path.read_bytes(), media_type=media_type)

    return Starlette(routes=[Route("/readyz", ready), Route("/feeds/{path:path}", feed)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startfloor")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="a built output directory (syndicate's `out`)")
    parser.add_argument("--keep-alive", type=int, required=True, help="syndicate.cli.TIMEOUT_KEEP_ALIVE")
    parser.add_argument("--backlog", type=int, required=True, help="syndicate.cli.BACKLOG")
    args = parser.parse_args(argv)
    run(create_app(args.out), args.port, keep_alive=args.keep_alive, backlog=args.backlog)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
