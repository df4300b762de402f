"""The rollback's pure rules: what a snapshot asks for, and never deleting a network's last VLAN.

Stated independently: a resource that existed gets its recorded fields back except redacted
secrets; what the job created (VLANs, RF profiles, claimed devices) must be absent, and a
claimed device's parts go with it; in a network the job created, an appliance setting goes back
to a new network's value (L3 rules: none; IPS: disabled) and an SSID to "Unconfigured SSID n",
disabled and open. When every VLAN on the network would go, VLAN 1 "Default" 192.168.128.0/24
(no fixed IPs, no reserved ranges) is restored instead of deleted.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.audit import REDACTED
from provisioning.models import ProvisioningJob, ResourceSnapshot
from provisioning.rollback import keep_a_vlan, removals, snapshot_target

DEFAULT_VLAN = {
    "id": "1",
    "name": "Default",
    "subnet": "192.168.128.0/24",
    "applianceIp": "192.168.128.1",
    "fixedIpAssignments": {},
    "reservedIpRanges": [],
}


def job(desired: dict[str, Any] | None = None) -> ProvisioningJob:
    return ProvisioningJob(
        id=7, kind="apply", status="done", organization_id="1", network_id="N_1",
        network_name="店舗 1", site_plan="utm", sheet_kind="settings", sheet_digest="d",
        desired=desired or {}, created_by="t",
    )  # fmt: skip


def snap(resource: str, body: dict[str, Any] | None = None) -> ResourceSnapshot:
    return ResourceSnapshot(job_id=7, resource=resource, existed=body is not None, body=body)


def test_an_existing_resource_gets_its_fields_back_except_secrets() -> None:
    target = snapshot_target(
        job=job(),
        snapshots=[snap("ssid/1", {"name": "OLD", "psk": REDACTED}), snap("vlan/10", {"id": "10"})],
    )
    assert target.desired == {"ssid/1": {"name": "OLD"}, "vlan/10": {"id": "10"}}
    assert target.not_restorable == ["ssid/1.psk (secret, not kept)"]
    assert (target.absent, target.created_network) == ([], False)


def test_what_the_job_created_must_be_absent_and_a_claimed_devices_parts_go_with_it() -> None:
    target = snapshot_target(
        job=job(),
        snapshots=[
            snap("vlan/40"),
            snap("rfProfile/会議室"),
            snap("device/Q-1"),
            snap("device/Q-1/managementInterface"),
            snap("device/Q-1/radio"),
            snap("device/Q-2", {"name": "AP-2"}),
            snap("device/Q-2/managementInterface", {"wan1": {"usingStaticIp": False}}),
            snap("device/Q-2/radio", {"rfProfile": "標準"}),
        ],
    )
    assert sorted(target.absent) == ["device/Q-1", "rfProfile/会議室", "vlan/40"]
    assert target.desired == {
        "device/Q-2": {"name": "AP-2"},
        "device/Q-2/managementInterface": {"wan1": {"usingStaticIp": False}},
        "device/Q-2/radio": {"rfProfile": "標準"},
    }
    assert target.not_restorable == []


def test_in_a_network_the_job_created_settings_go_back_to_a_new_networks() -> None:
    written = {
        "l3FirewallRules": {"rules": [{"policy": "deny"}]},
        "security/intrusion": {"mode": "prevention", "idsRulesets": "security"},
        "ssid/2": {
            "name": "GUEST",
            "enabled": True,
            "authMode": "psk",
            "psk": "fp",
            "x": 1,
            "ipAssignmentMode": "Bridge mode",
            "bandSelection": "5 GHz band only",
            "visible": False,
        },
    }
    target = snapshot_target(
        job=job(written),
        snapshots=[snap("network"), snap("l3FirewallRules"), snap("security/intrusion"),
                   snap("ssid/2")],
    )  # fmt: skip
    assert target.created_network
    assert target.desired == {
        "l3FirewallRules": {"rules": []},
        "security/intrusion": {"mode": "disabled", "idsRulesets": "balanced"},
        "ssid/2": {
            "name": "Unconfigured SSID 3",
            "enabled": False,
            "authMode": "open",
            "ipAssignmentMode": "NAT mode",
            "bandSelection": "Dual band operation",
            "visible": True,
        },
    }
    assert "店舗 1" in target.not_restorable[0] and "--delete-network" in target.not_restorable[0]
    assert any(line.startswith("ssid/2.{psk}") for line in target.not_restorable)
    assert any(line.startswith("ssid/2.x (no known value") for line in target.not_restorable)


@pytest.mark.parametrize(
    ("on_dashboard", "restored", "absent", "want_desired", "want_absent"),
    [
        # a fresh site: every VLAN on the network is the job's → the Default VLAN comes back
        (["vlan/10", "vlan/20"], [], ["vlan/10", "vlan/20", "vlan/1"], ["vlan/1"],
         ["vlan/10", "vlan/20"]),
        # one of the network's VLANs stays → nothing added
        (["vlan/5", "vlan/10"], [], ["vlan/10"], [], ["vlan/10"]),
        # the snapshot restores a VLAN of its own → nothing added
        (["vlan/10"], ["vlan/30"], ["vlan/10"], ["vlan/30"], ["vlan/10"]),
        # VLANs off (none on the dashboard) → nothing added
        ([], [], ["vlan/10"], [], ["vlan/10"]),
    ],
)  # fmt: skip
def test_a_network_never_loses_its_last_vlan(
    on_dashboard: list[str],
    restored: list[str],
    absent: list[str],
    want_desired: list[str],
    want_absent: list[str],
) -> None:
    current = {"network": {"id": "N_1"}} | {k: {"id": k.split("/")[1]} for k in on_dashboard}
    desired, left = keep_a_vlan({k: {"id": "x"} for k in restored}, absent, current)
    assert sorted(k for k in desired if k.startswith("vlan/")) == want_desired
    assert left == want_absent
    if want_desired == ["vlan/1"]:
        assert desired["vlan/1"] == DEFAULT_VLAN


def test_claimed_devices_are_removed_before_rf_profiles_are_deleted() -> None:
    ops = removals(["device/Q-1", "device/Q-9", "vlan/10"], {"device/Q-1": {}})
    assert [(o.key, o.operation, o.body) for o in ops] == [
        ("device/Q-1", "remove", {"serial": "Q-1"})
    ]  # Q-9 is no longer in the network: nothing to remove
    assert ops[0].phase < 8  # deletes (VLANs, RF profiles) run in phase 8
    assert ops[0].batchable  # removeNetworkDevices is an action-batch operation
