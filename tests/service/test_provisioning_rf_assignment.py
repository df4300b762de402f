"""Access points' RF profiles through the real SDK against the sandbox: assign, move, roll back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from core.errors import ValidationFailed
from provisioning import apply as jobs
from provisioning.apply import ApplyHooks
from provisioning.models import JobStep
from provisioning.plan import change_rows
from provisioning.service import plan_sheet, resume_job, rollback_job
from provisioning.sheet_model import Sheet
from provisioning.validation import SheetSource, validate_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import (
    ACTOR,
    OPTIONS,
    apply,
    approved_survey,
    clock,
    dashboard_for,
    example,
)

SITE = "あおばクリニック"
APS = ("Q3AJ-DDDD-0002", "Q3AJ-DDDD-0003", "Q3AC-EEEE-0001")
RF_READ = "/networks/{networkId}/wireless/rfProfiles"


def profiles_of_aps(sb: SandboxServer) -> dict[str, str | None]:
    sdk = sb.dashboard_api()
    net = next(n for n in sdk.organizations.getOrganizationNetworks("537758") if n["name"] == SITE)
    names = {p["id"]: p["name"] for p in sdk.wireless.getNetworkWirelessRfProfiles(net["id"])}
    return {
        serial: names.get(sdk.wireless.getDeviceWirelessRadioSettings(serial)["rfProfileId"])
        for serial in APS
    }


def move_request(profile: str) -> Sheet:
    raw: dict[str, Any] = {
        "format": "netkeep-sheet/1",
        "kind": "change_request",
        "request": {"id": "CR-9", "customer": "医療法人あおば会", "requester": "院長",
                    "date": "2026-12-01"},
        "site": {"name": SITE, "plan": "wireless"},
        "devices": [{"serial": APS[1], "model": "MR36", "rfProfile": profile}],
    }  # fmt: skip
    sheet, problems = validate_sheet(raw, SheetSource(name="cr"))
    assert sheet is not None, problems
    return sheet


@pytest.fixture
def applied(sandbox: SandboxServer, session: Session, tmp_path: Path) -> Any:
    approved_survey(session, tmp_path)
    job = apply(session, dashboard_for(sandbox), example("wireless"))
    assert (job.status, job.verify_diff) == ("done", [])
    return job


def test_aps_get_the_profile_the_same_apply_creates(
    applied: Any, sandbox: SandboxServer, session: Session
) -> None:
    # the id came from the first batch's created resources: the profiles were read once, to verify
    assert sandbox.admin.count("GET", RF_READ) == 1
    assert profiles_of_aps(sandbox) == dict.fromkeys(APS, "クリニック標準")
    steps = jobs.journal(session=session, job_id=applied.id)
    radio = [s for s in steps if s.batch and "radio" in s.action + str(s.resources)]
    assert len([s for s in steps if s.batch]) == 2 and radio
    again = plan_sheet(dashboard=dashboard_for(sandbox), sheet=example("wireless"), options=OPTIONS)
    assert again.empty, change_rows(again.changes)


def test_a_change_request_moves_an_ap_and_its_rollback_moves_it_back(
    applied: Any, sandbox: SandboxServer, session: Session
) -> None:
    sdk = sandbox.dashboard_api()
    net = next(n for n in sdk.organizations.getOrganizationNetworks("537758") if n["name"] == SITE)
    sdk.wireless.createNetworkWirelessRfProfile(net["id"], "会議室", "ap")
    dash = dashboard_for(sandbox)
    plan = plan_sheet(dashboard=dash, sheet=move_request("会議室"), options=OPTIONS)
    assert change_rows(plan.changes) == [
        {
            "resource": f"device/{APS[1]}/radio",
            "action": "update",
            "fields": [{"field": "rfProfile", "before": "クリニック標準", "after": "会議室"}],
        }
    ]
    assert [len(s.operations) for s in plan.steps] == [1]
    job = apply(session, dash, move_request("会議室"))
    assert (job.status, job.verify_diff) == ("done", [])
    assert profiles_of_aps(sandbox)[APS[1]] == "会議室"
    back = rollback_job(
        session=session, dashboard=dash, job_id=job.id, actor=ACTOR, clock=clock, options=OPTIONS
    )
    assert (back.status, back.verify_diff) == ("done", [])
    assert profiles_of_aps(sandbox) == dict.fromkeys(APS, "クリニック標準")


def test_an_unknown_profile_is_refused_at_planning(applied: Any, sandbox: SandboxServer) -> None:
    with pytest.raises(ValidationFailed) as refused:
        plan_sheet(dashboard=dashboard_for(sandbox), sheet=move_request("無い"), options=OPTIONS)
    assert [p.location for p in refused.value.problems] == [f"devices[{APS[1]}].rfProfile"]


def test_a_resumed_apply_takes_the_created_id_from_its_journal(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    approved_survey(session, tmp_path)
    dash = dashboard_for(sandbox)

    def crash(step: JobStep) -> None:
        if step.batch and step.number == 2:
            raise RuntimeError("crash after the first batch")

    with pytest.raises(RuntimeError):
        apply(session, dash, example("wireless"), hooks=ApplyHooks(after_step=crash))
    [job] = jobs.list_jobs(session=session)
    first = jobs.journal(session=session, job_id=job.id)[1]
    assert first.status == "done" and first.answer["createdResources"]
    done = resume_job(
        session=session, dashboard=dash, job_id=job.id, sheet=example("wireless"),
        actor=ACTOR, clock=clock, options=OPTIONS,
    )  # fmt: skip
    assert (done.status, done.verify_diff) == ("done", [])
    assert sandbox.admin.count("GET", RF_READ) == 1
    assert profiles_of_aps(sandbox) == dict.fromkeys(APS, "クリニック標準")
