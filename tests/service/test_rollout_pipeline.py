"""A rollout's shared action batches are a pipeline, not rounds with a barrier between them.

Rule: the dashboard runs at most five asynchronous action batches per organization, so a rollout
of many sites sends its sites' first batch steps in more batches than run at once. A site whose
first batch ended goes on with its next batch step while other sites' first batches still run,
and a site whose batches all ended sends its direct writes while other batches still run: the
organization's budget does not wait for the slowest batch of a round. The calls are those the
estimate counts, every job ends done and reads back as its sheet says.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import datetime

import pytest
from sqlmodel import Session, col, select

from core.heap import FULL_PASS_EVERY
from provisioning.apply import ApplyHooks
from provisioning.batch_wait import BATCH_SLOTS
from provisioning.models import JobStep
from provisioning.rollout import apply_rollout, rollout_estimate
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import (
    ACTOR,
    OPTIONS,
    ORG,
    clock,
    dashboard_for,
    plan_rollout,
    sites_for,
    utm,
)

SLOTS = 5
"""Asynchronous batches the dashboard runs at once per organization."""
LIMIT = 100
"""Actions one asynchronous batch holds at most."""
UNLIMITED = replace(OPTIONS, claim_limit=None, poll_seconds=0.7)
"""The sandbox here lets any number of claims go (the dashboard's ten per five minutes would
make this a test of the claim budget, tests/service/test_rollout_claim_limit.py); a batch is
read first 0.7 s after it was sent, when it has ended (one read each, as the estimate counts)."""


def test_a_sites_next_batch_and_its_direct_writes_go_while_other_batches_run(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)  # claimed devices answer at once: calls match the estimate
    dash = dashboard_for(sandbox)
    probe = sites_for(dash, [utm(1)])
    plan_rollout(probe, UNLIMITED)
    assert probe[0].plan is not None
    batches = [len(s.operations) for s in probe[0].plan.steps if s.batch]
    assert len(batches) == 2, batches  # a new UTM site: two batch steps, then direct writes
    first, second = batches
    # six full batches of first steps: the sixth (asynchronous too) has to wait for a slot
    count = (SLOTS + 1) * (LIMIT // first)
    assert (LIMIT // second) <= SLOTS * (LIMIT // first)  # the next steps of the first five's
    sandbox.admin.set_batch_delay(0.6)  # each asynchronous batch runs 0.6 s on the dashboard

    sites = sites_for(dash, [utm(i) for i in range(1, count + 1)])
    sandbox.admin.reset_counters()
    plan_rollout(sites, UNLIMITED)
    estimate = rollout_estimate([s.plan for s in sites if s.plan is not None], UNLIMITED)
    outcome = apply_rollout(
        session=session, sites=sites, actor=ACTOR, clock=clock, options=UNLIMITED
    )
    assert [j.status for j in outcome.jobs] == ["done"] * count, [
        (j.network_name, j.error) for j in outcome.jobs if j.status != "done"
    ]
    assert all(j.verify_diff == [] for j in outcome.jobs)
    assert sandbox.admin.counters()["totals"]["count"] == estimate.calls

    ids = [j.id for j in outcome.jobs]
    steps = list(
        session.exec(
            select(JobStep).where(col(JobStep.job_id).in_(ids)).order_by(col(JobStep.number))
        )
    )
    by_job: dict[int, list[JobStep]] = {}
    for step in steps:
        by_job.setdefault(step.job_id, []).append(step)
    firsts, seconds, directs = [], [], []
    for own in by_job.values():
        batch_steps = [s for s in own if s.batch]
        firsts.append(batch_steps[0])
        seconds.append(batch_steps[1])
        directs += [s for s in own if not s.batch and s.number > 1 and s.action != "verify"]

    def started(step: JobStep) -> datetime:
        assert step.started_at is not None
        return step.started_at

    def finished(step: JobStep) -> datetime:
        assert step.finished_at is not None
        return step.finished_at

    last_first_ended = max(map(finished, firsts))
    last_batch_ended = max(map(finished, firsts + seconds))
    assert min(map(started, seconds)) < last_first_ended, "second steps waited for every first"
    assert min(map(started, directs)) < last_batch_ended, "direct writes waited for every batch"


class Stopped(BaseException):
    """The process stopped (as a kill would) while shared batches ran."""


def test_a_run_stopped_while_batches_run_leaves_the_organizations_slots_free(
    sandbox: SandboxServer, session: Session
) -> None:
    """Rule: the five batch slots are the process's, not the run's: a run that stops while its
    batches run (the next run in the same process, a worker's next job, must not wait for ever
    for slots nobody holds) frees them. Likewise the garbage collector's thresholds, which a
    rollout raises while it runs (`core.heap.bulk_run`)."""
    dash = dashboard_for(sandbox)
    sheets = [utm(i) for i in range(60, 60 + SLOTS * 2 * (LIMIT // 10))]
    sites = sites_for(dash, sheets)
    plan_rollout(sites, UNLIMITED)
    sandbox.admin.set_batch_delay(5.0)  # the batches still run when the run stops
    sent: list[int] = []
    held_off: list[int] = []
    before = gc.get_threshold()

    def stop(step: JobStep) -> None:
        held_off.append(gc.get_threshold()[2])
        if step.batch and step.number > 1:
            sent.append(step.id or 0)
            if len(sent) > SLOTS * (LIMIT // 10) // 2:  # some shared batches are running
                raise Stopped

    with pytest.raises(Stopped):
        apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=UNLIMITED,
            hooks=ApplyHooks(after_submit=stop),
        )  # fmt: skip
    # while it ran, CPython's full collections were held off; stopped, it gave them back
    assert held_off and min(held_off) >= FULL_PASS_EVERY > before[2]
    assert gc.get_threshold() == before
    slot = BATCH_SLOTS.slot(ORG)
    taken = [slot.acquire(blocking=False) for _ in range(SLOTS)]
    for got in taken:
        if got:
            slot.release()
    assert taken == [True] * SLOTS
