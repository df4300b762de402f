"""The doctor sees the holds (issue 20), on real tables; `release_hold` repairs a stale one.

The rules, from the issue: a unit held by an RMA number is that RMA's failed unit or
replacement and the RMA is under way; an RMA's reserved or shipped replacement is held by it; a
unit held by a provisioning job is held by one that is pending, running, or failed and not
rolled back; a done or verify_failed job's hold is stale. An admin releases a stale hold with a
reason, audited; a live hold is refused naming the command to use instead.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from core.audit import Actor
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from doctor import service as doctor
from doctor.facts import Findings
from inventory import service as inventory
from inventory import stale_holds
from inventory.models import Device
from provisioning.models import ProvisioningJob
from rma import service as rma_service
from tests.service.helpers import ACTOR
from tests.service.rma_builders import FAILED, NOC, SPARE, SWAPPED, build_world, shipped_rma

ORG = "537758"
LATER = SWAPPED + timedelta(days=1)
REASON = "job ended before the hold was released (old data)"


def check(session: Session) -> Findings:
    return doctor.check(session=session, dashboard=None, organization_id=ORG, now=LATER)


def found(findings: Findings) -> set[tuple[str, str]]:
    return {(v.invariant.value, v.subject) for v in findings.violations}


def device(session: Session, serial: str) -> Device:
    return inventory.get_device(session=session, serial=serial)


def write(session: Session, serial: str, **values: object) -> None:
    """A change behind netkeep's back (old data, a direct write): what the doctor must find."""
    row = device(session, serial)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()


def job(session: Session, status: str, **kw: object) -> ProvisioningJob:
    row = ProvisioningJob(
        kind="apply",
        status=status,
        organization_id=ORG,
        network_name="東京本社",
        site_plan="utm",
        sheet_kind="settings",
        sheet_digest="0" * 64,
        created_by="tester",
        created_at=LATER - timedelta(minutes=5),
        **kw,
    )
    session.add(row)
    session.flush()
    return row


def release(session: Session, serial: str, actor: Actor = ACTOR) -> Device:
    return stale_holds.release_hold(
        session=session, actor=actor, serial=serial, reason=REASON, now=LATER
    )


def test_a_finished_jobs_hold_is_found_and_release_hold_clears_it_audited(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    running = job(session, "running")
    write(session, SPARE, held_by_job=running.id)
    assert found(check(session)) == set()  # a running job's hold is live
    with pytest.raises(Conflict, match=f"netkeep job show {running.id}"):
        release(session, SPARE)
    assert device(session, SPARE).held_by_job == running.id

    running.status = "done"
    session.add(running)
    session.flush()
    [v] = check(session).violations
    assert (v.invariant.value, v.subject) == ("unit_holds", SPARE)
    assert f"provisioning job {running.id}" in v.message and "done" in v.message
    assert v.repair == f'netkeep inventory release-hold {SPARE} --reason "..."'

    with pytest.raises(PermissionDenied):
        release(session, SPARE, Actor(name="noc-1", role="noc"))
    with pytest.raises(ValidationFailed):
        stale_holds.release_hold(session=session, actor=ACTOR, serial=SPARE, reason=" ", now=LATER)
    assert release(session, SPARE).held_by_job is None
    assert found(check(session)) == set()
    [entry] = session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "device.release_hold", AuditEntry.entity_id == SPARE
        )
    ).all()
    assert entry.before == {"held_by": None, "held_by_job": running.id}
    assert entry.after == {"held_by": None, "held_by_job": None, "reason": REASON}
    with pytest.raises(Conflict, match="held by nothing"):
        release(session, SPARE)


def test_a_failed_job_keeps_its_hold_until_a_rollback_of_it_is_created(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    failed = job(session, "failed")
    write(session, SPARE, held_by_job=failed.id)
    assert found(check(session)) == set()  # resumable
    with pytest.raises(Conflict):
        release(session, SPARE)
    rollback = ProvisioningJob(
        kind="rollback",
        status="done",
        organization_id=ORG,
        network_name="東京本社",
        site_plan="utm",
        sheet_kind="settings",
        sheet_digest="0" * 64,
        created_by="tester",
        created_at=LATER - timedelta(minutes=1),
        rollback_of=failed.id,
    )
    session.add(rollback)
    session.flush()
    assert found(check(session)) == {("unit_holds", SPARE)}
    assert release(session, SPARE).held_by_job is None


def test_a_hold_by_a_job_that_does_not_exist_is_stale(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    write(session, SPARE, held_by_job=987654)
    [v] = check(session).violations
    assert (v.subject, "no such job" in v.message) == (SPARE, True)


def test_a_shipped_replacement_its_rma_no_longer_holds_is_found(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    assert device(session, SPARE).held_by == rma.number
    assert found(check(session)) == set()
    with pytest.raises(Conflict, match=f"netkeep rma release {rma.id}"):
        release(session, SPARE)  # the open RMA's replacement: a live hold
    with pytest.raises(Conflict, match=f"netkeep rma show {rma.id}"):
        release(session, FAILED)  # its failed unit: live too
    write(session, SPARE, held_by=None)
    [v] = check(session).violations
    assert (v.invariant.value, v.subject) == ("rma_holds", rma.number)
    assert f"{SPARE} is in_transit but held by nothing" in v.message
    assert v.repair.startswith(f"netkeep rma show {rma.id}")


def test_a_unit_held_by_an_rma_that_has_ended_or_does_not_exist_is_a_stale_hold(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = rma_service.open_rma(
        session=session,
        actor=NOC,
        serial=FAILED,
        symptom="電源が入らない",
        reporter="総務 山田",
        reported_at=LATER - timedelta(hours=2),
        now=LATER - timedelta(hours=2),
    )
    assert device(session, FAILED).held_by == rma.number
    rma_service.decide(
        session=session,
        actor=NOC,
        rma_id=rma.id or 0,
        replace=False,
        note="reset fixed it",
        now=LATER - timedelta(hours=1),
    )
    session.flush()
    assert found(check(session)) == set()  # resolved remotely: the hold went with it
    write(session, FAILED, held_by=rma.number)
    [v] = check(session).violations
    assert (v.invariant.value, v.subject) == ("unit_holds", FAILED)
    assert f"{rma.number} is resolved_remotely" in v.message
    write(session, SPARE, held_by="RMA-999999")
    assert found(check(session)) == {("unit_holds", FAILED), ("unit_holds", SPARE)}
    assert release(session, FAILED).held_by is None
    assert release(session, SPARE).held_by is None
    assert found(check(session)) == set()
