"""The RMA policy's defaults, as the business runs without configuration (docs/domain.md: the
Art. 142 shift is a policy switch, on by default; consumption tax 10%; reminders a week, three
days and a day before the due date; a late arrival keeps the charge unless the provider chooses
to credit)."""

from __future__ import annotations

from core.calendar import BusinessCalendar
from rma.domain import LateArrivalPolicy, RmaPolicy


def test_defaults():
    cal = BusinessCalendar()
    policy = RmaPolicy(calendar=cal)
    assert policy.calendar is cal
    assert policy.shift_due_date is True
    assert policy.reminder_offsets == (7, 3, 1)
    assert policy.late_arrival is LateArrivalPolicy.KEEP
    assert policy.tax_rate_percent == 10
