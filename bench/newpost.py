"""One incremental build after a new post, in process: the builder's share of the new-post path (issue 17).

A warm full build of a corpus as a server makes it (archive pages left to requests, ``ArchiveFiles``), then ``trials``
times: a post dated newest written into the corpus and ``Builder.build([path])`` timed. The posts written are removed
at the end. For A/B runs, put another checkout's ``src`` first on ``PYTHONPATH``; ``--profile`` prints cProfile's
top functions by cumulative time.

Run: ``python -m bench.newpost POSTS WORKDIR [--trials 15] [--profile]`` (POSTS: e.g. a bench corpus's ``_posts``).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from pathlib import Path

from syndicate.archivefiles import ArchiveFiles
from syndicate.builder import Builder
from syndicate.cache import open_cache
from syndicate.config import load_settings


def _post(k: int, token: str) -> str:
    return (
        f'---\ntitle: "new post {token} {k}"\ndate: 2025-12-31 {k // 60:02d}:{k % 60:02d}:00 +0800\n'
        f"categories: 右江日报新闻\ntags: [t{k % 3}]\n---\n<p>New post {k}.</p>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.newpost", description=__doc__.splitlines()[0])
    parser.add_argument("posts", type=Path)
    parser.add_argument("workdir", type=Path, help="output directory and parse cache go here")
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    posts, work = args.posts.resolve(), args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        None,
        {"title": "bench", "url": "https://news.example.net", "timezone": "Asia/Shanghai", "posts": posts,
         "out": work / "out", "cache": work / "cache.sqlite3", "limit": 50, "debounce_ms": 0},
        environ={},
    )  # fmt: skip
    cache = open_cache(settings)
    builder = Builder(settings, cache=cache, archives=ArchiveFiles(settings.out, cache))
    started = time.perf_counter()
    builder.build()
    print(f"full build {time.perf_counter() - started:.2f} s")
    token = os.urandom(3).hex()
    made: list[Path] = []
    times: list[float] = []
    cpu: list[float] = []  # process CPU (every thread: the staging threads' gzip counts), less noisy than wall time
    profile = cProfile.Profile() if args.profile else None
    try:
        for k in range(args.trials):
            path = posts / "2025" / f"2025-12-31-newpost-{token}-{k}.md"
            path.parent.mkdir(exist_ok=True)
            path.write_text(_post(k, token), encoding="utf-8")
            made.append(path)
            started, cpu_started = time.perf_counter(), time.process_time()
            if profile is not None:
                profile.enable()
            builder.build([path])
            if profile is not None:
                profile.disable()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    finally:
        for path in made:
            path.unlink(missing_ok=True)
    times.sort()
    cpu.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(
        f"incremental n={len(times)} median={times[len(times) // 2] * 1000:.0f} ms p95={p95 * 1000:.0f} ms "
        f"cpu median={cpu[len(cpu) // 2] * 1000:.0f} ms min={cpu[0] * 1000:.0f} ms"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
