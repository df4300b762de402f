"""`netkeep sheet template --example` → `netkeep plan` works on the demo organization."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from sandbox.seeds import DEMO_DEVICES, DEMO_NETWORKS
from sandbox.server import SandboxServer
from tests.service.helpers import seed_demo_inventory_at


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    seed_demo_inventory_at(url)  # the example rows' units are the demo's stock
    yield runner
    get_settings.cache_clear()


@pytest.mark.parametrize("plan", ["utm", "router", "wireless"])
def test_the_example_sheet_plans_against_the_demo_organization(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    wrote = cli.invoke(app, ["sheet", "template", "--plan", plan, "-o", "ex.xlsx", "--example"])
    assert wrote.exit_code == 0, wrote.output
    for line in wrote.output.splitlines()[1:]:  # the secrets the example reads, if any
        for name in (part.removesuffix("=...") for part in line.split() if part.endswith("=...")):
            monkeypatch.setenv(name, f"example-{name.lower()}")
    planned = cli.invoke(app, ["plan", "ex.xlsx", "--json"])
    assert planned.exit_code == 0, planned.output
    out = json.loads(planned.output)
    assert out["network_id"] is None  # a new site, created by apply
    demo_networks = {net_id for net_id, _name, _products in DEMO_NETWORKS}
    hubs = [
        hub["hubId"]
        for change in out["changes"]
        for field in change["fields"]
        if field["field"] == "hubs"
        for hub in field["after"]
    ]
    assert set(hubs) <= demo_networks
    assert bool(hubs) == (plan != "wireless")  # UTM and router examples join the VPN
    devices = {
        c["resource"].split("/")[1] for c in out["changes"] if c["resource"].startswith("device/")
    }
    assert devices and devices <= {serial for _model, serial, _net in DEMO_DEVICES}


def test_the_wireless_example_names_the_variables_it_needs(cli: CliRunner) -> None:
    wrote = cli.invoke(
        app, ["sheet", "template", "--plan", "wireless", "-o", "w.xlsx", "--example"]
    )
    assert "SAKURA_STAFF_PSK=..." in wrote.output
    missing = cli.invoke(app, ["plan", "w.xlsx"])
    assert missing.exit_code != 0 and "SAKURA_STAFF_PSK" in missing.output
