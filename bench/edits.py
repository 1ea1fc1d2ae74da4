"""A server's summary store while the same posts are edited again and again (issue 17).

Serves a corpus (a copy: ``cp -al`` keeps the original, as each edit renames a new file over the old name), then
``rounds`` times rewrites the titles of the ``posts`` newest posts (a new file renamed into the posts directory, as an
editor's save) and waits until the site-wide Atom feed shows them. Prints, every ``--every`` rounds, the disk and
the apparent size of the files the server holds open after deleting them (the store's; see summaries.py), and its
RSS. For A/B runs, put another checkout's ``src`` first on ``PYTHONPATH``.

Run: ``python -m bench.edits CORPUS [--rounds 200] [--posts 100] [--every 50] [--pad 200]`` (CORPUS: a copy of a
bench corpus).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from bench._process import LOOPBACK, free_port, http_get, running

_TITLE = re.compile(r"^title: .*$", re.MULTILINE)


def store_of(pid: int) -> tuple[int, int]:
    """(disk, apparent size) in bytes of the regular files process ``pid`` holds open after deleting them."""
    disk = size = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        link = f"/proc/{pid}/fd/{fd}"
        try:
            if os.readlink(link).endswith(" (deleted)"):
                st = os.stat(link)
                disk += st.st_blocks * 512
                size += st.st_size
        except OSError:
            continue
    return disk, size


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.edits", description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--pad", type=int, default=200, help="characters added to each edited title")
    args = parser.parse_args(argv)
    root = args.corpus.resolve()
    posts = root / "_posts"
    port = free_port()
    config = root / "edits.toml"
    config.write_text(
        f'title = "bench"\nurl = "https://news.example.net"\ntimezone = "Asia/Shanghai"\nposts = "{posts}"\n'
        f'out = "{root / "out"}"\ncache = "{root / "cache.sqlite3"}"\nlimit = {2 * args.posts}\n'
        f'host = "{LOOPBACK}"\nport = {port}\ndebounce_ms = 50\nrescan_minutes = 0\n',
        encoding="utf-8",
    )
    # The newest posts by their file names' dates: in the site-wide feed (of twice as many), where an edit is seen.
    edited = sorted(posts.rglob("*.md"), key=lambda p: p.name, reverse=True)[: args.posts]
    texts = {p: p.read_text(encoding="utf-8") for p in edited}
    base = f"http://{LOOPBACK}:{port}"
    command = [sys.executable, "-m", "syndicate", "serve", "--config", str(config)]
    with running(command, base + "/readyz", log=root / "edits.log", timeout=900, expect_status=200) as proc:
        started = store_of(proc.pid)
        print(f"ready: store disk {started[0]} B, size {started[1]} B, rss {rss_kib(proc.pid)} KiB", flush=True)
        waited: list[float] = []
        for r in range(1, args.rounds + 1):
            for n, path in enumerate(edited):
                staging = root / f".edit-{n}.md"
                staging.write_text(_TITLE.sub(f'title: "edited {r} post {n} {"x" * args.pad}"', texts[path], 1))
                os.replace(staging, path)
            start = time.perf_counter()
            marker = f"edited {r} post {len(edited) - 1} ".encode()
            while True:
                status, body, _ = http_get(base + "/feeds/all.atom", {"Accept-Encoding": "identity"})
                if status == 200 and marker in body and f"edited {r} post 0 ".encode() in body:
                    break
                if time.perf_counter() - start > 60:
                    raise SystemExit(f"round {r}: the edits never showed")
                time.sleep(0.01)
            waited.append(time.perf_counter() - start)
            if r % args.every == 0:
                disk, size = store_of(proc.pid)
                print(
                    f"round {r}: store disk {disk} B, size {size} B, rss {rss_kib(proc.pid)} KiB, "
                    f"median wait {sorted(waited)[len(waited) // 2] * 1000:.0f} ms",
                    flush=True,
                )
                waited.clear()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
