"""Every organization netkeep serves is polled: `POST /api/v1/monitor/poll` and the periodic
job `monitor.poll` cover NETKEEP_MONITOR_ORG_IDS side by side (default: the one organization,
`meraki_org_id`); an organization the dashboard refuses is reported and the others recorded.

On a SQLite file and a PostgreSQL schema of the test's own (the organizations are polled on
threads, each with its own session), through the real SDK against the sandbox: the demo
organization 537758 (the contract world of the RMA tests) and a second generated one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.app import create_app
from core import auth
from core.auth import Role
from core.errors import DomainError
from core.settings import Settings, monitor_organizations
from inventory.catalogue_defaults import seed_catalogue
from jobs.catalogue import JobContext, monitor_poll
from monitoring.models import MonitorPoll, Outage
from sandbox.server import SandboxServer
from tests.conftest import ADMIN, bearer
from tests.service.rma_builders import FAILED, build_world
from tests.service.test_monitoring_orgs_side_by_side import networked
from tests.service.test_rollout_orgs_side_by_side import own_engine

__all__ = ["own_engine"]  # the fixture: a database of this test alone

DEMO_ORG = "537758"
UNKNOWN = "999999999"
DEMO_DEVICES = 4  # the demo organization's devices in a network (as tests/cli/test_monitor_cli)
OTHER_DEVICES = 40  # networked() gives each generated organization 40 devices


def world(engine: Engine, tmp_path: Path) -> str:
    """The contract world committed; a noc token."""
    with Session(engine) as session:
        seed_catalogue(session=session, actor=ADMIN)
        build_world(session, tmp_path)
        token = auth.create_token(session=session, actor=ADMIN, name="noc", role=Role.NOC).token
        session.commit()
    return token


def settings_for(engine: Engine, sandbox: SandboxServer, org_ids: str) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        meraki_base_url=sandbox.base_url,
        meraki_api_key=SecretStr(sandbox.api_key),
        meraki_max_retries=1,
        dashboard_patience_seconds=0.5,
        monitor_org_ids=org_ids,
        monitor_change_history=False,
        monitor_debounce_polls=1,
        _env_file=None,
    )


def first_of(sandbox: SandboxServer, org: str) -> str:
    devices = sandbox.admin.snapshot()["devices"]
    return str(sorted(s for s, d in devices.items() if d["organizationId"] == org)[0])


def outages_by_org(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Outage.organization_id, Outage.serial).order_by(col(Outage.organization_id))
        ).all()
    return [(o, s) for o, s in rows]


def test_settings_list_the_organizations_else_the_one_managed() -> None:
    def orgs(listed: str) -> list[str]:
        return monitor_organizations(
            Settings(meraki_org_id="111", monitor_org_ids=listed, _env_file=None)
        )

    assert orgs("") == ["111"]
    assert orgs("  ") == ["111"]
    assert orgs("222,333") == ["222", "333"]
    assert orgs(" 222 , 333 222\n444,") == ["222", "333", "444"]  # each once, in order


def test_the_api_polls_every_organization_and_reports_the_one_refused(
    own_engine: Engine, sandbox: SandboxServer, tmp_path: Path
) -> None:
    token = world(own_engine, tmp_path)
    [other] = networked(sandbox, 1)
    settings = settings_for(own_engine, sandbox, f"{DEMO_ORG}, {UNKNOWN}, {other}")
    with TestClient(create_app(settings, own_engine)) as client:
        first = client.post("/api/v1/monitor/poll", headers=bearer(token))
        assert first.status_code == 200, first.text
        body = first.json()
        assert [(o["organization_id"], o["devices"]) for o in body["organizations"]] == [
            (DEMO_ORG, DEMO_DEVICES),
            (other, OTHER_DEVICES),
        ]
        assert [f["organization_id"] for f in body["failed"]] == [UNKNOWN]
        assert body["failed"][0]["error"]  # the dashboard's reason, said
        assert (body["devices"], body["opened"]) == (DEMO_DEVICES + OTHER_DEVICES, [])

        victim = first_of(sandbox, other)
        sandbox.admin.set_device_status(FAILED, "offline")
        sandbox.admin.set_device_status(victim, "offline")
        second = client.post("/api/v1/monitor/poll", headers=bearer(token))
        assert second.status_code == 200, second.text
        opened = second.json()["opened"]
        assert len(opened) == 2  # debounce 1: one outage in each organization
        assert [len(o["opened"]) for o in second.json()["organizations"]] == [1, 1]
    assert outages_by_org(own_engine) == sorted([(DEMO_ORG, FAILED), (other, victim)])
    with Session(own_engine) as session:
        polled = session.exec(select(MonitorPoll.organization_id)).all()
    assert sorted(polled) == sorted([DEMO_ORG, other] * 2)  # the refused one recorded nothing

    alone = settings_for(own_engine, sandbox, UNKNOWN)
    with TestClient(create_app(alone, own_engine)) as client:
        refused = client.post("/api/v1/monitor/poll", headers=bearer(token))
    assert refused.status_code >= 400, refused.text  # every organization failed: its error
    assert "error" in refused.json()


def test_the_periodic_job_polls_every_organization(
    own_engine: Engine, sandbox: SandboxServer, tmp_path: Path
) -> None:
    world(own_engine, tmp_path)
    [other] = networked(sandbox, 1)
    settings = settings_for(own_engine, sandbox, f"{other},{UNKNOWN},{DEMO_ORG}")
    ctx = JobContext(settings=settings, engine=own_engine)
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    first = monitor_poll(ctx, t)
    assert isinstance(first, dict)
    assert list(first["organizations"]) == [other, DEMO_ORG]
    assert list(first["failed"]) == [UNKNOWN]
    assert first["devices"] == DEMO_DEVICES + OTHER_DEVICES

    victim = first_of(sandbox, other)
    sandbox.admin.set_device_status(FAILED, "offline")
    sandbox.admin.set_device_status(victim, "offline")
    second = monitor_poll(ctx, t + timedelta(minutes=1))
    assert isinstance(second, dict) and len(second["opened"]) == 2
    again = monitor_poll(ctx, t + timedelta(minutes=1))  # the same tick: nothing new
    assert isinstance(again, dict) and again["opened"] == []
    assert [v["repeated"] for v in again["organizations"].values()] == [True, True]
    assert outages_by_org(own_engine) == sorted([(DEMO_ORG, FAILED), (other, victim)])

    with pytest.raises(DomainError):  # the only organization refused: the job fails
        monitor_poll(
            JobContext(settings=settings_for(own_engine, sandbox, UNKNOWN), engine=own_engine),
            t + timedelta(minutes=2),
        )
