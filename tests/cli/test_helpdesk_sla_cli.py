"""`netkeep incident` and `netkeep sla` end to end, on a fresh SQLite file and PostgreSQL schema."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pypdf
import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from core.timeutil import TOKYO
from netkeep.cli import app
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        schema = f"nk_cli_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("NETKEEP_DATABASE_URL", url)
    monkeypatch.setenv("NETKEEP_ACTOR", "cli-test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    for number in ("CLI-1", "CLI-2"):
        made = runner.invoke(
            app, ["contract", "create", number, "--customer", "株式会社CLI", "--plan", "utm"]
        )
        assert made.exit_code == 0, made.output
    yield runner
    get_settings.cache_clear()
    if schema is not None:
        from core.db import get_engine

        get_engine(url).dispose()
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_incident_commands(cli: CliRunner) -> None:
    week_ago = (datetime.now(TOKYO) - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    made = json.loads(
        run(
            cli,
            "incident",
            "open",
            "CLI-1",
            "-q",
            "VPN 障害",
            "-q",
            "SSID 追加",
            "--fault",
            "1",
            "--reporter",
            "山田",
            "--channel",
            "mail",
            "--received-at",
            week_ago,
            "--json",
        )
    )
    assert [(m["kind"], m["status"]) for m in made] == [("fault", "open"), ("question", "open")]
    first, second = str(made[0]["id"]), str(made[1]["id"])
    run(cli, "incident", "answer", first, "--text", "再起動で復旧", "--answered-at", week_ago)
    run(cli, "incident", "answer", second, "--text", "手順をお送りしました")
    out = run(cli, "incident", "sweep")
    assert f"1 incident(s) closed for no reply: INC-{int(first):06d}" in out
    shown = json.loads(run(cli, "incident", "list", "--contract", "CLI-1", "--json"))
    assert {(s["number"], s["status"], s["close_reason"]) for s in shown} == {
        (f"INC-{int(first):06d}", "closed", "no_reply"),
        (f"INC-{int(second):06d}", "answered", None),
    }
    run(cli, "incident", "close", first, "--reason", "consent", code=4)  # already closed
    run(cli, "incident", "reply", second)
    run(cli, "incident", "close", second, "--reason", "solved", "--cause", "customer")
    billed = run(
        cli,
        "incident",
        "after-hours",
        second,
        "--started",
        "2026-05-10T10:00",
        "--minutes",
        "61",
        "--cause",
        "customer",
    )
    assert "¥9,000 + tax ¥900 = ¥9,900" in billed
    run(cli, "incident", "list", "--month", "2026-5", code=2)
    run(cli, "incident", "counts", "--month", "0000-01", code=2)
    run(cli, "sla", "report", "--month", "9999-12", code=2)


def test_fourth_fault_response_needs_confirmation(cli: CliRunner) -> None:
    for i in range(3):
        run(
            cli,
            "incident",
            "open",
            "CLI-2",
            "-q",
            f"障害 {i}",
            "--fault",
            "1",
            "--reporter",
            "山田",
        )
    refused = cli.invoke(
        app, ["incident", "open", "CLI-2", "-q", "障害 4", "--fault", "1", "--reporter", "山田"]
    )
    assert refused.exit_code == 2
    assert "contract CLI-2 / " in refused.output and "fault response 4" in refused.output
    ok = run(
        cli,
        "incident",
        "open",
        "CLI-2",
        "-q",
        "障害 4",
        "--fault",
        "1",
        "--reporter",
        "山田",
        "--confirm-over-limit",
    )
    assert "[over the monthly fault limit]" in ok
    month = datetime.now(TOKYO).strftime("%Y-%m")
    counts = json.loads(run(cli, "incident", "counts", "--month", month, "--json"))
    assert [
        (c["contract"], c["incidents"], c["fault_responses"], c["over_limit"]) for c in counts
    ] == [("CLI-2", 4, 4, 1)]


def test_sla_report_command(cli: CliRunner, tmp_path: Path) -> None:
    run(cli, "sla", "policy", "CLI-1", "--monthly-fee", "62000")
    run(cli, "sla", "policy", "CLI-2", "--monthly-fee", "31000", "--basis", "year_365")
    run(
        cli,
        "sla",
        "outage",
        "CLI-1",
        "--started",
        "2026-10-30T12:00",
        "--ended",
        "2026-11-02T13:00",
    )
    run(
        cli,
        "sla",
        "outage",
        "CLI-2",
        "--started",
        "2026-11-10T09:00",
        "--ended",
        "2026-11-11T09:00",
    )  # exactly 24 h
    run(
        cli,
        "sla",
        "outage",
        "CLI-2",
        "--started",
        "2026-11-20T09:00",
        "--ended",
        "2026-11-20T11:00",
        "--cause",
        "negligence",
    )
    run(
        cli,
        "sla",
        "outage",
        "CLI-1",
        "--started",
        "2026-11-01T09:00",
        "--ended",
        "2026-10-01T09:00",
        code=2,
    )
    csv_path, pdf_path = tmp_path / "credits.csv", tmp_path / "credits.pdf"
    out = run(
        cli, "sla", "report", "--month", "2026-11", "--csv", str(csv_path), "--pdf", str(pdf_path)
    )
    assert "total credit 2026-11: ¥2,150" in out  # 2,066 (62,000 ÷ 30) + 84 (negligence, 2 h)
    rows = csv_path.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()
    assert len(rows) == 3
    assert "2026年11月分" in pypdf.PdfReader(pdf_path).pages[0].extract_text()
    data = json.loads(run(cli, "sla", "report", "--month", "2026-10", "--json"))
    assert (data["credit_yen"], data["rows"][0]["full_days"]) == (4_000, 2)
    run(cli, "sla", "report", "--month", "2026-13", code=2)
