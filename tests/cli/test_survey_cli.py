"""`netkeep survey` end to end on a temporary SQLite file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pypdf
import pytest
from PIL import Image
from typer.testing import CliRunner

from core.audit import Actor
from core.db import get_engine, session_scope
from core.settings import get_settings
from core.timeutil import TOKYO, utcnow
from inventory.catalogue_defaults import seed_catalogue
from netkeep.cli import app
from provisioning.sheet_io import load_sheet
from tests.service.survey_builders import INSTALLED, SERIAL_1, png_bytes, stock

TODAY = utcnow().astimezone(TOKYO).date().isoformat()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("NETKEEP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("NETKEEP_SURVEY_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    with session_scope(get_engine(get_settings().database_url)) as session:
        seed_catalogue(session=session, actor=Actor(name="cli-test", role="admin"))
        session.flush()
        stock(session, SERIAL_1, *INSTALLED)
    yield runner
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, ["survey", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_survey_commands_from_create_to_sheet(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = json.loads(
        run(
            cli,
            "create",
            "--customer", "さくら歯科",
            "--site", "さくら歯科 本院",
            "--surveyor", "田中",
            "--date", "2026-11-02",
            "--gateway", "MX67",
            "--json",
        )
    )  # fmt: skip
    sid = str(created["id"])
    run(cli, "floor-add", sid, "1F", "--width", "20", "--height", "12")
    run(cli, "floor-add", sid, "2F", "--width", "0", "--height", "12", code=2)
    (tmp_path / "plan.png").write_bytes(png_bytes())
    (tmp_path / "plan.txt").write_text("not an image")
    assert "60×40 px" in run(cli, "layout", sid, "1F", str(tmp_path / "plan.png"))
    run(cli, "layout", sid, "1F", str(tmp_path / "plan.txt"), code=2)
    run(cli, "exclude", sid, "1F", "--reason", "outdoor", "--x", "0", "--y", "0",
        "--width", "4", "--height", "3", "--note", "駐車場")  # fmt: skip
    (tmp_path / "pts.csv").write_text(
        "X座標,Y座標,バンド,チャンネル,電波強度\n1,1,5GHz,36,-55\n30,1,5GHz,36,-55\n5,5,5GHz,37,-55\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["survey", "points-import", sid, "1F", str(tmp_path / "pts.csv")])
    assert result.exit_code == 2
    assert "pts.csv row 3, column X座標" in result.output
    assert "pts.csv row 4, column チャンネル" in result.output
    (tmp_path / "pts.csv").write_text("x,y,band,channel,rssi\n1,1,5,36,-55\n", encoding="utf-8")
    assert "1 points imported" in run(cli, "points-import", sid, "1F", str(tmp_path / "pts.csv"))
    again = run(cli, "points-import", sid, "1F", str(tmp_path / "pts.csv"))
    assert "1 points imported (1 already stored, updated in place)" in again
    run(cli, "point-add", sid, "1F", "--x", "8", "--y", "6", "--band", "2.4", "--channel", "11",
        "--rssi", "-67", "--interference")  # fmt: skip
    run(cli, "point-add", sid, "1F", "--x", "21", "--y", "6", "--band", "5", "--channel", "36",
        "--rssi", "-67", code=2)  # fmt: skip
    run(cli, "ap-add", sid, "1F", "--name", "AP-駐車場", "--model", "MR36", "--x", "1", "--y", "1",
        "--5g", "36/17", code=2)  # fmt: skip
    run(cli, "ap-add", sid, "1F", "--name", "1F-AP01", "--model", "MR36", "--x", "10", "--y", "6",
        "--2g", "1/14", "--5g", "36/17", "--serial", SERIAL_1)  # fmt: skip
    run(cli, "ssids", sid, "--ssid", "SAKURA:psk:10", "--ssid", "SAKURA-GUEST:open")

    shown = json.loads(run(cli, "show", sid, "--json"))
    assert shown["floors"][0]["points"] == 2
    assert [a["name"] for a in shown["aps"]] == ["1F-AP01"]

    run(cli, "diagram", sid, "-o", str(tmp_path / "d.svg"))
    assert "1F-AP01" in (tmp_path / "d.svg").read_text()
    run(cli, "coverage", sid, "1F", "-o", str(tmp_path / "c.png"), "--dpi", "30")
    with Image.open(tmp_path / "c.png") as image:
        assert image.width == 240

    signed = ("--approver", "桜井", "--date", TODAY, "--signature-ref", "控え/SV-1.pdf")
    run(cli, "approve", sid, "--version", "1", *signed, code=4)
    issued = json.loads(run(cli, "issue", sid, "--json"))
    assert issued["status"] == "issued"
    run(cli, "pdf", sid, "-o", str(tmp_path / "v1.pdf"), "--version", "1")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(tmp_path / "v1.pdf").pages)
    assert "さくら歯科 本院" in text and "屋外" in text and "お客様控え" in text
    run(cli, "sheet", sid, "-o", str(tmp_path / "w.yaml"), code=4)
    run(cli, "approve", sid, "--version", "1", "--approver", "桜井", "--date", TODAY, code=2)
    run(cli, "approve", sid, "--version", "1", *signed, code=5)  # cli-test did the survey
    monkeypatch.setenv("NETKEEP_ACTOR", "noc-desk")
    run(cli, "approve", sid, "--version", "1", *signed)
    run(cli, "sheet", sid, "-o", str(tmp_path / "w.yaml"))
    sheet = load_sheet(tmp_path / "w.yaml", secrets=lambda c, n: "x" * 12)
    assert [d.serial for d in sheet.devices or []] == [SERIAL_1]
    assert "1F-AP01: Q3AJ-INST-0001" in run(cli, "serials", sid, "1F-AP01=q3aj-inst-0001")
    run(cli, "serials", sid, "1F-AP01", code=2)
    run(cli, "sheet", sid, "-o", str(tmp_path / "w.yaml"))
    sheet = load_sheet(tmp_path / "w.yaml", secrets=lambda c, n: "x" * 12)
    assert [d.serial for d in sheet.devices or []] == ["Q3AJ-INST-0001"]
    listed = json.loads(run(cli, "list", "--json"))
    assert [(s["number"], s["status"]) for s in listed] == [(created["number"], "approved")]
    assert io.BytesIO((tmp_path / "v1.pdf").read_bytes()).getvalue().startswith(b"%PDF")
