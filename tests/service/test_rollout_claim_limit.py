"""Claims within the dashboard's limit, through the real SDK against the sandbox.

The specification (claimNetworkDevices): the operation "can be used up to ten times within a
single five minute window". The sandbox counts claim requests per organization (one per site
here, whatever its serials); these tests shorten the window to 2 seconds in both the sandbox
and netkeep. A rollout of 13 new sites claims into one organization:
- with netkeep's budget set, it spaces its claims: no claim is refused, all 13 sites converge,
  and no 2-second window holds more than 10 admitted claims;
- with netkeep unaware of the limit (another tool used it, say), the refused batches are sent
  again after the Retry-After the dashboard gives: no site fails.
"""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from provisioning.rollout import apply_rollout, plan_rollout, rollout_estimate
from sandbox.server import SandboxServer
from tests.service.test_provisioning_rollout import (
    ACTOR,
    OPTIONS,
    ORG,
    clock,
    dashboard_for,
    sites_for,
    utm,
    vlan_ids,
)

LIMIT, WINDOW = 10, 2.0
SITES = 13
BUDGETED = replace(OPTIONS, claim_limit=LIMIT, claim_window_seconds=WINDOW)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` within any half-open span [t, t + window)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


def test_most_in_any_window_counts_what_it_says() -> None:
    assert most_in_any_window([0.0, 0.5, 1.9, 2.0, 2.6], 2.0) == 3
    assert most_in_any_window([], 2.0) == 0


def test_a_rollout_of_13_sites_spaces_its_claims_within_the_limit(
    sandbox: SandboxServer, session: Session
) -> None:
    # claimed devices answer at once here, so the calls can be counted against the estimate
    sandbox.admin.set_claims(0.0, limit=LIMIT, window=WINDOW)
    sites = sites_for(dashboard_for(sandbox), [utm(40 + i) for i in range(SITES)])
    sandbox.admin.reset_counters()
    plans = plan_rollout(sites, BUDGETED)
    estimate = rollout_estimate(plans, BUDGETED)
    assert estimate.claim_wait == WINDOW  # 13 claims: 10, then 3 one window later
    outcome = apply_rollout(
        session=session, sites=sites, actor=ACTOR, clock=clock, options=BUDGETED
    )
    assert [(j.network_name, j.status, j.error) for j in outcome.jobs] == [
        (f"店舗 {40 + i:02d}", "done", None) for i in range(SITES)
    ]
    assert [j.verify_diff for j in outcome.jobs] == [[]] * SITES
    claims = sandbox.admin.claims()
    assert claims["refused"] == 0
    admitted = claims["admitted"][ORG]
    assert len(admitted) == SITES  # one claim request per site, none sent twice
    assert most_in_any_window(admitted, WINDOW) <= LIMIT
    assert sorted(admitted)[LIMIT] - sorted(admitted)[0] >= WINDOW  # the 11th waited
    assert sandbox.admin.count("POST", "/networks/{networkId}/devices/claim", 429) == 0
    # the creation batch; 10 sites' claim batch; their device batch (the 3 left wait); the 3
    # sites' claim batch; their device batch
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches") == 5
    assert sandbox.admin.counters()["totals"]["count"] == estimate.calls
    assert vlan_ids(sandbox, "店舗 52") == [10, 20]


def test_claims_refused_anyway_are_sent_again_after_retry_after(
    sandbox: SandboxServer, session: Session
) -> None:
    """netkeep's own budget off: the dashboard refuses the 11th claim; nothing fails."""
    sandbox.admin.set_claims(0.05, limit=LIMIT, window=WINDOW)
    unaware = replace(OPTIONS, claim_limit=None, claim_window_seconds=WINDOW)
    sites = sites_for(dashboard_for(sandbox), [utm(60 + i) for i in range(SITES)])
    plan_rollout(sites, unaware)
    outcome = apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=unaware)
    assert [(j.status, j.error) for j in outcome.jobs] == [("done", None)] * SITES
    assert [j.verify_diff for j in outcome.jobs] == [[]] * SITES
    claims = sandbox.admin.claims()
    assert claims["refused"] >= 1  # the limit was hit, and waited out
    assert most_in_any_window(claims["admitted"][ORG], WINDOW) <= LIMIT
    assert vlan_ids(sandbox, "店舗 72") == [10, 20]
