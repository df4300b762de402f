"""The siteToSiteVpn section through plan/apply/rollback, the real SDK and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from core.errors import ValidationFailed
from provisioning.plan import change_rows
from provisioning.service import plan_sheet, rollback_job
from provisioning.sheet_model import Sheet
from provisioning.validation import validate_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, apply, clock, dashboard_for

TOKYO, OSAKA = "N_demo_tokyo", "N_demo_osaka"
TOKYO_NAME, OSAKA_NAME = "東京本社 Tokyo HQ", "大阪支店 Osaka"
S2S = "/networks/{networkId}/appliance/vpn/siteToSiteVpn"
BATCHES = "/organizations/{organizationId}/actionBatches"


def vpn_sheet(name: str, vpn: dict[str, Any], plan: str = "utm") -> Sheet:
    raw = {
        "format": "netkeep-sheet/1",
        "kind": "change_request",
        "request": {
            "id": "CR-VPN-1",
            "customer": "株式会社さくら商事",
            "requester": "山田",
            "date": "2026-05-01",
        },
        "site": {"name": name, "plan": plan},
        "siteToSiteVpn": vpn,
    }
    sheet, problems = validate_sheet(raw, environ={})
    assert problems == [] and sheet is not None
    return sheet


HUB = {"mode": "hub", "subnets": ["192.168.128.0/24"]}


def test_utm_sheet_sets_vpn_in_a_batch_reads_back_and_replans_empty(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    job = apply(session, dash, vpn_sheet(TOKYO_NAME, HUB))
    assert job.status == "done", job.error
    assert job.verify_diff == []
    got = sandbox.dashboard_api().appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)
    assert got == {
        "mode": "hub",
        "hubs": [],
        "subnets": [{"localSubnet": "192.168.128.0/24", "useVpn": True}],
    }
    assert sandbox.admin.count("POST", BATCHES) == 1  # batchable: sent in an action batch
    assert sandbox.admin.count("PUT", S2S) == 0
    assert [r["resource"] for r in job.changes] == ["vpn/siteToSiteVpn"]
    again = plan_sheet(dashboard=dash, sheet=vpn_sheet(TOKYO_NAME, HUB), options=OPTIONS)
    assert again.empty and again.steps == []


def test_spoke_hub_by_name_change_shows_only_changed_fields_and_rollback_restores(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    assert apply(session, dash, vpn_sheet(TOKYO_NAME, HUB)).status == "done"
    spoke = {
        "mode": "spoke",
        "hubs": [{"hubId": TOKYO_NAME, "useDefaultRoute": False}],
        "subnets": [{"localSubnet": "192.168.129.0/24", "useVpn": True}],
    }
    first = apply(session, dash, vpn_sheet(OSAKA_NAME, spoke, plan="router"))
    assert first.status == "done", first.error
    sdk = sandbox.dashboard_api()
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["hubs"] == [
        {"hubId": TOKYO, "useDefaultRoute": False}
    ]

    changed = {**spoke, "hubs": [{"hubId": TOKYO, "useDefaultRoute": True}]}
    plan = plan_sheet(dashboard=dash, sheet=vpn_sheet(OSAKA_NAME, changed), options=OPTIONS)
    [row] = change_rows(plan.changes)
    assert row["resource"] == "vpn/siteToSiteVpn" and row["action"] == "update"
    assert [f["field"] for f in row["fields"]] == ["hubs"]
    assert row["fields"][0]["after"] == [{"hubId": TOKYO, "useDefaultRoute": True}]

    back = rollback_job(
        session=session, dashboard=dash, job_id=first.id or 0, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert back.status == "done", back.error
    restored = sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)
    assert restored["mode"] == "none" and restored["hubs"] == []
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "hub"


def test_unknown_hub_is_refused_by_name_before_any_write(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sheet = vpn_sheet(OSAKA_NAME, {"mode": "spoke", "hubs": ["福岡支店"]})
    with pytest.raises(ValidationFailed) as caught:
        plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    assert "福岡支店" in str(caught.value)
    assert caught.value.problems[0].location == "siteToSiteVpn.hubs[0].hubId"
    assert sandbox.admin.count("POST", BATCHES) == 0 and sandbox.admin.count("PUT", S2S) == 0
