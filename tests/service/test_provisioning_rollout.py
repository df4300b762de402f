"""Rollouts through the real SDK against the sandbox: shared reads and batches, failures, resume."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from core import migrate
from core.audit import Actor
from core.db import make_engine, writer_engine
from core.errors import Conflict, ValidationFailed
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.models import JobStep
from provisioning.plan import change_rows
from provisioning.rollout import (
    RolloutSite,
    alone_calls,
    apply_rollout,
    plan_rollout,
    resume_rollout,
    rollout_estimate,
    rollout_jobs,
)
from provisioning.service import ProvisioningOptions, plan_sheet
from provisioning.sheet_model import Sheet
from provisioning.validation import SheetSource, validate_sheet
from sandbox.server import SandboxServer

ACTOR = Actor(name="rollout-tester", role="field")
OPTIONS = ProvisioningOptions(
    secret_key=b"test-key", rate=1000.0, poll_seconds=0.05, require_survey=False
)
ORG = "537758"


def clock() -> datetime:
    return datetime.now(UTC)


def dashboard_for(sb: SandboxServer, org: str = ORG) -> MerakiProvisioning:
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    return MerakiProvisioning(sdk, organization_id=org)


def _sheet(raw: dict[str, Any]) -> Sheet:
    sheet, problems = validate_sheet(raw, SheetSource(name=raw["site"]["name"]))
    assert sheet is not None, problems
    return sheet


def utm(i: int, serial: str | None = None) -> Sheet:
    return _sheet(
        {
            "format": "netkeep-sheet/1",
            "kind": "settings",
            "site": {"name": f"店舗 {i:02d}", "plan": "utm"},
            "devices": [
                {"serial": serial or f"Q2FY-R{i:03d}-0001", "model": "MX67", "name": f"mx{i}"}
            ],
            "vlans": [
                {
                    "id": 10 * v,
                    "name": f"v{v}",
                    "subnet": f"192.168.{10 * v}.0/24",
                    "applianceIp": f"192.168.{10 * v}.1",
                }
                for v in (1, 2)
            ],
            "l3FirewallRules": [
                {"comment": "no telnet", "policy": "deny", "protocol": "tcp", "destPort": "23"}
            ],
            "intrusion": {"mode": "prevention"},
        }
    )


def wireless(i: int) -> Sheet:
    return _sheet(
        {
            "format": "netkeep-sheet/1",
            "kind": "settings",
            "site": {"name": f"店舗 {i:02d} Wi-Fi", "plan": "wireless"},
            "devices": [
                {
                    "serial": f"Q3AJ-R{i:03d}-000{a}",
                    "model": "MR36",
                    "name": f"ap{a}",
                    "rfProfile": "標準",
                }
                for a in (1, 2)
            ],
            "ssids": [
                {"number": 0, "name": f"shop{i}", "authMode": "psk", "psk": f"secret-psk-{i:04d}"}
            ],
            "rfProfiles": [{"name": "標準", "fiveGhzSettings": {"channelWidth": "40"}}],
        }
    )


def sites_for(dash: MerakiProvisioning, sheets: list[Sheet]) -> list[RolloutSite]:
    return [RolloutSite(dash, sheet) for sheet in sheets]


def roll(session: Session, sites: list[RolloutSite], **kw: Any) -> Any:
    plan_rollout(sites, OPTIONS)
    return apply_rollout(
        session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS, **kw
    )


def vlan_ids(sb: SandboxServer, name: str) -> list[int]:
    sdk = sb.dashboard_api()
    net = next(n for n in sdk.organizations.getOrganizationNetworks(ORG) if n["name"] == name)
    return sorted(int(v["id"]) for v in sdk.appliance.getNetworkApplianceVlans(net["id"]))


def crash_after_first_batch() -> Callable[[JobStep], None]:
    """An `after_submit` hook that stops the run once, right after its first batch step was
    sent (as a power cut would)."""
    crashed: list[int] = []

    def crash(step: JobStep) -> None:
        if step.batch and not crashed:
            crashed.append(step.job_id)
            raise RuntimeError("power cut after the configuration batch was sent")

    return crash


def test_rollout_shares_reads_and_batches_and_costs_what_it_estimated(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)  # counted against the estimate: claimed devices answer at once
    dash = dashboard_for(sandbox)
    sheets = [utm(1), utm(2), utm(3), wireless(1), wireless(2), wireless(3)]
    # one at a time: each its own network list, network, batches, PUTs and reads
    alone = [plan_sheet(dashboard=dash, sheet=s, options=OPTIONS).estimate.calls for s in sheets]
    sandbox.admin.reset_counters()
    sites = sites_for(dash, sheets)
    plans = plan_rollout(sites, OPTIONS)
    estimate = rollout_estimate(plans, OPTIONS)
    single = sum(map(alone_calls, plans))
    assert single == sum(alone)
    outcome = apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS)
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    assert [j.verify_diff for j in outcome.jobs] == [[]] * 6
    assert {j.rollout for j in outcome.jobs} == {outcome.rollout}
    ops = sandbox.admin.counters()["operations"]
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/networks") == 0
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/devices") == 1
    assert sandbox.admin.count("GET", "/networks/{networkId}/devices") == 0
    assert sandbox.admin.count("GET", "/networks/{networkId}") == 0
    # one creation batch (6 actions), one configuration batch (3 × 5 + 3 × 5 = 30 actions) and
    # one assigning the wireless sites' new RF profiles to their APs (3 × 2 actions)
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches") == 3
    assert sandbox.admin.count("GET", "/networks/{networkId}/wireless/rfProfiles") == 3
    path = "/organizations/{organizationId}/wireless/rfProfiles/assignments/byDevice"
    assert sandbox.admin.count("GET", path) == 1
    assert sandbox.admin.counters()["totals"]["count"] == estimate.calls, ops
    assert estimate.calls < 0.6 * single
    # 6 plan reads (1 network list, nothing else: all new) ... as counted by the dashboard
    assert outcome.calls["calls"] == estimate.calls - 1  # the planning read came before
    for sheet in sheets:
        again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
        assert again.empty, (sheet.site.name, change_rows(again.changes))
        if sheet.ssids:  # the rollout recorded the PSK it set; the plan compares with that
            assert again.secrets == {"ssid/0:psk": "unchanged since netkeep set it"}
    assert vlan_ids(sandbox, "店舗 02") == [10, 20]
    assert all(j.result["shared"]["rollout"] == outcome.rollout for j in outcome.jobs)


def test_secrets_stay_out_of_rollout_journals(sandbox: SandboxServer, session: Session) -> None:
    outcome = roll(session, sites_for(dashboard_for(sandbox), [wireless(7), utm(7)]))
    assert outcome.done
    for job in outcome.jobs:
        steps = jobs.journal(session=session, job_id=job.id)
        text = repr([(s.operations, s.answer) for s in steps]) + repr(job.desired)
        assert "secret-psk-0007" not in text


def test_a_bad_sheet_fails_alone_when_its_shared_batch_fails(
    sandbox: SandboxServer, session: Session
) -> None:
    """Q2FY-AAAA-0001 is already in a demo network: its claim fails the shared batch."""
    sandbox.admin.set_claims(0.0)  # counted below: claimed devices answer at once
    dash = dashboard_for(sandbox)
    outcome = roll(session, sites_for(dash, [utm(1), utm(2, serial="Q2FY-AAAA-0001"), utm(3)]))
    status = {j.network_name: j.status for j in outcome.jobs}
    assert status == {"店舗 01": "done", "店舗 02": "failed", "店舗 03": "done"}
    bad = next(j for j in outcome.jobs if j.status == "failed")
    assert "Q2FY-AAAA-0001" in (bad.error or "")
    failed = [s for s in jobs.journal(session=session, job_id=bad.id) if s.status == "failed"]
    assert len(failed) == 1 and failed[0].batch
    assert vlan_ids(sandbox, "店舗 01") == [10, 20] == vlan_ids(sandbox, "店舗 03")
    # the networks, the shared claim batch once, then one claim batch per site, then the two
    # good sites' device settings in one shared batch
    batches = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    assert batches == 1 + 1 + 3 + 1  # (the first one: the shared network creation)


def test_an_interrupted_rollout_resumes_without_repeating_a_finished_step(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)  # counted below: claimed devices answer at once
    dash = dashboard_for(sandbox)
    sheets = [utm(4), utm(5), wireless(4)]
    crash = crash_after_first_batch()

    sites = sites_for(dash, sheets)
    plan_rollout(sites, OPTIONS)
    with pytest.raises(RuntimeError):
        apply_rollout(
            session=session,
            sites=sites,
            actor=ACTOR,
            clock=clock,
            options=OPTIONS,
            hooks=ApplyHooks(after_submit=crash),
        )
    [rollout] = {j.rollout for j in jobs.list_jobs(session=session) if j.rollout}
    sent = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    again = resume_rollout(
        session=session,
        rollout=rollout,
        sites=sites_for(dash, sheets),
        actor=ACTOR,
        clock=clock,
        options=OPTIONS,
    )
    assert again.done, [(j.network_name, j.status, j.error) for j in again.jobs]
    # the interrupted shared batch is looked up, not sent again; only each site's second batch
    # (its claimed devices' settings, the Wi-Fi APs' RF profile) was still to send — alone,
    # as an interrupted job is not shared again
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches") == sent + 3
    assert vlan_ids(sandbox, "店舗 04") == [10, 20] == vlan_ids(sandbox, "店舗 05")
    networks = sandbox.dashboard_api().organizations.getOrganizationNetworks(ORG)
    names = Counter(n["name"] for n in networks)
    assert names["店舗 04"] == names["店舗 05"] == names["店舗 04 Wi-Fi"] == 1
    assert len(rollout_jobs(session=session, rollout=rollout)) == 3


def test_resume_needs_every_unfinished_jobs_own_sheet(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sites = sites_for(dash, [utm(6), utm(8)])
    plan_rollout(sites, OPTIONS)

    def crash(step: JobStep) -> None:
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
            hooks=ApplyHooks(after_submit=crash),
        )  # fmt: skip
    [rollout] = {j.rollout for j in jobs.list_jobs(session=session) if j.rollout}
    with pytest.raises(ValidationFailed) as refused:
        resume_rollout(
            session=session, rollout=rollout, sites=sites_for(dash, [utm(6)]),
            actor=ACTOR, clock=clock, options=OPTIONS,
        )  # fmt: skip
    assert [p.location for p in refused.value.problems] == [
        f"job {j.id} (店舗 08)" for j in rollout_jobs(session=session, rollout=rollout)[1:]
    ]
    with pytest.raises(Conflict):
        resume_rollout(
            session=session, rollout="R-none", sites=sites, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip


def test_two_sheets_for_one_network_are_refused(sandbox: SandboxServer) -> None:
    dash = dashboard_for(sandbox)
    with pytest.raises(ValidationFailed) as refused:
        plan_rollout(sites_for(dash, [utm(1), utm(2), utm(1)]), OPTIONS)
    assert [p.location for p in refused.value.problems] == ["sheet 3: site.name"]
    assert sandbox.admin.counters()["totals"].get("count", 0) == 0


def test_unapproved_wireless_site_refuses_the_whole_rollout(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sites = sites_for(dash, [utm(1), wireless(1)])
    plan_rollout(sites, OPTIONS)
    gated = ProvisioningOptions(secret_key=b"test-key", rate=1000.0, poll_seconds=0.05)
    with pytest.raises(Conflict):
        apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=gated)
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches") == 0
    assert not [j for j in jobs.list_jobs(session=session) if j.rollout]


def test_organizations_run_in_parallel_each_with_its_own_session(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'rollout.db'}"
    migrate.upgrade(url)
    engine = writer_engine(make_engine(url))
    [other] = sandbox.admin.generate_organizations(1)
    first, second = dashboard_for(sandbox), dashboard_for(sandbox, other)
    sites = sites_for(first, [utm(1), wireless(1)]) + sites_for(second, [utm(2), wireless(2)])
    with Session(engine, expire_on_commit=False) as session:
        outcome = roll(
            session, sites, session_factory=lambda: Session(engine, expire_on_commit=False)
        )
        assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
        assert {j.organization_id for j in outcome.jobs} == {ORG, other}
    engine.dispose()


def test_5xx_and_429_storms_are_retried_and_surface_no_failure(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sites = sites_for(dash, [utm(11), wireless(11), utm(12)])
    plan_rollout(sites, OPTIONS)
    sandbox.admin.set_faults("5xxburst=3,429burst=3")
    outcome = apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS)
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    assert outcome.calls["server_errors"] == 3 and outcome.calls["rate_limited"] == 3
    assert all(j.result["failures_surfaced"] == 0 for j in outcome.jobs)
    assert vlan_ids(sandbox, "店舗 11") == [10, 20] == vlan_ids(sandbox, "店舗 12")


def test_a_crash_after_the_shared_network_creation_finds_the_networks_on_resume(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    sheets = [utm(21), wireless(21)]

    def crash(step: JobStep) -> None:
        if step.number == 1:
            raise RuntimeError("crash after the networks' batch was sent")

    sites = sites_for(dash, sheets)
    plan_rollout(sites, OPTIONS)
    with pytest.raises(RuntimeError):
        apply_rollout(
            session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS,
            hooks=ApplyHooks(after_submit=crash),
        )  # fmt: skip
    [rollout] = {j.rollout for j in jobs.list_jobs(session=session) if j.rollout}
    again = resume_rollout(
        session=session, rollout=rollout, sites=sites_for(dash, sheets), actor=ACTOR,
        clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert again.done, [(j.network_name, j.status, j.error) for j in again.jobs]
    networks = sandbox.dashboard_api().organizations.getOrganizationNetworks(ORG)
    names = Counter(n["name"] for n in networks)
    assert names["店舗 21"] == names["店舗 21 Wi-Fi"] == 1
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/networks") == 0


def _vlan_request(i: int) -> Sheet:
    return _sheet(
        {
            "format": "netkeep-sheet/1",
            "kind": "change_request",
            "request": {"id": f"CR-{i}", "customer": "c", "requester": "r", "date": "2026-12-01"},
            "site": {"name": f"店舗 {i:02d}", "plan": "utm"},
            "vlans": [
                {"id": 30, "name": "v3", "subnet": "192.168.30.0/24", "applianceIp": "192.168.30.1"}
            ],
            "l3FirewallRules": [
                {"comment": "no ssh", "policy": "deny", "protocol": "tcp", "destPort": "22"}
            ],
        }
    )


def test_change_requests_to_existing_sites_as_one_rollout(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    assert roll(session, sites_for(dash, [utm(31), utm(32), utm(33)])).done
    sandbox.admin.reset_counters()
    requests = [_vlan_request(i) for i in (31, 32, 33)]
    sites = sites_for(dash, requests)
    plans = plan_rollout(sites, OPTIONS)
    assert all(p.network_id for p in plans)
    estimate = rollout_estimate(plans, OPTIONS)
    outcome = apply_rollout(session=session, sites=sites, actor=ACTOR, clock=clock, options=OPTIONS)
    assert outcome.done, [(j.network_name, j.status, j.error) for j in outcome.jobs]
    assert sandbox.admin.counters()["totals"]["count"] == estimate.calls
    # one shared batch for the three new VLANs, one direct L3 write per site
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches") == 1
    assert vlan_ids(sandbox, "店舗 32") == [10, 20, 30]
    for sheet in requests:
        assert plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS).empty
