"""Change-request benchmark (run by hand): approval → verified apply → notice, per phase.

    .venv/bin/python -m bench.change_request [runs]

A typical UTM change (VLAN 20's DHCP DNS, a new VLAN 40, the L3 rules, one port forward,
content-filter blocked URLs) through the change-request path against an in-process sandbox at the
real 10 requests/s per organization, with the notice mailed to a loopback aiosmtpd server; then a
~200-line IOS router config pushed through the change-request CLI path to the fake SSH device.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bench.ssh_push import big_sheet
from changes import acceptance, applying, scheduling, service
from changes.domain import Target
from changes.mailer import SmtpMailer
from changes.validation import target_network_id
from core import migrate
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.db import make_engine
from dashboard.pacing import OrgRateLimiter
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from inventory.catalogue_defaults import seed_catalogue
from netdevices.fake_ssh import FakeSSHServer
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.testing import FAST, FakeEndpoint, ios_new_router
from provisioning import apply as jobs
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import sheet_to_raw
from sandbox.app import SandboxConfig
from sandbox.server import running_sandbox
from tests.unit.changes.builders import (
    ENV,
    EXAMPLES,
    TUESDAY_10,
    Inbox,
    _Handler,
    as_bytes,
    build_contracts,
    free_port,
    link_site,
    typical_utm_change,
)

NOC = Actor(name="bench-noc", role="noc")
CAL = BusinessCalendar()


def _session() -> Session:
    path = Path(tempfile.mkdtemp()) / "bench.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    session = Session(make_engine(url), expire_on_commit=False)
    seed_catalogue(session=session, actor=NOC)
    build_contracts(session)
    session.commit()
    return session


def utm_run(sb: Any, inbox: Inbox, mailer: SmtpMailer) -> dict[str, float]:
    session = _session()
    limiter = OrgRateLimiter(9.0)
    dash = MerakiProvisioning(
        build_sdk(api_key=sb.api_key, base_url=sb.base_url, maximum_retries=8),
        organization_id="537758",
        limiter=limiter,
    )
    options = ProvisioningOptions(secret_key=b"bench", rate=9.0, poll_seconds=0.2)
    sb.admin.reset("demo")
    setup = load_sheet(EXAMPLES / "utm.yaml", environ=ENV)
    built = apply_plan(
        session=session,
        dashboard=dash,
        sheet=setup,
        plan=plan_sheet(dashboard=dash, sheet=setup, options=options),
        actor=NOC,
        clock=lambda: datetime.now(UTC),
        options=options,
    )
    link_site(session, str(built.network_id))  # the customer's site is the network just built
    req = service.submit_request(
        session=session,
        actor=NOC,
        filename="cr.yaml",
        content=as_bytes(typical_utm_change()),
        notice_email="soumu@sakura.example.jp",
        now=TUESDAY_10,
        environ=ENV,
    )
    assert req.status == "validated", req.problems
    service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
    session.commit()
    t0 = time.perf_counter()
    scheduling.schedule_request(
        session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10
    )
    t1 = time.perf_counter()
    stored = service.stored_sheet(req, environ=ENV)
    target = target_network_id(session, stored, req.customer)
    dry = plan_sheet(dashboard=dash, sheet=stored, options=options, network_id=target)
    t2 = time.perf_counter()
    calls_before = dash.stats.calls
    req = applying.apply_request(
        session=session,
        actor=NOC,
        calendar=CAL,
        request_id=req.id,
        now=TUESDAY_10,
        dashboard=dash,
        options=options,
        environ=ENV,
        clock=lambda: datetime.now(UTC),
    )
    t3 = time.perf_counter()
    assert req.status == "applied", req.apply_error
    verify = next(
        s for s in jobs.journal(session=session, job_id=req.job_id or 0) if s.action == "verify"
    )
    verify_s = (verify.finished_at - verify.started_at).total_seconds()  # type: ignore[operator]
    acceptance.send_completion_notice(
        session=session,
        actor=NOC,
        mailer=mailer,
        request_id=req.id or 0,
        now=TUESDAY_10 + timedelta(minutes=1),
        acceptance_days=7,
    )
    t4 = time.perf_counter()
    session.commit()
    plan_s = t2 - t1
    return {
        "schedule": t1 - t0,
        "plan": plan_s,
        "apply (writes)": (t3 - t2) - plan_s - verify_s,
        "verify": verify_s,
        "notice (SMTP)": t4 - t3,
        "approval → verified": (t1 - t0) + (t3 - t2),
        "approval → notified": (t1 - t0) + (t4 - t2),
        "settings changed": len(dry.changes),
        "dashboard calls": dash.stats.calls - calls_before,
    }


def ssh_run() -> dict[str, float]:
    session = _session()
    device = ios_new_router()
    raw = sheet_to_raw(big_sheet())
    raw["kind"], raw["site"] = "change_request", {"name": "みどり設計 事務所", "plan": "router"}
    raw["request"] = {
        "id": "CR-BENCH",
        "customer": "有限会社みどり設計",
        "requester": "bench",
        "date": "2027-01-10",
    }
    with FakeSSHServer(device) as server:
        ep = FakeEndpoint(device, server)
        os.environ["BENCH_RTR_PW"], os.environ["BENCH_RTR_EN"] = (
            device.password,
            device.enable_secret,
        )
        req = service.submit_request(
            session=session,
            actor=NOC,
            filename="rtr.yaml",
            content=as_bytes(raw),
            notice_email="a@example.jp",
            now=TUESDAY_10,
            target=Target.CLI,
            cli={
                "host": server.host,
                "port": server.port,
                "device_type": "cisco_ios",
                "username": device.username,
                "password_env": "BENCH_RTR_PW",
                "secret_env": "BENCH_RTR_EN",
            },
        )
        assert req.status == "validated", req.problems
        service.approve_request(session=session, actor=NOC, request_id=req.id, now=TUESDAY_10)
        scheduling.schedule_request(
            session=session, actor=NOC, calendar=CAL, request_id=req.id, now=TUESDAY_10
        )
        t0 = time.perf_counter()
        done = applying.apply_request(
            session=session,
            actor=NOC,
            calendar=CAL,
            request_id=req.id or 0,
            now=TUESDAY_10,
            cli_factory=lambda t: NetmikoDeviceCLI(replace(t, **{**FAST, "read_timeout": 30.0})),
        )
        total = time.perf_counter() - t0
        assert done.status == "applied", done.apply_error
        _ = ep
    steps = {s["step"]: s["seconds"] for s in done.push_journal}
    return {
        **steps,
        "apply total (incl. login)": total,
        "lines pushed": len(done.plan_rows[0]["commands"]),
    }


def show(title: str, results: list[dict[str, float]]) -> None:
    print(title)
    print(f"  {'phase':<28}{'median s':>10}{'max s':>10}")
    for key in results[0]:
        values = [r[key] for r in results]
        if key in ("settings changed", "dashboard calls", "lines pushed"):
            print(f"  {key:<28}{int(values[0]):>10}")
        else:
            print(f"  {key:<28}{statistics.median(values):>10.3f}{max(values):>10.3f}")


def main() -> None:
    from aiosmtpd.controller import Controller

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(_Handler(inbox), hostname=inbox.host, port=inbox.port)
    controller.start()
    mailer = SmtpMailer(host=inbox.host, port=inbox.port, sender="noc@example.jp")
    try:
        with running_sandbox(
            SandboxConfig(rate_limit=10.0, ip_rate_limit=100.0, batch_delay=0.2)
        ) as sb:
            show(
                f"UTM change request, sandbox at 10 req/s, {runs} runs",
                [utm_run(sb, inbox, mailer) for _ in range(runs)],
            )
    finally:
        controller.stop()
    show(
        f"router change request over SSH (~200-line IOS config), {runs} runs",
        [ssh_run() for _ in range(runs)],
    )


if __name__ == "__main__":
    main()
