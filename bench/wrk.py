"""wrk, the HTTP load generator: one bounded run, its req/s, and a count of responses per status code.

wrk prints "Non-2xx or 3xx responses" itself; the Lua script also tallies every status, so a 304 run
can show it really got 304s (a 200 is a success to wrk, but a miss for a conditional-GET benchmark).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_SCRIPT = """\
-- Counts responses per status in every thread and prints the totals as "status <code> <count>".
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d %d\\n", status, n))
  end
  io.write(string.format("latency_p50_us %d\\n", latency:percentile(50)))
  io.write(string.format("latency_p99_us %d\\n", latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    statuses: Mapping[int, int] = field(default_factory=dict)
    non_2xx_3xx: int = 0
    socket_errors: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    command: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + self.socket_errors


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    connections: int = 32,
    threads: int = 1,
    duration: int = 10,
) -> WrkResult:
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(f"benchmarks only talk to loopback, not {url}")
    binary = wrk_binary()
    if binary is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "count.lua"
        script.write_text(_SCRIPT, encoding="utf-8")
        command = [binary, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", str(script)]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk_output(proc.stdout, shlex.join(command).replace(str(script), "bench/wrk.py:count.lua"))


def parse_wrk_output(text: str, command: str = "") -> WrkResult:
    rps_match = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if rps_match is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    statuses = {int(code): int(n) for code, n in re.findall(r"^status (\d+) (\d+)$", text, re.M)}
    p50 = re.search(r"^latency_p50_us (\d+)$", text, re.M)
    p99 = re.search(r"^latency_p99_us (\d+)$", text, re.M)
    return WrkResult(
        requests_per_second=float(rps_match.group(1)),
        statuses=statuses,
        non_2xx_3xx=int(non.group(1)) if non else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        p50_ms=int(p50.group(1)) / 1000 if p50 else 0.0,
        p99_ms=int(p99.group(1)) / 1000 if p99 else 0.0,
        command=command,
    )
