"""Thin HTTP layer over the SLA services: /api/v1/sla/..."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from api.deps import Reader, RenderGateDep, SessionDep, SessionRoute, guard
from api.params import Id
from api.responses import csv_response
from core.audit import Actor
from core.policy import Operation
from core.timeutil import as_utc, utcnow
from sla import causes, service
from sla.models import SlaOutage
from sla.report_pdf import render_credit_report
from sla.schemas import (
    CauseIn,
    CauseOut,
    CreditReportOut,
    OutageEndIn,
    OutageIn,
    OutageOut,
    PolicyIn,
    PolicyOut,
)

router = APIRouter(prefix="/sla", tags=["sla"], route_class=SessionRoute)

Admin = Annotated[Actor, Depends(guard(Operation.SLA_POLICY))]
Noc = Annotated[Actor, Depends(guard(Operation.SLA_OUTAGE))]
Month = Annotated[
    str,
    Query(
        pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, a Tokyo month from 1900-01 to 2199-12",
    ),
]


def _outage_out(outage: SlaOutage, contract: str) -> OutageOut:
    assert outage.id is not None
    return OutageOut(
        id=outage.id,
        contract=contract,
        started_at=outage.started_at,
        learned_at=outage.learned_at,
        ended_at=outage.ended_at,
        cause=outage.cause,
    )


@router.put("/policies/{contract}", response_model=PolicyOut)
def set_policy(contract: str, body: PolicyIn, session: SessionDep, actor: Admin) -> PolicyOut:
    """A contract's tax-exclusive monthly fee and credit basis (seed 004 or seed 000)."""
    policy = service.set_policy(
        session=session,
        actor=actor,
        contract_number=contract,
        monthly_fee_yen=body.monthly_fee_yen,
        basis=body.basis,
        now=utcnow(),
    )
    return PolicyOut(contract=contract, monthly_fee_yen=policy.monthly_fee_yen, basis=policy.basis)


@router.post("/outages", response_model=OutageOut, status_code=201)
def record_outage(body: OutageIn, session: SessionDep, actor: Noc) -> OutageOut:
    """A period the service was completely unusable; learned_at defaults to the start."""
    started = as_utc(body.started_at)
    outage = service.record_outage(
        session=session,
        actor=actor,
        contract_number=body.contract,
        started_at=started,
        learned_at=as_utc(body.learned_at) if body.learned_at else started,
        ended_at=as_utc(body.ended_at) if body.ended_at else None,
        cause=body.cause,
        note=body.note,
        now=utcnow(),
    )
    return _outage_out(outage, body.contract)


@router.post("/outages/{outage_id}/end", response_model=OutageOut)
def end_outage(outage_id: Id, body: OutageEndIn, session: SessionDep, actor: Noc) -> OutageOut:
    outage = service.end_outage(
        session=session,
        actor=actor,
        outage_id=outage_id,
        ended_at=as_utc(body.ended_at),
        now=utcnow(),
    )
    return _outage_out(outage, service.contract_number_of(session=session, outage=outage))


@router.post("/outages/{outage_id}/cause", response_model=CauseOut)
def set_cause(
    outage_id: Id,
    body: CauseIn,
    session: SessionDep,
    actor: Noc,
    monitoring: Annotated[
        bool, Query(description="outage_id is a monitoring outage's id (/api/v1/outages)")
    ] = False,
) -> CauseOut:
    """Correct an outage's cause (monitoring records the provider's); the credit follows,
    shown before and after (null while ongoing or without an SLA policy)."""
    change = causes.set_cause(
        session=session,
        actor=actor,
        outage_id=outage_id,
        cause=body.cause,
        note=body.note,
        now=utcnow(),
        source=causes.MONITORING_SOURCE if monitoring else None,
    )
    assert change.outage.id is not None
    return CauseOut(
        id=change.outage.id,
        contract=change.contract,
        cause=change.outage.cause,
        cause_before=change.before.value,
        credit_before_yen=change.credit_before_yen,
        credit_yen=change.credit_yen,
    )


@router.get("/credits", response_model=CreditReportOut)
def credits(month: Month, session: SessionDep, actor: Reader) -> CreditReportOut:
    """The month's SLA credits per contract and per outage."""
    return CreditReportOut.of(service.credit_report(session=session, month=month))


@router.get("/credits.csv", response_class=StreamingResponse)
def credits_csv(month: Month, session: SessionDep, actor: Reader) -> StreamingResponse:
    report = service.credit_report(session=session, month=month)
    return csv_response(service.report_csv_rows(report), f"sla-credits-{month}.csv")


@router.get("/credits.pdf", response_class=Response)
def credits_pdf(month: Month, session: SessionDep, gate: RenderGateDep, actor: Reader) -> Response:
    """The month's credit report (SLA減額明細) as a Japanese PDF."""
    report = service.credit_report(session=session, month=month)
    key = "sla-credits:" + hashlib.sha256(repr(report).encode()).hexdigest()
    return Response(
        gate.render(key, partial(render_credit_report, report)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="sla-credits-{month}.pdf"'},
    )
