"""Child processes for the benchmarks: timed runs with peak RSS, servers on loopback with bounded readiness waits."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"


def write_unshared(path: Path, text: str) -> None:
    """Write ``text`` as a new file at ``path`` (temporary name, then rename), never through the old inode: a
    workdir copied with hard links (``cp -al``) then keeps its own config rather than rewriting the original's."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class Timed:
    seconds: float
    max_rss_kib: int
    returncode: int


class BenchError(Exception):
    """A benchmark step that could not run; the message says which command and why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def run_timed(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
    log: Path | None = None,
) -> Timed:
    """Run ``command`` to completion; wall time and the child's own peak RSS (``wait4``, not RUSAGE_CHILDREN,
    which is a maximum over every child this process ever waited for)."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env) if env else None, stdout=out, stderr=out)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"{' '.join(command)} did not finish within {timeout:.0f} s")
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        # Linux reports ru_maxrss in KiB.
        return Timed(seconds, int(usage.ru_maxrss), proc.returncode)
    finally:
        if log:
            assert not isinstance(out, int)
            out.close()


def http_get(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), {k.lower(): v for k, v in exc.headers.items()}


def wait_http(
    url: str,
    proc: subprocess.Popen[bytes],
    timeout: float,
    log: Path | None = None,
    expect_status: int | None = None,
) -> None:
    """Wait until ``url`` answers (with ``expect_status`` if given), the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise BenchError(f"server exited with {proc.returncode} before answering {url}\n{tail}")
        try:
            status, _, _ = http_get(url, timeout=5.0)
            if expect_status is None or status == expect_status:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    raise BenchError(f"no {expect_status or 'answer'} from {url} within {timeout:.0f} s")


@contextlib.contextmanager
def running(
    command: Sequence[str],
    ready_url: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path,
    timeout: float = 600.0,
    expect_status: int | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait for ``ready_url`` to answer, stop it (SIGINT, then SIGKILL) afterwards."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env else None,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        try:
            wait_http(ready_url, proc, timeout, log, expect_status)
            yield proc
        finally:
            interrupt(proc, 15)


def interrupt(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Stop a server as Ctrl-C does (SIGINT: it records what it serves and lets its workers go), and kill it if it
    has not exited within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants now (KiB, from /proc): the server and its workers."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rpartition(")")[2].split()
            with open(f"/proc/{entry}/statm", encoding="ascii") as f:
                pages = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


class PeakTreeRss:
    """The largest sum of resident memory of a process tree, sampled every ``interval`` seconds in a thread (a
    sum, unlike wait4's ru_maxrss, which is one process's own peak)."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakTreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.root))
            if self._stop.wait(self.interval):
                return
