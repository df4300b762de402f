"""A newly created network answers 404 for a while (the dashboard is eventually consistent after
a network creation, as after a claim). netkeep waits while the network it just created answers
404 and sends the request or batch again (a failed batch changed nothing); the site never fails
for it. Through the real SDK against the sandbox with its network settle turned on.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import meraki
import pytest
from sqlmodel import Session

from provisioning.journal import ApplyHooks
from provisioning.rollout import apply_rollout, plan_rollout
from provisioning.service import plan_sheet
from sandbox.server import SandboxServer
from tests.service import test_provisioning_apply as single
from tests.service import test_provisioning_rollout as rollouts

SETTLE = 1.0
"""Seconds a new network answers 404 here: longer than the creation's next request takes, even
on a loaded machine (at 0.3 s a slow run sometimes sent its next request after the settle)."""
NETWORK = "/networks/{networkId}"


def not_found(sb: SandboxServer) -> int:
    """Direct requests under /networks/{id} that the sandbox answered 404."""
    ops = sb.admin.counters()["operations"]
    return sum(
        int(entry.get("404", 0))
        for key, entry in ops.items()
        if key.split(" ", 1)[1].startswith(NETWORK)
    )


def test_the_sandbox_answers_404_about_a_new_network_until_it_settled(
    sandbox: SandboxServer,
) -> None:
    sandbox.admin.set_claims(0.05, network_settle=SETTLE)
    sdk = sandbox.dashboard_api()
    net = sdk.organizations.createOrganizationNetwork(
        single.ORG, name="settle-probe", productTypes=["appliance"]
    )
    with pytest.raises(meraki.APIError) as refused:
        sdk.networks.getNetwork(net["id"])
    assert refused.value.status == 404
    with pytest.raises(meraki.APIError) as below:
        sdk.appliance.getNetworkApplianceVlans(net["id"])
    assert below.value.status == 404
    assert sandbox.admin.count("GET", NETWORK, 404) == 1
    time.sleep(SETTLE + 0.05)
    assert sdk.networks.getNetwork(net["id"])["name"] == "settle-probe"


def test_an_apply_on_a_new_network_waits_for_it_and_converges(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.05, network_settle=SETTLE)
    dash = single.dashboard_for(sandbox)
    sheet = single.example("utm")
    job = single.apply(session, dash, sheet)
    assert (job.status, job.error, job.verify_diff) == ("done", None, [])
    # the sandbox refused at least one request about the network while it settled
    assert not_found(sandbox) >= 1
    again = plan_sheet(dashboard=dash, sheet=sheet, options=single.OPTIONS)
    assert again.empty


def test_a_rollout_of_three_new_sites_converges_while_their_networks_settle(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.05, network_settle=SETTLE)
    dash = rollouts.dashboard_for(sandbox)
    sheets = [rollouts.utm(1), rollouts.utm(2), rollouts.utm(3)]
    sites = rollouts.sites_for(dash, sheets)
    plan_rollout(sites, rollouts.OPTIONS)
    outcome = apply_rollout(
        session=session, sites=sites, actor=rollouts.ACTOR, clock=rollouts.clock,
        options=rollouts.OPTIONS,
    )  # fmt: skip
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    assert [j.verify_diff for j in outcome.jobs] == [[]] * 3
    assert not_found(sandbox) >= 1
    for sheet in sheets:
        assert plan_sheet(dashboard=dash, sheet=sheet, options=rollouts.OPTIONS).empty


def test_without_netkeeps_wait_the_site_fails(sandbox: SandboxServer, session: Session) -> None:
    """The wait is what makes the tests above pass: with no settle time allowed, the first
    request about the new network fails the job."""
    sandbox.admin.set_claims(0.05, network_settle=SETTLE)
    options = replace(single.OPTIONS, network_settle_seconds=0.0)
    job = single.apply(session, single.dashboard_for(sandbox), single.example("utm"), options)
    assert job.status == "failed"
    assert "still not found" in str(job.error) and "changed nothing" in str(job.error)


def test_a_batch_refused_while_the_network_settled_is_sent_again_though_it_answers_by_now(
    sandbox: SandboxServer, session: Session
) -> None:
    """The race the field page's bench met: a batch about the new network ran (and failed) while
    the network still answered 404, and by the time netkeep looked, the network answered. The
    batch changed nothing and failed only for that, so it is sent again, not reported."""
    sandbox.admin.set_claims(0.05, network_settle=SETTLE)
    slow: list[int] = []

    def after_submit(step: Any) -> None:
        if step.batch and not slow:  # the first batch about the network: let it settle meanwhile
            slow.append(step.number)
            time.sleep(SETTLE + 0.1)

    dash = single.dashboard_for(sandbox)
    job = single.apply(
        session, dash, single.example("utm"), hooks=ApplyHooks(after_submit=after_submit)
    )
    assert slow, "the apply sent no batch"
    assert (job.status, job.error, job.verify_diff) == ("done", None, [])
