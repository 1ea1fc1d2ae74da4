"""connections.py: deadlines and connection limits, against the real server on 127.0.0.1 (issue 14, item 1)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from _serving import DEADLINE, free_port, running_server, wait_until
from syndicate.connections import ConnectionLimits, guarded_protocol, networks

pytestmark = pytest.mark.server


def _connect(url: str) -> socket.socket:
    host, _, port = url.removeprefix("http://").partition(":")
    return socket.create_connection((host, int(port)), timeout=DEADLINE)


def _closed_by_server(sock: socket.socket, within: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``within`` seconds; None if it is still open then."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def _still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # a byte would be a surprise, but means open
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        sock.setblocking(True)


def test_a_thousand_idle_connections_from_one_address_leave_the_server_answering(tmp_path: Path) -> None:
    # Before the guard, uvicorn's limit_concurrency (1000) answered every request 503 once this many were open,
    # /healthz included, and none of them was ever closed.
    with running_server(tmp_path) as server, ExitStack() as stack:
        idle = [stack.enter_context(_connect(server.url)) for _ in range(1000)]
        with httpx.Client(timeout=DEADLINE) as client:
            for path in ("/healthz", "/readyz", "/feeds/all.atom"):
                assert client.get(server.url + path).status_code == 200, path
        # The client's own oldest idle connections made room: it keeps at most client_connections (64) open.
        wait_until(lambda: sum(_still_open(s) for s in idle) <= 64, "idle connections closed")
        assert "Traceback" not in server.output()


def test_a_request_trickled_in_or_never_sent_times_out(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_config="request_timeout = 1.0\n") as server, ExitStack() as stack:
        silent = stack.enter_context(_connect(server.url))
        trickle = stack.enter_context(_connect(server.url))
        trickle.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        sent = b""
        # One header byte every 0.2 s: each arrives well within any idle timer, but the request never completes.
        for byte in b"X-Slow: " + b"a" * 40:
            try:
                trickle.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += bytes([byte])
            time.sleep(0.2)
        answer = _closed_by_server(trickle, within=DEADLINE)
        took = time.monotonic() - started
        assert answer is not None and answer.startswith(b"HTTP/1.1 408 "), answer
        assert 0.9 < took < 4.0, took  # 1 s, kept to within the sweep's second (slack for a loaded machine)
        assert len(sent) < 30  # it was cut off, not left to finish
        assert _closed_by_server(silent, within=DEADLINE) == b""  # a connection that sends nothing: closed, no answer
        # A complete request on a kept-alive connection still works, and the connection is closed only once idle.
        with _connect(server.url) as ok:
            ok.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = _closed_by_server(ok, within=DEADLINE)
            assert answer is not None and answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1


# In-process servers, for what needs an app of the test's own: one that holds a request, one that sends a lot.


@contextmanager
def _serve(app: Any, limits: ConnectionLimits) -> Iterator[tuple[str, type[Any]]]:
    protocol = guarded_protocol(limits)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), http=protocol, lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the server to start")
    try:
        yield f"http://127.0.0.1:{config.port}", protocol
    finally:
        server.should_exit = True
        thread.join(DEADLINE)


def test_when_every_connection_is_busy_a_new_one_is_answered_503(tmp_path: Path) -> None:
    release = threading.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/hold":
            await asyncio.get_running_loop().run_in_executor(None, release.wait, DEADLINE)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    limits = ConnectionLimits(request_timeout=30, send_timeout=30, per_client=2, total=100)
    with _serve(app, limits) as (url, protocol), ExitStack() as stack:
        held = [stack.enter_context(_connect(url)) for _ in range(2)]
        for sock in held:
            sock.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        busy = protocol.table.open
        wait_until(lambda: len(busy) == 2 and all(c.waiting_since is None for c in busy), "both requests to arrive")
        answer = _closed_by_server(stack.enter_context(_connect(url)), within=DEADLINE)
        assert answer is not None and answer.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in answer
        release.set()
        for sock in held:
            response = b""
            while not response.endswith(b"ok"):
                response += sock.recv(4096)
            assert response.startswith(b"HTTP/1.1 200 ")
        # Now both wait for a request: a third connection takes the place of the older one.
        with httpx.Client(timeout=DEADLINE) as client:
            assert client.get(url + "/").status_code == 200
        assert _closed_by_server(held[0], within=DEADLINE) == b""


def test_the_limit_per_client_spares_trusted_proxies() -> None:
    limits = ConnectionLimits(1, 1, per_client=2, total=0, exempt=networks(["127.0.0.0/8", "::1"]))
    assert not limits.limits_client("127.0.0.1") and not limits.limits_client("::1")
    assert limits.limits_client("192.0.2.1") and limits.limits_client("")
    assert not ConnectionLimits(1, 1, per_client=0, total=0).limits_client("192.0.2.1")


def test_a_client_that_reads_nothing_of_a_response_is_dropped() -> None:
    chunk = b"x" * 1_000_000

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(200):  # 200 MB: far more than the socket buffers hold
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    limits = ConnectionLimits(request_timeout=30, send_timeout=1, per_client=0, total=0)
    with _serve(app, limits) as (url, protocol):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            host, _, port = url.removeprefix("http://").partition(":")
            sock.connect((host, int(port)))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: any(c.stalled_since for c in protocol.table.open), "the server to stop writing")
            wait_until(lambda: not protocol.table.open, "the stalled connection to be dropped")
            # Aborted: what the kernel already held still arrives, then the end; the rest of the 200 MB never does.
            received = 0
            while data := sock.recv(1 << 20):
                received += len(data)
            assert received < 50_000_000
