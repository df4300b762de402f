"""Request/response models of the provisioning API (no secret ever appears in them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from provisioning.models import JobStep, ProvisioningJob
from provisioning.plan import SitePlan, change_rows


class EstimateOut(BaseModel):
    calls: int
    reads: int
    direct: int
    batches: int
    polls: int
    verify_reads: int
    seconds: float


class PlanOut(BaseModel):
    """A field-level plan: what changes, in how many calls."""

    organization_id: str
    network_name: str
    network_id: str | None
    sheet_kind: str
    changes: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    estimate: EstimateOut

    @classmethod
    def of(cls, plan: SitePlan) -> PlanOut:
        e = plan.estimate
        return cls(
            organization_id=plan.organization_id,
            network_name=plan.network_name,
            network_id=plan.network_id,
            sheet_kind=plan.sheet_kind,
            changes=change_rows(plan.changes),
            steps=[
                {
                    "batch": s.batch,
                    "synchronous": s.synchronous,
                    "actions": len(s.operations),
                    "resources": s.resources,
                }
                for s in plan.steps
            ],
            estimate=EstimateOut(
                calls=e.calls,
                reads=e.reads,
                direct=e.direct,
                batches=e.batches,
                polls=e.polls,
                verify_reads=e.verify_reads,
                seconds=e.seconds,
            ),
        )


class StepOut(BaseModel):
    number: int
    action: str
    resources: list[str]
    batch: bool
    request_id: str | None
    status: str
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, step: JobStep) -> StepOut:
        return cls.model_validate(step, from_attributes=True)


class JobOut(BaseModel):
    """A job with its journal; bodies are not shown (they may hold secret placeholders only)."""

    id: int
    kind: str
    status: str
    organization_id: str
    network_id: str | None
    network_name: str
    sheet_kind: str
    rollback_of: int | None
    changes: list[dict[str, Any]]
    estimate: dict[str, Any]
    result: dict[str, Any]
    verify_diff: list[dict[str, Any]]
    not_restorable: list[str]
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    journal: list[StepOut] = []

    @classmethod
    def of(cls, job: ProvisioningJob, steps: list[JobStep] | None = None) -> JobOut:
        assert job.id is not None
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            organization_id=job.organization_id,
            network_id=job.network_id,
            network_name=job.network_name,
            sheet_kind=job.sheet_kind,
            rollback_of=job.rollback_of,
            changes=job.changes,
            estimate=job.estimate,
            result=job.result,
            verify_diff=job.verify_diff,
            not_restorable=job.not_restorable,
            error=job.error,
            created_by=job.created_by,
            created_at=job.created_at,
            finished_at=job.finished_at,
            journal=[StepOut.of(s) for s in steps or []],
        )


class ValidationOut(BaseModel):
    valid: bool
    site: str
    plan: str
    kind: str
    sections: list[str]
