"""Rolling back a job that rewrote VLAN 1 puts the Default VLAN back whole.

The router example sets VLAN 1 to 192.168.1.0/24 with a fixed IP (192.168.1.10). A rollback
that left the network in place once restored only VLAN 1's name, subnet and appliance IP; the
dashboard refused the update (the fixed IP lies outside 192.168.128.0/24) and the rollback
failed. A new network's VLAN 1 has no fixed IPs and no reserved ranges.
"""

from __future__ import annotations

from sqlmodel import Session

from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import apply, dashboard_for, example
from tests.service.test_provisioning_rollback import roll_back


def test_router_rollback_restores_the_default_vlan_without_the_jobs_fixed_ips(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    job = apply(session, dash, example("router"))
    assert job.status == "done"
    back = roll_back(session, dash, job)
    assert (back.status, back.error, back.verify_diff) == ("done", None, [])
    (vlan,) = sandbox.dashboard_api().appliance.getNetworkApplianceVlans(job.network_id)
    assert (vlan["id"], vlan["subnet"], vlan["applianceIp"]) == (
        "1",
        "192.168.128.0/24",
        "192.168.128.1",
    )
    assert vlan["fixedIpAssignments"] == {} and vlan["reservedIpRanges"] == []
