"""Publish benchmark: `syndicate publish` of a generated corpus to a real S3 server (SeaweedFS on 127.0.0.1).

For each size: a first (full) publish, a publish with nothing changed, a publish after one post dated among the old
ones, and one after a post dated after all others; wall time
and HTTP requests of each. Then, if wrk is installed, anonymous GETs per second of one feed from the bucket (what a
CDN in front of it would fetch on a miss). Figures go to docs/benchmarks.md and docs/scaling.md by hand.

    .venv/bin/python -m bench.publish --sizes 1000,10000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import time
from pathlib import Path

import boto3
from botocore.config import Config

from bench.corpus import iter_posts, write_corpus
from bench.seaweed import start_seaweed, stop
from bench.wrk import run_wrk, wrk_binary
from syndicate.builder import Builder
from syndicate.config import load_settings
from syndicate.publish import Target, connect, publish
from syndicate.responses import CachePolicy

KEY, SECRET = "bench-key", "bench-secret-0123456789"
BUCKET = "feeds"


def _config() -> dict[str, object]:
    return {
        "identities": [
            {"name": "bench", "credentials": [{"accessKey": KEY, "secretKey": SECRET}], "actions": ["Admin"]},
            {"name": "anonymous", "actions": [f"Read:{BUCKET}"]},
        ]
    }


def _publish_once(site: Path, target: Target, label: str) -> None:
    settings = load_settings(site / "syndicate.toml")
    started = time.perf_counter()
    builder = Builder(settings, hold=False)
    builder.build()
    built = time.perf_counter() - started
    client = connect(target, settings.publish_concurrency)
    report = publish(
        client, target, builder.documents, CachePolicy.from_settings(settings), concurrency=settings.publish_concurrency
    )
    print(
        f"  {label:<14} build {built:6.2f}s  publish {report.duration:6.2f}s  {len(report.uploaded):6d} uploaded "
        f"{len(report.deleted):4d} deleted {report.unchanged:6d} unchanged  {report.requests:6d} requests"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes (posts), comma-separated")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/syndicate-bench-publish"))
    parser.add_argument("--duration", type=int, default=10, help="seconds of the wrk run")
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    endpoint, process = start_seaweed(args.workdir / "s3", _config())
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}),
        )
        for _ in range(300):
            try:
                client.create_bucket(Bucket=BUCKET)
                break
            except Exception:
                time.sleep(0.2)

        os.environ.update({"AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET})
        for size in (int(s) for s in args.sizes.split(",")):
            site = args.workdir / f"site-{size}"
            write_corpus(site / "_posts", size, seed=1)
            (site / "syndicate.toml").write_text(
                f'title = "bench"\nurl = "https://news.example.net"\nposts = "_posts"\nout = "out"\n'
                f'cache = "{site / "cache.sqlite3"}"\n',
                encoding="utf-8",
            )
            target = Target.from_url(f"s3://{BUCKET}/p{size}", endpoint)
            print(f"{size} posts:")
            _publish_once(site, target, "first")
            _publish_once(site, target, "no change")
            # The corpus's next post has a random date of its span, so it lands among old posts and moves every
            # archive page after it in its feeds; a post dated after all others is the usual case of a news site.
            extra = next(iter_posts(1, seed=1, start=size))
            (site / "_posts" / extra.relpath).parent.mkdir(parents=True, exist_ok=True)
            (site / "_posts" / extra.relpath).write_text(extra.text, encoding="utf-8")
            _publish_once(site, target, "one old post")
            latest = next(iter_posts(1, seed=1, start=size + 1))
            text = re.sub(r"^date: .*$", "date: 2026-01-01 08:00:00 +0000", latest.text, count=1, flags=re.M)
            (site / "_posts" / "2026-01-01-latest.md").write_text(text, encoding="utf-8")
            _publish_once(site, target, "one new post")
        if wrk_binary() is not None:
            url = f"{endpoint}/{BUCKET}/p{size}/all.atom"
            result = run_wrk(url, connections=32, duration=args.duration)
            print(
                f"wrk GET {url}: {result.requests_per_second:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                f"p99 {result.p99_ms:.2f} ms, errors {result.errors}"
            )
    finally:
        stop(process)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
