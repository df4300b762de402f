"""The sign-in throttle's rules, stated here: 5 failures in 15 minutes lock a key; the first
lock-out lasts 5 minutes, each next one twice as long, never over 4 hours; a day with no failure
forgets the lock-outs; a window older than 15 minutes starts again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from web.sign_in_rules import (
    Count,
    Limits,
    after_failure,
    lockout_length,
    remaining_lock,
    retry_after_seconds,
)

LIMITS = Limits(
    failures=5,
    window=timedelta(minutes=15),
    lockout=timedelta(minutes=5),
    lockout_max=timedelta(hours=4),
)
T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def fail(
    times: int, *, start: datetime = T0, every: timedelta = MIN, count: Count | None = None
) -> Count:
    assert count is not None or times > 0
    for i in range(times):
        count = after_failure(count, start + i * every, LIMITS)
    assert count is not None
    return count


def test_four_failures_do_not_lock_and_the_fifth_does_for_five_minutes() -> None:
    four = fail(4)
    assert four.failures == 4 and four.locked_until is None
    assert remaining_lock(four, T0 + 4 * MIN) is None
    five = fail(5)
    assert five.locked_until == T0 + 4 * MIN + 5 * MIN
    assert remaining_lock(five, T0 + 4 * MIN) == 5 * MIN
    assert remaining_lock(five, T0 + 9 * MIN - timedelta(seconds=1)) == timedelta(seconds=1)
    assert remaining_lock(five, T0 + 9 * MIN) is None  # the lock ends at its end


def test_failures_spread_past_the_window_never_lock() -> None:
    # one failure every 4 minutes: the 5th comes 16 minutes after the first, past the window
    count = fail(5, every=4 * MIN)
    assert count.locked_until is None
    assert count.failures == 1  # the window started again at the 5th failure


def test_the_fifth_failure_on_the_windows_last_minute_still_locks() -> None:
    count = fail(4, every=MIN)  # at 0, 1, 2, 3 minutes
    count = after_failure(count, T0 + 15 * MIN - timedelta(seconds=1), LIMITS)
    assert count.locked_until is not None
    reset = after_failure(fail(4, every=MIN), T0 + 15 * MIN, LIMITS)
    assert reset.locked_until is None and reset.failures == 1


@pytest.mark.parametrize(
    ("earlier", "minutes"),
    [(0, 5), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 240), (7, 240), (40, 240)],
)
def test_each_lockout_doubles_up_to_four_hours(earlier: int, minutes: int) -> None:
    assert lockout_length(earlier, LIMITS) == timedelta(minutes=minutes)


def test_after_a_lockout_five_more_failures_lock_for_twice_as_long() -> None:
    first = fail(5)  # locked from 4 to 9 minutes
    second = fail(5, start=T0 + 10 * MIN, count=first)
    assert second.locked_until == T0 + 14 * MIN + 10 * MIN
    assert second.lockouts == 2


def test_a_day_without_failures_forgets_the_lockouts() -> None:
    first = fail(5)
    later = fail(5, start=T0 + 4 * MIN + timedelta(hours=24), count=first)
    assert later.lockouts == 1
    assert later.locked_until == T0 + 8 * MIN + timedelta(hours=24) + 5 * MIN


def test_lockouts_less_than_a_day_apart_still_double() -> None:
    first = fail(5)  # the 5th failure at 4 minutes
    later = fail(5, start=T0 + 4 * MIN + timedelta(hours=24) - 5 * MIN, count=first)
    assert later.lockouts == 2  # its first failure came 1 minute short of a day
    assert later.locked_until == T0 + 3 * MIN + timedelta(hours=24) + 10 * MIN


@pytest.mark.parametrize(
    ("remaining", "seconds"),
    [
        (timedelta(0), 1),
        (timedelta(seconds=0.2), 1),
        (timedelta(seconds=1), 1),
        (timedelta(seconds=1.01), 2),
        (timedelta(minutes=5), 300),
    ],
)
def test_retry_after_is_whole_seconds_rounded_up(remaining: timedelta, seconds: int) -> None:
    assert retry_after_seconds(remaining) == seconds
