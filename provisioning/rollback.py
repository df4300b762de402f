"""The plan that puts a job's snapshot back, in an order the dashboard accepts.

What existed before the job gets its recorded fields back (secrets excepted: the snapshot
redacts them, so they are listed as not restorable). VLANs and RF profiles the job created are
deleted; devices it claimed are removed from the network, back to the organization's inventory.

A network the job created is **left in place by default** — named in the result and reset to
what a new network holds (its settings, its SSID slots, the Default VLAN) — or, with
`delete_network`, deleted (its devices return to the inventory). Deleting is the exact restore
but cannot be undone, so it is asked for explicitly.

The dashboard refuses to delete a network's last VLAN ("Cannot delete the last VLAN"): when
none of the network's VLANs would remain, the Default VLAN that enabling VLANs creates is put
back first. Writes go in phase order: VLAN creates (3) before updates and deletes (8), devices
removed (7) before the RF profiles they used are deleted (8).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.audit import REDACTED
from core.errors import Conflict
from provisioning.batching import (
    NET,
    Operation,
    estimate,
    operations,
    pack,
    read_calls,
)
from provisioning.domain import (
    DEVICE_PARTS,
    FACTORY_VLAN_1,
    NETWORK,
    RADIO,
    SINGLETONS,
    Change,
    ChangeAction,
    diff,
    ident_of,
    kind_of,
)
from provisioning.models import ProvisioningJob, ResourceSnapshot
from provisioning.plan import SitePlan, fingerprinter, read_current
from provisioning.ports import ProvisioningDashboard

NEW_NETWORK: dict[str, dict[str, Any]] = {
    "l3FirewallRules": {"rules": []},
    "l7FirewallRules": {"rules": []},
    "portForwardingRules": {"rules": []},
    "oneToOneNatRules": {"rules": []},
    "contentFiltering": {
        "allowedUrlPatterns": [],
        "blockedUrlPatterns": [],
        "blockedUrlCategories": [],
        "urlCategoryListSize": "topSites",
    },
    "security/intrusion": {"mode": "disabled", "idsRulesets": "balanced"},
    "security/malware": {"mode": "disabled", "allowedUrls": [], "allowedFiles": []},
    "vpn/siteToSiteVpn": {"mode": "none", "hubs": []},
}
"""Appliance settings of a new network (Dashboard API v1 defaults), by resource key."""

SSID_MOOT = frozenset(
    {"psk", "encryptionMode", "wpaEncryptionMode", "radiusServers", "useVlanTagging",
     "defaultVlanId", "vlanId"}
)  # fmt: skip
"""SSID fields a new network's open, NAT-mode slot does not use: left, said once per SSID."""


def new_ssid(number: int) -> dict[str, Any]:
    """An SSID slot as a new network has it (the fields a sheet writes): unconfigured, off."""
    return {
        "name": f"Unconfigured SSID {number + 1}",
        "enabled": False,
        "authMode": "open",
        "ipAssignmentMode": "NAT mode",
        "bandSelection": "Dual band operation",
        "visible": True,
    }


@dataclass
class SnapshotTarget:
    """What the dashboard must hold after the rollback, read from the snapshot alone."""

    desired: dict[str, dict[str, Any]] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    not_restorable: list[str] = field(default_factory=list)
    created_network: bool = False


def _restorable(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_restorable(v) for v in value.values())
    if isinstance(value, list):
        return all(_restorable(v) for v in value)
    return bool(value != REDACTED)


def _new_network_body(key: str, written: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A new network's value of each field the job wrote, and the fields it has none for."""
    kind = kind_of(key)
    base = new_ssid(int(ident_of(key))) if kind == "ssid" else NEW_NETWORK.get(kind, {})
    body = {f: base[f] for f in written if f in base}
    return body, [f for f in written if f not in base]


def _restore_existing(snap: ResourceSnapshot, target: SnapshotTarget) -> None:
    body: dict[str, Any] = {}
    for name, value in (snap.body or {}).items():
        if _restorable(value):
            body[name] = value
        else:
            target.not_restorable.append(f"{snap.resource}.{name} (secret, not kept)")
    target.desired[snap.resource] = body


def snapshot_target(*, job: ProvisioningJob, snapshots: list[ResourceSnapshot]) -> SnapshotTarget:
    """The snapshot as a target state: bodies to write back, keys that must be absent."""
    target = SnapshotTarget()
    claimed = {
        ident_of(s.resource) for s in snapshots if kind_of(s.resource) == "device" and not s.existed
    }
    target.created_network = any(s.resource == NETWORK and not s.existed for s in snapshots)
    for snap in snapshots:
        key, kind = snap.resource, kind_of(snap.resource)
        if kind in DEVICE_PARTS and key.split("/")[1] in claimed:
            continue  # leaves the network with its device
        if kind == RADIO and (snap.body or {}).get("rfProfile") is None:
            target.not_restorable.append(
                f"{key} (had no RF profile of its own; keeps the one assigned)"
            )
        elif snap.existed and snap.body is not None:
            _restore_existing(snap, target)
        elif kind in ("vlan", "rfProfile", "device"):
            target.absent.append(key)
        elif kind in SINGLETONS or kind == "ssid":
            body, left = _new_network_body(key, job.desired.get(key) or {})
            target.desired[key] = body
            moot = [f for f in left if kind == "ssid" and f in SSID_MOOT]
            if moot:
                target.not_restorable.append(
                    f"{key}.{{{', '.join(moot)}}} (left as job {job.id} set them; unused by "
                    "a new network's open NAT-mode SSID)"
                )
            for name in left:
                if name not in moot:
                    target.not_restorable.append(
                        f"{key}.{name} (no known value for a new network; left as job "
                        f"{job.id} set it)"
                    )
    if target.created_network:
        target.not_restorable.insert(
            0,
            f"network {job.network_name} ({job.network_id}) was created by job {job.id}: left in "
            "place and reset to a new network's settings; `netkeep rollback "
            f"{job.id} --delete-network` deletes it",
        )
    return target


def keep_a_vlan(
    desired: dict[str, dict[str, Any]], absent: list[str], current: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The Default VLAN put back when every VLAN on the network would otherwise go.

    The dashboard refuses to delete a network's last VLAN; the one it creates when VLANs are
    first enabled is VLAN 1 "Default" (192.168.128.0/24), which is what the network held
    before the job's VLANs (an older snapshot may record it as absent).
    """
    on_dashboard = {k for k in current if kind_of(k) == "vlan"}
    staying = (on_dashboard - set(absent)) | {k for k in desired if kind_of(k) == "vlan"}
    if staying or not on_dashboard:
        return desired, absent
    return {**desired, "vlan/1": dict(FACTORY_VLAN_1)}, [k for k in absent if k != "vlan/1"]


def removals(absent: list[str], current: Mapping[str, Any]) -> list[Operation]:
    """Devices the job claimed, removed from the network (before their RF profiles go)."""
    return [
        Operation(
            key, "remove", f"{NET}/devices/remove", "remove", {"serial": ident_of(key)}, True, 7
        )
        for key in absent
        if kind_of(key) == "device" and key in current
    ]


def _network_deletion(
    job: ProvisioningJob, network: dict[str, Any], *, rate: float, poll_seconds: float
) -> SitePlan:
    """One action batch deleting the network the job created."""
    op = Operation(NETWORK, "delete", NET, "destroy", {}, True, 9)
    steps = pack([op])
    return SitePlan(
        organization_id=job.organization_id,
        network_id=job.network_id,
        network_name=job.network_name,
        site_plan=job.site_plan,
        sheet_kind="rollback",
        desired={},
        current={NETWORK: network},
        sections=frozenset({NETWORK}),
        prune=False,
        changes=[Change(NETWORK, ChangeAction.DELETE)],
        operations=[op],
        steps=steps,
        estimate=estimate(steps, reads=0, verify_reads=1, rate=rate, poll_seconds=poll_seconds),
        digest=job.sheet_digest,
    )


def _restoring_plan(
    job: ProvisioningJob,
    desired: dict[str, dict[str, Any]],
    absent: list[str],
    current: dict[str, dict[str, Any]],
    sections: frozenset[str],
    *,
    rate: float,
    poll_seconds: float,
) -> SitePlan:
    """The writes from `current` back to `desired` with `absent` gone, packed and costed."""
    changes = diff(desired, current, sections=sections, prune=False, network_exists=True)
    changes += [Change(k, ChangeAction.DELETE) for k in absent if k in current]
    ops = operations(
        [c for c in changes if not (c.kind == "device" and c.action is ChangeAction.DELETE)],
        desired,
        current,
        organization_id=job.organization_id,
        enable_vlans=False,
    )
    ops = sorted(ops + removals(absent, current), key=lambda op: op.phase)
    steps = pack(ops)
    cost = estimate(
        steps,
        reads=0,
        verify_reads=read_calls(sections, desired) if ops else 0,
        rate=rate,
        poll_seconds=poll_seconds,
    )
    return SitePlan(
        organization_id=job.organization_id,
        network_id=job.network_id,
        network_name=job.network_name,
        site_plan=job.site_plan,
        sheet_kind="rollback",
        desired=desired,
        current=current,
        sections=sections,
        prune=False,
        changes=changes,
        operations=ops,
        steps=steps,
        estimate=cost,
        digest=job.sheet_digest,
    )


def rollback_plan(
    *,
    job: ProvisioningJob,
    snapshots: list[ResourceSnapshot],
    dashboard: ProvisioningDashboard,
    secret_key: bytes,
    rate: float,
    poll_seconds: float,
    delete_network: bool = False,
) -> tuple[SitePlan, list[str], list[str]]:
    """The plan back to the snapshot, what cannot be restored, and what must end up absent."""
    target = snapshot_target(job=job, snapshots=snapshots)
    network = dashboard.get_network(str(job.network_id))
    if delete_network:
        if not target.created_network:
            raise Conflict(
                f"job {job.id} did not create network {job.network_name}; a rollback deletes "
                "only a network its job created (nothing was sent)",
                job_id=job.id,
            )
        deletion = _network_deletion(job, network, rate=rate, poll_seconds=poll_seconds)
        return deletion, [], [NETWORK]
    desired = target.desired
    sections = frozenset(
        {"device" if kind_of(k) in DEVICE_PARTS else kind_of(k) for k in desired}
        | {kind_of(k) for k in target.absent}
        | {NETWORK}
    )
    current, vlans_on = read_current(
        dashboard=dashboard,
        network=network,
        sections=sections,
        desired=desired,
        fingerprint=fingerprinter(secret_key),
    )
    absent = target.absent
    if not vlans_on:  # the job stopped before enabling VLANs: none to restore or delete
        desired = {k: v for k, v in desired.items() if kind_of(k) != "vlan"}
        absent = [k for k in absent if kind_of(k) != "vlan"]
    elif target.created_network and "vlan" in sections:
        target.not_restorable.append(
            "VLANs stay enabled with the Default VLAN (a new network starts with them off)"
        )
    desired, absent = keep_a_vlan(desired, absent, current)
    desired.setdefault(NETWORK, {})
    plan = _restoring_plan(
        job, desired, absent, current, sections, rate=rate, poll_seconds=poll_seconds
    )
    return plan, target.not_restorable, absent
