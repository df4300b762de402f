"""A step whose batch failed and was sent again is not sent a third time by the resume.

A batch step whose batch failed (a new network still answering 404, devices just claimed, the
claim limit) is sent again in a second batch. A process killed on that second batch's answer,
before the journal holds its id, leaves the step `running` with the FAILED batch's id (or, for
a rollout's shared batch, no id and the failed shared batch first in the organization's list).
The rule: a failed batch changed nothing, so the resume looks for a later batch carrying the
step's actions that did not fail, and follows it; it sends the step again only when there is
none. Sending it a third time creates what the second batch created twice (VLANs, RF profiles)
or claims devices already claimed: the job fails although the dashboard has everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from dashboard.transport import sdk_http_client
from provisioning.apply import journal, list_jobs
from provisioning.plan import change_rows
from provisioning.service import apply_plan, plan_sheet, resume_job
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.service.helpers import migrated_writer_engine
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, ORG, clock, utm, wireless
from tests.service.test_rollout_kill_resume import Killed

BATCHES = "/organizations/{organizationId}/actionBatches"


class KilledOnBatchAnswer:
    """Dies on the answer to the `nth` action batch sent (the dashboard did it, the journal
    never heard)."""

    def __init__(self, nth: int) -> None:
        self.nth, self.sent = nth, 0

    def after(self, response: httpx.Response) -> None:
        request = response.request
        if request.method == "POST" and request.url.path.endswith("/actionBatches"):
            self.sent += 1
            if self.sent == self.nth:
                raise Killed(f"killed on the answer to action batch {self.sent}")


def dying_client(sb: SandboxServer, switch: KilledOnBatchAnswer) -> MerakiProvisioning:
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    sdk_http_client(sdk).event_hooks = {"request": [], "response": [switch.after]}
    return MerakiProvisioning(sdk, organization_id=ORG)


def fresh_client(sb: SandboxServer) -> MerakiProvisioning:
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    return MerakiProvisioning(sdk, organization_id=ORG)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_writer_engine(tmp_path / "sent-again.db") as made:
        yield made


@pytest.mark.parametrize("make_sheet", [utm, wireless], ids=["utm", "wireless"])
def test_the_resume_follows_the_batch_sent_again_instead_of_sending_a_third(
    sandbox: SandboxServer, engine: Engine, make_sheet: Callable[[int], Sheet]
) -> None:
    # a new network answers 404 for a second: the job's first batch fails and is sent again
    sandbox.admin.set_claims(0.0, network_settle=1.0)
    sheet = make_sheet(75)
    switch = KilledOnBatchAnswer(nth=2)
    dash = dying_client(sandbox, switch)
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Killed):
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
    with Session(engine) as session:
        [job] = [
            j for j in list_jobs(session=session, limit=100) if j.network_name == sheet.site.name
        ]
        assert job.id is not None
        step = next(s for s in journal(session=session, job_id=job.id) if s.status != "done")
        # the precondition: the step is journalled with its first, failed, batch
        assert step.batch and step.status == "running" and step.request_id is not None
        first = sandbox.dashboard_api().organizations.getOrganizationActionBatch(
            ORG, step.request_id
        )
        assert first["status"]["failed"], first["status"]

    dash = fresh_client(sandbox)
    with Session(engine, expire_on_commit=False) as session:
        done = resume_job(
            session=session, dashboard=dash, job_id=job.id, sheet=sheet, actor=ACTOR,
            clock=clock, options=OPTIONS,
        )  # fmt: skip
        assert (done.status, done.error) == ("done", None), done.error
    listed = sandbox.dashboard_api().organizations.getOrganizationActionBatches(ORG)
    # no batch failed after the resume started: the second batch was followed, not duplicated
    assert [b["id"] for b in listed if b["status"]["failed"]] == [step.request_id]
    again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    assert again.empty, change_rows(again.changes)
    names = Counter(n["name"] for n in dash.list_networks())
    assert names[sheet.site.name] == 1
