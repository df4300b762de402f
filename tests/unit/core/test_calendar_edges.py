"""Business-calendar edges stated from the contract (docs/domain.md: year-end days
Dec 29–Jan 3 by default, configurable; operations Mon–Sat 9:00–17:00 JST; Art. 142 moves a
deadline off a Sunday, public holiday or year-end day, Saturdays count)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo

import pytest

from core.calendar import (
    TOKYO,
    BusinessCalendar,
    Service,
    ServiceWindow,
    add_months,
    last_day_of_month,
    months_after,
    parse_year_end_days,
    to_tokyo,
)


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("12-31..12-31", {(12, 31)}),  # a one-day range is that day, never the whole year
        ("01-01..01-01", {(1, 1)}),
        ("02-29..02-29", {(2, 29)}),
        ("12-31..01-01", {(12, 31), (1, 1)}),  # wraps over the new year
        ("12-30..12-31", {(12, 30), (12, 31)}),
        ("02-28..03-01", {(2, 28), (2, 29), (3, 1)}),  # the leap day is a calendar day
        (" 12-31 , 01-02 ", {(12, 31), (1, 2)}),
        ("", set()),
    ],
)
def test_year_end_ranges(spec, days):
    assert parse_year_end_days(spec) == frozenset(days)


def test_the_default_year_end_is_six_days():
    assert BusinessCalendar().year_end_days == {
        (12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)
    }  # fmt: skip


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        (datetime(2027, 1, 16, 8, 59, 59, tzinfo=TOKYO), False),  # Saturday before nine
        (datetime(2027, 1, 16, 9, 0, tzinfo=TOKYO), True),
        (datetime(2027, 1, 16, 16, 59, 59, tzinfo=TOKYO), True),
        (datetime(2027, 1, 16, 17, 0, tzinfo=TOKYO), False),  # the end is excluded
        (datetime(2027, 1, 17, 10, 0, tzinfo=TOKYO), False),  # Sunday
        (datetime(2027, 1, 11, 10, 0, tzinfo=TOKYO), False),  # 成人の日
        (datetime(2027, 1, 3, 10, 0, tzinfo=TOKYO), False),  # year-end day
        (datetime(2027, 1, 4, 9, 0, tzinfo=TOKYO), True),  # the first day after
        (datetime(2026, 12, 28, 16, 59, tzinfo=TOKYO), True),  # the last day before
        (datetime(2026, 12, 29, 9, 0, tzinfo=TOKYO), False),
    ],
)
def test_operations_window(when, open_):
    assert BusinessCalendar().is_service_time(Service.OPERATIONS, when) is open_


@pytest.mark.parametrize(
    ("when", "opens"),
    [
        (datetime(2027, 1, 16, 17, 0, tzinfo=TOKYO), datetime(2027, 1, 18, 9, 0, tzinfo=TOKYO)),
        (datetime(2026, 12, 28, 17, 0, tzinfo=TOKYO), datetime(2027, 1, 4, 9, 0, tzinfo=TOKYO)),
        (datetime(2027, 1, 12, 8, 0, tzinfo=TOKYO), datetime(2027, 1, 12, 9, 0, tzinfo=TOKYO)),
        (datetime(2027, 1, 12, 9, 0, tzinfo=TOKYO), datetime(2027, 1, 12, 9, 0, tzinfo=TOKYO)),
    ],
)
def test_next_operations_start(when, opens):
    assert BusinessCalendar().next_service_start(Service.OPERATIONS, when) == opens


def test_the_phone_desk_reopens_after_lunch():
    cal = BusinessCalendar()
    noon = datetime(2027, 1, 12, 12, 0, tzinfo=TOKYO)
    assert not cal.is_service_time(Service.HELPDESK_PHONE, noon)
    assert cal.next_service_start(Service.HELPDESK_PHONE, noon) == noon.replace(hour=13)


def test_a_service_that_never_opens_is_reported():
    closed_always = BusinessCalendar(
        extra_closed_days=frozenset(date(2027, 1, 1) + timedelta(days=i) for i in range(800))
    )
    with pytest.raises(ValueError, match="does not open within 732 days"):
        closed_always.next_service_start(Service.OPERATIONS, datetime(2027, 1, 1, tzinfo=TOKYO))


@pytest.mark.parametrize(
    ("spans", "ok"),
    [
        ((("09:00", "17:00"),), True),
        ((("09:00", "09:00"),), False),  # empty
        ((("10:00", "12:00"), ("12:00", "13:00")), True),  # touching is not overlapping
        ((("10:00", "12:01"), ("12:00", "13:00")), False),
    ],
)
def test_service_windows_are_checked(spans, ok):
    parsed = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans)
    if ok:
        ServiceWindow(frozenset({0}), parsed)
        return
    with pytest.raises(ValueError):
        ServiceWindow(frozenset({0}), parsed)


def test_weekdays_are_zero_to_six():
    ServiceWindow(frozenset(range(7)), ())
    with pytest.raises(ValueError, match=r"0\.\.6"):
        ServiceWindow(frozenset({7}), ())


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2027, 1, 15), 1, date(2027, 2, 15)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 4, 30), 1, date(2027, 5, 31)),
        (date(2027, 12, 31), 1, date(2028, 1, 31)),
        (date(2027, 11, 30), 2, date(2028, 1, 31)),
        (date(2027, 1, 15), 12, date(2028, 1, 15)),
    ],
)
def test_months_after(d, months, expected):
    assert months_after(d, months) == expected


def test_a_period_needs_a_month():
    with pytest.raises(ValueError, match="at least one month, got 0"):
        months_after(date(2027, 1, 15), 0)


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2028, 3, 31), -1, date(2028, 2, 29)),
    ],
)
def test_add_months(d, months, expected):
    assert add_months(d, months) == expected


@pytest.mark.parametrize(
    ("year", "month", "day"), [(2027, 2, 28), (2028, 2, 29), (2027, 12, 31), (2027, 4, 30)]
)
def test_last_day_of_month(year, month, day):
    assert last_day_of_month(year, month) == date(year, month, day)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (date(2027, 1, 15), date(2027, 1, 15), 0),
        (date(2027, 1, 15), date(2027, 1, 16), 1),  # Saturday counts
        (date(2027, 1, 15), date(2027, 1, 18), 2),  # Sunday does not
        (date(2026, 12, 28), date(2027, 1, 4), 1),  # year-end days do not
    ],
)
def test_business_days_between(start, end, count):
    assert BusinessCalendar().business_days_between(start, end) == count


class _NoOffset(tzinfo):
    """A time zone that knows no offset: such a datetime is as good as naive."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None


def test_a_zone_without_an_offset_is_refused_like_a_naive_time():
    with pytest.raises(ValueError, match="has no time zone"):
        to_tokyo(datetime(2027, 1, 12, 10, 0, tzinfo=_NoOffset()))


def test_a_period_is_one_month_unless_told():
    assert months_after(date(2027, 1, 15)) == date(2027, 2, 15)


@pytest.mark.parametrize("spec", ["12-29..01-03..01-05", "12-29...01-03", "..01-03"])
def test_a_range_has_two_ends(spec):
    with pytest.raises(ValueError, match="year-end days"):
        parse_year_end_days(spec)
