"""What a customer sees of its change requests (the portal), and its own answer to the
completion notice: accept the work, or report a defect, within the week (seed 001).

Every read takes the customer and filters on it in SQL; another customer's request is answered
as absent. The staff path (`acceptance.accept_request`) records an acceptance the customer gave
elsewhere, four-eyes; here the customer answers itself, so the recorder is the customer's actor
(`customer:<account>`), never one of the staff who submitted or applied the work.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from changes.acceptance import accept_request, report_defect
from changes.domain import ChangeStatus
from changes.models import ChangeRequest
from core.audit import Actor
from core.errors import Conflict, NotFound, PermissionDenied
from core.paging import Page, page_of_query
from core.timeutil import as_utc, show

CUSTOMER_ROLE = "customer"


def customer_changes(
    *, session: Session, customer: str, limit: int = 100, offset: int = 0
) -> Page[ChangeRequest]:
    """The customer's change requests, newest first."""
    stmt = (
        select(ChangeRequest)
        .where(ChangeRequest.customer == customer)
        .order_by(col(ChangeRequest.id).desc())
    )
    return page_of_query(session, stmt, limit=limit, offset=offset)


def customer_change(
    *, session: Session, customer: str, request_id: int, for_update: bool = False
) -> ChangeRequest:
    """One of the customer's requests; someone else's is NotFound, worded as a missing one."""
    stmt = select(ChangeRequest).where(
        ChangeRequest.id == request_id, ChangeRequest.customer == customer
    )
    found = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if found is None:
        raise NotFound(f"no change request {request_id}", request_id=request_id)
    return found


def answerable(req: ChangeRequest, now: datetime) -> bool:
    """Whether the customer may still accept or report a defect: notified, inside the week."""
    return (
        req.status == ChangeStatus.NOTIFIED
        and req.acceptance_due_at is not None
        and now < as_utc(req.acceptance_due_at)
    )


def _customer_only(actor: Actor) -> None:
    if actor.role != CUSTOMER_ROLE:
        raise PermissionDenied(
            "only the customer answers in the portal; staff record its answer instead",
            role=actor.role,
        )


def _inside_window(req: ChangeRequest, now: datetime) -> None:
    if req.status == ChangeStatus.NOTIFIED and not answerable(req, now):
        due = show(req.acceptance_due_at) if req.acceptance_due_at else "?"
        raise Conflict(
            f"change request {req.id}: the week to answer ended {due}; "
            "the work counts as accepted (seed 001)",
            request_id=req.id,
        )


def evidence_of(actor: Actor) -> str:
    return f"netkeep portal: {actor.name}"


def accept_as_customer(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    signer: str,
    request_id: int,
    now: datetime,
) -> ChangeRequest:
    """The customer accepts the notified work inside its week; accepting again what this actor
    already accepted changes nothing (a double submit has one effect)."""
    _customer_only(actor)
    req = customer_change(
        session=session, customer=customer, request_id=request_id, for_update=True
    )
    if req.status == ChangeStatus.ACCEPTED and req.acceptance_evidence == evidence_of(actor):
        return req
    _inside_window(req, now)
    return accept_request(
        session=session,
        actor=actor,
        request_id=request_id,
        now=now,
        accepted_by=signer,
        evidence=evidence_of(actor),
    )


def report_defect_as_customer(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    signer: str,
    request_id: int,
    description: str,
    now: datetime,
) -> ChangeRequest:
    """The customer reports a defect inside the week: the request reopens for a new round."""
    _customer_only(actor)
    req = customer_change(
        session=session, customer=customer, request_id=request_id, for_update=True
    )
    _inside_window(req, now)
    return report_defect(
        session=session,
        actor=actor,
        request_id=request_id,
        now=now,
        description=description,
        reported_by=signer,
    )
