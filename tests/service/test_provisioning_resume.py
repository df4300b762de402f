"""Crash in the middle, resume without repeating finished steps; rollback; 429 storms."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from dashboard.pacing import OrgRateLimiter
from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.models import JobStep
from provisioning.plan import change_rows
from provisioning.service import apply_plan, plan_sheet, resume_job, rollback_job
from provisioning.sheet_model import Sheet
from provisioning.validation import SheetSource, validate_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import (
    ACTOR,
    OPTIONS,
    ORG,
    apply,
    approved_survey,
    clock,
    dashboard_for,
    example,
)

BATCHES = "/organizations/{organizationId}/actionBatches"
L3 = "/networks/{networkId}/appliance/firewall/l3FirewallRules"


class Crash(RuntimeError):
    """Stands for the process dying."""


def _crash_after(number: int, when: str) -> ApplyHooks:
    def hook(step: JobStep) -> None:
        if step.number == number:
            raise Crash(f"killed {when} step {number}")

    return ApplyHooks(**{when: hook})


@pytest.mark.parametrize("when", ["after_step", "after_submit"])
def test_crash_after_the_batch_then_resume_sends_nothing_twice(
    when: str, sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)  # batches counted below: claimed devices answer at once
    dash = dashboard_for(sandbox)
    sheet = example("utm")
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    with pytest.raises(Crash):
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS, hooks=_crash_after(2, when),
        )  # fmt: skip
    job_id = jobs.list_jobs(session=session)[0].id
    steps = jobs.journal(session=session, job_id=job_id)
    assert steps[1].request_id  # the batch id was journalled before the crash
    assert steps[1].status == ("done" if when == "after_step" else "running")
    assert sandbox.admin.count("PUT", L3) == 0
    job = resume_job(
        session=session, dashboard=dash, job_id=job_id, sheet=sheet, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert (job.status, job.verify_diff) == ("done", [])
    # the claim batch never resubmitted; the next batch (the claimed device's settings) once
    assert sandbox.admin.count("POST", BATCHES) == 2
    assert sandbox.admin.count("POST", "/organizations/{organizationId}/networks") == 1
    assert sandbox.admin.count("PUT", L3) == 1
    if when == "after_submit":  # looked up by its id
        assert sandbox.admin.count("GET", BATCHES + "/{actionBatchId}") == 1
    sdk = sandbox.dashboard_api()
    vlans = sdk.appliance.getNetworkApplianceVlans(job.network_id)
    assert [v["id"] for v in vlans] == ["10", "20", "30"]
    rules = sdk.appliance.getNetworkApplianceFirewallL3FirewallRules(job.network_id)["rules"]
    assert len(rules) == 5
    assert plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS).empty


def test_crash_in_a_direct_step_resends_only_that_step(
    sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)  # writes counted below: claimed devices answer at once
    dash = dashboard_for(sandbox)
    sheet = example("utm")
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    with pytest.raises(Crash):
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS, hooks=_crash_after(5, "after_step"),
        )  # fmt: skip
    job_id = jobs.list_jobs(session=session)[0].id
    before = sandbox.admin.counters()["operations"]
    resume_job(
        session=session, dashboard=dash, job_id=job_id, sheet=sheet, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    after = sandbox.admin.counters()["operations"]
    resent = {k: after[k]["count"] - before.get(k, {"count": 0})["count"] for k in after}
    writes = {k: n for k, n in resent.items() if n and not k.startswith("GET ")}
    # 1 network, 2-3 batches (claim, then the claimed device), 4-9 direct writes: steps 6..9,
    # the last four direct writes, once each
    assert sum(writes.values()) == 4
    assert "POST " + BATCHES not in writes


def test_rollback_restores_the_snapshot_and_names_the_secrets_it_cannot(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    dash = dashboard_for(sandbox)
    apply(session, dash, example("utm"))
    cr = apply(session, dash, example("change_request"))
    assert cr.status == "done"
    back = rollback_job(
        session=session, dashboard=dash, job_id=cr.id, actor=ACTOR, clock=clock, options=OPTIONS
    )
    assert (back.kind, back.status, back.rollback_of, back.verify_diff) == (
        "rollback", "done", cr.id, [],
    )  # fmt: skip
    assert plan_sheet(dashboard=dash, sheet=example("utm"), options=OPTIONS).empty

    approved_survey(session, tmp_path)  # the wireless settings sheet waits for an approved survey
    apply(session, dash, example("wireless"))
    renamed = example("wireless")
    ssids = [
        s.model_copy(update={"name": "RENAMED"}) if s.number == 1 else s
        for s in renamed.ssids or []
    ]
    changed = renamed.model_copy(update={"ssids": ssids})
    job = apply(session, dash, changed)
    back = rollback_job(
        session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock, options=OPTIONS
    )
    assert back.status == "done"
    assert "ssid/1.psk (secret, not kept)" in back.not_restorable
    assert plan_sheet(dashboard=dash, sheet=example("wireless"), options=OPTIONS).empty


def test_429_storm_under_the_real_rate_limit_surfaces_no_failure(
    rate_limited_sandbox: SandboxServer, session: Session
) -> None:
    sb = rate_limited_sandbox
    dash = dashboard_for(sb, limiter=OrgRateLimiter(rate=9.0))
    plan = plan_sheet(dashboard=dash, sheet=example("utm"), options=OPTIONS)
    sb.admin.set_faults("429burst=2")
    job = apply_plan(
        session=session, dashboard=dash, sheet=example("utm"), plan=plan, actor=ACTOR,
        clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert (job.status, job.result["failures_surfaced"]) == ("done", 0)
    assert job.result["rate_limited"] == 2
    assert sum(int(v.get("429", 0)) for v in sb.admin.counters()["operations"].values()) == 2


# --- the property: a plan right after an apply of the same sheet is empty ----------------------

SUBNETS = [f"10.{i}.0.0/24" for i in range(1, 9)]


def _validated(raw: dict[str, Any], kind: str) -> Sheet:
    raw = {"format": "netkeep-sheet/1", "kind": kind, **raw}
    if kind == "change_request":
        raw["request"] = {"id": "CR-1", "customer": "c", "requester": "r", "date": "2026-01-05"}
    sheet, problems = validate_sheet(raw, SheetSource(name="gen"))
    assert sheet is not None, problems
    return sheet


def _sheets(
    vlan_ids: list[int], ssids: list[tuple[int, bool, str]], kind: str, rf: bool = False
) -> list[Sheet]:
    """A UTM sheet (VLANs) and a wireless sheet (SSIDs, maybe an RF profile for its AP)."""
    utm = {
        "site": {"name": "東京本社 Tokyo HQ", "plan": "utm"},
        "devices": [{"serial": "Q2FY-AAAA-0001", "model": "MX67", "name": "tokyo-mx"}],
        "vlans": [
            {
                "id": vid,
                "name": f"v{vid}",
                "subnet": SUBNETS[i],
                "applianceIp": SUBNETS[i].replace("0/24", "1"),
                "dhcpLeaseTime": ["1 day", "4 hours"][vid % 2],
            }
            for i, vid in enumerate(vlan_ids)
        ],
    }
    wireless = {
        "site": {"name": "東京本社 Tokyo HQ", "plan": "wireless"},
        "devices": [{"serial": "Q3AJ-DDDD-0001", "model": "MR36", "name": "tokyo-ap"}],
        "ssids": [
            {
                "number": n,
                "name": f"S{n}",
                "enabled": on,
                "authMode": "psk",
                "wpaEncryptionMode": "wpa2",
                "psk": psk,
            }
            for n, on, psk in ssids
        ],
    }
    if rf:
        wireless["rfProfiles"] = [{"name": "標準", "fiveGhzSettings": {"channelWidth": "40"}}]
        wireless["devices"][0]["rfProfile"] = "標準"
    return [_validated(utm, kind), _validated(wireless, kind)]


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    vlan_ids=st.lists(st.integers(2, 40), min_size=1, max_size=4, unique=True),
    ssids=st.lists(
        st.tuples(st.integers(0, 14), st.booleans(), st.sampled_from(["passw0rd-a", "secret-b12"])),
        min_size=1,
        max_size=3,
        unique_by=lambda t: t[0],
    ),
    kind=st.sampled_from(["settings", "change_request"]),
    rf=st.booleans(),
)
def test_plan_after_apply_is_empty(
    vlan_ids: list[int],
    ssids: list[tuple[int, bool, str]],
    kind: str,
    rf: bool,
    sandbox_server: SandboxServer,
    session: Session,
) -> None:
    sandbox_server.admin.reset("demo")
    dash = dashboard_for(sandbox_server)
    sheets = _sheets(vlan_ids, ssids, kind, rf)
    ungated = replace(OPTIONS, require_survey=False)  # about idempotence, not the survey gate
    for sheet in sheets:
        job = apply(session, dash, sheet, ungated)
        assert (job.status, job.error, job.verify_diff) == ("done", None, [])
    for sheet in sheets:
        again = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
        assert again.empty, change_rows(again.changes)
        assert again.organization_id == ORG
