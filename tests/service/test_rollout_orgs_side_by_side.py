"""A rollout over three organizations works them side by side, each within its own budget.

The dashboard limits requests per organization (10 req/s), not per caller: three organizations
give three budgets that can be used at the same time. The rate-limited sandbox counts the
requests of each organization arriving in each wall-clock second (`/_sandbox/counters` →
`per_second`). Over a rollout of five sites in each of three organizations, paced at 8 req/s
per organization with no burst:

- most of the run's seconds serve all three organizations (worked one after another, each
  second would serve one, two at a hand-over);
- no organization sees more than 8 requests in a second, plus one that a late wake-up carries
  past a second's edge (the same tolerance as tests/service/test_shared_budget.py), and no run
  of consecutive seconds more than 8 per second plus one;
- the dashboard refuses nothing (no 429) and every job is done.

Measured (2 cores, loaded): side by side 3.4 s, 4 of the run's 5 seconds (SQLite) and 4 of 4
(PostgreSQL) serve all three at 7-8 req/s each; with the organizations forced one after another
(`provisioning.rollout.ThreadPoolExecutor` patched to one worker) 9.8 s and 0 of 10 seconds,
so (a) fails. With the budget's default burst (= the rate) an organization's first second holds
15 requests, so (b) fails: the burst is within the dashboard's own (10 more in the first
second), which is why this test paces without one.

Organizations run in parallel in sessions of their own (one per thread, on the caller's engine,
as the CLI and the API call it), so the test has its own database, SQLite or a private
PostgreSQL schema, rather than the rolled-back `session` fixture (whose one connection the
threads cannot share: there they run one after another).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import migrate
from core.db import make_engine, writer_engine
from dashboard.pacing import IpCap, OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning.rollout import RolloutSite, apply_rollout, plan_rollout
from provisioning.service import ProvisioningOptions
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from tests.conftest import PG_URL
from tests.service.test_provisioning_rollout import ACTOR, ORG, clock, utm, wireless

RATE = 8.0
"""netkeep's share of the dashboard's 10 req/s per organization (the settings' default)."""
SITES = 5
"""Per organization: three UTM sites and two Wi-Fi sites."""
OPTIONS = ProvisioningOptions(
    secret_key=b"test-key", rate=RATE, poll_seconds=0.2, require_survey=False
)


@pytest.fixture(params=["sqlite", "postgresql"])
def own_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of this test alone: a SQLite file or a fresh PostgreSQL schema."""
    admin_dsn = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    schema = f"nk_side_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'side-by-side.db'}"
    else:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield writer_engine(engine)
    engine.dispose()
    if request.param == "postgresql":
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sheets_of(k: int) -> list[Sheet]:
    """Organization k's sheets: serials and names of its own (none claimed elsewhere)."""
    base = 60 + 10 * k
    return [utm(base + j) for j in range(3)] + [wireless(base + j) for j in range(2)]


def test_three_organizations_are_served_in_the_same_seconds_none_over_its_rate(
    rate_limited_sandbox: SandboxServer, own_engine: Engine
) -> None:
    sandbox = rate_limited_sandbox
    orgs = [ORG, *sandbox.admin.generate_organizations(2)]
    limiter = OrgRateLimiter(rate=RATE, burst=1.0, ip_cap=IpCap())
    sites: list[RolloutSite] = []
    for k, org in enumerate(orgs):
        sdk = build_sdk(api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=8)
        dash = MerakiProvisioning(sdk, organization_id=org, limiter=limiter)
        sites += [RolloutSite(dash, sheet) for sheet in sheets_of(k)]
    assert len(sites) == 3 * SITES
    plan_rollout(sites, OPTIONS)
    sandbox.admin.reset_counters()  # only the rollout's own requests are counted below

    with Session(own_engine, expire_on_commit=False) as session:
        outcome = apply_rollout(
            session=session,
            sites=sites,
            actor=ACTOR,
            clock=clock,
            options=OPTIONS,
        )  # no session factory, as the CLI and the API call it: sessions of its own per thread
        assert [j.status for j in outcome.jobs] == ["done"] * (3 * SITES), [
            (j.network_name, j.status, j.error) for j in outcome.jobs
        ]

    counters = sandbox.admin.counters()
    assert counters["totals"].get("429", 0) == 0, counters["totals"]
    assert outcome.calls["rate_limited"] == 0
    seen = {org: sandbox.admin.per_second(org) for org in orgs}
    assert all(seen[org] for org in orgs), seen

    # (b) each organization within its rate in every second and over every run of seconds
    for org, per_second in seen.items():
        assert max(per_second.values()) <= RATE + 1, (org, per_second)
        first, last = min(per_second), max(per_second)
        for start in range(first, last + 1):
            for end in range(start, last + 1):
                count = sum(per_second.get(s, 0) for s in range(start, end + 1))
                assert count <= RATE * (end - start + 1) + 1, (org, start, end, per_second)

    # (a) the organizations side by side: most seconds of the run serve all three
    run = range(min(min(s) for s in seen.values()), max(max(s) for s in seen.values()) + 1)
    together = [s for s in run if all(seen[org].get(s, 0) > 0 for org in orgs)]
    assert len(run) >= 3, seen
    assert len(together) >= 0.5 * len(run), (len(together), len(run), seen)
