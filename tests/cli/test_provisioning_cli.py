"""`netkeep sheet/plan/apply/job/rollback` end to end against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.service.helpers import HEADER, seed_demo_inventory_at
from tests.unit.provisioning.sheets import EXAMPLES


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    # calls are compared with estimates: claimed devices answer at once (the waiting for them
    # is tested in tests/service/test_provisioning_claim_settle.py)
    sandbox.admin.set_claims(0.0)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    seed_demo_inventory_at(url)  # the example sheets' units are in stock
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_sheet_template_and_validate(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "sheet", "template", "--plan", "utm", "--kind", "change_request", "-o", "cr.xlsx")
    assert (tmp_path / "cr.xlsx").stat().st_size > 0
    assert "valid settings sheet" in run(cli, "sheet", "validate", str(EXAMPLES / "utm.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: netkeep-sheet/1\nkind: settings\nsite: {plan: utm}\n", "utf-8")
    assert "site.name" in run(cli, "sheet", "validate", str(bad), code=2)


def test_plan_apply_job_rollback(cli: CliRunner, sandbox: SandboxServer) -> None:
    sheet = str(EXAMPLES / "utm.yaml")
    planned = json.loads(run(cli, "plan", sheet, "--json"))
    assert planned["estimate"]["calls"] == 15 and planned["network_id"] is None
    applied = json.loads(run(cli, "apply", sheet, "--yes", "--json"))
    assert applied["status"] == "done"
    assert "no changes" in run(cli, "plan", sheet)
    shown = json.loads(run(cli, "job", "show", str(applied["id"]), "--json"))
    assert [s["status"] for s in shown["journal"]] == ["done"] * len(shown["journal"])
    assert str(applied["id"]) in run(cli, "job", "list")
    change = yaml.safe_load((EXAMPLES / "change_request.yaml").read_text("utf-8"))
    change["site"]["name"] = "さくら商事 本社"  # the site utm.yaml just built
    (Path("cr.yaml")).write_text(yaml.safe_dump(change, allow_unicode=True), "utf-8")
    cr = json.loads(run(cli, "apply", "cr.yaml", "-y", "--json"))
    out = run(cli, "rollback", str(cr["id"]))
    assert "done" in out
    assert "no changes" in run(cli, "plan", sheet)


def _shop(folder: Path, i: int, *, vlan: int = 10) -> str:
    sheet = {
        "format": "netkeep-sheet/1",
        "kind": "settings",
        "site": {"name": f"CLI 店舗 {i}", "plan": "router"},
        "devices": [{"serial": f"Q2FY-C{i:03d}-0001", "model": "MX67", "name": f"mx{i}"}],
        "vlans": [
            {"id": vlan, "name": "lan", "subnet": "10.0.10.0/24", "applianceIp": "10.0.10.1"}
        ],
        "l3FirewallRules": [
            {"comment": "no telnet", "policy": "deny", "protocol": "tcp", "destPort": "23"}
        ],
    }
    path = folder / f"shop{i}.yaml"
    path.write_text(yaml.safe_dump(sheet, allow_unicode=True), "utf-8")
    return str(path)


def _stock_shops(cli: CliRunner, folder: Path, *shops: int) -> None:
    """The shops' units arrive in the warehouse: imported into the inventory, in stock."""
    rows = "".join(f"Q2FY-C{i:03d}-0001,MX67,,in_stock,,倉庫,,,,,,\n" for i in shops)
    csv = folder / "shops.csv"
    csv.write_text(HEADER + rows, encoding="utf-8")
    run(cli, "inventory", "import", str(csv), "--commit")


def test_several_sheets_are_one_rollout(cli: CliRunner, tmp_path: Path) -> None:
    _stock_shops(cli, tmp_path, 1, 2, 9)
    bad = _shop(tmp_path, 9, vlan=5000)
    worse = tmp_path / "worse.yaml"
    worse.write_text("format: netkeep-sheet/1\nkind: settings\nsite: {plan: utm}\n", "utf-8")
    refused = run(cli, "apply", _shop(tmp_path, 1), bad, str(worse), "--yes", code=2)
    assert "shop9.yaml" in refused and "worse.yaml" in refused
    sheets = [_shop(tmp_path, 1), _shop(tmp_path, 2)]
    planned = json.loads(run(cli, "plan", *sheets, "--json"))
    assert [p["network_id"] for p in planned["plans"]] == [None, None]
    assert "one sheet at a time" in run(cli, "plan", *sheets)
    out = json.loads(run(cli, "apply", *sheets, "--yes", "--json"))
    assert out["estimate"] == planned["estimate"]
    assert out["status"] == "done" and len(out["jobs"]) == 2
    assert out["estimate"]["calls"] < out["one_sheet_at_a_time"]
    assert out["calls"]["calls"] == out["estimate"]["calls"] - out["estimate"]["reads"] + 1
    listed = run(cli, "job", "list", "--rollout", out["rollout"])
    assert "CLI 店舗 1" in listed and "CLI 店舗 2" in listed
    assert "nothing to do" in run(cli, "apply", *sheets, "--yes")
    shown = run(cli, "apply", *sheets, "--rollout", out["rollout"])
    assert "done" in shown


def test_apply_waits_out_a_429_storm_at_planning(cli: CliRunner, sandbox: SandboxServer) -> None:
    """10 × 429 (issue 21: it used to exit 6 while planning): waited out, shown, job done."""
    sandbox.admin.set_faults("429burst=10,429after=0.01")
    result = cli.invoke(app, ["apply", str(EXAMPLES / "router.yaml"), "--yes", "--json"])
    assert result.exit_code == 0, result.output
    applied = json.loads(result.stdout)
    assert applied["status"] == "done"
    assert result.stderr.count("dashboard answered 429") == 10
    counts = sandbox.admin.counters()["operations"].values()
    assert sum(int(v.get("429", 0)) for v in counts) == 10
