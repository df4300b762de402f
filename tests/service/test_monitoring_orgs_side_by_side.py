"""Liveness polls over several organizations run side by side, each within its own budget.

The dashboard limits requests per organization (10 req/s), not per caller, so three
organizations give three budgets usable at the same time. The rate-limited sandbox counts each
organization's requests in each wall-clock second (`per_second`). Three organizations of 40
networked devices, read 5 a page (8 pages a full-list poll), paced at 8 req/s per organization
with no burst:

- most seconds of the poll serve all three organizations, and some second serves more than one
  organization's budget (polled one after another, or all under one budget, no second could);
- no organization sees more than 8 requests in a second, plus one that a late wake-up carries
  past a second's edge (as tests/service/test_rollout_orgs_side_by_side.py), and the dashboard
  refuses nothing;
- both paths: the full list, then the change history (20 devices of each organization down: 20
  transitions, 4 pages); the debounce's second sighting opens each outage once;
- the same tick polled again reads nothing and records nothing (idempotent), and an organization
  the dashboard does not know fails alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from core.audit import SYSTEM
from dashboard.monitoring import MerakiMonitoring
from dashboard.pacing import IpCap, OrgRateLimiter
from monitoring.domain import Debounce
from monitoring.models import MonitorPoll, Outage
from monitoring.polling import OrganizationsPolled, poll_organizations
from sandbox.server import SandboxServer
from tests.service.test_rollout_orgs_side_by_side import own_engine

__all__ = ["own_engine"]  # the fixture: a database of this test alone (threads need their own)

RATE = 8.0
DEVICES = 40
PAGE = 5
DOWN = 20


def networked(sandbox: SandboxServer, count: int) -> list[str]:
    orgs = sandbox.admin.generate_organizations(count, DEVICES)
    state = sandbox.admin.snapshot()
    for device in state["devices"].values():
        if device["organizationId"] in orgs:
            device["networkId"] = f"N_side_{device['organizationId']}"
            device["status"] = "online"
    sandbox.admin.load_state(state)
    return orgs


def check_paced(
    sandbox: SandboxServer, orgs: list[str], pages: int, over_one_budget: bool = False
) -> None:
    """Each organization got `pages` requests a poll, within its rate, side by side; with
    `over_one_budget`, some second served more than one organization's rate."""
    counters = sandbox.admin.counters()
    assert counters["totals"].get("429", 0) == 0, counters["totals"]
    seen = {org: sandbox.admin.per_second(org) for org in orgs}
    assert {org: sum(s.values()) for org, s in seen.items()} == dict.fromkeys(orgs, pages)
    for org, per_second in seen.items():
        assert max(per_second.values()) <= RATE + 1, (org, per_second)
        first, last = min(per_second), max(per_second)
        for start in range(first, last + 1):
            for end in range(start, last + 1):
                count = sum(per_second.get(s, 0) for s in range(start, end + 1))
                assert count <= RATE * (end - start + 1) + 1, (org, start, end, per_second)
    run = range(min(min(s) for s in seen.values()), max(max(s) for s in seen.values()) + 1)
    together = [s for s in run if all(seen[org].get(s, 0) > 0 for org in orgs)]
    assert len(together) >= 0.5 * len(run), (len(together), len(run), seen)
    if over_one_budget:  # the organizations' budgets used at once, not one shared
        busiest = max(sum(seen[org].get(s, 0) for org in orgs) for s in run)
        assert busiest > RATE + 1, seen


def test_organizations_are_polled_in_the_same_seconds_none_over_its_rate(
    rate_limited_sandbox: SandboxServer, own_engine: Engine
) -> None:
    sandbox = rate_limited_sandbox
    orgs = networked(sandbox, 3)
    dash = MerakiMonitoring(
        api_key=sandbox.api_key,
        base_url=sandbox.base_url,
        limiter=OrgRateLimiter(rate=RATE, burst=1.0, ip_cap=IpCap()),
        per_page=PAGE,
    )

    def poll(now: datetime, history: bool, ids: list[str] = orgs) -> OrganizationsPolled:
        return poll_organizations(
            session_factory=lambda: Session(own_engine, expire_on_commit=False),
            dashboard=dash,
            organization_ids=ids,
            actor=SYSTEM,
            now=now,
            debounce=Debounce(polls=2),
            prefer_change_history=history,
        )

    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    sandbox.admin.reset_counters()
    first = poll(t, history=False)
    assert first.failed == {}
    assert [(r.organization_id, r.method, r.devices) for r in first.reports] == [
        (org, "availabilities", DEVICES) for org in orgs
    ]
    check_paced(sandbox, orgs, DEVICES // PAGE, over_one_budget=True)

    sandbox.admin.reset_counters()
    again = poll(t, history=False)  # the same tick: nothing read, nothing recorded
    assert [r.repeated for r in again.reports] == [True] * 3
    assert sandbox.admin.counters()["totals"] == {}

    state = sandbox.admin.snapshot()
    victims = {
        org: sorted(s for s, d in state["devices"].items() if d["organizationId"] == org)[:DOWN]
        for org in orgs
    }
    for serials in victims.values():
        for serial in serials:
            sandbox.admin.set_device_status(serial, "offline")
    sandbox.admin.reset_counters()
    seen_down = poll(datetime.now(UTC), history=True)  # the first sighting: no outage yet
    assert [(r.method, r.opened) for r in seen_down.reports] == [("change_history", [])] * 3
    check_paced(sandbox, orgs, DOWN // PAGE)

    opened = poll(datetime.now(UTC) + timedelta(seconds=1), history=True)
    assert [len(r.opened) for r in opened.reports] == [DOWN] * 3
    with Session(own_engine) as session:
        down = session.exec(select(Outage.serial).order_by(col(Outage.serial))).all()
        assert down == sorted(s for serials in victims.values() for s in serials)
        polls = session.exec(
            select(MonitorPoll.organization_id, func.count()).group_by(
                col(MonitorPoll.organization_id)
            )
        ).all()
        assert dict(polls) == dict.fromkeys(orgs, 3)


def test_an_organization_the_dashboard_refuses_fails_alone(
    sandbox: SandboxServer, own_engine: Engine
) -> None:
    known = networked(sandbox, 2)
    dash = MerakiMonitoring(
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=1, patience_seconds=0.3
    )
    done = poll_organizations(
        session_factory=lambda: Session(own_engine, expire_on_commit=False),
        dashboard=dash,
        organization_ids=[known[0], "999999999", known[1]],
        actor=SYSTEM,
        now=datetime.now(UTC),
        debounce=Debounce(polls=2),
    )
    assert [r.organization_id for r in done.reports] == known
    assert list(done.failed) == ["999999999"]
    with Session(own_engine) as session:
        polled = session.exec(select(MonitorPoll.organization_id)).all()
    assert sorted(polled) == sorted(known)
