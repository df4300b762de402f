"""A rollout's outcome: how its jobs ended, read once, their plans only when asked for.

Rules:
- by default the outcome's jobs are read in full (the CLI and `POST /rollouts?wait=true` show
  each job's change rows);
- a caller that only wants how the jobs ended (`jobs_in_full=False`: the bench, a background
  worker) gets them without their plan columns (desired, changes: most of a job's row), which
  are not read at all and raise if touched, rather than being read one job at a time; a
  rollout of thousands of sites read in full held hundreds of MB at its end;
- a resumed rollout's outcome holds all its jobs (those done before it too), read once at its
  end (it read them in full twice).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.exc import DetachedInstanceError
from sqlmodel import Session

from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.rollout import PLAN_COLUMNS, plan_rollout, resume_rollout, rollout_jobs
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import (
    ACTOR,
    OPTIONS,
    clock,
    crash_after_first_batch,
    dashboard_for,
    roll,
    sites_for,
    utm,
    wireless,
)


class JobReads:
    """The SELECTs of provisioning_job rows the engine runs while listening."""

    def __init__(self, session: Session) -> None:
        bind = session.get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        assert isinstance(engine, Engine)
        self.engine, self.statements = engine, list[str]()

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self.seen)
        return self.statements

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.seen)

    def seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "provisioning_job" in statement:
            self.statements.append(statement)


REFUSED = (InvalidRequestError, DetachedInstanceError)
"""A plan column of a job the outcome holds without it: touched, it raises (not read)."""


def plan_columns_in(statement: str) -> list[str]:
    return [c for c in PLAN_COLUMNS if f"provisioning_job.{c}" in statement]


def test_an_outcome_without_the_plans_reads_no_plan_column_and_refuses_one(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    with JobReads(session) as reads:
        outcome = roll(session, sites_for(dash, [utm(30), wireless(30)]), jobs_in_full=False)
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    assert [j.network_name for j in outcome.jobs] == ["店舗 30", "店舗 30 Wi-Fi"]
    assert all(j.result["calls"] >= 0 and j.verify_diff == [] for j in outcome.jobs)
    last = reads[-1]  # the outcome's read, after the run
    assert plan_columns_in(last) == [], last
    with pytest.raises(REFUSED):
        _ = outcome.jobs[0].changes
    with pytest.raises(REFUSED):
        _ = outcome.jobs[0].desired
    # the plans are journalled all the same
    assert all(j.changes for j in rollout_jobs(session=session, rollout=outcome.rollout))


def test_an_outcome_in_full_holds_the_plans(sandbox: SandboxServer, session: Session) -> None:
    dash = dashboard_for(sandbox)
    with JobReads(session) as reads:
        outcome = roll(session, sites_for(dash, [utm(31)]))
    assert outcome.done
    assert plan_columns_in(reads[-1]) == list(PLAN_COLUMNS)
    [job] = outcome.jobs
    assert job.changes and job.desired


def test_a_resumed_rollouts_outcome_holds_all_its_jobs_without_their_plans(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sheets = [utm(32), utm(33), wireless(32)]
    crash = crash_after_first_batch()

    with pytest.raises(RuntimeError):
        roll(session, sites_for(dash, sheets), hooks=ApplyHooks(after_submit=crash))
    [rollout] = {j.rollout for j in jobs.list_jobs(session=session) if j.rollout}
    sites = sites_for(dash, sheets)
    plan_rollout(sites, OPTIONS)
    with JobReads(session) as reads:
        again = resume_rollout(
            session=session, rollout=rollout, sites=sites, actor=ACTOR, clock=clock,
            options=OPTIONS, jobs_in_full=False,
        )  # fmt: skip
    assert again.done, [(j.network_name, j.status, j.error) for j in again.jobs]
    assert len(again.jobs) == 3
    last = reads[-1]  # the outcome's read, after the run
    assert "provisioning_job.rollout =" in last and plan_columns_in(last) == [], last
    with pytest.raises(REFUSED):
        _ = again.jobs[0].changes
