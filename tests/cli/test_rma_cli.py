"""`netkeep rma` end to end on a temporary SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from core.db import get_engine, session_scope
from core.settings import get_settings
from inventory.catalogue_defaults import seed_catalogue
from netkeep.cli import app
from tests.conftest import ADMIN
from tests.service.rma_builders import FAILED, SPARE, build_world


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
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
    result = cli.invoke(app, ["rma", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_rma_commands_from_report_to_charge(cli: CliRunner, tmp_path: Path) -> None:
    opened = json.loads(
        run(cli, "open", FAILED, "--symptom", "電源断", "--reporter", "山田", "--json")
    )
    rma_id = str(opened["id"])
    assert opened["status"] == "open"
    run(cli, "ship", rma_id, "--courier", "c", "--tracking", "t", code=4)  # illegal move
    run(cli, "decide", rma_id, "--replace", "--note", "PSU")
    assert SPARE in run(cli, "reserve", rma_id)
    out = run(
        cli, "ship", rma_id, "--courier", "ヤマト", "--tracking", "1", "--shipped-at", "2025-01-15"
    )
    assert "due 2025-02-15" in out
    run(cli, "swap", rma_id, "--no-dashboard")
    shown = json.loads(run(cli, "show", rma_id, "--json"))
    assert (shown["status"], shown["swapped_by_kind"]) == ("swapped", "provider")
    assert len(shown["reminders"]) == 3

    overdue = json.loads(run(cli, "list", "--view", "overdue", "--json"))
    assert [r["id"] for r in overdue["items"]] == [int(rma_id)]
    swept = json.loads(run(cli, "sweep", "--json"))
    assert swept["total_yen"] == 140_800
    assert json.loads(run(cli, "sweep", "--json"))["charged"] == []
    assert json.loads(run(cli, "list", "--view", "open-by-state", "--json")) == {"charged": 1}
    assert "¥140,800" in run(cli, "show", rma_id)

    pdf_path = tmp_path / "notice.pdf"
    run(cli, "notice", rma_id, "--out", str(pdf_path))
    text = pypdf.PdfReader(pdf_path).pages[0].extract_text()
    assert "機器損害金" in text and "¥140,800" in text

    csv_path = tmp_path / "rmas.csv"
    assert "1 RMA(s)" in run(cli, "list", "--csv", str(csv_path))
    assert "charged" in csv_path.read_text(encoding="utf-8-sig")
    assert "0 reminder(s) sent" in run(cli, "remind")  # charged: no reminders any more

    run(cli, "waive", rma_id, "--reason", "得意先")
    assert json.loads(run(cli, "show", rma_id, "--json"))["status"] == "waived"


def test_receive_with_the_wrong_serial_exits_with_conflict(cli: CliRunner) -> None:
    rma_id = str(
        json.loads(run(cli, "open", FAILED, "--symptom", "x", "--reporter", "y", "--json"))["id"]
    )
    run(cli, "decide", rma_id, "--replace")
    run(cli, "reserve", rma_id, "--serial", SPARE)
    run(cli, "ship", rma_id, "--courier", "c", "--tracking", "t")
    run(cli, "swap", rma_id, "--no-dashboard")
    run(cli, "pickup", rma_id, "--date", "2026-12-01", "--courier", "ヤマト")
    out = run(cli, "receive", rma_id, "Q2FY-ZZZZ-0099", code=4)
    assert "serial mismatch" in out
    assert json.loads(run(cli, "show", rma_id, "--json"))["status"] == "exception"
    run(cli, "receive", rma_id, FAILED, "--disposition", "refurbish")
    shown = json.loads(run(cli, "show", rma_id, "--json"))
    assert (shown["status"], shown["disposition"]) == ("closed", "refurbish")
    run(cli, "extend", rma_id, "--due", "2030-01-01", "--reason", "x", code=4)


def test_release_re_reserve_hand_move_refused_and_the_mismatch_shown(cli: CliRunner) -> None:
    opened = json.loads(
        run(cli, "open", FAILED, "--symptom", "電源断", "--reporter", "山田", "--json")
    )
    rma_id = str(opened["id"])
    run(cli, "decide", rma_id, "--replace")
    run(cli, "reserve", rma_id)
    moved = cli.invoke(app, ["inventory", "status", SPARE, "in_stock"])
    assert moved.exit_code == 4, moved.output
    assert f"netkeep rma release {rma_id}" in " ".join(moved.output.split())
    assert "replacement_needed" in run(cli, "release", rma_id, "--reason", "外箱破損")
    assert SPARE in run(cli, "reserve", rma_id, "--serial", SPARE)
    run(cli, "ship", rma_id, "--courier", "ヤマト", "--tracking", "1")
    received = cli.invoke(app, ["rma", "receive", rma_id, FAILED])
    assert received.exit_code == 4 and f"netkeep rma swap {rma_id}" in " ".join(
        received.output.split()
    )
    run(cli, "receive", rma_id, "Q2FY-ZZZZ-0099", code=4)  # an exception, exit 4
    run(cli, "swap", rma_id, "--no-dashboard")
    run(cli, "receive", rma_id, FAILED)
    shown = " ".join(run(cli, "show", rma_id).split())
    assert f"serial mismatch: expected {FAILED}, received Q2FY-ZZZZ-0099 by cli-test" in shown
    assert "reminder" in shown and "cancelled" in shown
