"""Query feeds: answered from the served build, cached per build, stamped by what they ask."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    queries = QueryFeeds(lambda: builder, CachePolicy(max_age=60), clock)

    async def scenario() -> None:
        first = await queries.query({"category": ["local"], "tag": ["y", "x"]}, 10, "atom")
        assert (
            first.representations["identity"].body
            == builder.query(terms={"category": ["local"], "tag": ["x", "y"]}, limit=10, fmt="atom").body
        )
        assert (
            await queries.query({"category": ["local"], "tag": ["x", "y"]}, 10, "atom") is first
        )  # the same question, however ordered
        assert await queries.query({"category": ["local"], "tag": ["x", "y"]}, 1, "atom") is not first

        clock.advance(60)
        queries.swapped(2)  # a new build that did not change the answer: made again, stamped as before
        same = await queries.query({"category": ["local"], "tag": ["x", "y"]}, 10, "atom")
        assert same is not first and same.digest == first.digest
        assert same.last_modified_header == first.last_modified_header == b"Fri, 01 May 2026 12:00:00 GMT"

        clock.advance(60)
        builder.build([write_post("2024-03-04-d.md", post("D", 4, "local", "x y"))])
        queries.swapped(3)
        changed = await queries.query({"category": ["local"], "tag": ["x", "y"]}, 10, "atom")
        assert changed.digest != first.digest
        assert changed.last_modified_header == b"Fri, 01 May 2026 12:02:00 GMT"

    asyncio.run(scenario())


def test_the_kept_answers_are_bounded_in_bytes_not_only_in_number(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock, monkeypatch: Any
) -> None:
    """Anonymous clients asking distinct questions of a site with long posts cannot grow memory past the bound."""
    from syndicate import queries as queries_module

    long_body = "<p>" + "A long paragraph of a long article. " * 400 + "</p>\n"  # ~14 KB of content per entry
    for day in range(1, 21):
        write_post(f"2024-03-{day:02d}-p{day}.md", post(f"P{day}", day, "local", "x"), body=long_body)
    builder = Builder(make_settings(cache="off"))
    builder.build()
    monkeypatch.setattr(queries_module, "CACHE_BYTES", 300_000)
    queries = QueryFeeds(lambda: builder, CachePolicy(max_age=60), clock)

    async def scenario() -> list[int]:
        sizes = []
        for limit in range(1, 41):  # 40 distinct questions, each answer up to ~280 KB with its encodings
            answer = await queries.query({"category": ["local"], "tag": ["x"]}, limit, "atom")
            assert answer.representations["identity"].body.count(b"<entry>") == min(limit, 20)
            sizes.append(answer.size)
            assert queries.cache_bytes <= 300_000
        return sizes

    sizes = asyncio.run(scenario())
    assert sum(sizes) > 3 * 300_000  # the answers together were far more than what was kept


def test_a_request_name_never_enters_the_slug_memo(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    from syndicate.terms import slugify

    write_post("2024-03-01-a.md", post("A", 1, "local", "x"))
    builder = Builder(make_settings(cache="off"))
    builder.build()
    before = slugify.cache_info().currsize
    for n in range(2000):  # unknown names a client might send, each up to the 1024 characters app.py allows
        assert builder.feedset.resolve("tag", f"unknown-{n}-" + "z" * 1000) is None
    assert slugify.cache_info().currsize == before
    assert builder.feedset.resolve("category", "LOCAL") is not None  # names still resolve, case variants too


def test_one_query_feed_is_rendered_at_a_time_and_a_question_asked_meanwhile_is_answered_once(
    write_post: Callable[..., Path], make_settings: Callable[..., Settings], clock: Clock, monkeypatch: Any
) -> None:
    import threading
    import time

    for day in range(1, 6):
        write_post(f"2024-03-{day:02d}-p{day}.md", post(f"P{day}", day, "local", "x"))
    builder = Builder(make_settings(cache="off"))
    builder.build()
    running = {"now": 0, "most": 0, "calls": 0}
    lock = threading.Lock()
    real = builder.query

    def slow_query(**kwargs: Any) -> Any:
        with lock:
            running["now"] += 1
            running["calls"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.05)  # a question over long posts
        try:
            return real(**kwargs)
        finally:
            with lock:
                running["now"] -= 1

    monkeypatch.setattr(builder, "query", slow_query)
    queries = QueryFeeds(lambda: builder, CachePolicy(max_age=60), clock)

    async def scenario() -> None:
        distinct = [queries.query({"category": ["local"], "tag": ["x"]}, limit, "atom") for limit in range(1, 5)]
        same = [queries.query({"category": ["local"], "tag": []}, 3, "rss") for _ in range(5)]
        answers = await asyncio.gather(*distinct, *same)
        assert len({id(a) for a in answers[4:]}) == 1  # the same question, answered once

    asyncio.run(scenario())
    assert running["most"] == 1  # never two query feeds rendered at once
    assert running["calls"] == 5  # four distinct questions and one asked five times
