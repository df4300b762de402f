"""A rollout (or one job) killed while it records the secrets it set converges when resumed.

netkeep's record of the secrets it set (`provisioning.secret_record`) lives outside the
database: a plan compares a sheet's PSK with it, never with the dashboard's clear value. The
rule: whatever instant a rollout dies at, `--rollout R` leaves every job done AND planning each
sheet again finds nothing to change, PSKs included. Here the process dies at the one instant
no dashboard request marks (found by the crash section of the reliability suite: the kill came
after the last verification read): as the first secret is being recorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from provisioning.apply import list_jobs
from provisioning.models import ProvisioningJob
from provisioning.plan import change_rows
from provisioning.rollout import (
    RolloutSite,
    apply_rollout,
    plan_rollout,
    resume_rollout,
    rollout_jobs,
)
from provisioning.secret_record import MemoryRecord
from provisioning.service import apply_plan, plan_sheet, resume_job
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.service.helpers import migrated_writer_engine
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, clock, utm, wireless
from tests.service.test_rollout_kill_resume import Killed, client


class DyingRecord(MemoryRecord):
    """A record whose first write is where the process dies (nothing of that write kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def remember_many(self, scopes: Mapping[str, Mapping[str, str]]) -> None:
        if self.armed and any(scopes.values()):
            raise Killed(f"killed while recording the secrets of {sorted(scopes)}")
        super().remember_many(scopes)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_writer_engine(tmp_path / "secret-crash.db") as made:
        yield made


def test_a_rollout_killed_while_recording_its_secrets_resumes_to_nothing_left_to_change(
    sandbox: SandboxServer, engine: Engine
) -> None:
    sandbox.admin.set_claims(0.0)
    record = DyingRecord()
    options = replace(OPTIONS, secret_record=record)
    sheets = [utm(71), wireless(71), wireless(72)]
    sites = [RolloutSite(client(sandbox), s) for s in sheets]
    plan_rollout(sites, options)
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Killed):
        apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=options)
    with Session(engine) as session:
        [rollout] = {j.rollout for j in rollout_jobs_of(session, sheets)}
    assert rollout is not None

    record.armed = False  # the next process records normally
    dash = client(sandbox)
    with Session(engine, expire_on_commit=False) as session:
        outcome = resume_rollout(
            session=session, rollout=rollout, sites=[RolloutSite(dash, s) for s in sheets],
            actor=ACTOR, clock=clock, options=options,
        )  # fmt: skip
        assert [(j.network_name, j.status) for j in outcome.jobs if j.status != "done"] == []
        assert len(rollout_jobs(session=session, rollout=rollout)) == len(sheets)
    left = {
        sheet.site.name: change_rows(plan.changes)
        for sheet in sheets
        if not (plan := plan_sheet(dashboard=dash, sheet=sheet, options=options)).empty
    }
    assert left == {}
    # each wireless network's PSK is in the record, under the network the rollout created
    for sheet in sheets[1:]:
        network = dash.find_network(sheet.site.name)
        assert network is not None
        assert record.recorded(f"{dash.organization_id}/{network['id']}") != {}


def rollout_jobs_of(session: Session, sheets: list[Sheet]) -> list[ProvisioningJob]:
    names = {s.site.name for s in sheets}
    return [j for j in list_jobs(session=session, limit=1000) if j.network_name in names]


def test_a_job_killed_while_recording_its_secrets_resumes_to_nothing_left_to_change(
    sandbox: SandboxServer, engine: Engine
) -> None:
    """The same instant for one sheet applied alone, resumed with `--resume JOB`."""
    sandbox.admin.set_claims(0.0)
    record = DyingRecord()
    options = replace(OPTIONS, secret_record=record)
    sheet = wireless(73)
    dash = client(sandbox)
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=options)
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Killed):
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=options,
        )  # fmt: skip
    with Session(engine) as session:
        [job_id] = [j.id for j in rollout_jobs_of(session, [sheet])]
    assert job_id is not None

    record.armed = False
    dash = client(sandbox)
    with Session(engine, expire_on_commit=False) as session:
        job = resume_job(
            session=session, dashboard=dash, job_id=job_id, sheet=sheet, actor=ACTOR,
            clock=clock, options=options,
        )  # fmt: skip
        assert (job.status, job.error) == ("done", None)
    again = plan_sheet(dashboard=dash, sheet=sheet, options=options)
    assert again.empty, change_rows(again.changes)
