"""Worker processes: they never outlive the process that started them, however it ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

# A process that starts a pool (as a build does), has its workers busy, then is killed with SIGKILL.
_KILLED_BUILD = """
import multiprocessing, os, signal, sys, time
from syndicate import _workers
pool = {make}
futures = [pool.submit(time.sleep, 60) for _ in range(2)]
time.sleep(0.5)
print(" ".join(str(child.pid) for child in multiprocessing.active_children()), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended: it only waits to be reaped
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
@pytest.mark.parametrize(
    "make",
    [
        "_workers.process_pool(2)",
        "_workers.fork_workers(lambda items: [time.sleep(60)], [1, 2], 2).pool",
    ],
    ids=["pool", "forked"],
)
def test_workers_end_when_the_build_that_started_them_is_killed(make: str, tmp_path: Path) -> None:
    printed = tmp_path / "workers.txt"
    with printed.open("w") as output:  # a file, not a pipe: workers that outlive the build would hold a pipe open
        done = subprocess.run([sys.executable, "-c", _KILLED_BUILD.format(make=make)], stdout=output, stderr=output)
    workers = [int(word) for word in printed.read_text().split() if word.isdigit()]
    assert done.returncode == -9 and len(workers) == 2, printed.read_text()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"workers {left} outlived the killed build"


def _wait_for(batch: tuple[str, int]) -> list[int]:
    """Worker: wait until the file at ``batch[0]`` exists (at most 20 s), then give ``batch[1]``."""
    path, value = batch
    deadline = time.monotonic() + 20
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
    return [value] if os.path.exists(path) else []


def test_meanwhile_runs_here_while_the_workers_work(tmp_path: Path) -> None:
    from syndicate._workers import in_parallel

    signal = tmp_path / "meanwhile-ran"
    calls: list[int] = []

    def meanwhile() -> None:
        calls.append(os.getpid())
        signal.touch()  # the workers finish only after this: it must run before their results are awaited

    results = in_parallel(_wait_for, [(str(signal), n) for n in range(6)], 2, lambda n: None, meanwhile)
    assert results == list(range(6))
    assert calls == [os.getpid()]


def test_a_failure_of_meanwhile_is_the_callers_not_the_pools(tmp_path: Path) -> None:
    from syndicate._workers import in_parallel

    def meanwhile() -> None:
        (tmp_path / "go").touch()
        raise OSError("the cache's disk is full")

    with pytest.raises(OSError, match="disk is full"):
        in_parallel(_wait_for, [(str(tmp_path / "go"), n) for n in range(4)], 2, lambda n: None, meanwhile)


_EARLY_FORK_SERVER = """
import os, threading, time
from syndicate import _workers

MARK = b"multiprocessing." + b"forkserver import main"  # the fork server's command line, not this one's

def read(path):
    try:
        with open(path, "rb") as file:
            return file.read()
    except FileNotFoundError:  # a thread or process that ended meanwhile
        return b""

def fork_servers():
    children = b" ".join(read(f"/proc/self/task/{task}/children") for task in os.listdir("/proc/self/task"))
    return {int(pid) for pid in children.split() if MARK in read(f"/proc/{int(pid)}/cmdline")}

_workers.start_fork_server()
deadline = time.monotonic() + 20
while not (early := fork_servers()) and time.monotonic() < deadline:
    time.sleep(0.01)  # started, and about to run its own program
results = []

def build():  # as the server does: in a thread, so the pool's workers come from the fork server
    with _workers.process_pool(2) as pool:
        results.append(pool.submit(os.getpid).result())

thread = threading.Thread(target=build)
thread.start()
thread.join()
print(len(early), early == fork_servers(), results[0] != os.getpid())
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads the process tree from /proc")
def test_a_fork_server_started_early_is_the_one_pools_use() -> None:
    done = subprocess.run([sys.executable, "-c", _EARLY_FORK_SERVER], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "True", "True"], done.stdout + done.stderr
