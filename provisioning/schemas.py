"""Request/response models of the provisioning API (no secret ever appears in them)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from provisioning.batching import CallEstimate
from provisioning.domain import rollout_status
from provisioning.models import JobStep, ProvisioningJob
from provisioning.plan import SitePlan, change_rows

if TYPE_CHECKING:
    from provisioning.rollout import RolloutOutcome


class EstimateOut(BaseModel):
    calls: int
    reads: int
    direct: int
    batches: int
    polls: int
    verify_reads: int
    seconds: float
    claim_wait: float = 0.0

    @classmethod
    def of(cls, e: CallEstimate) -> EstimateOut:
        return cls(calls=e.calls, **asdict(e))


class PlanOut(BaseModel):
    """A field-level plan: what changes, in how many calls."""

    organization_id: str
    network_name: str
    network_id: str | None
    sheet_kind: str
    changes: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    estimate: EstimateOut
    secrets: dict[str, str] = {}
    """Each secret of the sheet (``ssid/0:psk``): "set" or "unchanged since netkeep set it"."""
    units: dict[str, str] = {}
    """Each serial: what the apply does to it in the inventory (docs/sheets.md)."""

    @classmethod
    def of(cls, plan: SitePlan) -> PlanOut:
        claimed = {c.key[7:] for c in plan.changes if c.kind == "device" and c.action == "create"}
        units = plan.units
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
            estimate=EstimateOut.of(plan.estimate),
            secrets=dict(plan.secrets),
            units={}
            if units is None
            else {s: units.outcome(s, s in claimed) for s in sorted(units.before)},
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


class RollbackIn(BaseModel):
    """Options of a rollback; a network the job created is left in place unless asked."""

    delete_network: bool = False


def continue_with(job: ProvisioningJob) -> str | None:
    """How to go on with a job that did not finish; a rollback job needs no sheet."""
    if job.status in ("done", "pending", "running"):
        return None
    if job.kind == "rollback":
        if job.status == "failed":
            return (
                f"netkeep rollback --resume {job.id} (sends its unfinished steps again), or "
                f"netkeep rollback {job.rollback_of} (plans the rollback afresh)"
            )
        return f"netkeep rollback {job.rollback_of} (plans what still differs afresh)"
    if job.rollout:
        return f"netkeep apply SHEETS... --rollout {job.rollout} (every sheet of the rollout)"
    sheet = f"SHEET being the sheet of site {job.network_name} that job {job.id} was planned from"
    if job.status == "failed":
        return f"netkeep apply SHEET --resume {job.id}, {sheet}"
    return f"netkeep apply SHEET (plans what still differs afresh), {sheet}"


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
    rollout: str | None = None
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
    continue_with: str | None = None
    """For a job that did not finish: the command that continues it (or plans it afresh)."""

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
            rollout=job.rollout,
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
            continue_with=continue_with(job),
        )


def _recorded_estimate(jobs: list[ProvisioningJob]) -> tuple[CallEstimate | None, int | None]:
    """The rollout's estimate as journalled with its jobs (`prepare_rollout`)."""
    for job in jobs:
        whole = (job.estimate or {}).get("rollout")
        if isinstance(whole, dict):
            fields = {f: int(whole.get(f, 0)) for f in ("reads", "direct", "batches", "polls")}
            estimate = CallEstimate(
                **fields,
                verify_reads=int(whole.get("verify_reads", 0)),
                seconds=float(whole.get("seconds", 0.0)),
            )
            alone = whole.get("one_sheet_at_a_time")
            return estimate, None if alone is None else int(alone)
    return None, None


def _recorded_calls(jobs: list[ProvisioningJob]) -> dict[str, int]:
    """The calls the rollout's jobs recorded: each job's own, plus each organization's shared."""
    totals: dict[str, int] = {}
    shared: dict[str, int] = {}
    for job in jobs:
        result = job.result or {}
        for key in ("calls", "rate_limited", "server_errors"):
            if isinstance(result.get(key), int):
                totals[key] = totals.get(key, 0) + int(result[key])
        if isinstance(result.get("shared"), dict):
            shared[job.organization_id] = int(result["shared"].get("calls", 0))
    if totals:
        totals["calls"] = totals.get("calls", 0) + sum(shared.values())
    return totals


class RolloutOut(BaseModel):
    """A rollout: its jobs (one per sheet with changes) and what the whole of it cost."""

    rollout: str | None
    status: str
    calls: dict[str, int]
    seconds: float
    estimate: EstimateOut | None
    one_sheet_at_a_time: int | None
    jobs: list[JobOut]

    @classmethod
    def of(
        cls,
        rollout: str | None,
        jobs: list[ProvisioningJob],
        *,
        calls: dict[str, int] | None = None,
        seconds: float = 0.0,
        estimate: CallEstimate | None = None,
        one_sheet_at_a_time: int | None = None,
    ) -> RolloutOut:
        if estimate is None and one_sheet_at_a_time is None:
            estimate, one_sheet_at_a_time = _recorded_estimate(jobs)
        if calls is None and jobs:
            calls = _recorded_calls(jobs)
        return cls(
            rollout=rollout,
            status=rollout_status(j.status for j in jobs),
            calls=calls or {},
            seconds=seconds,
            estimate=None if estimate is None else EstimateOut.of(estimate),
            one_sheet_at_a_time=one_sheet_at_a_time,
            jobs=[JobOut.of(j) for j in jobs],
        )

    @classmethod
    def of_outcome(
        cls,
        outcome: RolloutOutcome,
        estimate: CallEstimate | None = None,
        one_sheet_at_a_time: int | None = None,
    ) -> RolloutOut:
        """A rollout that has run, with what it cost."""
        return cls.of(
            outcome.rollout,
            outcome.jobs,
            calls=outcome.calls,
            seconds=outcome.seconds,
            estimate=estimate,
            one_sheet_at_a_time=one_sheet_at_a_time,
        )


class ValidationOut(BaseModel):
    valid: bool
    site: str
    plan: str
    kind: str
    sections: list[str]
