"""VPN construction: eligible sites only, Auto VPN set through the provisioning engine, revert.

Each site's desired ``siteToSiteVpn`` (the pure `vpn.domain.desired_site_to_site`) becomes an
in-memory change-request sheet holding only that section, planned and applied as one journalled
provisioning job per network (hubs first). A revert rolls those jobs back, newest first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, DashboardError, NotFound, Problem, ValidationFailed
from core.timeutil import TOKYO as TOKYO_TZ
from provisioning.domain import JobStatus
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet, rollback_job
from provisioning.sheet_model import FORMAT, Sheet
from provisioning.validation import validate_sheet
from vpn import client_users, eligibility
from vpn.build_request import BuildRequest as BuildRequest
from vpn.build_request import parse_request as parse_request
from vpn.client_users import UserOutcome
from vpn.domain import (
    DASHBOARD_LIMITS,
    ClientUser,
    SiteFacts,
    apply_order,
    desired_site_to_site,
    needs_change,
    request_problems,
)
from vpn.models import VpnBuild
from vpn.ports import VpnDashboard

APPLIED = "applied"
REVERTED = "reverted"
SITE_TO_SITE = "vpn/siteToSiteVpn"
Clock = Callable[[], datetime]


@dataclass
class BuildResult:
    """The stored build and the users' outcomes (with one-time passwords)."""

    build: VpnBuild
    users: list[UserOutcome] = field(default_factory=list)


def _refuse_ineligible(
    *,
    session: Session,
    dashboard: VpnDashboard,
    organization_id: str,
    request: BuildRequest,
    accept_documentation: bool,
) -> tuple[list[dict[str, Any]], dict[str, SiteFacts]]:
    problems = request_problems(request.sites)
    site_ids = {s.network_id for s in request.sites}
    for user in request.users:
        if user.network_id not in site_ids:
            problems.append(
                Problem(
                    f"user {user.email or user.name} is for a site not in the request",
                    f"site {user.network_id}",
                )
            )
    problems.extend(client_users.user_problems(request.users))
    if problems:
        raise ValidationFailed(problems, "the VPN request is not valid; nothing was changed")
    verdicts = eligibility.evaluate(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        network_ids=[s.network_id for s in request.sites],
        users=[ClientUser(u.network_id, u.email, u.name) for u in request.users],
        accept_documentation=accept_documentation,
    )
    refused = [v for v in verdicts if not v.eligible]
    if refused:
        names = ", ".join(f"{v.site.name} ({v.site.network_id})" for v in refused)
        raise ValidationFailed(
            [
                Problem(
                    f"[{r.code.value}] {r.message}", f"site {v.site.name} ({v.site.network_id})"
                )
                for v in refused
                for r in v.reasons
            ],
            f"VPN is not possible at {names}; nothing was changed",
        )
    checked = [
        {"network_id": v.site.network_id, "plan": v.site.plan, "uplinks": v.uplinks.to_dict()}
        for v in verdicts
        if v.uplinks is not None
    ]
    return checked, {v.site.network_id: v.site for v in verdicts}


def site_to_site_sheet(
    *,
    network: dict[str, Any],
    site: SiteFacts,
    body: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> Sheet:
    """A change-request sheet holding only the network's siteToSiteVpn, validated like a file."""
    raw: dict[str, Any] = {
        "format": FORMAT,
        "kind": "change_request",
        "request": {
            "id": f"VPN-{now.astimezone(TOKYO_TZ):%Y%m%d%H%M%S}",
            "customer": site.customer or site.name,
            "requester": actor.name,
            "date": now.astimezone(TOKYO_TZ).date(),
            "summary": "VPN construction (Option 4)",
        },
        "site": {"name": network["name"], "plan": site.plan},
        "siteToSiteVpn": body,
    }
    if network.get("timeZone"):
        raw["site"]["timeZone"] = network["timeZone"]
    sheet, problems = validate_sheet(raw)
    if sheet is None:
        where = f"site {site.name} ({site.network_id})"
        raise ValidationFailed(
            [Problem(p.message, f"{where}, {p.location}") for p in problems],
            f"the VPN settings of {where} are not valid; nothing was changed",
        )
    return sheet


def _undo(
    *,
    session: Session,
    provisioning: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    clock: Clock,
    job_ids: list[int],
) -> list[int]:
    """Roll jobs back newest first; the rollback jobs that did not finish."""
    unfinished = []
    for job_id in reversed(job_ids):
        back = rollback_job(
            session=session,
            dashboard=provisioning,
            job_id=job_id,
            actor=actor,
            clock=clock,
            options=options,
        )
        if back.status != JobStatus.DONE:
            unfinished.append(back.id or 0)
    return unfinished


def build_vpn(
    *,
    session: Session,
    dashboard: VpnDashboard,
    provisioning: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    organization_id: str,
    request: BuildRequest,
    now: datetime,
    clock: Clock | None = None,
    accept_documentation: bool = False,
) -> BuildResult:
    """Check every site, then one provisioning job per differing site (hubs first), then users.

    Nothing is created before every site passed; a failure rolls back the jobs already applied.
    """
    clock = clock or (lambda: now)
    checked, sites = _refuse_ineligible(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        request=request,
        accept_documentation=accept_documentation,
    )
    desired = desired_site_to_site(request.sites)
    networks = {str(n["id"]): n for n in provisioning.list_networks()}
    missing = [nid for nid in desired if nid not in networks]
    if missing:
        raise NotFound(
            f"{', '.join(missing)} is not a network of organization {organization_id}",
            networks=missing,
        )
    sheets = {
        nid: site_to_site_sheet(
            network=networks[nid], site=sites[nid], body=body, actor=actor, now=now
        )
        for nid, body in desired.items()
    }
    changes: list[dict[str, Any]] = []
    job_ids: list[int] = []
    try:
        for network_id in apply_order(desired):
            sheet = sheets[network_id]
            plan = plan_sheet(dashboard=provisioning, sheet=sheet, options=options)
            before = plan.current.get(SITE_TO_SITE, {})
            if plan.empty:
                changes.append(
                    {"network_id": network_id, "changed": False, "job_id": None,
                     "before": before, "after": before}
                )  # fmt: skip
                continue
            job = apply_plan(
                session=session,
                dashboard=provisioning,
                sheet=sheet,
                plan=plan,
                actor=actor,
                clock=clock,
                options=options,
            )
            assert job.id is not None
            job_ids.append(job.id)
            if job.status != JobStatus.DONE:
                raise DashboardError(
                    f"provisioning job {job.id} for {network_id} ended {job.status}: "
                    f"{job.error or job.verify_diff}",
                    job_id=job.id,
                )
            changes.append(
                {"network_id": network_id, "changed": True, "job_id": job.id,
                 "before": before, "after": plan.desired[SITE_TO_SITE]}
            )  # fmt: skip
        outcomes = client_users.ensure_client_users(
            session=session, dashboard=dashboard, actor=actor, users=request.users, now=now
        )
    except Exception:
        with contextlib.suppress(Exception):  # the original error matters more
            _undo(
                session=session,
                provisioning=provisioning,
                options=options,
                actor=actor,
                clock=clock,
                job_ids=job_ids,
            )
        raise
    build = VpnBuild(
        status=APPLIED,
        organization_id=organization_id,
        created_at=now,
        actor=actor.name,
        request={**request.record(), "checked": checked, "desired": desired},
        changes=changes,
        users=[o.record() for o in outcomes],
        notes=list(DASHBOARD_LIMITS),
        jobs=job_ids,
    )
    session.add(build)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vpn.build",
        entity_type="vpn_build",
        entity_id=str(build.id),
        after={"changes": changes, "users": build.users, "jobs": job_ids},
        at=now,
    )
    return BuildResult(build, outcomes)


def revert_build(
    *,
    session: Session,
    dashboard: VpnDashboard,
    provisioning: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    build_id: int,
    now: datetime,
    clock: Clock | None = None,
) -> VpnBuild:
    """Roll back the build's provisioning jobs (newest first) and remove the users it created."""
    build = get_build(session=session, build_id=build_id)
    if build.status != APPLIED:
        raise Conflict(f"VPN build {build_id} is {build.status}, not applied", build=build_id)
    changed = [c for c in build.changes if c["changed"]]
    drifted = [
        c["network_id"]
        for c in changed
        if needs_change(provisioning.read_collection(c["network_id"], SITE_TO_SITE), c["after"])
    ]
    if drifted:
        raise Conflict(
            f"VPN build {build_id}: {', '.join(drifted)} changed on the dashboard since the build; "
            "nothing was reverted",
            networks=drifted,
        )
    unfinished = _undo(
        session=session,
        provisioning=provisioning,
        options=options,
        actor=actor,
        clock=clock or (lambda: now),
        job_ids=list(build.jobs),
    )
    if unfinished:
        raise DashboardError(
            f"VPN build {build_id}: rollback job(s) {', '.join(map(str, unfinished))} did not "
            "finish; see `netkeep job show ID`",
            jobs=unfinished,
        )
    for user in build.users:
        if user["action"] == "created":
            dashboard.delete_client_vpn_user(user["network_id"], user["dashboard_id"])
            client_users.forget(session=session, network_id=user["network_id"], email=user["email"])
    before = {"status": build.status}
    build.status, build.reverted_at, build.reverted_by = REVERTED, now, actor.name
    session.add(build)
    audit.record(
        session,
        actor=actor,
        action="vpn.build.revert",
        entity_type="vpn_build",
        entity_id=str(build.id),
        before=before,
        after={
            "status": build.status,
            "restored": [c["network_id"] for c in changed],
            "rolled_back_jobs": list(reversed(build.jobs)),
        },
        at=now,
    )
    return build


def get_build(*, session: Session, build_id: int) -> VpnBuild:
    build = session.get(VpnBuild, build_id)
    if build is None:
        raise NotFound(f"no VPN build {build_id}", build=build_id)
    return build


def list_builds(*, session: Session, limit: int = 100, offset: int = 0) -> list[VpnBuild]:
    stmt = select(VpnBuild).order_by(col(VpnBuild.id).desc()).limit(limit).offset(offset)
    return list(session.exec(stmt))
