from __future__ import annotations

from collections import deque
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import TOKYO, BusinessCalendar, months_after, parse_year_end_days, tokyo_date
from core.errors import InvalidTransition
from rma.domain import (
    AWAITING_RETURN,
    TERMINAL,
    TRANSITIONS,
    DamageCharge,
    LateArrivalPolicy,
    RmaStatus,
    advance,
    choose_replacement_model,
    damage_charge,
    is_overdue,
    reminder_dates,
    return_deadline,
    return_due_date,
    successor_chain,
)

CAL = BusinessCalendar()
R = RmaStatus


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- return period ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shipped_at", "raw", "shifted"),
    [
        (jst("2027-01-15T10:00"), date(2027, 2, 15), date(2027, 2, 15)),
        # Jan 31 → Feb 28; in 2027 that is a Sunday, so the deadline moves to Monday
        (jst("2027-01-31T10:00"), date(2027, 2, 28), date(2027, 3, 1)),
        (jst("2028-01-31T10:00"), date(2028, 2, 29), date(2028, 2, 29)),  # leap year, Tuesday
        (jst("2027-02-07T10:00"), date(2027, 3, 7), date(2027, 3, 8)),  # Sunday → Monday
        (jst("2027-04-29T10:00"), date(2027, 5, 29), date(2027, 5, 29)),  # Saturday stays
        (jst("2027-04-03T10:00"), date(2027, 5, 3), date(2027, 5, 6)),  # Golden Week 5/3–5/5
        (jst("2026-04-06T10:00"), date(2026, 5, 6), date(2026, 5, 7)),  # substitute holiday
        (jst("2026-12-11T10:00"), date(2027, 1, 11), date(2027, 1, 12)),  # Coming of Age Day
        (jst("2027-11-29T10:00"), date(2027, 12, 29), date(2028, 1, 4)),  # year-end days
        # month-end shipments: the period starts on the 1st and ends at the next month's end
        (jst("2027-04-30T10:00"), date(2027, 5, 31), date(2027, 5, 31)),
        (jst("2027-02-28T10:00"), date(2027, 3, 31), date(2027, 3, 31)),
        # the ship date is the Tokyo date, whatever zone the timestamp is in
        (utc("2027-01-30T15:30"), date(2027, 2, 28), date(2027, 3, 1)),  # Jan 31 00:30 JST
        (utc("2027-01-31T14:59"), date(2027, 2, 28), date(2027, 3, 1)),  # Jan 31 23:59 JST
        (utc("2027-01-31T15:00"), date(2027, 3, 1), date(2027, 3, 1)),  # Feb 1 00:00 JST
        (utc("2027-01-14T14:59"), date(2027, 2, 14), date(2027, 2, 15)),  # Jan 14 23:59 JST
        (utc("2027-01-14T15:30"), date(2027, 2, 15), date(2027, 2, 15)),  # Jan 15 00:30 JST
    ],
)
def test_return_due_date(shipped_at, raw, shifted):
    assert return_due_date(shipped_at, CAL, shift_to_business_day=False) == raw
    assert return_due_date(shipped_at, CAL) == shifted


def test_return_due_date_uses_the_calendar_given():
    cal = BusinessCalendar(
        year_end_days=parse_year_end_days(""),
        extra_closed_days=frozenset({date(2027, 2, 15)}),
    )
    assert return_due_date(jst("2027-01-15T10:00"), cal) == date(2027, 2, 16)
    assert return_due_date(jst("2027-11-29T10:00"), cal) == date(2027, 12, 29)


def test_return_due_date_rejects_naive_time():
    with pytest.raises(ValueError, match="naive"):
        return_due_date(datetime(2027, 1, 15, 10, 0), CAL)


ZONES = [UTC, TOKYO, ZoneInfo("America/New_York"), timezone(timedelta(hours=-12))]
shipments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2090, 12, 31),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)


@settings(deadline=None)
@given(shipped_at=shipments)
def test_due_date_properties(shipped_at):
    ship_day = tokyo_date(shipped_at)
    raw = return_due_date(shipped_at, CAL, shift_to_business_day=False)
    due = return_due_date(shipped_at, CAL)
    assert raw == months_after(ship_day, 1)
    assert ship_day < raw <= ship_day + timedelta(days=31)
    assert raw <= due <= raw + timedelta(days=10)
    assert due.weekday() != 6
    assert not CAL.is_public_holiday(due)
    assert not CAL.is_year_end(due)
    if raw.weekday() != 6 and not CAL.is_closed(raw):
        assert due == raw
    # every day skipped over was a Sunday or closed
    skipped = [raw + timedelta(days=i) for i in range((due - raw).days)]
    assert all(d.weekday() == 6 or CAL.is_closed(d) for d in skipped)


def test_return_deadline_is_midnight_after_the_due_date_in_tokyo():
    deadline = return_deadline(date(2027, 2, 15))
    assert deadline == datetime(2027, 2, 16, 0, 0, tzinfo=TOKYO)
    assert deadline == utc("2027-02-15T15:00")


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (jst("2027-02-15T23:59:59"), False),
        (utc("2027-02-15T14:59:59"), False),
        (utc("2027-02-15T15:00"), True),
        (jst("2027-02-16T00:00"), True),
        (jst("2027-01-20T12:00"), False),
    ],
)
def test_is_overdue(now, overdue):
    assert is_overdue(date(2027, 2, 15), now) is overdue


def test_is_overdue_rejects_naive_now():
    with pytest.raises(ValueError):
        is_overdue(date(2027, 2, 15), datetime(2027, 2, 16))


# --- reminders --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offsets", "today", "expected"),
    [
        ((7, 3, 1), None, [date(2027, 2, 22), date(2027, 2, 26), date(2027, 2, 28)]),
        ((1, 7, 3), None, [date(2027, 2, 22), date(2027, 2, 26), date(2027, 2, 28)]),
        ((7, 3, 1), date(2027, 2, 25), [date(2027, 2, 26), date(2027, 2, 28)]),
        ((7, 3, 1), date(2027, 2, 26), [date(2027, 2, 26), date(2027, 2, 28)]),
        ((7, 3, 1), date(2027, 3, 2), []),
        ((3, 3, 0), None, [date(2027, 2, 26), date(2027, 3, 1)]),
        ((), None, []),
    ],
)
def test_reminder_dates(offsets, today, expected):
    assert reminder_dates(date(2027, 3, 1), offsets, today=today) == expected


def test_reminder_offsets_must_not_be_negative():
    with pytest.raises(ValueError):
        reminder_dates(date(2027, 3, 1), (7, -1))


# --- damage charge ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "rate", "tax", "total"),
    [
        (54_800, 10, 5_480, 60_280),
        (99_999, 10, 9_999, 109_998),
        (0, 10, 0, 0),
        (9, 10, 0, 9),
        (10, 10, 1, 11),
        (99_999, 8, 7_999, 107_998),
        (1_000, 0, 0, 1_000),
    ],
)
def test_damage_charge(price, rate, tax, total):
    assert damage_charge(price, rate) == DamageCharge(net_yen=price, tax_yen=tax, total_yen=total)


def test_damage_charge_defaults_to_ten_percent():
    assert damage_charge(54_800).total_yen == 60_280


@pytest.mark.parametrize(("price", "rate"), [(-1, 10), (1_000, -1)])
def test_damage_charge_rejects_negatives(price, rate):
    with pytest.raises(ValueError):
        damage_charge(price, rate)


@given(st.integers(min_value=0, max_value=10**12))
def test_damage_charge_truncates_tax_in_integers(price):
    charge = damage_charge(price)
    assert charge.total_yen == price + price * 10 // 100
    assert charge.net_yen + charge.tax_yen == charge.total_yen
    assert 0 <= price * 10 - charge.tax_yen * 100 < 100
    assert all(type(v) is int for v in (charge.net_yen, charge.tax_yen, charge.total_yen))


def test_late_arrival_policies():
    assert {p.value for p in LateArrivalPolicy} == {"keep", "credit"}


# --- transitions ------------------------------------------------------------------------------


ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
FORBIDDEN = [(a, b) for a in RmaStatus for b in RmaStatus if b not in TRANSITIONS[a]]


def test_table_covers_every_status():
    assert set(TRANSITIONS) == set(RmaStatus)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_moves_pass(current, target):
    assert advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_forbidden_moves_raise_with_the_allowed_set(current, target):
    with pytest.raises(InvalidTransition) as caught:
        advance(current, target)
    assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])
    assert caught.value.current == current.value
    assert caught.value.target == target.value
    assert repr(target.value) in caught.value.message


def test_terminal_states():
    assert {R.CLOSED, R.RESOLVED_REMOTELY} == TERMINAL


def _reachable(start: RmaStatus) -> set[RmaStatus]:
    seen, queue = {start}, deque([start])
    while queue:
        for nxt in TRANSITIONS[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def test_every_status_is_reachable_from_open():
    assert _reachable(R.OPEN) == set(RmaStatus)


@pytest.mark.parametrize("status", list(RmaStatus))
def test_every_status_can_still_finish(status):
    assert _reachable(status) & TERMINAL


def test_happy_path():
    path = [
        R.REPLACEMENT_NEEDED,
        R.REPLACEMENT_RESERVED,
        R.SHIPPED,
        R.SWAPPED,
        R.PICKUP_REQUESTED,
        R.RECEIVED,
        R.CLOSED,
    ]
    status = R.OPEN
    for target in path:
        status = advance(status, target)
    assert status is R.CLOSED


@pytest.mark.parametrize("waiting", sorted(AWAITING_RETURN))
def test_overdue_and_extension_round_trip(waiting):
    assert advance(advance(waiting, R.OVERDUE), waiting) is waiting


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (R.OVERDUE, R.CHARGED),
        (R.CHARGED, R.RECEIVED),
        (R.OVERDUE, R.WAIVED),
        (R.CHARGED, R.WAIVED),
        (R.PICKUP_REQUESTED, R.EXCEPTION),
        (R.OPEN, R.RESOLVED_REMOTELY),
    ],
)
def test_moves_the_workflow_needs(current, target):
    assert advance(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (R.OPEN, R.SHIPPED),  # nothing reserved
        (R.REPLACEMENT_NEEDED, R.SHIPPED),
        (R.SHIPPED, R.CHARGED),  # must become overdue first
        (R.RECEIVED, R.CHARGED),
        (R.CLOSED, R.OPEN),
        (R.RESOLVED_REMOTELY, R.REPLACEMENT_NEEDED),
    ],
)
def test_moves_the_workflow_forbids(current, target):
    with pytest.raises(InvalidTransition):
        advance(current, target)


# --- replacement model ------------------------------------------------------------------------


SUCCESSORS: dict[str, str | None] = {"MX64": "MX67", "MX67": "MX68", "MX68": None, "MR33": "MR36"}


@pytest.mark.parametrize(
    ("failed", "stock", "expected"),
    [
        ("MX64", {"MX64": 2, "MX67": 5}, ("MX64", False)),
        ("MX64", {"MX64": 0, "MX67": 5}, ("MX67", True)),
        ("MX64", {"MX68": 1}, ("MX68", True)),
        ("MX64", {}, None),
        ("MR33", {"MR36": 1}, ("MR36", True)),
        ("MR36", {"MR33": 3}, None),  # no successor known, older models never go back
        ("Z3", {"Z3": 1}, ("Z3", False)),  # not in the successor table at all
        ("MX64", {"MX64": -1, "MX67": 0, "MX68": 0}, None),
    ],
)
def test_choose_replacement_model(failed, stock, expected):
    assert choose_replacement_model(failed, stock, SUCCESSORS) == expected


def test_successor_cycle_does_not_loop_forever():
    cyclic: dict[str, str | None] = {"A": "B", "B": "C", "C": "A"}
    assert choose_replacement_model("A", {}, cyclic) is None
    assert choose_replacement_model("A", {"C": 1}, cyclic) == ("C", True)
    assert successor_chain("A", cyclic) == ["A", "B", "C"]
    assert successor_chain("X", {"X": "X"}) == ["X"]
