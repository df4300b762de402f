"""Verification: read back what a job touched, then compare it with the sheet (pure).

It reads every collection the sheet names, except what the dashboard already returned: a
direct write's answer is the resource as the dashboard stored it, so it is kept on the journal
row (secrets fingerprinted) and compared instead of a second GET. `full_verify` reads
everything again. A rollout hands in the organization's networks and devices, read once for all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from provisioning.domain import NETWORK, StepStatus, diff
from provisioning.models import JobStep, ProvisioningJob
from provisioning.plan import change_rows, fingerprinter, read_current
from provisioning.ports import ProvisioningDashboard


@dataclass
class SharedReads:
    """What a rollout read once for all its jobs in one organization, for their verification."""

    networks: dict[str, dict[str, Any]]
    devices: dict[str, list[dict[str, Any]]]
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def read_back(
    *,
    dashboard: ProvisioningDashboard,
    job: ProvisioningJob,
    steps: Sequence[JobStep],
    secret_key: bytes,
    shared: SharedReads | None = None,
    full_verify: bool = False,
) -> dict[str, dict[str, Any]]:
    """The dashboard's current state of what the job's sheet names (secrets fingerprinted)."""
    net_id = str(job.network_id)
    if NETWORK in job.desired and job.desired[NETWORK] is None:  # a rollback deleted it
        listed = {str(n.get("id")): n for n in dashboard.list_networks()}
        return {NETWORK: dict(listed[net_id])} if net_id in listed else {}
    answers: dict[str, dict[str, Any]] = {}
    devices: list[Mapping[str, Any]] | None = None
    assignments: list[Mapping[str, Any]] | None = None
    if shared is not None and net_id in shared.networks and not full_verify:
        network: dict[str, Any] = shared.networks[net_id]
        devices = list(shared.devices.get(net_id, []))
        assignments = list(shared.assignments.get(net_id, []))
    else:
        network = dashboard.get_network(net_id)
    if not full_verify:
        answers = {
            s.operations[0]["key"]: s.answer
            for s in steps
            if s.answer is not None and not s.batch and s.status == StepStatus.DONE
        }
    current, _ = read_current(
        dashboard=dashboard,
        network=network,
        sections=frozenset(job.sections),
        desired={k: v for k, v in job.desired.items() if v is not None},
        fingerprint=fingerprinter(secret_key),
        answers=answers,
        devices=devices,
        assignments=assignments,
        resolve_profiles=False,
    )
    return current


def remaining_differences(
    *,
    desired: Mapping[str, Any],
    current: Mapping[str, Any],
    sections: Sequence[str],
    prune: bool,
) -> list[dict[str, Any]]:
    """What still differs from the sheet after the job (empty: verified). Pure.

    A desired value of None means the resource must be gone (a rollback of a creation).
    """
    present = {k: v for k, v in desired.items() if v is not None}
    absent = [k for k, v in desired.items() if v is None]
    left = diff(
        present, dict(current), sections=frozenset(sections), prune=prune, network_exists=True
    )
    rows = change_rows(left)
    rows += [{"resource": k, "action": "delete", "fields": []} for k in absent if k in current]
    return rows
