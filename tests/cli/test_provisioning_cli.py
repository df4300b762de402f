"""`netkeep sheet/plan/apply/job/rollback` end to end against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from sandbox.server import SandboxServer
from tests.unit.provisioning.sheets import EXAMPLES


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_MERAKI_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
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
    assert planned["estimate"]["calls"] == 20 and planned["network_id"] is None
    applied = json.loads(run(cli, "apply", sheet, "--yes", "--json"))
    assert applied["status"] == "done"
    assert "no changes" in run(cli, "plan", sheet)
    shown = json.loads(run(cli, "job", "show", str(applied["id"]), "--json"))
    assert [s["status"] for s in shown["journal"]] == ["done"] * len(shown["journal"])
    assert str(applied["id"]) in run(cli, "job", "list")
    cr = json.loads(run(cli, "apply", str(EXAMPLES / "change_request.yaml"), "-y", "--json"))
    out = run(cli, "rollback", str(cr["id"]))
    assert "done" in out
    assert "no changes" in run(cli, "plan", sheet)
