"""Shared fixtures: a posts directory to write posts into, settings pointing at it, a clock tests move by hand."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import frontmatter
import pytest

from syndicate.config import Settings, load_settings
from syndicate.snapshot import Preparer

REPO = Path(__file__).resolve().parents[1]
# Our own post in the shape of a real republished one (tests/data/README.md): tests read nothing outside the repository.
SAMPLE_POST = REPO / "tests" / "data" / "2021-12-24-sample-post.md"
EXAMPLE = REPO / "examples" / "site"


def post_text(front: str, body: str = "<p>Body text.</p>\n") -> str:
    return f"---\n{front.strip()}\n---\n{body}"


@pytest.fixture
def posts_dir(tmp_path: Path) -> Path:
    d = tmp_path / "_posts"
    d.mkdir()
    return d


@pytest.fixture
def write_post(posts_dir: Path) -> Callable[..., Path]:
    def write(name: str, front: str, body: str = "<p>Body text.</p>\n") -> Path:
        path = posts_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(post_text(front, body), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_settings(tmp_path: Path, posts_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "posts": posts_dir,
            "out": tmp_path / "out",
            "url": "https://news.example.net",
            "title": "Test Site",
            "timezone": "Asia/Shanghai",
            "cache": tmp_path / "cache.sqlite3",
        }
        values.update(overrides)
        return load_settings(None, values, environ={})

    return make


class Clock:
    """A service clock (``create_app(clock=...)``, ``FeedService(clock=...)``) that moves only when told to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def sample_body() -> str:
    """The sample post's body: Markdown around a republished article's HTML, ending in the site's back links."""
    return str(frontmatter.load(SAMPLE_POST).content)


@pytest.fixture(autouse=True)
def _preparers_closed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every snapshot Preparer a test made (a FeedService's) is closed after it, with its compressor threads: a
    service a test never stopped would otherwise leave them running, and a later test's build forks workers only
    while its process has a single thread."""
    made: list[Preparer] = []
    original = Preparer.__init__

    def init(self: Preparer, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Preparer, "__init__", init)
    yield
    for preparer in made:
        preparer.close()
    for thread in threading.enumerate():
        if thread.name.startswith("syndicate-compress"):
            thread.join(timeout=10)
