"""`netkeep secret`: a customer's named secrets, used by sheets as secret:NAME, never shown."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.service.helpers import seed_demo_inventory_at
from tests.unit.provisioning.sheets import EXAMPLES

CUSTOMER = "医療法人あおば会"
HELD = {
    "AOBA_RADIUS_SECRET": "radius-from-the-store",
    "AOBA_DEVICE_PSK": "device-from-the-store",
    "AOBA_GUEST_PSK": "guest-from-the-store",
}


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    url = f"sqlite:///{tmp_path / 'var' / 'cli.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.setenv("NETKEEP_PROVISIONING_REQUIRE_SURVEY", "false")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    seed_demo_inventory_at(url)  # the wireless example's access points are in stock
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = cli.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_secrets_set_listed_by_name_and_used_by_a_local_sheet(
    cli: CliRunner, tmp_path: Path
) -> None:
    for name, value in HELD.items():
        out = run(cli, "secret", "set", CUSTOMER, name, "--stdin", stdin=value + "\n")
        assert value not in out
    run(cli, "secret", "set", CUSTOMER, "bad name", "--stdin", stdin="x\n", code=2)
    listed = run(cli, "secret", "list", "--json")
    assert all(name in listed for name in HELD) and all(v not in listed for v in HELD.values())

    text = (EXAMPLES / "wireless.yaml").read_text(encoding="utf-8")
    text = text.replace("{env: AOBA_RADIUS_SECRET}", "secret:AOBA_RADIUS_SECRET")
    text = text.replace("env:AOBA_DEVICE_PSK", "secret:AOBA_DEVICE_PSK")
    text = text.replace("{env: AOBA_GUEST_PSK}", "secret:AOBA_GUEST_PSK")
    sheet = tmp_path / "wireless.yaml"
    sheet.write_text(text, encoding="utf-8")
    first = run(cli, "plan", str(sheet))
    assert "secret ssid/1:psk: set" in first
    run(cli, "apply", str(sheet), "--yes")
    again = run(cli, "plan", str(sheet))
    assert "secret ssid/1:psk: unchanged since netkeep set it" in again
    assert "no changes" in again
    for value in HELD.values():
        assert value not in first + again

    var = tmp_path / "var"
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("secret.key", "secret-record.json", "cli.db"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
    run(cli, "secret", "delete", CUSTOMER, "AOBA_GUEST_PSK")
    gone = run(cli, "plan", str(sheet), code=2)
    assert "netkeep holds no secret 'AOBA_GUEST_PSK'" in gone
