"""The serving ceiling: a bare Starlette app returning a fixed short body, run under the same uvicorn settings.

Whatever syndicate does per request (routing, conditional GET, picking a pre-compressed body) is overhead
on top of this; the benchmark reports syndicate's req/s as a ratio to this app's in the same run.

Run: ``python -m bench.ceiling --port 8001`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = b"ok\n"


async def _fixed(request: Request) -> Response:
    return Response(_BODY, media_type="text/plain")


def create_app() -> Starlette:
    return Starlette(routes=[Route("/{path:path}", _fixed)])


def run(app: Starlette, port: int, *, keep_alive: int, backlog: int) -> None:
    """Serve ``app`` on 127.0.0.1 as syndicate.cli.cmd_serve configures uvicorn, without its connection guard
    (connections.py): one process, default loop and h11, no access log, the same keep-alive and backlog (given by
    the caller, so that a timed start need not import syndicate)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        access_log=False,
        timeout_keep_alive=keep_alive,
        backlog=backlog,
        server_header=False,
        lifespan="on",
        log_level="warning",
    )
    uvicorn.Server(config).run()


def main(argv: list[str] | None = None) -> int:
    from syndicate.cli import BACKLOG, TIMEOUT_KEEP_ALIVE

    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    run(create_app(), args.port, keep_alive=TIMEOUT_KEEP_ALIVE, backlog=BACKLOG)  # bare uvicorn is the ceiling
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
