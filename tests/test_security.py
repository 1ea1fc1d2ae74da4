"""Access: who can make the server work, and what it will hand out. Against the real server (``syndicate serve`` on
127.0.0.1) where the network matters, in-process where a property needs control (coalescing, per-client limits).

- Admin routes: absent (404) without a configured token; 401 without credentials; 403 for a wrong token; the token
  compared with ``hmac.compare_digest``; regeneration rate-limited per client (429 + Retry-After); a burst of
  triggers coalesces into at most one running and one pending build.
- Nothing outside the served documents: a matrix of traversal, encoding, NUL, overlong and method tricks on every
  route gives 404/405 and never a file's contents.
- The HTML index escapes every name and title.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from lxml import html as lxml_html

from _serving import DEADLINE, SITE_CONFIG, Server, raw_request, running_server
from conftest import post_text
from syndicate import admin as admin_module
from syndicate.app import create_app
from syndicate.builder import Builder, BuildReport
from syndicate.config import Settings

TOKEN = "reliability-token-5d1e"
HOSTILE_NAME = '<script>alert("x")</script>'
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>&amp;</title><script>alert(2)</script>'


def _site(root: Path) -> None:
    posts = root / "_posts"
    posts.mkdir(parents=True)
    (posts / "2024-05-01-plain.md").write_text(
        post_text("title: Plain\ndate: 2024-05-01 09:00:00 +0800\ncategories: local\ntags: [ok]"), encoding="utf-8"
    )
    (posts / "2024-05-02-hostile.md").write_text(
        post_text(
            f"title: '{HOSTILE_TITLE}'\ndate: 2024-05-02 09:00:00 +0800\n"
            f"categories: ['{HOSTILE_NAME}', '../../etc']\ntags: ['a&b', '\"quoted\"', '<b>bold</b>']"
        ),
        encoding="utf-8",
    )
    (root / "secret.txt").write_text("TOP-SECRET-CONTENT\n", encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("security")
    _site(root)
    # Wrong tokens are many here, from one address: the throttle on guessing has its own tests (test_admin.py).
    config = SITE_CONFIG.replace('title = "Test Site"', 'title = "<i>Site</i> & co"') + "admin_rate = 3\n"
    config += "admin_auth_failures = 0\n"
    (root / "syndicate.toml").write_text(config, encoding="utf-8")
    with running_server(root, token=TOKEN) as s:
        yield s


pytestmark = pytest.mark.server

# -- admin ---------------------------------------------------------------------------------------------------------

ADMIN = [("POST", "/admin/regenerate"), ("GET", "/admin/status")]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic cmVsaWFiaWxpdHk=", f"Token {TOKEN}"])
def test_admin_without_credentials_is_401(server: Server, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for method, path in ADMIN:
        # Sent raw: HTTP clients refuse header values with trailing spaces, attackers do not.
        status, body = raw_request(server.url, path, method=method, headers={**headers, "Content-Length": "0"})
        assert status == 401, (method, path, header)
        assert TOKEN.encode() not in body
    response = httpx.get(server.url + "/admin/status", timeout=DEADLINE)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "0", TOKEN.upper(), " " + TOKEN + "x", "\u00e9" * 64])
def test_admin_with_a_wrong_token_is_403(server: Server, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}".encode()}
    for method, path in ADMIN:
        response = httpx.request(method, server.url + path, headers=headers, timeout=DEADLINE)
        assert response.status_code == 403, (method, path, token)
        assert TOKEN not in response.text


def test_admin_is_404_when_no_token_is_configured(tmp_path: Path) -> None:
    _site(tmp_path)
    with running_server(tmp_path) as s:
        for method, path in ADMIN:
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer "}):
                status, _ = raw_request(s.url, path, method=method, headers={**headers, "Content-Length": "0"})
                assert status == 404, (method, path, headers)


def test_token_is_compared_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    """Every decision goes through hmac.compare_digest (no ``==`` that returns at the first differing byte)."""
    from starlette.testclient import TestClient

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(admin_module.hmac, "compare_digest", spy)
    with TestClient(create_app(make_settings(admin_token=TOKEN), background=False)) as client:
        assert client.get("/admin/status", headers={"Authorization": "Bearer nope"}).status_code == 403
        assert client.get("/admin/status", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert len(calls) == 2 and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_regeneration_is_rate_limited_with_retry_after(server: Server) -> None:
    url = server.url + "/admin/regenerate?wait=0"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    statuses = [httpx.post(url, headers=auth, timeout=DEADLINE) for _ in range(6)]
    codes = [r.status_code for r in statuses]
    assert codes.count(202) <= 3 and 429 in codes, codes
    limited = next(r for r in statuses if r.status_code == 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # Unauthenticated requests are refused before the limiter: they cannot use up the admin's allowance.
    assert httpx.post(url, timeout=DEADLINE).status_code == 401
    # The server keeps serving feeds meanwhile.
    assert httpx.get(server.url + "/feeds/all.atom", timeout=DEADLINE).status_code == 200


def test_rate_limit_is_per_client(make_settings: Callable[..., Settings]) -> None:
    from starlette.testclient import TestClient

    app = create_app(make_settings(admin_token=TOKEN, admin_rate=2), background=False)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app, client=("192.0.2.1", 1000)) as one, TestClient(app, client=("192.0.2.2", 1000)) as two:
        assert [one.post("/admin/regenerate?wait=0", headers=auth).status_code for _ in range(3)] == [202, 202, 429]
        assert two.post("/admin/regenerate?wait=0", headers=auth).status_code == 202


class _GatedBuilder(Builder):
    """A real Builder whose builds wait at a gate, so a test can pile triggers onto a running build."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.calls = 0

    def build(  # type: ignore[override]
        self, changed: object = None, *, force: bool = False, defer_write: bool = False
    ) -> BuildReport:
        self.calls += 1
        self.started.release()
        self.gate.wait(DEADLINE)
        return super().build(changed, force=force, defer_write=defer_write)  # type: ignore[arg-type]


def test_a_burst_of_triggers_coalesces_into_bounded_work(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    """500 regenerate requests while a build runs give exactly one more build, and every request is answered."""
    write_post("2024-01-10-a.md", "title: A\ndate: 2024-01-10")
    settings = make_settings(admin_token=TOKEN, admin_rate=0)
    builder = _GatedBuilder(settings)
    builder.gate.set()
    app = create_app(settings, builder, background=False)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            # The start-up build's own start (its files may still be being written: a trigger meanwhile waits).
            assert builder.started.acquire(timeout=DEADLINE)
            before = builder.calls
            builder.gate.clear()
            first = asyncio.create_task(c.post("/admin/regenerate", headers=auth))
            await asyncio.to_thread(builder.started.acquire, True, DEADLINE)
            rest = [asyncio.create_task(c.post("/admin/regenerate", headers=auth)) for _ in range(500)]
            await asyncio.sleep(0.2)  # let every request reach the service while the build is held
            builder.gate.set()
            responses = await asyncio.gather(first, *rest)
            assert builder.calls - before == 2, builder.calls - before
            return [r.status_code for r in responses]

    codes = asyncio.run(burst())
    assert codes == [200] * 501


# -- nothing outside the output directory -------------------------------------------------------------------------

TARGETS = [
    "/feeds/../secret.txt",
    "/feeds/..%2fsecret.txt",
    "/feeds/..%2Fsecret.txt",
    "/feeds/%2e%2e/secret.txt",
    "/feeds/%2e%2e%2fsecret.txt",
    "/feeds/%252e%252e%252fsecret.txt",
    "/feeds/..%5csecret.txt",
    "/feeds/..\\secret.txt",
    "/feeds/%c0%ae%c0%ae/secret.txt",
    "/feeds/%c0%af",
    "/feeds//work/secret.txt",
    "/feeds/%2fetc%2fpasswd",
    "/feeds/file:///etc/passwd",
    "/feeds/all.atom%00",
    "/feeds/all.atom%00.txt",
    "/feeds/%00",
    "/feeds/all.atom/",
    "/feeds/all.atom/..",
    "/feeds/categories/",
    "/feeds/categories/..%2f..%2fsecret.txt",
    "/feeds/archive/../../secret.txt",
    "/feeds/.syndicate-manifest.json",
    "/feeds/.tmp-x",
    "/feeds/syndicate.toml",
    "/feeds/server.log",
    "/feeds/" + "a" * 5000 + ".atom",
    "/feeds/" + "%2e" * 3000,
    "/feeds/tags/%ff%fe.atom",
    "/feeds/tags/%ED%A0%80.atom",
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/secret.txt",
    "/syndicate.toml",
    "/_posts/2024-05-01-plain.md",
    "/admin/../secret.txt",
    "//etc/passwd",
]


@pytest.mark.parametrize("target", TARGETS)
def test_nothing_outside_the_documents_is_served(server: Server, target: str) -> None:
    status, body = raw_request(server.url, target)
    assert status in (400, 404), (target, status)
    assert b"TOP-SECRET" not in body and b"root:" not in body and b"Traceback" not in body
    assert b"title:" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "FOO"])
@pytest.mark.parametrize("path", ["/feeds/all.atom", "/", "/healthz", "/readyz", "/metrics", "/feeds/../secret.txt"])
def test_odd_methods_are_refused(server: Server, method: str, path: str) -> None:
    status, body = raw_request(server.url, path, method=method)
    assert status in (400, 404, 405), (method, path, status)
    assert b"TOP-SECRET" not in body


def test_head_and_get_only_admin_status_refuses_post(server: Server) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(server.url + "/admin/status", headers=auth, timeout=DEADLINE).status_code == 405
    assert httpx.get(server.url + "/admin/regenerate", headers=auth, timeout=DEADLINE).status_code == 405


# -- escaping -----------------------------------------------------------------------------------------------------


def test_index_page_escapes_every_name_and_title(server: Server) -> None:
    response = httpx.get(server.url + "/", timeout=DEADLINE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script"), "a name became a script element"
    assert not tree.xpath("//img") and not tree.xpath("//i") and not tree.xpath("//b")
    assert not [el for el in tree.iter() if isinstance(el.tag, str) and any(a.startswith("on") for a in el.attrib)]
    text = tree.text_content()
    assert HOSTILE_NAME in text and "<i>Site</i> & co" in text and "<b>bold</b>" in text
    for href in tree.xpath("//a/@href") + tree.xpath("//link/@href"):
        assert not href.lower().startswith(("javascript:", "data:")), href
        assert ".." not in href.split("/"), href


def test_hostile_feed_links_resolve_inside_the_feeds(server: Server) -> None:
    """Every link the index offers is a feed the server serves (slugs never escape /feeds/)."""
    tree = lxml_html.fromstring(httpx.get(server.url + "/", timeout=DEADLINE).text)
    hrefs = {h for h in tree.xpath("//a/@href") if "/feeds/" in h}
    assert len(hrefs) >= 6
    for href in sorted(hrefs):
        path = href[href.index("/feeds/") :]
        response = httpx.get(server.url + path, timeout=DEADLINE)
        assert response.status_code == 200, path
        assert b"TOP-SECRET" not in response.content
