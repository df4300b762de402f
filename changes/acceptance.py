"""After the work: the completion notice, the customer's acceptance or defect, auto-acceptance."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from changes import claims
from changes.domain import (
    SYSTEM_ACCEPTOR,
    ChangeStatus,
    acceptance_due,
    advance,
    defect_window_last_day,
)
from changes.mailer import MailNotSent
from changes.models import ChangeNotice, ChangeRequest, ChangeRequestEvent
from changes.notices import completion_notice
from changes.ports import Mailer, OutgoingMail
from changes.service import get_request, move, record_event, snapshot
from core.audit import SYSTEM, Actor
from core.errors import Conflict, Problem, ValidationFailed
from core.policy import four_eyes
from core.timeutil import show

COMPLETION = "completion"


def send_completion_notice(
    *,
    session: Session,
    actor: Actor,
    mailer: Mailer,
    request_id: int,
    now: datetime,
    acceptance_days: int,
    sender_name: str = "netkeep NOC",
) -> ChangeRequest:
    """Mail the customer that the work is done; the defect window starts with the notice."""
    req = get_request(session=session, request_id=request_id)
    if req.status != ChangeStatus.APPLIED:
        raise Conflict(
            f"change request {req.id} is {req.status}; only applied work is notified",
            status=req.status,
        )
    # claimed and committed before the mail goes out: one notice however many race, and no
    # write transaction held while the SMTP server answers
    claims.claim(session, req, "notice", statuses=[ChangeStatus.APPLIED], actor=actor, now=now)
    last_day = defect_window_last_day(now, acceptance_days)
    text = completion_notice(
        number=req.number,
        customer=req.customer,
        requester=req.requester,
        site=req.site_name,
        summary=req.summary,
        rows=req.plan_rows,
        applied_at=req.applied_at or now,
        window_last_day=last_day,
        days=acceptance_days,
        sender_name=sender_name,
    )
    try:
        message_id = mailer.send(
            OutgoingMail(to=req.notice_email, subject=text.subject, body=text.body)
        )
    except MailNotSent as exc:
        req.notice_error = exc.message[:500]
        claims.clear(req)
        record_event(
            session,
            req,
            action="notice_failed",
            to_status=req.status,
            actor=actor,
            now=now,
            note=exc.message,
            outcome="failed",
            before=snapshot(req),
        )
        session.commit()
        raise
    except Exception as exc:
        claims.release(session, req, actor=actor, now=now, note=str(exc) or type(exc).__name__)
        raise
    assert req.id is not None
    claims.clear(req)
    session.add(
        ChangeNotice(
            request_id=req.id,
            kind=COMPLETION,
            round=req.round,
            to=req.notice_email,
            subject=text.subject,
            message_id=message_id,
            sent_at=now,
            sent_by=actor.name,
        )
    )
    due = acceptance_due(now, acceptance_days)
    return move(
        session,
        req,
        ChangeStatus.NOTIFIED,
        action="notified",
        actor=actor,
        now=now,
        data={"to": req.notice_email, "message_id": message_id, "acceptance_due_at": due},
        apply_changes={"notified_at": now, "acceptance_due_at": due, "notice_error": None},
    )


def accept_request(
    *,
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    accepted_by: str,
    evidence: str,
) -> ChangeRequest:
    """The customer accepts the work: recorded with the signer's name and the evidence, by
    someone who neither submitted nor applied it (four-eyes)."""
    name, proof = accepted_by.strip(), evidence.strip()
    problems = [] if name else [Problem("the customer's name is required", "accepted_by")]
    if not proof:
        problems.append(Problem("say where the customer's acceptance is kept", "evidence"))
    if problems:
        raise ValidationFailed(problems)
    req = get_request(session=session, request_id=request_id)
    advance(req.status, ChangeStatus.ACCEPTED)  # an illegal move is refused as such first
    appliers = session.exec(
        select(ChangeRequestEvent.actor).where(
            ChangeRequestEvent.request_id == req.id, ChangeRequestEvent.action == "applied"
        )
    ).all()
    four_eyes(
        recorder=actor.name,
        authors=[req.submitted_by, *appliers],
        what=f"change request {req.id}",
    )
    return move(
        session,
        req,
        ChangeStatus.ACCEPTED,
        action="accepted",
        actor=actor,
        now=now,
        note=f"accepted by {name}",
        apply_changes={
            "accepted_at": now,
            "accepted_by": name[:200],
            "acceptance_evidence": proof[:500],
        },
    )


def report_defect(
    *,
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    description: str,
    reported_by: str = "",
) -> ChangeRequest:
    """A defect inside the window reopens the request for a corrected sheet and a new round."""
    text = description.strip()
    if not text:
        raise ValidationFailed([Problem("describe the defect", "description")])
    req = get_request(session=session, request_id=request_id)
    if (
        req.status == ChangeStatus.NOTIFIED
        and req.acceptance_due_at
        and now >= req.acceptance_due_at
    ):
        raise Conflict(
            f"change request {req.id}: the defect window ended {show(req.acceptance_due_at)}; "
            "the work counts as accepted (seed 001); open a new change request",
        )
    who = f" (reported by {reported_by.strip()})" if reported_by.strip() else ""
    move(
        session,
        req,
        ChangeStatus.DEFECT_REPORTED,
        action="defect_reported",
        actor=actor,
        now=now,
        note=text + who,
        apply_changes={"defect": (text + who)[:2000]},
    )
    return move(
        session,
        req,
        ChangeStatus.REOPENED,
        action="reopened",
        actor=actor,
        now=now,
        note=f"round {req.round + 1}",
        apply_changes={
            "round": req.round + 1,
            "approved_by": None,
            "approved_at": None,
            "scheduled_for": None,
            "emergency_reason": None,
            "emergency_by": None,
            "acceptance_due_at": None,
        },
    )


def sweep_acceptance(*, session: Session, now: datetime) -> list[ChangeRequest]:
    """Accept every notified request whose defect window has ended; running it twice is a no-op."""
    stmt = (
        select(ChangeRequest)
        .where(
            ChangeRequest.status == ChangeStatus.NOTIFIED.value,
            col(ChangeRequest.acceptance_due_at) <= now,
        )
        .order_by(col(ChangeRequest.id))
        .with_for_update(skip_locked=True)  # PostgreSQL: two sweeps never accept one request twice
    )
    accepted = []
    for req in session.exec(stmt):
        accepted.append(
            move(
                session,
                req,
                ChangeStatus.ACCEPTED,
                action="auto_accepted",
                actor=SYSTEM,
                now=now,
                note=f"no defect reported by {show(req.acceptance_due_at)}",
                apply_changes={"accepted_at": now, "accepted_by": SYSTEM_ACCEPTOR},
            )
        )
    return accepted
