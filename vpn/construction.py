"""VPN construction: eligible sites only, Auto VPN set through the provisioning engine, revert.

Each site's desired ``siteToSiteVpn`` (the pure `vpn.domain.desired_site_to_site`) becomes an
in-memory change-request sheet holding only that section, planned and applied as one journalled
provisioning job per network (hubs first). A revert rolls those jobs back, newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import (
    Conflict,
    DashboardError,
    NotFound,
    Problem,
    ValidationFailed,
)
from core.paging import Page, page_of_query
from core.timeutil import TOKYO as TOKYO_TZ
from provisioning.domain import JobStatus
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet
from provisioning.sheet_model import FORMAT, Sheet
from provisioning.validation import validate_sheet
from vpn import client_users, compensation, eligibility
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

    Nothing is created before every site passed; a failure rolls back the jobs already applied
    and stores the build as `failed`, or `partially_reverted` naming what an undo could not
    take back (`vpn.compensation`).
    """
    clock = clock or (lambda: now)
    checked, sites = _refuse_ineligible(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        request=request,
        accept_documentation=accept_documentation,
    )
    session.commit()  # it only read: no transaction held across the dashboard calls below
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
            changes.append(
                {"network_id": network_id, "changed": True, "job_id": job.id,
                 "before": before, "after": plan.desired[SITE_TO_SITE]}
            )  # fmt: skip
            if job.status != JobStatus.DONE:
                raise DashboardError(
                    f"provisioning job {job.id} for {network_id} ended {job.status}: "
                    f"{job.error or job.verify_diff}",
                    job_id=job.id,
                )
        outcomes = client_users.ensure_client_users(
            session=session, dashboard=dashboard, actor=actor, users=request.users, now=now
        )
    except Exception as exc:
        compensation.fail_build(
            session=session, provisioning=provisioning, options=options, actor=actor,
            clock=clock, exc=exc, organization_id=organization_id,
            request={**request.record(), "checked": checked, "desired": desired},
            changes=changes, job_ids=job_ids, now=now,
        )  # fmt: skip
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


def _check_drift(provisioning: ProvisioningDashboard, build: VpnBuild) -> None:
    """Refuse a revert when a changed network's settings moved since the build."""
    drifted = [
        c["network_id"]
        for c in build.changes
        if c["changed"]
        and needs_change(provisioning.read_collection(c["network_id"], SITE_TO_SITE), c["after"])
    ]
    if drifted:
        raise Conflict(
            f"VPN build {build.id}: {', '.join(drifted)} changed on the dashboard since the "
            "build; nothing was reverted",
            networks=drifted,
        )


def _remove_users(
    *, session: Session, dashboard: VpnDashboard, users: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Delete the users the build created (each marked `removed`); the ones that stayed."""
    left = []
    removed = []
    for user in users:
        if user["action"] != "created" or user.get("removed"):
            continue
        try:
            dashboard.delete_client_vpn_user(user["network_id"], user["dashboard_id"])
        except Exception as exc:  # the others are still tried; this one is reported
            left.append(
                compensation.user_left(user["network_id"], user["email"], user["dashboard_id"], exc)
            )
            continue
        user["removed"] = True
        removed.append(user)
    for user in removed:  # recorded after the calls: no write transaction across them
        client_users.forget(session=session, network_id=user["network_id"], email=user["email"])
    return left


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
    """Roll back the build's provisioning jobs (newest first) and remove the users it created.

    Every undo is tried; if one fails the build becomes `partially_reverted` (stored, audited,
    DashboardError naming what stayed) and reverting it again takes up only what is left.
    """
    build = get_build(session=session, build_id=build_id)
    if build.status not in (APPLIED, compensation.PARTIALLY_REVERTED):
        raise Conflict(f"VPN build {build_id} is {build.status}, not applied", build=build_id)
    session.commit()  # it only read: no transaction held across the dashboard calls below
    if build.status == APPLIED:
        _check_drift(provisioning, build)
    changes = [dict(c) for c in build.changes]
    users = [dict(u) for u in build.users]
    left = compensation.undo_jobs(
        session=session, provisioning=provisioning, options=options, actor=actor,
        clock=clock or (lambda: now), changes=changes,
    )  # fmt: skip
    left += _remove_users(session=session, dashboard=dashboard, users=users)
    before = {"status": build.status}
    build.changes, build.users = changes, users
    if left:
        build.status = compensation.PARTIALLY_REVERTED
        kept = [n for n in build.notes if not n.startswith(("left on the", "continue with"))]
        build.notes = kept + compensation.how_to_continue(build.id, left)
        session.add(build)
        compensation.record_outcome(
            session, actor=actor, action="vpn.build.revert", build_id=build.id,
            status=build.status, error="an undo failed", left=left, now=now,
        )  # fmt: skip
        raise DashboardError(
            f"VPN build {build_id} was only partly reverted: "
            + "; ".join(build.notes[len(kept) :]),
            build=build_id,
            status=build.status,
            left_on_dashboard=left,
        )
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
            "restored": [c["network_id"] for c in changes if c["changed"]],
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
    return page_builds(session=session, limit=limit, offset=offset).items


def page_builds(*, session: Session, limit: int, offset: int) -> Page[VpnBuild]:
    """Builds newest first, a page at a time."""
    stmt = select(VpnBuild).order_by(col(VpnBuild.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)
