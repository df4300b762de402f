"""The operations window at its edges, and the non-Meraki router path over real SSH."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from changes import applying, scheduling, service, site_checks
from changes.domain import Target
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import Conflict, ValidationFailed
from core.models import AuditEntry
from netdevices import testing as fakes
from netdevices.fake_ssh import Behaviour, FakeDevice
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.ports import DeviceTarget
from tests.unit.changes.builders import (
    ENV,
    TUESDAY_10,
    as_bytes,
    build_contracts,
    change_raw,
    jst,
    router_change_raw,
)

NOC = Actor(name="noc-suzuki", role="noc")
FIELD = Actor(name="field-sato", role="field")
CAL = BusinessCalendar()
Factory = Callable[[FakeDevice], fakes.FakeEndpoint]


def fast_cli(target: DeviceTarget) -> NetmikoDeviceCLI:
    return NetmikoDeviceCLI(replace(target, **fakes.FAST))


def approved(session: Session, raw: Any = None, **kw: Any) -> int:
    build_contracts(session)
    req = service.submit_request(
        session=session,
        actor=FIELD,
        filename="cr.yaml",
        content=as_bytes(raw or change_raw()),
        notice_email="a@example.jp",
        now=jst(2026, 12, 1, 10, 0),
        environ=ENV,
        **kw,
    )
    assert req.status == "validated", req.problems
    service.approve_request(
        session=session, actor=NOC, request_id=req.id, now=jst(2026, 12, 1, 11, 0)
    )
    assert req.id is not None
    return req.id


@pytest.mark.parametrize(
    ("at", "ok"),
    [
        (jst(2026, 12, 5, 16, 59), True),  # Saturday 16:59
        (jst(2026, 12, 5, 17, 0), False),  # Saturday 17:00 (the end is excluded)
        (jst(2026, 12, 6, 10, 0), False),  # Sunday
        (jst(2027, 1, 11, 10, 0), False),  # 成人の日 (public holiday, Monday)
        (jst(2026, 12, 30, 10, 0), False),  # year-end day
        (jst(2026, 12, 7, 9, 0), True),  # Monday 9:00
    ],
)
def test_window_edges(session: Session, at: datetime, ok: bool) -> None:
    rid = approved(session)
    now = jst(2026, 12, 2, 10, 0)
    if ok:
        req = scheduling.schedule_request(
            session=session, actor=NOC, calendar=CAL, request_id=rid, now=now, at=at
        )
        assert (req.status, req.scheduled_for, req.emergency_reason) == ("scheduled", at, None)
        return
    with pytest.raises(ValidationFailed) as info:
        scheduling.schedule_request(
            session=session, actor=NOC, calendar=CAL, request_id=rid, now=now, at=at
        )
    assert "outside the operations window" in info.value.problems[0].message
    got = service.get_request(session=session, request_id=rid)
    assert (got.status, got.scheduled_for) == ("approved", None)
    assert service.events_of(session=session, request_id=rid)[-1].action == "schedule_refused"


def test_override_with_reason_is_allowed_recorded_and_audited(session: Session) -> None:
    rid = approved(session)
    sunday = jst(2026, 12, 6, 10, 0)
    req = scheduling.schedule_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=rid,
        now=jst(2026, 12, 2, 10, 0),
        at=sunday,
        emergency_reason="本社移転に伴う緊急対応 (顧客承諾済)",
    )
    assert (req.scheduled_for, req.emergency_by) == (sunday, "noc-suzuki")
    audit = session.exec(
        select(AuditEntry).where(AuditEntry.action == "change_request.scheduled_emergency")
    ).one()
    assert audit.after is not None and audit.after["emergency_reason"].startswith("本社移転")


def test_schedule_without_time_takes_next_window_and_apply_waits_for_it(session: Session) -> None:
    rid = approved(session)
    friday_evening = jst(2026, 12, 4, 18, 30)
    req = scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=rid, now=friday_evening
    )
    assert req.scheduled_for == jst(2026, 12, 5, 9, 0)  # Saturday opening
    with pytest.raises(Conflict, match="scheduled for"):
        applying.apply_request(
            session=session, actor=NOC, calendar=CAL, request_id=rid, now=friday_evening
        )
    assert service.get_request(session=session, request_id=rid).status == "scheduled"
    inside = scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=rid, now=TUESDAY_10
    )
    assert inside.scheduled_for == TUESDAY_10  # inside the window: now


def cli_request(session: Session, endpoint: fakes.FakeEndpoint, monkeypatch: Any) -> int:
    monkeypatch.setenv("NETKEEP_RTR_PASSWORD", endpoint.device.password)
    monkeypatch.setenv("NETKEEP_RTR_SECRET", endpoint.device.enable_secret)
    cli = {
        "host": endpoint.server.host,
        "port": endpoint.server.port,
        "device_type": "cisco_ios",
        "username": endpoint.device.username,
        "password_env": "NETKEEP_RTR_PASSWORD",
        "secret_env": "NETKEEP_RTR_SECRET",
    }
    rid = approved(session, router_change_raw(), target=Target.CLI, cli=cli)
    scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=rid, now=TUESDAY_10
    )
    return rid


def test_cli_device_push_verify_and_second_apply_pushes_nothing(
    session: Session, fake_ios: fakes.FakeEndpoint, monkeypatch: Any
) -> None:
    rid = cli_request(session, fake_ios, monkeypatch)
    req = applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=rid,
        now=TUESDAY_10,
        cli_factory=fast_cli,
    )
    assert (req.status, req.push_status, req.apply_error) == ("applied", "verified", None)
    assert [s["step"] for s in req.push_journal] == ["render", "plan", "push", "save", "verify"]
    commands = req.plan_rows[0]["commands"]
    assert "interface Vlan50" in commands and "interface Vlan50" in fake_ios.device.config_lines()
    assert fake_ios.device.saved == fake_ios.device.config_lines()
    # a second apply (as after a defect round) sends no configuration
    req.status = "scheduled"
    session.add(req)
    sent = len(fake_ios.device.commands)
    again = applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=rid,
        now=TUESDAY_10 + timedelta(minutes=1),
        cli_factory=fast_cli,
    )
    assert (again.status, again.push_status, again.plan_rows) == ("applied", "unchanged", [])
    assert "configure terminal" not in fake_ios.device.commands[sent:]


def test_garbage_device_fails_and_nothing_is_pushed(
    session: Session, fake_device_factory: Factory, monkeypatch: Any
) -> None:
    device = fakes.ios_new_router()
    device.behaviour = Behaviour.GARBAGE
    endpoint = fake_device_factory(device)
    before = device.config_lines()
    rid = cli_request(session, endpoint, monkeypatch)
    req = applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=rid,
        now=TUESDAY_10,
        cli_factory=fast_cli,
    )
    assert req.status == "failed" and req.apply_error
    assert "login failed" in req.apply_error  # the garbage never gives a prompt
    assert req.push_journal == [] and req.plan_rows == []
    assert device.config_lines() == before and "configure terminal" not in device.commands
    audit = session.exec(
        select(AuditEntry).where(AuditEntry.action == "change_request.failed")
    ).one()
    assert audit.after is not None and audit.after["status"] == "failed"


def test_site_check_routing_refuses_a_router_request(
    session: Session, fake_device_factory: Factory
) -> None:
    edge = fake_device_factory(fakes.ios_router())
    row = site_checks.run_site_check(
        session=session,
        actor=NOC,
        cli_factory=fast_cli,
        target=edge.target(),
        site="みどり設計 事務所",
        now=TUESDAY_10,
    )
    assert row.routing and row.verdict.startswith("UTM/router install refused")
    assert any(e["meaning"] == "default route" for e in row.evidence)
    build_contracts(session)
    req = service.submit_request(
        session=session,
        actor=NOC,
        filename="cr.yaml",
        content=as_bytes(router_change_raw()),
        notice_email="a@example.jp",
        now=TUESDAY_10,
        environ=ENV,
    )
    assert req.status == "submitted"
    assert [p["location"] for p in req.problems] == ["site.name"]
    assert "an upstream router exists" in req.problems[0]["message"]
