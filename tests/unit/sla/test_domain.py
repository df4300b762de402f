"""SLA credit maths, each figure worked out by hand from seeds 004 and 000."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sla.domain import (
    CreditBasis,
    CreditLine,
    Outage,
    OutageCause,
    credit_in_month,
    credit_lines,
    days_in_month,
    qualifies,
    tax_of,
)

JST = ZoneInfo("Asia/Tokyo")
CAL, Y365 = CreditBasis.CALENDAR_DAYS, CreditBasis.YEAR_365
P, N, CUST = OutageCause.PROVIDER, OutageCause.NEGLIGENCE, OutageCause.CUSTOMER
FEE = 31_000  # ¥1,000 a day in a 31-day month


def outage(
    start: datetime, hours: float, cause: OutageCause = P, learned: datetime | None = None
) -> Outage:
    return Outage(
        started_at=start,
        ended_at=start + timedelta(hours=hours),
        learned_at=learned or start,
        cause=cause,
    )


MAR_1 = datetime(2027, 3, 1, 10, 0, tzinfo=JST)


@pytest.mark.parametrize(
    ("hours", "basis", "lines"),
    [
        # Seed 004: 24 h or more → full 24-h days × fee ÷ 31 (March).
        (23 + 59 / 60, CAL, []),
        (24, CAL, [CreditLine("2027-03", 1, 0, 1_000)]),
        (47.99, CAL, [CreditLine("2027-03", 1, 0, 1_000)]),
        (48, CAL, [CreditLine("2027-03", 2, 0, 2_000)]),
        (24 * 5 + 23, CAL, [CreditLine("2027-03", 5, 0, 5_000)]),
        # Seed 000: over 24 h → 12 × 31,000 ÷ 365 = 1,019.17… a day; exactly 24 h earns nothing.
        (24, Y365, []),
        (24 + 1 / 60, Y365, [CreditLine("2027-03", 1, 0, 1_019)]),
        (48, Y365, [CreditLine("2027-03", 2, 0, 2_038)]),  # 744,000 ÷ 365 = 2,038.35
        (23 + 59 / 60, Y365, []),
    ],
)
def test_threshold_and_full_days(hours: float, basis: CreditBasis, lines: list[CreditLine]) -> None:
    assert credit_lines(outage(MAR_1, hours), FEE, basis) == lines


def test_counts_from_when_the_provider_learned() -> None:
    # Down since Mar 1 10:00, learned Mar 1 12:00, back Mar 2 11:59: 23 h 59 m counted → nothing.
    late = outage(MAR_1, 25 + 59 / 60, learned=MAR_1 + timedelta(hours=2))
    assert credit_lines(late, FEE, CAL) == []
    # Learned before it started (an announced cut): counted from the start.
    early = outage(MAR_1, 24, learned=MAR_1 - timedelta(hours=5))
    assert credit_lines(early, FEE, CAL) == [CreditLine("2027-03", 1, 0, 1_000)]


def test_learned_after_the_end_counts_nothing() -> None:
    o = outage(MAR_1, 30, learned=MAR_1 + timedelta(hours=40))
    assert qualifies(o, CAL) is False
    assert credit_lines(o, FEE, CAL) == []
    assert (
        credit_lines(
            Outage(MAR_1, MAR_1 + timedelta(hours=30), MAR_1 + timedelta(hours=40), N), FEE, CAL
        )
        == []
    )


def test_month_end_each_day_in_the_month_it_starts() -> None:
    # Jan 30 12:00 → Feb 2 13:00 JST (73 h): days start Jan 30, Jan 31, Feb 1.
    # January (31 days): 2 × 62,000 ÷ 31 = 4,000; February 2027 (28): 62,000 ÷ 28 = 2,214.28…
    o = outage(datetime(2027, 1, 30, 12, 0, tzinfo=JST), 73)
    assert credit_lines(o, 62_000, CAL) == [
        CreditLine("2027-01", 2, 0, 4_000),
        CreditLine("2027-02", 1, 0, 2_214),
    ]
    assert credit_in_month(o, 62_000, CAL, "2027-02") == CreditLine("2027-02", 1, 0, 2_214)
    assert credit_in_month(o, 62_000, CAL, "2027-03") is None


def test_leap_february() -> None:
    # February 2028 has 29 days: 58,000 ÷ 29 = 2,000 a day; February 2027 has 28: 2,071.42…
    assert credit_lines(outage(datetime(2028, 2, 10, tzinfo=JST), 24), 58_000, CAL) == [
        CreditLine("2028-02", 1, 0, 2_000)
    ]
    assert credit_lines(outage(datetime(2027, 2, 10, tzinfo=JST), 24), 58_000, CAL) == [
        CreditLine("2027-02", 1, 0, 2_071)
    ]
    # Seed 000 is 365 days even in a leap year: 12 × 58,000 ÷ 365 = 1,906.8…
    assert credit_lines(outage(datetime(2028, 2, 10, tzinfo=JST), 25), 58_000, Y365) == [
        CreditLine("2028-02", 1, 0, 1_906)
    ]


def test_month_is_the_tokyo_month() -> None:
    # Mar 31 15:30 UTC is Apr 1 00:30 JST: the day belongs to April (30 days): 30,000 ÷ 30.
    start = datetime(2027, 3, 31, 15, 30, tzinfo=UTC)
    assert credit_lines(outage(start, 24), 30_000, CAL) == [CreditLine("2027-04", 1, 0, 1_000)]


def test_negligence_every_second_no_threshold() -> None:
    # 1 h in March: 31,000 × 3,600 ÷ (31 × 86,400) = 41.66… → 41.
    assert credit_lines(outage(MAR_1, 1, N), FEE, CAL) == [CreditLine("2027-03", 0, 3_600, 41)]
    # 30 h: 31,000 × 108,000 ÷ 2,678,400 = 1,250.
    assert credit_lines(outage(MAR_1, 30, N), FEE, CAL) == [
        CreditLine("2027-03", 0, 108_000, 1_250)
    ]
    # 365-day basis: 12 × 31,000 × 3,600 ÷ (365 × 86,400) = 42.46… → 42.
    assert credit_lines(outage(MAR_1, 1, N), FEE, Y365) == [CreditLine("2027-03", 0, 3_600, 42)]


def test_negligence_across_month_end() -> None:
    # Apr 30 22:00 → May 1 02:00 JST: 2 h of April (30 d), 2 h of May (31 d), fee 72,000.
    # April: 72,000 × 7,200 ÷ 2,592,000 = 200; May: 72,000 × 7,200 ÷ 2,678,400 = 193.5… → 193.
    o = outage(datetime(2027, 4, 30, 22, 0, tzinfo=JST), 4, N)
    assert credit_lines(o, 72_000, CAL) == [
        CreditLine("2027-04", 0, 7_200, 200),
        CreditLine("2027-05", 0, 7_200, 193),
    ]


def test_customer_cause_earns_nothing() -> None:
    assert credit_lines(outage(MAR_1, 100, CUST), FEE, CAL) == []
    assert credit_lines(outage(MAR_1, 100, CUST), FEE, Y365) == []


def test_zero_fee_and_negative_fee() -> None:
    assert credit_lines(outage(MAR_1, 48), 0, CAL) == [CreditLine("2027-03", 2, 0, 0)]
    with pytest.raises(ValueError, match="-1"):
        credit_lines(outage(MAR_1, 48), -1, CAL)


@pytest.mark.parametrize(
    ("year", "month", "days"),
    [(2027, 2, 28), (2028, 2, 29), (2027, 4, 30), (2027, 12, 31), (2027, 1, 31)],
)
def test_days_in_month(year: int, month: int, days: int) -> None:
    assert days_in_month(year, month) == days


@pytest.mark.parametrize(("net", "tax"), [(0, 0), (9, 0), (10, 1), (2_214, 221), (1_019, 101)])
def test_tax_truncated(net: int, tax: int) -> None:
    assert tax_of(net) == tax


def test_negligence_in_months_ten_to_twelve_and_a_leap_february() -> None:
    # November has 30 days: 1 h of a 30,000 fee = 30,000 × 3,600 ÷ 2,592,000 = 41.66… → 41
    # (priced as January's 31 days it would be 40).
    nov = outage(datetime(2027, 11, 10, 9, 0, tzinfo=JST), 1, N)
    assert credit_lines(nov, 30_000, CAL) == [CreditLine("2027-11", 0, 3_600, 41)]
    # A full 24-h day in November: 30,000 ÷ 30 = 1,000 (not 967 as in a 31-day month).
    assert credit_lines(outage(datetime(2027, 11, 10, tzinfo=JST), 24), 30_000, CAL) == [
        CreditLine("2027-11", 1, 0, 1_000)
    ]
    # February 2028 has 29 days: 24 h of negligence on 29,000 = 1,000 exactly (28 days: 1,035).
    leap = outage(datetime(2028, 2, 10, tzinfo=JST), 24, N)
    assert credit_lines(leap, 29_000, CAL) == [CreditLine("2028-02", 0, 86_400, 1_000)]


def test_negligence_across_the_year_end() -> None:
    # Dec 31 22:00 → Jan 1 02:00 JST: 2 h in December 2027, 2 h in January 2028 (31 days each).
    o = outage(datetime(2027, 12, 31, 22, 0, tzinfo=JST), 4, N)
    assert credit_lines(o, 31_000, CAL) == [
        CreditLine("2027-12", 0, 7_200, 83),  # 31,000 × 7,200 ÷ 2,678,400 = 83.33…
        CreditLine("2028-01", 0, 7_200, 83),
    ]


def test_a_whole_month_of_negligence_less_one_second() -> None:
    # April 2027, 2,591,999 s of 2,592,000: 1,000,000 × 2,591,999 ÷ 2,592,000 = 999,999.6 → 999,999
    o = outage(datetime(2027, 4, 1, tzinfo=JST), 30 * 24 - 1 / 3600, N)
    assert credit_lines(o, 1_000_000, CAL) == [CreditLine("2027-04", 0, 2_591_999, 999_999)]
    # 365-day basis: 12,000,000 × 2,591,999 ÷ 31,536,000 = 986,300.98… → 986,300.
    assert credit_lines(o, 1_000_000, Y365) == [CreditLine("2027-04", 0, 2_591_999, 986_300)]


def test_counted_is_never_negative_and_zero_never_qualifies() -> None:
    learned_late = Outage(MAR_1, MAR_1 + timedelta(hours=1), MAR_1 + timedelta(hours=3), N)
    assert learned_late.counted == timedelta(0)
    assert qualifies(learned_late, CAL) is False
    assert qualifies(learned_late, Y365) is False
    instant = Outage(MAR_1, MAR_1, MAR_1, N)
    assert qualifies(instant, CAL) is False
    assert qualifies(Outage(MAR_1, MAR_1 + timedelta(seconds=1), MAR_1, N), CAL) is True


@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
    minutes=st.integers(min_value=0, max_value=120 * 24 * 60),
    late=st.integers(min_value=0, max_value=72 * 60),
    fee=st.integers(min_value=0, max_value=10_000_000),
    cause=st.sampled_from(list(OutageCause)),
    basis=st.sampled_from(list(CreditBasis)),
)
def test_credit_properties(
    start: datetime, minutes: int, late: int, fee: int, cause: OutageCause, basis: CreditBasis
) -> None:
    """A month's credit never exceeds its fee (calendar basis); nothing for a customer's cause."""
    began = start.replace(tzinfo=JST)
    o = Outage(
        started_at=began,
        ended_at=began + timedelta(minutes=minutes),
        learned_at=began + timedelta(minutes=late),
        cause=cause,
    )
    lines = credit_lines(o, fee, basis)
    if cause is OutageCause.CUSTOMER:
        assert lines == []
    months = [line.month for line in lines]
    assert months == sorted(set(months))
    for line in lines:
        assert line.yen >= 0
        if basis is CreditBasis.CALENDAR_DAYS:
            assert line.yen <= fee
    if cause is OutageCause.PROVIDER:
        assert sum(line.full_days for line in lines) == o.counted // timedelta(hours=24) or (
            basis is CreditBasis.YEAR_365 and o.counted == timedelta(hours=24)
        )
    if cause is OutageCause.NEGLIGENCE:
        assert sum(line.seconds for line in lines) == int(o.counted.total_seconds())


def test_negligence_parts_add_up_with_fractions_of_a_second() -> None:
    # Started 0.5 s before April ends: 0.5 s + 3,600 s; the parts must sum to the 3,600 s whole.
    start = datetime(2027, 4, 30, 23, 59, 59, 500_000, tzinfo=JST)
    o = Outage(start, start + timedelta(hours=1), start, N)
    assert [(line.month, line.seconds) for line in credit_lines(o, 72_000, CAL)] == [
        ("2027-04", 0),
        ("2027-05", 3_600),
    ]
