"""429 storms through the sandbox's fault injection: the dashboard saying "wait" never aborts.

Rule (issue 21): a burst of 10, 30 or 100 consecutive 429 answers is waited out (Retry-After,
here 0.01 s so the test stays fast) — at planning too —, the job ends done with the sheet's
end state read back equal, every 429 counted by the sandbox and each wait recorded in the
job's result. The SDK's own retry count (8 here) is no limit.
"""

from __future__ import annotations

import time

import pytest
from sqlmodel import Session

from provisioning.service import apply_plan, plan_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import ACTOR, OPTIONS, clock, dashboard_for, example


def rate_limited(sb: SandboxServer) -> int:
    return sum(int(v.get("429", 0)) for v in sb.admin.counters()["operations"].values())


@pytest.mark.parametrize("storm", [10, 30, 100])
def test_a_429_storm_at_planning_converges_with_the_waits_recorded(
    sandbox: SandboxServer, session: Session, storm: int
) -> None:
    dash = dashboard_for(sandbox)
    sandbox.admin.set_faults(f"429burst={storm},429after=0.01")
    started = time.monotonic()
    plan = plan_sheet(dashboard=dash, sheet=example("router"), options=OPTIONS)
    job = apply_plan(
        session=session, dashboard=dash, sheet=example("router"), plan=plan, actor=ACTOR,
        clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert time.monotonic() - started < 60
    assert (job.status, job.verify_diff) == ("done", [])
    assert rate_limited(sandbox) == storm
    # the storm hit planning: the job's own result counts what apply saw, the adapter all
    assert dash.stats.rate_limited == storm and dash.stats.waits == storm
    assert dash.stats.waited_ms >= storm * 10


def test_a_429_storm_during_apply_is_in_the_jobs_result(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    plan = plan_sheet(dashboard=dash, sheet=example("router"), options=OPTIONS)
    sandbox.admin.set_faults("429burst=30,429after=0.01")
    job = apply_plan(
        session=session, dashboard=dash, sheet=example("router"), plan=plan, actor=ACTOR,
        clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert (job.status, job.verify_diff) == ("done", [])
    assert rate_limited(sandbox) == 30
    assert job.result["rate_limited"] == 30 and job.result["waits"] == 30
    assert job.result["waited_ms"] >= 30 * 10 and job.result["failures_surfaced"] == 0
