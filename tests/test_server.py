"""Against the real server: ``syndicate serve`` in a subprocess on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import gzip
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import brotli
import feedparser
import httpx
import pytest

from _serving import DEADLINE, SITE_CONFIG, Server, raw_request, running_server, wait_until

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[1]
TOKEN = "test-admin-token-7f3a"


def write_post(root: Path, name: str, title: str, category: str, tags: str, day: int) -> Path:
    path = root / "_posts" / name
    path.write_text(
        f'---\nlayout: post\ntitle: "{title}"\ndate: 2024-05-{day:02d} 09:00:00 +0800\n'
        f"categories: {category}\ntags: {tags}\n---\n<p>{title}: the body.</p>\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "_posts").mkdir()
    write_post(tmp_path, "2024-05-01-first.md", "First", "local", "右江日报新闻", 1)
    write_post(tmp_path, "2024-05-02-second.md", "Second", "sports", "龙舟", 2)
    with running_server(tmp_path, token=TOKEN) as s:
        yield s


def entries(server: Server, path: str) -> set[str]:
    response = httpx.get(server.url + path, timeout=DEADLINE)
    if response.status_code == 404:
        return set()
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return {e.title for e in parsed.entries}


def test_conditional_get_and_head_with_a_real_client(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        first = client.get("/feeds/all.atom")
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get("/feeds/all.atom", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "date" in again.headers
        assert client.get("/feeds/all.atom", headers={"If-Modified-Since": modified}).status_code == 304
        head = client.head("/feeds/all.atom")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == etag and head.headers["content-length"] == first.headers["content-length"]


def test_if_modified_since_sees_a_backdated_post_and_last_modified_never_passes_date(server: Server) -> None:
    def dates(response: httpx.Response) -> tuple[datetime, datetime]:
        last_modified = parsedate_to_datetime(response.headers["last-modified"])
        date = parsedate_to_datetime(response.headers["date"])
        assert last_modified <= date  # RFC 9110 §8.8.2.1, after a rebuild too (uvicorn's Date trails the clock)
        return last_modified, date

    def publish(name: str, title: str, front: str) -> None:
        (server.root / "_posts" / name).write_text(
            f'---\ntitle: "{title}"\n{front}\ncategories: local\ntags: x\n---\n<p>{title}.</p>\n', encoding="utf-8"
        )
        wait_until(lambda: title in entries(server, "/feeds/all.atom"), f"{title!r} in the site-wide feed")

    with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        first = client.get("/feeds/all.atom")
        before, _ = dates(first)
        # Republished news keeps its original date, older than every post in the feed.
        publish("2019-03-01-republished.md", "Republished", "date: 2019-03-01 09:00:00 +0800")
        since = {"If-Modified-Since": first.headers["last-modified"]}
        again = client.get("/feeds/all.atom", headers=since)
        assert again.status_code == 200 and "Republished" in again.text
        after, _ = dates(again)
        assert after >= before and again.headers["etag"] != first.headers["etag"]
        # A post "last modified" in 2099 does not put Last-Modified past Date, nor hide the next change behind it.
        publish("2024-05-03-edited.md", "Edited", "date: 2024-05-03 09:00:00 +0800\nlast_modified_at: 2099-01-01")
        since = {"If-Modified-Since": again.headers["last-modified"]}
        edited = client.get("/feeds/all.atom", headers=since)
        assert edited.status_code == 200 and "Edited" in edited.text
        assert dates(edited)[0].year < 2099
        publish("2024-05-04-next.md", "Next", "date: 2024-05-04 09:00:00 +0800")
        since = {"If-Modified-Since": edited.headers["last-modified"]}
        assert client.get("/feeds/all.atom", headers=since).status_code == 200


def test_gzip_and_brotli_negotiation(server: Server) -> None:
    status, plain = raw_request(server.url, "/feeds/all.rss", headers={"Accept-Encoding": "identity"})
    assert status == 200
    status, gz = raw_request(server.url, "/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and gzip.decompress(gz) == plain
    status, br = raw_request(server.url, "/feeds/all.rss", headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"})
    assert status == 200 and brotli.decompress(br) == plain
    with httpx.Client(timeout=DEADLINE) as client:
        r = client.get(server.url + "/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and r.headers["vary"] == "Accept, Accept-Encoding"
        assert (
            client.get(r.url, headers={"Accept-Encoding": "gzip", "If-None-Match": r.headers["etag"]}).status_code
            == 304
        )
        # the gzip ETag does not validate the brotli representation
        assert (
            client.get(r.url, headers={"Accept-Encoding": "br", "If-None-Match": r.headers["etag"]}).status_code == 200
        )


def test_new_post_appears_in_its_feeds_and_deletion_removes_it(server: Server) -> None:
    tag_feed = "/feeds/tags/" + quote("龙舟") + ".atom"
    assert entries(server, "/feeds/categories/sports.atom") == {"Second"}
    path = write_post(server.root, "2024-05-03-regatta.md", "Regatta", "sports", "龙舟 赛事", 3)
    wait_until(lambda: "Regatta" in entries(server, "/feeds/categories/sports.atom"), "the post in its category feed")
    assert entries(server, tag_feed) == {"Second", "Regatta"}
    assert entries(server, "/feeds/tags/" + quote("赛事") + ".rss") == {"Regatta"}
    path.unlink()
    wait_until(lambda: "Regatta" not in entries(server, "/feeds/categories/sports.atom"), "the deletion")
    assert entries(server, tag_feed) == {"Second"}
    assert httpx.get(server.url + "/feeds/tags/" + quote("赛事") + ".rss", timeout=DEADLINE).status_code == 404


def test_a_post_dated_outside_the_utc_range_costs_only_itself(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    write_post(tmp_path, "2024-05-01-first.md", "First", "local", "x", 1)
    # The instant is after 9999-12-31 in UTC: converting it for Last-Modified raised OverflowError, /readyz was 503
    # and every feed too, for good.
    typo = "---\ntitle: Typo\ndate: 2024-02-01 10:00:00 +0800\nlast_modified_at: 9999-12-31 23:59:59 -1200\n---\nx\n"
    (posts / "2024-02-01-lm.md").write_text(typo, encoding="utf-8")
    # Shanghai's local mean time (+08:05:43) before 1901: valid, and written in UTC.
    (posts / "1900-01-01-old.md").write_text("---\ntitle: Old\ntags: old\n---\nx\n", encoding="utf-8")
    with running_server(tmp_path, token=TOKEN) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        assert entries(server, "/feeds/all.atom") == {"First", "Old"}
        old = client.get("/feeds/tags/old.atom")
        # Last-Modified is when the server published these bytes (never later than Date), not the 1899 entry date.
        published = parsedate_to_datetime(old.headers["last-modified"])
        assert published.year > 1899 and published <= parsedate_to_datetime(old.headers["date"])
        assert b"<updated>1899-12-31T15:54:17+00:00</updated>" in old.content
        assert (
            client.get("/feeds/tags/old.atom", headers={"If-Modified-Since": old.headers["last-modified"]}).status_code
            == 304
        )
        # One arriving while serving (0001-01-01 in Shanghai is year 0 in UTC) stops no later build.
        (posts / "0001-01-01-east.md").write_text("---\ntitle: East\n---\nx\n", encoding="utf-8")
        write_post(tmp_path, "2024-05-02-second.md", "Second", "local", "x", 2)
        wait_until(lambda: "Second" in entries(server, "/feeds/all.atom"), "the new post in the site-wide feed")
        assert entries(server, "/feeds/all.rss") == {"First", "Second", "Old"}
        assert {i["title"] for i in client.get("/feeds/all.json").json()["items"]} == {"First", "Second", "Old"}
        assert client.get("/readyz").json() == {
            "ready": True,
            "last_build_ok": True,
            "in_memory": False,
            "build_overdue": False,
            "writing": False,
            "problem": None,
        }
        status = client.get("/admin/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        rejected = {r["path"]: r["reason"] for r in status["rejected"]}
        assert rejected.keys() == {"2024-02-01-lm.md", "0001-01-01-east.md"}
        assert (
            "'last_modified_at'" in rejected["2024-02-01-lm.md"]
            and "'file name date'" in rejected["0001-01-01-east.md"]
        )
    assert "Traceback" not in server.output()


def test_entry_links_are_the_urls_jekyll_writes_for_odd_slugs(tmp_path: Path) -> None:
    """A file name with a space and a '!' and a front matter slug with spaces give Jekyll's hyphenated URLs."""
    (tmp_path / "_posts").mkdir()
    write_post(tmp_path, "2024-05-01-Hello World!.md", "Hello", "local", "x", 1)
    custom = write_post(tmp_path, "2024-05-02-other.md", "Custom", "local", "x", 2)
    custom.write_text(custom.read_text(encoding="utf-8").replace("layout: post", "slug: My Custom Slug"), "utf-8")
    with running_server(tmp_path, extra_config='permalink = "/:categories/:title/"\n') as server:
        response = httpx.get(server.url + "/feeds/categories/local.json", timeout=DEADLINE)
        assert response.status_code == 200
        links = {item["title"]: item["url"] for item in response.json()["items"]}
    assert links == {
        "Hello": "https://news.example.net/local/Hello-World!/",
        "Custom": "https://news.example.net/local/My-Custom-Slug/",
    }


def test_a_misspelt_permalink_style_stops_the_server_with_the_styles_named(tmp_path: Path) -> None:
    (tmp_path / "syndicate.toml").write_text('posts = "_posts"\npermalink = "prety"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "syndicate", "serve", "--config", "syndicate.toml", "--port", "0"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert result.returncode == 1
    assert "setting 'permalink': 'prety' is neither a built-in style (date, pretty, ordinal, weekdate, none)" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "target",
    [
        "/feeds/..%2f..%2fetc%2fpasswd",
        "/feeds/..%2F..%2Fpyproject.toml",
        "/feeds/%2e%2e/%2e%2e/etc/passwd",
        "/feeds/../../etc/passwd",
        "/feeds/all.atom%00",
        "/feeds/%00",
        "/feeds//etc/passwd",
        "/feeds/%2fetc%2fpasswd",
        "/feeds/categories/..%2f..%2fsyndicate.toml",
        "/feeds/syndicate.toml",
        "/feeds/" + "x" * 4000 + ".atom",
        "/feeds/tags/%ff%fe.atom",
    ],
)
def test_traversal_and_odd_paths_are_404(server: Server, target: str) -> None:
    status, body = raw_request(server.url, target)
    assert status == 404, body
    assert b"root:" not in body and b"[" not in body and b"Traceback" not in body


def test_the_feeds_directory_lists_the_feeds(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        index = client.get("/")
        redirect = client.get("/feeds")
        assert redirect.status_code == 307 and redirect.headers["location"].endswith("/feeds/")
        for path in ("/feeds/", "/feeds"):
            listing = client.get(path, follow_redirects=True)
            assert listing.status_code == 200 and listing.headers["content-type"] == "text/html; charset=utf-8"
            assert listing.content == index.content and listing.headers["etag"] == index.headers["etag"]
            assert b'href="/feeds/all.atom"' in listing.content


def test_odd_methods(server: Server) -> None:
    for method in ("POST", "PUT", "DELETE", "TRACE", "OPTIONS"):
        status, _ = raw_request(server.url, "/feeds/all.atom", method=method)
        assert status == 405, method


def test_admin_auth_and_the_regenerate_command(server: Server) -> None:
    url = server.url + "/admin/regenerate"
    assert httpx.post(url, timeout=DEADLINE).status_code == 401
    assert httpx.post(url, headers={"Authorization": "Bearer nope"}, timeout=DEADLINE).status_code == 403
    ok = httpx.post(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=DEADLINE)
    assert ok.status_code == 200 and ok.json()["ok"] is True and ok.json()["posts"] == 2
    status = httpx.get(server.url + "/admin/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=DEADLINE)
    assert status.json()["next_scheduled_run"] is not None  # the scheduler runs in the real server

    def regenerate(token: str | None) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(server.root)}
        if token is not None:
            env["SYNDICATE_ADMIN_TOKEN"] = token
        return subprocess.run(
            [sys.executable, "-m", "syndicate", "regenerate", "--url", server.url],
            cwd=server.root.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEADLINE * 2,
        )

    right = regenerate(TOKEN)
    assert right.returncode == 0, right.stderr
    assert "2 posts" in right.stdout
    wrong = regenerate("wrong-token-0123456789")  # a token too short is a config error before any request
    assert wrong.returncode == 2 and "403" in wrong.stderr
    assert regenerate(None).returncode == 2


def test_wrong_admin_tokens_are_throttled(server: Server) -> None:
    url = server.url + "/admin/regenerate"
    with httpx.Client(timeout=DEADLINE) as client:
        guesses = [client.post(url, headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(10)]
        assert guesses == [403] * 10
        for token in ("guess-10", TOKEN):  # out of guesses, the right token is refused too (it would tell a guess)
            limited = client.post(url, headers={"Authorization": f"Bearer {token}"})
            assert limited.status_code == 429, limited.text
            assert 1 <= int(limited.headers["retry-after"]) <= 60
    command = subprocess.run(
        [sys.executable, "-m", "syndicate", "regenerate", "--url", server.url],
        cwd=server.root.parent,
        env={"PATH": "/usr/bin:/bin", "HOME": str(server.root), "SYNDICATE_ADMIN_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=DEADLINE * 2,
    )
    assert command.returncode == 2 and "429" in command.stderr and "failed authentication" in command.stderr
    assert httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).status_code == 200  # feeds are unaffected


def test_admin_is_404_without_a_token(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        assert httpx.post(server.url + "/admin/regenerate", timeout=DEADLINE).status_code == 404
        bearer = {"Authorization": "Bearer anything"}
        assert httpx.get(server.url + "/admin/status", headers=bearer, timeout=DEADLINE).status_code == 404
        assert httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).status_code == 200  # empty site, valid feed


def test_served_feeds_keep_an_own_posts_ending_and_give_it_no_source(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    front = "---\ntitle: {}\ndate: 2024-05-0{} 09:00:00 +0800\ncategories: local\n---\n"
    (posts / "2024-05-01-own.md").write_text(
        front.format("Own", 1) + "<p>The timetable changes.</p>\n<p>图片来源：网络</p>\n\n"
        "[Download the timetable (PDF)](/files/timetable-2024.pdf)\n",
        encoding="utf-8",
    )
    (posts / "2024-05-02-republished.md").write_text(
        front.format("Republished", 2) + '<p>正文。</p><p class="em_media">（文章来源：江畔晚报）</p>\n\n'
        "<http://river.example/a/1>\n\n[返回本地新闻](//news.example.net/category/local.html)｜[返回首页](//news.example.net/)\n",
        encoding="utf-8",
    )
    with running_server(tmp_path) as server:
        response = httpx.get(server.url + "/feeds/all.json", timeout=DEADLINE)
        assert response.status_code == 200
        items = {item["title"]: item for item in response.json()["items"]}
        own, republished = items["Own"], items["Republished"]
        assert "external_url" not in own and "_source" not in own
        assert "https://news.example.net/files/timetable-2024.pdf" in own["content_html"]
        assert republished["_source"] == {"name": "江畔晚报", "url": "http://river.example/a/1"}
        assert "返回首页" not in republished["content_html"] and "（文章来源：江畔晚报）" in republished["content_html"]
        atom = feedparser.parse(httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).content)
        assert atom.bozo == 0
        sources = {entry.title: "source" in entry for entry in atom.entries}
        assert sources == {"Own": False, "Republished": True}


def test_readme_command_serves_the_bundled_example(tmp_path: Path) -> None:
    """``syndicate serve --config examples/site/syndicate.toml`` prints its URL and serves the example feeds."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syndicate",
            "serve",
            "--config",
            str(REPO / "examples" / "site" / "syndicate.toml"),
            "--out",
            str(tmp_path / "feeds"),
            "--port",
            "0",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the first line is the URL, printed once the port is bound
        assert line.startswith("syndicate: serving "), line
        base = line.split(" at ", 1)[1].split("/ ", 1)[0]
        assert base.startswith("http://127.0.0.1:")

        def ready() -> bool:
            try:
                return httpx.get(base + "/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "/readyz of the example site")
        index = httpx.get(base + "/", timeout=DEADLINE)
        assert index.status_code == 200 and "右江河谷新闻" in index.text
        parsed = feedparser.parse(httpx.get(base + "/feeds/categories/youjiangribao.atom", timeout=DEADLINE).content)
        assert parsed.bozo == 0 and len(parsed.entries) > 0
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE)
        if process.stdout is not None:
            process.stdout.close()


def test_idle_and_slow_connections_do_not_block_others(server: Server) -> None:
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    idle = [socket.create_connection((host, port), timeout=DEADLINE) for _ in range(50)]
    slow = [socket.create_connection((host, port), timeout=DEADLINE) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        response = httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE)
        assert response.status_code == 200
        # A keep-alive connection left idle after a response is closed by the server (timeout_keep_alive).
        done = socket.create_connection((host, port), timeout=DEADLINE)
        done.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"ok\n" not in received:
            received += done.recv(4096)
        closed = done.recv(4096)  # blocks until the server closes the idle connection (bounded by DEADLINE)
        assert closed == b""
        done.close()
    finally:
        for sock in idle + slow:
            sock.close()


def test_ctrl_c_stops_the_server_cleanly(server: Server) -> None:
    assert httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).status_code == 200
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=DEADLINE) == 0
    output = server.output()
    assert "Shutting down" in output and "Traceback" not in output, output[-2000:]


def test_after_a_new_post_brotli_comes_for_the_feeds_readers_read(tmp_path: Path) -> None:
    # Feeds large enough that a rebuild defers their brotli (service.EAGER_BROTLI_BYTES).
    (tmp_path / "_posts").mkdir()
    for day in range(1, 6):
        words = " ".join(f"w{day}x{n}" for n in range(1500))
        path = write_post(tmp_path, f"2024-05-0{day}-long.md", f"Long {day}", "local", "x", day)
        path.write_text(path.read_text(encoding="utf-8") + f"<p>{words}</p>\n", encoding="utf-8")
    with running_server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        br = {"Accept-Encoding": "br"}
        client.get("/feeds/all.atom", headers=br)  # read: all.atom (the start defers brotli of large feeds too)
        wait_until(lambda: client.get("/feeds/all.atom", headers=br).headers.get("content-encoding") == "br", "brotli")
        write_post(tmp_path, "2024-05-09-new.md", "Brand new", "local", "x", 9)
        wait_until(lambda: "Brand new" in client.get("/feeds/all.atom").text, "the new post in the site-wide feed")
        # A feed someone reads gets brotli after the swap without being asked again...
        wait_until(lambda: client.get("/feeds/all.atom", headers=br).headers.get("content-encoding") == "br", "brotli")
        # ...one nobody read is sent gzip on its first brotli request, then brotli.
        first = client.get("/feeds/all.json", headers={"Accept-Encoding": "gzip, br"})
        assert first.headers["content-encoding"] == "gzip" and "Brand new" in first.json()["items"][0]["title"]
        wait_until(lambda: client.get("/feeds/all.json", headers=br).headers.get("content-encoding") == "br", "brotli")
        for path in ("/feeds/all.atom", "/feeds/all.json"):
            raw = raw_request(server.url, path, headers=br)
            assert (
                raw[0] == 200
                and brotli.decompress(raw[1]) == client.get(path, headers={"Accept-Encoding": "identity"}).content
            )
        parsed = feedparser.parse(client.get("/feeds/all.atom", headers=br).content)
        assert parsed.bozo == 0 and "Brand new" in {e.title for e in parsed.entries}


def test_a_client_holding_another_encoding_of_the_current_bytes_revalidates_it(tmp_path: Path) -> None:
    # Issue 17: a feed or an archive page read as gzip (before its brotli was made, or by a client that then took
    # brotli up) is still current: revalidating it while accepting brotli answers 304 for the gzip it holds, not 200
    # with brotli. Once the bytes change, the same request gets them.
    (tmp_path / "_posts").mkdir()
    posts = {day: write_post(tmp_path, f"2024-05-0{day}-p.md", f"Post {day}", "local", "x", day) for day in range(1, 6)}
    # limit = 2: posts 4 and 5 in the feed, the oldest on archive page 1
    paths = {"/feeds/all.atom": 5, "/feeds/archive/all/1.atom": 1}
    both = {"Accept-Encoding": "gzip, br"}
    with (
        running_server(tmp_path, extra_config="limit = 2\n") as server,
        httpx.Client(base_url=server.url, timeout=DEADLINE) as client,
    ):
        held: dict[str, str] = {}
        for path in paths:
            first = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert first.status_code == 200 and first.headers["content-encoding"] == "gzip", path
            held[path] = etag = first.headers["etag"]
            wait_until(lambda p=path: client.get(p, headers=both).headers.get("content-encoding") == "br", "brotli")
            for tag in (etag, f"W/{etag}", f'"other", {etag}'):
                again = client.get(path, headers={**both, "If-None-Match": tag})
                assert again.status_code == 304 and again.content == b"", (path, tag)
                assert again.headers["etag"] == etag and "Accept-Encoding" in again.headers["vary"]
            # a client that no longer accepts gzip is sent what it accepts
            only_br = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": etag})
            assert only_br.status_code == 200 and only_br.headers["content-encoding"] == "br"
        for day in paths.values():
            posts[day].write_text(posts[day].read_text(encoding="utf-8").replace(f'"Post {day}"', f'"Post {day}, new"'))
        for path, day in paths.items():
            wait_until(lambda p=path, d=day: f"Post {d}, new" in client.get(p).text, f"the retitled post in {path}")
            changed = client.get(path, headers={**both, "If-None-Match": held[path]})
            assert changed.status_code == 200 and f"Post {day}, new" in changed.text, path
            assert changed.headers["etag"] != held[path]


# -- issue 14: HTTP edges ------------------------------------------------------------------------------------------

UNPARSEABLE_DATES = [
    "Sat, 01 Jan 2000 00:00:00 +99999999999999999",  # the offset overflows a C int
    "Sat, 01 Jan 99999999999999999999 00:00:00 GMT",  # the year overflows a C long
    "Sat, 01 Jan 2000 00:00:00 +9999",  # an offset of four days
    "Fri, 31 Dec 9999 23:59:59 -2359",  # past the year 9999 in UTC
    "Sat, 01 Jan 2000 99:99:99 GMT",
    "yesterday",
    "",
    "\xff\xfe",
]


def test_unparseable_dates_in_conditional_headers_are_ignored(server: Server) -> None:
    """RFC 9110 §13.1.3: a date that does not parse is ignored; it was a 500 with a traceback per request."""
    paths = ("/feeds/all.atom", "/feeds/", "/", "/feeds/all.atom?tag=%E9%BE%99%E8%88%9F")
    for header in ("If-Modified-Since", "If-Unmodified-Since", "If-Range"):
        for date in UNPARSEABLE_DATES:
            for path in paths:
                status, body = raw_request(server.url, path, headers={header: date})
                assert status == 200, (header, date, path, body[:300])
    assert 'status="500"' not in httpx.get(server.url + "/metrics", timeout=DEADLINE).text
    assert "Traceback" not in server.output()


def test_forwarded_for_from_an_untrusted_peer_does_not_make_a_new_client(server: Server) -> None:
    """Rotating X-Forwarded-For bypassed the guess throttle: uvicorn trusted it from 127.0.0.1 by default."""
    url = server.url + "/admin/regenerate"
    with httpx.Client(timeout=DEADLINE) as client:
        for n in range(10):
            guess = {"Authorization": f"Bearer guess-{n}", "X-Forwarded-For": f"203.0.113.{n}"}
            assert client.post(url, headers=guess).status_code == 403
        last = {"Authorization": "Bearer guess-10", "X-Forwarded-For": "198.51.100.7"}
        assert client.post(url, headers=last).status_code == 429


def test_forwarded_for_from_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    extra = 'trusted_proxies = "127.0.0.1"\nadmin_auth_failures = 2\n'
    with running_server(tmp_path, token=TOKEN, extra_config=extra) as server, httpx.Client(timeout=DEADLINE) as client:
        url = server.url + "/admin/regenerate"
        for n in range(4):  # two clients behind the proxy, each within its allowance
            guess = {"Authorization": f"Bearer guess-{n}", "X-Forwarded-For": f"203.0.113.{n % 2}"}
            assert client.post(url, headers=guess).status_code == 403
        assert client.post(url, headers={**guess, "X-Forwarded-For": "203.0.113.1"}).status_code == 429
        assert client.post(url, headers={**guess, "X-Forwarded-For": "203.0.113.2"}).status_code == 403


def test_no_request_header_is_reflected_into_a_redirect(server: Server) -> None:
    """``/feeds`` redirected to ``http://<Host>/feeds/``: a relative Location (RFC 9110 §10.2.2) names no host."""
    with httpx.Client(base_url=server.url, timeout=DEADLINE) as client:
        for target in ("/feeds", "/feeds?x=1"):
            for headers in ({"Host": "evil.example"}, {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "e.x"}):
                response = client.get(target, headers=headers)
                assert response.status_code == 307
                assert response.headers["location"] == "/feeds/" + target.partition("?")[1] + target.partition("?")[2]
        response = client.get("/healthz/", headers={"Host": "evil.example"})  # no trailing-slash redirects elsewhere
        assert response.status_code == 404 and "evil" not in str(response.headers)


def test_readiness_shows_no_paths_publicly_and_admin_status_has_them(tmp_path: Path) -> None:
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG.replace('"_posts"', '"missing"'), encoding="utf-8")
    with running_server(tmp_path, token=TOKEN, wait_ready=False) as server:
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE)
        assert ready.status_code == 503
        assert ready.json() == {
            "ready": False,
            "last_build_ok": False,
            "in_memory": False,
            "build_overdue": False,
            "writing": False,
            "problem": "the posts directory cannot be read",
        }
        feed = httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE)
        assert feed.status_code == 503 and str(tmp_path) not in feed.text and "missing" not in feed.text
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status = httpx.get(server.url + "/admin/status", headers=auth, timeout=DEADLINE).json()
        assert str(tmp_path / "missing") in status["last_build"]["error"]


def test_feeds_per_publication_and_per_author_are_served_with_archives(tmp_path: Path) -> None:
    posts = tmp_path / "_posts"
    posts.mkdir()
    pieces = [
        ("2024-05-01-dam.md", "Dam repairs", "source: Tech Daily & Co.\nauthor: Mei Lin"),
        ("2024-05-02-ferry.md", "Ferry timetable", "source: TECH DAILY & CO.\nauthors: [Mei Lin, Omar Haddad]"),
        ("2024-05-03-market.md", "Night market", "source: Tech Daily & Co.\nauthor: Omar Haddad"),
        ("2024-05-04-rice.md", "早稻收割", "source: 人民日报"),
    ]
    for n, (name, title, front) in enumerate(pieces, start=1):
        (posts / name).write_text(
            f"---\ntitle: {title}\ndate: 2024-05-0{n} 09:00:00 +0800\n{front}\n---\n<p>{title}: the story.</p>\n",
            encoding="utf-8",
        )
    with (
        running_server(tmp_path, extra_config='limit = 2\nauthor = "News Desk"\n') as server,
        httpx.Client(base_url=server.url, timeout=DEADLINE) as client,
    ):
        tech = "/feeds/sources/tech-daily-co"
        atom = feedparser.parse(client.get(f"{tech}.atom").content)
        assert atom.bozo == 0 and atom.feed.title == "Test Site · Tech Daily & Co."  # as most posts write it
        assert [e.title for e in atom.entries] == ["Night market", "Ferry timetable"]  # newest two; limit = 2
        archive = next(link.href for link in atom.feed.links if link.rel == "prev-archive")
        older = feedparser.parse(client.get(archive.removeprefix("https://news.example.net")).content)
        # archive pages are filled oldest first (RFC 5005 §4): the oldest post is only there
        assert older.bozo == 0 and [e.title for e in older.entries][-1] == "Dam repairs"
        rss = feedparser.parse(client.get(f"{tech}.rss").content)
        assert rss.bozo == 0 and [e.dc_source for e in rss.entries] == ["Tech Daily & Co.", "TECH DAILY & CO."]
        json_feed = client.get(f"{tech}.json").json()
        assert json_feed["title"] == "Test Site · Tech Daily & Co." and len(json_feed["items"]) == 2
        # the publication's name as written, and a case variant of the slug, reach the same feed
        for alias in ("/feeds/sources/" + quote("TECH DAILY & CO.") + ".atom", "/feeds/sources/Tech-Daily-Co.atom"):
            assert client.get(alias).content == client.get(f"{tech}.atom").content
        people = feedparser.parse(client.get("/feeds/sources/" + quote("人民日报") + ".rss").content)
        assert [e.title for e in people.entries] == ["早稻收割"]

        omar = feedparser.parse(client.get("/feeds/authors/omar-haddad.atom").content)
        assert omar.bozo == 0 and omar.feed.title == "Test Site · Omar Haddad"
        assert [e.title for e in omar.entries] == ["Night market", "Ferry timetable"]
        desk = client.get("/feeds/authors/news-desk.json").json()  # the default author's: the post naming nobody
        assert [item["title"] for item in desk["items"]] == ["早稻收割"]
        assert client.get("/feeds/authors/nobody.atom").status_code == 404

        opml = client.get("/feeds/index.opml").text
        assert 'text="Tech Daily &amp; Co."' in opml and 'text="Omar Haddad"' in opml
        index = client.get("/").text
        assert 'href="/feeds/sources/tech-daily-co.atom"' in index and 'href="/feeds/authors/mei-lin.atom"' in index


def test_serving_a_missing_posts_directory_says_so_and_serves_it_once_it_appears(tmp_path: Path) -> None:
    """Started before its posts directory exists: no claim of "last good feeds" (there are none), /readyz not ready
    and why; the directory appearing is picked up without a restart."""
    (tmp_path / "syndicate.toml").write_text(SITE_CONFIG.replace('"_posts"', '"later"'), encoding="utf-8")
    with running_server(tmp_path, wait_ready=False) as server:
        wait_until(lambda: "no feeds served until it appears" in server.output(), "the watcher's message")
        log = server.output()
        assert "last good feeds" not in log
        assert "does not exist; no feeds are served until it does" in log
        assert "no feeds are served until a build succeeds" in log
        ready = httpx.get(server.url + "/readyz", timeout=DEADLINE)
        assert ready.status_code == 503 and ready.json()["problem"] == "the posts directory cannot be read"
        later = tmp_path / "later"
        later.mkdir()
        (later / "2024-05-01-arrived.md").write_text("---\ntitle: Arrived\n---\nbody\n", encoding="utf-8")
        wait_until(lambda: httpx.get(server.url + "/readyz", timeout=DEADLINE).status_code == 200, "readiness")
        assert b"Arrived" in httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).content
        assert httpx.get(server.url + "/readyz", timeout=DEADLINE).json()["problem"] is None
