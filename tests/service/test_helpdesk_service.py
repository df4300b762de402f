"""Helpdesk incidents through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.audit import history
from core.calendar import BusinessCalendar
from core.errors import InvalidTransition, ValidationFailed
from core.models import AuditEntry
from core.settings import Settings
from helpdesk import service
from helpdesk.domain import Cause, Channel, CloseReason, IncidentKind
from helpdesk.models import Incident
from helpdesk.service import Question
from inventory.contracts import create_contract
from inventory.domain import Plan
from jobs.catalogue import BY_NAME, JobContext
from tests.service.helpers import ACTOR

JST = ZoneInfo("Asia/Tokyo")
RECEIVED = datetime(2026, 4, 28, 10, 0, tzinfo=JST)
ANSWERED = datetime(2026, 4, 30, 15, 0, tzinfo=JST)  # → open all of May 5, closed May 6 00:00
FAULT = IncidentKind.FAULT


@pytest.fixture
def contract(session: Session) -> str:
    create_contract(
        session=session, actor=ACTOR, number="HD-1", customer="株式会社A", plan=Plan.UTM
    )
    create_contract(
        session=session, actor=ACTOR, number="HD-2", customer="株式会社B", plan=Plan.UTM
    )
    session.flush()
    return "HD-1"


def open_one(
    session: Session, contract: str, kind: IncidentKind = IncidentKind.QUESTION, **kw: object
) -> Incident:
    at = kw.pop("received_at", RECEIVED)
    now = kw.pop("now", at)
    assert isinstance(at, datetime) and isinstance(now, datetime)
    return service.open_contact(
        session=session,
        actor=ACTOR,
        contract_number=contract,
        questions=[Question("VPN is down", kind)],
        channel=Channel.PHONE,
        reporter="山田",
        received_at=at,
        now=now,
        **kw,  # type: ignore[arg-type]
    )[0]


def test_a_contact_with_three_questions_makes_three_incidents(
    session: Session, contract: str
) -> None:
    made = service.open_contact(
        session=session,
        actor=ACTOR,
        contract_number=contract,
        questions=[
            Question("SSID を追加したい"),
            Question("VPN が切れる", FAULT),
            Question("請求書"),
        ],
        channel=Channel.MAIL,
        reporter="山田",
        received_at=RECEIVED,
        now=RECEIVED,
    )
    assert [i.status for i in made] == ["open", "open", "open"]
    assert [i.kind for i in made] == ["question", "fault", "question"]
    assert len({i.contact_ref for i in made}) == 1
    assert len({i.id for i in made}) == 3
    for incident in made:
        entries = history(session=session, entity_type="incident", entity_id=incident.number)
        assert [e.action for e in entries] == ["incident.open"]


def test_an_invalid_contact_changes_nothing_and_locates_each_problem(
    session: Session, contract: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.open_contact(
            session=session,
            actor=ACTOR,
            contract_number=contract,
            questions=[Question("ok"), Question("  ")],
            channel=Channel.PHONE,
            reporter=" ",
            received_at=RECEIVED,
            now=RECEIVED,
        )
    assert {p.location for p in info.value.problems} == {"questions[1]", "reporter"}
    with pytest.raises(ValidationFailed) as future:
        open_one(session, contract, received_at=RECEIVED, now=RECEIVED - timedelta(minutes=1))
    assert [p.location for p in future.value.problems] == ["received_at"]
    assert session.exec(select(Incident)).all() == []


def test_the_fourth_fault_response_in_a_month_is_flagged_before_acceptance(
    session: Session, contract: str
) -> None:
    for day in (1, 2, 3):
        open_one(session, contract, FAULT, received_at=datetime(2026, 5, day, 10, tzinfo=JST))
    # A question is not a fault response; another contract has its own count.
    open_one(session, contract, received_at=datetime(2026, 5, 4, 10, tzinfo=JST))
    open_one(session, "HD-2", FAULT, received_at=datetime(2026, 5, 4, 10, tzinfo=JST))
    fourth = datetime(2026, 5, 31, 23, 59, tzinfo=JST)
    with pytest.raises(ValidationFailed) as info:
        open_one(session, contract, FAULT, received_at=fourth)
    (problem,) = info.value.problems
    assert problem.location == "contract HD-1 / 2026-05 / questions[0]"
    assert "fault response 4" in problem.message
    assert (
        service.fault_responses_in_month(session=session, contract_id=_id(session), month="2026-05")
        == 3
    )
    confirmed = open_one(session, contract, FAULT, received_at=fourth, confirm_over_limit=True)
    assert confirmed.over_limit is True
    # June starts a new count (the Tokyo month: Jun 1 00:00 JST is May 31 15:00 UTC).
    june = open_one(session, contract, FAULT, received_at=datetime(2026, 6, 1, 0, 0, tzinfo=JST))
    assert june.over_limit is False
    counts = {c.contract: c for c in service.monthly_counts(session=session, month="2026-05")}
    assert (
        counts["HD-1"].incidents,
        counts["HD-1"].fault_responses,
        counts["HD-1"].over_limit,
    ) == (
        5,
        4,
        1,
    )
    assert (counts["HD-2"].incidents, counts["HD-2"].fault_responses) == (1, 1)


def _id(session: Session) -> int:
    from inventory.contracts import get_contract

    cid = get_contract(session=session, number="HD-1").id
    assert cid is not None
    return cid


def test_a_contact_with_two_faults_past_the_limit_refuses_both(
    session: Session, contract: str
) -> None:
    for day in (1, 2):
        open_one(session, contract, FAULT, received_at=datetime(2026, 5, day, 10, tzinfo=JST))
    with pytest.raises(ValidationFailed) as info:
        service.open_contact(
            session=session,
            actor=ACTOR,
            contract_number=contract,
            questions=[Question("a", FAULT), Question("b"), Question("c", FAULT)],
            channel=Channel.PHONE,
            reporter="山田",
            received_at=datetime(2026, 5, 3, 10, tzinfo=JST),
            now=datetime(2026, 5, 3, 10, tzinfo=JST),
        )
    assert [p.location for p in info.value.problems] == ["contract HD-1 / 2026-05 / questions[2]"]
    assert (
        service.fault_responses_in_month(session=session, contract_id=_id(session), month="2026-05")
        == 2
    )


@pytest.mark.parametrize(
    ("now", "closed"),
    [
        (datetime(2026, 5, 5, 23, 59, tzinfo=JST), False),
        (datetime(2026, 5, 6, 0, 0, tzinfo=JST), True),
        (datetime(2026, 5, 6, 0, 1, tzinfo=JST), True),
        # five days ± 1 minute after the answer itself: still open (the answer's day is not counted)
        (ANSWERED + timedelta(days=5, minutes=-1), False),
        (ANSWERED + timedelta(days=5, minutes=1), False),
    ],
)
def test_sweep_closes_five_days_after_the_answer(
    session: Session, contract: str, now: datetime, closed: bool
) -> None:
    incident = open_one(session, contract)
    assert incident.id is not None
    service.answer(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        text="再起動で復旧",
        answered_at=ANSWERED,
        now=ANSWERED,
    )
    swept = service.sweep(session=session, actor=ACTOR, now=now)
    assert [i.id for i in swept] == ([incident.id] if closed else [])
    session.flush()
    session.refresh(incident)
    if closed:
        assert (incident.status, incident.close_reason) == ("closed", "no_reply")
        assert incident.closed_at == datetime(2026, 5, 6, 0, 0, tzinfo=JST)
        actions = [
            e.action
            for e in history(session=session, entity_type="incident", entity_id=incident.number)
        ]
        assert actions == ["incident.open", "incident.answer", "incident.auto_close"]
        assert service.sweep(session=session, actor=ACTOR, now=now) == []  # idempotent
    else:
        assert incident.status == "answered"


def test_a_reply_stops_the_clock_and_the_next_answer_restarts_it(
    session: Session, contract: str
) -> None:
    incident = open_one(session, contract)
    assert incident.id is not None
    iid = incident.id
    service.answer(
        session=session, actor=ACTOR, incident_id=iid, text="a", answered_at=ANSWERED, now=ANSWERED
    )
    reply = datetime(2026, 5, 2, 9, 0, tzinfo=JST)
    service.customer_reply(
        session=session, actor=ACTOR, incident_id=iid, replied_at=reply, now=reply
    )
    assert service.sweep(session=session, actor=ACTOR, now=datetime(2026, 5, 20, tzinfo=JST)) == []
    again = datetime(2026, 5, 20, 10, 0, tzinfo=JST)
    service.answer(
        session=session, actor=ACTOR, incident_id=iid, text="b", answered_at=again, now=again
    )
    assert (
        service.sweep(session=session, actor=ACTOR, now=datetime(2026, 5, 25, 23, 59, tzinfo=JST))
        == []
    )
    assert [
        i.id
        for i in service.sweep(session=session, actor=ACTOR, now=datetime(2026, 5, 26, tzinfo=JST))
    ] == [iid]


def test_close_by_consent_or_solution_and_never_twice(session: Session, contract: str) -> None:
    first, second = open_one(session, contract), open_one(session, contract)
    assert first.id is not None and second.id is not None
    service.close(
        session=session, actor=ACTOR, incident_id=first.id, reason=CloseReason.SOLVED, now=RECEIVED
    )
    service.answer(
        session=session,
        actor=ACTOR,
        incident_id=second.id,
        text="a",
        answered_at=ANSWERED,
        now=ANSWERED,
    )
    done = service.close(
        session=session,
        actor=ACTOR,
        incident_id=second.id,
        reason=CloseReason.CONSENT,
        cause=Cause.CUSTOMER,
        now=ANSWERED,
    )
    assert (done.status, done.close_reason, done.cause) == ("closed", "consent", "customer")
    with pytest.raises(InvalidTransition):
        service.close(
            session=session,
            actor=ACTOR,
            incident_id=first.id,
            reason=CloseReason.CONSENT,
            now=ANSWERED,
        )
    with pytest.raises(InvalidTransition):
        service.answer(
            session=session,
            actor=ACTOR,
            incident_id=first.id,
            text="late",
            answered_at=ANSWERED,
            now=ANSWERED,
        )
    with pytest.raises(ValidationFailed):
        service.close(
            session=session,
            actor=ACTOR,
            incident_id=second.id,
            reason=CloseReason.NO_REPLY,
            now=ANSWERED,
        )


def test_after_hours_work_billed_only_outside_hours_and_for_customer_causes(
    session: Session, contract: str
) -> None:
    calendar = BusinessCalendar()
    incident = open_one(session, contract)
    assert incident.id is not None
    # Saturday 2026-05-09 18:00 JST: the desk (Mon–Sat 8:30–18:00) has just closed.
    evening = datetime(2026, 5, 9, 18, 0, tzinfo=JST)
    billed = service.bill_after_hours(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        work_started_at=evening,
        minutes=45,
        cause=Cause.CUSTOMER,
        calendar=calendar,
        now=evening,
    )
    assert (
        billed.after_hours_minutes,
        billed.after_hours_net_yen,
        billed.after_hours_tax_yen,
        billed.after_hours_total_yen,
    ) == (45, 6_000, 600, 6_600)
    # Another 15 minutes: 60 minutes in all is still two half hours.
    more = service.bill_after_hours(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        work_started_at=evening + timedelta(hours=2),
        minutes=15,
        cause=Cause.CUSTOMER,
        calendar=calendar,
        now=evening,
    )
    assert (more.after_hours_minutes, more.after_hours_total_yen) == (60, 6_600)
    entries = history(session=session, entity_type="incident", entity_id=incident.number)
    assert [e.action for e in entries][-2:] == ["incident.after_hours", "incident.after_hours"]
    assert entries[-1].before is not None and entries[-1].before["after_hours_total_yen"] == 6_600
    inside = datetime(2026, 5, 9, 17, 59, tzinfo=JST)
    with pytest.raises(ValidationFailed) as info:
        service.bill_after_hours(
            session=session,
            actor=ACTOR,
            incident_id=incident.id,
            work_started_at=inside,
            minutes=30,
            cause=Cause.CUSTOMER,
            calendar=calendar,
            now=inside,
        )
    assert [p.location for p in info.value.problems] == ["work_started_at"]
    free = open_one(session, contract)
    assert free.id is not None
    sunday = datetime(2026, 5, 10, 11, 0, tzinfo=JST)
    provider = service.bill_after_hours(
        session=session,
        actor=ACTOR,
        incident_id=free.id,
        work_started_at=sunday,
        minutes=90,
        cause=Cause.PROVIDER,
        calendar=calendar,
        now=sunday,
    )
    assert (provider.after_hours_minutes, provider.after_hours_total_yen) == (90, 0)


def test_every_change_is_audited(session: Session, contract: str) -> None:
    before = len(session.exec(select(AuditEntry)).all())
    incident = open_one(session, contract)
    assert incident.id is not None
    service.answer(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        text="a",
        answered_at=ANSWERED,
        now=ANSWERED,
    )
    service.customer_reply(
        session=session, actor=ACTOR, incident_id=incident.id, replied_at=ANSWERED, now=ANSWERED
    )
    service.close(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        reason=CloseReason.SOLVED,
        now=ANSWERED,
    )
    entries = history(session=session, entity_type="incident", entity_id=incident.number)
    assert [(e.before or {}).get("status") for e in entries] == [None, "open", "answered", "open"]
    assert [(e.after or {}).get("status") for e in entries] == [
        "open",
        "answered",
        "open",
        "closed",
    ]
    assert len(session.exec(select(AuditEntry)).all()) == before + 4


def test_the_periodic_job_closes_at_its_tick_once(
    session: Session, contract: str, settings: Settings
) -> None:
    incident = open_one(session, contract)
    assert incident.id is not None
    service.answer(
        session=session,
        actor=ACTOR,
        incident_id=incident.id,
        text="a",
        answered_at=ANSWERED,
        now=ANSWERED,
    )
    bind = session.get_bind()
    ctx = JobContext(
        settings=settings,
        engine=bind if isinstance(bind, Engine) else bind.engine,
        session_factory=lambda: nullcontext(session),
    )
    job = BY_NAME["helpdesk.auto_close"]
    assert job.run(ctx, datetime(2026, 5, 5, 23, 20, tzinfo=JST)) == {"closed": []}
    assert job.run(ctx, datetime(2026, 5, 6, 0, 20, tzinfo=JST)) == {"closed": [incident.number]}
    assert job.run(ctx, datetime(2026, 5, 6, 1, 20, tzinfo=JST)) == {"closed": []}
    entries = history(session=session, entity_type="incident", entity_id=incident.number)
    assert (entries[-1].action, entries[-1].actor) == ("incident.auto_close", "system")


@pytest.mark.parametrize("month", ["2026-13", "0000-01", "9999-12", "2026/05"])
def test_a_bad_month_is_a_located_problem(session: Session, month: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        service.monthly_counts(session=session, month=month)
    assert [p.location for p in info.value.problems] == ["month"]
    with pytest.raises(ValidationFailed):
        service.list_incidents(session=session, month=month)
