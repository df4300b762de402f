"""What the field pages show, shaped for templates: the sheet in brief, the plan's rows (secret
values never: the plan's rows already carry only "changed"), a job's steps and its outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from provisioning.domain import JobStatus
from provisioning.models import ProvisioningJob
from provisioning.schemas import PlanOut
from provisioning.sheet_model import Sheet

_SECTIONS = (
    "vlans", "l3_firewall_rules", "l7_firewall_rules", "port_forwarding_rules",
    "one_to_one_nat_rules",
    "content_filtering", "intrusion", "malware", "ssids", "rf_profiles", "site_to_site_vpn",
)  # fmt: skip


@dataclass(frozen=True)
class SheetSummary:
    site: str
    plan: str
    kind: str
    customer: str | None
    contract: str | None
    address: str | None
    devices: list[tuple[str, str, str]]
    sections: list[tuple[str, int]]


def sheet_summary(sheet: Sheet) -> SheetSummary:
    """The sheet as the engineer checks it on site: where, what plan, which boxes, what else."""
    sections: list[tuple[str, int]] = []
    for name in _SECTIONS:
        value = getattr(sheet, name, None)
        if value:
            sections.append((name, len(value) if isinstance(value, list) else 1))
    return SheetSummary(
        site=sheet.site.name,
        plan=str(sheet.site.plan),
        kind=str(sheet.kind),
        customer=sheet.site.customer,
        contract=sheet.site.contract,
        address=sheet.site.address,
        devices=[(d.serial, d.model, d.name or "") for d in sheet.devices or []],
        sections=sections,
    )


def shown(value: Any) -> str:
    """A field's value in one line (JSON for lists and objects; empty for none)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True)
class FieldRow:
    field: str
    before: str
    after: str
    secret: bool


@dataclass(frozen=True)
class ChangeRow:
    resource: str
    action: str
    fields: list[FieldRow]


@dataclass(frozen=True)
class PlanView:
    site: str
    changes: list[ChangeRow]
    units: list[tuple[str, str]]
    calls: int
    seconds: float


def plan_view(plan: PlanOut) -> PlanView:
    rows = [
        ChangeRow(
            resource=str(c["resource"]),
            action=str(c["action"]),
            fields=[
                FieldRow(str(f["field"]), "", "", True)
                if f.get("secret")
                else FieldRow(str(f["field"]), shown(f.get("before")), shown(f.get("after")), False)
                for f in c.get("fields", [])
            ],
        )
        for c in plan.changes
    ]
    return PlanView(
        site=plan.network_name,
        changes=rows,
        units=sorted(plan.units.items()),
        calls=plan.estimate.calls,
        seconds=plan.estimate.seconds,
    )


@dataclass(frozen=True)
class JobOutcome:
    id: int
    site: str
    status: str
    finished: bool
    verified: bool
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    differences: list[str] = field(default_factory=list)


def job_outcome(job: ProvisioningJob) -> JobOutcome:
    """A job's result: verified only when it is done and the read-back left no difference."""
    assert job.id is not None
    status = JobStatus(job.status)
    return JobOutcome(
        id=job.id,
        site=job.network_name,
        status=status.value,
        finished=status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.VERIFY_FAILED),
        verified=status == JobStatus.DONE and not job.verify_diff,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        differences=[shown(d) for d in job.verify_diff],
    )
