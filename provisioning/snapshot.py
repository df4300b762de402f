"""The snapshot taken before an apply's first write (`provisioning.rollback` restores it).

Each resource the plan changes is recorded as it was, projected on the fields the job writes,
secrets redacted; a resource the job creates (the network, a VLAN, a claimed device) is
recorded as not existing.
"""

from __future__ import annotations

from typing import Any

from core.audit import redact
from provisioning.domain import FACTORY_VLAN_1, VLANS_SETTINGS, ChangeAction, kind_of
from provisioning.models import ResourceSnapshot
from provisioning.plan import SitePlan
from provisioning.units import placement_extra

VLAN_FIELDS = (
    "id",
    "name",
    "subnet",
    "applianceIp",
    "dhcpHandling",
    "dhcpLeaseTime",
    "dhcpRelayServerIps",
    "dnsNameservers",
    "reservedIpRanges",
    "fixedIpAssignments",
)


def snapshot_rows(plan: SitePlan) -> list[ResourceSnapshot]:
    """Each resource the plan changes, as it is now, projected on the fields the job writes."""
    return [ResourceSnapshot(job_id=0, **values) for values in snapshot_values(plan)]


def snapshot_values(plan: SitePlan) -> list[dict[str, Any]]:
    """`snapshot_rows` as column values (job_id left to the caller): what `create_job` inserts."""
    rows: list[dict[str, Any]] = []
    enables_vlans = any(op.key == VLANS_SETTINGS for op in plan.operations)
    for change in plan.changes:
        key = change.key
        have = plan.current.get(key)
        if have is None and key == "vlan/1" and enables_vlans:
            have = dict(FACTORY_VLAN_1)  # what enabling VLANs creates, before the job's writes
        if have is None:
            extra = placement_extra(plan.units, key[7:]) if kind_of(key) == "device" else None
            rows.append({"resource": key, "existed": False, "body": None, "extra": extra})
            continue
        if change.action is ChangeAction.DELETE:
            fields: list[str] = [f for f in VLAN_FIELDS if f in have]
        elif change.action is ChangeAction.DISABLE:
            fields = ["enabled"]
        else:
            fields = list(plan.desired.get(key, {}))
        body = {f: have[f] for f in fields if f in have}
        extra = {"id": have.get("id")} if kind_of(key) == "rfProfile" else None
        rows.append({"resource": key, "existed": True, "body": redact(body), "extra": extra})
    return rows
