"""Jekyll's Liquid filters for python-liquid (lib/jekyll/filters.rb and filters/*.rb of Jekyll 4.3).

Liquid's standard filters come with python-liquid; those Jekyll redefines (``where``, ``sort``, ``find``) are
Jekyll's here. Values are Python's: mappings and lists from YAML, datetimes for times. ``sample`` is deterministic
(the first item, or the first N): feeds must not change between two builds of the same posts.
"""

from __future__ import annotations

import functools
import html
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote_plus

import smartypants
from liquid.builtin.expressions import BooleanExpression, FilteredExpression, tokenize
from liquid.builtin.filters.misc import date as liquid_date
from liquid.exceptions import FilterArgumentError
from liquid.filter import with_context, with_environment
from liquid.stream import TokenStream
from liquid.stringify import to_liquid_string
from liquid.token import TOKEN_EXPRESSION, Token
from liquid.undefined import Undefined

from syndicate import _liquid_urls
from syndicate.dates import DateError, parse_date
from syndicate.permalinks import jekyll_slug

if TYPE_CHECKING:
    from liquid import Environment
    from liquid.context import RenderContext

    from syndicate._liquid_env import JekyllEnvironment


def register(env: Environment) -> None:
    for name, func in _FILTERS.items():
        env.add_filter(name, func)


def _site(environment: Environment) -> Any:
    return cast("JekyllEnvironment", environment).site


def _plain(value: object) -> object:
    """An undefined variable as Ruby's nil."""
    return None if isinstance(value, Undefined) else value


def _text(value: object) -> str:
    """``value.to_s`` as Ruby writes it: nil empty, true/false lower case, times as ``Time#to_s``."""
    value = _plain(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %z" if value.tzinfo is not None else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return to_liquid_string(value, autoescape=False)


# URLs


@with_environment
def relative_url(value: object, *, environment: Environment) -> object:
    value = _plain(value)
    return None if value is None else _liquid_urls.relative_url(_text(value), _site(environment).baseurl)


@with_environment
def absolute_url(value: object, *, environment: Environment) -> object:
    value = _plain(value)
    site = _site(environment)
    return None if value is None else _liquid_urls.absolute_url(_text(value), site.baseurl, site.url)


def strip_index(value: object) -> object:
    value = _plain(value)
    if value is None or value == "":
        return value
    return re.sub(r"/index\.html?$", "/", _text(value))


# Dates: Jekyll turns the input into a Time in the build's zone; a datetime here is shown in its own offset (the
# caller gives post dates in the site's zone), and text without an offset is read in the site's zone.

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _time(value: object, environment: Environment) -> datetime:
    value = _plain(value)
    site = _site(environment)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, site.timezone)
    if isinstance(value, str) and value.strip().lower() in ("now", "today"):
        value = site.variables.get("time")  # the build's time, so a rebuild gives the same text
    try:
        return parse_date(value, site.timezone)
    except DateError:
        raise FilterArgumentError(f"invalid date: {_text(value)[:60]!r} is not a valid datetime", token=None) from None


def _offset(when: datetime) -> str:
    return when.strftime("%z") or "+0000"


@with_environment
def date_to_xmlschema(value: object, *, environment: Environment) -> object:
    if _text(value) == "":
        return value
    when = _time(value, environment)
    offset = _offset(when)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


@with_environment
def date_to_rfc822(value: object, *, environment: Environment) -> object:
    if _text(value) == "":
        return value
    when = _time(value, environment)
    month = _MONTHS[when.month - 1][:3]
    return f"{_DAYS[when.weekday()]}, {when.day:02d} {month} {when.year:04d} {when:%H:%M:%S} {_offset(when)}"


def _ordinal(day: int) -> str:
    if 11 <= day <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _stringify_date(value: object, environment: Environment, long: bool, kind: object, style: object) -> object:
    if _text(value) == "":
        return value
    when = _time(value, environment)
    month = _MONTHS[when.month - 1] if long else _MONTHS[when.month - 1][:3]
    if kind == "ordinal":
        day = f"{when.day}{_ordinal(when.day)}"
        return f"{month} {day}, {when.year}" if style == "US" else f"{day} {month} {when.year}"
    return f"{when.day:02d} {month} {when.year}"


@with_environment
def date_to_string(value: object, kind: object = None, style: object = None, *, environment: Environment) -> object:
    return _stringify_date(value, environment, False, kind, style)


@with_environment
def date_to_long_string(
    value: object, kind: object = None, style: object = None, *, environment: Environment
) -> object:
    return _stringify_date(value, environment, True, kind, style)


@with_environment
def date_filter(value: object, fmt: object = None, *, environment: Environment) -> object:
    """Liquid's ``date``, with "now" and "today" the build's time (``site.time``) rather than the clock's."""
    if isinstance(value, str) and value.strip().lower() in ("now", "today"):
        value = _site(environment).variables.get("time", value)
    return liquid_date(value, fmt, environment=environment)


# Text


def xml_escape(value: object) -> str:
    return html.escape(_text(value), quote=False).replace('"', "&quot;")


def cgi_escape(value: object) -> str:
    return quote_plus(_text(value), safe="")


def uri_escape(value: object) -> str:
    return _liquid_urls.normalise_url(unicodedata.normalize("NFC", _text(value)))


def normalize_whitespace(value: object) -> str:
    return " ".join(_text(value).split())


_CJK = (
    r"\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NON_CJK_WORD = re.compile(rf"[^{_CJK}\s]+")


def number_of_words(value: object, mode: object = None) -> int:
    text = _text(value)
    if mode == "cjk":
        return len(_CJK_CHAR.findall(text)) + len(_NON_CJK_WORD.findall(text))
    if mode == "auto":
        cjk = len(_CJK_CHAR.findall(text))
        return cjk + len(_NON_CJK_WORD.findall(text)) if cjk else len(text.split())
    return len(text.split())


def array_to_sentence_string(value: object, connector: object = "and") -> str:
    items = [_text(item) for item in _list(value)]
    joiner = _text(connector)
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {joiner} {items[1]}"
    return f"{', '.join(items[:-1])}, {joiner} {items[-1]}"


@with_environment
def markdownify(value: object, *, environment: Environment) -> str:
    render = _site(environment).markdownify
    text = _text(value)
    return render(text) if render is not None else text


# SmartyPants as kramdown does it for Jekyll: quotes curled, -- an en dash, --- an em dash, ... an ellipsis, written
# as characters (kramdown's default entity output), not entities.
_SMARTY = smartypants.Attr.q | smartypants.Attr.D | smartypants.Attr.e
_ENTITY = re.compile(r"&#(8211|8212|8216|8217|8220|8221|8230);")


def smartify(value: object) -> str:
    curled = smartypants.smartypants(_text(value), _SMARTY)
    return _ENTITY.sub(lambda entity: chr(int(entity.group(1))), curled)


_SLUG_MODES = ("raw", "default", "pretty", "ascii", "latin")


def slugify(value: object, mode: object = None) -> object:
    """Jekyll's ``Utils.slugify`` in all its modes (an unknown mode only lower-cases)."""
    value = _plain(value)
    if value is None:
        return None
    text = _text(value)
    mode = "default" if mode is None else mode
    if mode not in _SLUG_MODES:
        return text.lower()
    if mode == "raw":
        slug = re.sub(r"\s+", "-", text)
    elif mode == "pretty":
        slug = jekyll_slug(text, pretty=True)
    elif mode == "ascii":
        slug = re.sub(r"[^A-Za-z0-9]+", "-", text)
    else:
        if mode == "latin":  # accents dropped from Latin letters, other characters become '?' (I18n.transliterate)
            text = "".join(_transliterate(char) for char in text)
        slug = jekyll_slug(text)
    if mode in ("raw", "ascii", "latin"):
        slug = re.sub(r"^-|-$", "", slug)
    return slug.lower()


def _transliterate(char: str) -> str:
    if char.isascii():
        return char
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return base or "?"


def jsonify(value: object) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, (date, range)):
        return _text(value) if isinstance(value, date) else list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence):
        return list(value)
    return _text(value)


def inspect(value: object) -> str:
    return xml_escape(_ruby_inspect(_plain(value)))


def _ruby_inspect(value: object) -> str:
    """Ruby 3.1's ``inspect`` of YAML-like values."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_ruby_inspect(k)}=>{_ruby_inspect(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_ruby_inspect(item) for item in value) + "]"
    return _text(value)


def to_integer(value: object) -> int:
    value = _plain(value)
    if value is True:
        return 1
    if value is False or value is None:
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    match = re.match(r"\s*[-+]?\d+", _text(value).replace("_", ""))
    return int(match.group()) if match else 0


# Arrays


def _list(value: object) -> list[Any]:
    value = _plain(value)
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple, range)):
        return list(value)
    return [value]


def _property(item: object, name: object) -> object:
    """An item's property as Jekyll reads it for where, sort and group_by: dotted names go down mappings, and text
    that looks like a number is that number."""
    value: object = item
    for key in _text(name).split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        if re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if re.fullmatch(r"\s*-?(?:\d+\.?\d*|\.\d+)\s*", value):
            return float(value)
    return value


def _matches(value: object, target: object) -> bool:
    if target is None:
        return value is None
    wanted = _text(target)
    if isinstance(value, str):
        return value == wanted
    return any(_text(item) == wanted for item in (value if isinstance(value, (list, tuple)) else [value]))


def where(value: object, prop: object = None, target: object = None) -> object:
    target = _plain(target)
    if prop is None or isinstance(target, (list, tuple, Mapping)) or not isinstance(value, (list, tuple, Mapping)):
        return value
    return [item for item in _list(value) if _matches(_property(item, prop), target)]


def find(value: object, prop: object = None, target: object = None) -> object:
    target = _plain(target)
    if prop is None or isinstance(target, (list, tuple, Mapping)) or not isinstance(value, (list, tuple, Mapping)):
        return value
    return next((item for item in _list(value) if _matches(_property(item, prop), target)), None)


def _condition(context: RenderContext, expression: object) -> BooleanExpression:
    token = Token(TOKEN_EXPRESSION, _text(expression), 0, _text(expression))
    return BooleanExpression.parse(context.env, TokenStream(tokenize(_text(expression), token)))


@with_context
def where_exp(value: object, variable: object, expression: object, *, context: RenderContext) -> object:
    if not isinstance(value, (list, tuple, Mapping)):
        return value
    condition = _condition(context, expression)
    kept = []
    for item in _list(value):
        with context.extend({_text(variable): item}):
            if condition.evaluate(context):
                kept.append(item)
    return kept


@with_context
def find_exp(value: object, variable: object, expression: object, *, context: RenderContext) -> object:
    if not isinstance(value, (list, tuple, Mapping)):
        return value
    condition = _condition(context, expression)
    for item in _list(value):
        with context.extend({_text(variable): item}):
            if condition.evaluate(context):
                return item
    return None


def _grouped(groups: dict[str, list[Any]]) -> list[dict[str, object]]:
    return [{"name": name, "items": items, "size": len(items)} for name, items in groups.items()]


def group_by(value: object, prop: object) -> object:
    if not isinstance(value, (list, tuple, Mapping)):
        return value
    groups: dict[str, list[Any]] = {}
    for item in _list(value):
        groups.setdefault(_text(_property(item, prop)), []).append(item)
    return _grouped(groups)


@with_context
def group_by_exp(value: object, variable: object, expression: object, *, context: RenderContext) -> object:
    if not isinstance(value, (list, tuple, Mapping)):
        return value
    token = Token(TOKEN_EXPRESSION, _text(expression), 0, _text(expression))
    parsed = FilteredExpression.parse(context.env, TokenStream(tokenize(_text(expression), token)))
    groups: dict[str, list[Any]] = {}
    for item in _list(value):
        with context.extend({_text(variable): item}):
            groups.setdefault(_text(parsed.evaluate(context)), []).append(item)
    return _grouped(groups)


def _compare(left: object, right: object) -> int:
    """Ruby's ``a <=> b || a.to_s <=> b.to_s``: numbers with numbers, text with text, else their text."""
    numbers = (int, float)
    if (isinstance(left, numbers) and isinstance(right, numbers)) or (
        type(left) is type(right) and isinstance(left, (str, date))
    ):
        return (left > right) - (left < right)  # type: ignore[operator]
    a, b = _text(left), _text(right)
    return (a > b) - (a < b)


def sort(value: object, prop: object = None, nils: object = "first") -> object:
    value = _plain(value)
    if value is None:
        raise FilterArgumentError("cannot sort a null object", token=None)
    items = _list(value)
    if prop is None:
        return sorted(items, key=functools.cmp_to_key(_compare))
    if nils not in ("first", "last"):
        raise FilterArgumentError(f"invalid nils order: '{_text(nils)}' is not 'first' or 'last'", token=None)
    order = -1 if nils == "first" else 1

    def compare(a: tuple[object, object], b: tuple[object, object]) -> int:
        if a[0] is not None and b[0] is None:
            return -order
        if a[0] is None and b[0] is not None:
            return order
        return _compare(a[0], b[0])

    keyed = sorted(((_property(item, prop), item) for item in items), key=functools.cmp_to_key(compare))
    return [item for _, item in keyed]


def _count(value: object) -> int:
    return to_integer(value)


def pop(value: object, count: object = 1) -> object:
    if not isinstance(value, list):
        return value
    return value[: max(len(value) - max(_count(count), 0), 0)]


def push(value: object, item: object) -> object:
    return [*value, item] if isinstance(value, list) else value


def shift(value: object, count: object = 1) -> object:
    return value[max(_count(count), 0) :] if isinstance(value, list) else value


def unshift(value: object, item: object) -> object:
    return [item, *value] if isinstance(value, list) else value


def sample(value: object, count: object = 1) -> object:
    """Jekyll picks at random; the first item (or the first ``count``) here, so that output is deterministic."""
    if not isinstance(value, (list, tuple)):
        return value
    number = _count(count)
    if number == 1:
        return value[0] if value else None
    return list(value[: max(number, 0)])


_FILTERS: dict[str, Callable[..., object]] = {
    "relative_url": relative_url,
    "absolute_url": absolute_url,
    "strip_index": strip_index,
    "date_to_xmlschema": date_to_xmlschema,
    "date_to_rfc822": date_to_rfc822,
    "date_to_string": date_to_string,
    "date_to_long_string": date_to_long_string,
    "date": date_filter,
    "xml_escape": xml_escape,
    "cgi_escape": cgi_escape,
    "uri_escape": uri_escape,
    "normalize_whitespace": normalize_whitespace,
    "number_of_words": number_of_words,
    "array_to_sentence_string": array_to_sentence_string,
    "markdownify": markdownify,
    "smartify": smartify,
    "slugify": slugify,
    "jsonify": jsonify,
    "inspect": inspect,
    "to_integer": to_integer,
    "where": where,
    "where_exp": where_exp,
    "find": find,
    "find_exp": find_exp,
    "group_by": group_by,
    "group_by_exp": group_by_exp,
    "sort": sort,
    "pop": pop,
    "push": push,
    "shift": shift,
    "unshift": unshift,
    "sample": sample,
}
