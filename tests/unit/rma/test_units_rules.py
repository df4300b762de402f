"""Pure rules of issue 20 item 1 (RMA side), written out from docs/domain.md.

Reminders: one a planned day goes out on its day; a passed one is sent late once while the
return period runs (only the newest of those passed); after the due date it is missed; an RMA
that no longer waits for the unit cancels them. The swap may be recorded while the replacement is
out and the failed unit not back; only from `shipped` does the status become `swapped`.
"""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import InvalidTransition
from rma.domain import ReminderOutcome, RmaStatus, reminder_outcome, status_after_swap

R = RmaStatus
Out = ReminderOutcome
DUE = date(2026, 6, 12)


@pytest.mark.parametrize(
    ("remind_on", "today", "status", "superseded", "outcome"),
    [
        (date(2026, 6, 9), date(2026, 6, 8), R.SWAPPED, False, None),  # not yet
        (date(2026, 6, 9), date(2026, 6, 9), R.SWAPPED, False, Out.SENT),  # its day
        (date(2026, 6, 9), date(2026, 6, 10), R.SWAPPED, False, Out.SENT_LATE),  # passed, once
        (date(2026, 6, 5), date(2026, 6, 10), R.SWAPPED, True, Out.MISSED),  # a newer one goes
        (date(2026, 6, 11), date(2026, 6, 12), R.PICKUP_REQUESTED, False, Out.SENT_LATE),  # due day
        (date(2026, 6, 11), date(2026, 6, 13), R.SWAPPED, False, Out.MISSED),  # period over
        (date(2026, 6, 11), date(2026, 6, 13), R.OVERDUE, False, Out.MISSED),
        (date(2026, 6, 9), date(2026, 6, 9), R.SHIPPED, False, Out.SENT),
        (date(2026, 6, 9), date(2026, 6, 9), R.EXCEPTION, False, Out.SENT),  # the unit is still out
        (date(2026, 6, 9), date(2026, 6, 1), R.CLOSED, False, Out.CANCELLED),  # even before its day
        (date(2026, 6, 9), date(2026, 6, 9), R.RECEIVED, False, Out.CANCELLED),
        (date(2026, 6, 9), date(2026, 6, 9), R.WAIVED, False, Out.CANCELLED),
        (date(2026, 6, 9), date(2026, 6, 20), R.CHARGED, False, Out.CANCELLED),
        (date(2026, 6, 9), date(2026, 6, 9), R.RESOLVED_REMOTELY, False, Out.CANCELLED),
    ],
)
def test_what_becomes_of_a_reminder(
    remind_on: date,
    today: date,
    status: RmaStatus,
    superseded: bool,
    outcome: ReminderOutcome | None,
) -> None:
    got = reminder_outcome(
        remind_on=remind_on, due=DUE, today=today, status=status, superseded=superseded
    )
    assert got is outcome


def test_without_a_due_date_a_reminder_is_never_missed_for_the_period() -> None:
    got = reminder_outcome(
        remind_on=date(2026, 6, 1),
        due=None,
        today=date(2026, 7, 1),
        status=R.SHIPPED,
        superseded=False,
    )
    assert got is Out.SENT_LATE


@pytest.mark.parametrize(
    ("current", "after"),
    [
        (R.SHIPPED, R.SWAPPED),
        (R.PICKUP_REQUESTED, R.PICKUP_REQUESTED),
        (R.OVERDUE, R.OVERDUE),
        (R.EXCEPTION, R.EXCEPTION),
        (R.CHARGED, R.CHARGED),
        (R.WAIVED, R.WAIVED),
    ],
)
def test_the_swap_is_recorded_while_the_replacement_is_out(
    current: RmaStatus, after: RmaStatus
) -> None:
    assert status_after_swap(current) is after


@pytest.mark.parametrize(
    "current",
    [
        R.OPEN,
        R.REPLACEMENT_NEEDED,
        R.REPLACEMENT_RESERVED,  # not shipped yet
        R.SWAPPED,  # already
        R.RECEIVED,
        R.CLOSED,
        R.RESOLVED_REMOTELY,
    ],
)
def test_no_swap_before_shipping_or_after_the_unit_is_back(current: RmaStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        status_after_swap(current)
    assert refused.value.allowed == ["shipped"]
