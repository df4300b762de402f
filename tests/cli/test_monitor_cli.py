"""`netkeep monitor` end to end: poll the sandbox twice (debounce 2), list, open the RMA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.db import get_engine, session_scope
from core.settings import get_settings
from inventory.catalogue_defaults import seed_catalogue
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.conftest import ADMIN
from tests.service.rma_builders import FAILED, build_world


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("NETKEEP_MONITOR_CHANGE_HISTORY", "false")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.flush()
        build_world(session, tmp_path)
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, ["monitor", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_poll_list_and_rma(cli: CliRunner, sandbox: SandboxServer) -> None:
    assert "contact" in run(cli, "contact", "株式会社さくら商事", "--mail", "it@sakura.example")
    run(cli, "contact", "株式会社さくら商事", "--mail", "not-an-address", code=2)
    run(cli, "contact", "株式会社さくら商事", "--mail", "gone@sakura.example")
    listed = json.loads(run(cli, "contacts", "--json"))
    assert [c["address"] for c in listed] == ["it@sakura.example", "gone@sakura.example"]
    assert "removed" in run(cli, "contact-remove", str(listed[1]["id"]))
    run(cli, "contact-remove", str(listed[1]["id"]), code=3)
    assert "gone@" not in run(cli, "contacts")
    assert json.loads(run(cli, "poll", "--json"))["devices"] == 4
    sandbox.admin.set_device_status(FAILED, "offline")
    assert json.loads(run(cli, "poll", "--json"))["opened"] == []  # first sighting
    opened = json.loads(run(cli, "poll", "--json"))["opened"]
    assert len(opened) == 1
    [outage] = json.loads(run(cli, "outages", "--open", "--json"))
    assert (outage["id"], outage["serial"], outage["site"]) == (opened[0], FAILED, "本社")
    assert FAILED in run(cli, "outages")
    assert "RMA-" in run(cli, "rma", str(outage["id"]))
    run(cli, "rma", str(outage["id"]), code=4)  # one RMA per outage
    run(cli, "rma", "9999", code=3)
    [notice] = json.loads(run(cli, "notices", "--json"))
    assert (notice["outage_id"], notice["recipient"]) == (outage["id"], "it@sakura.example")
    assert notice["detected_at"] == outage["detected_at"]
    assert notice["due_at"] >= notice["detected_at"] and notice["service"] == "utm_monitoring"
