"""Undoing a VPN build that failed half-way (or a revert): every undo tried, none failing silently.

Each undo is attempted even when an earlier one failed. One that fails — a rollback job that
could not be planned or did not finish, a client VPN user that could not be deleted — is logged
(ERROR, naming the network and what stayed), audited with what stayed on the dashboard, and the
build is stored as `partially_reverted` listing it; `netkeep vpn build --revert ID` takes up
what is left once the dashboard answers again. A build whose undo went through is stored as
`failed`, so what was tried and undone is on record too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from core import audit
from core.audit import Actor
from core.errors import DashboardError, DomainError
from provisioning.domain import JobStatus
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions, rollback_job
from vpn.domain import undo_outcome
from vpn.models import VpnBuild

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"


def undo_jobs(
    *,
    session: Session,
    provisioning: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    clock: Clock,
    changes: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Roll back each changed network's job, newest first; what stayed, one entry per network.

    Each change that was rolled back gets ``reverted: True`` (and its rollback job's id).
    """
    left: list[dict[str, Any]] = []
    for change in reversed([c for c in changes if c.get("job_id") and not c.get("reverted")]):
        job_id, network_id = int(change["job_id"]), str(change["network_id"])
        try:
            back = rollback_job(
                session=session, dashboard=provisioning, job_id=job_id, actor=actor,
                clock=clock, options=options,
            )  # fmt: skip
        except Exception as exc:  # every other undo is still tried; this one is reported
            error, back_id = _message(exc), None
        else:
            if back.status == JobStatus.DONE:
                change["reverted"], change["rollback_job"] = True, back.id
                continue
            error, back_id = f"rollback job {back.id} ended {back.status}: {back.error}", back.id
        item = {
            "what": f"site-to-site VPN settings of {network_id} (job {job_id})",
            "network_id": network_id,
            "job_id": job_id,
            "rollback_job": back_id,
            "error": error,
        }
        log.error("VPN undo failed: %s stayed on the dashboard: %s", item["what"], error)
        left.append(item)
    return left


def user_left(network_id: str, email: str, dashboard_id: str, exc: BaseException) -> dict[str, Any]:
    """A client VPN user that could not be deleted, logged."""
    item = {
        "what": f"client VPN user {email} ({dashboard_id}) on {network_id}",
        "network_id": network_id,
        "email": email,
        "dashboard_id": dashboard_id,
        "error": _message(exc),
    }
    log.error("VPN undo failed: %s stayed on the dashboard: %s", item["what"], item["error"])
    return item


def how_to_continue(build_id: int | None, left: list[dict[str, Any]]) -> list[str]:
    """Lines saying what stayed on the dashboard and the command that takes it up."""
    lines = [f"left on the dashboard: {item['what']} — {item['error']}" for item in left]
    if left:
        lines.append(
            f"continue with: netkeep vpn build --revert {build_id} (once the dashboard answers)"
        )
    return lines


def record_outcome(
    session: Session,
    *,
    actor: Actor,
    action: str,
    build_id: int | None,
    status: str,
    error: str,
    left: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Audit what a failed build or revert left on the dashboard, committed with the build."""
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="vpn_build",
        entity_id=str(build_id),
        after={"status": status, "error": error, "left_on_dashboard": left},
        outcome=status,
        at=now,
    )
    session.commit()


def _created_users(left: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Users a failed build's undo could not delete, as build users a revert retries."""
    return [
        {"network_id": i["network_id"], "email": i["email"], "name": "", "action": "created",
         "dashboard_id": i["dashboard_id"]}
        for i in left
        if "dashboard_id" in i
    ]  # fmt: skip


def fail_build(
    *,
    session: Session,
    provisioning: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    clock: Clock,
    exc: Exception,
    organization_id: str,
    request: dict[str, Any],
    changes: list[dict[str, Any]],
    job_ids: list[int],
    now: datetime,
) -> None:
    """Undo what a failed build wrote, store the build with what stayed, say it (or re-raise)."""
    left = list(exc.details.get("left_on_dashboard", [])) if isinstance(exc, DomainError) else []
    left += undo_jobs(
        session=session, provisioning=provisioning, options=options, actor=actor, clock=clock,
        changes=changes,
    )  # fmt: skip
    status = str(undo_outcome(left_on_dashboard=bool(left), build_failed=True))
    error = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    build = VpnBuild(
        status=status, organization_id=organization_id, created_at=now, actor=actor.name,
        request=request, changes=changes, users=_created_users(left), notes=[f"failed: {error}"],
        jobs=job_ids,
    )  # fmt: skip
    session.add(build)
    session.flush()
    build.notes = build.notes + how_to_continue(build.id, left)
    record_outcome(
        session, actor=actor, action="vpn.build.failed", build_id=build.id, status=status,
        error=error, left=left, now=now,
    )  # fmt: skip
    if left:
        raise DashboardError(
            f"VPN build {build.id} failed ({error}) and was only partly undone: "
            + "; ".join(build.notes[1:]),
            build=build.id,
            status=status,
            left_on_dashboard=left,
        ) from exc
