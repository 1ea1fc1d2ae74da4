"""deploy/: the nginx site in front of the real server (a real nginx on loopback), and the other two files."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _serving import DEADLINE, free_port, need_program, running_server, wait_until
from syndicate.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
HEX_ETAG = re.compile(r'^"[0-9a-f]{32}(-gz|-br)?"$')  # the app's digest-based ETags


def write_post(root: Path, name: str, title: str, category: str, tags: str, day: int) -> None:
    (root / "_posts" / name).write_text(
        f'---\ntitle: "{title}"\ndate: 2024-07-{day:02d} 09:00:00 +0800\ncategories: {category}\ntags: {tags}\n---\n'
        f"<p>{title}.</p>\n",
        encoding="utf-8",
    )


def site_config(tmp: Path, app_port: int, nginx_port: int, data: Path) -> str:
    """deploy/nginx-syndicate.conf with its paths and ports pointed at this test's."""
    text = (DEPLOY / "nginx-syndicate.conf").read_text(encoding="utf-8")
    for old, new in (
        ("    listen [::]:80;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{nginx_port};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("/var/lib/syndicate", str(data)),
    ):
        assert old in text, f"deploy/nginx-syndicate.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    nginx = need_program("nginx")
    site = tmp_path / "site"
    data = tmp_path / "lib"  # stands for /var/lib/syndicate
    (site / "_posts").mkdir(parents=True)
    (site / "syndicate.toml").write_text(
        f'title = "Deploy Test"\nurl = "https://news.example.net"\nposts = "_posts"\nout = "{data / "feeds"}"\n'
        f'cache = "{tmp_path / "cache.sqlite3"}"\nlimit = 2\n',
        encoding="utf-8",
    )
    write_post(site, "2024-07-01-a.md", "Alpha", "sports", "龙舟", 1)
    write_post(site, "2024-07-02-b.md", "Beta", "local", "龙舟", 2)
    write_post(site, "2024-07-03-c.md", "Gamma", "local", "龙舟", 3)  # the site's feed and the tag's: an archive page
    with running_server(site) as server:
        port = free_port()
        app_port = int(server.url.rsplit(":", 1)[1])
        (tmp_path / "site.conf").write_text(site_config(tmp_path, app_port, port, data), encoding="utf-8")
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
