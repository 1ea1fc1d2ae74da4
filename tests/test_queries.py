"""Query feeds: answered from the served build, cached per build, stamped by what they ask."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from conftest import Clock
from syndicate.builder import Builder
from syndicate.config import Settings
from syndicate.queries import QueryFeeds
from syndicate.responses import CachePolicy


def post(title: str, day: int, categories: str = "local", tags: str = "x") -> str:
    return f'title: "{title}"\ndate: 2024-03-{day:02d} 08:00:00 +0800\ncategories: {categories}\ntags: {tags}'


def test_answers_are_cached_per_build_and_keep_their_last_modified_while_their_bytes_do(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock
) -> None:
    write_post("2024-03-01-a.md", post("A", 1, "local", "x y"))
    write_post("2024-03-02-b.md", post("B", 2, "local", "y"))
    write_post("2024-03-03-c.md", post("C", 3, "sports", "y"))
    settings = make_settings(cache="off")
    builder = Builder(settings)
    builder.build()
    queries = QueryFeeds(builder, CachePolicy(max_age=60), clock)

    async def scenario() -> None:
        first = await queries.query(["local"], ["y", "x"], 10, "atom")
        assert (
            first.representations["identity"].body
            == builder.query(categories=["local"], tags=["x", "y"], limit=10, fmt="atom").body
        )
        assert await queries.query(["local"], ["x", "y"], 10, "atom") is first  # the same question, however ordered
        assert await queries.query(["local"], ["x", "y"], 1, "atom") is not first

        clock.advance(60)
        queries.swapped(2)  # a new build that did not change the answer: made again, stamped as before
        same = await queries.query(["local"], ["x", "y"], 10, "atom")
        assert same is not first and same.digest == first.digest
        assert same.last_modified_header == first.last_modified_header == b"Fri, 01 May 2026 12:00:00 GMT"

        clock.advance(60)
        builder.build([write_post("2024-03-04-d.md", post("D", 4, "local", "x y"))])
        queries.swapped(3)
        changed = await queries.query(["local"], ["x", "y"], 10, "atom")
        assert changed.digest != first.digest
        assert changed.last_modified_header == b"Fri, 01 May 2026 12:02:00 GMT"

    asyncio.run(scenario())
