"""The snapshot taken before an apply's first write, and the rollback plan that restores it.

Secrets are redacted from the snapshot, so a rollback cannot restore a PSK or RADIUS secret;
those fields are listed as not restorable. A network the apply created and devices it claimed
are left in place (also listed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.audit import REDACTED, redact
from provisioning.batching import (
    estimate,
    operations,
    pack,
    read_calls,
)
from provisioning.domain import (
    DEVICE_PARTS,
    NETWORK,
    RADIO,
    SECRET_FIELDS,
    Change,
    ChangeAction,
    diff,
    kind_of,
)
from provisioning.models import ProvisioningJob, ResourceSnapshot
from provisioning.plan import SitePlan, fingerprinter, read_current
from provisioning.ports import ProvisioningDashboard

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


def _secret_paths(value: Any, prefix: str) -> list[str]:
    if isinstance(value, Mapping):
        found = []
        for k, v in value.items():
            if k in SECRET_FIELDS and v is not None:
                found.append(f"{prefix}.{k}")
            else:
                found.extend(_secret_paths(v, f"{prefix}.{k}"))
        return found
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{prefix}[{i}]")]
    return []


def snapshot_rows(plan: SitePlan) -> list[ResourceSnapshot]:
    """Each resource the plan changes, as it is now, projected on the fields the job writes."""
    rows = []
    for change in plan.changes:
        key = change.key
        have = plan.current.get(key)
        if have is None:
            rows.append(ResourceSnapshot(job_id=0, resource=key, existed=False))
            continue
        if change.action is ChangeAction.DELETE:
            fields: list[str] = [f for f in VLAN_FIELDS if f in have]
        elif change.action is ChangeAction.DISABLE:
            fields = ["enabled"]
        else:
            fields = list(plan.desired.get(key, {}))
        body = {f: have[f] for f in fields if f in have}
        extra = {"id": have.get("id")} if kind_of(key) == "rfProfile" else None
        rows.append(
            ResourceSnapshot(job_id=0, resource=key, existed=True, body=redact(body), extra=extra)
        )
    return rows


def _restorable(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_restorable(v) for v in value.values())
    if isinstance(value, list):
        return all(_restorable(v) for v in value)
    return bool(value != REDACTED)


def rollback_plan(
    *,
    job: ProvisioningJob,
    snapshots: list[ResourceSnapshot],
    dashboard: ProvisioningDashboard,
    secret_key: bytes,
    rate: float,
    poll_seconds: float,
) -> tuple[SitePlan, list[str], list[str]]:
    """The plan back to the snapshot, what cannot be restored, and what must end up absent."""
    desired: dict[str, dict[str, Any]] = {}
    absent: list[str] = []
    not_restorable: list[str] = []
    for snap in snapshots:
        kind = kind_of(snap.resource)
        if kind == RADIO and (snap.body or {}).get("rfProfile") is None:
            not_restorable.append(
                f"{snap.resource} (had no RF profile of its own; keeps the one assigned)"
            )
            continue
        if snap.existed and snap.body is not None:
            body = {}
            for field, value in snap.body.items():
                if _restorable(value):
                    body[field] = value
                else:
                    not_restorable.append(f"{snap.resource}.{field} (secret, not kept)")
            desired[snap.resource] = body
        elif kind in ("vlan", "rfProfile"):
            absent.append(snap.resource)
        elif kind == NETWORK:
            not_restorable.append(f"network {job.network_name} (created by job {job.id}, kept)")
        else:
            not_restorable.append(f"{snap.resource} (claimed by job {job.id}, left in network)")
    network = dashboard.get_network(str(job.network_id))
    sections = frozenset(
        {"device" if kind_of(k) in DEVICE_PARTS else kind_of(k) for k in desired}
        | {kind_of(k) for k in absent}
        | {NETWORK}
    )
    current, _ = read_current(
        dashboard=dashboard,
        network=network,
        sections=sections,
        desired=desired,
        fingerprint=fingerprinter(secret_key),
    )
    desired.setdefault(NETWORK, {})
    changes = diff(desired, current, sections=sections, prune=False, network_exists=True)
    changes += [Change(k, ChangeAction.DELETE) for k in absent if k in current]
    ops = operations(
        changes, desired, current, organization_id=job.organization_id, enable_vlans=False
    )
    steps = pack(ops)
    cost = estimate(
        steps,
        reads=0,
        verify_reads=read_calls(sections, desired) if ops else 0,
        rate=rate,
        poll_seconds=poll_seconds,
    )
    plan = SitePlan(
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
    return plan, not_restorable, absent
