"""A change's plan read before the apply, and its job named as soon as it is journalled.

The NOC reviews the plan on the change's page before approving; while the apply runs, the page
follows the job's steps, so the request must name its job before the first write goes out.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from changes import applying, preview, scheduling, service
from changes.models import ChangeRequest
from provisioning.models import JobStep, ProvisioningJob
from sandbox.server import SandboxServer
from tests.service import test_changes_lifecycle as lifecycle
from tests.service.test_changes_lifecycle import CAL, NOC, submit
from tests.service.test_provisioning_apply import OPTIONS, writes
from tests.unit.changes.builders import ENV, TUESDAY_10, typical_utm_change

world = lifecycle.world  # the fixture: contracts, and 東京本社 set up on the sandbox


def test_preview_lists_the_changes_and_writes_nothing(
    world: Any, sandbox: SandboxServer, session: Session
) -> None:
    req = submit(session, typical_utm_change())
    assert req.id is not None
    rows = preview.preview_plan(
        session=session, request_id=req.id, dashboard=world, options=OPTIONS
    )
    by_resource = {r["resource"]: r for r in rows}
    assert by_resource["vlan/40"]["action"] == "create"  # the new VLAN 40 of the sheet
    dns = [f for f in by_resource["vlan/20"]["fields"] if f["field"] == "dnsNameservers"]
    assert dns and dns[0]["after"] == "opendns"
    assert writes(sandbox) == 0
    assert session.get(ChangeRequest, req.id).plan_rows == []  # type: ignore[union-attr]


def test_the_request_names_its_job_before_the_first_write(
    world: Any, sandbox: SandboxServer, session: Session
) -> None:
    req = submit(session, typical_utm_change())
    assert req.id is not None
    service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
    scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10
    )
    sheet = applying.begin_apply(
        session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10,
        options=OPTIONS, environ=ENV,
    )  # fmt: skip
    assert session.get(ChangeRequest, req.id).claimed_for == "apply"  # type: ignore[union-attr]
    seen: list[tuple[int | None, str, int, int]] = []

    def on_job(job_id: int) -> None:
        stored = session.get(ChangeRequest, req.id)
        job = session.get(ProvisioningJob, job_id)
        assert stored is not None and job is not None
        done = len([s for s in _steps(session, job_id) if s.status == "done"])
        seen.append((stored.job_id, job.status, done, writes(sandbox)))

    applied = applying.carry_out_apply(
        session=session, actor=NOC, request_id=req.id, sheet=sheet, now=TUESDAY_10,
        dashboard=world, options=OPTIONS, environ=ENV, on_job=on_job,
    )  # fmt: skip
    assert applied.status == "applied", applied.apply_error
    [(named, status, done, sent)] = seen
    assert named == applied.job_id and status == "pending" and done == 0 and sent == 0
    assert writes(sandbox) > 0


def _steps(session: Session, job_id: int) -> list[JobStep]:
    from sqlmodel import select

    return list(session.exec(select(JobStep).where(JobStep.job_id == job_id)))
