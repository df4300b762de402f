"""Thin HTTP layer: the Meraki webhook receiver (/webhooks/meraki) and /api/v1/outages, alerts."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import Reader, SessionDep, SessionRoute, SettingsDep, guard, session_factory
from api.pages import PageOut, page_out
from api.params import Id, Limit, Offset
from core.audit import SYSTEM, Actor
from core.errors import PayloadTooLarge
from core.keys import installation_key
from core.paging import page_of_query
from core.policy import Operation
from core.settings import Settings, business_calendar, monitor_organizations
from core.timeutil import utcnow
from dashboard.monitoring import MerakiMonitoring
from monitoring import alerts, contacts, notices, service
from monitoring.domain import Debounce
from monitoring.ingest import AlertWriter
from monitoring.polling import poll_organizations
from monitoring.schemas import (
    AlertOut,
    ContactIn,
    ContactOut,
    NoticeOut,
    OutageOut,
    PollsOut,
    ReceivedOut,
    RmaFromOutageIn,
)

webhook_router = APIRouter(tags=["monitoring"], route_class=SessionRoute)
router = APIRouter(tags=["monitoring"], route_class=SessionRoute)
Noc = Annotated[Actor, Depends(guard(Operation.MONITOR))]
ContactKeeper = Annotated[Actor, Depends(guard(Operation.NOTICE_CONTACTS))]


def get_monitoring(request: Request) -> MerakiMonitoring:
    """The process's monitoring adapter, built on first use."""
    found: MerakiMonitoring | None = getattr(request.app.state, "monitoring_dashboard", None)
    if found is None:
        found = MerakiMonitoring.from_settings(request.app.state.settings)
        request.app.state.monitoring_dashboard = found
    return found


MonitoringDep = Annotated[MerakiMonitoring, Depends(get_monitoring)]


def receiver_policy(settings: Settings) -> alerts.ReceiverPolicy:
    secret = settings.monitor_webhook_secret
    return alerts.policy_from(
        secret=secret.get_secret_value() if secret else None,
        allow_without_secret=settings.monitor_webhook_allow_without_secret,
        max_age_seconds=settings.monitor_webhook_max_age_seconds,
    )


async def _limited_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"a webhook body is at most {max_bytes} bytes", limit=max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"a webhook body is at most {max_bytes} bytes", limit=max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def alert_writer(request: Request) -> AlertWriter:
    """The app's one writer of webhook alerts (monitoring.ingest), made on first use."""
    state = request.app.state
    found: AlertWriter | None = getattr(state, "alert_writer", None)
    if found is None:
        found = state.alert_writer = AlertWriter(
            session_factory=lambda: state.session_factory,
            actor=SYSTEM,
            calendar=business_calendar(state.settings),
        )
    return found


WEBHOOK_PATH = "/webhooks/meraki"


@webhook_router.post(WEBHOOK_PATH, response_model=ReceivedOut, status_code=202)
async def meraki_webhook(request: Request) -> ReceivedOut:
    """A dashboard alert: 401 wrong secret, 409 replayed alertId, 422 malformed or stale, 413.

    Checked here (no thread, no session), stored by the app's alert writer in a batch with
    the alerts arriving meanwhile; answered once the batch is committed."""
    settings: Settings = request.app.state.settings
    raw = await _limited_body(request, settings.monitor_webhook_max_bytes)
    now = utcnow()
    body = alerts.check_payload(raw, policy=receiver_policy(settings), now=now)
    received = await asyncio.wrap_future(alert_writer(request).submit(body, now))
    return ReceivedOut(received=received.alert_id, kind=received.kind, outage_id=received.outage_id)


async def meraki_webhook_fast(request: Request) -> Response:
    """The same receiver, served by `api.app.HotReadDispatcher` past FastAPI's routing and
    middleware (the app's armour, error mapping and request ids still apply)."""
    out = await meraki_webhook(request)
    return Response(out.model_dump_json(), status_code=202, media_type="application/json")


@router.get("/outages", response_model=PageOut[OutageOut])
def list_outages(
    session: SessionDep,
    actor: Reader,
    open_only: bool = False,
    serial: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[OutageOut]:
    """Outages, newest first (`open_only`: the devices still down)."""
    query = service.outages_query(open_only=open_only, serial=serial)
    page = page_of_query(session, query, limit=limit, offset=offset)
    return page_out(page, OutageOut.of, limit=limit, offset=offset)


@router.get("/outages/{outage_id}", response_model=OutageOut)
def get_outage(outage_id: Id, session: SessionDep, actor: Reader) -> OutageOut:
    return OutageOut.of(service.get_outage(session=session, outage_id=outage_id))


@router.post("/outages/{outage_id}/rma", response_model=OutageOut, status_code=201)
def open_rma(
    outage_id: Id, session: SessionDep, actor: Noc, body: RmaFromOutageIn = RmaFromOutageIn()
) -> OutageOut:
    """Open the RMA for the outage's device; the outage names it (409 if it already has one)."""
    outage = service.open_rma_for_outage(
        session=session, outage_id=outage_id, actor=actor, reporter=body.reporter, now=utcnow()
    )
    return OutageOut.of(outage)


@router.get("/alerts", response_model=PageOut[AlertOut])
def list_alerts(
    session: SessionDep,
    actor: Reader,
    serial: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[AlertOut]:
    """Alerts the dashboard's webhooks sent, newest first."""
    page = page_of_query(session, alerts.alerts_query(serial=serial), limit=limit, offset=offset)
    return page_out(page, AlertOut.of, limit=limit, offset=offset)


@router.get("/notices", response_model=PageOut[NoticeOut])
def list_notices(
    session: SessionDep,
    actor: Reader,
    unsent_only: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[NoticeOut]:
    """Failure notices: when detected, when due (the window's start), when sent, attempts."""
    query = notices.notices_query(unsent_only=unsent_only)
    page = page_of_query(session, query, limit=limit, offset=offset)
    return page_out(
        page,
        lambda n: NoticeOut.of(n, notices.contact_of(session=session, notice=n)),
        limit=limit,
        offset=offset,
    )


@router.post("/monitor/poll", response_model=PollsOut)
def poll(request: Request, settings: SettingsDep, dashboard: MonitoringDep, actor: Noc) -> PollsOut:
    """Poll every monitored organization's liveness now, side by side (the worker does it on
    its schedule); one organization failing is listed in `failed`, the others are recorded
    (when every one fails, the first failure is the answer).

    Per organization the baseline is read and that read ended, the dashboard is read with no
    transaction open, then the outcome is written in one short write transaction (so a slow
    dashboard never holds the database's write lock).
    """
    done = poll_organizations(
        session_factory=session_factory(request),
        dashboard=dashboard,
        organization_ids=monitor_organizations(settings),
        actor=actor,
        now=utcnow(),
        debounce=Debounce(settings.monitor_debounce_polls, settings.monitor_debounce_minutes),
        prefer_change_history=settings.monitor_change_history,
        calendar=business_calendar(settings),
    )
    done.raise_if_none_polled()
    return PollsOut.of(done)


@router.get("/contacts", response_model=PageOut[ContactOut])
def list_contacts(
    session: SessionDep,
    actor: ContactKeeper,
    customer: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ContactOut]:
    """Where failure notices go (active contacts); a webhook's secret is shown masked."""
    query = contacts.contacts_query(customer=customer)
    page = page_of_query(session, query, limit=limit, offset=offset)
    return page_out(page, ContactOut.of, limit=limit, offset=offset)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: Id, session: SessionDep, actor: ContactKeeper) -> ContactOut:
    return ContactOut.of(contacts.get_contact(session=session, contact_id=contact_id))


@router.post("/contacts", response_model=ContactOut, status_code=201)
def add_contact(
    body: ContactIn, session: SessionDep, settings: SettingsDep, actor: ContactKeeper
) -> ContactOut:
    """Add a mail address or a webhook URL with its HMAC secret (stored encrypted, never shown)."""
    contact = contacts.add_contact(
        session=session,
        actor=actor,
        customer=body.customer,
        channel=body.channel,
        address=body.address,
        secret_name=body.secret_name,
        secret=body.secret.get_secret_value() if body.secret is not None else None,
        cipher=installation_key(settings).fernet() if body.secret is not None else None,
        now=utcnow(),
    )
    return ContactOut.of(contact)


@router.delete("/contacts/{contact_id}", status_code=204)
def remove_contact(contact_id: Id, session: SessionDep, actor: ContactKeeper) -> Response:
    """Stop sending notices there (a secret netkeep stored for it is deleted)."""
    contacts.remove_contact(session=session, actor=actor, contact_id=contact_id, now=utcnow())
    return Response(status_code=204)
