"""Concurrency on PostgreSQL: many workers resuming the same crashed rollout at once.

Rule (issue 15): a journalled apply interrupted by a crash is resumed by exactly one process,
however many try at the same moment (procrastinate's stalled-job retry handing it to a second
worker while the first is only slow, `netkeep apply --rollout R` typed while a worker resumes
it). The others are refused (409, `claim_held`) with nothing sent; no other error. The
dashboard receives each write once: no two action batches of the organization carry the same
action, no network is created again (the crash came after the creation was journalled), every
job ends done with one `job_applied` audit entry. 20 racing resumes in the short form, 50 in the
full one.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from core.errors import DomainError
from core.models import AuditEntry
from provisioning.apply import ApplyHooks
from provisioning.jobs import run_background_rollout
from provisioning.models import JobStep, ProvisioningJob
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout
from sandbox.app import SandboxConfig
from sandbox.server import running_sandbox
from tests.service.test_provisioning_rollout import (
    ACTOR,
    OPTIONS,
    ORG,
    clock,
    dashboard_for,
    utm,
    wireless,
)
from tests.service.test_workers import own_schema  # noqa: F401 (the fixture)

pytestmark = pytest.mark.postgres
BATCHES = "/organizations/{organizationId}/actionBatches"
NETWORKS = "/organizations/{organizationId}/networks"


class Killed(BaseException):
    """The process died: nothing catches it, as nothing survives a SIGKILL."""


def _kill_after_creation(step: JobStep) -> None:
    if step.number == 1:
        raise Killed("killed right after the networks were created")


def test_racing_resumes_of_one_crashed_rollout_run_it_once(
    own_schema: tuple[str, Engine],  # noqa: F811
    full: bool,
    figure: Callable[[str, Any], None],
) -> None:
    clients = 50 if full else 20
    _, engine = own_schema
    sheets = [utm(61), wireless(61)]
    config = SandboxConfig(rate_limit=None, ip_rate_limit=None, batch_delay=0.05)
    with running_sandbox(config) as sandbox:
        sandbox.admin.reset("demo")
        sandbox.admin.set_claims(0.0)
        sites = [RolloutSite(dashboard_for(sandbox), s) for s in sheets]
        plan_rollout(sites, OPTIONS)
        with Session(engine, expire_on_commit=False) as session, pytest.raises(Killed):
            apply_rollout(
                session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
                hooks=ApplyHooks(after_step=_kill_after_creation),
            )  # fmt: skip
        with Session(engine) as session:
            jobs = list(session.exec(select(ProvisioningJob)))
            [rollout] = {j.rollout for j in jobs}
            assert rollout is not None
            assert {j.status for j in jobs} == {"running"}  # crashed mid-way
        sandbox.admin.reset_counters()
        barrier = threading.Barrier(clients)
        outcomes: list[str] = []
        lock = threading.Lock()

        def one() -> None:
            dash = dashboard_for(sandbox)  # each worker its own client and session
            with Session(engine, expire_on_commit=False) as session:
                barrier.wait(timeout=60)
                try:
                    done = run_background_rollout(
                        session=session, rollout=rollout, sheets=sheets,
                        organizations=[ORG] * len(sheets), dashboards={ORG: dash},
                        actor=ACTOR, options=OPTIONS,
                    )  # fmt: skip
                    said = "resumed" if done.done else "resumed, not done"
                except DomainError as exc:
                    said = f"{exc.http_status} {exc.code}"
                except Exception as exc:  # a racer crashing is the finding
                    said = f"error {type(exc).__name__}: {exc}"
            with lock:
                outcomes.append(said)

        threads = [threading.Thread(target=one) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        batches = sandbox.admin.count("POST", BATCHES)
        created = sandbox.admin.count("POST", NETWORKS)
        listed = dashboard_for(sandbox).list_batches()
    sent = Counter(json.dumps(a, sort_keys=True) for b in listed for a in b.get("actions") or [])
    twice = [a for a, n in sent.items() if n > 1]
    with Session(engine) as session:
        statuses = sorted(j.status for j in session.exec(select(ProvisioningJob)))
        finished = session.exec(
            select(AuditEntry.entity_id, func.count())
            .where(col(AuditEntry.action) == "provisioning.job_applied")
            .group_by(col(AuditEntry.entity_id))
        ).all()
    tally = Counter(outcomes)
    figure("resumes_raced", clients)
    figure("resume_outcomes", dict(tally))
    figure("resume_batches_sent", batches)
    assert len(outcomes) == clients
    assert tally["resumed"] == 1, tally
    assert tally["409 claim_held"] == clients - 1, tally
    assert twice == [], twice
    assert created == 0
    assert statuses == ["done", "done"]
    assert sorted(n for _, n in finished) == [1, 1], finished
