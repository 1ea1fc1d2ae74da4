"""Connection limits at the protocol level: the guard uvicorn's settings cannot express (issue 14, item 1).

uvicorn closes an idle keep-alive connection after ``timeout_keep_alive``, but a connection that never sends a
request, or sends its head a byte at a time, is never closed (its timer starts only after a response); and
``limit_concurrency`` answers *every* request 503 once that many connections are open, so one client with a
thousand idle sockets took the server down, ``/healthz`` included. The guard is a subclass of uvicorn's h11
protocol (``uvicorn.Config(http=...)``) that adds three rules:

- **A request must arrive in time.** A connection waiting for a request (a new one, a kept-alive one, or one whose
  head or body is still arriving) for longer than ``request_timeout`` is closed; with part of a request received
  it is answered 408 first (RFC 9110 §15.5.9). The clock starts when the wait starts, so trickling bytes does not
  reset it.
- **A response must be read.** A connection whose client has read nothing of a response for ``send_timeout``
  (the transport stays paused for writing) is aborted, dropping what was buffered for it.
- **Connections are limited per client and in all**, and a new connection takes the place of a waiting one: when
  its client already has ``per_client`` connections, or the server ``total``, the connection that has waited
  longest without a request (the same client's first) is closed to make room; only when every connection is busy
  with a request is the new one answered 503. So a client's own idle sockets never lock out its next request or
  anyone else's, and the health endpoints keep answering. Trusted proxies (``trusted_proxies``) are not limited per
  client: every client behind them shares their address.

Deadlines are checked by one timer a second for all connections rather than one timer per request (per-request
timers cost the serving benchmark; see bench/where_time_goes.md), so a deadline is kept to within a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SWEEP_SECONDS = 1.0
# Their side of the connection is waiting for (the rest of) a request in these h11 states.
_WAITING = (h11.IDLE, h11.SEND_BODY)
_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_BUSY_503 = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class ConnectionLimits:
    request_timeout: float  # seconds a connection may wait for a complete request
    send_timeout: float  # seconds a response may wait for a client that reads none of it
    per_client: int  # connections per client address (0: no limit)
    total: int  # connections in all (0: no limit)
    exempt: tuple[Network, ...] = ()  # addresses not limited per client (trusted proxies)

    def limits_client(self, host: str) -> bool:
        if not self.per_client:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return True  # a Unix socket or an odd peer name: limited like any client
        return not any(address in network for network in self.exempt)


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``trusted_proxies`` entries (validated by config.py) as networks; an address is a network of one."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, noting when it waits for a request or for its client to read (see the module)."""

    table: _Table  # set by ``guarded_protocol`` on the subclass it makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since: float | None = None  # loop time the wait for a request began; None: not waiting
        self.stalled_since: float | None = None  # loop time writing paused; None: not paused
        self.client_host = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.waiting_since = self.loop.time()
        self.client_host = self.client[0] if self.client else ""
        self.table.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.table.remove(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._note_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._note_waiting()

    def pause_writing(self) -> None:
        super().pause_writing()
        self.stalled_since = self.loop.time()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.stalled_since = None

    def _note_waiting(self) -> None:
        if self.conn.their_state not in _WAITING:
            self.waiting_since = None
        elif self.waiting_since is None:
            self.waiting_since = self.loop.time()

    def time_out(self) -> None:
        """The wait for a request ran out: 408 if part of one came, then close."""
        if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
            self.transport.write(_TIMEOUT_408)
        self.transport.close()

    def refuse(self) -> None:
        self.transport.write(_BUSY_503)
        self.transport.close()


class _Table:
    """The open connections of one server, by client, and the timer that keeps their deadlines."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open: dict[_GuardedH11, None] = {}  # insertion-ordered set
        self.by_client: dict[str, dict[_GuardedH11, None]] = {}
        self.sweeper: asyncio.TimerHandle | None = None

    def admit(self, conn: _GuardedH11) -> None:
        limits = self.limits
        mine = self.by_client.get(conn.client_host)
        if mine is not None and len(mine) >= limits.per_client and limits.limits_client(conn.client_host):
            if not self._make_room(mine, "its client has"):
                conn.refuse()
                return
        if limits.total and len(self.open) >= limits.total and not self._make_room(self.open, "the server has"):
            conn.refuse()
            return
        self.open[conn] = None
        self.by_client.setdefault(conn.client_host, {})[conn] = None
        if self.sweeper is None:
            self.sweeper = conn.loop.call_later(_SWEEP_SECONDS, self.sweep, conn.loop)

    def _make_room(self, among: dict[_GuardedH11, None], whose: str) -> bool:
        """Close the connection of ``among`` that has waited longest for a request; False if none waits."""
        waiting = [c for c in among if c.waiting_since is not None]
        if not waiting:
            logger.warning("connection refused (503): %s %d connections, each busy with a request", whose, len(among))
            return False
        oldest = min(waiting, key=lambda c: c.waiting_since or 0.0)
        self.remove(oldest)
        oldest.transport.close()
        return True

    def remove(self, conn: _GuardedH11) -> None:
        if conn in self.open:
            del self.open[conn]
            mine = self.by_client[conn.client_host]
            del mine[conn]
            if not mine:
                del self.by_client[conn.client_host]

    def sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        request_by = now - self.limits.request_timeout
        read_by = now - self.limits.send_timeout
        for conn in list(self.open):
            if conn.waiting_since is not None and conn.waiting_since < request_by:
                self.remove(conn)
                conn.time_out()
            elif conn.stalled_since is not None and conn.stalled_since < read_by:
                self.remove(conn)
                conn.transport.abort()  # close() would wait for the buffer to drain, which is what never happens
        self.sweeper = loop.call_later(_SWEEP_SECONDS, self.sweep, loop) if self.open else None


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` enforcing ``limits``; one per server (it holds the
    server's connection table)."""
    return type("GuardedH11Protocol", (_GuardedH11,), {"table": _Table(limits)})
