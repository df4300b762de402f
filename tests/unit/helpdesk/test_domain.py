"""Helpdesk rules stated from seed 003 and seed 004, independently of the code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidTransition
from helpdesk.domain import (
    AfterHoursCharge,
    Cause,
    IncidentStatus,
    advance,
    after_hours_charge,
    auto_close_at,
    fault_limit_reached,
    is_due_for_auto_close,
    month_bounds,
    tokyo_month,
)

JST = ZoneInfo("Asia/Tokyo")
OP, A, C = IncidentStatus.OPEN, IncidentStatus.ANSWERED, IncidentStatus.CLOSED

# Written out from seed 003 spec 6 and docs/domain.md: open → answered → closed; a reply stops the
# clock (answered → open); solved or withdrawn before an answer closes directly; closed is final.
ALLOWED = {(OP, A), (OP, C), (A, OP), (A, C)}
ALL = [OP, A, C]


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_transition_table(current: IncidentStatus, target: IncidentStatus) -> None:
    if (current, target) in ALLOWED:
        assert advance(current, target) is target
    else:
        with pytest.raises(InvalidTransition) as info:
            advance(current, target)
        assert info.value.current == current.value
        assert info.value.target == target.value
        expected = sorted(t.value for (c, t) in ALLOWED if c is current)
        assert info.value.allowed == expected


def test_status_values_are_the_stored_words() -> None:
    assert [s.value for s in IncidentStatus] == ["open", "answered", "closed"]


@pytest.mark.parametrize(
    ("answered", "closes"),
    [
        # docs/domain.md example: answered Apr 30 15:00 → open all of May 5, closed May 6 00:00.
        (datetime(2027, 4, 30, 15, 0, tzinfo=JST), datetime(2027, 5, 6, 0, 0, tzinfo=JST)),
        # Answered one minute before midnight still counts from the next day.
        (datetime(2027, 4, 30, 23, 59, tzinfo=JST), datetime(2027, 5, 6, 0, 0, tzinfo=JST)),
        # Answered at 00:00 JST: that day is not counted either.
        (datetime(2027, 5, 1, 0, 0, tzinfo=JST), datetime(2027, 5, 7, 0, 0, tzinfo=JST)),
        # 09:00 JST on Dec 31 is 00:00 UTC; the JST date decides (no Art. 142 shift at year end).
        (datetime(2026, 12, 31, 0, 0, tzinfo=UTC), datetime(2027, 1, 6, 0, 0, tzinfo=JST)),
        # 2028 is a leap year: Feb 25 + 5 days = Mar 1, closed from Mar 2.
        (datetime(2028, 2, 25, 10, 0, tzinfo=JST), datetime(2028, 3, 2, 0, 0, tzinfo=JST)),
        # 2026-12-31 15:00 UTC is already Jan 1 00:00 JST.
        (datetime(2026, 12, 31, 15, 0, tzinfo=UTC), datetime(2027, 1, 7, 0, 0, tzinfo=JST)),
    ],
)
def test_auto_close_at(answered: datetime, closes: datetime) -> None:
    assert auto_close_at(answered) == closes


ANSWERED_AT = datetime(2027, 4, 30, 15, 0, tzinfo=JST)
DEADLINE = datetime(2027, 5, 6, 0, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("status", "now", "due"),
    [
        (A, DEADLINE - timedelta(minutes=1), False),
        (A, DEADLINE, True),
        (A, DEADLINE + timedelta(minutes=1), True),
        # Five days ± 1 minute from the answer itself are both still open.
        (A, ANSWERED_AT + timedelta(days=5, minutes=-1), False),
        (A, ANSWERED_AT + timedelta(days=5, minutes=1), False),
        (OP, DEADLINE + timedelta(days=30), False),
        (C, DEADLINE + timedelta(days=30), False),
    ],
)
def test_is_due_for_auto_close(status: IncidentStatus, now: datetime, due: bool) -> None:
    assert is_due_for_auto_close(status, ANSWERED_AT, now) is due


def test_never_answered_is_never_due() -> None:
    assert is_due_for_auto_close(A, None, DEADLINE + timedelta(days=1)) is False


@pytest.mark.parametrize(
    ("minutes", "cause", "charge"),
    [
        (1, Cause.CUSTOMER, AfterHoursCharge(1, 3_000, 300, 3_300)),
        (30, Cause.CUSTOMER, AfterHoursCharge(1, 3_000, 300, 3_300)),
        (31, Cause.CUSTOMER, AfterHoursCharge(2, 6_000, 600, 6_600)),
        (60, Cause.OUTSIDE_SERVICE, AfterHoursCharge(2, 6_000, 600, 6_600)),
        (61, Cause.CUSTOMER, AfterHoursCharge(3, 9_000, 900, 9_900)),
        (0, Cause.CUSTOMER, AfterHoursCharge(0, 0, 0, 0)),
        (90, Cause.PROVIDER, AfterHoursCharge(0, 0, 0, 0)),
        (90, Cause.UNKNOWN, AfterHoursCharge(0, 0, 0, 0)),
    ],
)
def test_after_hours_charge(minutes: int, cause: Cause, charge: AfterHoursCharge) -> None:
    assert after_hours_charge(minutes, cause) == charge


def test_after_hours_tax_is_truncated() -> None:
    # A rate of ¥3,005 makes 10% = ¥300.5; the fraction is dropped.
    assert after_hours_charge(30, Cause.CUSTOMER, rate_yen=3_005) == AfterHoursCharge(
        1, 3_005, 300, 3_305
    )
    assert after_hours_charge(30, Cause.CUSTOMER, tax_rate_percent=8).tax_yen == 240


def test_after_hours_negative_minutes_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        after_hours_charge(-1, Cause.CUSTOMER)


@pytest.mark.parametrize(("count", "reached"), [(0, False), (2, False), (3, True), (4, True)])
def test_fault_limit_is_three_a_month(count: int, reached: bool) -> None:
    assert fault_limit_reached(count) is reached


def test_fault_limit_configurable() -> None:
    assert fault_limit_reached(4, 5) is False
    assert fault_limit_reached(5, 5) is True


@pytest.mark.parametrize(
    ("when", "month"),
    [
        (datetime(2027, 1, 31, 14, 59, tzinfo=UTC), "2027-01"),
        (datetime(2027, 1, 31, 15, 0, tzinfo=UTC), "2027-02"),
        (datetime(2027, 10, 5, 12, 0, tzinfo=JST), "2027-10"),
    ],
)
def test_tokyo_month(when: datetime, month: str) -> None:
    assert tokyo_month(when) == month


@pytest.mark.parametrize(
    ("month", "start", "end"),
    [
        ("2027-02", datetime(2027, 2, 1, tzinfo=JST), datetime(2027, 3, 1, tzinfo=JST)),
        ("2027-12", datetime(2027, 12, 1, tzinfo=JST), datetime(2028, 1, 1, tzinfo=JST)),
    ],
)
def test_month_bounds(month: str, start: datetime, end: datetime) -> None:
    assert month_bounds(month) == (start, end)


@pytest.mark.parametrize("bad", ["2027-2", "202702", "27-02", "2027/02", "2027-13", ""])
def test_month_bounds_refuses_malformed(bad: str) -> None:
    with pytest.raises(ValueError):
        month_bounds(bad)
