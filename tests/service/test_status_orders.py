"""The orders a provisioning job and a rollout go through, end to end against the sandbox.

Written from the engine's contract (README "Provisioning", docs/architecture.md "A killed
rollout resumes by itself"): a journalled job is pending, runs, and ends done; one a crash
left running is taken up by a resume and ends done; one a dashboard failure stopped is failed,
and a resume ends it done. A rollout reads as its jobs do: pending when journalled, running
while they run (and after a kill), done once the resume finished every job.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.domain import rollout_status
from provisioning.models import JobStep, ProvisioningJob
from provisioning.rollout import (
    RolloutSite,
    plan_rollout,
    prepare_rollout,
    resume_rollout,
    rollout_jobs,
    run_rollout,
)
from provisioning.service import apply_plan, plan_sheet, resume_job
from sandbox.server import SandboxServer
from tests.service import test_provisioning_rollout as rollouts
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, clock, dashboard_for, example


class Crash(BaseException):
    """Stands for the process dying (nothing catches it)."""


class Watch:
    """Every status the job was in when a step finished, as its row says (same session)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen: list[str] = []

    def status(self, job_id: int) -> str:
        job = self.session.get(ProvisioningJob, job_id)
        assert job is not None
        return job.status

    def after_step(self, step: JobStep) -> None:
        self.seen.append(self.status(step.job_id))


def _only_job(session: Session) -> ProvisioningJob:
    [job] = jobs.list_jobs(session=session)
    return job


def test_a_job_killed_mid_run_is_still_running_and_a_resume_ends_it_done(
    sandbox: SandboxServer, session: Session
) -> None:
    dash, sheet = dashboard_for(sandbox), example("utm")
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    watch = Watch(session)

    def die_after_step_3(step: JobStep) -> None:
        watch.after_step(step)
        if step.number == 3:
            raise Crash("killed")

    with pytest.raises(Crash):
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS, hooks=ApplyHooks(after_step=die_after_step_3),
        )  # fmt: skip
    job = _only_job(session)
    assert job.id is not None
    assert watch.seen == ["running", "running", "running"]
    assert watch.status(job.id) == "running"  # what a dead process leaves behind
    resumed = resume_job(
        session=session, dashboard=dash, job_id=job.id, sheet=sheet, actor=ACTOR, clock=clock,
        options=OPTIONS, hooks=ApplyHooks(after_step=watch.after_step),
    )  # fmt: skip
    assert watch.seen[3:] == ["running"] * (len(watch.seen) - 3)  # running → running, then on
    assert (resumed.status, resumed.verify_diff) == ("done", [])
    # a done job is not run again: resuming it changes nothing
    again = resume_job(
        session=session, dashboard=dash, job_id=job.id, sheet=sheet, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert again.status == "done"


def test_a_job_the_dashboard_stopped_is_failed_and_a_resume_ends_it_done(
    sandbox: SandboxServer, session: Session
) -> None:
    sdk = build_sdk(
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=1, patience_seconds=1.0
    )
    dash = MerakiProvisioning(sdk, organization_id=rollouts.ORG)
    sheet = example("utm")
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    watch = Watch(session)

    def outage_after_step_2(step: JobStep) -> None:
        watch.after_step(step)
        if step.number == 2:
            sandbox.admin.set_faults("503=1.0")  # every later request is refused

    try:
        failed = apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS, hooks=ApplyHooks(after_step=outage_after_step_2),
        )  # fmt: skip
    finally:
        sandbox.admin.clear_faults()
    assert watch.seen == ["running", "running"]
    assert failed.status == "failed" and failed.error
    assert failed.id is not None
    resumed = resume_job(
        session=session, dashboard=dashboard_for(sandbox), job_id=failed.id, sheet=sheet,
        actor=ACTOR, clock=clock, options=OPTIONS, hooks=ApplyHooks(after_step=watch.after_step),
    )  # fmt: skip
    assert set(watch.seen[2:]) == {"running"}  # failed → running, then on
    assert (resumed.status, resumed.error, resumed.verify_diff) == ("done", None, [])


def test_a_rollout_reads_pending_then_running_after_a_kill_then_done_after_its_resume(
    sandbox: SandboxServer, session: Session
) -> None:
    sheets = [rollouts.utm(61), rollouts.utm(62)]
    dash = rollouts.dashboard_for(sandbox)
    sites = [RolloutSite(dash, s) for s in sheets]
    plan_rollout(sites, rollouts.OPTIONS)
    prepared = prepare_rollout(
        session=session, sites=sites, actor=ACTOR, clock=clock, options=rollouts.OPTIONS
    )

    def stored() -> str:
        session.expire_all()
        return rollout_status(
            j.status for j in rollout_jobs(session=session, rollout=prepared.rollout)
        )

    assert stored() == "pending"
    seen: list[str] = []

    def die_after_the_networks(step: JobStep) -> None:
        seen.append(stored())
        if step.number == 1:
            raise Crash("killed after the shared network creation")

    with pytest.raises(Crash):
        run_rollout(
            session=session, prepared=prepared, actor=ACTOR, clock=clock,
            options=rollouts.OPTIONS, hooks=ApplyHooks(after_step=die_after_the_networks),
        )  # fmt: skip
    assert seen == ["running"]
    assert stored() == "running"  # every job of the killed rollout was started
    outcome = resume_rollout(
        session=session, rollout=prepared.rollout, sites=[RolloutSite(dash, s) for s in sheets],
        actor=ACTOR, clock=clock, options=rollouts.OPTIONS,
    )  # fmt: skip
    assert outcome.done
    assert stored() == "done"
