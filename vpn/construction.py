"""VPN construction: eligible sites only, desired Auto VPN settings applied with a diff, revert.

The desired state comes from the pure `vpn.domain.desired_site_to_site`, so the provisioning
engine can take it over once it carries a siteToSiteVpn resource.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from vpn import client_users, eligibility
from vpn.client_users import UserOutcome, UserRequest
from vpn.domain import (
    DASHBOARD_LIMITS,
    ClientUser,
    HubChoice,
    SiteRequest,
    SiteRole,
    SubnetChoice,
    apply_order,
    desired_site_to_site,
    needs_change,
    request_problems,
    restore_body,
)
from vpn.models import VpnBuild
from vpn.ports import VpnDashboard

APPLIED = "applied"
REVERTED = "reverted"


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """Which sites, hub or spoke, their hubs and subnets, and the client-VPN users."""

    sites: tuple[SiteRequest, ...]
    users: tuple[UserRequest, ...] = ()

    def record(self) -> dict[str, Any]:
        """The request as stored: users without passwords."""
        return {
            "sites": [
                {
                    "network_id": s.network_id,
                    "role": s.role.value,
                    "hubs": [asdict(h) for h in s.hubs],
                    "subnets": [asdict(n) for n in s.subnets],
                }
                for s in self.sites
            ],
            "users": [
                {"network_id": u.network_id, "email": u.email, "name": u.name} for u in self.users
            ],
        }


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
) -> list[dict[str, Any]]:
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
    return [
        {"network_id": v.site.network_id, "plan": v.site.plan, "uplinks": v.uplinks.to_dict()}
        for v in verdicts
        if v.uplinks is not None
    ]


def build_vpn(
    *,
    session: Session,
    dashboard: VpnDashboard,
    actor: Actor,
    organization_id: str,
    request: BuildRequest,
    now: datetime,
    accept_documentation: bool = False,
) -> BuildResult:
    """Check every site, then set what differs (hubs first), then the users; undo on failure."""
    checked = _refuse_ineligible(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        request=request,
        accept_documentation=accept_documentation,
    )
    desired = desired_site_to_site(request.sites)
    changes: list[dict[str, Any]] = []
    applied: list[tuple[str, dict[str, Any]]] = []
    try:
        for network_id in apply_order(desired):
            current = dashboard.site_to_site(network_id)
            if not needs_change(current, desired[network_id]):
                changes.append(
                    {
                        "network_id": network_id,
                        "changed": False,
                        "before": current,
                        "after": current,
                    }
                )
                continue
            after = dashboard.set_site_to_site(network_id, desired[network_id])
            applied.append((network_id, current))
            changes.append(
                {"network_id": network_id, "changed": True, "before": current, "after": after}
            )
        outcomes = client_users.ensure_client_users(
            session=session, dashboard=dashboard, actor=actor, users=request.users, now=now
        )
    except Exception:
        for network_id, before in reversed(applied):
            try:
                dashboard.set_site_to_site(network_id, restore_body(before))
            except Exception:  # the original error matters more
                continue
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
    )
    session.add(build)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vpn.build",
        entity_type="vpn_build",
        entity_id=str(build.id),
        after={"changes": changes, "users": build.users},
        at=now,
    )
    return BuildResult(build, outcomes)


def revert_build(
    *, session: Session, dashboard: VpnDashboard, actor: Actor, build_id: int, now: datetime
) -> VpnBuild:
    """Put every network the build changed back as it was, and remove the users it created."""
    build = get_build(session=session, build_id=build_id)
    if build.status != APPLIED:
        raise Conflict(f"VPN build {build_id} is {build.status}, not applied", build=build_id)
    changed = [c for c in build.changes if c["changed"]]
    drifted = [
        c["network_id"]
        for c in changed
        if needs_change(dashboard.site_to_site(c["network_id"]), c["after"])
    ]
    if drifted:
        raise Conflict(
            f"VPN build {build_id}: {', '.join(drifted)} changed on the dashboard since the build; "
            "nothing was reverted",
            networks=drifted,
        )
    for change in reversed(changed):
        dashboard.set_site_to_site(change["network_id"], restore_body(change["before"]))
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
        after={"status": build.status, "restored": [c["network_id"] for c in changed]},
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


def parse_request(data: dict[str, Any]) -> BuildRequest:
    """A BuildRequest from plain data (a YAML/JSON file or an API body); problems named."""
    problems: list[Problem] = []
    sites: list[SiteRequest] = []
    for i, raw in enumerate(data.get("sites") or [], start=1):
        where = f"sites[{i}]"
        if not isinstance(raw, dict) or not raw.get("network_id"):
            problems.append(Problem("each site needs a network_id", where))
            continue
        try:
            role = SiteRole(str(raw.get("role", "")).lower())
        except ValueError:
            problems.append(
                Problem(f"role must be hub, spoke or none, got {raw.get('role')!r}", where)
            )
            continue
        hubs = []
        for hub in raw.get("hubs") or []:
            if isinstance(hub, str):
                hubs.append(HubChoice(hub))
            elif isinstance(hub, dict) and hub.get("network_id"):
                hubs.append(
                    HubChoice(str(hub["network_id"]), bool(hub.get("use_default_route", False)))
                )
            else:
                problems.append(Problem(f"hub {hub!r} needs a network_id", where))
        subnets = []
        for subnet in raw.get("subnets") or []:
            if isinstance(subnet, str):
                subnets.append(SubnetChoice(subnet))
            elif isinstance(subnet, dict) and subnet.get("local_subnet"):
                subnets.append(
                    SubnetChoice(str(subnet["local_subnet"]), bool(subnet.get("use_vpn", True)))
                )
            else:
                problems.append(Problem(f"subnet {subnet!r} needs a local_subnet", where))
        sites.append(SiteRequest(str(raw["network_id"]), role, tuple(hubs), tuple(subnets)))
    if not sites and not problems:
        problems.append(Problem("the request names no sites", "sites"))
    users = []
    for i, raw in enumerate(data.get("users") or [], start=1):
        if not isinstance(raw, dict):
            problems.append(Problem("each user must be a mapping", f"users[{i}]"))
            continue
        users.append(
            UserRequest(
                network_id=str(raw.get("network_id") or ""),
                email=str(raw.get("email") or ""),
                name=str(raw.get("name") or ""),
                password=raw.get("password") or None,
            )
        )
    if problems:
        raise ValidationFailed(problems)
    return BuildRequest(tuple(sites), tuple(users))
