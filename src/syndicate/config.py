"""Settings: described once as data, loaded from TOML, overridden by ``SYNDICATE_*`` and flags.

Precedence, lowest first: built-in default < ``syndicate.toml`` < environment < command-line flag.
Every setting is listed in ``SETTINGS``; the CLI, validation and ``docs/configuration.md`` come from it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syndicate import __version__
from syndicate.permalinks import pattern_problem
from syndicate.site import JekyllSite, SiteError, read_site


class ConfigError(Exception):
    """A configuration that cannot be used; the message says which setting and why."""


# Numbers larger than anything a setting means: far below where int() or a timedelta would overflow, and the largest
# Cache-Control delta-seconds a cache must accept (RFC 9111 §1.2.2).
log = logging.getLogger("syndicate.config")
_MAX_INT = 2**31 - 1
MIN_ADMIN_TOKEN = 16  # characters; a shorter admin_token is a config error
# Settings that were replaced, and what replaced them: a config file that names one still loads (with a warning), as
# it did before.
_RETIRED = {"ttl": "RSS <ttl> now follows how often each feed changes: set poll_min and poll_max, in minutes"}
# A URI's characters (RFC 3986 §2): no space, quote, angle bracket, backslash, caret, backtick, brace, bar, non-ASCII.
_URI = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# s3://BUCKET[/PREFIX]: a bucket name as S3 allows it (3-63 of lower-case letters, digits, dots and hyphens), and a
# prefix of path segments without empty, '.' or '..' parts (a key under it must still name the same document).
S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>(?:[^/]+/)*[^/]+))?/?")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type  # str, Path (written as text), int, bool, float, list (of str) or dict (str -> str)
    # Numbers: the range accepted, both ends included. Text: whether it may be empty.
    low: float = 0
    high: float = _MAX_INT
    empty: bool = True
    # A list: the values it may hold (empty: any text). groups.FEED_KINDS names the feed kinds; a test holds the two
    # together (config cannot import groups, which imports it).
    choices: tuple[str, ...] = ()


SETTINGS: tuple[Setting, ...] = (
    Setting("title", "syndicate", "Site title, used as the title of the site-wide feed.", str, empty=False),
    Setting("description", "", "Site description (RSS channel description, feed subtitle).", str),
    Setting("url", "http://localhost:8000", "Public site URL; permalinks and relative links resolve against it.", str),
    Setting("feed_url", "", "Public base URL of the feeds (default: <url>/feeds).", str),
    Setting("author", "", "Default author when a post names none.", str),
    Setting("language", "zh-CN", "Language of the feeds (BCP 47 tag).", str),
    Setting("timezone", "UTC", "IANA time zone for dates written without an offset.", str),
    Setting(
        "permalink",
        "/:categories/:year/:month/:day/:title:output_ext",
        "Jekyll permalink style (date, pretty, ordinal, weekdate, none) or pattern; a pattern must name :title, :slug "
        "or :second.",
        str,
    ),
    Setting(
        "site",
        "",
        "A Jekyll site's root (relative to the config file): its _config.yml gives the defaults of title, "
        "description, url (with baseurl), author, language (lang), timezone, permalink, future and excerpt_only "
        "(feed.excerpt_only), and posts are read where Jekyll finds them. Empty: the posts directory alone.",
        str,
    ),
    Setting("posts", "_posts", "Directory of posts (relative to the config file).", Path),
    Setting("out", "feeds", "Output directory for built feeds (relative to the config file).", Path),
    Setting(
        "cache",
        "",
        "Parse cache (SQLite) path; default $XDG_CACHE_HOME/syndicate/<hash of out>.sqlite3; 'off' disables.",
        str,
    ),
    Setting(
        "max_post_bytes",
        10_000_000,
        "Largest post file read, in bytes: a larger file is rejected without being read (a body over 1,000,000 "
        "characters is published with its summary only).",
        int,
        low=1,
    ),
    Setting(
        "max_drop_share",
        0.5,
        "Largest share of the published posts one build may drop (deleted, rejected or unpublished) before it is "
        "refused and the last feeds kept: a posts directory that reappears empty must not delete every feed. Builds "
        "dropping fewer than 5 posts are never refused; `syndicate build --force` or `regenerate --force` overrides "
        "(1: no limit).",
        float,
        high=1,
    ),
    Setting("limit", 50, "Entries per feed document; older entries go to RFC 5005 archive pages.", int, low=1),
    Setting("future", False, "Include posts dated in the future.", bool),
    Setting("excerpt_only", False, "Feeds carry summaries only, no full content.", bool),
    Setting(
        "poll_min",
        15,
        "Shortest polling interval a feed advertises, minutes: RSS <ttl> and sy:updatePeriod/updateFrequency are the "
        "median gap between the feed's newest posts, at least this (see docs/serving.md, polite polling).",
        int,
        low=1,
    ),
    Setting(
        "poll_max",
        1440,
        "Longest polling interval a feed advertises, minutes; feeds with fewer than two posts and archive pages get "
        "it.",
        int,
        low=1,
    ),
    Setting("icon", "", "URL of the site's small square icon: Atom <icon>, JSON Feed favicon (empty: none).", str),
    Setting(
        "logo",
        "",
        "URL of the site's logo: Atom <logo>, RSS <image>, JSON Feed icon (empty: none; RSS and JSON Feed then use "
        "icon).",
        str,
    ),
    Setting(
        "attribution_patterns",
        # The keyword must stand as a word of its own, so an own post's image credit (图片来源：网络) or data
        # citation (数据来源：…, "Source: budget documents, pages 4-9") does not label it as republished:
        # - 文章来源 anywhere: the compound is itself the marker;
        # - 来源 not right after a letter, digit or ideograph (so not 图片/数据/资料/消息来源: 消息来源 is a
        #   reporter's informant, not a publication), or right after 稿件/新闻/本文/原文, which do name one;
        # - Source: at the start of a line or after an opening bracket (with at most two spaces or emphasis marks
        #   between), and the rest of that line or bracket is a name: at most 8 words, without digits, commas or
        #   semicolons, which a citation of data or pages has.
        # Each starts with its keyword and checks what precedes it with fixed-width look-behinds, so the regex
        # engine finds candidates with a fast literal search instead of trying every position of a long body.
        [
            r"文章来源[：:]\s*(?P<name>[^<>\n）)]+)",
            r"来源(?:(?<!\w来源)|(?<=(?<!\w)(?:稿件|新闻|本文|原文)来源))[：:]\s*(?P<name>[^<>\n）)]+)",
            r"Source(?:(?<![^\n(（\[【]Source)|(?<=(?<![^\n(（\[【])[ \t*_]Source)"
            r"|(?<=(?<![^\n(（\[【])[ \t*_]{2}Source))(?::[*_]{0,3}|[*_]{1,3}:)[^\S\n]*"
            r"(?P<name>(?:[^\s<>\d,，;；()（）&]|&#?\w+;|&(?!#?\w+;))+"
            r"(?:[^\S\n]+(?:[^\s<>\d,，;；()（）&]|&#?\w+;|&(?!#?\w+;))+){0,7})[^\S\n]*(?=[)）]|\n|\Z)",
        ],
        "Regular expressions finding the original publication's name in a body (group 'name'); the defaults accept "
        "文章来源：NAME, 来源：NAME as a word of its own (not 图片来源, 数据来源, …) and a line 'Source: NAME'.",
        list,
    ),
    Setting(
        "display_names",
        {},
        "Display names for categories/tags by name or slug, e.g. youjiangribao = '右江日报'.",
        dict,
    ),
    Setting(
        "feed_kinds",
        ["category", "tag", "source", "author"],
        "The kinds of feeds built besides the site-wide one: per category, per tag, per original publication "
        "(source) and per author; leave one out to build none of its feeds.",
        list,
        choices=("category", "tag", "source", "author"),
    ),
    Setting("host", "127.0.0.1", "Address the server binds.", str),
    Setting("port", 8000, "Port the server binds; 0 picks a free one.", int, high=65535),
    Setting(
        "max_age",
        300,
        "Longest Cache-Control max-age of a feed, seconds; a feed that changes more often gets a tenth of its polling "
        "interval.",
        int,
    ),
    Setting(
        "archive_max_age",
        86_400,
        "Cache-Control max-age for RFC 5005 archive pages, seconds: they change only when an old post is edited or "
        "removed, so caches (a CDN in front of a bucket) may keep them longer than feeds.",
        int,
    ),
    Setting(
        "rescan_minutes",
        15.0,
        "Interval of the scheduled full rescan, minutes (0 disables).",
        float,
        high=525_600,  # a year
    ),
    Setting(
        "debounce_ms",
        50,
        "Watcher debounce: a burst of file events within this many ms gives one rebuild.",
        int,
        high=60_000,  # a minute: longer is no longer watching
    ),
    Setting("watch", True, "Watch the posts directory for changes while serving.", bool),
    Setting(
        "build_share",
        0.3,
        "While changes keep arriving, the largest share of the server's CPU time rebuilds may take: a build that "
        "used t seconds and finds another waiting pauses t × (1 − share) / share first (more than 0; 1: no pause).",
        float,
        high=1,  # and more than 0, checked in load_settings
    ),
    Setting("hub", "", "WebSub hub URL to advertise and ping after rebuilds (empty: none).", str),
    Setting("query_limit", 100, "Largest ?limit= accepted by query feeds.", int, low=1),
    Setting("access_log", False, "Write an access log line per request.", bool),
    Setting(
        "admin_token",
        "",
        f"Bearer token for /admin routes (empty: admin disabled), at least {MIN_ADMIN_TOKEN} characters "
        "(e.g. `openssl rand -hex 32`). Prefer the env variable.",
        str,
    ),
    Setting("admin_rate", 10, "Regenerate requests allowed per client per minute (0: unlimited).", int),
    Setting(
        "admin_auth_failures",
        10,
        "Wrong admin tokens allowed per client address per minute; past them every admin request from that address "
        "gets 429 until its oldest failure is a minute old (0: unlimited).",
        int,
    ),
    Setting(
        "request_timeout",
        10.0,
        "Seconds a connection may wait for a complete request (a new or kept-alive connection, or one whose request "
        "is still arriving, however slowly) before it is closed.",
        float,
        low=0.1,
        high=3600,
    ),
    Setting(
        "send_timeout",
        60.0,
        "Seconds a client may read nothing of a response before its connection is dropped.",
        float,
        low=0.1,
        high=3600,
    ),
    Setting(
        "client_connections",
        64,
        "Open connections per client address (trusted proxies excepted); a client's next connection takes the place "
        "of its own oldest idle one (0: no limit).",
        int,
        high=1_000_000,
    ),
    Setting(
        "max_connections",
        1000,
        "Open connections in all; past it a new connection takes the place of the one idle longest, and is answered "
        "503 only when every connection is busy with a request (0: no limit).",
        int,
        high=1_000_000,
    ),
    Setting(
        "publish_to",
        "",
        "Object storage to publish the output to, as s3://BUCKET or s3://BUCKET/PREFIX: `syndicate publish` without "
        "--to uses it, and `serve` publishes after every build. Credentials and region come from the standard AWS "
        "environment variables and files. Empty: no publishing.",
        str,
    ),
    Setting(
        "publish_endpoint",
        "",
        "Endpoint URL of an S3-compatible service (e.g. http://127.0.0.1:8333 for SeaweedFS or MinIO); empty: AWS S3.",
        str,
    ),
    Setting(
        "publish_concurrency",
        16,
        "Uploads (and deletion batches) a publish runs at once.",
        int,
        low=1,
        high=256,
    ),
    Setting(
        "trusted_proxies",
        "",
        "Comma-separated addresses or networks (e.g. `127.0.0.1`) of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; the client is then the last address in X-Forwarded-For not among them. "
        "Empty: those headers are ignored, and the client is the connection's peer.",
        str,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _held(setting: Setting, value: Any) -> Any:
    """``value`` in the form ``Settings`` holds it: a list as a tuple (hashable, like the rest), a path as a Path."""
    if setting.kind is list:
        return tuple(value)
    if setting.kind is Path:
        return Path(value)
    return value


def _default(name: str) -> Any:
    """The ``Settings`` field for setting ``name``, defaulting to its value in ``SETTINGS``: defaults are written
    once, there (a second copy in the dataclass drifted: ``Settings()`` had no attribution patterns)."""
    setting = _BY_NAME[name]
    if setting.kind is dict:
        return field(default_factory=lambda: dict(setting.default))  # a dataclass refuses a shared mutable default
    return field(default=_held(setting, setting.default))


@dataclass(frozen=True)
class Settings:
    """Loaded settings (see ``load_settings``). Each default is the one ``SETTINGS`` gives, in the form held here."""

    title: str = _default("title")
    description: str = _default("description")
    url: str = _default("url")
    feed_url: str = _default("feed_url")
    author: str = _default("author")
    language: str = _default("language")
    timezone: str = _default("timezone")
    permalink: str = _default("permalink")
    site: str = _default("site")
    posts: Path = _default("posts")
    out: Path = _default("out")
    cache: str = _default("cache")
    max_post_bytes: int = _default("max_post_bytes")
    max_drop_share: float = _default("max_drop_share")
    limit: int = _default("limit")
    future: bool = _default("future")
    excerpt_only: bool = _default("excerpt_only")
    poll_min: int = _default("poll_min")
    poll_max: int = _default("poll_max")
    icon: str = _default("icon")
    logo: str = _default("logo")
    attribution_patterns: tuple[str, ...] = _default("attribution_patterns")
    display_names: Mapping[str, str] = _default("display_names")
    feed_kinds: tuple[str, ...] = _default("feed_kinds")
    host: str = _default("host")
    port: int = _default("port")
    max_age: int = _default("max_age")
    archive_max_age: int = _default("archive_max_age")
    rescan_minutes: float = _default("rescan_minutes")
    debounce_ms: int = _default("debounce_ms")
    watch: bool = _default("watch")
    build_share: float = _default("build_share")
    hub: str = _default("hub")
    query_limit: int = _default("query_limit")
    access_log: bool = _default("access_log")
    admin_token: str = _default("admin_token")
    admin_rate: int = _default("admin_rate")
    admin_auth_failures: int = _default("admin_auth_failures")
    request_timeout: float = _default("request_timeout")
    send_timeout: float = _default("send_timeout")
    client_connections: int = _default("client_connections")
    max_connections: int = _default("max_connections")
    publish_to: str = _default("publish_to")
    publish_endpoint: str = _default("publish_endpoint")
    publish_concurrency: int = _default("publish_concurrency")
    trusted_proxies: str = _default("trusted_proxies")
    # The Jekyll site read from ``site`` (site.py), or None: not a setting of its own, but what ``site`` names.
    jekyll: JekyllSite | None = None

    @property
    def site_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def feeds_url(self) -> str:
        return (self.feed_url or self.site_url + "/feeds").rstrip("/")

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def cache_path(self) -> Path | None:
        if self.cache == "off":
            return None
        if self.cache:
            return Path(self.cache)
        # Outside the output directory on purpose: that directory may be served as it is (nginx), and the cache is
        # not for the public.
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "syndicate"
        key = hashlib.blake2b(str(self.out.resolve()).encode(), digest_size=8).hexdigest()
        return base / f"{self.out.name or 'feeds'}-{key}.sqlite3"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# Characters XML 1.0 does not allow (§2.2 Char): C0 controls other than tab and line ends, surrogates (an
# environment variable that is not UTF-8 gives them) and U+FFFE/U+FFFF. Feeds and pages cannot carry them (lxml
# refuses them), and no path, pattern or token needs them: every text setting is refused with one, at load time.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _check_text(where: str, text: str) -> str:
    bad = _NOT_XML.search(text)
    if bad is not None:
        raise ConfigError(
            f"{where}: contains U+{ord(bad.group()):04X}, a character that XML (so a feed) cannot carry; remove it"
        )
    return text


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    kind = setting.kind
    where = f"setting '{setting.name}' (from {origin})"
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind in (int, float):
        return _number(setting, value, where)
    if kind is list:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            unknown = [v for v in value if setting.choices and v not in setting.choices]
            if unknown:
                raise ConfigError(f"{where}: unknown {unknown[0]!r}; the choices are {', '.join(setting.choices)}")
            return tuple(_check_text(where, v) for v in value)
        raise ConfigError(f"{where}: expected a list of strings")
    if kind is dict:
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return {_check_text(where, k): _check_text(f"{where}, name '{k}'", v) for k, v in value.items()}
        raise ConfigError(f"{where}: expected a table of names to display names")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    if not setting.empty and not value.strip():
        raise ConfigError(f"{where}: must not be empty")
    return _check_text(where, value)


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int of more digits than Python converts
        return "a number too large"
    return text if len(text) <= 40 else text[:40] + "…"


def _number(setting: Setting, value: Any, where: str) -> int | float:
    """``value`` as the setting's kind of number, within its range; TOML gives numbers, the environment text."""
    whole = setting.kind is int
    shown = _shown(value)
    expected = f"{where}: expected {'a whole' if whole else 'a'} number, got {shown}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(expected)
    try:
        number: int | float = int(value) if whole and not isinstance(value, float) else float(value)
    except ValueError:
        raise ConfigError(expected) from None
    except OverflowError:  # an int beyond any float: out of range below
        number = math.inf if isinstance(value, int) and value > 0 else -math.inf
    if isinstance(number, float) and (math.isnan(number) or (whole and math.isfinite(number) and number % 1)):
        raise ConfigError(expected)  # int(2.5) would quietly be 2
    if number < setting.low:
        low = int(setting.low) if whole else setting.low
        raise ConfigError(f"{where}: must " + (f"be at least {low}" if low else "not be negative") + f", got {shown}")
    if number > setting.high:
        high = int(setting.high) if whole else setting.high
        raise ConfigError(f"{where}: must be at most {high}, got {shown}")
    return int(number) if whole else number


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load settings from defaults, an optional TOML file, ``SYNDICATE_*`` variables and overrides.

    ``posts``, ``out`` and ``cache`` given in the file are relative to the file's directory; given as
    overrides or environment variables they are relative to the working directory.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    given: set[str] = set()  # settings given by the file, the environment or the command line (over a site's)
    base = Path.cwd()
    if config_file is not None:
        try:
            raw = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
        base = config_file.resolve().parent
        for key, value in raw.items():
            if key in _RETIRED:
                log.warning("config file %s: setting '%s' is no longer used (%s)", config_file, key, _RETIRED[key])
                continue
            if key not in _BY_NAME:
                raise ConfigError(f"config file {config_file}: unknown setting '{key}'")
            values[key] = _coerce(_BY_NAME[key], value, str(config_file))
            given.add(key)
            if key in ("posts", "out", "site") or (key == "cache" and value not in ("", "off")):
                values[key] = str(base / value) if not Path(value).is_absolute() else value
    for s in SETTINGS:
        env_name = "SYNDICATE_" + s.name.upper()
        if env_name in environ and s.kind not in (list, dict):
            values[s.name] = _coerce(s, environ[env_name], env_name)
            given.add(s.name)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in _BY_NAME:
            raise ConfigError(f"unknown setting '{key}'")
        values[key] = _coerce(_BY_NAME[key], str(value) if isinstance(value, Path) else value, "command line")
        given.add(key)
    jekyll = None
    if values["site"]:
        try:
            jekyll = read_site(Path(values["site"]))
        except SiteError as exc:
            raise ConfigError(f"setting 'site': {exc}") from None
        for key, value in site_settings(jekyll).items():
            if key not in given:
                values[key] = _coerce(_BY_NAME[key], value, f"{jekyll.root / '_config.yml'}")
    values = {s.name: _held(s, values[s.name]) for s in SETTINGS}
    try:
        zoneinfo.ZoneInfo(values["timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"setting 'timezone': unknown time zone {values['timezone']!r}") from None
    if not 0 < values["build_share"] <= 1:
        raise ConfigError("setting 'build_share': must be more than 0 and at most 1")
    problem = pattern_problem(values["permalink"])
    if problem is not None:
        raise ConfigError(f"setting 'permalink': {problem}")
    if 0 < len(values["admin_token"]) < MIN_ADMIN_TOKEN:
        # The guess throttle slows guessing; only length makes it hopeless.
        raise ConfigError(
            f"setting 'admin_token': must be at least {MIN_ADMIN_TOKEN} characters (or empty: admin off), "
            f"got {len(values['admin_token'])}"
        )
    for proxy in trusted_proxy_list(values["trusted_proxies"]):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(f"setting 'trusted_proxies': {proxy!r} is not an IP address or network") from None
    if values["publish_to"]:
        s3_target(values["publish_to"], "setting 'publish_to'")
    for name in ("url", "feed_url", "hub", "icon", "logo", "publish_endpoint"):
        v = values[name]
        if v and not v.startswith(("http://", "https://")):
            raise ConfigError(f"setting '{name}': expected an http(s) URL, got {v!r}")
    for name in ("hub", "icon", "logo"):
        # Written into feeds as links (Atom icon and logo are IRIs, RSS image url a URL) and into a Link header:
        # what is not a plain URI there is an invalid feed or header.
        if not _URI.fullmatch(values[name] or "http://x"):
            raise ConfigError(
                f"setting '{name}': {values[name]!r} is not a URI (percent-encode spaces, quotes, angle brackets and "
                "non-ASCII characters)"
            )
    if values["poll_min"] > values["poll_max"]:
        raise ConfigError(
            f"setting 'poll_min': {values['poll_min']} is more than poll_max ({values['poll_max']}); the shortest "
            "polling interval cannot be longer than the longest"
        )
    return Settings(**values, jekyll=jekyll)


# Where a Jekyll site's output of ours goes unless ``out`` is given: inside the site, in a directory Jekyll leaves
# alone (a name starting with '_' is neither read nor copied to _site) and our scan skips.
SITE_OUT = "_syndicate"


def site_settings(site: JekyllSite) -> dict[str, Any]:
    """The settings a Jekyll site's ``_config.yml`` gives (what it does not give keeps our default). Settings
    given to syndicate itself (its file, environment or command line) win over these."""
    found: dict[str, Any] = {"posts": str(site.root), "out": str(site.root / SITE_OUT)}
    if site.title:
        found["title"] = site.title
    for ours, theirs in (("description", "description"), ("timezone", "timezone")):
        if site.text(theirs):
            found[ours] = site.text(theirs)
    found["language"] = site.text("lang")  # none: the feeds say none, as jekyll-feed's do
    if site.url:
        found["url"] = site.url + site.baseurl
    author = site.config.get("author")
    if isinstance(author, Mapping):
        author = author.get("name")
    if isinstance(author, str) and author.strip():
        found["author"] = author.strip()
    found["permalink"] = site.post_permalink
    found["future"] = site.flag("future")
    if site.feed.get("excerpt_only") is True:
        found["excerpt_only"] = True
    return found


def s3_target(url: str, where: str = "--to") -> tuple[str, str]:
    """The bucket and key prefix ('' or ending in '/') of ``s3://BUCKET[/PREFIX]``; ConfigError naming ``where``."""
    match = S3_URL.fullmatch(url)
    prefix = (match["prefix"] or "") if match else ""
    if match is None or any(part in (".", "..") for part in prefix.split("/")):
        raise ConfigError(f"{where}: expected s3://BUCKET or s3://BUCKET/PREFIX, got {url!r}")
    return match["bucket"], prefix + "/" if prefix else ""


def trusted_proxy_list(value: str) -> list[str]:
    """The addresses and networks of ``trusted_proxies``, in the form uvicorn's ``forwarded_allow_ips`` takes."""
    return [part.strip() for part in value.split(",") if part.strip()]


def settings_fingerprint(settings: Settings) -> str:
    """Hash of every setting that shapes parsed posts or rendered documents (not host, port, …)."""
    shaping = {
        k: getattr(settings, k)
        for k in (
            "title",
            "description",
            "url",
            "feed_url",
            "author",
            "language",
            "timezone",
            "permalink",
            "max_post_bytes",
            "limit",
            "excerpt_only",
            "poll_min",
            "poll_max",
            "icon",
            "logo",
            "attribution_patterns",
            "hub",
            "feed_kinds",
        )
    }
    shaping["display_names"] = sorted(settings.display_names.items())
    site = settings.jekyll
    if site is not None:  # the site's configuration and data shape its posts (defaults, Liquid's site.*)
        shaping["site"] = [str(site.root), site.config, site.data]
    shaping["version"] = __version__
    # Bumped when what the cache holds changes meaning without a release (2: digests are SHA-256, were BLAKE2b; 3:
    # posts dated outside the years 1-9999 in UTC are rejected, permalinks slugify :title and :slug as Jekyll does,
    # numeric terms and UTF-16/32 files are read, trailing navigation and attribution markers are matched more
    # narrowly; 4: plain-text fields lose bidi controls, DEL and C1 controls; 5: a Jekyll site's posts carry ids and
    # images; 6: and jekyll-feed's per-post excerpt_only; 7: and their collection; 8: posts hold their authors, and a
    # publication's name keeps the period of an abbreviation; 9: a Jekyll site's posts hold their lang and their
    # author's email and URI; 10: builds write the pages for people, feedpages.py and pages.py, which an unchanged
    # site's record must not vouch for), so an older cache is emptied rather than mixed with the new.
    shaping["cache_format"] = 10
    return hashlib.blake2b(json.dumps(shaping, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()
