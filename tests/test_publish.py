"""Publishing to object storage, against a real S3 server (SeaweedFS on 127.0.0.1; see _s3.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import feedparser
import httpx
import pytest

from _s3 import ARCHIVIST_KEY, ARCHIVIST_PREFIX, ARCHIVIST_SECRET, BUCKET, S3Server, running_s3
from _serving import DEADLINE, free_port, need_program, running_server, wait_until
from syndicate.builder import Builder
from syndicate.config import load_settings
from syndicate.publish import MANIFEST, Target, Wanted, connect, plan_publish, publish
from syndicate.responses import CachePolicy

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[1]
LIMIT = 2  # entries per feed document: a handful of posts gives archive pages


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with running_s3(tmp_path_factory.mktemp("s3")) as server:
        yield server


def write_post(posts: Path, day: int, title: str, tag: str) -> Path:
    path = posts / f"2025-03-{day:02d}-note-{day}.md"
    path.write_text(
        f'---\ntitle: "{title}"\ndate: 2025-03-{day:02d} 08:00:00 +0000\ncategories: notes\ntags: [{tag}]\n---\n'
        f"<p>{title}: a few words of the body.</p>\n",
        encoding="utf-8",
    )
    return path


def make_site(root: Path, prefix: str, s3: S3Server, posts: int = 5, extra: str = "") -> Path:
    """A site of ``posts`` posts (one with the tag 'once', the others 'river' or '河流'); its config publishes to
    ``prefix`` of the test bucket."""
    (root / "_posts").mkdir(parents=True)
    (root / "syndicate.toml").write_text(
        f'title = "Valley notes"\nurl = "https://notes.example.org"\nposts = "_posts"\nout = "out"\n'
        f'cache = "off"\nlimit = {LIMIT}\npublish_to = "s3://{BUCKET}/{prefix}"\n'
        f'publish_endpoint = "{s3.endpoint}"\n{extra}',
        encoding="utf-8",
    )
    for day in range(1, posts + 1):
        write_post(root / "_posts", day, f"Note {day}", "once" if day == 1 else ("river" if day % 2 else "河流"))
    return root


def run_publish(
    root: Path, s3: S3Server, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syndicate", "publish", "--config", str(root / "syndicate.toml"), *args],
        cwd=root,
        env=env if env is not None else s3.env(),
        capture_output=True,
        text=True,
        timeout=DEADLINE * 4,
        check=False,
    )


def output_files(out: Path) -> dict[str, str]:
    """The built documents (the output directory's files but our private manifest and the gzip files for nginx) with
    their MD5s."""
    return {
        p.relative_to(out).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in out.rglob("*")
        if p.is_file() and p.name != ".syndicate-manifest.json" and p.suffix != ".gz"
    }


def use_credentials(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """This process's AWS variables as ``env`` has them (for publishes in-process and servers started from here)."""
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)


def documents_in(s3: S3Server, prefix: str) -> dict[str, str]:
    held = s3.objects(prefix)
    held.pop(MANIFEST, None)
    return held


def test_the_bucket_holds_exactly_the_output_with_the_servers_headers(tmp_path: Path, s3: S3Server) -> None:
    site = make_site(tmp_path / "site", "exact/", s3)
    first = run_publish(site, s3)
    assert first.returncode == 0, first.stderr
    out = output_files(site / "out")
    assert any(path.startswith("archive/") for path in out)
    assert "tags/河流.atom" in out and "index.opml" in out
    assert documents_in(s3, "exact/") == out  # every document, its bytes (ETag = MD5), and nothing else
    # nginx's gzip files beside the documents are not documents: a bucket would serve them as files of their own.
    assert (site / "out" / "all.atom.gz").is_file() and not any(key.endswith(".gz") for key in documents_in(s3, ""))
    assert f"{len(out)} uploaded, 0 deleted, 0 unchanged" in first.stdout

    # Each object has what the server sends for the same document: Content-Type, Cache-Control, bytes.
    with running_server(site) as server:
        for path in ("all.atom", "all.rss", "all.json", "index.opml", "tags/河流.atom", "archive/all/1.atom"):
            served = httpx.get(f"{server.url}/feeds/{path}", timeout=DEADLINE)
            stored = s3.get(f"exact/{path}")
            assert served.status_code == stored.status_code == 200, path
            assert stored.headers["content-type"] == served.headers["content-type"], path
            assert stored.headers["cache-control"] == served.headers["cache-control"], path
            assert stored.content == served.content, path
    assert s3.get("exact/archive/all/1.atom").headers["cache-control"] == (
        "public, max-age=86400, stale-while-revalidate=86400"
    )
    assert s3.get("exact/all.atom").headers["cache-control"] == "public, max-age=300, stale-while-revalidate=300"
    feed = feedparser.parse(s3.get("exact/all.atom").content)
    assert not feed.bozo and [e.title for e in feed.entries] == ["Note 5", "Note 4"]


def test_publishes_only_what_changed_and_deletes_last(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", "incremental/", s3)
    assert run_publish(site, s3).returncode == 0
    again = run_publish(site, s3)
    assert again.returncode == 0, again.stderr
    assert "up to date, nothing uploaded" in again.stdout
    before = documents_in(s3, "incremental/")

    # One new post, and the only post of the tag 'once' removed: its feeds go.
    write_post(site / "_posts", 9, "Note 9", "river")
    (site / "_posts" / "2025-03-01-note-1.md").unlink()
    use_credentials(monkeypatch, s3.env())
    settings = load_settings(site / "syndicate.toml")
    builder = Builder(settings, hold=False)
    build = builder.build()
    target = Target.from_settings(settings)
    report = publish(connect(target, 4), target, builder.documents, CachePolicy.from_settings(settings), concurrency=4)
    after = documents_in(s3, "incremental/")
    assert after == output_files(site / "out")
    assert set(report.uploaded) == {p for p in after if before.get(p) != after[p]}
    assert set(report.uploaded) == set(build.written)  # what the build changed, no more
    gone = {"tags/once.atom", "tags/once.rss", "tags/once.json", "tags/once.html"}
    assert set(report.deleted) == set(before) - set(after) == gone
    assert report.unchanged == len(after) - len(report.uploaded) > 0


def test_a_publish_failing_half_way_leaves_a_consistent_set_and_the_next_completes_it(
    tmp_path: Path, s3: S3Server
) -> None:
    site = make_site(tmp_path / "site", "site/", s3)
    s3.empty("site/")
    assert run_publish(site, s3).returncode == 0
    before = documents_in(s3, "site/")

    # Three posts more (archive pages change and are added) and a new tag; the post of 'once' removed.
    for day, tag in ((10, "fresh"), (11, "river"), (12, "river")):
        write_post(site / "_posts", day, f"Note {day}", tag)
    (site / "_posts" / "2025-03-01-note-1.md").unlink()
    # The archivist may write only archive pages: the new tag's feeds are refused (AccessDenied) in the first phase.
    failed = run_publish(site, s3, env=s3.env(ARCHIVIST_KEY, ARCHIVIST_SECRET))
    assert failed.returncode == 1
    error = failed.stderr.strip().splitlines()
    assert (
        len(error) == 1 and error[0].startswith("error: publishing to s3://feeds/site/: ") and "tags/fresh" in error[0]
    )
    during = documents_in(s3, "site/")
    # Nothing that was there changed or went: the old set is whole, and only new documents were added.
    assert {p: during[p] for p in before} == before
    assert set(during) - set(before) <= {p for p in output_files(site / "out") if p.startswith("archive/")}
    assert MANIFEST not in s3.objects("site/")  # nothing vouches for headers a failed publish may not have given

    completed = run_publish(site, s3)
    assert completed.returncode == 0, completed.stderr
    assert documents_in(s3, "site/") == output_files(site / "out")
    assert "tags/once.atom" not in documents_in(s3, "site/")
    assert ARCHIVIST_PREFIX == "site/archive/"


def test_two_machines_publish_in_turn(tmp_path: Path, s3: S3Server) -> None:
    first = make_site(tmp_path / "first", "shared/", s3)
    assert run_publish(first, s3).returncode == 0
    # A second machine with the same posts and an output directory of its own: the bucket, not local state, decides.
    second = tmp_path / "second"
    shutil.copytree(first, second, ignore=shutil.ignore_patterns("out"))
    same = run_publish(second, s3)
    assert same.returncode == 0 and "up to date, nothing uploaded" in same.stdout
    write_post(second / "_posts", 20, "Note 20", "river")
    newer = run_publish(second, s3)
    assert newer.returncode == 0 and " uploaded, 0 deleted" in newer.stdout
    # The first machine, given the same post, finds the bucket already holding its output.
    shutil.copy(second / "_posts" / "2025-03-20-note-20.md", first / "_posts")
    caught_up = run_publish(first, s3)
    assert caught_up.returncode == 0 and "up to date, nothing uploaded" in caught_up.stdout
    assert documents_in(s3, "shared/") == output_files(first / "out") == output_files(second / "out")


def test_changed_headers_are_published_even_with_the_same_bytes(tmp_path: Path, s3: S3Server) -> None:
    site = make_site(tmp_path / "site", "headers/", s3)
    assert run_publish(site, s3).returncode == 0
    config = site / "syndicate.toml"
    config.write_text(config.read_text(encoding="utf-8") + "max_age = 120\n", encoding="utf-8")
    changed = run_publish(site, s3)
    assert changed.returncode == 0, changed.stderr
    feeds = [p for p in output_files(site / "out") if not p.startswith("archive/")]
    assert f"{len(feeds)} uploaded, 0 deleted" in changed.stdout  # archive pages keep archive_max_age
    assert s3.get("headers/all.rss").headers["cache-control"] == "public, max-age=120, stale-while-revalidate=120"
    # Without the manifest (removed by another tool), the headers are checked object by object.
    s3.client().delete_object(Bucket=BUCKET, Key=f"headers/{MANIFEST}")
    assert "up to date, nothing uploaded" in run_publish(site, s3).stdout
    assert MANIFEST in s3.objects("headers/")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("bucket", "bucket 'no-such-bucket' does not exist"),
        ("credentials", "refused the credentials"),
        ("endpoint", "cannot reach http://127.0.0.1:"),
    ],
)
def test_errors_are_one_line_exit_1_and_delete_nothing(
    tmp_path: Path, s3: S3Server, problem: str, message: str
) -> None:
    site = make_site(tmp_path / "site", f"errors-{problem}/", s3)
    assert run_publish(site, s3).returncode == 0
    before = s3.objects(f"errors-{problem}/")
    (site / "_posts" / "2025-03-01-note-1.md").unlink()  # a publish that worked would delete the tag's feeds
    args: tuple[str, ...] = ()
    env = s3.env()
    if problem == "bucket":
        args = ("--to", "s3://no-such-bucket/x")
    elif problem == "credentials":
        env = s3.env(secret="not-the-secret-at-all")
    else:
        args = ("--endpoint-url", f"http://127.0.0.1:{free_port()}")
    result = run_publish(site, s3, *args, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: publishing to s3://") and message in lines[0], lines
    assert s3.objects(f"errors-{problem}/") == before


def test_publish_needs_a_target(tmp_path: Path, s3: S3Server) -> None:
    site = make_site(tmp_path / "site", "unused/", s3)
    config = site / "syndicate.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('publish_to = "s3://feeds/unused/"', ""), "utf-8")
    result = run_publish(site, s3)
    assert result.returncode == 1 and "--to s3://BUCKET" in result.stderr
    bad = run_publish(site, s3, "--to", "https://feeds/x")
    assert bad.returncode == 1 and "expected s3://BUCKET" in bad.stderr


def test_plan_orders_new_then_archive_pages_then_the_rest() -> None:
    def want(body: str) -> Wanted:
        return Wanted(hashlib.md5(body.encode()).hexdigest(), "application/atom+xml; charset=utf-8", "public")

    wanted = {"all.atom": want("2"), "archive/all/2.atom": want("a2"), "archive/all/3.atom": want("a3")}
    held = {"all.atom": want("1").md5, "archive/all/2.atom": want("old").md5, "tags/gone.atom": "x", MANIFEST: "m"}
    plan = plan_publish(wanted, held)
    assert (plan.new, plan.archives, plan.linking, plan.deleted) == (
        ("archive/all/3.atom",),
        ("archive/all/2.atom",),
        ("all.atom",),
        ("tags/gone.atom",),
    )
    same = plan_publish(wanted, {p: w.md5 for p, w in wanted.items()}, stale_headers={"all.atom"})
    assert same.linking == ("all.atom",) and same.unchanged == 2 and not same.new


def test_serve_publishes_after_every_build(tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_site(tmp_path / "site", "served/", s3)
    use_credentials(monkeypatch, s3.env())
    with running_server(site) as server:
        wait_until(lambda: "all.atom" in s3.objects("served/"), "the first publish")
        write_post(site / "_posts", 15, "Fresh from the watcher", "river")
        wait_until(lambda: b"Fresh from the watcher" in s3.get("served/all.atom").content, "the publish of a new post")
        wait_until(lambda: documents_in(s3, "served/") == output_files(site / "out"), "the bucket to match")
        ready = httpx.get(f"{server.url}/readyz", timeout=DEADLINE).json()
        assert ready["publish_ok"] is True
        metrics = httpx.get(f"{server.url}/metrics", timeout=DEADLINE).text
        assert 'syndicate_publishes_total{result="ok"}' in metrics
        assert 'syndicate_publishes_total{result="error"} 0' in metrics


def test_serve_reports_a_failing_publish_and_keeps_serving(
    tmp_path: Path, s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path / "site", "refused/", s3)
    use_credentials(monkeypatch, s3.env(secret="wrong-secret-for-this-key"))
    with running_server(site) as server:

        def failed() -> bool:
            return httpx.get(f"{server.url}/readyz", timeout=DEADLINE).json().get("publish_ok") is False

        wait_until(failed, "/readyz to report the failed publish")
        ready = httpx.get(f"{server.url}/readyz", timeout=DEADLINE)
        assert ready.status_code == 200 and ready.json()["ready"] is True  # the feeds are still served
        metrics = httpx.get(f"{server.url}/metrics", timeout=DEADLINE).text
        assert 'syndicate_publishes_total{result="error"} 0' not in metrics
        assert httpx.get(f"{server.url}/feeds/all.atom", timeout=DEADLINE).status_code == 200
        wait_until(lambda: "refused the credentials" in server.output(), "the log line")
        assert "trying again in" in server.output()
    assert s3.objects("refused/") == {}


@pytest.mark.external
def test_nginx_in_front_of_the_bucket_caches_revalidates_and_refreshes(tmp_path: Path, s3: S3Server) -> None:
    """deploy/nginx-bucket.conf, pointed at this test's bucket, in front of it as a CDN would be."""
    nginx = need_program("nginx")
    site = make_site(tmp_path / "site", "cdn/", s3)
    assert run_publish(site, s3).returncode == 0
    port, s3_port = free_port(), s3.endpoint.rsplit(":", 1)[1]
    text = (REPO / "deploy" / "nginx-bucket.conf").read_text(encoding="utf-8")
    for old, new in (
        ("    listen [::]:80;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("127.0.0.1:8333", f"127.0.0.1:{s3_port}"),
        ("/feeds/site/;", "/feeds/cdn/;"),
        ("/var/cache/nginx/feeds", str(tmp_path / "cache")),
    ):
        assert old in text, f"deploy/nginx-bucket.conf no longer contains {old!r}"
        text = text.replace(old, new)
    (tmp_path / "site.conf").write_text(text, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the pytest tmp dir (mode 0700)
    temp = "".join(
        f"{kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        f"daemon off;\nevents {{ worker_connections 64; }}\n"
        f"http {{\naccess_log off;\n{temp}include {tmp_path / 'site.conf'};\n}}\n",
        encoding="utf-8",
    )
    command = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail("nginx exited: " + (tmp_path / "error.log").read_text(errors="replace"))
        try:
            httpx.get(base + "/", timeout=2)
        except httpx.TransportError:
            return False
        return True

    try:
        wait_until(up, "nginx on loopback")
        first = httpx.get(f"{base}/feeds/all.atom", headers={"Accept-Encoding": "gzip"}, timeout=DEADLINE)
        assert first.status_code == 200 and first.headers["x-cache-status"] == "MISS"
        assert first.headers["content-encoding"] == "gzip"
        assert first.content == (site / "out" / "all.atom").read_bytes()  # httpx decodes the gzip
        stored = s3.get("cdn/all.atom")
        for name in ("content-type", "cache-control"):
            assert first.headers[name] == stored.headers[name], name
        assert first.headers["etag"] == "W/" + stored.headers["etag"]  # nginx weakens the ETag of what it gzips
        again = httpx.get(f"{base}/feeds/all.atom", timeout=DEADLINE)
        assert again.headers["x-cache-status"] == "HIT"
        tag = httpx.get(f"{base}/feeds/tags/{quote('河流')}.rss", timeout=DEADLINE)
        assert tag.status_code == 200 and tag.content == (site / "out" / "tags" / "河流.rss").read_bytes()
        conditional = httpx.get(f"{base}/feeds/all.atom", headers={"If-None-Match": first.headers["etag"]})
        assert conditional.status_code == 304
        assert httpx.get(f"{base}/feeds/{MANIFEST}", timeout=DEADLINE).status_code == 404

        # A new post, published: the cached copy stays until refreshed (or its max-age runs out).
        write_post(site / "_posts", 25, "Note 25", "river")
        assert run_publish(site, s3).returncode == 0
        assert b"Note 25" not in httpx.get(f"{base}/feeds/all.atom", timeout=DEADLINE).content
        refreshed = httpx.get(f"{base}/feeds/all.atom", headers={"X-Refresh": "1"}, timeout=DEADLINE)
        assert refreshed.headers["x-cache-status"] == "BYPASS" and b"Note 25" in refreshed.content
        after = httpx.get(f"{base}/feeds/all.atom", timeout=DEADLINE)
        assert after.headers["x-cache-status"] == "HIT" and b"Note 25" in after.content
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)
