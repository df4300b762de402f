"""What a change request would change, read from the dashboard now: the plan the NOC reviews.

The rows are `provisioning.plan.change_rows`, the same the API and the journal show: a secret
field says only that it changes, never its value.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from changes.domain import Target
from changes.service import get_request, stored_sheet
from changes.validation import target_network_id
from core import secret_store
from core.errors import Conflict
from provisioning.models import ProvisioningJob
from provisioning.plan import change_rows
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions, plan_sheet


def preview_plan(
    *,
    session: Session,
    request_id: int,
    dashboard: ProvisioningDashboard,
    options: ProvisioningOptions,
) -> list[dict[str, Any]]:
    """The request's sheet planned against its customer's network now (nothing is written).

    Read as the API reads a sheet: no ``env:`` reference, ``secret:NAME`` from netkeep's store.
    """
    req = get_request(session=session, request_id=request_id)
    if Target(req.target) is not Target.DASHBOARD:
        raise Conflict(
            f"change request {req.id} changes a router over SSH; its commands are known once "
            "it is applied",
            request_id=req.id,
        )
    found = None if options.cipher is None else secret_store.lookup(session, options.cipher)
    sheet = stored_sheet(req, allow_env=False, secrets=found)
    network_id = target_network_id(session, sheet, req.customer)
    session.commit()  # only read: no transaction (SQLite: no write lock) across the reads
    plan = plan_sheet(dashboard=dashboard, sheet=sheet, options=options, network_id=network_id)
    return change_rows(plan.changes)


def rollback_jobs(*, session: Session, request_id: int) -> list[ProvisioningJob]:
    """The rollbacks of the request's job, oldest first (none when it has no job)."""
    req = get_request(session=session, request_id=request_id)
    if req.job_id is None:
        return []
    stmt = select(ProvisioningJob).where(ProvisioningJob.rollback_of == req.job_id)
    return list(session.exec(stmt.order_by(col(ProvisioningJob.id))))
