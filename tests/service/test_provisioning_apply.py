"""Provisioning through the real SDK against the sandbox: apply, read back, call counts, secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlmodel import Session, select

from core.audit import Actor
from core.errors import ValidationFailed
from core.models import AuditEntry
from core.timeutil import TOKYO
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from provisioning import apply as jobs
from provisioning.models import JobStep, ResourceSnapshot
from provisioning.plan import change_rows
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Sheet
from sandbox.server import SandboxServer
from survey import versions
from tests.service.survey_builders import ACTOR as SURVEY_ACTOR
from tests.service.survey_builders import APPROVER, T0, build_survey
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

ACTOR = Actor(name="prov-tester", role="noc", request_id="r-prov")
OPTIONS = ProvisioningOptions(secret_key=b"test-key", rate=1000.0, poll_seconds=0.05)
ORG = "537758"


def clock() -> datetime:
    return datetime.now(UTC)


def dashboard_for(sb: SandboxServer, *, limiter: Any = None) -> MerakiProvisioning:
    sdk = build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8)
    return MerakiProvisioning(sdk, organization_id=ORG, limiter=limiter)


def example(name: str) -> Sheet:
    sheet = load_sheet(EXAMPLES / f"{name}.yaml", environ=EXAMPLE_ENV)
    if name == "change_request":  # it names the demo's 東京本社; here: the site utm.yaml built
        site = sheet.site.model_copy(update={"name": "さくら商事 本社"})
        sheet = sheet.model_copy(update={"site": site})
    return sheet


def approved_survey(session: Session, storage: Path, site: str = "あおばクリニック") -> None:
    """The customer approved the site's preparation sheet: wireless settings may be applied."""
    survey = build_survey(session, storage, site=site)
    assert survey.id is not None
    versions.issue_version(
        session=session, actor=SURVEY_ACTOR, survey_id=survey.id, storage_dir=storage, now=T0
    )
    versions.approve_version(
        session=session, actor=APPROVER, survey_id=survey.id, number=1,
        approver_name="鈴木 院長", approved_on=T0.astimezone(TOKYO).date(),
        signature_ref="scan/approval.pdf", now=T0,
    )  # fmt: skip


def apply(
    session: Session,
    dash: MerakiProvisioning,
    sheet: Sheet,
    options: ProvisioningOptions = OPTIONS,
    **kw: Any,
) -> Any:
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=options)
    return apply_plan(
        session=session,
        dashboard=dash,
        sheet=sheet,
        plan=plan,
        actor=ACTOR,
        clock=clock,
        options=options,
        **kw,
    )


def writes(sb: SandboxServer) -> int:
    ops = sb.admin.counters()["operations"]
    return sum(v["count"] for k, v in ops.items() if not k.startswith("GET "))


# Derived in the module docstring of provisioning.domain / README: a fresh network costs
#   1 read (org networks) + 1 create network + 2 sync batches + direct writes + verify reads.
# Two batches because a device claimed moments ago may answer 404 for a while (the
# specification, claimNetworkDevices): the claim (with the VLANs) goes first, the writes that
# address the claimed devices in the next batch.
# A direct write is verified from its answer (the resource as the dashboard stored it), so only
# the batched collections are read back.
# UTM: 6 direct (L3, port forwarding, 1:1 NAT, content filtering, IPS, malware) and 5 verify
# reads (network, devices, WAN, VLANs, L7 rules) → 15.
# Router: 2 direct (L3, port forwarding; L7 is batched); 5 verify reads (network, devices, WAN,
# VLANs, L7 rules) → 11.
# Wireless: no direct write; two batches (the APs' settings and RF profile once the batch that
# claims them and creates the profile has run); 6 verify reads (network, devices, WAN, SSIDs,
# RF profiles, the APs' profiles) → 10.
# With full_verify every collection is read back: UTM 21, router 13, wireless 10.
CALLS = {"utm": 15, "router": 11, "wireless": 10}
FULL_VERIFY_CALLS = {"utm": 21, "router": 13, "wireless": 10}
BATCHES = {"utm": 2, "router": 2, "wireless": 2}


@pytest.mark.parametrize("name", ["utm", "router", "wireless"])
def test_example_applies_in_the_fewest_calls_and_reads_back_equal(
    name: str, sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    if name == "wireless":
        approved_survey(session, tmp_path)
    sandbox.admin.set_claims(0.0)  # the fewest calls: claimed devices answer at once
    dash = dashboard_for(sandbox)
    job = apply(session, dash, example(name))
    assert (job.status, job.error, job.verify_diff) == ("done", None, [])
    totals = sandbox.admin.counters()["totals"]
    assert totals["count"] == CALLS[name], sandbox.admin.counters()["operations"]
    batches = sandbox.admin.count("POST", "/organizations/{organizationId}/actionBatches")
    assert batches == BATCHES[name]
    again = plan_sheet(dashboard=dash, sheet=example(name), options=OPTIONS)
    assert again.empty, change_rows(again.changes)
    steps = jobs.journal(session=session, job_id=job.id)
    assert [s.status for s in steps] == ["done"] * len(steps)
    assert steps[-1].action == "verify"


@pytest.mark.parametrize("name", ["router", "utm"])
def test_full_verify_reads_every_collection_back(
    name: str, sandbox: SandboxServer, session: Session
) -> None:
    sandbox.admin.set_claims(0.0)
    dash = dashboard_for(sandbox)
    options = ProvisioningOptions(
        secret_key=b"test-key", rate=1000.0, poll_seconds=0.05, full_verify=True
    )
    job = apply(session, dash, example(name), options)
    assert (job.status, job.verify_diff) == ("done", [])
    totals = sandbox.admin.counters()["totals"]
    assert totals["count"] == FULL_VERIFY_CALLS[name], sandbox.admin.counters()["operations"]
    assert sandbox.admin.count("GET", "/networks/{networkId}/appliance/firewall/l3FirewallRules")


def test_direct_writes_keep_the_dashboards_answer_as_their_read_back(
    sandbox: SandboxServer, session: Session
) -> None:
    job = apply(session, dashboard_for(sandbox), example("utm"))
    answered = {
        s.operations[0]["key"]: s.answer
        for s in session.exec(select(JobStep).where(JobStep.job_id == job.id))
        if s.answer is not None and not s.batch
    }
    assert sorted(answered) == [
        "contentFiltering",
        "l3FirewallRules",
        "oneToOneNatRules",
        "portForwardingRules",
        "security/intrusion",
        "security/malware",
    ]
    assert answered["security/intrusion"]["mode"] == "prevention"
    assert not sandbox.admin.count("GET", "/networks/{networkId}/appliance/security/intrusion")


def test_an_answer_that_differs_from_the_sheet_fails_the_verification(
    sandbox: SandboxServer, session: Session
) -> None:
    """The dashboard stores (and answers) something else than was sent: verify_failed."""
    with respx.mock(assert_all_called=True) as mock:
        mock.put(url__regex=r".*/appliance/security/intrusion$").mock(
            return_value=httpx.Response(200, json={"mode": "detection", "idsRulesets": "balanced"})
        )
        mock.route().pass_through()
        job = apply(session, dashboard_for(sandbox), example("utm"))
    assert job.status == "verify_failed"
    assert [r["resource"] for r in job.verify_diff] == ["security/intrusion"]
    assert job.verify_diff[0]["fields"][0]["after"] == "prevention"


def test_utm_end_state_on_the_dashboard(sandbox: SandboxServer, session: Session) -> None:
    dash = dashboard_for(sandbox)
    apply(session, dash, example("utm"))
    sdk = sandbox.dashboard_api()
    net = next(
        n for n in sdk.organizations.getOrganizationNetworks(ORG) if n["name"] == "さくら商事 本社"
    )
    vlans = sdk.appliance.getNetworkApplianceVlans(net["id"])
    assert [v["id"] for v in vlans] == ["10", "20", "30"]  # factory VLAN 1 pruned
    rules = sdk.appliance.getNetworkApplianceFirewallL3FirewallRules(net["id"])["rules"]
    assert [r["comment"] for r in rules][-1] == "Default rule" and len(rules) == 5


def test_plan_shows_only_changed_fields(sandbox: SandboxServer, session: Session) -> None:
    dash = dashboard_for(sandbox)
    apply(session, dash, example("utm"))
    plan = plan_sheet(dashboard=dash, sheet=example("change_request"), options=OPTIONS)
    rows = {r["resource"]: r for r in change_rows(plan.changes)}
    assert set(rows) == {"vlan/20", "portForwardingRules"}
    assert rows["vlan/20"]["fields"] == [
        {"field": "dhcpLeaseTime", "before": "4 hours", "after": "1 hour"}
    ]
    assert [f["field"] for f in rows["portForwardingRules"]["fields"]] == ["rules"]
    job = apply_plan(
        session=session, dashboard=dash, sheet=example("change_request"), plan=plan,
        actor=ACTOR, clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert job.status == "done"


def test_secrets_never_in_plan_journal_snapshot_or_audit(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    approved_survey(session, tmp_path)
    dash = dashboard_for(sandbox)
    job = apply(session, dash, example("wireless"))
    changed = load_sheet(
        EXAMPLES / "wireless.yaml", environ={**EXAMPLE_ENV, "AOBA_GUEST_PSK": "another-guest-key"}
    )
    plan = plan_sheet(dashboard=dash, sheet=changed, options=OPTIONS)
    rows = change_rows(plan.changes)
    assert rows == [
        {"resource": "ssid/2", "action": "update", "fields": [
            {"field": "psk", "changed": True, "secret": True}
        ]}
    ]  # fmt: skip
    second = apply_plan(
        session=session, dashboard=dash, sheet=changed, plan=plan, actor=ACTOR, clock=clock,
        options=OPTIONS,
    )  # fmt: skip
    assert second.status == "done"
    stored: list[Any] = [rows, job.model_dump(), second.model_dump()]
    for j in (job, second):
        stored += [s.model_dump() for s in jobs.journal(session=session, job_id=j.id)]
    stored += [s.model_dump() for s in session.exec(select(ResourceSnapshot))]
    stored += [a.model_dump() for a in session.exec(select(AuditEntry))]
    text = json.dumps(stored, ensure_ascii=False, default=str)
    for secret in [*EXAMPLE_ENV.values(), "another-guest-key"]:
        assert secret not in text
    assert "ssid/2.psk (secret, not kept)" not in text  # only a rollback lists it


def test_sheet_with_errors_changes_nothing(sandbox: SandboxServer, tmp_path: Any) -> None:
    bad = (EXAMPLES / "utm.yaml").read_text(encoding="utf-8").replace("id: 20", "id: 9999")
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        load_sheet(path)
    assert caught.value.problems
    assert writes(sandbox) == 0 and sandbox.admin.counters()["totals"].get("count", 0) == 0


def test_5xx_storm_is_retried_and_the_job_succeeds(
    sandbox: SandboxServer, session: Session
) -> None:
    dash = dashboard_for(sandbox)
    plan = plan_sheet(dashboard=dash, sheet=example("router"), options=OPTIONS)
    sandbox.admin.set_faults("5xxburst=3")  # the next three writes are refused
    job = apply_plan(
        session=session, dashboard=dash, sheet=example("router"), plan=plan, actor=ACTOR,
        clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert (job.status, job.verify_diff) == ("done", [])
    assert job.result["server_errors"] == 3 and job.result["failures_surfaced"] == 0
    errors = sum(
        int(v.get("500", 0)) + int(v.get("502", 0)) + int(v.get("503", 0))
        for v in sandbox.admin.counters()["operations"].values()
    )
    assert errors == 3
