"""The README's main command on a fresh database: sample data, a token, the sandbox, a tour."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from api.app import create_app
from core.db import get_engine
from core.settings import Settings, get_settings
from dashboard.meraki import MerakiDashboard
from inventory import reconcile, service
from netkeep.cli import app
from netkeep.demo import DEMO_ACTOR, load_demo
from sandbox.server import SandboxServer
from tests.service.helpers import T0


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_demo_command_loads_data_starts_sandbox_and_prints_tour(demo_db: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--sandbox-port", "0"])
    assert result.exit_code == 0, result.output
    token = re.search(r"\b(nk_[A-Za-z0-9_\-]{20,})", result.output)
    assert token is not None
    assert re.search(r"Meraki dashboard sandbox: http://127\.0\.0\.1:\d+/api/v1", result.output)
    client = TestClient(create_app(Settings(database_url=demo_db, _env_file=None)))  # type: ignore[call-arg]
    devices = client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert devices.json()["total"] == 12
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--sandbox-port", "0"])
    assert again.exit_code == 0, again.output  # re-running is harmless: data unchanged, new token
    assert (
        client.get("/api/v1/devices", headers={"Authorization": f"Bearer {token.group(1)}"}).json()[
            "total"
        ]
        == 12
    )


def test_sample_inventory_reconciles_against_the_sandbox_demo_org(
    demo_db: str, sandbox: SandboxServer
) -> None:
    load_demo(demo_db)
    dashboard = MerakiDashboard(api_key=sandbox.api_key, base_url=sandbox.base_url, retry_wait=0)
    with Session(get_engine(demo_db)) as session:
        report = reconcile.reconcile(
            session=session,
            dashboard=dashboard,
            organization_id="537758",
            actor=DEMO_ACTOR,
            now=T0,
            apply=True,
        )
        session.commit()
        assert [d["serial"] for d in report.only_in_dashboard] == ["Q2FY-ZZZZ-0099"]
        assert [d["serial"] for d in report.only_in_netkeep] == ["Q2KY-BBBB-0003"]
        assert report.network_mismatch == [] and report.model_mismatch == []
        assert report.imported == ["Q2FY-ZZZZ-0099"]
        device = service.get_device(session=session, serial="Q2FY-ZZZZ-0099")
        assert device.model == "MX67" and device.status == "in_stock"
    assert sandbox.admin.count("GET", "/organizations/{organizationId}/inventory/devices") >= 1
    with Session(get_engine(demo_db)) as session:
        again = reconcile.reconcile(
            session=session, dashboard=dashboard, organization_id="537758", actor=DEMO_ACTOR, now=T0
        )
        assert again.only_in_dashboard == []
