"""deploy/: the nginx site in front of the real server (a real nginx on loopback), and the other two files."""

from __future__ import annotations

import configparser
import gzip
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _serving import DEADLINE, drop_file_powers, free_port, need_program, running_server, wait_until
from syndicate._html import CONTENT_SECURITY_POLICY
from syndicate.cli import build_parser
from syndicate.gzipfiles import GZIP_TAG

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
HEX_ETAG = re.compile(rf'^"[0-9a-f]{{32}}({re.escape(GZIP_TAG)}|-br)?"$')  # the app's digest-based ETags


def write_post(root: Path, name: str, title: str, category: str, tags: str, day: int) -> None:
    (root / "_posts" / name).write_text(
        f'---\ntitle: "{title}"\ndate: 2024-07-{day:02d} 09:00:00 +0800\ncategories: {category}\ntags: {tags}\n---\n'
        f"<p>{title}.</p>\n",
        encoding="utf-8",
    )


HUB = "http://127.0.0.1:9/hub"  # nothing listens there: the app's pings fail, which is not what is tested here
# The shipped site's WebSub line, commented out, and what its instructions make of it for a hub and the feeds' origin.
LINK_LINE = (
    """#add_header Link '<https://hub.example.net/>; rel="hub", <https://news.example.net$request_uri>; rel="self"';"""
)


def site_config(tmp: Path, app_port: int, nginx_port: int, data: Path, hub: str = "") -> str:
    """deploy/nginx-syndicate.conf with its paths and ports pointed at this test's (and its WebSub line enabled for
    ``hub``)."""
    text = (DEPLOY / "nginx-syndicate.conf").read_text(encoding="utf-8")
    edits = [
        ("    listen [::]:80;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{nginx_port};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("/var/lib/syndicate", str(data)),
    ]
    if hub:
        enabled = LINK_LINE.removeprefix("#").replace("https://hub.example.net/", hub)
        edits.append((LINK_LINE, enabled))  # the feeds' origin is the shipped line's already
    for old, new in edits:
        assert old in text, f"deploy/nginx-syndicate.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from run_nginx_in_front(tmp_path)


@pytest.fixture
def nginx_with_hub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from run_nginx_in_front(tmp_path, hub=HUB)


def run_nginx_in_front(tmp_path: Path, hub: str = "") -> Iterator[tuple[str, Path]]:
    nginx = need_program("nginx")
    site = tmp_path / "site"
    data = tmp_path / "lib"  # stands for /var/lib/syndicate
    (site / "_posts").mkdir(parents=True)
    (site / "syndicate.toml").write_text(
        f'title = "Deploy Test"\nurl = "https://news.example.net"\nposts = "_posts"\nout = "{data / "feeds"}"\n'
        f'cache = "{tmp_path / "cache.sqlite3"}"\nlimit = 2\n' + (f'hub = "{hub}"\n' if hub else ""),
        encoding="utf-8",
    )
    write_post(site, "2024-07-01-a.md", "Alpha", "sports", "龙舟", 1)
    write_post(site, "2024-07-02-b.md", "Beta", "local", "龙舟", 2)
    write_post(site, "2024-07-03-c.md", "Gamma", "local", "龙舟", 3)  # the site's feed and the tag's: an archive page
    with running_server(site) as server:
        port = free_port()
        app_port = int(server.url.rsplit(":", 1)[1])
        (tmp_path / "site.conf").write_text(site_config(tmp_path, app_port, port, data, hub), encoding="utf-8")
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the pytest tmp dir (mode 0700)
        temp = "".join(
            f"{kind}_temp_path {tmp_path / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (tmp_path / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
            f"daemon off;\nevents {{ worker_connections 64; }}\n"
            f"http {{\naccess_log {tmp_path / 'access.log'};\n{temp}include {tmp_path / 'site.conf'};\n}}\n",
            encoding="utf-8",
        )
        check = subprocess.run(
            [nginx, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                pytest.fail("nginx exited: " + (tmp_path / "error.log").read_text(errors="replace"))
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(up, "nginx on loopback")
            yield base, data / "feeds"
        finally:
            process.terminate()
            process.wait(timeout=DEADLINE)


@pytest.mark.server
@pytest.mark.external
def test_nginx_serves_feeds_from_disk_with_200_and_304(nginx_in_front: tuple[str, Path]) -> None:
    base, feeds = nginx_in_front
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for path in ("all.atom", "tags/龙舟.rss", "categories/sports.json", "index.opml"):
            response = client.get("/feeds/" + path, headers={"Accept-Encoding": "identity"})
            assert response.status_code == 200, path
            assert response.content == (feeds / path).read_bytes()
            assert not HEX_ETAG.match(response.headers["etag"]), "served by nginx from disk, not proxied"
            assert response.headers["cache-control"].startswith("public, max-age=300")
            again = client.get(
                "/feeds/" + path, headers={"Accept-Encoding": "identity", "If-None-Match": response.headers["etag"]}
            )
            assert again.status_code == 304, path
        assert client.get("/feeds/all.atom").headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert client.get("/feeds/all.json").headers["content-type"] == "application/feed+json"
        assert client.get("/feeds/index.opml").headers["content-type"].startswith("text/x-opml")
        (feeds / ".secret").write_text("not a feed")
        assert client.get("/feeds/.secret").status_code == 404


def _raw_gzip(client: httpx.Client, path: str) -> httpx.Response:
    """GET ``path`` accepting gzip, the body left as sent (httpx would decode it)."""
    with client.stream("GET", "/feeds/" + path, headers={"Accept-Encoding": "gzip"}) as response:
        response._content = b"".join(response.iter_raw())
    return response


@pytest.mark.server
@pytest.mark.external
def test_nginx_sends_the_gzip_file_beside_each_document_and_never_a_stale_one(
    nginx_in_front: tuple[str, Path], tmp_path: Path
) -> None:
    base, feeds = nginx_in_front
    site = tmp_path / "site"
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for path in ("all.atom", "tags/龙舟.rss", "categories/sports.json", "index.opml", "all.html"):
            response = _raw_gzip(client, path)
            assert response.status_code == 200, path
            assert response.headers["content-encoding"] == "gzip", path
            assert "Accept-Encoding" in response.headers.get_list("vary"), path
            assert not HEX_ETAG.match(response.headers["etag"]), "served by nginx from disk, not proxied"
            assert response.content == (feeds / f"{path}.gz").read_bytes(), "the file's bytes, not gzipped again"
            assert gzip.decompress(response.content) == (feeds / path).read_bytes(), path
        # Archive pages get no sibling: nginx gzips them itself.
        assert not list(feeds.glob("archive/**/*.gz"))

        # An edit: the sibling nginx sends is the new document's, as soon as the document is.
        write_post(site, "2024-07-04-d.md", "Delta", "local", "龙舟", 4)

        def current() -> bool:
            document = (feeds / "all.atom").read_bytes()
            return b"Delta" in document and gzip.decompress(_raw_gzip(client, "all.atom").content) == document

        wait_until(current, "the new post in all.atom.gz")
        # A removed feed's sibling goes with it: nginx then asks the app, which has no such feed.
        (site / "_posts" / "2024-07-01-a.md").unlink()
        wait_until(lambda: not (feeds / "categories/sports.json").exists(), "the removed category's feed gone")
        assert not (feeds / "categories/sports.json.gz").exists()
        # The app swaps its snapshot just after the files are written: asked meanwhile, it still has the feed.
        wait_until(lambda: _raw_gzip(client, "categories/sports.json").status_code == 404, "the app's 404")


@pytest.mark.server
@pytest.mark.external
def test_nginx_sends_the_apps_websub_link_header_for_files_it_serves(nginx_with_hub: tuple[str, Path]) -> None:
    """WebSub §4 discovery from nginx: the same Link header as the app's, on 200 and 304, for ASCII and Chinese paths;
    documents that name the hub themselves are read from the same files."""
    base, feeds = nginx_with_hub
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for path in ("all.atom", "tags/%E9%BE%99%E8%88%9F.rss", "categories/sports.json"):
            from_disk = client.get("/feeds/" + path)
            assert not HEX_ETAG.match(from_disk.headers["etag"]), "served by nginx from disk"
            expected = f'<{HUB}>; rel="hub", <https://news.example.net/feeds/{path}>; rel="self"'
            assert from_disk.headers["link"] == expected
            again = client.get("/feeds/" + path, headers={"If-None-Match": from_disk.headers["etag"]})
            assert again.status_code == 304 and again.headers["link"] == expected
        # The app, for what nginx hands it (a case variant of a name), says the same of the same document.
        from_app = client.get("/feeds/categories/SPORTS.json")
        assert HEX_ETAG.match(from_app.headers["etag"]), "answered by the app"
        assert (
            from_app.headers["link"]
            == f'<{HUB}>; rel="hub", <https://news.example.net/feeds/categories/sports.json>; rel="self"'
        )
        assert HUB.encode() in (feeds / "all.rss").read_bytes()


@pytest.mark.server
@pytest.mark.external
def test_nginx_proxies_what_is_not_on_disk_with_200_and_304(nginx_in_front: tuple[str, Path]) -> None:
    base, _ = nginx_in_front
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for path in ("/feeds/all.atom?category=sports", "/feeds/categories/SPORTS.atom", "/"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert HEX_ETAG.match(response.headers["etag"]), f"{path} answered by the app"
            again = client.get(path, headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304, path
        assert client.get("/feeds/nope.atom").status_code == 404
        assert client.get("/readyz").status_code == 200


@pytest.mark.server
@pytest.mark.external
def test_nginx_asks_the_app_for_an_archive_page_not_yet_on_disk_then_serves_the_file(
    nginx_in_front: tuple[str, Path],
) -> None:
    base, feeds = nginx_in_front
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for path in ("archive/all/1.atom", "archive/tags/龙舟/1.rss"):
            assert not (feeds / path).exists(), "the server makes archive pages on request"
            first = client.get("/feeds/" + path, headers={"Accept-Encoding": "identity"})
            assert first.status_code == 200, path
            assert HEX_ETAG.match(first.headers["etag"]), f"{path} made by the app"
            assert b"Alpha" in first.content
            assert (feeds / path).read_bytes() == first.content, "and written where nginx looks"
            second = client.get("/feeds/" + path, headers={"Accept-Encoding": "identity"})
            assert second.status_code == 200 and second.content == first.content
            assert not HEX_ETAG.match(second.headers["etag"]), f"{path} served by nginx from disk"
            for response in (first, second):  # both kept a day: a full archive page changes only with an edit
                assert response.headers["cache-control"] == "public, max-age=86400, stale-while-revalidate=86400"
                assert response.headers["x-content-type-options"] == "nosniff"
            again = client.get("/feeds/" + path, headers={"If-None-Match": second.headers["etag"]})
            assert again.status_code == 304
        assert client.get("/feeds/archive/all/9.atom").status_code == 404  # asked of the app, which has none
        assert client.get("/feeds/archive/all/1.atom?tag=x").status_code == 400  # queries go to the app
        (feeds / "archive/.hidden").write_text("not a feed")
        assert client.get("/feeds/archive/.hidden").status_code == 404


@pytest.mark.server
@pytest.mark.external
def test_nginx_keeps_metrics_and_admin_to_the_host(nginx_in_front: tuple[str, Path]) -> None:
    """/metrics and /admin/ were proxied to anyone; the site answers them only to the host itself."""
    base, _ = nginx_in_front
    # Another client: on Linux all of 127.0.0.0/8 is loopback, and 127.0.0.2 is not the host's 127.0.0.1.
    outside = httpx.Client(base_url=base, timeout=DEADLINE, transport=httpx.HTTPTransport(local_address="127.0.0.2"))
    with outside, httpx.Client(base_url=base, timeout=DEADLINE) as host:
        for path in ("/metrics", "/metrics/", "/admin/status", "/admin/regenerate", "/%61dmin/status", "/Metrics"):
            response = outside.get(path, headers={"Authorization": "Bearer any-token-of-some-length"})
            assert response.status_code in (403, 404), path
            assert "syndicate_" not in response.text, path
        assert outside.post("/admin/regenerate").status_code == 403
        for path in ("/feeds/all.atom", "/", "/healthz", "/readyz"):
            assert outside.get(path).status_code == 200, path
        assert "syndicate_http_requests_total" in host.get("/metrics").text
        assert host.get("/admin/status").status_code == 404  # reaches the app (no admin token set there)


def test_systemd_unit_runs_a_real_command() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "syndicate.service", encoding="utf-8")
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/syndicate")
    args = build_parser().parse_args(argv[1:])
    assert args.command == "serve" and args.host == "127.0.0.1"


def test_dockerfile_runs_a_real_command() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None
    import json

    argv = json.loads(cmd.group(1))
    assert argv[0] == "syndicate"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "serve" and args.host == "0.0.0.0"
    for source in re.findall(r"^COPY (?:--\S+ )*(\S+) ", text, re.MULTILINE):
        assert (REPO / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


@pytest.mark.server
@pytest.mark.external
def test_nginx_serves_browsers_the_pages_and_readers_the_feeds(nginx_in_front: tuple[str, Path]) -> None:
    """The static pages (<feed>.html) from disk; a feed's address negotiated on Accept as the app does it."""
    base, feeds = nginx_in_front
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "Accept-Encoding": "gzip"}
    reader = {"Accept": "application/atom+xml,application/rss+xml,application/xml;q=0.9,*/*;q=0.1"}
    with httpx.Client(base_url=base, timeout=DEADLINE) as client:
        for fmt in ("atom", "rss", "json"):
            for path in (f"all.{fmt}", f"tags/龙舟.{fmt}", f"categories/sports.{fmt}"):
                page_path = path.rpartition(".")[0] + ".html"
                page = client.get("/feeds/" + path, headers=browser)
                assert page.status_code == 200, path
                assert page.headers["content-type"] == "text/html; charset=utf-8", path
                assert page.content == (feeds / page_path).read_bytes(), "served from disk"
                assert not HEX_ETAG.match(page.headers["etag"]), "served by nginx from disk, not proxied"
                assert page.headers["content-encoding"] == "gzip"
                assert "Accept" in page.headers.get_list("vary") and "Accept-Encoding" in page.headers["vary"]
                assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
                again = client.get("/feeds/" + path, headers={**browser, "If-None-Match": page.headers["etag"]})
                assert again.status_code == 304, path
                for headers in (reader, {"Accept": "*/*"}):
                    feed = client.get("/feeds/" + path, headers=headers)
                    assert feed.status_code == 200 and feed.content == (feeds / path).read_bytes(), path
                    assert "Accept" in feed.headers.get_list("vary")
                    assert "content-security-policy" not in feed.headers
        direct = client.get("/feeds/all.html")
        assert direct.content == (feeds / "all.html").read_bytes()
        index = client.get("/feeds/index.html")
        assert index.content == (feeds / "index.html").read_bytes()
        assert index.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        opml = client.get("/feeds/index.opml")  # not negotiated, not a page
        assert "Accept" not in opml.headers.get_list("vary") and "content-security-policy" not in opml.headers
        # Not on disk (a case variant of a name), a query feed: the app answers, negotiating the same way.
        variant = client.get("/feeds/categories/SPORTS.atom", headers=browser)
        assert variant.status_code == 200 and variant.content == (feeds / "categories/sports.html").read_bytes()
        assert HEX_ETAG.match(variant.headers["etag"]), "answered by the app"
        assert (
            client.get("/feeds/categories/SPORTS.atom", headers=reader)
            .headers["content-type"]
            .startswith("application/atom+xml")
        )
        query = client.get("/feeds/all.atom?category=sports", headers=browser)
        assert query.status_code == 200 and query.headers["content-type"].startswith("application/atom+xml")


def _dockerfile() -> tuple[dict[str, str], str, list[str], list[str], list[str]]:
    """What the Dockerfile sets up: its ENV, the user's home, the directories it gives the user, its volumes and
    its command."""
    import json

    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.MULTILINE):
        env.update(dict(pair.split("=", 1) for pair in line.split()))
    home = re.search(r"useradd [^&]*--home-dir (\S+)", text)
    owned = re.search(r"chown syndicate:syndicate ([^&\n]+)", text)
    volumes = re.search(r"^VOLUME (\[.*\])$", text, re.MULTILINE)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert home is not None and owned is not None and cmd is not None
    return (
        env,
        home.group(1),
        owned.group(1).split(),
        json.loads(volumes.group(1)) if volumes else [],
        json.loads(cmd.group(1)),
    )


def test_the_docker_images_parse_cache_is_writable_and_kept() -> None:
    """The image's user (HOME /srv, owned by root) cannot create ~/.cache: the parse cache must be somewhere the
    user owns, and in the volume that outlives a container."""
    env, home, owned, volumes, _ = _dockerfile()
    cache_home = env.get("XDG_CACHE_HOME", home + "/.cache")
    assert any(cache_home == path or cache_home.startswith(path + "/") for path in owned), cache_home
    assert any(cache_home.startswith(volume + "/") for volume in volumes), (cache_home, volumes)
    unit = (DEPLOY / "syndicate.service").read_text(encoding="utf-8")
    assert "Environment=XDG_CACHE_HOME=/var/lib/syndicate/cache" in unit  # under ReadWritePaths, whatever the home


@pytest.mark.server
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give up file powers and own files as another user")
def test_the_docker_images_layout_keeps_last_modified_across_restarts(tmp_path: Path) -> None:
    """The image's file layout and user, without a Docker daemon: the paths of the Dockerfile under a scratch root,
    the server unable to override file permissions (as the image's unprivileged user), its home owned by someone
    else, the directories the Dockerfile gives the user owned by it. A restart keeps every feed's Last-Modified
    (before the fix: the cache could not be created under the home, and the restart restamped the feeds)."""
    import shutil

    env, home, owned, _, cmd = _dockerfile()
    image = tmp_path / "image"

    def inside(path: str) -> Path:
        return image / path.lstrip("/")

    shutil.copytree(REPO / "examples" / "site", inside(home) / "site")
    os.chown(inside(home), 65534, 65534)  # not the server's: as /srv (root's) is not the image's user's
    os.chmod(inside(home), 0o755)
    for path in owned:
        inside(path).mkdir(parents=True, exist_ok=True)  # owned by this process's user, as chown gives them
    args = build_parser().parse_args(cmd[1:])
    environ: dict[str, str | None] = {"HOME": str(inside(home)), "XDG_CACHE_HOME": None}
    if "XDG_CACHE_HOME" in env:
        environ["XDG_CACHE_HOME"] = str(inside(env["XDG_CACHE_HOME"]))
    site = inside(str(args.config)).parent
    stamps = []
    for _ in range(2):
        with running_server(
            site, args=("--out", str(inside(str(args.out)))), preexec=drop_file_powers, environ=environ
        ) as server:
            response = httpx.get(server.url + "/feeds/all.atom", timeout=30)
            assert response.status_code == 200
            stamps.append(response.headers["last-modified"])
            log = server.output()
        time.sleep(1.1)  # Last-Modified has whole seconds: a restamp would show
    assert stamps[0] == stamps[1], stamps
    assert "cannot be created" not in log, log
    assert list(inside(env.get("XDG_CACHE_HOME", home + "/.cache")).glob("syndicate/*.sqlite3"))
