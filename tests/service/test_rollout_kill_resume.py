"""A rollout killed at any point resumes by itself with `--rollout R`, through the real SDK.

The kill is injected at the HTTP layer after N dashboard requests: either before request N+1
goes out (nothing of it reached the dashboard) or after response N came back (the dashboard did
it, the journal never heard). Whatever was committed stays; the resume runs in a fresh session
with a fresh client, as a new process would. Every time: every job done, nothing created twice,
and planning the sheets again finds nothing left to change.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from dashboard.transport import sdk_http_client
from provisioning.apply import ApplyHooks, journal, list_jobs
from provisioning.models import JobStep
from provisioning.plan import change_rows
from provisioning.rollout import (
    RolloutSite,
    apply_rollout,
    plan_rollout,
    resume_rollout,
    rollout_jobs,
)
from provisioning.service import plan_sheet
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.service.helpers import migrated_writer_engine
from tests.service.test_provisioning_rollout import ACTOR, OPTIONS, ORG, clock, utm, wireless

SEED = int(os.environ.get("NETKEEP_KILL_SEED", "20261206"))
POINTS = 12


class Killed(BaseException):
    """The process died: nothing below catches it, as nothing survives a SIGKILL."""


def sheets() -> list[Sheet]:
    return [utm(41), utm(42), utm(43), wireless(41), wireless(42)]


class KillSwitch:
    """Once armed at N: dies as request N+1 is about to go out, or (`sent`) after its answer."""

    def __init__(self) -> None:
        self.at: int | None = None
        self.sent = False
        self.started = 0

    def arm(self, after: int, *, sent: bool) -> None:
        self.at, self.sent, self.started = after, sent, 0

    def before(self, request: httpx.Request) -> None:
        if self.at is not None and not self.sent and self.started == self.at:
            raise Killed(f"killed before {request.method} {request.url.path}")
        self.started += 1

    def after(self, response: httpx.Response) -> None:
        if self.at is not None and self.sent and self.started == self.at + 1:
            request = response.request
            raise Killed(f"killed after the answer to {request.method} {request.url.path}")


def client(sb: SandboxServer, switch: KillSwitch | None = None) -> MerakiProvisioning:
    """A provisioning client of the sandbox's organization, dying when `switch` says so."""
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    if switch is not None:
        http = sdk_http_client(sdk)
        http.event_hooks = {"request": [switch.before], "response": [switch.after]}
    return MerakiProvisioning(sdk, organization_id=ORG)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with migrated_writer_engine(tmp_path / "rollouts.db") as made:
        yield made


def run_until_killed(sb: SandboxServer, engine: Engine, kill_after: int, sent: bool) -> str | None:
    """Plan and apply the rollout until the kill; the rollout id if anything was journalled."""
    switch = KillSwitch()
    dash = client(sb, switch)
    sites = [RolloutSite(dash, s) for s in sheets()]
    plan_rollout(sites, OPTIONS)
    switch.arm(kill_after, sent=sent)
    with Session(engine, expire_on_commit=False) as session:
        known = {j.rollout for j in _all_jobs(session)}
        with pytest.raises(Killed):
            apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS)
    with Session(engine) as session:
        new = {j.rollout for j in _all_jobs(session)} - known
    return new.pop() if new else None


def _all_jobs(session: Session) -> list[Any]:
    return list_jobs(session=session, limit=10_000)


def assert_converged(sb: SandboxServer, engine: Engine, rollout: str) -> None:
    dash = client(sb)
    with Session(engine, expire_on_commit=False) as session:
        jobs = rollout_jobs(session=session, rollout=rollout)
        assert sorted(j.network_name for j in jobs) == sorted(s.site.name for s in sheets())
        assert [(j.network_name, j.status, j.error) for j in jobs if j.status != "done"] == []
    names = Counter(n["name"] for n in dash.list_networks())
    assert {s.site.name: names[s.site.name] for s in sheets()} == {s.site.name: 1 for s in sheets()}
    for sheet in sheets():
        again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
        assert again.empty, (sheet.site.name, change_rows(again.changes))
        net = dash.find_network(sheet.site.name)
        assert net is not None
        if sheet.rf_profiles:
            profiles = [p["name"] for p in dash.read_collection(net["id"], "rfProfile")]
            assert sorted(profiles) == sorted(set(profiles)), (sheet.site.name, profiles)


def _reference_calls(sb: SandboxServer, engine: Engine) -> int:
    """The rollout run once without a kill (converged): how many requests it makes."""
    dash = client(sb)
    sites = [RolloutSite(dash, s) for s in sheets()]
    plan_rollout(sites, OPTIONS)
    with Session(engine, expire_on_commit=False) as session:
        outcome = apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS
        )
    assert outcome.done
    assert_converged(sb, engine, outcome.rollout)
    return outcome.calls["calls"]


def test_a_rollout_killed_at_any_point_resumes_and_converges(
    sandbox: SandboxServer, engine: Engine
) -> None:
    # the kill points are request counts: claimed devices answer at once, so every run makes
    # the same requests (waiting for claimed devices: test_provisioning_claim_settle)
    sandbox.admin.set_claims(0.0)
    total = _reference_calls(sandbox, engine)
    rng = random.Random(SEED)
    if os.environ.get("NETKEEP_KILL_ALL"):  # by hand: every request, both ways
        points = [(n, sent) for n in range(total) for sent in (False, True)]
    else:
        chosen = [0, *sorted(rng.sample(range(1, total - 1), POINTS - 2)), total - 1]
        points = [(n, rng.random() < 0.5) for n in chosen]
    converged = 0
    for n, sent in points:
        sandbox.admin.reset("demo")
        rollout = run_until_killed(sandbox, engine, n, sent)
        assert rollout is not None, f"killed after {n} calls: the rollout was not journalled"
        dash = client(sandbox)
        with Session(engine, expire_on_commit=False) as session:
            outcome = resume_rollout(
                session=session,
                rollout=rollout,
                sites=[RolloutSite(dash, s) for s in sheets()],
                actor=ACTOR,
                clock=clock,
                options=OPTIONS,
            )
        assert outcome.done, (n, sent, [(j.network_name, j.status, j.error) for j in outcome.jobs])
        assert_converged(sandbox, engine, rollout)
        converged += 1
    print(f"converged {converged} of {len(points)} (kill points {points} of {total} calls)")
    assert converged == len(points) >= 10


def test_networks_the_journal_holds_as_created_are_not_created_again(
    sandbox: SandboxServer, engine: Engine
) -> None:
    """Killed right after the shared creation was journalled done, before any other step."""

    def kill(step: JobStep) -> None:
        if step.number == 1:
            raise Killed("killed after the networks were created")

    sandbox.admin.set_claims(0.0)  # batches counted below: claimed devices answer at once
    dash = client(sandbox)
    sites = [RolloutSite(dash, s) for s in sheets()]
    plan_rollout(sites, OPTIONS)
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Killed):
        apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
            hooks=ApplyHooks(after_step=kill),
        )  # fmt: skip
    with Session(engine) as session:
        [rollout] = {j.rollout for j in _all_jobs(session)}
        created = [s for j in _all_jobs(session) for s in journal(session=session, job_id=j.id)]
        assert [s.status for s in created if s.number == 1] == ["done"] * len(sheets())
    batches = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    again = [RolloutSite(client(sandbox), s) for s in sheets()]
    with Session(engine, expire_on_commit=False) as session:
        outcome = resume_rollout(
            session=session, rollout=rollout, sites=again, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    # only the configuration rounds went out: the sites' batches and the APs' RF profiles
    after = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    assert after - batches == 2
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/networks") == 0
    assert_converged(sandbox, engine, rollout)
