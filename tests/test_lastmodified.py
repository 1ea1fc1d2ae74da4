"""Stamps: when the bytes at a path were published, and which If-Modified-Since dates prove a client has them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from syndicate.lastmodified import Stamp, restamp, seconds

T = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def test_first_sight_is_stamped_with_the_publishing_time() -> None:
    assert restamp(None, "a", T) == Stamp("a", T, T)


def test_unchanged_bytes_keep_their_stamp_however_late() -> None:
    stamp = Stamp("a", T, T)
    assert restamp(stamp, "a", T + 86_400) is stamp


def test_changed_bytes_are_stamped_with_the_later_time() -> None:
    assert restamp(Stamp("a", T, T), "b", T + 60) == Stamp("b", T + 60, T + 60)


def test_a_second_change_within_one_second_is_not_validated_by_its_shared_date() -> None:
    second = restamp(Stamp("a", T, T), "b", T)
    # Last-Modified stays at the clock (never later than Date), but that date was also sent with "a": only a later one
    # shows the client has "b".
    assert second == Stamp("b", T, T + 1)
    third = restamp(second, "c", T)
    assert third == Stamp("c", T, T + 1)
    # Unchanged, and the clock past the shared second: stamped again, so its own Last-Modified validates it.
    assert restamp(third, "c", T) is third
    assert restamp(third, "c", T + 1) == Stamp("c", T + 1, T + 1)


def test_a_clock_stepped_back_never_validates_other_bytes() -> None:
    stepped_back = restamp(Stamp("a", T, T), "b", T - 3600)
    assert stepped_back.modified == T - 3600  # not later than the clock: no Last-Modified beyond Date
    assert stepped_back.valid_from == T + 1  # the Last-Modified sent with "a" does not validate "b"
    again = restamp(stepped_back, "c", T - 3000)
    assert again == Stamp("c", T - 3000, T + 1)


def test_seconds_truncates_like_an_http_date_and_takes_naive_times_as_utc() -> None:
    moment = datetime(2023, 11, 15, 6, 13, 20, 999_999, tzinfo=timezone(timedelta(hours=8)))
    assert seconds(moment) == T
    assert seconds(datetime(2023, 11, 14, 22, 13, 20)) == T
    assert Stamp("a", T, T + 1).last_modified == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert Stamp("a", T, T + 1).validated_from == datetime(2023, 11, 14, 22, 13, 21, tzinfo=UTC)
