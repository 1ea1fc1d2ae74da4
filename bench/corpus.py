"""Benchmark corpus: N Jekyll-style posts in the shape of the real republishing site, from a seed number.

Each post is generated from its own random stream seeded by ``(seed, index)``, so the same seed gives a
byte-identical corpus and a corpus of N posts is a prefix of the corpus of N+k posts (the latency
benchmark writes post N+1, N+2, ... into a built corpus of N).

Front matter must mean the same to syndicate (Jekyll rules) *and* to Hugo, the peer we time against.
Checked with Hugo 0.111: a bare string is one term to Hugo, while Jekyll splits it on whitespace
(``categories: a b`` is two categories to Jekyll, one term "a-b" to Hugo). So a single name without
spaces is written as a bare string or a list, and several names, or a name with a space, always as a
YAML list (flow or block style). Space-separated strings appear in the example site, not here.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SITE_HOST = "news.example.net"

# (name, slug used in the site's back-link URL). Chinese and Latin names, some with spaces and punctuation.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("youjiangribao", "youjiangribao"),
    ("右江日报新闻", "yjrbxw"),
    ("本地新闻", "local"),
    ("科技", "tech"),
    ("AI & ML", "ai-ml"),
    ("C++", "cpp"),
    ("node.js", "nodejs"),
    ("体育", "sports"),
    ("教育", "education"),
    ("财经", "finance"),
    ("文化旅游", "culture"),
    ("乡村振兴", "rural"),
    ("通知公告", "notice"),
    ("open source", "open-source"),
    ("Q&A", "qa"),
    ("健康", "health"),
    ("交通出行", "transport"),
    ("环境保护", "environment"),
    ("World News", "world"),
    ("R&D", "rnd"),
)

TAGS: tuple[str, ...] = (
    "右江日报新闻",
    "百色",
    "芒果",
    "甘蔗",
    "防汛",
    "民族团结",
    "乡村振兴",
    "公交",
    "图书馆",
    "夜市",
    "龙舟",
    "茶叶",
    "无人机",
    "C++",
    "node.js",
    "AI & ML",
    "Rust",
    "Python 3",
    "web feeds",
    "Q&A",
    "R&D",
    "open data",
    "e-commerce",
    "5G",
    "climate",
    "schools",
    "health care",
    "tourism",
    "statistics",
    "C#",
)

SOURCES: tuple[str, ...] = (
    "右江日报",
    "城市晚报",
    "广西日报",
    "百色新闻网",
    "河谷电视台",
    "Valley Tech Weekly",
    "The Riverside Herald",
    "农民日报",
    "South Valley Post",
    "科技周刊",
)

_ORIGINAL_HOSTS = ("paper.example.org", "www.example.com", "news.example.org", "media.example.com")

_ZH_WORDS = (
    "我市 全面 推进 工作 群众 发展 建设 项目 服务 农村 城区 企业 学校 社区 今年 以来 累计 完成 同比 增长 "
    "提升 加强 落实 开展 活动 部门 负责人 介绍 记者 了解 到 目前 已经 计划 下一步 继续 围绕 重点 任务 "
    "改善 民生 交通 道路 水利 设施 产业 特色 品牌 销售 线上 线下 游客 接待 文化 旅游 生态 环境 保护 治理 "
    "安全 检查 隐患 整改 培训 技术 人员 指导 果园 种植 收获 价格 市场 合作社 农户 收入 就业 岗位"
).split()
_LATIN_WORDS = (
    "the county said on Monday that work on a new bridge across the river will start next spring after "
    "residents asked for a safer crossing local officials expect traffic to fall in the old town while "
    "farmers plan to sell more fruit through online shops and cooperatives schools will open two new "
    "classrooms this term according to a statement from the education bureau which also promised more "
    "teachers for rural areas engineers tested the flood gates and found them in good order visitors "
    "returned to the valley in large numbers during the holiday week data from the transport office show"
).split()
_ZH_PUNCT = ("，", "，", "，", "、", "；")


@dataclass(frozen=True)
class GeneratedPost:
    """One generated post: where it goes under the posts directory, its text, and what it declares."""

    index: int
    relpath: str
    text: str
    title: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    date: dt.datetime
    source: str | None
    original_url: str | None


@dataclass(frozen=True)
class CorpusInfo:
    count: int
    seed: int
    bytes: int
    categories: frozenset[str]
    tags: frozenset[str]


def _zh_sentence(rng: random.Random) -> str:
    words = rng.choices(_ZH_WORDS, k=rng.randint(8, 22))
    parts: list[str] = []
    for i, word in enumerate(words):
        parts.append(word)
        if i and i % 5 == 0 and i < len(words) - 1:
            parts.append(rng.choice(_ZH_PUNCT))
    return "".join(parts) + "。"


def _latin_sentence(rng: random.Random) -> str:
    words = rng.choices(_LATIN_WORDS, k=rng.randint(9, 24))
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, chinese: bool, target_bytes: int) -> list[str]:
    paragraphs: list[str] = []
    size = 0
    while size < target_bytes:
        sentences = [(_zh_sentence if chinese else _latin_sentence)(rng) for _ in range(rng.randint(2, 6))]
        paragraph = ("" if chinese else " ").join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 8
    return paragraphs


def _yaml_string(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar (YAML 1.2 is a superset of JSON).
    return json.dumps(value, ensure_ascii=False)


_PLAIN = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.+#&-]*$")


def _yaml_names(rng: random.Random, names: tuple[str, ...]) -> str:
    """Taxonomy names (after ``key:``) as the real site writes them: bare string, space-separated string or list."""
    plain = all(_PLAIN.match(n) for n in names)
    style = rng.random()
    if plain and len(names) == 1 and style < 0.6:
        return " " + names[0]
    if style < 0.85:
        return " [" + ", ".join(n if _PLAIN.match(n) else _yaml_string(n) for n in names) + "]"
    return "\n" + "\n".join(f"  - {_yaml_string(n)}" for n in names)


_START = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
_SPAN_SECONDS = int((dt.datetime(2025, 12, 31, tzinfo=dt.UTC) - _START).total_seconds())
_OFFSETS = (8, 8, 8, 8, 8, 8, 0, 9, -5)


def make_post(seed: int, index: int) -> GeneratedPost:
    """Generate post number ``index`` of the corpus for ``seed`` (independent of every other post)."""
    rng = random.Random(f"syndicate-bench:{seed}:{index}")
    offset = dt.timezone(dt.timedelta(hours=rng.choice(_OFFSETS)))
    moment = (_START + dt.timedelta(seconds=rng.randrange(_SPAN_SECONDS))).astimezone(offset)
    moment = moment.replace(second=0)
    chinese = rng.random() < 0.7
    republished = rng.random() < 0.9

    category_items = rng.sample(CATEGORIES, k=rng.choice((1, 1, 1, 2)))
    categories = tuple(name for name, _ in category_items)
    tags = tuple(rng.sample(TAGS, k=rng.randint(1, 4)))

    if chinese:
        title = _zh_sentence(rng).rstrip("。")[:30]
    else:
        title = _latin_sentence(rng).rstrip(".")[:80]
    title = f"{title} {index}"

    paragraphs = _paragraphs(rng, chinese, rng.randint(1000, 6000))
    body = "\n ".join(f"<p>{p}</p>" for p in paragraphs)

    if rng.random() < 0.5:
        date_text = moment.strftime("%Y-%m-%d %H:%M:%S %z")
    else:
        date_text = moment.isoformat()

    source: str | None = None
    original_url: str | None = None
    if republished:
        source = rng.choice(SOURCES)
        host = rng.choice(_ORIGINAL_HOSTS)
        original_url = f"http://{host}/html/{moment:%Y-%m}/{moment:%d}/content_{index}.htm"
        category_name, category_slug = category_items[0]
        body += (
            f'<p class="em_media">（文章来源：{source}）</p>\n\n<{original_url}>\n\n'
            f"[返回{category_name}](//{SITE_HOST}/category/{category_slug}.html)｜[返回首页](//{SITE_HOST}/)"
        )

    front = [
        "---",
        "layout: post",
        f"title: {_yaml_string(title)}",
        f"date: {date_text}",
        f"categories:{_yaml_names(rng, categories)}",
        f"tags:{_yaml_names(rng, tags)}",
        "---",
    ]
    text = "\n".join(front) + "\n" + body + "\n"
    relpath = f"{moment:%Y}/{moment:%Y-%m-%d}-post-{index:06d}.md"
    return GeneratedPost(index, relpath, text, title, categories, tags, moment, source, original_url)


def iter_posts(count: int, seed: int, start: int = 0) -> Iterator[GeneratedPost]:
    for index in range(start, start + count):
        yield make_post(seed, index)


def write_corpus(dest: Path, count: int, seed: int) -> CorpusInfo:
    """Write ``count`` posts under ``dest`` (created; existing generated files are overwritten)."""
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    categories: set[str] = set()
    tags: set[str] = set()
    made_dirs: set[Path] = set()
    for post in iter_posts(count, seed):
        path = dest / post.relpath
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        data = post.text.encode("utf-8")
        path.write_bytes(data)
        total += len(data)
        categories.update(post.categories)
        tags.update(post.tags)
    return CorpusInfo(count, seed, total, frozenset(categories), frozenset(tags))
