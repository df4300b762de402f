"""A change request changes the customer's existing network; it never creates one.

The rule: the request's site is resolved, through the customer's units on contract, to the one
network id the inventory links them to (or, failing that, the id netkeep recorded when it
provisioned the site). The dashboard's name for that network does not matter. A site that
resolves to no existing network is refused with its location, and nothing is written.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from changes import applying, scheduling, service
from changes.models import ChangeRequest
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import ValidationFailed
from inventory.models import Contract, Device
from provisioning.service import plan_sheet
from provisioning.sheet_io import load_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import OPTIONS, ORG, dashboard_for, writes
from tests.unit.changes.builders import (
    ENV,
    SAKURA_SITE,
    TUESDAY_10,
    as_bytes,
    build_contracts,
    change_raw,
    link_site,
)
from tests.unit.provisioning.sheets import EXAMPLES

NOC = Actor(name="noc-suzuki", role="noc")
FIELD = Actor(name="field-sato", role="field")  # submits; the NOC approves (four-eyes)
CAL = BusinessCalendar()
DEMO_TOKYO = "N_demo_tokyo"  # "東京本社 Tokyo HQ" on the sandbox: not the site's name


def submit(session: Session, raw: dict[str, Any] | None = None) -> ChangeRequest:
    return service.submit_request(
        session=session,
        actor=FIELD,
        filename="cr.yaml",
        content=as_bytes(raw or change_raw()),
        notice_email="soumu@sakura.example.jp",
        now=TUESDAY_10,
        environ=ENV,
    )


def apply_now(session: Session, sandbox: SandboxServer, req: ChangeRequest) -> ChangeRequest:
    assert req.id is not None
    service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
    scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10
    )
    return applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=req.id,
        now=TUESDAY_10,
        dashboard=dashboard_for(sandbox),
        options=OPTIONS,
        environ=ENV,
    )


def network_names(sandbox: SandboxServer) -> list[str]:
    sdk = sandbox.dashboard_api()
    return sorted(n["name"] for n in sdk.organizations.getOrganizationNetworks(ORG))


def test_the_request_changes_the_network_the_inventory_links_to_the_site(
    session: Session, sandbox: SandboxServer
) -> None:
    build_contracts(session)
    link_site(session, DEMO_TOKYO)
    before = network_names(sandbox)
    req = submit(session)
    assert (req.status, req.problems) == ("validated", [])
    done = apply_now(session, sandbox, req)
    assert done.status == "applied", done.apply_error
    assert network_names(sandbox) == before  # nothing created beside the customer's network
    sdk = sandbox.dashboard_api()
    vlans = {v["id"]: v for v in sdk.appliance.getNetworkApplianceVlans(DEMO_TOKYO)}
    assert vlans["20"]["name"] == "来客用"
    assert sdk.networks.getNetwork(DEMO_TOKYO)["name"] == "東京本社 Tokyo HQ"  # not renamed


def test_a_site_linked_to_no_network_is_refused_at_validation(session: Session) -> None:
    build_contracts(session)
    link_site(session, None)
    req = submit(session)
    assert req.status == "submitted"
    [problem] = req.problems
    assert problem["location"] == "site.name"
    assert SAKURA_SITE in problem["message"] and "never creates one" in problem["message"]


def test_a_site_linked_to_two_networks_is_refused(session: Session) -> None:
    build_contracts(session)
    link_site(session, DEMO_TOKYO)
    raw = change_raw()
    sakura = session.exec(select(Contract).where(Contract.number == "C-SAKURA-1")).one()
    session.add(
        Device(
            serial="Q2FY-AAAA-0003",
            model="MX67",
            status="deployed",
            customer=sakura.customer,
            site=SAKURA_SITE,
            contract_id=sakura.id,
            network_id="N_elsewhere",
        )
    )
    session.flush()
    req = submit(session, raw)
    assert [p["location"] for p in req.problems] == ["site.name"]
    assert "N_demo_tokyo, N_elsewhere" in req.problems[0]["message"]


def test_a_linked_network_missing_on_the_dashboard_fails_the_apply_and_writes_nothing(
    session: Session, sandbox: SandboxServer
) -> None:
    build_contracts(session)
    link_site(session, "N_gone_away")
    req = submit(session)
    assert req.status == "validated"
    before = network_names(sandbox)
    sandbox.admin.reset_counters()
    failed = apply_now(session, sandbox, req)
    assert failed.status == "failed"
    assert failed.apply_error is not None and "N_gone_away" in failed.apply_error
    assert "never creates one" in failed.apply_error
    assert writes(sandbox) == 0 and network_names(sandbox) == before


def test_a_change_request_sheet_planned_by_name_never_plans_a_new_network(
    sandbox: SandboxServer,
) -> None:
    sheet = load_sheet(EXAMPLES / "change_request.yaml", environ=ENV)
    with pytest.raises(ValidationFailed) as refused:
        plan_sheet(dashboard=dashboard_for(sandbox), sheet=sheet, options=OPTIONS)
    [problem] = refused.value.problems
    assert problem.location == "site.name" and "never creates one" in problem.message
