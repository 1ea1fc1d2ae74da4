"""When each served document last changed, as this service saw it: the HTTP ``Last-Modified`` (RFC 9110 §8.8.2).

Last-Modified is when the origin believes the selected representation last changed, not a date found in it. The
newest entry's date is not that: a backdated post (routine for republished news, which keeps the original date)
changes a feed without moving it, deleting the newest post moves it backwards, and a future ``last_modified_at`` puts
it past the response's Date (which §8.8.2.1 forbids). Each would answer ``If-Modified-Since`` with 304 for bytes the
client does not have.

So every published path gets a :class:`Stamp`: the digest of its bytes and the time (the service's clock, whole
seconds) of the build that published those bytes there. A build that publishes other bytes at a path, or a new path,
stamps it with its own time; unchanged bytes keep their stamp, across restarts too when the stamps are kept in the
parse cache. A path seen for the first time with no record is stamped with the build's time as well, not with its
newest entry's date: that date may be earlier than a Last-Modified an earlier process served for other bytes (any
change made while the server was down), and the cost of ``now`` is one full response to clients that validate with
If-Modified-Since alone (ETags, which most readers send, are not affected).

HTTP dates have one-second resolution, so two changes at a path within one second (or a clock stepped backwards)
would give different bytes the same or an earlier Last-Modified than a client already holds. The stamp records the
earliest If-Modified-Since date that proves a client has its bytes (``valid_from``): its own time, or one second past
any Last-Modified served at the path for other bytes, whichever is later. Last-Modified itself never exceeds the
clock, so it never exceeds the Date of a response that carries it. Such a stamp is *ambiguous*: its own Last-Modified
does not validate it, so a client that sends only If-Modified-Since gets the full response. The first build at or
after ``valid_from`` (the next change, rescan or restart) stamps the same bytes again with its own time, which is then
past every earlier Last-Modified and validates as usual.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What was last published at one path: its digest, since when (Last-Modified), and what validates it."""

    digest: str
    modified: int  # POSIX seconds: the Last-Modified
    valid_from: int  # POSIX seconds: an If-Modified-Since this late or later shows the client has these bytes

    @property
    def last_modified(self) -> datetime:
        return datetime.fromtimestamp(self.modified, UTC)

    @property
    def validated_from(self) -> datetime:
        return datetime.fromtimestamp(self.valid_from, UTC)


def seconds(moment: datetime) -> int:
    """``moment`` as whole POSIX seconds (truncated, as an HTTP date is); a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Exact integer arithmetic: timestamp() is a float, and rounds the last microsecond of 9999 up into year 10000.
    return (moment - _EPOCH) // timedelta(seconds=1)


def restamp(previous: Stamp | None, digest: str, now: int) -> Stamp:
    """The stamp of ``digest`` published at a path at ``now``, given what was published there before (if known)."""
    if previous is None:
        return Stamp(digest, now, now)
    if previous.digest == digest:
        if previous.valid_from == previous.modified or now < previous.valid_from:
            return previous
        return Stamp(digest, now, now)  # ambiguous, and now past every other Last-Modified: unambiguous from here on
    # Every Last-Modified served here for other bytes is at most max(previous.modified, previous.valid_from - 1):
    # an If-Modified-Since that is not past them all may come from a client holding those bytes.
    return Stamp(digest, now, max(now, previous.modified + 1, previous.valid_from))
