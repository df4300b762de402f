"""The NOC queue over the database (SQLite and PostgreSQL): counts, a stage's rows, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from changes import queue
from changes.domain import QueueStage
from changes.models import ChangeRequest
from core.calendar import BusinessCalendar

CAL = BusinessCalendar()
TUESDAY_10 = datetime(2027, 1, 12, 1, 0, tzinfo=UTC)  # 10:00 JST, inside the window
TUESDAY_20 = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)  # 20:00 JST, the window is closed


def _request(session: Session, number: str, status: str, **fields: Any) -> ChangeRequest:
    row = ChangeRequest(
        number=number,
        customer=fields.pop("customer", "株式会社さくら商事"),
        site_name=fields.pop("site_name", "東京本社"),
        status=status,
        target="dashboard",
        notice_email="soumu@sakura.example.jp",
        sheet_filename="cr.yaml",
        sheet_original=b"",
        submitted_by="field-sato",
        **fields,
    )
    session.add(row)
    session.flush()
    return row


def _seed(session: Session) -> None:
    _request(session, "CR-1", "submitted")
    _request(session, "CR-2", "validated")
    _request(session, "CR-3", "approved")
    _request(session, "CR-4", "failed")
    _request(session, "CR-5", "scheduled", scheduled_for=TUESDAY_10 + timedelta(hours=2))
    _request(session, "CR-6", "scheduled", scheduled_for=TUESDAY_10 - timedelta(minutes=5))
    _request(session, "CR-7", "applied")
    _request(session, "CR-8", "notified", acceptance_due_at=TUESDAY_10 + timedelta(days=3))
    _request(session, "CR-9", "notified", acceptance_due_at=TUESDAY_10 + timedelta(days=1))
    _request(session, "CR-10", "accepted", customer="有限会社みどり設計", site_name="事務所")
    _request(session, "CR-11", "cancelled")


def test_counts_by_stage(session: Session) -> None:
    assert set(queue.stage_counts(session=session).values()) == {0}
    _seed(session)
    counts = queue.stage_counts(session=session)
    assert counts == {
        QueueStage.SUBMITTED: 2,
        QueueStage.APPROVED: 2,
        QueueStage.SCHEDULED: 2,
        QueueStage.APPLIED: 1,
        QueueStage.AWAITING_ACCEPTANCE: 2,
        QueueStage.CLOSED: 2,
    }


def _numbers(page: Any) -> list[str]:
    return [row.request.number for row in page.items]


def test_scheduled_soonest_first_with_whether_it_may_run(session: Session) -> None:
    _seed(session)
    page = queue.queue_page(
        session=session, calendar=CAL, now=TUESDAY_10, stage=QueueStage.SCHEDULED
    )
    assert _numbers(page) == ["CR-6", "CR-5"] and page.total == 2
    late, later = page.items
    assert (late.due_now, late.window_open) == (True, True)
    assert (later.due_now, later.window_open) == (False, True)
    closed = queue.queue_page(
        session=session, calendar=CAL, now=TUESDAY_20, stage=QueueStage.SCHEDULED
    )
    assert [r.window_open for r in closed.items] == [False, False]


def test_awaiting_acceptance_by_deadline_with_countdown(session: Session) -> None:
    _seed(session)
    page = queue.queue_page(
        session=session, calendar=CAL, now=TUESDAY_10, stage=QueueStage.AWAITING_ACCEPTANCE
    )
    assert _numbers(page) == ["CR-9", "CR-8"]
    soon, later = page.items
    assert soon.countdown is not None and later.countdown is not None
    assert (soon.countdown.days, soon.countdown.hours) == (1, 0)
    assert (later.countdown.days, later.countdown.hours) == (3, 0)
    after = queue.queue_page(
        session=session,
        calendar=CAL,
        now=TUESDAY_10 + timedelta(days=2),
        stage=QueueStage.AWAITING_ACCEPTANCE,
    )
    assert [r.countdown.ended for r in after.items if r.countdown] == [True, False]


def test_filters_search_and_paging(session: Session) -> None:
    _seed(session)
    everything = queue.queue_page(session=session, calendar=CAL, now=TUESDAY_10, limit=4)
    assert everything.total == 11 and len(everything.items) == 4
    assert _numbers(everything)[0] == "CR-11"  # newest first
    midori = queue.queue_page(
        session=session, calendar=CAL, now=TUESDAY_10, customer="有限会社みどり設計"
    )
    assert _numbers(midori) == ["CR-10"]
    assert _numbers(
        queue.queue_page(session=session, calendar=CAL, now=TUESDAY_10, search="事務")
    ) == ["CR-10"]
    assert _numbers(
        queue.queue_page(session=session, calendar=CAL, now=TUESDAY_10, search="cr-1")
    ) == ["CR-11", "CR-10", "CR-1"]
    assert (
        _numbers(queue.queue_page(session=session, calendar=CAL, now=TUESDAY_10, search="100%"))
        == []
    )
    assert queue.customers_with_requests(session=session) == [
        "有限会社みどり設計",
        "株式会社さくら商事",
    ]


def test_a_request_is_not_cancelled_while_its_apply_is_under_way(session: Session) -> None:
    from changes import service
    from core.audit import Actor
    from core.errors import Conflict

    noc = Actor(name="noc-suzuki", role="noc")
    busy = _request(
        session, "CR-BUSY", "scheduled", claimed_for="apply", claimed_at=TUESDAY_10,
        scheduled_for=TUESDAY_10,
    )  # fmt: skip
    assert busy.id is not None
    try:
        service.cancel_request(
            session=session, actor=noc, request_id=busy.id,
            now=TUESDAY_10 + timedelta(minutes=2), reason="顧客都合",
        )  # fmt: skip
    except Conflict as refused:
        assert "under way" in refused.message
    else:
        raise AssertionError("cancelled while the apply was running")
    assert busy.status == "scheduled"
    # a claim left by a process that died (30 minutes) no longer holds the request
    late = service.cancel_request(
        session=session, actor=noc, request_id=busy.id,
        now=TUESDAY_10 + timedelta(minutes=31), reason="顧客都合",
    )  # fmt: skip
    assert late.status == "cancelled"
