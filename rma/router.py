"""Thin HTTP layer over the RMA services: /api/v1/rmas..."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from api.deps import (
    DashboardDep,
    Reader,
    RenderGateDep,
    SessionDep,
    SessionRoute,
    SettingsDep,
    guard,
    session_factory,
)
from api.pages import ItemsOut, PageOut, items_out, list_page
from api.params import Limit, Offset, RmaRef
from api.responses import csv_response
from core.audit import Actor
from core.policy import Operation
from core.timeutil import TOKYO, as_utc, utcnow
from rma import read_path, replacement, returns, service, views
from rma.domain import RmaStatus
from rma.notice_pdf import render_damage_notice
from rma.schemas import (
    ChargeOut,
    ChargeRowOut,
    DecideIn,
    ExtendIn,
    OpenIn,
    PickupIn,
    ReceiveIn,
    ReleaseIn,
    ReminderSentOut,
    ReserveIn,
    RmaOut,
    RmaPageOut,
    ShipIn,
    SwapIn,
    SweepOut,
    WaiveIn,
)
from rma.sweep import sweep

router = APIRouter(prefix="/rmas", tags=["rma"], route_class=SessionRoute)

Noc = Annotated[Actor, Depends(guard(Operation.RMA_OPEN))]
Logistics = Annotated[Actor, Depends(guard(Operation.RMA_LOGISTICS))]
Admin = Annotated[Actor, Depends(guard(Operation.RMA_CHARGE))]


def _out(session: Session, rma_id: int) -> RmaOut:
    rma = service.get_rma(session=session, rma_id=rma_id)
    return RmaOut.of(
        rma,
        service.charge_of(session=session, rma=rma),
        service.reminders_of(session=session, rma=rma),
        service.mismatches_of(session=session, rma=rma),
    )


@router.post("", response_model=RmaOut, status_code=201)
def open_rma(body: OpenIn, session: SessionDep, actor: Noc) -> RmaOut:
    now = utcnow()
    rma = service.open_rma(
        session=session,
        actor=actor,
        serial=body.serial,
        symptom=body.symptom,
        reporter=body.reporter,
        reported_at=as_utc(body.reported_at) if body.reported_at else now,
        now=now,
    )
    return _out(session, rma.id or 0)


@router.get("", response_model=RmaPageOut)
async def list_rmas(
    request: Request,
    actor: Reader,
    status: RmaStatus | None = None,
    serial: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """A page of RMAs by id; `serial` (the failed or the replacement unit's) is read past the
    ORM (`rma.read_path`, and past FastAPI when its parameters are plain)."""
    if serial is not None:
        body = await read_path.read_serial_page_json(request, serial, status, limit, offset)
        return Response(body, media_type=JSON)
    return await run_in_threadpool(_list_page, request, status, limit, offset)


def _list_page(request: Request, status: RmaStatus | None, limit: int, offset: int) -> Response:
    with session_factory(request)() as session:
        page = views.list_rmas(session=session, status=status, limit=limit, offset=offset)
        out = RmaPageOut(
            total=page.total, limit=limit, offset=offset, items=[RmaOut.of(r) for r in page.items]
        )
    return Response(read_path.PAGE_OUT.to_json(out), media_type=JSON)


JSON = "application/json"


@router.get("/export.csv", response_class=StreamingResponse)
def export_rmas(
    session: SessionDep, actor: Reader, status: RmaStatus | None = None
) -> StreamingResponse:
    """RMAs as CSV (UTF-8 with BOM, so Excel opens Japanese text correctly)."""
    return csv_response(list(views.export_rows(session=session, status=status)), "rmas.csv")


@router.get("/views/open-by-state", response_model=dict[str, int])
def open_by_state(session: SessionDep, actor: Reader) -> dict[str, int]:
    return views.open_by_state(session=session)


@router.get("/views/due-this-week", response_model=PageOut[RmaOut])
def due_this_week(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[RmaOut]:
    rows = views.due_this_week(session=session, now=utcnow())
    return list_page((RmaOut.of(r) for r in rows), limit=limit, offset=offset)


@router.get("/views/overdue", response_model=PageOut[RmaOut])
def overdue(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[RmaOut]:
    rows = views.overdue(session=session, now=utcnow())
    return list_page((RmaOut.of(r) for r in rows), limit=limit, offset=offset)


MonthQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, a Tokyo month from 1900-01 to 2199-12; the current one if omitted",
    ),
]


@router.get("/views/charges-this-month", response_model=PageOut[ChargeRowOut])
def charges_this_month(
    session: SessionDep,
    actor: Reader,
    month: MonthQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ChargeRowOut]:
    """Damage charges issued in a Tokyo month (this one unless `month` names another)."""
    when = utcnow()
    if month is not None:
        year, number = (int(part) for part in month.split("-"))
        when = datetime(year, number, 15, tzinfo=TOKYO)
    rows = (
        ChargeRowOut(number=rma.number, customer=rma.customer, charge=ChargeOut.of(charge))
        for charge, rma in views.charges_in_month(session=session, now=when)
    )
    return list_page(rows, limit=limit, offset=offset)


@router.post("/sweep", response_model=SweepOut)
def run_sweep(session: SessionDep, settings: SettingsDep, actor: Logistics) -> SweepOut:
    """Mark overdue RMAs and issue their one damage charge each."""
    report = sweep(
        session=session, actor=actor, now=utcnow(), tax_rate_percent=settings.tax_rate_percent
    )
    return SweepOut(overdue=report.overdue, charged=report.charged, total_yen=report.total_yen)


@router.post("/reminders/send", response_model=ItemsOut[ReminderSentOut])
def send_reminders(session: SessionDep, actor: Logistics) -> ItemsOut[ReminderSentOut]:
    sent = returns.send_due_reminders(session=session, actor=actor, now=utcnow())
    return items_out(ReminderSentOut.model_validate(s, from_attributes=True) for s in sent)


@router.get("/{rma_id}", response_model=RmaOut)
async def get_rma(rma_id: RmaRef, request: Request, actor: Reader) -> Response:
    """One RMA with its charge, reminders and mismatches (served by `rma.read_path.rma_fast`
    unless the number is malformed; this documents it)."""
    return Response(await read_path.read_rma_json(request, rma_id), media_type=JSON)


@router.post("/{rma_id}/decide", response_model=RmaOut)
def decide(rma_id: RmaRef, body: DecideIn, session: SessionDep, actor: Noc) -> RmaOut:
    service.decide(
        session=session,
        actor=actor,
        rma_id=rma_id,
        replace=body.replace,
        note=body.note,
        now=utcnow(),
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/reserve", response_model=RmaOut)
def reserve(
    rma_id: RmaRef, session: SessionDep, actor: Logistics, body: ReserveIn = ReserveIn()
) -> RmaOut:
    replacement.reserve_replacement(
        session=session, actor=actor, rma_id=rma_id, now=utcnow(), serial=body.serial
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/release", response_model=RmaOut)
def release(rma_id: RmaRef, body: ReleaseIn, session: SessionDep, actor: Logistics) -> RmaOut:
    """Give the reserved replacement back to stock; `reserve` then sets another aside."""
    replacement.release_replacement(
        session=session, actor=actor, rma_id=rma_id, reason=body.reason, now=utcnow()
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/ship", response_model=RmaOut)
def ship(
    rma_id: RmaRef, body: ShipIn, session: SessionDep, settings: SettingsDep, actor: Logistics
) -> RmaOut:
    now = utcnow()
    replacement.ship_replacement(
        session=session,
        actor=actor,
        rma_id=rma_id,
        courier=body.courier,
        tracking_number=body.tracking_number,
        shipped_at=as_utc(body.shipped_at) if body.shipped_at else now,
        policy=service.policy_from_settings(settings),
        now=now,
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/swap", response_model=RmaOut)
def swap(
    rma_id: RmaRef,
    session: SessionDep,
    settings: SettingsDep,
    dashboard: DashboardDep,
    actor: Logistics,
    body: SwapIn = SwapIn(),
) -> RmaOut:
    """Swap on the dashboard first; the database changes only if that succeeded."""
    replacement.swap_replacement(
        session=session,
        actor=actor,
        rma_id=rma_id,
        now=utcnow(),
        dashboard=dashboard if body.update_dashboard else None,
        organization_id=settings.meraki_org_id,
        swapped_by=body.swapped_by,
        swapped_by_name=body.swapped_by_name,
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/pickup", response_model=RmaOut)
def pickup(rma_id: RmaRef, body: PickupIn, session: SessionDep, actor: Logistics) -> RmaOut:
    service.request_pickup(
        session=session,
        actor=actor,
        rma_id=rma_id,
        pickup_date=body.pickup_date,
        courier=body.courier,
        tracking_number=body.tracking_number,
        now=utcnow(),
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/receive", response_model=RmaOut)
def receive(
    rma_id: RmaRef, body: ReceiveIn, session: SessionDep, settings: SettingsDep, actor: Logistics
) -> RmaOut:
    """A unit is back; a serial other than the failed unit's is an exception, never a close."""
    returns.receive_unit(
        session=session,
        actor=actor,
        rma_id=rma_id,
        serial=body.serial,
        disposition=body.disposition,
        policy=service.policy_from_settings(settings),
        now=utcnow(),
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/extend", response_model=RmaOut)
def extend(
    rma_id: RmaRef, body: ExtendIn, session: SessionDep, settings: SettingsDep, actor: Admin
) -> RmaOut:
    returns.extend_due_date(
        session=session,
        actor=actor,
        rma_id=rma_id,
        due_date=body.due_date,
        reason=body.reason,
        policy=service.policy_from_settings(settings),
        now=utcnow(),
    )
    return _out(session, rma_id)


@router.post("/{rma_id}/waive", response_model=RmaOut)
def waive(
    rma_id: RmaRef, body: WaiveIn, session: SessionDep, settings: SettingsDep, actor: Admin
) -> RmaOut:
    returns.waive_charge(
        session=session,
        actor=actor,
        rma_id=rma_id,
        reason=body.reason,
        now=utcnow(),
        tax_rate_percent=settings.tax_rate_percent,
    )
    return _out(session, rma_id)


@router.get("/{rma_id}/notice.pdf", response_class=Response)
def damage_notice_pdf(
    rma_id: RmaRef, session: SessionDep, gate: RenderGateDep, actor: Reader
) -> Response:
    """The damage-charge notice (機器損害金のご請求) as PDF, cached by its content."""
    notice = views.damage_notice(session=session, rma_id=rma_id)
    key = "rma-notice:" + hashlib.sha256(repr(notice).encode()).hexdigest()
    return Response(
        gate.render(key, partial(render_damage_notice, notice)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{notice.number}-notice.pdf"'},
    )
