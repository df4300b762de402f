"""Newly claimed devices answer 404 for a while (specification, claimNetworkDevices: "it may
take a few minutes for API requests against that device to succeed"). An initial setup claims
in one batch and addresses the devices in the next; when they still answer 404 it waits (one
GET per device per wait) and sends that batch again — it changed nothing when it failed.
"""

from __future__ import annotations

from sqlmodel import Session

from provisioning import apply as jobs
from provisioning.service import ProvisioningOptions
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import apply, dashboard_for, example

ROUTER_MX = "Q2KY-BBBB-0001"  # the router example's one device
BATCHES = "/organizations/{organizationId}/actionBatches"


def test_a_batch_meeting_unsettled_devices_is_sent_again_once_they_answer(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(2.0)  # longer than the claim batch takes, even on a busy machine
    dash = dashboard_for(sandbox)
    job = apply(session, dash, example("router"))
    assert (job.status, job.error, job.verify_diff) == ("done", None, [])
    # claim batch, the device batch refused while the MX was settling, the same batch again
    assert sandbox.admin.count("POST", BATCHES) == 3
    assert sandbox.admin.count("GET", "/devices/{serial}/managementInterface", 404) >= 1
    device = sandbox.dashboard_api().devices.getDevice(ROUTER_MX)
    assert device["name"] == "事務所-MX68"
    steps = jobs.journal(session=session, job_id=job.id)
    assert [s.status for s in steps] == ["done"] * len(steps)


def test_devices_that_never_answer_fail_the_step_after_the_settle_time(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(30.0)
    options = ProvisioningOptions(
        secret_key=b"test-key", rate=1000.0, poll_seconds=0.05, claim_settle_seconds=0.3
    )
    job = apply(session, dashboard_for(sandbox), example("router"), options)
    assert job.status == "failed"
    assert ROUTER_MX in str(job.error) and "after being claimed" in str(job.error)
    assert sandbox.admin.count("POST", BATCHES) == 2  # never sent again while it would fail


def test_no_wait_when_claimed_devices_answer_at_once(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)
    job = apply(session, dashboard_for(sandbox), example("router"))
    assert job.status == "done"
    assert sandbox.admin.count("POST", BATCHES) == 2
    assert sandbox.admin.count("GET", "/devices/{serial}/managementInterface", 404) == 0
