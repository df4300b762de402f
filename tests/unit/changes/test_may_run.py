"""Work is applied only when scheduled, not before its time, and inside the operations window
unless an emergency reason was given (docs/domain.md, seed 002 App.1 II(3)3: Mon–Sat 9:00–17:00 JST,
not on public holidays or the provider's year-end days). Checked again at apply time, because
a request scheduled inside the window can be run late by a worker or a person."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from changes.domain import ChangeStatus
from changes.models import ChangeRequest
from changes.scheduling import check_may_run
from core.calendar import BusinessCalendar
from core.errors import Conflict
from tests.unit.changes.builders import jst

CAL = BusinessCalendar()
TUESDAY_9 = jst(2027, 1, 12, 9, 0)


def _request(status: str, scheduled_for: datetime | None, reason: str | None = None):
    return ChangeRequest(id=7, status=status, scheduled_for=scheduled_for, emergency_reason=reason)


@pytest.mark.parametrize("status", [s for s in ChangeStatus if s is not ChangeStatus.SCHEDULED])
def test_only_scheduled_work_may_run(status):
    req = _request(status, TUESDAY_9, reason="本番障害")
    with pytest.raises(Conflict) as refused:
        check_may_run(req, calendar=CAL, now=TUESDAY_9 + timedelta(hours=1))
    assert refused.value.message == (f"change request 7 is {status}; schedule it before applying")


def test_scheduled_without_a_time_may_not_run():
    with pytest.raises(Conflict, match="schedule it before applying"):
        check_may_run(_request("scheduled", None), calendar=CAL, now=TUESDAY_9)


@pytest.mark.parametrize(
    ("now", "ok"),
    [
        (TUESDAY_9 - timedelta(seconds=1), False),
        (TUESDAY_9, True),
        (TUESDAY_9 + timedelta(hours=7, seconds=-1), True),
    ],
)
def test_not_before_its_time(now, ok):
    req = _request("scheduled", TUESDAY_9)
    if ok:
        check_may_run(req, calendar=CAL, now=now)
        return
    with pytest.raises(Conflict, match="is scheduled for 2027-01-12 09:00"):
        check_may_run(req, calendar=CAL, now=now)


@pytest.mark.parametrize(
    ("now", "why"),
    [
        (jst(2027, 1, 17, 10, 0), "2027-01-17 is a Sunday"),
        (jst(2027, 1, 11, 10, 0), "2027-01-11 is a public holiday (成人の日)"),
        (jst(2026, 12, 30, 10, 0), "2026-12-30 is one of the provider's year-end days"),
        (jst(2027, 1, 12, 17, 0), "17:00 JST is outside 9:00–17:00"),
        (jst(2027, 1, 13, 8, 59), "08:59 JST is outside 9:00–17:00"),
    ],
)
def test_outside_the_window_only_with_an_emergency_reason(now, why):
    scheduled = now - timedelta(days=40)  # scheduled earlier inside a window, run late
    with pytest.raises(Conflict) as refused:
        check_may_run(_request("scheduled", scheduled), calendar=CAL, now=now)
    assert why in refused.value.message
    assert "outside the operations window" in refused.value.message
    with pytest.raises(Conflict):  # an empty reason is no reason
        check_may_run(_request("scheduled", scheduled, ""), calendar=CAL, now=now)
    check_may_run(_request("scheduled", scheduled, "回線障害の復旧"), calendar=CAL, now=now)


@pytest.mark.parametrize(
    "now", [TUESDAY_9, jst(2027, 1, 16, 16, 59, 59), jst(2027, 1, 4, 9, 0)]
)  # Tuesday 9:00, Saturday 16:59:59, the first day after the year-end days
def test_inside_the_window_without_a_reason(now):
    check_may_run(_request("scheduled", now), calendar=CAL, now=now)
