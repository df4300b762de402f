"""Scheduling rules through the service: never in the past (one minute of tolerance for the
clock between a person's screen and the server), outside the window only with a reason, and the
reason kept only when it was needed (docs/domain.md, seed 002 App.1 II(3)3)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from changes import scheduling, service
from changes.models import ChangeRequestEvent
from core.calendar import BusinessCalendar
from core.errors import ValidationFailed
from tests.service.test_changes_window_and_cli_device import NOC, approved
from tests.unit.changes.builders import jst

CAL = BusinessCalendar()
NOW = jst(2026, 12, 2, 10, 0)  # Wednesday, inside the window


def _schedule(session: Session, rid: int, **kw: object):
    return scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=rid, now=NOW, **kw
    )


@pytest.mark.parametrize(
    "at", [NOW - timedelta(minutes=1), NOW - timedelta(seconds=1), NOW, NOW + timedelta(hours=6)]
)
def test_a_time_up_to_one_minute_ago_is_accepted(session: Session, at: datetime) -> None:
    rid = approved(session)
    req = _schedule(session, rid, at=at)
    assert (req.status, req.scheduled_for) == ("scheduled", at)


@pytest.mark.parametrize("reason", [None, "緊急: 回線障害"])
@pytest.mark.parametrize("ago", [timedelta(minutes=1, seconds=1), timedelta(days=1)])
def test_a_time_further_back_is_refused_even_in_an_emergency(
    session: Session, ago: timedelta, reason: str | None
) -> None:
    rid = approved(session)
    with pytest.raises(ValidationFailed) as refused:
        _schedule(session, rid, at=NOW - ago, emergency_reason=reason)
    assert refused.value.message == "cannot schedule work in the past"
    [problem] = refused.value.problems
    assert problem.location == "at"
    assert problem.message.endswith("is in the past (now 2026-12-02 10:00 JST)")
    assert service.get_request(session=session, request_id=rid).status == "approved"
    events = session.exec(
        select(ChangeRequestEvent).where(ChangeRequestEvent.action == "schedule_refused")
    ).all()
    assert [e.request_id for e in events] == [rid]


def test_outside_the_window_without_a_reason_says_why_and_when_it_opens(
    session: Session,
) -> None:
    rid = approved(session)
    with pytest.raises(ValidationFailed) as refused:
        _schedule(session, rid, at=jst(2026, 12, 6, 10, 0))
    assert refused.value.message == "requested time is outside operations hours"
    [problem] = refused.value.problems
    assert problem.message == (
        "2026-12-06 10:00 JST is outside the operations window: 2026-12-06 is a Sunday; "
        "operations hours are Mon–Sat 9:00–17:00 JST, except public holidays and year-end "
        "days; the next window opens 2026-12-07 09:00 JST. Give an emergency reason to override."
    )
    assert service.get_request(session=session, request_id=rid).status == "approved"


@pytest.mark.parametrize(
    ("at", "reason", "kept"),
    [
        (jst(2026, 12, 3, 10, 0), "念のため", None),  # inside the window: no override needed
        (jst(2026, 12, 6, 10, 0), "  本社移転  ", "本社移転"),  # Sunday: the override is kept
        (None, "回線障害", "回線障害"),  # an emergency run now is an override too
        (None, "   ", None),  # blank is no reason: the next window start, no override
    ],
)
def test_the_reason_is_kept_only_when_it_overrides(
    session: Session, at: datetime | None, reason: str, kept: str | None
) -> None:
    rid = approved(session)
    req = _schedule(session, rid, at=at, emergency_reason=reason)
    assert req.status == "scheduled"
    assert req.scheduled_for == (at or NOW)
    assert (req.emergency_reason, req.emergency_by) == (kept, "noc-suzuki" if kept else None)
    [event] = session.exec(
        select(ChangeRequestEvent).where(ChangeRequestEvent.to_status == "scheduled")
    ).all()
    assert event.action == ("scheduled_emergency" if kept else "scheduled")
    assert event.data.get("emergency_reason") == kept  # the history says why, when it overrode
