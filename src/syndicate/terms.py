"""Category and tag names: how a name as written in a post becomes a slug for file names and URLs.

The rule (also in README.md, "Slugs"):

1. Unicode NFKC normalisation, then lower case (``str.lower``; Chinese and other scripts are kept as they are).
2. Runs of whitespace become one ``-``.
3. Only letters, digits and marks of any script and ``- _ . +`` are kept; every other character is dropped. So ``/``,
   ``\\``, NUL, ``%``, ``?``, ``#``, ``:`` and quotes never reach a path or URL.
4. Runs of ``-`` collapse; leading and trailing ``-`` and ``.`` are stripped, so a slug is never ``.``, ``..`` or a
   hidden file name.
5. A slug longer than 120 bytes in UTF-8 is cut on a character boundary and given a short hash suffix.
6. A name that leaves nothing (only punctuation, e.g. ``???``) gets ``term-`` and a short hash of the name.

Two names with one slug (``AI`` and ``ai``, ``C#`` and ``C``) share one feed; the first name seen in the newest post
is the feed's display name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

_WHITESPACE = re.compile(r"\s+")
_DASHES = re.compile(r"-{2,}")
_KEEP_PUNCTUATION = frozenset("-_.+")
_MAX_BYTES = 120


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def slug_of(name: str) -> str:
    """The file-name and URL form of a category or tag name (see the module docstring for the rule).

    Not memoised: for names that come from requests (``slugify`` is for names that come from posts)."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = _WHITESPACE.sub("-", text)
    kept = "".join(ch for ch in text if ch in _KEEP_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "N", "M"))
    slug = _DASHES.sub("-", kept).strip("-.")
    if not slug:
        return "term-" + _short_hash(name)
    encoded = slug.encode("utf-8")
    if len(encoded) > _MAX_BYTES:
        slug = encoded[:_MAX_BYTES].decode("utf-8", "ignore").rstrip("-.") + "-" + _short_hash(name)
    return slug


# Memoised for the names posts carry: a site has few, and each is slugged once per post it is in. Only names from
# posts go through it, so its entries are bounded by the site, not by what clients send (requests use slug_of).
slugify = lru_cache(maxsize=65536)(slug_of)


def split_terms(value: object) -> list[str] | None:
    """Jekyll's reading of ``categories``/``tags``: a YAML list, or a string split on whitespace.

    Numbers are kept as their text, bare (``categories: 2024``, which Jekyll makes ``"2024"``) or inside a list
    (``- 2024``). Returns None when the value has another shape (a mapping, a boolean, nested lists), which the
    caller reports.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        names: list[str] = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                return None
            text = str(item).strip()
            if text:
                names.append(text)
        return names
    return None
