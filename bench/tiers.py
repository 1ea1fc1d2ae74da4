"""The serving tiers of docs/scaling.md side by side, in one run: requests per second for the site's feed and a tag
feed from (a) the app, (b) nginx from the output directory (deploy/nginx-syndicate.conf), (c) SeaweedFS's S3
endpoint directly and (d) nginx caching the bucket (deploy/nginx-bucket.conf, warm).

Every target is checked first to answer 200 with the built bytes (and (d) with a cache HIT); then each
(tier, feed) gets one wrk run per round, the rounds alternating the targets, and the median of the rounds is
reported with its ratio to the app's. Figures go to docs/scaling.md and bench/where_time_goes.md by hand.

    .venv/bin/python -m bench.tiers --size 1000
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config

from bench import nginx
from bench._process import LOOPBACK, BenchError, free_port, http_get, running
from bench.corpus import write_corpus
from bench.seaweed import start_seaweed, stop
from bench.targets import Workspace, serve_command, syndicate_command
from bench.wrk import WrkResult, run_wrk

REPO = Path(__file__).resolve().parents[1]
KEY, SECRET = "bench-key", "bench-secret-0123456789"
BUCKET, PREFIX = "feeds", "site"
GZIP = {"Accept-Encoding": "gzip"}


@dataclass(frozen=True)
class Tier:
    """One way of serving: ``base`` plus ``prefix`` plus a document's path under the output directory is its URL."""

    name: str
    what: str
    base: str
    prefix: str

    def url(self, relpath: str) -> str:
        return self.base + self.prefix + quote(relpath)


@dataclass(frozen=True)
class Measured:
    tier: str
    feed: str
    runs: tuple[WrkResult, ...]

    @property
    def median(self) -> float:
        return statistics.median(run.requests_per_second for run in self.runs)


def _site(workdir: Path, size: int) -> Workspace:
    """The bench corpus of ``size`` posts (seed 1, as `python -m bench corpus`), reused when already written."""
    workspace = Workspace(workdir / f"corpus-{size}")
    marker = workspace.root / "corpus.json"
    if not (marker.exists() and json.loads(marker.read_text()) == {"size": size, "seed": 1}):
        shutil.rmtree(workspace.root, ignore_errors=True)
        write_corpus(workspace.posts, size, seed=1)
        marker.write_text(json.dumps({"size": size, "seed": 1}))
    return workspace


def _edited(path: Path, edits: list[tuple[str, str]]) -> str:
    """A shipped deploy file with its ports and paths pointed at this run's; fails loudly when the file changed."""
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        if old not in text:
            raise BenchError(f"{path} no longer contains {old!r}: update bench/tiers.py")
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def _seaweed(root: Path) -> Iterator[str]:
    """SeaweedFS with the bucket made, readable anonymously (as a CDN or nginx fetches from it); yields its endpoint."""
    identities = [
        {"name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}], "actions": ["Admin"]},
        {"name": "anonymous", "actions": [f"Read:{BUCKET}"]},
    ]
    endpoint, process = start_seaweed(root, {"identities": identities})
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception as exc:  # not up yet: connection refused, or 503 while its parts start
                if time.monotonic() > deadline:
                    raise BenchError(f"SeaweedFS did not make the bucket within 60 s: {exc}") from exc
                time.sleep(0.2)
        yield endpoint
    finally:
        stop(process)


def _publish(workspace: Workspace, endpoint: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"})
    command = [
        *syndicate_command(),
        "publish",
        "--config",
        str(workspace.config),
        "--to",
        f"s3://{BUCKET}/{PREFIX}",
        "--endpoint-url",
        endpoint,
        "--quiet",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


@contextlib.contextmanager
def _app(workspace: Workspace) -> Iterator[str]:
    port = free_port()
    workspace.write_config(port=port)
    base = f"http://{LOOPBACK}:{port}"
    with running(serve_command(workspace, port), base + "/readyz", log=workspace.root / "serve.log", expect_status=200):
        yield base


@contextlib.contextmanager
def _nginx_from_disk(root: Path, app_base: str, out: Path) -> Iterator[str]:
    data = root / "lib"  # stands for /var/lib/syndicate, whose feeds/ is the output directory
    data.mkdir(parents=True, exist_ok=True)
    (data / "feeds").unlink(missing_ok=True)
    (data / "feeds").symlink_to(out.resolve())
    port = free_port()
    site = _edited(
        REPO / "deploy" / "nginx-syndicate.conf",
        [
            ("    listen [::]:80;\n", ""),
            ("listen 80;", f"listen {LOOPBACK}:{port};"),
            ("server 127.0.0.1:8000;", f"server {app_base.removeprefix('http://')};"),
            ("/var/lib/syndicate", str(data)),
        ],
    )
    with nginx.serve_site(root / "nginx-disk", site, port, "/healthz") as base:
        yield base


@contextlib.contextmanager
def _nginx_bucket(root: Path, endpoint: str) -> Iterator[str]:
    port = free_port()
    site = _edited(
        REPO / "deploy" / "nginx-bucket.conf",
        [
            ("    listen [::]:80;\n", ""),
            ("listen 80;", f"listen {LOOPBACK}:{port};"),
            ("127.0.0.1:8333", endpoint.removeprefix("http://")),
            ("/feeds/site/;", f"/{BUCKET}/{PREFIX}/;"),
            ("/var/cache/nginx/feeds", str(root / "nginx-bucket" / "cache")),
        ],
    )
    with nginx.serve_site(root / "nginx-bucket", site, port, "/feeds/all.atom") as base:
        yield base


def _tag_feed(out: Path) -> str:
    """The largest tag feed in Atom (a full page of entries), by path, so every run picks the same one."""
    feeds = sorted(out.glob("tags/*.atom"), key=lambda p: (-p.stat().st_size, p.name))
    if not feeds:
        raise BenchError(f"no tag feeds in {out}")
    return feeds[0].relative_to(out).as_posix()


def _check(tier: Tier, relpath: str, out: Path) -> int:
    """The target answers 200 with the built bytes; returns the bytes on the wire (gzip where it compresses)."""
    status, body, headers = http_get(tier.url(relpath), GZIP)
    plain = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
    if status != 200 or plain != (out / relpath).read_bytes():
        raise BenchError(f"{tier.name}: {tier.url(relpath)} answered {status} without the built bytes of {relpath}")
    if tier.name.startswith("d"):
        _, _, again = http_get(tier.url(relpath), GZIP)
        if again.get("x-cache-status") != "HIT":
            raise BenchError(f"{tier.name}: the second GET of {relpath} was not a cache HIT: {again}")
    return len(body)


def _measure(tiers: list[Tier], feeds: list[str], rounds: int, duration: int) -> list[Measured]:
    runs: dict[tuple[str, str], list[WrkResult]] = {(t.name, f): [] for t in tiers for f in feeds}
    for round_ in range(rounds):
        for tier in tiers:
            for feed in feeds:
                result = run_wrk(tier.url(feed), headers=GZIP, connections=32, duration=duration)
                if result.errors or set(result.statuses) != {200}:
                    raise BenchError(f"{tier.name} {feed}: statuses {dict(result.statuses)}, errors {result.errors}")
                print(
                    f"  round {round_ + 1} {tier.name:<28} {feed:<22} {result.requests_per_second:9.0f} req/s "
                    f"p50 {result.p50_ms:6.2f} ms",
                    flush=True,
                )
                runs[tier.name, feed].append(result)
    return [Measured(t.name, f, tuple(runs[t.name, f])) for t in tiers for f in feeds]


def _table(measured: list[Measured], tiers: list[Tier], sizes: dict[tuple[str, str], int]) -> str:
    app = {m.feed: m.median for m in measured if m.tier == tiers[0].name}
    lines = [
        "| tier | feed | bytes per 200 | req/s (runs) | median req/s | × app |",
        "|---|---|---:|---|---:|---:|",
    ]
    for m in measured:
        runs = ", ".join(f"{r.requests_per_second:,.0f}" for r in m.runs)
        lines.append(
            f"| {m.tier} | {m.feed} | {sizes[m.tier, m.feed]:,} | {runs} | {m.median:,.0f} | "
            f"{m.median / app[m.feed]:.2f}× |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=1000, help="posts in the bench corpus")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/syndicate-bench-tiers"))
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per target, alternated")
    args = parser.parse_args()
    workspace = _site(args.workdir, args.size)
    workspace.write_config()
    shutil.rmtree(args.workdir / "s3", ignore_errors=True)
    shutil.rmtree(args.workdir / "nginx-bucket", ignore_errors=True)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with _seaweed(args.workdir / "s3") as endpoint:
        _publish(workspace, endpoint)  # builds the output directory too
        feeds = ["all.atom", _tag_feed(workspace.out)]
        with (
            _app(workspace) as app,
            _nginx_from_disk(args.workdir, app, workspace.out) as disk,
            nginx.serve_files({f"/feeds/{f}": workspace.out / f for f in feeds}) as static,
            _nginx_bucket(args.workdir, endpoint) as cache,
        ):
            tiers = [
                Tier("a. app", "syndicate serve (uvicorn)", app, "/feeds/"),
                Tier("b. nginx from disk", "deploy/nginx-syndicate.conf", disk, "/feeds/"),
                # The tier-2 figure docs/scaling.md had: compressed once beforehand, as the app does, not per request.
                Tier("b2. nginx gzip_static", "bench/nginx.py, .gz beside each file", static, "/feeds/"),
                Tier("c. SeaweedFS S3", "the bucket, anonymous GET", endpoint, f"/{BUCKET}/{PREFIX}/"),
                Tier("d. nginx cache of bucket", "deploy/nginx-bucket.conf, warm", cache, "/feeds/"),
            ]
            sizes = {(t.name, f): _check(t, f, workspace.out) for t in tiers for f in feeds}
            measured = _measure(tiers, feeds, args.rounds, args.duration)
    print(f"load average at end: {os.getloadavg()}")
    print(f"\n{args.size} posts; wrk -t1 -c32 -d{args.duration}s -H 'Accept-Encoding: gzip', {args.rounds} rounds\n")
    print(_table(measured, tiers, sizes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
