"""Admin routes: token auth (404 / 401 / 403 / 200), rate limiting, status; the rate limiter on its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from syndicate.admin import RateLimiter
from syndicate.app import create_app
from syndicate.config import Settings

TOKEN = "s3cret-token-0123456789"
AUTH_FAILURES = 12  # more than any other test here sends


@pytest.fixture
def client(write_post: Callable[..., Path], make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    write_post("2024-01-10-a.md", 'title: "A"\ndate: 2024-01-10 08:00:00 +0800\ncategories: local\ntags: x')
    write_post("2024-01-11-bad.md", "title: [unclosed\n")
    app = create_app(
        make_settings(admin_token=TOKEN, admin_rate=3, admin_auth_failures=AUTH_FAILURES), background=False
    )
    with TestClient(app) as c:
        yield c


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_configured_token_admin_is_absent(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(admin_token=""), background=False)) as c:
        for method, path in (("POST", "/admin/regenerate"), ("GET", "/admin/status")):
            assert c.request(method, path).status_code == 404
            assert c.request(method, path, headers=auth("")).status_code == 404
            assert c.request(method, path, headers=auth("anything")).status_code == 404


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic czNjcmV0", "Token " + TOKEN])
def test_missing_or_malformed_credentials_are_401(client: TestClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for method, path in (("POST", "/admin/regenerate"), ("GET", "/admin/status")):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x" * 400])
def test_wrong_token_is_403(client: TestClient, token: str) -> None:
    assert client.post("/admin/regenerate", headers=auth(token)).status_code == 403
    assert client.get("/admin/status", headers=auth(token)).status_code == 403


def test_wrong_tokens_are_throttled_per_client_address(client: TestClient) -> None:
    for _ in range(5):  # missing credentials are no guess: they do not count
        assert client.get("/admin/status").status_code == 401
    statuses = [client.get("/admin/status", headers=auth(f"guess-{n}")).status_code for n in range(AUTH_FAILURES)]
    assert statuses == [403] * AUTH_FAILURES
    for request in (
        lambda: client.get("/admin/status", headers=auth("one more guess")),
        lambda: client.post("/admin/regenerate", headers=auth("one more guess")),
        # the right token too: a 200 among 429s would still tell a guess
        lambda: client.get("/admin/status", headers=auth()),
        lambda: client.post("/admin/regenerate", headers=auth()),
    ):
        response = request()
        assert response.status_code == 429, response.text
        assert "failed authentication attempts" in response.text
        assert 1 <= int(response.headers["retry-after"]) <= 60
    # another address is not locked out by this one's guesses
    other = TestClient(client.app, client=("192.0.2.7", 40000))
    assert other.get("/admin/status", headers=auth()).status_code == 200
    assert other.get("/admin/status", headers=auth("wrong")).status_code == 403


def test_failed_authentication_is_unlimited_with_0(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(admin_token=TOKEN, admin_auth_failures=0), background=False)) as c:
        assert {c.get("/admin/status", headers=auth(f"guess-{n}")).status_code for n in range(30)} == {403}
        assert c.get("/admin/status", headers=auth()).status_code == 200


def test_non_ascii_tokens_compare_as_utf8_bytes(make_settings: Callable[..., Settings]) -> None:
    token = "jeton-ünïcode-令牌"
    with TestClient(create_app(make_settings(admin_token=token), background=False)) as c:
        right = {"Authorization": b"Bearer " + token.encode("utf-8")}
        wrong = {"Authorization": b"Bearer " + "jeton-ünïcode-令".encode()}
        assert c.get("/admin/status", headers=right).status_code == 200  # type: ignore[arg-type]
        assert c.get("/admin/status", headers=wrong).status_code == 403  # type: ignore[arg-type]
        assert c.get("/admin/status", headers={"Authorization": b"Bearer \xff\xfe"}).status_code == 403  # type: ignore[arg-type]


def test_status_reports_posts_feeds_rejections_and_schedule(client: TestClient) -> None:
    status = client.get("/admin/status", headers=auth()).json()
    assert status["ready"] is True
    assert status["posts"] == 1
    assert status["feeds"] == 3  # site-wide, category "local", tag "x"
    assert status["last_build"]["ok"] is True
    assert status["last_duration"] > 0
    assert [r["path"] for r in status["rejected"]] == ["2024-01-11-bad.md"]
    assert status["rejected"][0]["reason"]
    assert "next_scheduled_run" in status  # None here: this app runs without the scheduler


def test_regenerate_runs_a_build_and_reports_it(client: TestClient, write_post: Callable[..., Path]) -> None:
    before = client.get("/feeds/all.atom")
    write_post("2024-02-01-b.md", 'title: "B"\ndate: 2024-02-01 08:00:00 +0800\ncategories: local')
    response = client.post("/admin/regenerate", headers=auth())
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["posts"] == 2
    assert "all.atom" in body["written"]
    after = client.get("/feeds/all.atom")
    assert after.headers["etag"] != before.headers["etag"]
    one = client.post("/admin/regenerate", params={"feed": "categories/local.atom"}, headers=auth())
    assert one.status_code == 200 and one.json()["feed"] == "categories/local.atom"
    assert one.json()["changed"] is False  # nothing changed since the last build: same bytes, same ETag


def test_regenerate_unknown_feed_is_404(client: TestClient) -> None:
    assert client.post("/admin/regenerate", params={"feed": "categories/nope.atom"}, headers=auth()).status_code == 404


def test_regenerate_is_rate_limited_per_client(client: TestClient) -> None:
    statuses = [client.post("/admin/regenerate", headers=auth()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.post("/admin/regenerate", headers=auth())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    # status is not rate-limited, and wrong tokens are still refused as such
    assert client.get("/admin/status", headers=auth()).status_code == 200
    assert client.post("/admin/regenerate", headers=auth("wrong")).status_code == 403


def test_rate_limiter_window() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert limiter.acquire("a") == 0 and limiter.acquire("a") == 0
    assert limiter.acquire("a") == pytest.approx(60)
    assert limiter.acquire("b") == 0  # per client
    now[0] += 30
    assert limiter.acquire("a") == pytest.approx(30)
    now[0] += 30.5
    assert limiter.acquire("a") == 0
    assert RateLimiter(0).acquire("a") == 0  # 0 = unlimited


def test_rate_limiter_wait_records_nothing_and_a_full_budget_frees_after_the_window() -> None:
    now = [1000.0]
    limiter = RateLimiter(2, window=60, clock=lambda: now[0])
    assert limiter.wait("a") == 0 and limiter.wait("a") == 0 and limiter.wait("a") == 0  # nothing recorded
    limiter.acquire("a")
    now[0] += 10
    limiter.acquire("a")
    assert limiter.wait("a") == pytest.approx(50)
    assert limiter.wait("b") == 0
    now[0] += 50
    assert limiter.wait("a") == 0  # never locked for longer than the window
    assert limiter.acquire("a") == 0
