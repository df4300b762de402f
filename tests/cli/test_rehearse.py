"""`netkeep rehearse`: a throw-away network applied, verified, rolled back and deleted.

Against a real organization it needs NETKEEP_MERAKI_API_KEY; here it runs against the sandbox
through `--base-url`, the same code path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from netkeep.cli import app
from sandbox.server import SandboxServer

ORG = "537758"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_PROVISIONING_RATE_PER_ORG", "500")
    monkeypatch.setenv("NETKEEP_ACTOR", "rehearsal-test")
    monkeypatch.delenv("NETKEEP_MERAKI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def test_without_a_key_it_says_so_and_touches_nothing(cli: CliRunner) -> None:
    result = cli.invoke(app, ["rehearse", "--org", ORG])
    assert result.exit_code == 0, result.output
    assert "rehearsal skipped: NETKEEP_MERAKI_API_KEY is not set" in result.output


@pytest.mark.parametrize("example", ["router", "utm"])
def test_rehearsal_against_the_sandbox_leaves_the_organization_as_it_was(
    cli: CliRunner, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, example: str
) -> None:
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", sandbox.api_key)
    get_settings.cache_clear()
    sdk = sandbox.dashboard_api()
    before = {n["id"] for n in sdk.organizations.getOrganizationNetworks(ORG)}
    result = cli.invoke(
        app,
        ["rehearse", "--org", ORG, "--base-url", sandbox.base_url, "--example", example, "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert report["network"].startswith("netkeep-rehearsal-")
    assert [(s["step"], s["status"]) for s in report["steps"]] == [
        ("plan", "ok"),
        ("apply+verify", "done"),
        ("rollback+delete", "done"),
        ("network removed", "yes"),
    ]
    assert {n["id"] for n in sdk.organizations.getOrganizationNetworks(ORG)} == before
    jobs = json.loads(cli.invoke(app, ["job", "list", "--json"]).output)
    assert sorted(j["kind"] for j in jobs) == ["apply", "rollback"]


def test_a_failing_rehearsal_exits_6_and_cleans_up(
    cli: CliRunner, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETKEEP_MERAKI_API_KEY", "not-the-key")
    get_settings.cache_clear()
    result = cli.invoke(app, ["rehearse", "--org", ORG, "--base-url", sandbox.base_url])
    assert result.exit_code == 6, result.output
    assert "rehearsal FAILED" in result.output or "401" in result.output
