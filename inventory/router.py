"""Thin HTTP layer over the inventory and contract services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.responses import StreamingResponse

from api.deps import (
    DashboardDep,
    Reader,
    SessionDep,
    SessionRoute,
    SettingsDep,
    bearer_token,
    guard,
    permitted,
    read_derived_at,
)
from api.identity import TokenCache
from api.pages import PageOut, list_page
from api.params import Limit, Offset
from api.responses import csv_response
from api.uploads import read_upload
from core import audit
from core.audit import Actor
from core.errors import Problem, ValidationFailed
from core.policy import Operation, allowed_roles
from core.timeutil import as_utc, parse_instant, utcnow
from inventory import contracts as contract_service
from inventory import importer, reconcile, service, stale_holds
from inventory.domain import ContractStatus, DeviceStatus
from inventory.schemas import (
    Acceptance,
    AttachDevice,
    AuditOut,
    CatalogueIn,
    CatalogueOut,
    ContractEndOut,
    ContractIn,
    ContractOut,
    DeviceOut,
    DevicePageOut,
    DeviceUpdate,
    EndNotice,
    ImportOut,
    InitialFeePaid,
    OwnershipEventOut,
    OwnershipOut,
    ProblemOut,
    ReconcileOut,
    ReleaseHoldIn,
    ReturnIn,
    StatusChange,
)

router = APIRouter(tags=["inventory"], route_class=SessionRoute)
contracts_router = APIRouter(tags=["contracts"], route_class=SessionRoute)

Editor = Annotated[Actor, Depends(guard(Operation.DEVICE_EDIT))]
Mover = Annotated[Actor, Depends(guard(Operation.DEVICE_STATUS))]
Stock = Annotated[Actor, Depends(guard(Operation.INVENTORY_STOCK))]
Cataloguer = Annotated[Actor, Depends(guard(Operation.CATALOGUE_EDIT))]
ContractAdmin = Annotated[Actor, Depends(guard(Operation.CONTRACT_MANAGE))]
Installer = Annotated[Actor, Depends(guard(Operation.CONTRACT_INSTALL))]
Returns = Annotated[Actor, Depends(guard(Operation.CONTRACT_RETURN))]
HoldReleaser = Annotated[Actor, Depends(guard(Operation.HOLD_RELEASE))]


def _filters(
    status: DeviceStatus | None = None,
    customer: str | None = None,
    model: str | None = None,
    site: str | None = None,
    contract: str | None = None,
    serial_prefix: str | None = None,
    *,
    session: SessionDep,
) -> service.DeviceFilter:
    contract_id = None
    if contract is not None:
        contract_id = contract_service.get_contract(session=session, number=contract).id
    return service.DeviceFilter(
        status=status,
        customer=customer,
        model=model,
        site=site,
        contract_id=contract_id,
        serial_prefix=serial_prefix,
    )


Filters = Annotated[service.DeviceFilter, Depends(_filters)]


@router.get("/devices", response_model=DevicePageOut)
def list_devices(
    session: SessionDep,
    actor: Reader,
    filters: Filters,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DevicePageOut:
    page = service.list_devices(session=session, filters=filters, limit=limit, offset=offset)
    items = [DeviceOut.of(d, page.owners.get(d.id or 0)) for d in page.items]
    return DevicePageOut(total=page.total, limit=limit, offset=offset, items=items)


@router.get("/devices.csv", response_class=StreamingResponse)
def export_devices(session: SessionDep, actor: Reader, filters: Filters) -> StreamingResponse:
    """Every matching device as CSV (UTF-8 with BOM, so Excel opens Japanese text correctly)."""
    return csv_response(list(service.export_rows(session=session, filters=filters)), "devices.csv")


@router.get("/devices/{serial}", response_model=DeviceOut)
async def get_device(serial: str, request: Request, actor: Reader) -> Response:
    """One device with its present owner (served by `device_fast`; this documents it, and
    serves it when the request takes the armoured path)."""
    return Response(await device_fast(request, serial, bearer_token(request)), media_type=JSON)


def _device_body(serial: str, values: dict[str, Any] | None) -> bytes:
    """The device read's 200 body of a DEVICES_WITH_OWNER row (None: NotFound)."""
    fields = service.device_fields_of_row(serial=serial, values=values)
    return DEVICE_OUT.to_json(DeviceOut.model_validate(fields))


JSON = "application/json"
DEVICE_OUT = DeviceOut.__pydantic_serializer__


async def device_fast(request: Request, serial: str, token: str | None) -> bytes:
    """The hottest read without FastAPI's dependency resolution: same auth, body and errors.

    On PostgreSQL a token changed (revoked) before the request arrived is refused at once: the
    device is read with the read counter, which moves with every change of a token; if it moved
    since the token cache was last confirmed, the token is looked up afresh before answering.
    """
    cache: TokenCache = request.app.state.token_cache
    confirmed = cache.confirmed  # before the identity is looked up: see TokenCache.confirm
    await permitted(request, token, READ_ROLES)
    serial = service.checked_serial(serial)
    read = await read_derived_at(request, service.DEVICES_WITH_OWNER, serial, _device_body)
    if read.version is not None and read.version != confirmed:
        cache.confirm(read.version)
        await permitted(request, token, READ_ROLES)
    return read.result()


READ_ROLES = allowed_roles(Operation.READ)


@router.patch("/devices/{serial}", response_model=DeviceOut)
def update_device(
    serial: str, session: SessionDep, actor: Editor, body: DeviceUpdate = DeviceUpdate()
) -> DeviceOut:
    """Change the fields given (none given: nothing changes)."""
    device = service.update_device(
        session=session,
        actor=actor,
        serial=serial,
        changes=body.model_dump(exclude_unset=True),
        now=utcnow(),
    )
    return DeviceOut.of(device, service.current_owner(session=session, device=device))


@router.post("/devices/{serial}/status", response_model=DeviceOut)
def change_status(serial: str, body: StatusChange, session: SessionDep, actor: Mover) -> DeviceOut:
    device = service.change_status(
        session=session,
        actor=actor,
        serial=serial,
        target=body.status,
        now=utcnow(),
        note=body.note,
    )
    return DeviceOut.of(device, service.current_owner(session=session, device=device))


@router.post("/devices/{serial}/release-hold", response_model=DeviceOut)
def release_hold(
    serial: str, body: ReleaseHoldIn, session: SessionDep, actor: HoldReleaser
) -> DeviceOut:
    """Clear a stale RMA or job hold (`netkeep doctor` names them); a live hold is a 409."""
    device = stale_holds.release_hold(
        session=session, actor=actor, serial=serial, reason=body.reason, now=utcnow()
    )
    return DeviceOut.of(device, service.current_owner(session=session, device=device))


@router.post("/devices/{serial}/verify", response_model=DeviceOut)
def verify_device(serial: str, session: SessionDep, actor: Editor) -> DeviceOut:
    device = service.mark_verified(session=session, actor=actor, serial=serial, now=utcnow())
    return DeviceOut.of(device, service.current_owner(session=session, device=device))


@router.get("/devices/{serial}/ownership", response_model=OwnershipOut)
def ownership(
    serial: str,
    session: SessionDep,
    actor: Reader,
    at: Annotated[
        str | None, Query(description="YYYY-MM-DD or ISO time; without a zone it is Asia/Tokyo")
    ] = None,
) -> OwnershipOut:
    """Who owned the device at `at` (now if omitted), and its whole ledger: one shape always."""
    device = service.get_device(session=session, serial=serial)
    try:
        when = utcnow() if at is None else parse_instant(at)
    except ValueError as exc:
        raise ValidationFailed([Problem(f"{at!r} is not a date or time", "query.at")]) from exc
    history = [
        OwnershipEventOut.of(e) for e in service.ownership_history(session=session, device=device)
    ]
    event = service.owner_event_at(session=session, device=device, at=when)
    return OwnershipOut(
        serial=device.serial,
        at=when,
        owner=None if event is None else OwnershipEventOut.of(event),
        history=history,
    )


@router.get("/devices/{serial}/history", response_model=PageOut[AuditOut])
def device_history(
    serial: str, session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[AuditOut]:
    device = service.get_device(session=session, serial=serial)
    entries = audit.history(session=session, entity_type="device", entity_id=device.serial)
    return list_page(
        (AuditOut.model_validate(e, from_attributes=True) for e in entries),
        limit=limit,
        offset=offset,
    )


@router.post("/inventory/import", response_model=ImportOut)
def import_devices(
    session: SessionDep,
    settings: SettingsDep,
    actor: Stock,
    file: Annotated[UploadFile, File(description="CSV or XLSX, Japanese or English headers")],
    commit: bool = False,
) -> ImportOut:
    """A dry run by default; `commit=true` writes all rows or none (422 with every problem).

    The file may hold at most `import_max_bytes` bytes and `import_max_rows` rows (413/422).
    """
    report = importer.import_devices(
        session=session,
        actor=actor,
        path=Path(file.filename or "upload.csv"),
        content=read_upload(file, limit=settings.import_max_bytes, what="import file"),
        now=utcnow(),
        commit=commit,
        max_rows=settings.import_max_rows,
    )
    return ImportOut(
        source=report.source,
        rows=report.rows,
        committed=report.committed,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        problems=[ProblemOut.of(p) for p in report.problems],
    )


@router.post("/inventory/reconcile", response_model=ReconcileOut)
def reconcile_inventory(
    session: SessionDep,
    settings: SettingsDep,
    dashboard: DashboardDep,
    actor: Stock,
    apply: bool = False,
    organization_id: str | None = None,
) -> ReconcileOut:
    report = reconcile.reconcile(
        session=session,
        dashboard=dashboard,
        actor=actor,
        now=utcnow(),
        apply=apply,
        organization_id=organization_id or settings.meraki_org_id,
    )
    return ReconcileOut.model_validate({**report.__dict__, "in_sync": report.in_sync})


@router.get("/catalogue", response_model=PageOut[CatalogueOut])
def catalogue(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[CatalogueOut]:
    models = service.list_catalogue(session=session)
    return list_page((CatalogueOut.of(m) for m in models), limit=limit, offset=offset)


@router.put("/catalogue/{model}", response_model=CatalogueOut)
def put_catalogue_model(
    model: str, body: CatalogueIn, session: SessionDep, actor: Cataloguer
) -> CatalogueOut:
    row = service.upsert_catalogue_model(
        session=session, actor=actor, model=model, **body.model_dump()
    )
    return CatalogueOut.of(row)


# --- contracts ---------------------------------------------------------------------------


def _contract_out(session: SessionDep, number: str) -> ContractOut:
    contract = contract_service.get_contract(session=session, number=number)
    devices = contract_service.contract_devices(session=session, contract=contract)
    owners = service.current_owners(session=session, devices=devices)
    return ContractOut.of(contract, [DeviceOut.of(d, owners.get(d.id or 0)) for d in devices])


@contracts_router.get("/contracts", response_model=PageOut[ContractOut])
def list_contracts(
    session: SessionDep,
    actor: Reader,
    customer: str | None = None,
    status: ContractStatus | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[ContractOut]:
    rows = contract_service.list_contracts(session=session, customer=customer, status=status)
    return list_page((ContractOut.of(c) for c in rows), limit=limit, offset=offset)


@contracts_router.post("/contracts", response_model=ContractOut, status_code=201)
def create_contract(body: ContractIn, session: SessionDep, actor: ContractAdmin) -> ContractOut:
    contract = contract_service.create_contract(session=session, actor=actor, **body.model_dump())
    return ContractOut.of(contract)


@contracts_router.get("/contracts/{number}", response_model=ContractOut)
def get_contract(number: str, session: SessionDep, actor: Reader) -> ContractOut:
    return _contract_out(session, number)


@contracts_router.post("/contracts/{number}/devices", response_model=ContractOut)
def attach_device(
    number: str, body: AttachDevice, session: SessionDep, actor: Installer
) -> ContractOut:
    contract_service.attach_device(
        session=session, actor=actor, number=number, now=utcnow(), **body.model_dump()
    )
    return _contract_out(session, number)


@contracts_router.post("/contracts/{number}/accept", response_model=ContractOut)
def accept_contract(
    number: str, body: Acceptance, session: SessionDep, actor: Installer
) -> ContractOut:
    contract_service.accept_contract(
        session=session, actor=actor, number=number, acceptance_date=body.acceptance_date
    )
    return _contract_out(session, number)


@contracts_router.post("/contracts/{number}/initial-fee-paid", response_model=ContractOut)
def initial_fee_paid(
    number: str, session: SessionDep, actor: ContractAdmin, body: InitialFeePaid = InitialFeePaid()
) -> ContractOut:
    """Art. 18: sold devices on the contract become the customer's."""
    paid_at = as_utc(body.paid_at) if body.paid_at else utcnow()
    contract_service.mark_initial_fee_paid(
        session=session, actor=actor, number=number, paid_at=paid_at
    )
    return _contract_out(session, number)


@contracts_router.post("/contracts/{number}/end", response_model=ContractEndOut)
def end_contract(
    number: str, body: EndNotice, session: SessionDep, actor: ContractAdmin
) -> ContractEndOut:
    """Art. 23: the provider-owned units listed must come back."""
    ended = contract_service.end_contract(
        session=session, actor=actor, number=number, notice_date=body.notice_date
    )
    return ContractEndOut(
        number=number, end_date=ended.end_date, must_return=[d.serial for d in ended.must_return]
    )


@contracts_router.post("/contracts/{number}/returns", response_model=DeviceOut)
def receive_return(number: str, body: ReturnIn, session: SessionDep, actor: Returns) -> DeviceOut:
    device = contract_service.receive_contract_return(
        session=session, actor=actor, number=number, serial=body.serial, now=utcnow()
    )
    return DeviceOut.of(device, service.current_owner(session=session, device=device))
