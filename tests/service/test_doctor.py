"""`doctor.service.check` on real tables: an RMA journey stays clean; each break is found."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from core.errors import Conflict
from dashboard.meraki import MerakiDashboard
from doctor import service as doctor
from doctor.facts import Findings
from inventory import service as inventory
from inventory.domain import DeviceStatus, Owner, OwnerKind
from provisioning.models import ProvisioningJob
from rma import replacement
from sandbox.server import SandboxServer
from tests.service.helpers import ACTOR
from tests.service.rma_builders import (
    AP,
    FAILED,
    LOGI,
    OLD,
    SPARE,
    SWAPPED,
    build_world,
    shipped_rma,
)

ORG = "537758"
LATER = SWAPPED + timedelta(days=1)


def check(session: Session, dashboard: Any = None, **kw: Any) -> Findings:
    return doctor.check(session=session, dashboard=dashboard, organization_id=ORG, now=LATER, **kw)


def found(findings: Findings) -> set[tuple[str, str]]:
    return {(v.invariant.value, v.subject) for v in findings.violations}


def test_an_rma_from_report_to_swap_keeps_every_invariant(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    assert found(check(session)) == set()
    rma = shipped_rma(session, swap=False)
    assert found(check(session)) == set()
    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma.id or 0,
        now=SWAPPED,
        dashboard=None,
        organization_id=ORG,
    )
    session.flush()
    assert found(check(session)) == set()


def test_a_unit_released_by_hand_while_its_rma_holds_it_is_found(
    session: Session, tmp_path: Path
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    with pytest.raises(Conflict, match=f"held by {rma.number}"):  # a person may not, now
        inventory.change_status(
            session=session, actor=ACTOR, serial=SPARE, target=DeviceStatus.RETURNED, now=LATER
        )
    # ... but a unit moved behind netkeep's back (old data, a direct write) is still found
    spare = inventory.get_device(session=session, serial=SPARE)
    spare.status, spare.held_by = "returned", None
    session.add(spare)
    session.flush()
    [violation] = check(session).violations
    assert (violation.invariant.value, violation.subject) == ("rma_holds", rma.number)
    assert SPARE in violation.message and "returned, not in_transit" in violation.message


def test_a_wrong_ledger_entry_is_found_and_the_owner_command_repairs_it(
    session: Session, tmp_path: Path
) -> None:
    world = build_world(session, tmp_path, fee_paid=False)
    assert found(check(session)) == set()
    inventory.correct_owner(
        session=session,
        actor=ACTOR,
        serial=AP,
        owner=Owner(OwnerKind.CUSTOMER, world.customer),
        now=LATER - timedelta(hours=1),
    )
    session.flush()
    [violation] = check(session).violations
    assert (violation.invariant.value, violation.subject) == ("ownership", AP)
    assert violation.repair == f"netkeep inventory owner {AP} provider:provider"
    inventory.correct_owner(
        session=session,
        actor=ACTOR,
        serial=AP,
        owner=Owner(OwnerKind.PROVIDER, "provider"),
        now=LATER - timedelta(minutes=1),
    )
    session.flush()
    assert found(check(session)) == set()
    with pytest.raises(Conflict):
        inventory.correct_owner(
            session=session,
            actor=ACTOR,
            serial=AP,
            owner=Owner(OwnerKind.PROVIDER, "provider"),
            now=LATER,
        )


def test_a_job_left_running_beyond_the_bound_is_stuck(session: Session, tmp_path: Path) -> None:
    build_world(session, tmp_path)
    job = ProvisioningJob(
        kind="apply",
        status="running",
        organization_id=ORG,
        network_name="東京本社",
        site_plan="utm",
        sheet_kind="settings",
        sheet_digest="0" * 64,
        created_by="tester",
        created_at=LATER - timedelta(hours=2),
    )
    session.add(job)
    session.flush()
    assert found(check(session)) == {("stuck", f"job {job.id}")}
    assert found(check(session, stuck_after=timedelta(hours=3))) == set()


def test_the_dashboard_is_read_once_and_a_unit_missing_from_its_network_is_found(
    session: Session, tmp_path: Path, sandbox: SandboxServer
) -> None:
    build_world(session, tmp_path)
    sdk = sandbox.dashboard_api()
    sdk.networks.claimNetworkDevices("N_demo_osaka", serials=[OLD])
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url, retry_wait=0)
    world_serials = {FAILED, SPARE, OLD, AP}

    def mine(findings: Findings) -> set[tuple[str, str]]:
        return {f for f in found(findings) if f[1] in world_serials}

    sandbox.admin.reset_counters()
    assert mine(check(session, dashboard)) == set()
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/inventory/devices") == 1
    sdk.networks.removeNetworkDevices("N_demo_tokyo", serial=FAILED)
    findings = check(session, dashboard)
    assert findings.dashboard_checked
    assert mine(findings) == {("on_dashboard", FAILED)}
