"""Rollback on the everyday cases, through the real SDK against the sandbox.

The rule, stated for these tests: after rolling back a job the dashboard holds what it held
before the job. For a network the job created and the rollback leaves in place, "before" is a
new network: no devices, the Default VLAN 192.168.128.0/24 only, empty firewall/NAT rule lists,
content filtering empty, IPS and anti-malware disabled, SSID slots "Unconfigured SSID n"
disabled, no RF profiles. With `delete_network` the network is gone and its devices are back
in the organization's inventory. Each case is re-planned against the snapshot afterwards: the
plan is empty.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from core.errors import Conflict
from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.models import ProvisioningJob
from provisioning.rollback import rollback_plan
from provisioning.schemas import JobOut
from provisioning.service import plan_sheet, resume_rollback, rollback_job
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from sandbox.testing import CLAIM_SETTLE
from tests.service.test_provisioning_apply import (
    ACTOR,
    OPTIONS,
    ORG,
    apply,
    approved_survey,
    clock,
    dashboard_for,
    example,
)

BATCHES = "/organizations/{organizationId}/actionBatches"
UTM_SITE, UTM_MX = "さくら商事 本社", "Q2FY-AAAA-0002"
WIFI_SITE, WIFI_APS = "あおばクリニック", ["Q3AJ-DDDD-0002", "Q3AJ-DDDD-0003", "Q3AC-EEEE-0001"]


def roll_back(session: Session, dash: Any, job: Any, **kw: Any) -> ProvisioningJob:
    return rollback_job(
        session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock, options=OPTIONS,
        **kw,
    )  # fmt: skip


def replan_against_snapshot(session: Session, dash: Any, job: Any) -> list[Any]:
    plan, _, _ = rollback_plan(
        job=job, snapshots=jobs.snapshot_of(session=session, job_id=job.id), dashboard=dash,
        secret_key=OPTIONS.secret_key, rate=OPTIONS.rate, poll_seconds=OPTIONS.poll_seconds,
    )  # fmt: skip
    return plan.changes


def network_named(sdk: Any, name: str) -> dict[str, Any] | None:
    return next(
        (n for n in sdk.organizations.getOrganizationNetworks(ORG) if n["name"] == name), None
    )


def unassigned(sdk: Any, serials: list[str]) -> bool:
    rows = {d["serial"]: d for d in sdk.organizations.getOrganizationInventoryDevices(ORG)}
    return all(rows[s]["networkId"] is None for s in serials)


def test_a_fresh_utm_site_rolls_back_to_a_new_network_left_in_place(
    sandbox: SandboxServer, session: Session
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()
    job = apply(session, dash, example("utm"))
    back = roll_back(session, dash, job)
    assert (back.status, back.verify_diff, back.error) == ("done", [], None)
    net = network_named(sdk, UTM_SITE)
    assert net is not None and net["id"] == job.network_id  # left in place ...
    assert UTM_SITE in back.not_restorable[0] and "--delete-network" in back.not_restorable[0]
    vlans = sdk.appliance.getNetworkApplianceVlans(net["id"])
    assert [(v["id"], v["name"], v["subnet"]) for v in vlans] == [
        ("1", "Default", "192.168.128.0/24")
    ]
    assert sdk.networks.getNetworkDevices(net["id"]) == [] and unassigned(sdk, [UTM_MX])
    l3 = sdk.appliance.getNetworkApplianceFirewallL3FirewallRules(net["id"])["rules"]
    assert [r["comment"] for r in l3] == ["Default rule"]
    assert sdk.appliance.getNetworkApplianceFirewallL7FirewallRules(net["id"])["rules"] == []
    assert sdk.appliance.getNetworkApplianceFirewallPortForwardingRules(net["id"])["rules"] == []
    assert sdk.appliance.getNetworkApplianceFirewallOneToOneNatRules(net["id"])["rules"] == []
    filtering = sdk.appliance.getNetworkApplianceContentFiltering(net["id"])
    assert filtering["blockedUrlCategories"] == [] and filtering["allowedUrlPatterns"] == []
    assert sdk.appliance.getNetworkApplianceSecurityIntrusion(net["id"])["mode"] == "disabled"
    assert sdk.appliance.getNetworkApplianceSecurityMalware(net["id"])["mode"] == "disabled"
    # the dashboard refuses to delete the last VLAN: the Default VLAN came back first
    assert back.id is not None
    first_step = jobs.journal(session=session, job_id=back.id)[0]
    ops = [(o["key"], o["action"]) for o in first_step.operations]
    assert ops.index(("vlan/1", "create")) < min(
        ops.index((f"vlan/{n}", "delete")) for n in (10, 20, 30)
    )
    assert replan_against_snapshot(session, dash, job) == []
    again = plan_sheet(dashboard=dash, sheet=example("utm"), options=OPTIONS)
    assert again.network_id == job.network_id and again.changes  # the sheet can be applied again


def test_a_fresh_utm_site_rolled_back_with_delete_network_is_gone(
    sandbox: SandboxServer, session: Session
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()
    job = apply(session, dash, example("utm"))
    back = roll_back(session, dash, job, delete_network=True)
    assert (back.status, back.verify_diff, back.not_restorable) == ("done", [], [])
    assert network_named(sdk, UTM_SITE) is None and unassigned(sdk, [UTM_MX])
    assert plan_sheet(dashboard=dash, sheet=example("utm"), options=OPTIONS).network_id is None


def test_a_fresh_wireless_site_rolls_back_to_a_new_network(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()
    approved_survey(session, tmp_path)
    job = apply(session, dash, example("wireless"))
    back = roll_back(session, dash, job)
    assert (back.status, back.verify_diff) == ("done", [])
    net_id = str(job.network_id)
    ssids = sdk.wireless.getNetworkWirelessSsids(net_id)[:3]
    assert [(s["name"], s["enabled"], s["authMode"]) for s in ssids] == [
        (f"Unconfigured SSID {n}", False, "open") for n in (1, 2, 3)
    ]
    assert sdk.wireless.getNetworkWirelessRfProfiles(net_id) == []
    assert sdk.networks.getNetworkDevices(net_id) == [] and unassigned(sdk, WIFI_APS)
    assert any(line.startswith("ssid/1.{") and "psk" in line for line in back.not_restorable)
    assert replan_against_snapshot(session, dash, job) == []


def _changed(sheet: Sheet) -> Sheet:
    """The UTM site changed by a settings sheet: VLAN 30 dropped, 40 added, 10 renamed, rules."""
    vlans = [v for v in sheet.vlans or [] if v.id != 30]
    vlans = [v.model_copy(update={"name": "本社LAN"}) if v.id == 10 else v for v in vlans]
    vlans.append(
        vlans[-1].model_copy(
            update={"id": 40, "name": "新設", "subnet": "192.168.40.0/24",
                    "appliance_ip": "192.168.40.1"}
        )
    )  # fmt: skip
    rules = (sheet.l3_firewall_rules or [])[:1]
    return sheet.model_copy(update={"vlans": vlans, "l3_firewall_rules": rules})


def test_a_changed_site_rolls_back_to_the_sheet_it_had(
    sandbox: SandboxServer, session: Session
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()
    first = apply(session, dash, example("utm"))
    changed = _changed(example("utm"))
    job = apply(session, dash, changed)
    assert (job.status, job.verify_diff) == ("done", [])
    ids = [v["id"] for v in sdk.appliance.getNetworkApplianceVlans(first.network_id)]
    assert ids == ["10", "20", "40"]
    back = roll_back(session, dash, job)
    assert (back.status, back.verify_diff, back.not_restorable) == ("done", [], [])
    vlans = sdk.appliance.getNetworkApplianceVlans(first.network_id)
    assert [(v["id"], v["name"]) for v in vlans] == [
        ("10", "業務LAN"),
        ("20", "来客用"),
        ("30", "監視カメラ"),
    ]
    assert replan_against_snapshot(session, dash, job) == []
    assert plan_sheet(dashboard=dash, sheet=example("utm"), options=OPTIONS).empty


def test_delete_network_is_refused_for_a_network_the_job_did_not_create(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    apply(session, dash, example("utm"))
    cr = apply(session, dash, example("change_request"))
    before = sandbox.admin.count("POST", BATCHES)
    with pytest.raises(Conflict, match="did not create network"):
        roll_back(session, dash, cr, delete_network=True)
    assert sandbox.admin.count("POST", BATCHES) == before
    assert network_named(sandbox.dashboard_api(), UTM_SITE) is not None


def test_a_failed_rollback_says_how_to_continue_and_resumes_without_a_sheet(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()
    approved_survey(session, tmp_path)
    job = apply(session, dash, example("wireless"))
    net_id = str(job.network_id)
    # meanwhile someone adds a fourth AP on the job's RF profile: it cannot be deleted
    sdk.networks.claimNetworkDevices(net_id, serials=["Q3AC-EEEE-0002"])
    time.sleep(CLAIM_SETTLE)  # a newly claimed device answers 404 for a moment
    profile = sdk.wireless.getNetworkWirelessRfProfiles(net_id)[0]["id"]
    sdk.wireless.updateDeviceWirelessRadioSettings("Q3AC-EEEE-0002", rfProfileId=profile)
    back = roll_back(session, dash, job)
    assert back.status == "failed" and "in use" in str(back.error)
    out = JobOut.of(back)
    assert out.continue_with is not None
    assert out.continue_with.startswith(f"netkeep rollback --resume {back.id}")
    assert f"netkeep rollback {job.id}" in out.continue_with
    sdk.networks.removeNetworkDevices(net_id, serial="Q3AC-EEEE-0002")
    assert back.id is not None
    done = resume_rollback(
        session=session, dashboard=dash, job_id=back.id, actor=ACTOR, clock=clock, options=OPTIONS
    )
    assert (done.id, done.status, done.verify_diff) == (back.id, "done", [])
    assert JobOut.of(done).continue_with is None
    assert sdk.wireless.getNetworkWirelessRfProfiles(net_id) == []
    with pytest.raises(Conflict, match="netkeep apply SHEET --resume"):
        resume_rollback(
            session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip


def test_a_fresh_site_whose_apply_stopped_after_creating_the_network_rolls_back(
    sandbox: SandboxServer, session: Session
) -> None:
    dash, sdk = dashboard_for(sandbox), sandbox.dashboard_api()

    def crash(step: Any) -> None:
        if step.number == 1:
            raise RuntimeError("killed after the network was created")

    with pytest.raises(RuntimeError):
        apply(session, dash, example("utm"), hooks=ApplyHooks(after_step=crash))
    job = jobs.list_jobs(session=session)[0]
    assert job.network_id is not None
    back = roll_back(session, dash, job)
    assert (back.status, back.verify_diff) == ("done", [])
    net_id = str(job.network_id)
    assert sdk.appliance.getNetworkApplianceVlansSettings(net_id)["vlansEnabled"] is False
    assert sdk.networks.getNetworkDevices(net_id) == [] and unassigned(sdk, [UTM_MX])
    assert replan_against_snapshot(session, dash, job) == []
