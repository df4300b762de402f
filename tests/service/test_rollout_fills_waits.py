"""While a rollout's shared action batches run, the organization's budget is not left idle.

Rule: a site of a rollout whose changes are all direct writes (its network exists, nothing to
batch) has nothing to wait for: its writes go while the other sites' asynchronous action
batches run on the dashboard — the write starts before those batches have finished — and the
result is the same as one site after another (every job done, the settings as the sheets say).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from dashboard.pacing import OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.models import JobStep
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, ORG, _sheet, clock, utm


def with_rule(sheet: Sheet, port: str) -> Sheet:
    raw: dict[str, Any] = sheet.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["l3FirewallRules"] = [
        {"comment": "no telnet", "policy": "deny", "protocol": "tcp", "destPort": port}
    ]
    return _sheet(raw)


def test_a_site_with_only_direct_writes_goes_while_other_sites_batches_run(
    sandbox: SandboxServer, session: Session
) -> None:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=3)
    dash = MerakiProvisioning(sdk, organization_id=ORG, limiter=OrgRateLimiter(rate=1000.0))
    existing = utm(90)
    first = apply_rollout(
        session=session, sites=plan_sites(dash, [existing]), actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert [j.status for j in first.jobs] == ["done"]

    sandbox.admin.set_batch_delay(1.5)  # each asynchronous batch runs 1.5 s on the dashboard
    changed = with_rule(existing, "2323")
    new = [utm(91), utm(92), utm(93), utm(94)]  # 4 × 6 actions: one asynchronous batch
    outcome = apply_rollout(
        session=session, sites=plan_sites(dash, [*new, changed]), actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert [j.status for j in outcome.jobs] == ["done"] * 5, [
        (j.network_name, j.error) for j in outcome.jobs
    ]

    by_name = {j.network_name: j.id for j in outcome.jobs}
    direct = steps_of(session, by_name[changed.site.name])
    assert [s.batch for s in direct if s.action != "verify"] == [False]
    batches = [s for sheet in new for s in steps_of(session, by_name[sheet.site.name]) if s.batch]
    first_batch_done = min(s.finished_at for s in batches if s.finished_at)
    write = direct[0]
    assert write.started_at is not None
    assert write.started_at < first_batch_done, (write.started_at, first_batch_done)

    # each job's last step read the dashboard back: the settings are the sheets'
    assert all(j.verify_diff == [] for j in outcome.jobs)


def plan_sites(dash: MerakiProvisioning, sheets: list[Sheet]) -> list[RolloutSite]:
    sites = [RolloutSite(dash, sheet) for sheet in sheets]
    plan_rollout(sites, OPTIONS)
    return sites


def steps_of(session: Session, job_id: int | None) -> list[JobStep]:
    stmt = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.number))
    return list(session.exec(stmt))
