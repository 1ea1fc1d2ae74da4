"""A Jekyll site: its ``_config.yml`` read as Jekyll reads it, its front matter defaults, its data, and which of its
files are posts.

``syndicate --site DIR`` reads a site's root the way ``jekyll build`` does (Jekyll 4.3: ``configuration.rb``,
``reader.rb``, ``readers/post_reader.rb``, ``entry_filter.rb``, ``frontmatter_defaults.rb``), so that a site owner
needs no settings of ours: the URL, title, time zone and permalinks come from the site, and posts are found where
Jekyll finds them (``_posts/`` and ``<dir>/_posts/`` at any depth, ``_drafts/`` with ``show_drafts``).

Everything here is a plain value read once at start; a changed ``_config.yml`` takes a restart, as with
``jekyll serve``.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import glob
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syndicate.permalinks import STYLES

CONFIG_FILE = "_config.yml"
# Jekyll's defaults for the keys read here (Configuration::DEFAULTS).
JEKYLL_DEFAULTS: Mapping[str, Any] = {
    "collections_dir": "",
    "data_dir": "_data",
    "includes_dir": "_includes",
    "safe": False,
    "include": [".htaccess"],
    "exclude": [],
    "markdown_ext": "markdown,mkdown,mkdn,mkd,md",
    "show_drafts": None,
    "future": False,
    "unpublished": False,
    "excerpt_separator": "\n\n",
    "baseurl": None,
    "permalink": "date",
    "timezone": None,
    "defaults": [],
    "kramdown": {
        "auto_ids": True,
        "toc_levels": [1, 2, 3, 4, 5, 6],
        "entity_output": "as_char",
        "smart_quotes": "lsquo,rsquo,ldquo,rdquo",
        "input": "GFM",
        "hard_wrap": False,
        "guess_lang": True,
        "footnote_nr": 1,
        "show_warnings": False,
    },
}
# What Jekyll always leaves out (Configuration::DEFAULT_EXCLUDES), plus its own output and cache.
DEFAULT_EXCLUDES = (
    ".sass-cache",
    ".jekyll-cache",
    "gemfiles",
    "Gemfile",
    "Gemfile.lock",
    "node_modules",
    "vendor/bundle/",
    "vendor/cache/",
    "vendor/gems/",
    "vendor/ruby/",
)
# Jekyll's file name patterns for posts (with a date) and drafts (Document::DATE_FILENAME_MATCHER and
# DATELESS_FILENAME_MATCHER), on the path below ``_posts``/``_drafts``.
POST_NAME = re.compile(r"^(?:.+/)*?(\d{2,4}-\d{1,2}-\d{1,2})-([^/]*)(\.[^./]+)$")
DRAFT_NAME = re.compile(r"^(?:.+/)*(.*)(\.[^./]+)$")
_SPECIAL = (".", "_", "#", "~")


class SiteError(Exception):
    """A site that cannot be read (its ``_config.yml`` is not YAML, say); the message says which file and why."""


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Jekyll's Utils.deep_merge_hashes: mappings merge key by key, anything else in ``over`` wins."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class DefaultSet:
    """One entry of ``defaults:``: the values a post gets when its path and type are in the scope."""

    path: str  # "" for every path; may hold a glob
    type: str | None  # "posts", "drafts", a collection's label; None for every type
    values: Mapping[str, Any]


@dataclass(frozen=True)
class FeedCollection:
    """A collection jekyll-feed writes feeds of: its label, the document's path (None: ``/feed/<label>.xml``, or
    ``/feed.xml`` for posts) and the categories that get a feed of their own."""

    label: str
    path: str | None
    categories: tuple[str, ...]


@dataclass(frozen=True)
class JekyllSite:
    """A Jekyll site's root and its configuration as Jekyll merges it (see ``read_site``)."""

    root: Path
    config: Mapping[str, Any]  # _config.yml over Jekyll's defaults
    data: Mapping[str, Any] = field(default_factory=dict)  # site.data: the files of _data/
    defaults: tuple[DefaultSet, ...] = ()
    globbed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # a default's glob -> paths it matched
    # Jekyll.env: JEKYLL_ENV as syndicate started, "production" when unset (a server's default; Jekyll's own is
    # "development", which is what its `jekyll serve` on a laptop runs in).
    environment: str = "production"
    # post_kind's answers by directory (None: no posts there); not part of the site's value.
    _directories: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    # --- values of _config.yml, as Jekyll reads them ---------------------------------------------------------------

    def text(self, key: str) -> str:
        """A text value of the configuration ("" when absent or not text): Liquid's ``{{ site.<key> }}``."""
        value = self.config.get(key)
        return str(value) if isinstance(value, str | int | float) and not isinstance(value, bool) else ""

    @property
    def url(self) -> str:
        return self.text("url").rstrip("/")

    @property
    def baseurl(self) -> str:
        base = self.text("baseurl").strip("/")
        return "/" + base if base else ""

    @property
    def title(self) -> str:
        return self.text("title") or self.text("name")  # jekyll-feed falls back to site.name

    @property
    def timezone(self) -> str:
        return self.text("timezone")

    @property
    def post_permalink(self) -> str:
        """The posts' permalink pattern: ``collections.posts.permalink``, else the site's ``permalink``, styles
        expanded (Configuration#add_default_collections)."""
        posts = self.collections.get("posts")
        if isinstance(posts, Mapping) and isinstance(posts.get("permalink"), str) and posts["permalink"]:
            return _style(posts["permalink"])
        return _style(self.text("permalink") or "date")

    @property
    def collections(self) -> Mapping[str, Any]:
        found = self.config.get("collections")
        if isinstance(found, list):  # `collections: [recipes]` is a list of labels
            return {str(name): {} for name in found}
        return found if isinstance(found, Mapping) else {}

    def flag(self, key: str) -> bool:
        return self.config.get(key) is True

    @property
    def excerpt_separator(self) -> str:
        value = self.config.get("excerpt_separator")
        return value if isinstance(value, str) else "\n\n"

    @property
    def feed(self) -> Mapping[str, Any]:
        """jekyll-feed's ``feed:`` settings."""
        value = self.config.get("feed")
        return value if isinstance(value, Mapping) else {}

    @property
    def feeds_disabled(self) -> bool:
        """jekyll-feed's ``feed.disable_in_development`` in the development environment: it writes no documents."""
        value = self.feed.get("disable_in_development")
        return value is not None and value is not False and self.environment == "development"

    @property
    def kramdown(self) -> Mapping[str, Any]:
        value = self.config.get("kramdown")
        return value if isinstance(value, Mapping) else {}

    # --- which files are posts -------------------------------------------------------------------------------------

    def _patterns(self, key: str) -> list[str]:
        value = self.config.get(key)
        return [str(v) for v in value] if isinstance(value, list) else []

    @functools.cached_property
    def _include(self) -> re.Pattern[str]:
        return _glob_matcher(self._patterns("include"))

    @functools.cached_property
    def _exclude(self) -> re.Pattern[str]:
        included = set(self._patterns("include"))
        return _glob_matcher([p for p in self._patterns("exclude") if p not in included])

    def is_included(self, rel: str) -> bool:
        name = rel.rpartition("/")[2]
        return bool(self._include.match(rel) or self._include.match(name))

    def is_excluded(self, rel: str) -> bool:
        """Whether Jekyll's EntryFilter leaves ``rel`` (a path relative to the root) out: excluded and not
        included."""
        return bool(self._exclude.match(rel)) and not self.is_included(rel)

    def is_skipped_entry(self, rel: str) -> bool:
        """Whether Jekyll skips the directory entry ``rel`` while walking the site: excluded, or hidden/special
        (``.``, ``_``, ``#``, ``~``, a trailing ``~``) and not included."""
        name = rel.rpartition("/")[2]
        if name.endswith(".") or self.is_excluded(rel):
            return True
        if self.is_included(rel):
            return False
        return name.startswith(_SPECIAL) or name.endswith("~")

    def post_kind(self, rel: str) -> str | None:
        """ "posts" or "drafts" for a path (relative to the root) inside a ``_posts`` or ``_drafts`` directory that
        Jekyll reads (drafts only with ``show_drafts``); a collection's label for a file of a collection whose
        documents are read (``document_collections``); else None. The name itself is not checked here."""
        parts = rel.split("/")
        label = self._collection_of(parts)
        if label is not None:
            return label or None
        directory = rel.rpartition("/")[0]
        # Asked for every post, several times a build (scan, parse, render): the directory's answer is kept.
        kind = self._directories.get(directory, "")
        if kind == "":
            kind = self._directories[directory] = self._posts_directory(parts[:-1])
        if kind is None or self.is_skipped_entry(rel) or parts[-1].startswith(_SPECIAL):
            return None  # get_entries filters every entry below the magic directory the same way
        return kind

    def _posts_directory(self, parts: list[str]) -> str | None:
        """What ``post_kind`` says of the files in the directory ``parts`` (their names aside)."""
        for at, part in enumerate(parts):
            if part == "_posts" or (part == "_drafts" and self.flag("show_drafts")):
                above = parts[:at]
                collections_dir = self.text("collections_dir").strip("/")
                if collections_dir and "/".join(above[:1]) != collections_dir:
                    return None
                walked = ["/".join(parts[: n + 1]) for n in range(at)]
                if any(self.is_skipped_entry(w) for w in walked):
                    return None
                inside = ["/".join(parts[: n + 1]) for n in range(at + 1, len(parts))]
                if any(self.is_skipped_entry(w) or w.rpartition("/")[2].startswith(_SPECIAL) for w in inside):
                    return None  # get_entries filters every entry below the magic directory the same way
                return "posts" if part == "_posts" else "drafts"
        return None

    def _collection_of(self, parts: list[str]) -> str | None:
        """The label of the read collection whose directory holds the path ``parts`` ("" when the collection's
        Collection#filtered_entries leaves it out); None for a path outside every read collection."""
        if not self.document_collections:
            return None
        collections_dir = self.text("collections_dir").strip("/")
        skip = len(collections_dir.split("/")) if collections_dir else 0
        if len(parts) < skip + 2 or (skip and "/".join(parts[:skip]) != collections_dir):
            return None
        directory = parts[skip]
        label = directory[1:]
        if not directory.startswith("_") or label not in self.document_collections:
            return None
        # EntryFilter#filter on the path below the collection's directory: excluded (by its path from the source,
        # the collection's directory first) unless included; else special or a backup, by that path or its name.
        entry = "/".join(parts[skip + 1 :])
        name = parts[-1]
        if entry.endswith("."):
            return ""
        included = self.is_included(entry)
        if self._exclude.match(f"{directory}/{entry}") and not included:
            return ""
        if not included and (entry.startswith(_SPECIAL) or name.startswith(_SPECIAL) or entry.endswith("~")):
            return ""
        return label

    @functools.cached_property
    def feed_collections(self) -> Mapping[str, FeedCollection]:
        """jekyll-feed's ``feed.collections`` (a list of labels, or labels mapped to ``path`` and ``categories``),
        normalized as its Generator#collections does: ``posts`` always, its path and categories from
        ``feed.path`` and ``feed.categories`` where the collection's own are not given."""
        config = self.feed
        listed = config.get("collections")
        found: dict[str, Mapping[str, Any]] = {}
        if isinstance(listed, list):
            found = {str(label): {} for label in listed}
        elif isinstance(listed, Mapping):
            found = {str(label): meta if isinstance(meta, Mapping) else {} for label, meta in listed.items()}
        found.setdefault("posts", {})
        collections = {}
        for label, meta in found.items():
            path, categories = meta.get("path"), meta.get("categories")
            if label == "posts":
                path = path or config.get("path")
                categories = categories or config.get("categories")
            collections[label] = FeedCollection(
                label,
                path if isinstance(path, str) and path.strip("/") else None,
                tuple(dict.fromkeys(_names(categories))),
            )
        return collections

    @functools.cached_property
    def document_collections(self) -> frozenset[str]:
        """The collections other than posts whose documents are read: those jekyll-feed lists that the site has."""
        return frozenset(label for label in self.feed_collections if label != "posts" and label in self.collections)

    def collection_permalink(self, label: str) -> str:
        """A collection's URL pattern: its ``permalink``, else ``/:collection/:path`` with the suffix the site's
        permalink style gives (Collection#url_template, Utils.add_permalink_suffix)."""
        meta = self.collections.get(label)
        if isinstance(meta, Mapping) and isinstance(meta.get("permalink"), str) and meta["permalink"]:
            return str(meta["permalink"])
        style = self.text("permalink")
        if style == "pretty" or (style not in STYLES and style.endswith("/")):
            return "/:collection/:path/"
        if style in ("date", "ordinal", "none") or (style not in STYLES and style.endswith(":output_ext")):
            return "/:collection/:path:output_ext"
        return "/:collection/:path"

    def document_source(self, rel: str, kind: str) -> tuple[str, str, str]:
        """What a document's URL placeholders take from its file (UrlDrop): its collection's label (``posts`` for a
        draft), its path below the collection's directory without suffix (Document#cleaned_relative_path) and its
        file name without suffix."""
        collections_dir = self.text("collections_dir").strip("/")
        relative = rel[len(collections_dir) + 1 :] if collections_dir and rel.startswith(collections_dir + "/") else rel
        name = relative.rpartition("/")[2]
        dot = name.rfind(".")
        stem = name[:dot] if dot > 0 else name
        label = "posts" if kind in ("posts", "drafts") else kind
        cleaned = (relative[: len(relative) - len(name) + len(stem)]).replace(f"_{label}", "", 1).rstrip(".")
        return label, cleaned, stem

    def categories_from_path(self, rel: str) -> tuple[str, ...]:
        """The directories above ``_posts``/``_drafts`` (``es/_posts/x.md`` is in category ``es``), as Jekyll's
        Document#categories_from_path adds them."""
        parts = rel.split("/")
        for at, part in enumerate(parts[:-1]):
            if part in ("_posts", "_drafts"):
                return tuple(p for p in parts[:at] if p)
        return ()

    # --- front matter defaults -------------------------------------------------------------------------------------

    def defaults_for(self, rel: str, kind: str) -> dict[str, Any]:
        """The front matter defaults for the file ``rel`` of type ``kind`` (FrontmatterDefaults#all)."""
        merged: dict[str, Any] = {}
        old: DefaultSet | None = None
        for entry in self.defaults:
            if not self._applies(entry, rel, kind):
                continue
            if old is None or _has_precedence(old, entry):
                merged = _deep_merge(merged, entry.values)
                old = entry
            else:
                merged = _deep_merge(entry.values, merged)
        return merged

    def _applies(self, entry: DefaultSet, rel: str, kind: str) -> bool:
        if entry.type is not None and entry.type != kind:
            return False
        scope = _sanitize(entry.path)
        if not scope:
            return True
        if "*" in scope:
            return any(rel.startswith(found) for found in self.globbed.get(entry.path, ()))
        return rel.startswith(self._strip_collections_dir(scope))

    def _strip_collections_dir(self, path: str) -> str:
        collections_dir = self.text("collections_dir")
        prefix = collections_dir + "/"
        return path[len(prefix) :] if collections_dir and path.startswith(prefix) else path


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list | tuple | set) else []


def _style(permalink: str) -> str:
    return STYLES.get(permalink, permalink)


def _sanitize(path: str) -> str:
    """FrontmatterDefaults#sanitize_path: a leading '/' and a trailing one (after a non-slash) dropped."""
    if path.startswith("/"):
        path = path[1:]
        if path.endswith("/") and len(path) > 1:
            path = path[:-1]
    return path


def _has_precedence(old: DefaultSet, new: DefaultSet) -> bool:
    """FrontmatterDefaults#has_precedence?: a longer path wins; at equal length a set with a type does."""
    new_path, old_path = _sanitize(new.path), _sanitize(old.path)
    if len(new_path) != len(old_path):
        return len(new_path) >= len(old_path)
    return new.type is not None or old.type is None


def _glob_matcher(patterns: Sequence[str]) -> re.Pattern[str]:
    """One regex for EntryFilter#glob_include? over ``patterns``: a path matches a pattern as a glob (Ruby's
    File.fnmatch without FNM_PATHNAME: ``*`` crosses '/'), as a prefix, or as the directory the pattern names with a
    trailing '/'. One match per path: a warm start checks every post file."""
    alternatives = []
    for pattern in patterns:
        pattern = pattern.lstrip("/")
        if not pattern:
            continue
        alternatives.append(fnmatch.translate(pattern))
        alternatives.append(re.escape(pattern))  # a prefix (match() anchors only the start)
        if pattern.endswith("/"):
            alternatives.append(re.escape(pattern[:-1]) + r"\Z")
    return re.compile("|".join(f"(?:{a})" for a in alternatives) if alternatives else r"(?!)")


def _yaml_file(path: Path) -> Any:
    import yaml  # only a Jekyll site reads YAML here: a command for a posts directory does not load it

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SiteError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SiteError(f"{path} is not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SiteError(f"{path} is not valid YAML{where}: {problem}") from None


def read_site(root: Path, environment: str | None = None) -> JekyllSite:
    """Read the site at ``root``: ``_config.yml`` (a missing file is an empty one, as for Jekyll) over Jekyll's
    defaults, the ``defaults:`` sets, and ``_data/``; ``environment`` is Jekyll's (None: ``JEKYLL_ENV``, else
    production). Raises SiteError for a root that is not a directory or a configuration that is not YAML."""
    if not root.is_dir():
        raise SiteError(f"site directory {root} is not a directory")
    config_path = root / CONFIG_FILE
    loaded = _yaml_file(config_path) if config_path.is_file() else None
    if loaded is not None and not isinstance(loaded, Mapping):
        raise SiteError(f"{config_path} must be a mapping of names to values, not a {type(loaded).__name__}")
    config = _deep_merge(JEKYLL_DEFAULTS, {str(k): v for k, v in (loaded or {}).items()})
    if isinstance(config.get("exclude"), list):
        config["exclude"] = list(dict.fromkeys([*map(str, config["exclude"]), *DEFAULT_EXCLUDES]))
    defaults = tuple(_default_sets(config.get("defaults")))
    globbed = {entry.path: _glob_scope(root, entry.path, config) for entry in defaults if "*" in entry.path}
    data_dir = root / str(config.get("data_dir") or "_data")
    data = read_data(data_dir) if data_dir.is_dir() else {}
    if environment is None:
        environment = os.environ.get("JEKYLL_ENV") or "production"
    return JekyllSite(root=root, config=config, data=data, defaults=defaults, globbed=globbed, environment=environment)


def _default_sets(value: object) -> Iterator[DefaultSet]:
    if not isinstance(value, list):
        return
    deprecated = {"page": "pages", "post": "posts", "draft": "drafts"}
    for entry in value:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("values"), Mapping):
            continue  # Jekyll warns and ignores an invalid set
        scope = entry.get("scope")
        scope = scope if isinstance(scope, Mapping) else {}
        path = scope.get("path")
        kind = scope.get("type")
        yield DefaultSet(
            path=path if isinstance(path, str) else "",
            type=deprecated.get(str(kind), str(kind)) if kind is not None else None,
            values=dict(entry["values"]),
        )


def _glob_scope(root: Path, pattern: str, config: Mapping[str, Any]) -> tuple[str, ...]:
    """The paths (relative to the root) a default's glob matches, as FrontmatterDefaults#glob_scope finds them."""
    base = os.fspath(root)
    found = glob.glob(os.path.join(glob.escape(base), _sanitize(pattern)), recursive=True)
    collections_dir = str(config.get("collections_dir") or "")
    paths = []
    for match in sorted(found):
        rel = os.path.relpath(match, base).replace(os.sep, "/")
        if collections_dir and rel.startswith(collections_dir + "/"):
            rel = rel[len(collections_dir) + 1 :]
        paths.append(rel)
    return tuple(paths)


_DATA_SUFFIXES = (".yml", ".yaml", ".json", ".csv", ".tsv")


def read_data(directory: Path, depth: int = 0) -> dict[str, Any]:
    """``site.data``: each YAML, JSON, CSV or TSV file of ``_data/`` under its name without suffix, each
    subdirectory as a nested mapping (DataReader). A file that cannot be read is left out."""
    data: dict[str, Any] = {}
    if depth > 8:
        return data
    try:
        entries = sorted(directory.iterdir())
    except OSError:
        return data
    for entry in entries:
        if entry.name.startswith(_SPECIAL) or entry.is_symlink():
            continue
        if entry.is_dir():
            data[entry.name] = read_data(entry, depth + 1)
            continue
        suffix = entry.suffix.lower()
        if suffix not in _DATA_SUFFIXES:
            continue
        try:
            data[entry.stem] = _data_file(entry, suffix)
        except (SiteError, OSError, ValueError, csv.Error):
            continue
    return data


def _data_file(path: Path, suffix: str) -> Any:
    if suffix in (".yml", ".yaml"):
        return _yaml_file(path)
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".json":
        return json.loads(text)
    rows = csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
    return [dict(row) for row in rows]


def markdown_extensions(site: JekyllSite) -> Sequence[str]:
    """The suffixes (with the dot, lower case) Jekyll renders as Markdown (``markdown_ext``)."""
    value = site.config.get("markdown_ext")
    names = str(value).split(",") if isinstance(value, str) else ["markdown", "mkdown", "mkdn", "mkd", "md"]
    return tuple("." + name.strip().lower() for name in names if name.strip())
