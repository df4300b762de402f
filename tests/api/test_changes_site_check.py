"""Site checks over HTTP and the CLI, against the loopback SSH server (no mocks of netmiko)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from changes.models import SiteCheckRecord
from core.settings import get_settings
from netdevices.fake_ssh import FakeDevice
from netdevices.testing import FakeEndpoint, ios_router, ios_switch
from netkeep.cli import app
from tests.conftest import bearer

Factory = Callable[[FakeDevice], FakeEndpoint]


def body(endpoint: FakeEndpoint, site: str) -> dict[str, object]:
    return {
        "site": site,
        "host": endpoint.server.host,
        "port": endpoint.server.port,
        "device_type": "cisco_ios",
        "username": endpoint.device.username,
        "password": endpoint.device.password,
        "secret": endpoint.device.enable_secret,
    }


def test_routing_edge_is_reported_and_stored_without_the_password(
    app_client: TestClient, tokens: dict[str, str], session: Session, fake_device_factory: Factory
) -> None:
    router = fake_device_factory(ios_router())
    response = app_client.post(
        "/api/v1/site-checks", json=body(router, "なにわ物産 本社"), headers=bearer(tokens["field"])
    )
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["routing"] is True and "refused" in out["verdict"]
    assert router.device.password not in response.text
    assert router.device.enable_secret not in response.text
    stored = session.exec(select(SiteCheckRecord)).one()
    assert stored.site == "なにわ物産 本社" and stored.routing is True
    assert router.device.password not in json.dumps(stored.model_dump(mode="json"))


def test_switch_is_not_routing_and_viewer_may_not_check(
    app_client: TestClient, tokens: dict[str, str], fake_device_factory: Factory
) -> None:
    switch = fake_device_factory(ios_switch())
    denied = app_client.post(
        "/api/v1/site-checks", json=body(switch, "さくら 支店"), headers=bearer(tokens["viewer"])
    )
    assert denied.status_code == 403
    ok = app_client.post(
        "/api/v1/site-checks", json=body(switch, "さくら 支店"), headers=bearer(tokens["noc"])
    )
    assert ok.status_code == 201 and ok.json()["routing"] is False
    listed = app_client.get(
        "/api/v1/site-checks", params={"site": "さくら 支店"}, headers=bearer(tokens["viewer"])
    )
    assert [c["routing"] for c in listed.json()["items"]] == [False]


def test_cli_site_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_device_factory: Factory
) -> None:
    router = fake_device_factory(ios_router())
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'sc.db'}")
    monkeypatch.setenv("NETKEEP_SITE_PASSWORD", router.device.password)
    monkeypatch.setenv("NETKEEP_SITE_SECRET", router.device.enable_secret)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        args = ["change", "site-check", "--host", router.server.host, "--port",
                str(router.server.port), "--device-type", "cisco_ios", "--site", "本社",
                "--username", router.device.username, "--json"]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["routing"] is True
        monkeypatch.delenv("NETKEEP_SITE_PASSWORD")
        missing = runner.invoke(app, args)
        assert missing.exit_code == 2 and "NETKEEP_SITE_PASSWORD is not set" in missing.output
    finally:
        get_settings.cache_clear()
