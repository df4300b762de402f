"""A sheet large enough for asynchronous action batches: submitted, polled, verified, resumable."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from provisioning import apply as jobs
from provisioning.service import plan_sheet
from provisioning.sheet_model import Sheet
from provisioning.validation import validate_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import OPTIONS, apply, dashboard_for
from tests.unit.provisioning.sheets import utm

VLANS = 60  # 60 creates + the other batchable writes: more than 40 actions, so asynchronous


def big_sheet() -> Sheet:
    raw: dict[str, Any] = utm()
    raw["vlans"] = [
        {
            "id": 100 + i,
            "name": f"VLAN{100 + i}",
            "subnet": f"10.{i}.0.0/24",
            "applianceIp": f"10.{i}.0.1",
            "dhcpHandling": "run",
        }
        for i in range(VLANS)
    ]
    raw["portForwardingRules"] = []
    raw["oneToOneNatRules"] = []
    sheet, problems = validate_sheet(raw)
    assert problems == [] and sheet is not None
    return sheet


def test_large_sheet_goes_through_an_async_batch_and_verifies(
    session: Session, sandbox: SandboxServer
) -> None:
    dash = dashboard_for(sandbox)
    sheet = big_sheet()
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    batches = [s for s in plan.steps if s.batch]
    assert any(not s.synchronous for s in batches), [
        (len(s.operations), s.synchronous) for s in batches
    ]
    job = apply(session, dash, sheet)
    assert job.status == "done", [
        (s.action, s.status, s.error) for s in jobs.journal(session=session, job_id=job.id)
    ]
    counters = sandbox.admin.counters()
    created = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    polled = sandbox.admin.count(
        "GET", "/organizations/{organizationId}/actionBatches/{actionBatchId}"
    )
    assert created >= 1 and polled >= 1, counters
    network = plan.network_id or job.network_id
    vlans = dash_vlans(sandbox, network)
    assert {v["id"] for v in vlans} >= {str(100 + i) for i in range(VLANS)} | {100, 159} - {
        100,
        159,
    }
    assert len([v for v in vlans if int(v["id"]) >= 100]) == VLANS
    again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    assert again.empty, [c for c in again.changes][:5]


def dash_vlans(sandbox: SandboxServer, network_id: str | None) -> list[dict[str, Any]]:
    assert network_id is not None
    vlans: list[dict[str, Any]] = sandbox.dashboard_api().appliance.getNetworkApplianceVlans(
        network_id
    )
    return vlans
