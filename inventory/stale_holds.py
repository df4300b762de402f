"""Release a stale hold on a unit: an admin's repair for what `netkeep doctor` reports.

A unit is held by an RMA (`device.held_by`, the RMA number) or by a provisioning job
(`device.held_by_job`). A hold is live while its holder still needs the unit (the rules in
`inventory.domain`: the RMA is open and the unit is its failed unit or replacement; the job is
pending, running, or failed and resumable). Only a stale hold may be released here, and only when
every hold on the unit is stale; a live one is refused with the command that ends it properly.
The release is audited in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.auth import Role
from core.errors import Conflict, PermissionDenied, Problem, ValidationFailed
from inventory.domain import job_hold_is_live, rma_hold_is_live, rma_ref
from inventory.models import Device
from inventory.service import get_device_for_update
from provisioning.domain import JobKind
from rma.domain import RmaStatus

RELEASE_HOLD = "device.release_hold"
_ENDED_RMA = frozenset({RmaStatus.CLOSED.value, RmaStatus.RESOLVED_REMOTELY.value})


def _rma_refusal(session: Session, device: Device) -> str | None:
    from rma.models import Rma  # rma builds on inventory: imported where needed

    number = device.held_by or ""
    digits = number.removeprefix("RMA-")
    rma = session.get(Rma, int(digits)) if digits.isdigit() else None
    if rma is None or not rma_hold_is_live(
        device.serial,
        rma_open=rma.status not in _ENDED_RMA,
        failed_serial=rma.failed_serial,
        replacement_serial=rma.replacement_serial,
    ):
        return None
    ref = rma_ref(number)
    if device.serial == rma.replacement_serial:
        instead = f'netkeep rma release {ref} --reason "..."  (or: netkeep rma show {ref})'
    else:
        instead = f"netkeep rma show {ref}  (the RMA releases its failed unit when it ends)"
    return f"{device.serial} is held by {number}, which is {rma.status} and needs it: {instead}"


def _job_refusal(session: Session, device: Device) -> str | None:
    from provisioning.models import ProvisioningJob  # provisioning builds on inventory

    job_id = device.held_by_job
    if job_id is None:
        return None
    job = session.get(ProvisioningJob, job_id)
    if job is None:
        return None
    rollback = select(ProvisioningJob.id).where(
        ProvisioningJob.kind == JobKind.ROLLBACK.value, col(ProvisioningJob.rollback_of) == job_id
    )
    rolled_back = session.exec(rollback).first() is not None
    if not job_hold_is_live(job.status, rolled_back=rolled_back):
        return None
    return (
        f"{device.serial} is held by provisioning job {job_id}, which is {job.status} and may "
        f"still claim it: netkeep job show {job_id}  (resume it: netkeep apply SHEET --resume "
        f"{job_id}, or roll it back)"
    )


def release_hold(
    *, session: Session, actor: Actor, serial: str, reason: str, now: datetime
) -> Device:
    """Clear the unit's stale holds (RMA and job), audited; admin only.

    Conflict when the unit is held by nothing, or when a hold on it is live (naming the
    command to use instead); nothing is changed then.
    """
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only an admin may release a hold", role=actor.role)
    if not reason.strip():
        raise ValidationFailed([Problem("a reason is required", "reason")])
    device = get_device_for_update(session=session, serial=serial)
    if not device.held_by and device.held_by_job is None:
        raise Conflict(f"{device.serial} is held by nothing", serial=device.serial)
    refusals = [r for r in (_rma_refusal(session, device), _job_refusal(session, device)) if r]
    if refusals:
        raise Conflict("; ".join(refusals), serial=device.serial, location=f"device {serial}")
    before = {"held_by": device.held_by, "held_by_job": device.held_by_job}
    device.held_by, device.held_by_job, device.updated_at = None, None, now
    session.add(device)
    audit.record(
        session,
        actor=actor,
        action=RELEASE_HOLD,
        entity_type="device",
        entity_id=device.serial,
        before=before,
        after={"held_by": None, "held_by_job": None, "reason": reason.strip()},
        at=now,
    )
    session.flush()
    return device
