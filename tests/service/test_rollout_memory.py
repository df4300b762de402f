"""What a running rollout holds, and what finding a site's next direct write costs.

Rules:
- a rollout holds its jobs while they run, but not their change rows (the plan as the job page
  shows it, the largest column of a job): running a job never reads them, and a rollout of
  thousands of sites holds thousands of jobs at once;
- finding the next direct write to fill a wait with looks at each site once per move of its
  steps, not at every site every time: with 2,000 sites none of which has a direct write ready,
  2,000 look-ups look at 2,000 sites in all (a scan each would be 4,000,000).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import inspect
from sqlalchemy.orm import object_session
from sqlmodel import Session

from provisioning.apply import ApplyHooks
from provisioning.batch_wait import Waiter
from provisioning.domain import StepStatus
from provisioning.models import JobStep, ProvisioningJob
from provisioning.org_rollout import OrgRollout
from provisioning.rollout import apply_rollout, plan_rollout
from provisioning.runner import StepRunner
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import (
    ACTOR,
    OPTIONS,
    clock,
    dashboard_for,
    sites_for,
    utm,
    wireless,
)


def test_a_running_rollout_holds_its_jobs_without_their_change_rows(
    sandbox: SandboxServer, session: Session
) -> None:
    seen: list[tuple[int, bool]] = []

    def after_step(step: JobStep) -> None:
        own = object_session(step)
        assert own is not None
        for job in [o for o in own.identity_map.values() if isinstance(o, ProvisioningJob)]:
            seen.append((cast(int, job.id), "changes" in inspect(job).unloaded))

    sheets = [utm(60 + i) if i % 2 else wireless(60 + i) for i in range(6)]
    sites = sites_for(dashboard_for(sandbox), sheets)
    plan_rollout(sites, OPTIONS)
    outcome = apply_rollout(
        session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
        hooks=ApplyHooks(after_step=after_step),
    )  # fmt: skip
    assert [j.status for j in outcome.jobs] == ["done"] * 6
    ids = {j.id for j in outcome.jobs}
    assert {job_id for job_id, _ in seen} == ids  # every job was held while it ran ...
    assert all(unloaded for _, unloaded in seen)  # ... without its change rows
    assert all(j.changes for j in outcome.jobs)  # which the journal keeps


@dataclass
class Site:
    """A site as `OrgRollout` sees it, counting how often its steps are looked at."""

    steps_: list[JobStep]
    job: ProvisioningJob
    looked: list[int] = field(default_factory=lambda: [0])
    failed: bool = False
    journal: Any = None
    waiter: Waiter = field(default_factory=Waiter)

    @property
    def steps(self) -> list[JobStep]:
        self.looked[0] += 1
        return self.steps_


class Dashboard:
    organization_id = "o1"


def pending_step(job_id: int, number: int, *, batch: bool) -> JobStep:
    action = "action batch" if batch else "PUT appliance/vlans"
    operations = [] if batch else [{"key": "vlan/10", "action": "update", "operation": "update"}]
    return JobStep(
        job_id=job_id, number=number, action=action, batch=batch,
        status=str(StepStatus.PENDING), operations=operations,
    )  # fmt: skip


def job_of(job_id: int) -> ProvisioningJob:
    job = ProvisioningJob.model_construct(id=job_id, network_id=f"N_{job_id}")
    return job


def test_finding_the_next_direct_write_looks_at_each_site_once_per_move() -> None:
    looked = [0]
    sites = [
        Site(steps_=[pending_step(i, 1, batch=True)], job=job_of(i), looked=looked)
        for i in range(2000)
    ]
    runners = cast(list[StepRunner], sites)
    org = OrgRollout(runners, cast(Any, Dashboard()), lambda _: None)
    org.moved.extend(runners)  # every site moved once (as after the networks' creation)
    assert all(org.next_direct() is None for _ in range(2000))
    assert looked[0] <= 2000, looked[0]

    # a site whose batch step is done has its direct write found at once
    ready = sites[1234]
    write = pending_step(1234, 2, batch=False)
    ready.steps_[0].status = str(StepStatus.DONE)
    ready.steps_.append(write)
    org.moved.append(runners[1234])
    looked[0] = 0
    assert org.next_direct() == (runners[1234], write)
    assert looked[0] == 1
