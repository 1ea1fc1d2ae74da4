"""/metrics: valid Prometheus text exposition, counting what happened."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from syndicate.app import FeedsFirst, create_app
from syndicate.config import Settings
from syndicate.metrics import BuildGauges, Metrics

_SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*"\})? (?P<value>\S+)$'
)


def parse(text: str) -> dict[str, float]:
    """A strict reader of the text format (0.0.4): every sample belongs to a declared metric family."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "summary", "histogram", "untyped"}
            assert name not in types, f"{name} declared twice"
            types[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name = match["name"]
        family = name if name in types else re.sub(r"_(sum|count)$", "", name)
        assert family in types, f"sample {name} has no TYPE"
        key = name + (match["labels"] or "")
        assert key not in samples, f"duplicate sample {key}"
        samples[key] = float(match["value"])
    return samples


def test_render_is_valid_before_anything_happened() -> None:
    samples = parse(Metrics().render(BuildGauges()))
    assert samples["syndicate_ready"] == 0
    assert samples["syndicate_feed_not_modified_ratio"] == 0


def test_metrics_count_requests_builds_and_posts(
    write_post: Callable[..., Path], posts_dir: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    write_post("2024-01-10-a.md", 'title: "A"\ndate: 2024-01-10 08:00:00 +0800\ncategories: local\ntags: x')
    write_post("2024-01-11-b.md", "no front matter at all\n")
    app = create_app(make_settings(admin_token="metrics-token-0123456789", admin_rate=0), background=False)
    with TestClient(app) as c:
        etag = c.get("/feeds/all.atom").headers["etag"]
        for _ in range(3):
            assert c.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 304
        assert c.get("/feeds/missing.atom").status_code == 404
        assert c.get("/healthz").status_code == 200
        samples = parse(c.get("/metrics").text)
        assert samples['syndicate_http_requests_total{status="200"}'] == 2  # the feed and /healthz
        assert samples['syndicate_http_requests_total{status="304"}'] == 3
        assert samples['syndicate_http_requests_total{status="404"}'] == 1
        assert samples["syndicate_feed_not_modified_ratio"] == 0.75
        assert samples['syndicate_builds_total{result="ok"}'] == 1
        assert samples["syndicate_build_duration_seconds_count"] == 1
        assert samples["syndicate_build_duration_seconds_sum"] > 0
        assert samples["syndicate_posts"] == 1
        assert samples["syndicate_feeds"] == 3
        assert samples["syndicate_rejected_posts"] == 1
        assert samples["syndicate_ready"] == 1 and samples["syndicate_last_build_success"] == 1

        shutil.rmtree(posts_dir)  # the next build fails; the last good feeds stay
        assert (
            c.post("/admin/regenerate", headers={"Authorization": "Bearer metrics-token-0123456789"}).status_code == 500
        )
        samples = parse(c.get("/metrics").text)
        assert samples['syndicate_builds_total{result="error"}'] == 1
        assert samples["syndicate_last_build_success"] == 0
        assert samples["syndicate_ready"] == 1
        assert samples["syndicate_posts"] == 1
        assert c.get("/feeds/all.atom").status_code == 200
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["last_build_ok"] is False
        assert "error" not in ready.json()  # public: no paths
        status = c.get("/admin/status", headers={"Authorization": "Bearer metrics-token-0123456789"}).json()
        assert str(posts_dir) in status["last_build"]["error"]


def test_an_unexpected_exception_is_counted_as_a_500(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    """Neither the feed handler (outside Starlette) nor Starlette's own 500 page passed a count; both are counted."""
    token = "metrics-token-0123456789"
    app = create_app(make_settings(admin_token=token), background=False)

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    with TestClient(FeedsFirst(app), raise_server_exceptions=False) as c:
        # The lookup of a path the snapshot does not hold (an archive page's) fails: a 500 from the feed handler.
        monkeypatch.setattr(app.state.service, "resource", broken)
        monkeypatch.setattr(app.state.service, "status", broken)
        assert c.get("/feeds/archive/all/1.atom").status_code == 500
        assert c.get("/admin/status", headers={"Authorization": f"Bearer {token}"}).status_code == 500
        samples = parse(c.get("/metrics").text)
        assert samples['syndicate_http_requests_total{status="500"}'] == 2
