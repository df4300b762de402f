"""`netkeep vpn` end to end on a temporary SQLite file and the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
import yaml
from typer.testing import CliRunner

from core.db import get_engine, session_scope
from core.settings import get_settings
from inventory.catalogue_defaults import seed_catalogue
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.conftest import ADMIN
from tests.unit.vpn.world import KOBE, OSAKA, TOKYO, contracts, load


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    load(sandbox)
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", sandbox.api_key)
    monkeypatch.setenv("NETKEEP_VPN_ACCEPT_DOCUMENTATION_IPS", "true")
    monkeypatch.setenv("NETKEEP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=ADMIN)
        contracts(session)
    yield runner
    get_settings.cache_clear()


def test_check_build_users_report_events_and_revert(
    cli: CliRunner, tmp_path: Path, sandbox: SandboxServer
) -> None:
    checked = cli.invoke(app, ["vpn", "check", TOKYO, KOBE])
    assert checked.exit_code == 1
    assert "wan_cgnat" in checked.output and "plan_mismatch" in checked.output

    request = tmp_path / "vpn.yaml"
    request.write_text(
        yaml.safe_dump(
            {
                "sites": [
                    {"network_id": TOKYO, "role": "hub"},
                    {"network_id": OSAKA, "role": "spoke", "hubs": [TOKYO]},
                ],
                "users": [
                    {"network_id": OSAKA, "email": "yui@sakura.example.jp", "name": "中村結"}
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    built = cli.invoke(app, ["vpn", "build", str(request), "--json"])
    assert built.exit_code == 0, built.output
    body = json.loads(built.stdout)
    assert body["one_time_passwords"][0]["password"]
    assert any("shared secret" in n for n in body["notes"])
    sdk = sandbox.dashboard_api()
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["hubs"][0]["hubId"] == TOKYO
    assert len(body["jobs"]) == 2
    for job_id in body["jobs"]:
        shown = cli.invoke(app, ["job", "show", str(job_id), "--json"])
        assert shown.exit_code == 0 and json.loads(shown.stdout)["status"] == "done"

    added = cli.invoke(
        app, ["vpn", "users", "--network", OSAKA, "--add", "yui@sakura.example.jp=中村結"]
    )
    assert added.exit_code == 0 and "unchanged" in added.output
    listed = cli.invoke(app, ["vpn", "users", "--json"])
    assert [u["email"] for u in json.loads(listed.stdout)] == ["yui@sakura.example.jp"]

    pdf, csv = tmp_path / "r.pdf", tmp_path / "r.csv"
    cli.invoke(app, ["vpn", "report"])
    sandbox.admin.set_device_status("Q2FY-AAAA-0002", "offline")
    reported = cli.invoke(app, ["vpn", "report", "--pdf", str(pdf), "--csv", str(csv)])
    assert reported.exit_code == 0, reported.output
    assert "peer_down" in reported.output
    text = "".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages)
    assert "VPN接続状況報告書" in text and "対向拠点 切断" in text
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    events = cli.invoke(app, ["vpn", "events", "--kind", "peer_down", "--json"])
    assert sorted((e["network_id"], e["peer_network_id"]) for e in json.loads(events.stdout)) == [
        (OSAKA, TOKYO),
        (TOKYO, OSAKA),
    ]

    reverted = cli.invoke(app, ["vpn", "build", "--revert", str(body["id"])])
    assert reverted.exit_code == 0 and "reverted" in reverted.output
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(OSAKA)["mode"] == "none"
    assert sdk.appliance.getNetworkApplianceVpnSiteToSiteVpn(TOKYO)["mode"] == "none"


def test_cgnat_build_fails_with_the_site_named(cli: CliRunner, tmp_path: Path) -> None:
    request = tmp_path / "vpn.json"
    request.write_text(json.dumps({"sites": [{"network_id": KOBE, "role": "hub"}]}))
    result = cli.invoke(app, ["vpn", "build", str(request)])
    assert result.exit_code == 2
    assert "神戸営業所" in result.output and "100.64.1.2" in result.output
    assert "no VPN build" in cli.invoke(app, ["vpn", "build", "--revert", "1"]).output
