"""A rollout's ramp: what happens before an organization's first dashboard write.

Rule: before its first write the rollout only journals, and it journals a rollout in a fixed
number of statements, not one or more per site: the database statements executed between the
start of `apply_rollout` and the organization's first write are as many for 16 sites as for 4.
(A statement per site before the first request is the ramp issue 21 measured: 1,000 sites
journalled one by one keep every organization idle for seconds.) The first write is the shared
creation of the new networks; nothing else is sent before it.

Rule: before its first write the rollout reads the journal it has just written once, not more:
each job and each step is loaded once (by the runners, after the claim: `apply.claim_jobs`),
for 16 sites as for 4. Reading it again (a second read of every step: thousands of rows and
their JSON) is the other half of the ramp.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.job_records import steps_of
from provisioning.models import JobStep, ProvisioningJob
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, ORG, clock, utm, wireless

UNLIMITED = replace(OPTIONS, claim_limit=None)
"""Without the dashboard's ten claims per five minutes: 16 new sites would wait a whole window
(300 s) for their last six claims, which is not what these tests are about."""


class FirstWrite(MerakiProvisioning):
    """The dashboard, noting how many statements had run when the first write went out."""

    def __init__(self, sdk: Any, statements: list[int]) -> None:
        super().__init__(sdk, organization_id=ORG)
        self.statements = statements
        self.before_first: int | None = None

    def _first(self) -> None:
        if self.before_first is None:
            self.before_first = self.statements[0]

    def submit_batch(self, actions: list[Any], *, synchronous: bool) -> dict[str, Any]:
        self._first()
        return super().submit_batch(actions, synchronous=synchronous)

    def send_direct(self, kind: str, network_id: str, body: Any) -> Any:
        self._first()
        return super().send_direct(kind, network_id, body)

    def create_network(self, body: Any) -> dict[str, Any]:
        self._first()
        return super().create_network(body)


def statements_before_first_write(
    sandbox: SandboxServer, session: Session, first: int, sites: int
) -> int:
    statements = [0]
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    assert isinstance(engine, Engine)

    def count(*_: Any) -> None:
        statements[0] += 1

    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=3)
    dash = FirstWrite(sdk, statements)
    sheets = [utm(i) if i % 2 else wireless(i) for i in range(first, first + sites)]
    items = [RolloutSite(dash, sheet) for sheet in sheets]
    plan_rollout(items, UNLIMITED)
    session.commit()
    event.listen(engine, "before_cursor_execute", count)
    try:
        outcome = apply_rollout(
            session=session, sites=items, actor=ACTOR, clock=clock, options=UNLIMITED
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [j.status for j in outcome.jobs] == ["done"] * sites
    assert dash.before_first is not None
    return dash.before_first


def test_the_statements_before_the_first_write_do_not_grow_with_the_sites(
    sandbox: SandboxServer, session: Session
) -> None:
    few = statements_before_first_write(sandbox, session, 0, 4)
    many = statements_before_first_write(sandbox, session, 10, 16)
    assert many == few, (few, many)
    assert few < 40, few  # a handful of statements: journal, start, read the journal back


class Loads:
    """The journal's rows loaded into objects (read from the database) until the first write."""

    def __init__(self, dash: FirstWrite) -> None:
        self.dash = dash
        self.jobs: dict[int, int] = {}
        self.steps: dict[int, int] = {}

    def seen(self, target: Any, *_: Any) -> None:
        if self.dash.before_first is not None:  # the first write went out: no longer counted
            return
        into = self.steps if isinstance(target, JobStep) else self.jobs
        into[target.id] = into.get(target.id, 0) + 1


def loads_before_first_write(
    sandbox: SandboxServer, session: Session, first: int, sites: int
) -> tuple[Loads, int, int]:
    sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=3)
    dash = FirstWrite(sdk, [0])
    sheets = [utm(i) if i % 2 else wireless(i) for i in range(first, first + sites)]
    items = [RolloutSite(dash, sheet) for sheet in sheets]
    plan_rollout(items, UNLIMITED)
    session.commit()
    loads = Loads(dash)
    listened = [(m, e) for m in (JobStep, ProvisioningJob) for e in ("load", "refresh")]
    for model, name in listened:
        event.listen(model, name, loads.seen)
    try:
        outcome = apply_rollout(
            session=session, sites=items, actor=ACTOR, clock=clock, options=UNLIMITED
        )
    finally:
        for model, name in listened:
            event.remove(model, name, loads.seen)
    assert outcome.done
    ids = [j.id for j in outcome.jobs if j.id is not None]
    steps = sum(len(steps_of(session=session, job_id=job_id)) for job_id in ids)
    return loads, len(ids), steps


def test_the_journal_is_read_once_before_the_first_write(
    sandbox: SandboxServer, session: Session
) -> None:
    for first, sites in ((20, 4), (30, 16)):
        loads, jobs, steps = loads_before_first_write(sandbox, session, first, sites)
        assert jobs == sites and steps > jobs
        assert len(loads.jobs) == jobs and set(loads.jobs.values()) == {1}, loads.jobs
        assert len(loads.steps) == steps and set(loads.steps.values()) == {1}, loads.steps
