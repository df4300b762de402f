"""The logistics views' small rules, stated from the calendar rather than from the code:
the Tokyo week runs Monday to Sunday; a month's charges run from the 1st 00:00 JST to the next
1st; yen are shown with ¥ and thousands separators (docs/domain.md: money is integer yen)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.calendar import TOKYO
from rma.domain import format_yen, tokyo_month_bounds, tokyo_week

MONDAY, SUNDAY = date(2027, 1, 11), date(2027, 1, 17)


@pytest.mark.parametrize(
    "today",
    [date(2027, 1, 11), date(2027, 1, 12), date(2027, 1, 14), date(2027, 1, 16), date(2027, 1, 17)],
)
def test_the_week_is_monday_to_sunday(today):
    assert tokyo_week(today) == (MONDAY, SUNDAY)


@pytest.mark.parametrize(
    ("today", "week"),
    [
        (date(2027, 1, 18), (date(2027, 1, 18), date(2027, 1, 24))),  # a Monday starts anew
        (date(2027, 1, 10), (date(2027, 1, 4), date(2027, 1, 10))),  # a Sunday ends the last
        (date(2026, 12, 31), (date(2026, 12, 28), date(2027, 1, 3))),  # across the new year
    ],
)
def test_weeks_on_their_edges(today, week):
    assert tokyo_week(today) == week


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (
            datetime(2027, 1, 20, 12, 0, tzinfo=TOKYO),
            datetime(2027, 1, 1, tzinfo=TOKYO),
            datetime(2027, 2, 1, tzinfo=TOKYO),
        ),
        (  # December rolls over into January of the next year
            datetime(2026, 12, 5, tzinfo=TOKYO),
            datetime(2026, 12, 1, tzinfo=TOKYO),
            datetime(2027, 1, 1, tzinfo=TOKYO),
        ),
        (  # 15:00 UTC on Nov 30 is already December 1st in Tokyo
            datetime(2026, 11, 30, 15, 0, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=TOKYO),
            datetime(2027, 1, 1, tzinfo=TOKYO),
        ),
        (
            datetime(2026, 11, 30, 14, 59, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=TOKYO),
            datetime(2026, 12, 1, tzinfo=TOKYO),
        ),
    ],
)
def test_month_bounds_in_tokyo(now, start, end):
    assert tokyo_month_bounds(now) == (start, end)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "¥0"),
        (999, "¥999"),
        (1_000, "¥1,000"),
        (140_800, "¥140,800"),
        (-1, "-¥1"),
        (-1_000, "-¥1,000"),
        (1_234_567, "¥1,234,567"),
    ],
)
def test_yen(amount, text):
    assert format_yen(amount) == text
