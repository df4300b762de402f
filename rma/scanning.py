"""Ship and receive by scanning: preview what a scanned serial matches, then confirm it.

`preview_ship` / `preview_receive` only read: they find the RMA the unit belongs to (or check it
against the one the clerk chose) and list every warning (`rma.scan_rules`). `confirm_ship` /
`confirm_receive` lock the RMA, take the same preview again inside the transaction and act only
if it still says what the clerk confirmed; otherwise Conflict and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core.audit import Actor
from core.db import begin_write
from core.errors import Conflict, Problem, ValidationFailed
from inventory.domain import DeviceStatus, normalise_serial
from inventory.models import CatalogueModel, Device
from rma import replacement, returns
from rma.domain import Disposition, RmaPolicy, RmaStatus, successor_chain
from rma.models import Rma
from rma.scan_rules import (
    RECEIVABLE,
    RmaFacts,
    ScanAction,
    ScanOutcome,
    ScanWarning,
    UnitFacts,
    receive_scan,
    ship_scan,
)
from rma.service import charge_of, get_rma, get_rma_for_update

_RMA_REF = re.compile(r"^(?:RMA-?)?0*(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ScanPreview:
    """What a scan matched and what confirming it would do; nothing has changed yet."""

    serial: str
    rma: Rma | None
    device: Device | None
    outcome: ScanOutcome
    expected_serial: str | None  # the reserved unit (ship) or the failed unit (receive)

    @property
    def ready(self) -> bool:
        return self.outcome.ready and self.rma is not None


def rma_id_of(ref: str) -> int:
    """The id in an RMA reference as scanned or typed (RMA-000123, rma123, 123)."""
    match = _RMA_REF.match(ref.strip())
    if match is None:
        raise ValidationFailed([Problem(f"{ref.strip()!r} is not an RMA number", "rma")])
    return int(match.group(1))


def _facts(rma: Rma) -> RmaFacts:
    return RmaFacts(
        number=rma.number,
        status=RmaStatus(rma.status),
        failed_serial=rma.failed_serial,
        replacement_serial=rma.replacement_serial,
        swapped=rma.swapped_at is not None,
        due_date=rma.due_date,
    )


def _device(session: Session, serial: str) -> Device | None:
    return session.exec(select(Device).where(Device.serial == serial)).first()


def _normalised(serial: str) -> str | None:
    try:
        return normalise_serial(serial)
    except ValueError:
        return None


def _invalid(serial: str) -> ScanPreview:
    return ScanPreview(
        serial=serial.strip()[:40],
        rma=None,
        device=None,
        outcome=ScanOutcome(None, (ScanWarning.INVALID_SERIAL,)),
        expected_serial=None,
    )


def _holding_rma(session: Session, device: Device) -> Rma | None:
    """The RMA that reserved the unit, by its hold or as its replacement."""
    if device.held_by:
        held = _RMA_REF.match(device.held_by)
        if held is not None:
            return session.get(Rma, int(held.group(1)))
    stmt = (
        select(Rma)
        .where(Rma.replacement_serial == device.serial)
        .order_by(col(Rma.id).desc())
        .limit(1)
    )
    return session.exec(stmt).first()


def _ship_preview(session: Session, serial: str, rma: Rma | None) -> ScanPreview:
    device = _device(session, serial)
    if rma is None and device is not None:
        rma = _holding_rma(session, device)
    unit = (
        UnitFacts(
            serial=device.serial,
            status=DeviceStatus(device.status),
            model=device.model,
            verified=device.verified_at is not None,
            held_by=device.held_by,
        )
        if device is not None
        else None
    )
    models: list[str] = []
    if rma is not None:
        successors = {m.model: m.successor for m in session.exec(select(CatalogueModel))}
        models = successor_chain(rma.failed_model, successors)
    outcome = ship_scan(unit=unit, rma=_facts(rma) if rma else None, models=models)
    return ScanPreview(
        serial=serial,
        rma=rma,
        device=device,
        outcome=outcome,
        expected_serial=rma.replacement_serial if rma else None,
    )


def preview_ship(*, session: Session, serial: str, rma_ref: str | None = None) -> ScanPreview:
    """A replacement scanned for shipping: its RMA (chosen, or the one holding it), warnings."""
    normal = _normalised(serial)
    if normal is None:
        return _invalid(serial)
    rma = get_rma(session=session, rma_id=rma_id_of(rma_ref)) if rma_ref else None
    return _ship_preview(session, normal, rma)


def _returning_rma(session: Session, serial: str) -> Rma | None:
    """The RMA this unit comes back for: as its failed unit (one still waiting first, else the
    newest), else as a replacement sent back by mistake (a wrong unit for that RMA)."""
    as_failed = list(
        session.exec(select(Rma).where(Rma.failed_serial == serial).order_by(col(Rma.id).desc()))
    )
    waiting = [r for r in as_failed if RmaStatus(r.status) in RECEIVABLE]
    if waiting or as_failed:
        return (waiting or as_failed)[0]
    as_replacement = select(Rma).where(
        Rma.replacement_serial == serial, col(Rma.status).in_(sorted(RECEIVABLE))
    )
    return session.exec(as_replacement.order_by(col(Rma.id).desc()).limit(1)).first()


def _receive_preview(session: Session, serial: str, rma: Rma | None, now: datetime) -> ScanPreview:
    if rma is None:
        rma = _returning_rma(session, serial)
    charge = charge_of(session=session, rma=rma) if rma is not None else None
    outcome = receive_scan(
        serial=serial,
        rma=_facts(rma) if rma else None,
        now=now,
        charged=charge is not None and charge.credited_at is None,
    )
    return ScanPreview(
        serial=serial,
        rma=rma,
        device=_device(session, serial),
        outcome=outcome,
        expected_serial=rma.failed_serial if rma else None,
    )


def preview_receive(
    *, session: Session, serial: str, now: datetime, rma_ref: str | None = None
) -> ScanPreview:
    """A unit scanned at the returns bench: the RMA it is for, whether it is the right one."""
    normal = _normalised(serial)
    if normal is None:
        return _invalid(serial)
    rma = get_rma(session=session, rma_id=rma_id_of(rma_ref)) if rma_ref else None
    return _receive_preview(session, normal, rma, now)


def _still(preview: ScanPreview, action: ScanAction) -> None:
    """Conflict unless the preview taken under the lock is the one the clerk confirmed."""
    if preview.ready and preview.outcome.action is action:
        return
    number = preview.rma.number if preview.rma else "the RMA"
    now_says = ", ".join(w.value for w in preview.outcome.warnings) or "nothing to do"
    raise Conflict(
        f"{preview.serial} for {number}: things changed since the scan ({now_says}); scan it again",
        serial=preview.serial,
        warnings=[w.value for w in preview.outcome.warnings],
    )


def confirm_ship(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    rma_id: int,
    action: ScanAction,
    courier: str,
    tracking_number: str,
    policy: RmaPolicy,
    now: datetime,
) -> Rma:
    """Ship the scanned unit for the RMA, reserving it first in place of another if need be."""
    begin_write(session)
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    normal = _normalised(serial)
    preview = _ship_preview(session, normal, rma) if normal else _invalid(serial)
    _still(preview, action)
    if action is ScanAction.RESERVE_AND_SHIP:
        replacement.reserve_replacement(
            session=session, actor=actor, rma_id=rma_id, now=now, serial=preview.serial
        )
    return replacement.ship_replacement(
        session=session,
        actor=actor,
        rma_id=rma_id,
        courier=courier,
        tracking_number=tracking_number,
        shipped_at=now,
        policy=policy,
        now=now,
    )


def confirm_receive(
    *,
    session: Session,
    actor: Actor,
    serial: str,
    rma_id: int,
    action: ScanAction,
    disposition: Disposition,
    policy: RmaPolicy,
    now: datetime,
) -> Rma:
    """Receive the scanned unit for the RMA: the right one closes it, another is an exception."""
    begin_write(session)
    rma = get_rma_for_update(session=session, rma_id=rma_id)
    normal = _normalised(serial)
    preview = _receive_preview(session, normal, rma, now) if normal else _invalid(serial)
    _still(preview, action)
    return returns.receive_unit(
        session=session,
        actor=actor,
        rma_id=rma_id,
        serial=preview.serial,
        disposition=disposition,
        policy=policy,
        now=now,
    )
