"""`netkeep change` on a temporary SQLite file: submit, refusals with exit codes, show, sweep."""

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
from tests.conftest import ADMIN
from tests.unit.changes.builders import ENV, as_bytes, build_contracts, change_raw


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=ADMIN)
        session.flush()
        build_contracts(session)
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, ["change", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_submit_approve_schedule_refusals_and_show(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = tmp_path / "cr.yaml"
    sheet.write_bytes(as_bytes(change_raw()))
    out = json.loads(
        run(cli, "submit", str(sheet), "--notice-email", "a@sakura.example.jp", "--json")
    )
    rid = str(out["id"])
    assert out["status"] == "validated"
    run(cli, "accept", rid, "--by", "田中", "--evidence", "受領書", code=4)  # illegal move
    run(cli, "approve", rid, code=5)  # four-eyes: cli-test submitted it
    monkeypatch.setenv("NETKEEP_ACTOR", "noc-desk")
    run(cli, "approve", rid)
    run(cli, "schedule", rid, "--at", "2030-01-06T10:00", code=2)  # a Sunday, no override
    run(cli, "schedule", rid, "--at", "2030-01-06T10:00", "--emergency", "回線切替")
    shown = json.loads(run(cli, "show", rid, "--json"))
    assert shown["request"]["emergency_reason"] == "回線切替"
    assert [e["action"] for e in shown["events"]][-2:] == [
        "schedule_refused",
        "scheduled_emergency",
    ]
    bad = change_raw()
    bad["devices"] = [{"serial": "Q2FY-ZZZZ-0009", "model": "MX67"}]
    sheet.write_bytes(as_bytes(bad))
    refused = run(cli, "submit", str(sheet), "--notice-email", "a@sakura.example.jp", code=2)
    assert "Q2FY-ZZZZ-0009" in refused
    run(cli, "submit", str(sheet), "--notice-email", "not-an-address", code=2)
    assert "auto-accepted: none" in run(cli, "sweep")
    listed = json.loads(run(cli, "list", "--json"))
    assert {r["status"] for r in listed} == {"scheduled", "submitted"}
