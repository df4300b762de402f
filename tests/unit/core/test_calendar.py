from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import (
    DEFAULT_YEAR_END_DAYS,
    MON_SAT,
    SERVICE_WINDOWS,
    TOKYO,
    BusinessCalendar,
    Service,
    ServiceWindow,
    add_months,
    last_day_of_month,
    months_after,
    parse_year_end_days,
    to_tokyo,
    tokyo_date,
)

CAL = BusinessCalendar()
S = Service
ALL_BUT_ONSITE = [s for s in Service if s not in (S.ONSITE_DESK, S.ONSITE_WORK)]


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- time zones ---------------------------------------------------------------------------


def test_naive_datetime_is_rejected():
    with pytest.raises(ValueError, match="naive"):
        to_tokyo(datetime(2027, 3, 1, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        CAL.is_service_time(S.OPERATIONS, datetime(2027, 3, 1, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        CAL.next_service_start(S.OPERATIONS, datetime(2027, 3, 1, 9, 0))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc("2027-03-01T23:30"), date(2027, 3, 2)),  # Tuesday 08:30 JST
        (utc("2027-03-01T14:59:59"), date(2027, 3, 1)),
        (utc("2027-03-01T15:00"), date(2027, 3, 2)),
        (datetime(2027, 3, 1, 7, 0, tzinfo=ZoneInfo("America/Los_Angeles")), date(2027, 3, 2)),
        (datetime(2027, 3, 2, 0, 0, tzinfo=timezone(timedelta(hours=14))), date(2027, 3, 1)),
    ],
)
def test_tokyo_date_whatever_the_input_zone(instant, expected):
    assert tokyo_date(instant) == expected
    assert to_tokyo(instant) == instant
    assert to_tokyo(instant).tzinfo is TOKYO


# --- month arithmetic (Civil Code Art. 140, 143) ----------------------------------------------


@pytest.mark.parametrize(
    ("event", "months", "end"),
    [
        (date(2027, 1, 15), 1, date(2027, 2, 15)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2027, 1, 30), 1, date(2027, 2, 28)),
        (date(2027, 1, 28), 1, date(2027, 2, 28)),
        (date(2027, 1, 27), 1, date(2027, 2, 27)),
        (date(2028, 2, 28), 1, date(2028, 3, 28)),
        # An event on a month's last day: the period starts on the 1st and so ends at month end.
        (date(2027, 2, 28), 1, date(2027, 3, 31)),
        (date(2028, 2, 29), 1, date(2028, 3, 31)),
        (date(2027, 4, 30), 1, date(2027, 5, 31)),
        (date(2027, 12, 15), 1, date(2028, 1, 15)),
        (date(2027, 12, 31), 1, date(2028, 1, 31)),
        (date(2027, 4, 15), 12, date(2028, 4, 15)),
        (date(2027, 3, 31), 11, date(2028, 2, 29)),
    ],
)
def test_months_after(event, months, end):
    assert months_after(event, months) == end


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 11, 30), 3, date(2028, 2, 29)),
        (date(2027, 3, 31), -1, date(2027, 2, 28)),
        (date(2027, 12, 1), 1, date(2028, 1, 1)),
    ],
)
def test_add_months_clamps(d, months, expected):
    assert add_months(d, months) == expected


def test_months_after_needs_a_positive_period():
    with pytest.raises(ValueError):
        months_after(date(2027, 1, 1), 0)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2098, 12, 31)))
def test_one_month_is_the_same_day_next_month_except_after_a_month_end(d):
    end = months_after(d, 1)
    assert d < end <= d + timedelta(days=31)
    if d == last_day_of_month(d.year, d.month):
        nxt = add_months(d, 1)
        assert end == last_day_of_month(nxt.year, nxt.month)
    else:
        assert end == add_months(d, 1)


# --- closed days ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "holiday"),
    [
        (date(2027, 1, 11), True),  # Coming of Age Day
        (date(2027, 1, 12), False),
        (date(2026, 5, 6), True),  # substitute holiday for Sunday 5/3
        (date(2027, 3, 22), True),  # substitute for the Sunday equinox
        (date(2026, 9, 22), True),  # citizens' holiday between two holidays
        (date(2027, 5, 6), False),
        (date(2027, 12, 29), False),  # year-end is the provider's, not a public holiday
    ],
)
def test_public_holidays(d, holiday):
    assert CAL.is_public_holiday(d) is holiday
    assert (CAL.holiday_name(d) is not None) is holiday


def test_holiday_name_is_japanese():
    assert CAL.holiday_name(date(2027, 1, 11)) == "成人の日"


@pytest.mark.parametrize(
    ("d", "year_end"),
    [
        (date(2027, 12, 28), False),
        (date(2027, 12, 29), True),
        (date(2027, 12, 31), True),
        (date(2028, 1, 3), True),
        (date(2028, 1, 4), False),
    ],
)
def test_default_year_end_days(d, year_end):
    assert CAL.is_year_end(d) is year_end
    assert CAL.is_closed(d) is year_end


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("12-29..01-03", {(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3)}),
        ("12-31,01-01", {(12, 31), (1, 1)}),
        (" 08-13..08-15 , 12-31 ", {(8, 13), (8, 14), (8, 15), (12, 31)}),
        ("02-28..03-01", {(2, 28), (2, 29), (3, 1)}),
        ("", set()),
    ],
)
def test_parse_year_end_days(spec, expected):
    assert parse_year_end_days(spec) == expected


@pytest.mark.parametrize("spec", ["13-01", "12-32", "02-30", "xmas", "12-29..", "12/29"])
def test_parse_year_end_days_rejects_nonsense(spec):
    with pytest.raises(ValueError, match="year-end days"):
        parse_year_end_days(spec)


def test_default_calendar_uses_dec29_to_jan3():
    assert CAL.year_end_days == DEFAULT_YEAR_END_DAYS == parse_year_end_days("12-29..01-03")


def test_calendar_rejects_impossible_year_end_day():
    with pytest.raises(ValueError):
        BusinessCalendar(year_end_days=frozenset({(2, 30)}))


def test_extra_closed_day_and_configured_year_end():
    cal = BusinessCalendar(
        year_end_days=parse_year_end_days("12-30..01-02"),
        extra_closed_days=frozenset({date(2027, 8, 13)}),
    )
    assert cal.is_closed(date(2027, 8, 13))
    assert not cal.is_closed(date(2027, 12, 29))
    assert cal.is_closed(date(2028, 1, 2))
    assert not cal.is_closed(date(2028, 1, 3))


# --- deadlines (Art. 142) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2027, 3, 2), date(2027, 3, 2)),  # Tuesday stays
        (date(2027, 3, 6), date(2027, 3, 6)),  # Saturday counts as a business day
        (date(2027, 3, 7), date(2027, 3, 8)),  # Sunday → Monday
        (date(2027, 1, 10), date(2027, 1, 12)),  # Sunday, then Coming of Age Day
        (date(2027, 5, 2), date(2027, 5, 6)),  # Sunday + Golden Week
        (date(2026, 5, 6), date(2026, 5, 7)),  # substitute holiday
        (date(2027, 12, 29), date(2028, 1, 4)),  # year-end days
        (date(2026, 12, 29), date(2027, 1, 4)),  # 2027-01-04 is a Monday
    ],
)
def test_next_business_day_for_deadline(d, expected):
    assert CAL.next_business_day_for_deadline(d) == expected


def test_extra_closed_day_moves_a_deadline():
    cal = BusinessCalendar(extra_closed_days=frozenset({date(2027, 3, 2)}))
    assert cal.next_business_day_for_deadline(date(2027, 3, 2)) == date(2027, 3, 3)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (date(2027, 1, 9), date(2027, 1, 12), 1),  # Sun, holiday, Tue
        (date(2027, 3, 1), date(2027, 3, 8), 6),  # Tue..Mon minus Sunday
        (date(2027, 3, 1), date(2027, 3, 1), 0),
        (date(2027, 12, 27), date(2028, 1, 5), 3),  # 12/28, then 1/4 and 1/5
    ],
)
def test_business_days_between(start, end, count):
    assert CAL.business_days_between(start, end) == count


# --- service windows --------------------------------------------------------------------------


def test_every_service_has_a_window():
    assert set(SERVICE_WINDOWS) == set(Service)


@pytest.mark.parametrize(
    ("service", "at", "open_"),
    [
        # Tuesday 2027-03-02, the edges of each window (start included, end excluded)
        (S.OPERATIONS, "2027-03-02T08:59", False),
        (S.OPERATIONS, "2027-03-02T09:00", True),
        (S.OPERATIONS, "2027-03-02T16:59", True),
        (S.OPERATIONS, "2027-03-02T16:59:59", True),
        (S.OPERATIONS, "2027-03-02T17:00", False),
        (S.UTM_MONITORING, "2027-03-02T08:59", False),
        (S.UTM_MONITORING, "2027-03-02T09:00", True),
        (S.UTM_MONITORING, "2027-03-02T17:00", False),
        (S.WIRELESS_MONITORING, "2027-03-02T09:00", True),
        (S.WIRELESS_MONITORING, "2027-03-02T17:00", False),
        (S.HELPDESK, "2027-03-02T08:29", False),
        (S.HELPDESK, "2027-03-02T08:30", True),
        (S.HELPDESK, "2027-03-02T17:59", True),
        (S.HELPDESK, "2027-03-02T18:00", False),
        (S.VPN_CONSTRUCTION, "2027-03-02T08:30", False),
        (S.VPN_CONSTRUCTION, "2027-03-02T16:59", True),
        (S.VPN_MAINTENANCE, "2027-03-02T08:30", True),
        (S.VPN_MAINTENANCE, "2027-03-02T18:00", False),
        (S.CLIENT_SETUP, "2027-03-02T08:59", False),
        (S.CLIENT_SUPPORT, "2027-03-02T08:30", True),
        (S.ONSITE_DESK, "2027-03-02T08:29", False),
        (S.ONSITE_DESK, "2027-03-02T08:30", True),
        (S.ONSITE_WORK, "2027-03-02T08:59", False),
        (S.ONSITE_WORK, "2027-03-02T16:59", True),
        (S.SERVER_SUPPORT, "2027-03-02T17:29", True),
        (S.SERVER_SUPPORT, "2027-03-02T17:30", False),
        (S.HELPDESK_PHONE, "2027-03-02T09:59", False),
        (S.HELPDESK_PHONE, "2027-03-02T10:00", True),
        (S.HELPDESK_PHONE, "2027-03-02T11:59", True),
        (S.HELPDESK_PHONE, "2027-03-02T12:00", False),
        (S.HELPDESK_PHONE, "2027-03-02T12:59", False),
        (S.HELPDESK_PHONE, "2027-03-02T13:00", True),
        (S.HELPDESK_PHONE, "2027-03-02T16:59", True),
        (S.HELPDESK_PHONE, "2027-03-02T17:00", False),
    ],
)
def test_window_edges(service, at, open_):
    assert CAL.is_service_time(service, jst(at)) is open_


SATURDAY_OPEN = {
    S.OPERATIONS: True,
    S.UTM_MONITORING: True,
    S.WIRELESS_MONITORING: False,
    S.HELPDESK: True,
    S.CLIENT_SETUP: True,
    S.CLIENT_SUPPORT: True,
    S.VPN_CONSTRUCTION: True,
    S.VPN_MAINTENANCE: True,
    S.ONSITE_DESK: True,
    S.ONSITE_WORK: True,
    S.SERVER_SUPPORT: False,
    S.HELPDESK_PHONE: False,
}


@pytest.mark.parametrize("service", list(Service))
def test_saturday_and_sunday(service):
    saturday, sunday = jst("2027-03-06T11:00"), jst("2027-03-07T11:00")
    assert CAL.is_service_time(service, saturday) is SATURDAY_OPEN[service]
    assert CAL.is_service_time(service, sunday) is (service in (S.ONSITE_DESK, S.ONSITE_WORK))


@pytest.mark.parametrize("service", list(Service))
@pytest.mark.parametrize(
    "at",
    [
        "2027-01-11T11:00",  # Coming of Age Day (Monday)
        "2026-05-06T11:00",  # substitute holiday (Wednesday)
        "2027-12-29T11:00",  # year-end day (Wednesday)
        "2028-01-03T11:00",  # year-end day (Monday)
    ],
)
def test_closed_days_close_all_but_onsite(service, at):
    assert CAL.is_service_time(service, jst(at)) is (service in (S.ONSITE_DESK, S.ONSITE_WORK))


@pytest.mark.parametrize("service", list(Service))
def test_extra_closed_day(service):
    cal = BusinessCalendar(extra_closed_days=frozenset({date(2027, 3, 2)}))
    onsite = service in (S.ONSITE_DESK, S.ONSITE_WORK)
    assert cal.is_service_time(service, jst("2027-03-02T11:00")) is onsite
    assert CAL.is_service_time(service, jst("2027-03-02T11:00"))


@pytest.mark.parametrize(
    ("service", "instant", "open_"),
    [
        (S.HELPDESK, utc("2027-03-01T23:30"), True),  # Tuesday 08:30 JST
        (S.HELPDESK, utc("2027-03-01T23:29:59"), False),
        (S.OPERATIONS, utc("2027-03-01T23:30"), False),
        (S.OPERATIONS, utc("2027-03-02T00:00"), True),  # 09:00 JST
        (S.OPERATIONS, utc("2027-03-02T08:00"), False),  # 17:00 JST
        # Saturday 23:30 UTC is Sunday 08:30 JST: Mon–Sat services are shut
        (S.HELPDESK, utc("2027-03-06T23:30"), False),
        (S.ONSITE_DESK, utc("2027-03-06T23:30"), True),
    ],
)
def test_utc_input_is_judged_in_tokyo(service, instant, open_):
    assert CAL.is_service_time(service, instant) is open_


@pytest.mark.parametrize(
    ("service", "when", "expected"),
    [
        # inside a window: the same instant
        (S.OPERATIONS, jst("2027-03-02T10:15"), jst("2027-03-02T10:15")),
        (S.OPERATIONS, utc("2027-03-02T01:15"), jst("2027-03-02T10:15")),
        # before opening the same day
        (S.OPERATIONS, jst("2027-03-02T07:00"), jst("2027-03-02T09:00")),
        (S.OPERATIONS, utc("2027-03-01T20:00"), jst("2027-03-02T09:00")),  # 05:00 JST Tue
        # Saturday evening: Sunday shut, Monday 1/11 a holiday → Tuesday
        (S.OPERATIONS, jst("2027-01-09T17:00"), jst("2027-01-12T09:00")),
        (S.HELPDESK, jst("2027-01-09T18:00"), jst("2027-01-12T08:30")),
        # Friday evening for a Mon–Fri service
        (S.WIRELESS_MONITORING, jst("2027-01-08T17:00"), jst("2027-01-12T09:00")),
        (S.OPERATIONS, jst("2027-01-08T17:00"), jst("2027-01-09T09:00")),
        # lunch break of the phone desk
        (S.HELPDESK_PHONE, jst("2027-03-02T12:00"), jst("2027-03-02T13:00")),
        (S.HELPDESK_PHONE, jst("2027-03-02T17:00"), jst("2027-03-03T10:00")),
        # year-end
        (S.OPERATIONS, jst("2027-12-28T17:00"), jst("2028-01-04T09:00")),
        # onsite desk works on holidays
        (S.ONSITE_DESK, jst("2027-01-11T07:00"), jst("2027-01-11T08:30")),
        (S.ONSITE_WORK, jst("2027-12-31T17:00"), jst("2028-01-01T09:00")),
    ],
)
def test_next_service_start(service, when, expected):
    start = CAL.next_service_start(service, when)
    assert start == expected
    assert start.tzinfo is TOKYO


@settings(deadline=None)
@given(
    service=st.sampled_from(list(Service)),
    when=st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2090, 12, 31),
        timezones=st.sampled_from([UTC, TOKYO, ZoneInfo("Europe/London")]),
        allow_imaginary=False,
    ),
)
def test_next_service_start_is_the_first_open_instant(service, when):
    start = CAL.next_service_start(service, when)
    assert start >= when
    assert CAL.is_service_time(service, start)
    # compared in UTC: == between zones is always False for an ambiguous time (PEP 495)
    if start.astimezone(UTC) != when.astimezone(UTC):
        assert not CAL.is_service_time(service, start - timedelta(seconds=1))
        assert start.time() in {span_start for span_start, _ in SERVICE_WINDOWS[service].spans}


@pytest.mark.parametrize(
    "spans",
    [
        ((time(9), time(9)),),
        ((time(17), time(9)),),
        ((time(9), time(12)), (time(11), time(13))),
    ],
)
def test_service_window_rejects_bad_spans(spans):
    with pytest.raises(ValueError):
        ServiceWindow(MON_SAT, spans)


def test_service_window_rejects_bad_weekday():
    with pytest.raises(ValueError):
        ServiceWindow(frozenset({7}), ((time(9), time(17)),))
