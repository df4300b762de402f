"""From a device down to the SLA credit and the RMA, with nobody re-typing the outage:
`netkeep sla report --month` shows the credit of a monitoring outage, `netkeep incident open
--outage` names it and `netkeep monitor rma` names the RMA on that incident.

On a fresh SQLite file and PostgreSQL schema; the polls run through the real SDK against the
sandbox with explicit moments (25 hours cannot pass in a test), the rest through the CLI.
Seed 004: 24 h or more from when the provider learned of it → the monthly fee for each full
24 h ÷ the month's calendar days: ¥31,000 × 1 ÷ 31 = ¥1,000 in December.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from core.audit import SYSTEM
from core.db import get_engine, session_scope
from core.settings import get_settings
from dashboard.monitoring import MerakiMonitoring
from inventory.catalogue_defaults import seed_catalogue
from monitoring import service
from monitoring.domain import Debounce
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.conftest import ADMIN, PG_URL
from tests.service.rma_builders import FAILED, build_world

T = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
) -> Iterator[CliRunner]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        schema = f"nk_msla_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", sandbox.api_key)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with session_scope(get_engine(url)) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.flush()
        build_world(session, tmp_path)
    yield runner
    get_settings.cache_clear()
    get_engine(url).dispose()
    if schema is not None:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def polls(sandbox: SandboxServer, moments: list[datetime]) -> list[service.PollReport]:
    dash = MerakiMonitoring(api_key=sandbox.api_key, base_url=sandbox.base_url)
    reports = []
    for now in moments:
        with session_scope(get_engine(get_settings().database_url)) as session:
            reports.append(
                service.poll(
                    session=session,
                    dashboard=dash,
                    organization_id="537758",
                    actor=SYSTEM,
                    now=now,
                    debounce=Debounce(polls=2),
                    prefer_change_history=False,
                )
            )
    return reports


def test_a_day_long_outage_is_credited_and_its_incident_names_the_rma(
    cli: CliRunner, sandbox: SandboxServer
) -> None:
    run(cli, "sla", "policy", "C-RMA-UTM", "--monthly-fee", "31000")
    polls(sandbox, [T])
    sandbox.admin.set_device_status(FAILED, "offline")
    [_, opened] = polls(sandbox, [T + MIN, T + 2 * MIN])
    [outage_id] = opened.opened
    ongoing = run(cli, "sla", "report", "--month", "2026-12")
    assert "ongoing: C-RMA-UTM" in ongoing and "¥0" in ongoing
    incident = json.loads(
        run(
            cli,
            "incident",
            "open",
            "C-RMA-UTM",
            "-q",
            "本社のネットワークが使えない",
            "--reporter",
            "総務 佐藤",
            "--fault",
            "1",
            "--outage",
            str(outage_id),
            "--json",
        )
    )[0]
    assert (incident["outage_id"], incident["rma_number"]) == (outage_id, None)
    rma = run(cli, "monitor", "rma", str(outage_id))
    [number] = [w for w in rma.split() if w.startswith("RMA-")]
    sandbox.admin.set_device_status(FAILED, "online")
    polls(sandbox, [T + 2 * MIN + 25 * HOUR, T + 2 * MIN + 25 * HOUR + MIN])
    report = json.loads(run(cli, "sla", "report", "--month", "2026-12", "--json"))
    [row] = report["rows"]
    assert (row["contract"], row["full_days"], row["credit_yen"], row["tax_yen"]) == (
        "C-RMA-UTM",
        1,
        1_000,
        100,
    )
    assert report["ongoing"] == []
    table = run(cli, "sla", "report", "--month", "2026-12")
    assert "C-RMA-UTM: credit ¥1,000 (tax ¥100)" in table
    shown = run(cli, "incident", "list", "--json")
    assert number in shown
    sla_id = row["outage_id"]
    cause = run(cli, "sla", "cause", str(sla_id), "--cause", "customer", "--note", "宅内工事")
    assert "provider → customer" in cause and "credit ¥1,000 → ¥0" in cause
    assert json.loads(run(cli, "sla", "report", "--month", "2026-12", "--json"))["rows"] == []
    # intent: every second from when it was learned of, 25 h: ¥31,000 × 90,000 ÷ 2,678,400
    intent = run(cli, "sla", "cause", str(outage_id), "--monitoring", "--cause", "intent")
    assert f"SLA outage {sla_id} " in intent and "credit ¥0 → ¥1,041" in intent
    run(cli, "sla", "cause", str(sla_id), "--cause", "weather", code=2)
    run(cli, "sla", "cause", "999999", "--cause", "customer", code=3)


def test_poll_covers_every_organization_and_names_the_one_refused(
    cli: CliRunner, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs = sandbox.admin.generate_organizations(1, 3)
    state = sandbox.admin.snapshot()
    for device in state["devices"].values():
        if device["organizationId"] in orgs:
            device["networkId"], device["status"] = f"N_cli_{orgs[0]}", "online"
    sandbox.admin.load_state(state)
    monkeypatch.setenv("NETKEEP_MONITOR_ORG_IDS", f"537758,{orgs[0]},999999999")
    monkeypatch.setenv("NETKEEP_MONITOR_CHANGE_HISTORY", "false")
    monkeypatch.setenv("NETKEEP_MERAKI_MAX_RETRIES", "1")
    monkeypatch.setenv("NETKEEP_DASHBOARD_PATIENCE_SECONDS", "0.5")
    get_settings.cache_clear()
    result = cli.invoke(app, ["monitor", "poll", "--json"])
    assert result.exit_code == 1, result.output  # one organization could not be read
    body = json.loads(result.stdout)
    assert [(o["organization_id"], o["devices"]) for o in body["organizations"]] == [
        ("537758", 4),
        (orgs[0], 3),
    ]
    assert [f["organization_id"] for f in body["failed"]] == ["999999999"]
    shown = cli.invoke(app, ["monitor", "poll", "--debounce-polls", "1"])
    assert f"{orgs[0]}: 3 device(s) by availabilities" in shown.stdout
    assert "999999999: not polled" in shown.output
    monkeypatch.setenv("NETKEEP_MONITOR_ORG_IDS", f"537758 {orgs[0]}")
    get_settings.cache_clear()
    assert json.loads(run(cli, "monitor", "poll", "--json"))["failed"] == []
