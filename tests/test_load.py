"""Load during regeneration: wrk against the real server while posts are added, changed and deleted and admin
regeneration is triggered over and over, with slow and idle clients connected.

Three rounds of 11 s of wrk (33 s in all). Held: zero 5xx; every sampled body parses (lxml + feedparser, JSON);
one ETag never names two different bodies; the server's resident memory after round 3 stays within a bound of its
size after round 1 (a plateau, not growth). Figures are printed (``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree

from _serving import DEADLINE, SITE_CONFIG, Server, need_program, running_server
from conftest import post_text
from syndicate.formats import FEED_FORMATS

pytestmark = [pytest.mark.server, pytest.mark.external]

TOKEN = "load-admin-token-4b8e"
ROUNDS = 3
ROUND_SECONDS = 11
STABLE = 150  # posts that never change; churn posts come and go in category "churn"

WRK_SCRIPT = """
local paths = {PATHS}
local counter = 0
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  s5 = 0
  s4 = 0
  ok = 0
end
function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  if counter % 3 == 0 then
    return wrk.format("GET", path, {["Accept-Encoding"] = "gzip, br"})
  end
  return wrk.format("GET", path)
end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 else ok = ok + 1 end
end
function done(summary, latency, requests)
  local t5, t4, tok = 0, 0, 0
  for _, thread in ipairs(threads) do
    t5 = t5 + thread:get("s5")
    t4 = t4 + thread:get("s4")
    tok = tok + thread:get("ok")
  end
  io.write(string.format("STATUS 5xx=%d 4xx=%d ok=%d\\n", t5, t4, tok))
end
"""


def _stable_posts(posts: Path) -> None:
    posts.mkdir(parents=True, exist_ok=True)
    for i in range(STABLE):
        (posts / f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}-stable-{i}.md").write_text(
            post_text(
                f"title: Stable {i}\ndate: 2023-{1 + i % 12:02d}-{1 + i % 28:02d} 08:00:00 +0800\n"
                f"categories: c{i % 6}\ntags: [t{i % 9}, 标签{i % 4}]",
                f"<p>Stable body {i}.</p>\n" * 5,
            ),
            encoding="utf-8",
        )


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Churn(threading.Thread):
    """Adds, changes and deletes churn posts and triggers regeneration until stopped; removes them all at the end."""

    def __init__(self, server: Server, posts: Path, seed: int) -> None:
        super().__init__(daemon=True)
        self.server, self.posts, self.rng = server, posts, random.Random(seed)
        self.stop = threading.Event()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []

    def run(self) -> None:
        live: list[Path] = []
        with httpx.Client(timeout=DEADLINE) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                path = self.posts / f"2024-03-{1 + n % 28:02d}-churn-{n}.md"
                path.write_text(
                    post_text(f"title: Churn {n}\ndate: 2024-03-{1 + n % 28:02d}\ncategories: churn\ntags: [c{n % 5}]")
                )
                live.append(path)
                self.counts["added"] += 1
                if live and self.rng.random() < 0.6:
                    target = self.rng.choice(live)
                    target.write_text(post_text(f"title: Changed {n}\ndate: 2024-03-02\ncategories: churn", "<p>x</p>"))
                    self.counts["changed"] += 1
                if len(live) > 5:
                    live.pop(self.rng.randrange(len(live))).unlink()
                    self.counts["deleted"] += 1
                if n % 4 == 0:
                    r = client.post(
                        self.server.url + "/admin/regenerate?wait=0", headers={"Authorization": f"Bearer {TOKEN}"}
                    )
                    self.counts[f"regenerate {r.status_code}"] += 1
                    if r.status_code >= 500:
                        self.errors.append(f"regenerate {r.status_code}: {r.text[:200]}")
                self.stop.wait(0.1)
        for path in live:
            path.unlink(missing_ok=True)
            self.counts["deleted"] += 1


class Sampler(threading.Thread):
    """Fetches random documents during the load and checks each body parses and matches its ETag."""

    def __init__(self, server: Server, paths: list[str], etags: dict[str, str], seed: int) -> None:
        super().__init__(daemon=True)
        self.server, self.paths, self.etags, self.rng = server, paths, etags, random.Random(seed)
        self.stop = threading.Event()
        self.checked = 0
        self.not_modified = 0
        self.problems: list[str] = []

    def check(self, path: str, response: httpx.Response) -> None:
        body = response.content
        if path.endswith(".json"):
            json.loads(body)
        elif path.endswith((".atom", ".rss")):
            etree.fromstring(body)
            parsed = feedparser.parse(body)
            if parsed.bozo:
                self.problems.append(f"{path}: bozo {parsed.get('bozo_exception')!r}")
        etag = response.headers.get("etag")
        if etag is None:
            self.problems.append(f"{path}: no ETag")
            return
        digest = hashlib.sha256(body).hexdigest()
        if self.etags.setdefault(f"{path} {etag}", digest) != digest:
            self.problems.append(f"{path}: ETag {etag} named two different bodies")

    def run(self) -> None:
        last: dict[str, str] = {}
        with httpx.Client(timeout=DEADLINE) as client:
            while not self.stop.is_set():
                path = self.rng.choice(self.paths)
                headers = {"If-None-Match": last[path]} if path in last and self.rng.random() < 0.3 else {}
                try:
                    response = client.get(self.server.url + path, headers=headers)
                except httpx.TransportError as exc:
                    self.problems.append(f"{path}: {exc!r}")
                    continue
                if response.status_code == 304:
                    self.not_modified += 1
                    continue
                if response.status_code != 200:
                    self.problems.append(f"{path}: status {response.status_code}")
                    continue
                try:
                    self.check(path, response)
                except (ValueError, etree.XMLSyntaxError) as exc:
                    self.problems.append(f"{path}: malformed body: {exc}")
                last[path] = response.headers.get("etag", "")
                self.checked += 1


def _hold_slow_clients(url: str, idle: int, slow: int) -> list[socket.socket]:
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    sockets = [socket.create_connection((host, port), timeout=DEADLINE) for _ in range(idle + slow)]
    for sock in sockets[idle:]:
        sock.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # headers never finished
    return sockets


def test_wrk_during_regeneration(tmp_path: Path) -> None:
    wrk = need_program("wrk")
    _stable_posts(tmp_path / "_posts")
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG + "admin_rate = 0\n", encoding="utf-8")
    with running_server(tmp_path, token=TOKEN) as server:
        paths = ["/", "/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/feeds/categories/churn.atom"]
        paths += [f"/feeds/categories/c{i}.{fmt}" for i in range(6) for fmt in FEED_FORMATS]
        paths += [f"/feeds/tags/t{i}.atom" for i in range(9)] + ["/feeds/tags/%E6%A0%87%E7%AD%BE1.rss"]
        stable_paths = [p for p in paths if "churn" not in p]
        for path in stable_paths:
            assert httpx.get(server.url + path, timeout=DEADLINE).status_code == 200, path
        script = tmp_path / "rotate.lua"
        script.write_text(WRK_SCRIPT.replace("{PATHS}", "{" + ", ".join(json.dumps(p) for p in stable_paths) + "}"))
        etags: dict[str, str] = {}
        rss: list[int] = [_rss_kb(server.process.pid)]
        figures: list[str] = []
        totals: Counter[str] = Counter()
        for round_ in range(ROUNDS):
            churn = Churn(server, tmp_path / "_posts", seed=round_)
            sampler = Sampler(server, stable_paths, etags, seed=100 + round_)
            held = _hold_slow_clients(server.url, idle=200, slow=100) if round_ == 1 else []
            churn.start()
            sampler.start()
            try:
                result = subprocess.run(
                    [wrk, "-t2", "-c32", f"-d{ROUND_SECONDS}s", "--timeout", "10s", "-s", str(script), server.url],
                    capture_output=True,
                    text=True,
                    timeout=ROUND_SECONDS + 60,
                    check=False,
                )
            finally:
                churn.stop.set()
                sampler.stop.set()
                churn.join(DEADLINE)
                sampler.join(DEADLINE)
                for sock in held:
                    sock.close()
            assert result.returncode == 0, result.stderr
            status = re.search(r"STATUS 5xx=(\d+) 4xx=(\d+) ok=(\d+)", result.stdout)
            assert status, result.stdout
            fivexx, fourxx, ok = (int(g) for g in status.groups())
            requests = int(re.search(r"(\d+) requests in", result.stdout).group(1))  # type: ignore[union-attr]
            rps = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
            errors = re.search(r"Socket errors: (.*)", result.stdout)
            assert fivexx == 0, result.stdout
            assert fourxx == 0, result.stdout  # only stable documents are requested
            assert not churn.errors, churn.errors
            assert not sampler.problems, sampler.problems[:10]
            assert sampler.checked > 20
            assert errors is None or "connect 0" in errors.group(1), result.stdout
            # Let the last regeneration settle, then read the resident size.
            httpx.post(server.url + "/admin/regenerate", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
            time.sleep(0.5)
            rss.append(_rss_kb(server.process.pid))
            totals.update(churn.counts)
            figures.append(
                f"round {round_ + 1}: wrk {requests} requests ({rps.group(1) if rps else '?'}/s), 5xx={fivexx}, "
                f"socket errors: {errors.group(1) if errors else 'none'}; sampled {sampler.checked} bodies "
                f"(+{sampler.not_modified} 304); churn {dict(churn.counts)}; held "
                f"{'200 idle + 100 slow' if held else 'no'} extra connections; RSS {rss[-1] // 1024} MB"
            )
        # No growth across rounds: round 3 ends within 10 % (+16 MB slack for allocator noise) of round 1.
        assert rss[3] <= rss[1] * 1.10 + 16 * 1024, rss
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE).json()
        assert ready["last_build_ok"] is True, ready
        metrics = httpx.get(server.url + "/metrics", timeout=DEADLINE).text
        builds = re.findall(r'^syndicate_builds_total\{result="(\w+)"\} (\S+)$', metrics, re.M)
        coalesced = re.findall(r"^syndicate_build_triggers_coalesced_total (\S+)$", metrics, re.M)
    print(
        "\nFIGURES load:\n  "
        + "\n  ".join(figures)
        + f"\n  RSS kB after start/rounds: {rss}; distinct (path, ETag) pairs seen {len(etags)}"
        + f"\n  builds {builds}, triggers coalesced {coalesced}"
    )
