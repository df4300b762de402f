"""Change requests end to end: the real SDK against the sandbox, the notice over real SMTP."""

from __future__ import annotations

from datetime import timedelta
from email.header import decode_header, make_header
from typing import Any

import pytest
from sqlmodel import Session, select

from changes import acceptance, applying, scheduling, service
from changes.domain import Target
from changes.mailer import SmtpMailer
from changes.models import ChangeNotice, ChangeRequest
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import InvalidTransition, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from provisioning import apply as jobs
from provisioning.sheet_io import load_sheet
from sandbox.server import SandboxServer
from tests.service.test_provisioning_apply import OPTIONS, ORG, apply, dashboard_for, writes
from tests.unit.changes.builders import (
    ENV,
    SAKURA,
    TUESDAY_10,
    Inbox,
    as_bytes,
    build_contracts,
    change_raw,
    link_site,
    smtp_inbox_fixture,  # noqa: F401  (the smtp_inbox fixture)
    typical_utm_change,
)
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

FIELD = Actor(name="field-sato", role="field", request_id="r-f")
NOC = Actor(name="noc-suzuki", role="noc", request_id="r-n")
DESK = Actor(name="noc-takeda", role="noc", request_id="r-d")
CAL = BusinessCalendar()


@pytest.fixture
def world(sandbox: SandboxServer, session: Session) -> Any:
    """Contracts in inventory; their 東京本社 is the network utm.yaml sets up on the sandbox."""
    build_contracts(session)
    dash = dashboard_for(sandbox)
    job = apply(session, dash, load_sheet(EXAMPLES / "utm.yaml", environ=EXAMPLE_ENV))
    link_site(session, job.network_id)  # the customer's 東京本社 is the network utm.yaml built
    sandbox.admin.reset_counters()
    return dash


def mailer(inbox: Inbox) -> SmtpMailer:
    return SmtpMailer(host=inbox.host, port=inbox.port, sender="noc@example.jp", sender_name="NOC")


def submit(session: Session, raw: dict[str, Any], now: Any = TUESDAY_10) -> ChangeRequest:
    return service.submit_request(
        session=session,
        actor=FIELD,
        filename="cr.yaml",
        content=as_bytes(raw),
        notice_email="soumu@sakura.example.jp",
        now=now,
        environ=ENV,
    )


def run_to_notified(
    session: Session, dash: Any, inbox: Inbox, raw: dict[str, Any], now: Any = TUESDAY_10
) -> ChangeRequest:
    req = submit(session, raw, now)
    assert (req.status, req.problems) == ("validated", [])
    return approve_schedule_apply_notify(session, dash, inbox, req.id, now)


def approve_schedule_apply_notify(
    session: Session, dash: Any, inbox: Inbox, request_id: Any, now: Any
) -> ChangeRequest:
    service.approve_request(session=session, actor=NOC, request_id=request_id, now=now)
    scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=request_id, now=now
    )
    req = applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=request_id,
        now=now,
        dashboard=dash,
        options=OPTIONS,
        environ=ENV,
    )
    assert req.status == "applied", req.apply_error
    return acceptance.send_completion_notice(
        session=session,
        actor=NOC,
        mailer=mailer(inbox),
        request_id=request_id,
        now=now + timedelta(minutes=5),
        acceptance_days=7,
        sender_name="NOC",
    )


def test_full_lifecycle_to_accepted_with_japanese_notice(
    world: Any, sandbox: SandboxServer, session: Session, smtp_inbox: Inbox
) -> None:
    req = run_to_notified(session, world, smtp_inbox, typical_utm_change())
    assert req.status == "notified" and req.job_id is not None
    job = jobs.get_job(session=session, job_id=req.job_id)
    assert (job.status, job.verify_diff) == ("done", [])
    assert writes(sandbox) > 0
    # the dashboard really has the change
    sdk = sandbox.dashboard_api()
    net = next(
        n for n in sdk.organizations.getOrganizationNetworks(ORG) if n["name"] == "さくら商事 本社"
    )
    vlans = {v["id"]: v for v in sdk.appliance.getNetworkApplianceVlans(net["id"])}
    assert "40" in vlans and vlans["20"]["dnsNameservers"] == "opendns"
    cf = sdk.appliance.getNetworkApplianceContentFiltering(net["id"])
    assert cf["blockedUrlPatterns"] == ["example-gamble.com", "bad.example.net"]
    # the mail, decoded
    (msg,) = smtp_inbox.messages()
    subject = str(make_header(decode_header(msg["Subject"])))
    assert subject == "【設定変更完了のお知らせ】依頼番号 CR-2025-0107"
    assert msg.get_content_charset() == "utf-8" and msg["To"] == "soumu@sakura.example.jp"
    body = msg.get_content()
    assert f"{SAKURA} 御中" in body and "CR-2025-0107" in body
    assert "VLAN 40 (追加)" in body and "コンテンツフィルタ" in body and "opendns" in body
    assert "2027年01月19日 (JST) まで" in body  # Tue 12th + 7 days
    assert "2027-01-12 10:00 JST" in body  # applied at
    (notice,) = session.exec(select(ChangeNotice).where(ChangeNotice.request_id == req.id)).all()
    assert notice.message_id == msg["Message-ID"] and notice.subject == subject
    # the customer accepts: recorded with the signer and evidence, not by the submitter (FIELD)
    # nor by whoever applied the change (NOC) — four-eyes
    for worker in (FIELD, NOC):
        with pytest.raises(PermissionDenied, match="four-eyes"):
            acceptance.accept_request(
                session=session,
                actor=worker,
                request_id=req.id,
                now=TUESDAY_10 + timedelta(days=2),
                accepted_by="総務部 田中 花子",
                evidence="受領書 PDF 2027-01-14",
            )
    with pytest.raises(ValidationFailed) as no_evidence:
        acceptance.accept_request(
            session=session,
            actor=DESK,
            request_id=req.id,
            now=TUESDAY_10 + timedelta(days=2),
            accepted_by="総務部 田中 花子",
            evidence=" ",
        )
    assert [p.location for p in no_evidence.value.problems] == ["evidence"]
    done = acceptance.accept_request(
        session=session,
        actor=DESK,
        request_id=req.id,
        now=TUESDAY_10 + timedelta(days=2),
        accepted_by="総務部 田中 花子",
        evidence="受領書 PDF 2027-01-14",
    )
    assert (done.status, done.accepted_by) == ("accepted", "総務部 田中 花子")
    assert done.acceptance_evidence == "受領書 PDF 2027-01-14"
    actions = [e.action for e in service.events_of(session=session, request_id=req.id)]
    assert actions == [
        "submitted",
        "validated",
        "approved",
        "scheduled",
        "applied",
        "notified",
        "accepted",
    ]
    audited = session.exec(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "change_request", AuditEntry.entity_id == str(req.id)
        )
    ).all()
    assert "change_request.approved" in audited and "change_request.accepted" in audited
    with pytest.raises(InvalidTransition) as info:
        acceptance.report_defect(
            session=session, actor=FIELD, request_id=req.id, now=TUESDAY_10, description="x"
        )
    assert info.value.allowed == []


def test_auto_acceptance_after_seven_days_not_six_and_idempotent(
    world: Any, session: Session, smtp_inbox: Inbox
) -> None:
    req = run_to_notified(session, world, smtp_inbox, change_raw())
    notified = req.notified_at
    assert notified is not None
    assert acceptance.sweep_acceptance(session=session, now=notified + timedelta(days=6)) == []
    # still the last day of the window (Tue 19th, 23:59 JST)
    last_minute = TUESDAY_10.replace(day=19, hour=23, minute=59)
    assert acceptance.sweep_acceptance(session=session, now=last_minute) == []
    assert service.get_request(session=session, request_id=req.id).status == "notified"
    after = notified + timedelta(days=8)
    assert [r.id for r in acceptance.sweep_acceptance(session=session, now=after)] == [req.id]
    assert acceptance.sweep_acceptance(session=session, now=after) == []
    got = service.get_request(session=session, request_id=req.id)
    assert got.status == "accepted" and got.accepted_by.startswith("system")
    last = service.events_of(session=session, request_id=req.id)[-1]
    assert (last.action, last.actor) == ("auto_accepted", "system")


def test_defect_reopens_then_revalidated_reapproved_reapplied(
    world: Any, sandbox: SandboxServer, session: Session, smtp_inbox: Inbox
) -> None:
    req = run_to_notified(session, world, smtp_inbox, change_raw())
    day3 = TUESDAY_10 + timedelta(days=3)  # Fri 15th
    reopened = acceptance.report_defect(
        session=session,
        actor=FIELD,
        request_id=req.id,
        now=day3,
        description="保守会社から8443に繋がらない",
        reported_by="田中",
    )
    assert (reopened.status, reopened.round, reopened.approved_by) == ("reopened", 2, None)
    with pytest.raises(InvalidTransition):
        service.approve_request(session=session, actor=NOC, request_id=req.id, now=day3)
    fixed = change_raw()
    fixed["portForwardingRules"][0]["publicPort"] = "8444"
    again = service.revalidate_request(
        session=session,
        actor=NOC,
        request_id=req.id,
        now=day3,
        filename="cr-v2.yaml",
        content=as_bytes(fixed),
        environ=ENV,
    )
    assert again.status == "validated"
    first_job = req.job_id
    done = approve_schedule_apply_notify(session, world, smtp_inbox, req.id, day3)
    assert done.status == "notified" and done.job_id != first_job
    assert [r["resource"] for r in done.plan_rows] == ["portForwardingRules"]
    assert len(smtp_inbox.messages()) == 2
    net = next(
        n
        for n in sandbox.dashboard_api().organizations.getOrganizationNetworks(ORG)
        if n["name"] == "さくら商事 本社"
    )
    rules = sandbox.dashboard_api().appliance.getNetworkApplianceFirewallPortForwardingRules(
        net["id"]
    )["rules"]
    assert rules[0]["publicPort"] == "8444"
    actions = [e.action for e in service.events_of(session=session, request_id=req.id)]
    assert actions[6:9] == ["defect_reported", "reopened", "sheet_replaced"]


def test_device_not_on_contract_is_refused_and_nothing_written(
    world: Any, sandbox: SandboxServer, session: Session
) -> None:
    raw = change_raw()
    raw["devices"] = [{"serial": "Q2FY-ZZZZ-0009", "model": "MX67", "name": "他社の機器"}]
    req = submit(session, raw)
    assert req.status == "submitted"
    assert req.problems == [
        {
            "message": f"device Q2FY-ZZZZ-0009 is not on a contract of {SAKURA} "
            "(not on its contracts)",
            "location": "devices[0].serial",
        }
    ]
    with pytest.raises(InvalidTransition):
        service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
    assert writes(sandbox) == 0
    refused = session.exec(
        select(AuditEntry).where(AuditEntry.action == "change_request.validation_failed")
    ).all()
    assert refused and refused[-1].outcome == "refused"


def test_literal_psk_is_refused_and_not_stored(world: Any, session: Session) -> None:
    raw = change_raw()
    raw["site"] = {"name": "さくら商事 本社", "plan": "utm"}
    raw["ssids"] = [{"number": 0, "name": "x", "authMode": "psk", "psk": "literal-psk-123"}]
    with pytest.raises(ValidationFailed) as info:
        submit(session, raw)
    assert info.value.problems[0].location == "cr.yaml: ssids[0].psk"
    rows = session.exec(select(ChangeRequest)).all()
    assert all(b"literal-psk-123" not in r.sheet_original for r in rows)


def test_cli_target_needs_a_router_sheet(world: Any, session: Session) -> None:
    req = service.submit_request(
        session=session,
        actor=FIELD,
        filename="cr.yaml",
        content=as_bytes(change_raw()),
        notice_email="a@b.example",
        now=TUESDAY_10,
        environ=ENV,
        target=Target.CLI,
        cli={"host": "127.0.0.1", "device_type": "cisco_ios", "username": "u", "password_env": "X"},
    )
    assert any(p["location"] == "site.plan" for p in req.problems)


def test_the_submitter_cannot_approve_the_request(session: Session) -> None:
    build_contracts(session)
    req = service.submit_request(
        session=session,
        actor=NOC,
        filename="cr.yaml",
        content=as_bytes(change_raw()),
        notice_email="soumu@sakura.example.jp",
        now=TUESDAY_10,
        environ=ENV,
    )
    assert req.status == "validated", req.problems
    with pytest.raises(PermissionDenied, match="four-eyes"):
        service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
    assert service.get_request(session=session, request_id=req.id).status == "validated"
    done = service.approve_request(session=session, actor=DESK, request_id=req.id, now=TUESDAY_10)
    assert (done.status, done.approved_by) == ("approved", "noc-takeda")
