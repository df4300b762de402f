"""Wireless settings sheets wait for the customer's approved survey (DOMAIN: site survey)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import Session

from core.errors import Conflict
from core.settings import Settings
from provisioning import apply as jobs
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet
from provisioning.sheet_model import Sheet
from provisioning.validation import SheetSource, validate_sheet
from sandbox.server import SandboxServer
from survey import service, versions
from survey.snapshot import SsidData
from tests.service.survey_builders import ACTOR as SURVEY_ACTOR
from tests.service.survey_builders import T0, build_survey
from tests.service.test_provisioning_apply import (
    ACTOR,
    OPTIONS,
    apply,
    approved_survey,
    clock,
    dashboard_for,
    example,
    writes,
)

SITE = "あおばクリニック"  # the wireless example sheet's site.name


def refused(session: Session, sandbox: SandboxServer, sheet: Sheet) -> Conflict:
    dash = dashboard_for(sandbox)
    plan = plan_sheet(dashboard=dash, sheet=sheet, options=OPTIONS)
    with pytest.raises(Conflict) as caught:
        apply_plan(
            session=session, dashboard=dash, sheet=sheet, plan=plan, actor=ACTOR, clock=clock,
            options=OPTIONS,
        )  # fmt: skip
    assert writes(sandbox) == 0  # only the plan's reads reached the dashboard
    assert jobs.list_jobs(session=session) == []  # nothing journalled either
    return caught.value


def test_refused_without_a_survey(sandbox: SandboxServer, session: Session) -> None:
    error = refused(session, sandbox, example("wireless"))
    assert "has no site survey" in error.message and SITE in error.message
    assert "matched exactly against the survey's site name" in error.message
    assert error.details["site"] == SITE


def test_refused_while_the_latest_version_is_only_issued(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    survey = build_survey(session, tmp_path, site=SITE)
    assert survey.id is not None
    versions.issue_version(
        session=session, actor=SURVEY_ACTOR, survey_id=survey.id, storage_dir=tmp_path, now=T0
    )
    error = refused(session, sandbox, example("wireless"))
    assert "version 1 is issued, not approved" in error.message
    assert (error.details["survey"], error.details["status"]) == (survey.number, "issued")


def test_a_survey_of_another_site_does_not_count(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    approved_survey(session, tmp_path, site=f"{SITE} 別館")
    refused(session, sandbox, example("wireless"))


def test_allowed_once_the_customer_approved(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    approved_survey(session, tmp_path, site=f"  {SITE} ")  # stored trimmed
    job = apply(session, dashboard_for(sandbox), example("wireless"))
    assert (job.status, job.error, job.verify_diff) == ("done", None, [])
    assert writes(sandbox) > 0


def test_the_setting_turns_the_gate_off(sandbox: SandboxServer, session: Session) -> None:
    settings = Settings(provisioning_require_survey=False, _env_file=None)  # type: ignore[call-arg]
    assert ProvisioningOptions.from_settings(settings).require_survey is False
    ungated = replace(OPTIONS, require_survey=False)
    job = apply(session, dashboard_for(sandbox), example("wireless"), ungated)
    assert job.status == "done"


def test_other_plans_are_not_gated(sandbox: SandboxServer, session: Session) -> None:
    assert apply(session, dashboard_for(sandbox), example("utm")).status == "done"


def test_a_change_request_is_not_gated(sandbox: SandboxServer, session: Session) -> None:
    raw = {
        "format": "netkeep-sheet/1",
        "kind": "change_request",
        "request": {"id": "CR-7", "customer": "c", "requester": "r", "date": "2026-11-20"},
        "site": {"name": "東京本社 Tokyo HQ", "plan": "wireless"},  # in the demo seed, no survey
        "ssids": [
            {"number": 3, "name": "TOKYO-GUEST", "enabled": True, "authMode": "psk",
             "wpaEncryptionMode": "wpa2", "psk": "guest-key-2026"},
        ],
    }  # fmt: skip
    sheet, problems = validate_sheet(raw, SheetSource(name="cr"))
    assert sheet is not None, problems
    job = apply(session, dashboard_for(sandbox), sheet)
    assert (job.status, job.verify_diff) == ("done", [])
    assert writes(sandbox) > 0


def test_refused_again_once_the_approved_survey_is_edited(
    sandbox: SandboxServer, session: Session, tmp_path: Path
) -> None:
    approved_survey(session, tmp_path)
    survey = versions.require_approved_survey(session=session, site=SITE).survey
    assert survey.id is not None
    service.set_ssids(  # settings changed: a new draft version, to be approved again
        session=session, actor=SURVEY_ACTOR, survey_id=survey.id,
        ssids=[SsidData("AOBA-STAFF", "psk", 10)], now=T0,
    )  # fmt: skip
    error = refused(session, sandbox, example("wireless"))
    assert "version 2 is draft" in error.message
