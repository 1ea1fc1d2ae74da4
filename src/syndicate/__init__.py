"""syndicate: Jekyll-style posts in; Atom, RSS and JSON Feed per category and tag out; served with HTTP caching."""

from __future__ import annotations

__version__ = "0.1.0"
