"""A unit held by the provisioning job claiming it: one claim, however many requests race.

Before a job's claim of a unit goes out to the dashboard, the unit is held by that job in the
database: a conditional UPDATE (`held_by_job` empty, or already this job's) that only one of
several racers can win, committed with the job (or with the resumed job's start) before any
dashboard call. The loser is refused naming the job that holds the unit, and sends nothing.
The hold ends when the claim is done (the unit is deployed), when the job fails or finishes
without it, or when a rollback of the job is created. A job that crashed keeps its hold: only
its own resume takes it over. Every hold and release is audited in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict
from inventory.models import Device


def hold_units(
    *, session: Session, actor: Actor, serials: Sequence[str], job_id: int, now: datetime
) -> list[str]:
    """The inventory's units among `serials` held by `job_id` (its own holds taken over).

    Conflict, naming the holding job, when another job holds one; the caller's transaction is
    then to be rolled back (nothing of it may be committed). Serials the inventory does not
    know are left alone (the plan's inventory check refuses them). The serials newly held.
    """
    wanted = sorted(set(serials))
    if not wanted:
        return []
    free = (
        select(Device.serial, Device.held_by_job)
        .where(col(Device.serial).in_(wanted))
        .order_by(col(Device.serial))
    )
    before = {serial: held for serial, held in session.exec(free)}
    if not before:  # none of them in the inventory: nothing to hold
        return []
    session.execute(
        update(Device)
        .where(col(Device.serial).in_(wanted), col(Device.held_by_job).is_(None))
        .values(held_by_job=job_id, updated_at=now)
    )
    after = {serial: held for serial, held in session.exec(free)}
    others = {s: held for s, held in after.items() if held is not None and held != job_id}
    if others:
        serial, holder = sorted(others.items())[0]
        raise Conflict(
            f"{serial} is being claimed by provisioning job {holder}; nothing was sent "
            f"(wait for job {holder} to finish, or resume it: netkeep job show {holder})",
            serial=serial,
            held_by_job=holder,
            location=f"device {serial}",
        )
    taken = sorted(s for s, held in after.items() if held == job_id and before.get(s) != job_id)
    for serial in taken:
        audit.record(
            session,
            actor=actor,
            action="device.hold",
            entity_type="device",
            entity_id=serial,
            before={"held_by_job": before.get(serial)},
            after={"held_by_job": job_id},
            at=now,
        )
    return taken


def release_units(
    *,
    session: Session,
    actor: Actor,
    job_id: int,
    now: datetime,
    reason: str,
    serials: Sequence[str] | None = None,
) -> list[str]:
    """The job's holds (of `serials`, or all) released, audited; the serials released."""
    stmt = select(Device.serial).where(Device.held_by_job == job_id)
    if serials is not None:
        if not serials:
            return []
        stmt = stmt.where(col(Device.serial).in_(sorted(set(serials))))
    released = sorted(session.exec(stmt))
    if not released:
        return []
    session.execute(
        update(Device)
        .where(col(Device.serial).in_(released), col(Device.held_by_job) == job_id)
        .values(held_by_job=None, updated_at=now)
    )
    for serial in released:
        audit.record(
            session,
            actor=actor,
            action="device.release",
            entity_type="device",
            entity_id=serial,
            before={"held_by_job": job_id},
            after={"held_by_job": None, "reason": reason},
            at=now,
        )
    return released


def in_inventory(*, session: Session, serials: Iterable[str]) -> set[str]:
    """Which of `serials` the inventory knows: one query for many jobs (a rollout holds only
    those; the others need no hold query at all). Reads without flushing the session."""
    wanted = sorted(set(serials))
    known: set[str] = set()
    with session.no_autoflush:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            known.update(session.exec(select(Device.serial).where(col(Device.serial).in_(chunk))))
    return known


def held_by_jobs(*, session: Session, job_ids: Iterable[int]) -> dict[int, list[str]]:
    """The units each of `job_ids` holds (jobs holding none left out), in one query per
    thousand jobs, without flushing the session: a rollout ends many jobs at once."""
    ids = sorted(set(job_ids))
    held: dict[int, list[str]] = {}
    with session.no_autoflush:
        for start in range(0, len(ids), _CHUNK):
            stmt = select(Device.serial, Device.held_by_job).where(
                col(Device.held_by_job).in_(ids[start : start + _CHUNK])
            )
            for serial, job_id in session.exec(stmt):
                if job_id is not None:
                    held.setdefault(int(job_id), []).append(serial)
    return {job_id: sorted(serials) for job_id, serials in held.items()}


_CHUNK = 1000
"""Values per IN list (well under SQLite's and PostgreSQL's parameter limits)."""


def holders(*, session: Session, serials: Sequence[str]) -> dict[str, int]:
    """Which of `serials` a provisioning job holds, and which job."""
    if not serials:
        return {}
    stmt = select(Device.serial, Device.held_by_job).where(
        col(Device.serial).in_(list(serials)), col(Device.held_by_job).is_not(None)
    )
    return {serial: int(held) for serial, held in session.exec(stmt) if held is not None}
