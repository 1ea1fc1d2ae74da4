"""Helpers for tests that run the real server: a subprocess on 127.0.0.1, a free port, bounded waits."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

DEADLINE = 30.0  # seconds; generous for a shared, noisy machine (never a timing assertion, only a bound)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until true; fail (not hang) after ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while True:
        if condition():
            return
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline:.0f}s waiting for {what}")
        time.sleep(0.05)


def need_program(name: str) -> str:
    """The program's path; skip when absent locally, fail in CI (where .ci/run installs it)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


SITE_CONFIG = """\
title = "Test Site"
url = "https://news.example.net"
timezone = "Asia/Shanghai"
posts = "_posts"
out = "feeds"
debounce_ms = 50
rescan_minutes = 15
"""


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    root: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(
    root: Path,
    *,
    token: str = "",
    extra_config: str = "",
    wait_ready: bool = True,
    wait_written: bool = True,
    args: tuple[str, ...] = (),
    port: int | None = None,
    preexec: Callable[[], None] | None = None,
    environ: dict[str, str | None] | None = None,
) -> Iterator[Server]:
    """Run ``syndicate serve`` for the site in ``root`` (posts in ``root/_posts``) until the block ends; on ``port``
    (default: a free one), for a test whose configuration must name the server's URL; ``preexec`` runs in the
    server's process before it starts (to drop a capability, say); ``environ`` sets (None: removes) variables of its
    environment. ``wait_ready``: until /readyz answers 200, and (``wait_written``) the first build's files are
    written, which follows ready (its ``writing``)."""
    config = root / "syndicate.toml"
    if not config.exists():
        config.write_text(SITE_CONFIG + extra_config, encoding="utf-8")
    (root / "_posts").mkdir(exist_ok=True)
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    if token:
        env["SYNDICATE_ADMIN_TOKEN"] = token
    for name, value in (environ or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log = root / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "syndicate", "serve", "--config", str(config), "--port", str(port), *args],
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
    server = Server(f"http://127.0.0.1:{port}", process, root, log)

    def answers(path: str) -> bool:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{server.output()}")
        try:
            return httpx.get(server.url + path, timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: answers("/healthz"), "/healthz")
        if wait_ready:
            wait_until(lambda: answers("/readyz"), "/readyz")
            if wait_written:
                wait_until(lambda: not _writing(server.url), "the first build's files written")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _writing(url: str) -> bool:
    try:
        return bool(httpx.get(url + "/readyz", timeout=2).json().get("writing"))
    except (httpx.TransportError, ValueError):
        return True


def raw_request(url: str, target: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send a request line exactly as given (clients normalise ``..`` and encodings away); return status, body."""
    host, _, port = url.removeprefix("http://").partition(":")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((host, int(port)), timeout=DEADLINE) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def drop_capabilities(*numbers: int) -> None:
    """In a child before exec: give up these capabilities for good (prctl PR_CAPBSET_DROP, <linux/capability.h>)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24  # <linux/prctl.h>
    for number in numbers:
        if libc.prctl(pr_capbset_drop, number, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {number})")


CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_LEASE = 1, 2, 3, 28


def drop_file_powers() -> None:
    """In a child before exec: file permissions bind it as they bind an unprivileged user, even as root (no
    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)."""
    drop_capabilities(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER)


def drop_lease_capability() -> None:
    """In a child before exec: give up CAP_LEASE for good (prctl PR_CAPBSET_DROP), so that, even as root, the
    process may take a read lease only on files it owns: as the server runs in the shipped systemd unit and Docker
    image, where the posts belong to someone else."""
    drop_capabilities(CAP_LEASE)
