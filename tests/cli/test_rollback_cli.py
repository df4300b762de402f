"""`netkeep rollback`: a failed rollback exits 6 and names the command that continues it."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from sandbox.server import SandboxServer
from sandbox.testing import CLAIM_SETTLE
from tests.cli.test_provisioning_cli import cli, run  # noqa: F401  (the fixture)
from tests.unit.provisioning.sheets import EXAMPLE_ENV, EXAMPLES

EXTRA_AP = "Q3AC-EEEE-0002"


def test_a_failed_rollback_exits_6_and_resumes_without_a_sheet(
    cli: CliRunner,  # noqa: F811
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NETKEEP_PROVISIONING_REQUIRE_SURVEY", "false")
    get_settings.cache_clear()
    applied = json.loads(run(cli, "apply", str(EXAMPLES / "wireless.yaml"), "-y", "--json"))
    net_id = applied["network_id"]
    sdk = sandbox.dashboard_api()
    sdk.networks.claimNetworkDevices(net_id, serials=[EXTRA_AP])
    time.sleep(CLAIM_SETTLE)  # a newly claimed device answers 404 for a moment
    profile = sdk.wireless.getNetworkWirelessRfProfiles(net_id)[0]["id"]
    sdk.wireless.updateDeviceWirelessRadioSettings(EXTRA_AP, rfProfileId=profile)

    out = run(cli, "rollback", str(applied["id"]), code=6)
    back = applied["id"] + 1
    assert f"job {back}: failed" in out and "in use" in out
    assert f"continue with: netkeep rollback --resume {back}" in out
    assert "left in place" in out  # the network the job created is named, not deleted

    sdk.networks.removeNetworkDevices(net_id, serial=EXTRA_AP)
    resumed = json.loads(run(cli, "rollback", "--resume", str(back), "--json"))
    assert (resumed["id"], resumed["status"], resumed["continue_with"]) == (back, "done", None)
    assert sdk.wireless.getNetworkWirelessRfProfiles(net_id) == []


def test_rollback_delete_network_and_its_refusals(cli: CliRunner, sandbox: SandboxServer) -> None:  # noqa: F811
    applied = json.loads(run(cli, "apply", str(EXAMPLES / "utm.yaml"), "-y", "--json"))
    run(cli, "rollback", code=2)  # neither a job nor --resume
    run(cli, "rollback", str(applied["id"]), "--resume", "1", code=2)
    assert "SHEET" in run(cli, "rollback", "--resume", str(applied["id"]), code=4)
    gone = json.loads(run(cli, "rollback", str(applied["id"]), "--delete-network", "--json"))
    assert (gone["status"], gone["not_restorable"]) == ("done", [])
    names = [n["name"] for n in sandbox.dashboard_api().organizations.getOrganizationNetworks(
        "537758"
    )]  # fmt: skip
    assert "さくら商事 本社" not in names
