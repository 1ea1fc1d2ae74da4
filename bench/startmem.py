"""One server start on a prepared workspace, without Hugo: time to ready, peak RSS of the process tree, and its course.

``python -m bench.startmem DIR [--warm] [--src SRC]``: DIR is a workspace made by ``python -m bench`` (or its
``corpus`` command plus a ``corpus.json``), e.g. ``/tmp/bench/corpus-1000000-seed1``. A cold start (the default) takes
the output directory and parse cache away first; ``--warm`` keeps them. ``--src`` runs the syndicate package found in
SRC (an export of another revision, ``git archive main src | tar -x -C /tmp/base``) with this interpreter, for A/B
pairs in one run. Prints one JSON line (seconds to /readyz and to every subscription feed answered, the peak and the
RSS once ready, in MiB, the load average), then the RSS of the tree once a second: where in the start memory goes.
For corpora Hugo is not asked to build (a million posts); ``python -m bench start`` times the same against Hugo.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench._process import LOOPBACK, BenchError, free_port, http_get, interrupt, tree_rss_kib, wait_http
from bench.scenarios import _subscription_paths
from bench.targets import Workspace, serve_command


def _cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of the process and of its children it has waited for (its finished workers)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def start_once(
    workspace: Workspace, *, warm: bool, src: Path | None, interval: float = 0.05
) -> tuple[dict[str, object], list[int]]:
    """The start's figures (CPU: the server's own and its finished workers', at the end), and the peak RSS of
    the tree in each second since exec (MiB)."""
    if not warm:
        workspace.clean_output()
    port = free_port()
    workspace.write_config(port=port)
    base = f"http://{LOOPBACK}:{port}"
    command = serve_command(workspace, port)
    env = dict(os.environ)
    if src is not None:
        command = [sys.executable, "-m", "syndicate", *command[1:]]
        env["PYTHONPATH"] = str(src)
    log = workspace.root / "serve.log"
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    start = time.perf_counter()
    with open(log, "ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, env=env, start_new_session=True)

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.perf_counter() - start, tree_rss_kib(proc.pid)))
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        wait_http(base + "/readyz", proc, 3600, log, expect_status=200)
        ready = time.perf_counter() - start
        paths = _subscription_paths(base)
        for path in paths:
            status, _, _ = http_get(base + path, timeout=120)
            if status != 200:
                raise BenchError(f"GET {path} answered {status} after /readyz")
        answered = time.perf_counter() - start
        settled = tree_rss_kib(proc.pid)
        cpu = _cpu_seconds(proc.pid)
    finally:
        stop.set()
        sampler.join()
        interrupt(proc, 60)
    peak_at, peak = max(samples, key=lambda s: s[1])
    per_second: dict[int, int] = {}
    for at, kib in samples:
        per_second[int(at)] = max(per_second.get(int(at), 0), kib)
    figures: dict[str, object] = {
        "start": "warm" if warm else "cold",
        "ready_s": round(ready, 2),
        "feeds_answered_s": round(answered, 2),
        "feeds": len(paths),
        "peak_mib": round(peak / 1024, 1),
        "peak_at_s": round(peak_at, 1),
        "ready_mib": round(settled / 1024, 1),
        "cpu_s": round(cpu, 2),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    return figures, [round(per_second[s] / 1024) for s in sorted(per_second)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startmem", description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--warm", action="store_true", help="keep the output and parse cache (default: cold)")
    parser.add_argument("--src", type=Path, help="run the syndicate package under this directory")
    args = parser.parse_args(argv)
    figures, course = start_once(Workspace(args.workspace), warm=args.warm, src=args.src)
    print(json.dumps(figures))
    print("RSS MiB each second:", " ".join(str(x) for x in course))
    return 0


if __name__ == "__main__":
    sys.exit(main())
