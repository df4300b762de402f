"""Eligibility checks before VPN construction: contract plan and option, global WAN IP, e-mail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import NotFound
from core.paging import Page, page_of_query
from inventory.models import CatalogueModel, Contract, Device
from vpn.domain import ClientUser, SiteFacts, SiteVerdict, evaluate_sites
from vpn.models import VpnEligibilityCheck
from vpn.ports import VpnDashboard

GATEWAY_TYPES = ("appliance", "cellularGateway")


def site_facts(*, session: Session, network_ids: Sequence[str]) -> list[SiteFacts]:
    """Each network's contract as the inventory knows it (the gateway device's contract first)."""
    stmt = (
        select(Device, Contract, CatalogueModel)
        .join(Contract, col(Device.contract_id) == col(Contract.id))
        .join(CatalogueModel, col(Device.model) == col(CatalogueModel.model))
        .where(col(Device.network_id).in_(list(network_ids)))
        .order_by(col(Device.serial))
    )
    found: dict[str, SiteFacts] = {}
    gateway_seen: set[str] = set()
    for device, contract, catalogue in session.exec(stmt):
        nid = str(device.network_id)
        is_gateway = catalogue.product_type in GATEWAY_TYPES
        if nid in found and (nid in gateway_seen or not is_gateway):
            continue
        if is_gateway:
            gateway_seen.add(nid)
        found[nid] = SiteFacts(
            network_id=nid,
            name=device.site or nid,
            customer=contract.customer,
            contract_number=contract.number,
            plan=contract.plan,
            options=frozenset(contract.options),
        )
    return [found.get(nid) or SiteFacts(network_id=nid, name=nid) for nid in network_ids]


def customers_by_network(*, session: Session) -> dict[str, str]:
    """The customer of every network that has a device on a contract."""
    stmt = (
        select(Device.network_id, Contract.customer)
        .join(Contract, col(Device.contract_id) == col(Contract.id))
        .where(col(Device.network_id).is_not(None))
    )
    return {str(nid): customer for nid, customer in session.exec(stmt)}


def evaluate(
    *,
    session: Session,
    dashboard: VpnDashboard,
    organization_id: str,
    network_ids: Sequence[str],
    users: Sequence[ClientUser] = (),
    accept_documentation: bool = False,
) -> list[SiteVerdict]:
    """Verdicts for the sites, from the contracts and the dashboard's uplink statuses."""
    ids = list(dict.fromkeys(network_ids))
    # the dashboard first, then the contracts: no transaction is open during the call
    uplinks = {u.network_id: u for u in dashboard.uplink_statuses(organization_id, ids)}
    facts = site_facts(session=session, network_ids=ids)
    return evaluate_sites(facts, uplinks, users, accept_documentation=accept_documentation)


def check_sites(
    *,
    session: Session,
    dashboard: VpnDashboard,
    actor: Actor,
    organization_id: str,
    network_ids: Sequence[str],
    users: Sequence[ClientUser] = (),
    now: datetime,
    accept_documentation: bool = False,
) -> list[VpnEligibilityCheck]:
    """Check the sites and store one record per site (eligible or not, with the reasons)."""
    verdicts = evaluate(
        session=session,
        dashboard=dashboard,
        organization_id=organization_id,
        network_ids=network_ids,
        users=users,
        accept_documentation=accept_documentation,
    )
    run = uuid.uuid4().hex
    rows = []
    for verdict in verdicts:
        site = verdict.site
        row = VpnEligibilityCheck(
            run=run,
            network_id=site.network_id,
            site_name=site.name,
            customer=site.customer,
            contract_number=site.contract_number,
            plan=site.plan,
            checked_at=now,
            eligible=verdict.eligible,
            reasons=[r.to_dict() for r in verdict.reasons],
            uplinks=verdict.uplinks.to_dict() if verdict.uplinks else None,
            users=[
                {"email": u.email, "name": u.name} for u in users if u.network_id == site.network_id
            ],
            actor=actor.name,
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="vpn.check",
            entity_type="vpn_site",
            entity_id=site.network_id,
            after={"eligible": row.eligible, "reasons": row.reasons, "check_id": row.id},
            at=now,
        )
        rows.append(row)
    return rows


def list_checks(
    *, session: Session, network_id: str | None = None, limit: int = 100, offset: int = 0
) -> list[VpnEligibilityCheck]:
    return page_checks(session=session, network_id=network_id, limit=limit, offset=offset).items


def page_checks(
    *, session: Session, network_id: str | None = None, limit: int, offset: int
) -> Page[VpnEligibilityCheck]:
    """Checks newest first, a page at a time."""
    stmt = select(VpnEligibilityCheck)
    if network_id is not None:
        stmt = stmt.where(VpnEligibilityCheck.network_id == network_id)
    stmt = stmt.order_by(col(VpnEligibilityCheck.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)


def get_check(*, session: Session, check_id: int) -> VpnEligibilityCheck:
    row = session.get(VpnEligibilityCheck, check_id)
    if row is None:
        raise NotFound(f"no VPN eligibility check {check_id}", check=check_id)
    return row
